//! Rates per person-year around each start, the naive before/after, difference-in-differences,
//! the event-study series and value, with percentile intervals from a cluster bootstrap that
//! resamples supported people (with all their episodes and comparators). The formulas are in
//! docs/evaluation.md.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::UnitCosts;
use crate::matching::MatchedSet;
use crate::outcome::{price, Amounts, Outcome};
use crate::panel::Panel;
use crate::stats::quantile;

/// Values per relative month: every outcome's amount, then person-years.
const SLOT: usize = Outcome::COUNT + 1;

/// The window around each start: `before` months before the start month, `after` from it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub before: u32,
    pub after: u32,
}

impl Window {
    fn months(self) -> usize {
        (self.before + self.after) as usize
    }

    /// The relative month (−before … after−1) of position `k`.
    #[must_use]
    pub fn relative(self, k: usize) -> i32 {
        k as i32 - self.before as i32
    }
}

/// Sums for one cluster (a supported person): supported then comparison, each `months × SLOT`.
#[derive(Debug, Clone)]
pub struct ClusterSums {
    pub values: Vec<f64>,
    pub episodes: usize,
}

/// Adds `person`'s use around month `start` into `out` (one group's `months × SLOT` block),
/// leaving out months from `censor` on (a comparator's own support start).
#[allow(clippy::too_many_arguments)]
fn add_person(
    panel: &Panel,
    person: usize,
    start: i32,
    w: Window,
    weight: f64,
    units: &UnitCosts,
    censor: Option<i32>,
    out: &mut [f64],
) {
    let first = start - w.before as i32;
    let mut amounts = vec![[0.0; Outcome::COUNT]; w.months()];
    for u in panel.uses(person) {
        let k = i32::from(u.month) - first;
        if k >= 0 && (k as usize) < w.months() {
            amounts[k as usize][u.outcome.index()] += u.amount;
        }
    }
    for (k, a) in amounts.iter_mut().enumerate() {
        let month = first + k as i32;
        if censor.is_some_and(|c| month >= c) {
            // A comparator supported later counts only until their own support starts.
            break;
        }
        let py = panel.person_years(person, month);
        if py <= 0.0 {
            // Use outside the person's time at risk (before registration, after death) is not counted.
            continue;
        }
        price(a, units);
        let slot = &mut out[k * SLOT..(k + 1) * SLOT];
        for (s, x) in slot.iter_mut().zip(a.iter()) {
            *s += weight * x;
        }
        slot[Outcome::COUNT] += weight * py;
    }
}

/// The sums of every cluster, in the order of first appearance of each supported person.
/// `first_support` gives the month each supported person's first episode started, which ends
/// their time as anyone's comparator.
#[must_use]
pub fn cluster_sums(
    panel: &Panel,
    sets: &[MatchedSet],
    w: Window,
    units: &UnitCosts,
    first_support: &std::collections::HashMap<usize, i32>,
) -> Vec<ClusterSums> {
    let block = w.months() * SLOT;
    let mut order: Vec<usize> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut clusters: Vec<ClusterSums> = Vec::new();
    for s in sets {
        let c = *index.entry(s.person).or_insert_with(|| {
            order.push(s.person);
            clusters.push(ClusterSums {
                values: vec![0.0; 2 * block],
                episodes: 0,
            });
            clusters.len() - 1
        });
        let cl = &mut clusters[c];
        cl.episodes += 1;
        add_person(
            panel,
            s.person,
            s.start,
            w,
            1.0,
            units,
            None,
            &mut cl.values[..block],
        );
        let weight = 1.0 / s.comparators.len() as f64;
        for &p in &s.comparators {
            let censor = first_support.get(&p).copied();
            add_person(
                panel,
                p,
                s.start,
                w,
                weight,
                units,
                censor,
                &mut cl.values[block..],
            );
        }
    }
    clusters
}

/// Rates per person-year of one group over a range of relative months.
fn rates(block: &[f64], months: std::ops::Range<usize>) -> Amounts {
    let mut sum = [0.0; Outcome::COUNT];
    let mut years = 0.0;
    for k in months {
        let slot = &block[k * SLOT..(k + 1) * SLOT];
        for (s, x) in sum.iter_mut().zip(slot) {
            *s += x;
        }
        years += slot[Outcome::COUNT];
    }
    sum.map(|x| if years > 0.0 { x / years } else { f64::NAN })
}

/// The point figures from summed cluster values.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub supported_before: Amounts,
    pub supported_after: Amounts,
    pub comparison_before: Amounts,
    pub comparison_after: Amounts,
    /// Supported person-years after the start.
    pub supported_years_after: f64,
    /// Per outcome, per relative month: the event-study difference.
    pub event_study: Vec<Amounts>,
}

impl Figures {
    /// Difference-in-differences: (supported after − before) − (comparison after − before).
    #[must_use]
    pub fn did(&self, o: Outcome) -> f64 {
        let i = o.index();
        (self.supported_after[i] - self.supported_before[i])
            - (self.comparison_after[i] - self.comparison_before[i])
    }

    /// The supported group's rate had it changed as the comparison group's did.
    #[must_use]
    pub fn counterfactual(&self, o: Outcome) -> f64 {
        let i = o.index();
        self.supported_before[i] + (self.comparison_after[i] - self.comparison_before[i])
    }

    /// The effect relative to the counterfactual (−0.2 is 20% fewer).
    #[must_use]
    pub fn relative(&self, o: Outcome) -> f64 {
        self.did(o) / self.counterfactual(o)
    }

    /// The naive change: supported after − before.
    #[must_use]
    pub fn naive(&self, o: Outcome) -> f64 {
        self.supported_after[o.index()] - self.supported_before[o.index()]
    }

    /// The naive relative change: after / before − 1.
    #[must_use]
    pub fn naive_relative(&self, o: Outcome) -> f64 {
        self.supported_after[o.index()] / self.supported_before[o.index()] - 1.0
    }

    /// Notional cost avoided, in pounds: −DiD of cost per person-year × supported person-years after.
    #[must_use]
    pub fn avoided_cost(&self) -> f64 {
        -self.did(Outcome::Cost) * self.supported_years_after
    }
}

/// Computes the figures from the summed values of both groups.
#[must_use]
pub fn figures(total: &[f64], w: Window) -> Figures {
    let block = w.months() * SLOT;
    let (t, c) = total.split_at(block);
    let pre = 0..w.before as usize;
    let post = w.before as usize..w.months();
    let supported_before = rates(t, pre.clone());
    let comparison_before = rates(c, pre);
    let event_study = (0..w.months())
        .map(|k| {
            let (rt, rc) = (rates(t, k..k + 1), rates(c, k..k + 1));
            std::array::from_fn(|i| (rt[i] - rc[i]) - (supported_before[i] - comparison_before[i]))
        })
        .collect();
    Figures {
        supported_before,
        supported_after: rates(t, post.clone()),
        comparison_before,
        comparison_after: rates(c, post.clone()),
        supported_years_after: post.map(|k| t[k * SLOT + Outcome::COUNT]).sum(),
        event_study,
    }
}

/// Sums cluster values with multiplicities.
fn total(clusters: &[ClusterSums], times: &[u32]) -> (Vec<f64>, usize) {
    let len = clusters.first().map_or(0, |c| c.values.len());
    let mut sum = vec![0.0; len];
    let mut episodes = 0;
    for (c, &n) in clusters.iter().zip(times) {
        if n == 0 {
            continue;
        }
        let n_f = f64::from(n);
        for (s, x) in sum.iter_mut().zip(&c.values) {
            *s += n_f * x;
        }
        episodes += c.episodes * n as usize;
    }
    (sum, episodes)
}

/// A point estimate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    fn from(estimate: f64, draws: &[f64]) -> Self {
        Self {
            estimate,
            low: quantile(draws, 0.025),
            high: quantile(draws, 0.975),
        }
    }

    /// Whether the interval holds `x`.
    #[must_use]
    pub fn covers(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// Everything estimated, with intervals.
#[derive(Debug, Clone)]
pub struct Estimates {
    pub figures: Figures,
    pub did: Vec<Interval>,
    pub relative: Vec<Interval>,
    pub naive: Vec<Interval>,
    pub naive_relative: Vec<Interval>,
    /// Per outcome, per relative month.
    pub event_study: Vec<Vec<Interval>>,
    pub avoided_cost: Interval,
    /// Return per £1 of service cost.
    pub return_per_pound: Interval,
    pub service_cost: f64,
    pub episodes: usize,
}

/// Point estimates and a seeded cluster bootstrap of `replicates` draws. `cost_per_episode` prices
/// the service for the return per £1.
#[must_use]
pub fn estimate(
    clusters: &[ClusterSums],
    w: Window,
    replicates: usize,
    seed: u64,
    cost_per_episode: f64,
) -> Estimates {
    let n = clusters.len();
    let (sum, episodes) = total(clusters, &vec![1; n]);
    let point = figures(&sum, w);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = Outcome::COUNT;
    let mut did = vec![Vec::new(); k];
    let mut rel = vec![Vec::new(); k];
    let mut naive = vec![Vec::new(); k];
    let mut naive_rel = vec![Vec::new(); k];
    let mut es = vec![vec![Vec::new(); w.months()]; k];
    let mut avoided = Vec::with_capacity(replicates);
    let mut ret = Vec::with_capacity(replicates);
    let mut times = vec![0u32; n];
    for _ in 0..replicates {
        times.iter_mut().for_each(|t| *t = 0);
        for _ in 0..n {
            times[rng.gen_range(0..n)] += 1;
        }
        let (s, eps) = total(clusters, &times);
        let f = figures(&s, w);
        for o in Outcome::ALL {
            let i = o.index();
            did[i].push(f.did(o));
            rel[i].push(f.relative(o));
            naive[i].push(f.naive(o));
            naive_rel[i].push(f.naive_relative(o));
            for (m, series) in es[i].iter_mut().enumerate() {
                series.push(f.event_study[m][i]);
            }
        }
        let a = f.avoided_cost();
        avoided.push(a);
        ret.push(a / (cost_per_episode * eps as f64));
    }
    let service_cost = cost_per_episode * episodes as f64;
    Estimates {
        did: Outcome::ALL
            .iter()
            .map(|o| Interval::from(point.did(*o), &did[o.index()]))
            .collect(),
        relative: Outcome::ALL
            .iter()
            .map(|o| Interval::from(point.relative(*o), &rel[o.index()]))
            .collect(),
        naive: Outcome::ALL
            .iter()
            .map(|o| Interval::from(point.naive(*o), &naive[o.index()]))
            .collect(),
        naive_relative: Outcome::ALL
            .iter()
            .map(|o| Interval::from(point.naive_relative(*o), &naive_rel[o.index()]))
            .collect(),
        event_study: Outcome::ALL
            .iter()
            .map(|o| {
                (0..w.months())
                    .map(|m| Interval::from(point.event_study[m][o.index()], &es[o.index()][m]))
                    .collect()
            })
            .collect(),
        avoided_cost: Interval::from(point.avoided_cost(), &avoided),
        return_per_pound: Interval::from(point.avoided_cost() / service_cost, &ret),
        service_cost,
        episodes,
        figures: point,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block with one month before and one after, holding only emergency admissions.
    fn block(before: (f64, f64), after: (f64, f64)) -> Vec<f64> {
        let mut v = vec![0.0; 2 * SLOT];
        v[Outcome::EmergencyAdmissions.index()] = before.0;
        v[Outcome::COUNT] = before.1;
        v[SLOT + Outcome::EmergencyAdmissions.index()] = after.0;
        v[SLOT + Outcome::COUNT] = after.1;
        v
    }

    #[test]
    fn difference_in_differences_matches_a_hand_worked_example() {
        // Supported: 30 admissions in 10 person-years before (3.0), 12 in 8 after (1.5).
        // Comparison: 25 in 10 before (2.5), 16 in 8 after (2.0).
        // Naive change 1.5 − 3.0 = −1.5; DiD (−1.5) − (−0.5) = −1.0; counterfactual 3.0 − 0.5 = 2.5;
        // relative −1.0 / 2.5 = −40%.
        let w = Window {
            before: 1,
            after: 1,
        };
        let mut total = block((30.0, 10.0), (12.0, 8.0));
        total.extend(block((25.0, 10.0), (16.0, 8.0)));
        let f = figures(&total, w);
        let o = Outcome::EmergencyAdmissions;
        assert!((f.naive(o) + 1.5).abs() < 1e-12);
        assert!((f.did(o) + 1.0).abs() < 1e-12);
        assert!((f.counterfactual(o) - 2.5).abs() < 1e-12);
        assert!((f.relative(o) + 0.4).abs() < 1e-12);
        assert!((f.naive_relative(o) + 0.5).abs() < 1e-12);
        // Event study: month +0 difference (1.5 − 2.0) minus the pre difference (0.5) = −1.0.
        assert!((f.event_study[1][o.index()] + 1.0).abs() < 1e-12);
        assert!(f.event_study[0][o.index()].abs() < 1e-12);
        assert!((f.supported_years_after - 8.0).abs() < 1e-12);
    }

    #[test]
    fn the_bootstrap_is_deterministic_and_brackets_the_estimate() {
        let w = Window {
            before: 1,
            after: 1,
        };
        let clusters: Vec<ClusterSums> = (0..40)
            .map(|i| {
                let x = f64::from(i % 5);
                let mut values = block((3.0 + x, 1.0), (1.0 + x, 1.0));
                values.extend(block((3.0 + x, 1.0), (2.0 + x, 1.0)));
                ClusterSums {
                    values,
                    episodes: 1,
                }
            })
            .collect();
        let a = estimate(&clusters, w, 200, 7, 100.0);
        let b = estimate(&clusters, w, 200, 7, 100.0);
        let i = Outcome::EmergencyAdmissions.index();
        assert_eq!(a.did[i], b.did[i]);
        assert!((a.did[i].estimate + 1.0).abs() < 1e-12);
        assert!(a.did[i].low <= a.did[i].estimate && a.did[i].estimate <= a.did[i].high);
        let c = estimate(&clusters, w, 200, 8, 100.0);
        assert_eq!(a.did[i].estimate, c.did[i].estimate);
    }
}
