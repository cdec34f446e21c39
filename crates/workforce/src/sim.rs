//! A discrete-event simulation of one service's waiting list: referrals arrive, triage accepts a
//! share of them, accepted people wait until a worker has room under the caseload cap, and each
//! episode lasts a drawn number of weeks with contacts at a drawn frequency.
//!
//! Runs are seeded and reproducible: replication `r` draws from its own generator seeded from the
//! run's seed and `r`, so the result does not depend on how many threads ran it. Time is in weeks.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A distribution of a positive quantity (weeks, contacts a week).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    Fixed {
        value: f64,
    },
    Exponential {
        mean: f64,
    },
    /// Log-normal with this mean and standard deviation (of the quantity, not its logarithm).
    LogNormal {
        mean: f64,
        sd: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
}

impl Distribution {
    fn sample(&self, rng: &mut StdRng) -> f64 {
        match *self {
            Distribution::Fixed { value } => value,
            Distribution::Exponential { mean } => -mean * (1.0 - rng.gen::<f64>()).ln(),
            Distribution::LogNormal { mean, sd } => {
                let s2 = (1.0 + (sd * sd) / (mean * mean)).ln();
                let mu = mean.ln() - s2 / 2.0;
                (mu + s2.sqrt() * standard_normal(rng)).exp()
            }
            Distribution::Uniform { min, max } => min + (max - min) * rng.gen::<f64>(),
        }
    }

    /// The mean of the distribution.
    #[must_use]
    pub fn mean(&self) -> f64 {
        match *self {
            Distribution::Fixed { value } => value,
            Distribution::Exponential { mean } | Distribution::LogNormal { mean, .. } => mean,
            Distribution::Uniform { min, max } => (min + max) / 2.0,
        }
    }

    /// A log-normal with the mean and standard deviation of `samples` (measured from casework),
    /// or `None` with fewer than two positive samples.
    #[must_use]
    pub fn fit_log_normal(samples: &[f64]) -> Option<Distribution> {
        let v: Vec<f64> = samples.iter().copied().filter(|x| *x > 0.0).collect();
        if v.len() < 2 {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        Some(Distribution::LogNormal {
            mean,
            sd: sd.max(1e-9),
        })
    }

    fn check(&self, field: &str, errors: &mut Vec<String>) {
        let ok = match *self {
            Distribution::Fixed { value } => value > 0.0 && value.is_finite(),
            Distribution::Exponential { mean } => mean > 0.0 && mean.is_finite(),
            Distribution::LogNormal { mean, sd } => {
                mean > 0.0 && sd > 0.0 && mean.is_finite() && sd.is_finite()
            }
            Distribution::Uniform { min, max } => min >= 0.0 && max > min && max.is_finite(),
        };
        if !ok {
            errors.push(format!(
                "{field}: the distribution's figures must be positive (and max above min)"
            ));
        }
    }
}

fn standard_normal(rng: &mut StdRng) -> f64 {
    // Box–Muller; one of the pair is enough here.
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Shares of referrals by triage outcome; only accepted referrals join the waiting list.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triage {
    pub accept: f64,
    pub redirect: f64,
    pub reject: f64,
}

/// The service being simulated.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// What the service or scenario is called in reports.
    #[serde(default)]
    pub name: String,
    /// Mean referrals a week (a Poisson process).
    pub arrivals_per_week: f64,
    pub triage: Triage,
    pub episode_weeks: Distribution,
    pub contacts_per_week: Distribution,
    /// Worker hours per contact, notes and travel included.
    pub hours_per_contact: f64,
    pub workers: u32,
    /// Open cases one worker may hold.
    pub caseload_cap: u32,
    /// Productive hours a week of one worker, for the contact-time utilisation.
    pub worker_hours_per_week: f64,
}

/// How long and how often to run.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    pub seed: u64,
    pub replications: u32,
    pub weeks: u32,
    /// Weeks run first and not measured, so that the service is not measured empty.
    #[serde(default)]
    pub warm_up_weeks: u32,
}

impl Service {
    /// Every problem, each naming its field.
    #[must_use]
    pub fn validate(&self, prefix: &str) -> Vec<String> {
        let mut e = Vec::new();
        if !(self.arrivals_per_week > 0.0 && self.arrivals_per_week.is_finite()) {
            e.push(format!("{prefix}arrivals_per_week: must be more than 0"));
        }
        let t = self.triage;
        if [t.accept, t.redirect, t.reject]
            .iter()
            .any(|x| !(0.0..=1.0).contains(x))
            || (t.accept + t.redirect + t.reject - 1.0).abs() > 1e-6
        {
            e.push(format!(
                "{prefix}triage: the shares must be from 0 to 1 and add up to 1"
            ));
        }
        self.episode_weeks
            .check(&format!("{prefix}episode_weeks"), &mut e);
        self.contacts_per_week
            .check(&format!("{prefix}contacts_per_week"), &mut e);
        if self.hours_per_contact < 0.0 || !self.hours_per_contact.is_finite() {
            e.push(format!("{prefix}hours_per_contact: must not be negative"));
        }
        if self.workers == 0 || self.workers > 10_000 {
            e.push(format!("{prefix}workers: must be from 1 to 10,000"));
        }
        if self.caseload_cap == 0 || self.caseload_cap > 10_000 {
            e.push(format!("{prefix}caseload_cap: must be from 1 to 10,000"));
        }
        if self.worker_hours_per_week.is_nan() || self.worker_hours_per_week <= 0.0 {
            e.push(format!(
                "{prefix}worker_hours_per_week: must be more than 0"
            ));
        }
        e
    }
}

/// What one replication measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Replication {
    /// Waits (weeks) of the accepted people who arrived within the measured window, in start order.
    pub waits: Vec<f64>,
    /// Open cases at the end of each measured week.
    pub caseload: Vec<u32>,
    /// People waiting at the end of each measured week.
    pub waiting: Vec<u32>,
    /// Time-average share of caseload places filled.
    pub utilisation: f64,
    /// Contact hours given as a share of the workers' productive hours.
    pub contact_utilisation: f64,
    pub referrals: u64,
    pub accepted: u64,
    /// Accepted people still waiting when the run ended.
    pub still_waiting: u32,
}

/// An instant in weeks, ordered totally so that it can sit in a heap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Time(f64);
impl Eq for Time {}
impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Time {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// splitmix64, to give each replication an independent seed from the run's seed.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs one replication.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn replicate(service: &Service, spec: &RunSpec, index: u32) -> Replication {
    let mut rng = StdRng::seed_from_u64(mix(spec.seed ^ mix(u64::from(index))));
    let start = f64::from(spec.warm_up_weeks);
    let end = start + f64::from(spec.weeks);
    let places = service.workers as usize * service.caseload_cap as usize;
    let mut open: BinaryHeap<Reverse<Time>> = BinaryHeap::new();
    let mut queue: VecDeque<f64> = VecDeque::new();
    let mut out = Replication {
        waits: Vec::new(),
        caseload: Vec::with_capacity(spec.weeks as usize),
        waiting: Vec::with_capacity(spec.weeks as usize),
        utilisation: 0.0,
        contact_utilisation: 0.0,
        referrals: 0,
        accepted: 0,
        still_waiting: 0,
    };
    let mut contact_hours = 0.0;
    let mut area = 0.0;
    let mut now: f64 = 0.0;
    let mut next_week = start + 1.0;
    let mean_gap = 1.0 / service.arrivals_per_week;
    let mut next_arrival = -mean_gap * (1.0 - rng.gen::<f64>()).ln();
    let mut draining = false;
    // Starts an episode at `t` for someone who arrived at `arrived`.
    let begin = |t: f64,
                 arrived: f64,
                 rng: &mut StdRng,
                 open: &mut BinaryHeap<Reverse<Time>>,
                 out: &mut Replication,
                 contact_hours: &mut f64| {
        let weeks = service.episode_weeks.sample(rng);
        let finish = t + weeks;
        open.push(Reverse(Time(finish)));
        // Waits are measured for everyone who arrived in the window, however late they start, so
        // that people still waiting at the end are not left out of the figures.
        if arrived >= start {
            out.waits.push(t - arrived);
        }
        if t >= start && t < end {
            // Contact time counts within the measured window only.
            let measured_weeks = finish.min(end) - t;
            *contact_hours +=
                measured_weeks * service.contacts_per_week.sample(rng) * service.hours_per_contact;
        }
    };
    loop {
        let next_end = open.peek().map_or(f64::INFINITY, |Reverse(Time(t))| *t);
        let t = next_arrival.min(next_end);
        // Weekly snapshots and the time-average of open cases up to the next event.
        while !draining && next_week <= t.min(end) {
            let from = now.max(start);
            if next_week > from {
                area += (next_week - from) * open.len() as f64;
            }
            now = next_week;
            out.caseload
                .push(u32::try_from(open.len()).unwrap_or(u32::MAX));
            out.waiting
                .push(u32::try_from(queue.len()).unwrap_or(u32::MAX));
            next_week += 1.0;
        }
        if t >= end && !draining {
            let from = now.max(start);
            if end > from {
                area += (end - from) * open.len() as f64;
            }
            out.still_waiting = u32::try_from(queue.len()).unwrap_or(u32::MAX);
            // No one arrives after the window; the queue is served until everyone who arrived in
            // it has started, which (first come, first served) later arrivals would not change.
            draining = true;
            next_arrival = f64::INFINITY;
            continue;
        }
        if draining {
            if queue.is_empty() || t.is_infinite() {
                break;
            }
        } else {
            let from = now.max(start);
            if t > from {
                area += (t - from) * open.len() as f64;
            }
            now = t;
        }
        if next_arrival <= next_end {
            if t >= start {
                out.referrals += 1;
            }
            let u: f64 = rng.gen();
            if u < service.triage.accept {
                if t >= start {
                    out.accepted += 1;
                }
                if open.len() < places && queue.is_empty() {
                    begin(t, t, &mut rng, &mut open, &mut out, &mut contact_hours);
                } else {
                    queue.push_back(t);
                }
            }
            next_arrival = t - mean_gap * (1.0 - rng.gen::<f64>()).ln();
        } else {
            open.pop();
            if let Some(arrived) = queue.pop_front() {
                begin(
                    t,
                    arrived,
                    &mut rng,
                    &mut open,
                    &mut out,
                    &mut contact_hours,
                );
            }
        }
    }
    let weeks = f64::from(spec.weeks);
    out.utilisation = area / (weeks * places as f64);
    out.contact_utilisation =
        contact_hours / (weeks * f64::from(service.workers) * service.worker_hours_per_week);
    out
}

/// Runs every replication, on as many threads as the machine offers, in replication order.
#[must_use]
pub fn simulate(service: &Service, spec: &RunSpec) -> Vec<Replication> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(spec.replications.max(1) as usize);
    let n = spec.replications;
    let mut parts: Vec<Vec<Replication>> = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                scope.spawn(move || {
                    (0..n)
                        .filter(|i| *i as usize % threads == k)
                        .map(|i| replicate(service, spec, i))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts = handles
            .into_iter()
            .map(|h| h.join().expect("a replication thread panicked"))
            .collect();
    });
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        out.push(parts[i % threads][i / threads].clone());
    }
    out
}

/// A summary over replications.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub replications: u32,
    /// Waiting-time percentiles (weeks) over every person who started, across replications.
    pub wait_p50: f64,
    pub wait_p90: f64,
    /// Mean wait (weeks): the mean of the replications' means, with its 95% confidence interval.
    pub wait_mean: f64,
    pub wait_mean_ci: (f64, f64),
    pub utilisation: f64,
    pub contact_utilisation: f64,
    /// Mean open cases at the end of each week, across replications.
    pub caseload_by_week: Vec<f64>,
    /// Mean people waiting at the end of each week, across replications.
    pub waiting_by_week: Vec<f64>,
    pub referrals_per_replication: f64,
    pub accepted_per_replication: f64,
    pub still_waiting_mean: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Summarises replications.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn summarise(reps: &[Replication]) -> Summary {
    let n = reps.len().max(1) as f64;
    let mut all: Vec<f64> = reps.iter().flat_map(|r| r.waits.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    let means: Vec<f64> = reps
        .iter()
        .map(|r| {
            if r.waits.is_empty() {
                0.0
            } else {
                r.waits.iter().sum::<f64>() / r.waits.len() as f64
            }
        })
        .collect();
    let mean = means.iter().sum::<f64>() / n;
    let sd = if means.len() > 1 {
        (means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    let half = 1.96 * sd / n.sqrt();
    let weeks = reps.iter().map(|r| r.caseload.len()).min().unwrap_or(0);
    let by_week = |f: &dyn Fn(&Replication, usize) -> u32| -> Vec<f64> {
        (0..weeks)
            .map(|w| reps.iter().map(|r| f64::from(f(r, w))).sum::<f64>() / n)
            .collect()
    };
    Summary {
        replications: u32::try_from(reps.len()).unwrap_or(u32::MAX),
        wait_p50: percentile(&all, 0.5),
        wait_p90: percentile(&all, 0.9),
        wait_mean: mean,
        wait_mean_ci: (mean - half, mean + half),
        utilisation: reps.iter().map(|r| r.utilisation).sum::<f64>() / n,
        contact_utilisation: reps.iter().map(|r| r.contact_utilisation).sum::<f64>() / n,
        caseload_by_week: by_week(&|r, w| r.caseload[w]),
        waiting_by_week: by_week(&|r, w| r.waiting[w]),
        referrals_per_replication: reps.iter().map(|r| r.referrals as f64).sum::<f64>() / n,
        accepted_per_replication: reps.iter().map(|r| r.accepted as f64).sum::<f64>() / n,
        still_waiting_mean: reps.iter().map(|r| f64::from(r.still_waiting)).sum::<f64>() / n,
    }
}

/// The mean wait in an M/M/c queue (Erlang C): arrivals at `lambda` a week, each of `c` servers
/// finishing at `mu` a week. `None` when the queue is unstable (`lambda >= c × mu`).
#[must_use]
pub fn mmc_mean_wait(lambda: f64, mu: f64, c: u32) -> Option<f64> {
    let a = lambda / mu;
    let cf = f64::from(c);
    if a >= cf {
        return None;
    }
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let last = term * a / cf * cf / (cf - a);
    let erlang_c = last / (sum + last);
    Some(erlang_c / (cf * mu - lambda))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(workers: u32, cap: u32, lambda: f64, mean_weeks: f64) -> Service {
        Service {
            name: "test".into(),
            arrivals_per_week: lambda,
            triage: Triage {
                accept: 1.0,
                redirect: 0.0,
                reject: 0.0,
            },
            episode_weeks: Distribution::Exponential { mean: mean_weeks },
            contacts_per_week: Distribution::Fixed { value: 0.5 },
            hours_per_contact: 1.5,
            workers,
            caseload_cap: cap,
            worker_hours_per_week: 26.6,
        }
    }

    #[test]
    fn the_mean_wait_of_an_mmc_queue_lies_within_the_confidence_interval() {
        // Three servers, 2.4 arrivals a week, a week's service each: load 0.8.
        let s = service(3, 1, 2.4, 1.0);
        let spec = RunSpec {
            seed: 42,
            replications: 200,
            weeks: 1000,
            // Long enough for a queue at load 0.8 that starts empty to forget its start.
            warm_up_weeks: 300,
        };
        let sum = summarise(&simulate(&s, &spec));
        // By hand: a = 2.4; 1 + 2.4 + 2.88 = 6.28; a³/3! × 3/(3 − 2.4) = 2.304 × 5 = 11.52;
        // C = 11.52 / 17.8 = 0.6472; Wq = C / (3 − 2.4) = 1.0787 weeks.
        let theory = mmc_mean_wait(2.4, 1.0, 3).unwrap();
        assert!((theory - 1.0787).abs() < 1e-4, "Erlang C gives {theory}");
        assert!(
            sum.wait_mean_ci.0 <= theory && theory <= sum.wait_mean_ci.1,
            "theory {theory} outside {:?}",
            sum.wait_mean_ci
        );
        // Utilisation is the load.
        assert!((sum.utilisation - 0.8).abs() < 0.01, "{}", sum.utilisation);
    }

    #[test]
    fn the_same_seed_gives_the_same_result_and_another_seed_does_not() {
        let s = service(10, 20, 8.0, 20.0);
        let spec = RunSpec {
            seed: 7,
            replications: 5,
            weeks: 52,
            warm_up_weeks: 0,
        };
        let a = simulate(&s, &spec);
        assert_eq!(a, simulate(&s, &spec));
        assert_eq!(a[3], replicate(&s, &spec, 3));
        let b = simulate(&s, &RunSpec { seed: 8, ..spec });
        assert_ne!(a, b);
        assert_eq!(a[0].caseload.len(), 52);
    }

    #[test]
    fn a_full_service_builds_a_waiting_list_and_the_cap_holds() {
        // Two workers with 5 places each, 3 accepted a week for 10-week episodes: demand for 30
        // places, so the list grows.
        let mut s = service(2, 5, 3.0, 10.0);
        s.episode_weeks = Distribution::Fixed { value: 10.0 };
        let spec = RunSpec {
            seed: 1,
            replications: 3,
            weeks: 52,
            warm_up_weeks: 0,
        };
        let reps = simulate(&s, &spec);
        assert!(reps.iter().all(|r| r.caseload.iter().all(|c| *c <= 10)));
        let sum = summarise(&reps);
        assert!(sum.waiting_by_week[51] > sum.waiting_by_week[10]);
        assert!(sum.wait_p90 > sum.wait_p50);
    }

    #[test]
    fn validation_names_each_field() {
        let mut s = service(0, 1, 1.0, 1.0);
        s.triage.accept = 0.5;
        s.episode_weeks = Distribution::LogNormal { mean: 3.0, sd: 0.0 };
        let e = s.validate("simulation.");
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].starts_with("simulation.triage"));
        assert!(e[1].starts_with("simulation.episode_weeks"));
        assert!(e[2].starts_with("simulation.workers"));
    }

    #[test]
    fn a_log_normal_is_fitted_to_the_measured_mean_and_spread() {
        let d = Distribution::fit_log_normal(&[10.0, 12.0, 14.0]).unwrap();
        assert_eq!(
            d,
            Distribution::LogNormal {
                mean: 12.0,
                sd: 2.0
            }
        );
        assert!(Distribution::fit_log_normal(&[3.0]).is_none());
    }
}
