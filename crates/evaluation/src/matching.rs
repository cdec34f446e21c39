//! A comparison group at the same calendar start: for each supported episode, people who were not
//! (yet) supported, with the same pre-period profile, given the supported person's start month as their
//! pseudo-start. By propensity score (logistic regression, nearest neighbours on its logit within a
//! caliper, without replacement within a start month) or by coarsened exact matching.

use std::collections::{BTreeMap, HashMap};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::{Method, Settings};
use crate::outcome::Outcome;
use crate::panel::Panel;
use crate::stats::{smd, Logistic, Moments};

/// The matching variables, in the order of a covariate row.
pub const COVARIATES: [&str; 21] = [
    "age",
    "female",
    "imd_quintile",
    "long_term_conditions",
    "efi",
    "charlson",
    "emergency_admissions_q4",
    "emergency_admissions_q3",
    "emergency_admissions_q2",
    "emergency_admissions_q1",
    "ae_attendances_q4",
    "ae_attendances_q3",
    "ae_attendances_q2",
    "ae_attendances_q1",
    "gp_appointments_q4",
    "gp_appointments_q3",
    "gp_appointments_q2",
    "gp_appointments_q1",
    "outpatients_year",
    "bed_days_year",
    "mental_health_contacts_year",
];

/// The covariate row of `person` at start month `start` (q1 is the quarter just before the start,
/// q4 the one a year before).
#[must_use]
pub fn covariates(panel: &Panel, person: usize, start: i32) -> Vec<f64> {
    let p = &panel.people[person];
    let age = panel
        .month_date(start)
        .map_or(0, |d| careweave_domain::dates::age_on(p.date_of_birth, d));
    let mut row = vec![0.0; COVARIATES.len()];
    row[0] = f64::from(age);
    row[1] = f64::from(u8::from(p.female));
    row[2] = if p.imd_quintile == 0 {
        3.0
    } else {
        f64::from(p.imd_quintile)
    };
    row[3] = p.ltc_count;
    row[4] = p.efi;
    row[5] = p.charlson;
    for u in panel.uses(person) {
        let back = start - i32::from(u.month);
        if !(1..=12).contains(&back) {
            continue;
        }
        // Quarter 1 holds months 1–3 before the start, quarter 4 months 10–12.
        let q = ((back - 1) / 3) as usize;
        let slot = match u.outcome {
            Outcome::EmergencyAdmissions => Some(9 - q),
            Outcome::AeAttendances => Some(13 - q),
            Outcome::GpAppointments => Some(17 - q),
            Outcome::Outpatients => Some(18),
            Outcome::BedDays => Some(19),
            Outcome::MentalHealthContacts => Some(20),
            _ => None,
        };
        if let Some(s) = slot {
            row[s] += u.amount;
        }
    }
    row
}

/// Bands of recent use: emergency admissions and A&E attendances in the six months before the
/// start (0 to 5+), GP appointments in the three months before (0–2, 3–5, 6–8, 9+) and emergency
/// admissions in the whole year before (0, 1, 2, 3, 4+), which carries the person's usual level. Referrals
/// follow a recent peak, and a propensity score alone balances such a peak only on average, so
/// propensity matching looks for neighbours inside the same band and coarsened exact matching
/// uses the bands as three of its dimensions.
fn recent_use(row: &[f64]) -> [i64; 4] {
    let band = |x: f64, cuts: &[f64]| cuts.iter().filter(|c| x >= **c).count() as i64;
    [
        band(row[8] + row[9], &[1.0, 2.0, 3.0, 4.0, 5.0]),
        band(row[12] + row[13], &[1.0, 2.0, 3.0, 4.0, 5.0]),
        band(row[17], &[3.0, 6.0, 9.0]),
        band(row[6..10].iter().sum(), &[1.0, 2.0, 3.0, 4.0]),
    ]
}

/// The coarsened-exact stratum of a covariate row: sex, age band (18–39, 40–64, 65–79, 80+),
/// deprivation (IMD quintile 1–2 or 3–5), long-term conditions (0, 1, 2–3, 4+) and the bands of
/// recent use.
fn stratum(row: &[f64]) -> [i64; 8] {
    let band = |x: f64, cuts: &[f64]| cuts.iter().filter(|c| x >= **c).count() as i64;
    let recent = recent_use(row);
    [
        row[1] as i64,
        band(row[0], &[40.0, 65.0, 80.0]),
        band(row[2], &[3.0]),
        band(row[3], &[1.0, 2.0, 4.0]),
        recent[3],
        recent[0],
        recent[1],
        recent[2],
    ]
}

/// One supported episode ready to match.
#[derive(Debug, Clone)]
pub struct Treated {
    /// Index into the run's list of episodes.
    pub episode: usize,
    pub person: usize,
    pub start: i32,
}

/// The matched comparators of one episode.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedSet {
    pub episode: usize,
    pub person: usize,
    pub start: i32,
    pub comparators: Vec<usize>,
    /// The propensity score of the supported person (propensity matching only).
    pub score: Option<f64>,
}

/// One row of the balance table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BalanceRow {
    pub variable: &'static str,
    pub supported_mean: f64,
    pub comparison_mean_before: f64,
    pub comparison_mean_after: f64,
    pub smd_before: f64,
    pub smd_after: f64,
}

/// What matching produced.
#[derive(Debug, Clone)]
pub struct Matching {
    pub sets: Vec<MatchedSet>,
    /// Episodes with no comparator, with the reason.
    pub unmatched: Vec<(usize, &'static str)>,
    /// Episodes matched with fewer comparators than asked for.
    pub fewer_than_asked: usize,
    pub balance: Vec<BalanceRow>,
    /// Candidate comparator rows (person × start month) considered.
    pub candidates: u64,
}

/// Whether `person` may be a comparator at start month `start`.
fn eligible(
    panel: &Panel,
    person: usize,
    start: i32,
    min_age: i32,
    first_support: &HashMap<usize, i32>,
) -> bool {
    // Not yet supported: someone supported later is a fair comparator until then (excluding them
    // would keep only people whose use did not peak later, a look into the future).
    if first_support
        .get(&person)
        .is_some_and(|&first| first <= start)
    {
        return false;
    }
    let Some(day) = panel.month_date(start) else {
        return false;
    };
    let p = &panel.people[person];
    p.registration <= day
        && p.death.is_none_or(|d| d > day)
        && careweave_domain::dates::age_on(p.date_of_birth, day) >= min_age
}

/// Matches every treated episode. `first_support` holds the month each supported person's first
/// episode started: from then on they are never a comparator.
#[must_use]
pub fn match_episodes(
    panel: &Panel,
    treated: &[Treated],
    first_support: &HashMap<usize, i32>,
    settings: &Settings,
) -> Matching {
    let mut by_month: BTreeMap<i32, Vec<&Treated>> = BTreeMap::new();
    for t in treated {
        by_month.entry(t.start).or_default().push(t);
    }
    let n_cov = COVARIATES.len();
    let mut m_t = vec![Moments::default(); n_cov];
    let mut m_before = vec![Moments::default(); n_cov];
    let mut m_after = vec![Moments::default(); n_cov];
    let mut candidates = 0u64;

    let treated_rows: HashMap<usize, Vec<f64>> = treated
        .iter()
        .map(|t| (t.episode, covariates(panel, t.person, t.start)))
        .collect();
    for row in treated_rows.values() {
        for (m, x) in m_t.iter_mut().zip(row) {
            m.add(*x, 1.0);
        }
    }

    // First pass over the start months: the balance table's moments before matching and the
    // propensity model's case-control sample. Each month's pool of candidates (everyone eligible
    // then, with their covariates) is dropped before the next is built, so memory holds one pool,
    // not one per month: at 909,091 people the pools of 30 start months together were about 4 GB.
    let propensity = settings.method == Method::Propensity;
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let (mut sample_x, mut sample_y) = (Vec::new(), Vec::new());
    for (&month, group) in &by_month {
        let pool = pool_at(panel, month, settings.min_age, first_support);
        candidates += pool.len() as u64;
        for (_, row) in &pool {
            for (m, x) in m_before.iter_mut().zip(row) {
                m.add(*x, 1.0);
            }
        }
        if propensity {
            sample(
                &pool,
                group,
                &treated_rows,
                &mut rng,
                &mut sample_x,
                &mut sample_y,
            );
        }
    }
    let model = propensity.then(|| {
        let (fit, sd) = fit_model(&sample_x, &sample_y);
        (fit, sd * settings.caliper_sd)
    });
    drop((sample_x, sample_y));
    let mut sets = Vec::new();
    let mut unmatched = Vec::new();
    let mut fewer = 0;
    // Second pass: each month's pool is built again, matched and dropped.
    for (month, group) in &by_month {
        let pool = &pool_at(panel, *month, settings.min_age, first_support);
        let mut used = vec![false; pool.len()];
        match &model {
            Some((fit, caliper)) => {
                let mut bands: HashMap<[i64; 4], Vec<(f64, usize)>> = HashMap::new();
                for (k, (_, row)) in pool.iter().enumerate() {
                    bands
                        .entry(recent_use(row))
                        .or_default()
                        .push((fit.logit(row), k));
                }
                for scored in bands.values_mut() {
                    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                }
                let mut order: Vec<(f64, &Treated)> = group
                    .iter()
                    .map(|t| (fit.logit(&treated_rows[&t.episode]), *t))
                    .collect();
                // The hardest to match (highest scores) choose first; ties by episode for determinism.
                order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.episode.cmp(&b.1.episode)));
                for (logit, t) in order {
                    let band = recent_use(&treated_rows[&t.episode]);
                    let picked = bands.get(&band).map_or_else(Vec::new, |scored| {
                        nearest(scored, &mut used, logit, *caliper, settings.comparators)
                    });
                    let comparators: Vec<usize> = picked.iter().map(|&k| pool[k].0).collect();
                    record(&mut sets, &mut unmatched, &mut fewer, t, comparators, Some(1.0 / (1.0 + (-logit).exp())), settings.comparators,
                        "no comparator with the same recent use within the caliper of the propensity score");
                }
            }
            None => {
                let mut strata: HashMap<[i64; 8], Vec<usize>> = HashMap::new();
                for (k, (_, row)) in pool.iter().enumerate() {
                    strata.entry(stratum(row)).or_default().push(k);
                }
                let mut rng = ChaCha8Rng::seed_from_u64(
                    settings.seed ^ (*month as u64).wrapping_mul(0x9E37_79B9),
                );
                let mut keys: Vec<&[i64; 8]> = strata.keys().collect();
                keys.sort();
                let mut shuffled: HashMap<[i64; 8], Vec<usize>> = HashMap::new();
                for key in keys {
                    let mut v = strata[key].clone();
                    v.shuffle(&mut rng);
                    shuffled.insert(*key, v);
                }
                let mut order: Vec<&Treated> = group.clone();
                order.sort_by_key(|t| t.episode);
                for t in order {
                    let key = stratum(&treated_rows[&t.episode]);
                    let mut comparators = Vec::new();
                    if let Some(members) = shuffled.get(&key) {
                        for &k in members {
                            if comparators.len() == settings.comparators {
                                break;
                            }
                            if !used[k] {
                                used[k] = true;
                                comparators.push(pool[k].0);
                            }
                        }
                    }
                    record(
                        &mut sets,
                        &mut unmatched,
                        &mut fewer,
                        t,
                        comparators,
                        None,
                        settings.comparators,
                        "nobody unsupported had the same profile at the same start",
                    );
                }
            }
        }
    }
    sets.sort_by_key(|s| s.episode);
    for s in &sets {
        let w = 1.0 / s.comparators.len() as f64;
        for &c in &s.comparators {
            for (m, x) in m_after.iter_mut().zip(covariates(panel, c, s.start)) {
                m.add(x, w);
            }
        }
    }
    // Balance after matching compares the matched supported people with their comparators.
    let mut m_t_matched = vec![Moments::default(); n_cov];
    for s in &sets {
        for (m, x) in m_t_matched.iter_mut().zip(&treated_rows[&s.episode]) {
            m.add(*x, 1.0);
        }
    }
    let balance = COVARIATES
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let (vt, vc) = (m_t[j].variance(), m_before[j].variance());
            BalanceRow {
                variable: name,
                supported_mean: m_t[j].mean(),
                comparison_mean_before: m_before[j].mean(),
                comparison_mean_after: m_after[j].mean(),
                smd_before: smd(m_t[j].mean(), m_before[j].mean(), vt, vc),
                smd_after: smd(m_t_matched[j].mean(), m_after[j].mean(), vt, vc),
            }
        })
        .collect();
    Matching {
        sets,
        unmatched,
        fewer_than_asked: fewer,
        balance,
        candidates,
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    sets: &mut Vec<MatchedSet>,
    unmatched: &mut Vec<(usize, &'static str)>,
    fewer: &mut usize,
    t: &Treated,
    comparators: Vec<usize>,
    score: Option<f64>,
    wanted: usize,
    why: &'static str,
) {
    if comparators.is_empty() {
        unmatched.push((t.episode, why));
        return;
    }
    if comparators.len() < wanted {
        *fewer += 1;
    }
    sets.push(MatchedSet {
        episode: t.episode,
        person: t.person,
        start: t.start,
        comparators,
        score,
    });
}

/// Up to `k` unused candidates nearest to `target` on the logit, each within `caliper`.
fn nearest(
    scored: &[(f64, usize)],
    used: &mut [bool],
    target: f64,
    caliper: f64,
    k: usize,
) -> Vec<usize> {
    let mut right = scored.partition_point(|s| s.0 < target);
    let mut left = right;
    let mut picked = Vec::new();
    while picked.len() < k {
        while left > 0 && used[scored[left - 1].1] {
            left -= 1;
        }
        while right < scored.len() && used[scored[right].1] {
            right += 1;
        }
        let l = (left > 0).then(|| (target - scored[left - 1].0, left - 1));
        let r = (right < scored.len()).then(|| (scored[right].0 - target, right));
        let best = match (l, r) {
            (Some(a), Some(b)) => {
                if a.0 <= b.0 {
                    a
                } else {
                    b
                }
            }
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => break,
        };
        if best.0 > caliper {
            break;
        }
        used[scored[best.1].1] = true;
        picked.push(scored[best.1].1);
    }
    picked
}

/// Everyone who may be a comparator at start month `month`, with their covariates then.
fn pool_at(
    panel: &Panel,
    month: i32,
    min_age: i32,
    first_support: &HashMap<usize, i32>,
) -> Vec<(usize, Vec<f64>)> {
    (0..panel.people.len())
        .filter(|&i| eligible(panel, i, month, min_age, first_support))
        .map(|i| (i, covariates(panel, i, month)))
        .collect()
}

/// Adds one start month to the propensity model's sample: its supported episodes and a seeded
/// sample of at most 50 candidates per supported episode (a case-control sample: it shifts only the
/// intercept, which matching on the logit does not use). Months are added in order with one
/// generator, so the sample is the same for the same seed.
fn sample(
    pool: &[(usize, Vec<f64>)],
    group: &[&Treated],
    treated_rows: &HashMap<usize, Vec<f64>>,
    rng: &mut ChaCha8Rng,
    x: &mut Vec<Vec<f64>>,
    y: &mut Vec<bool>,
) {
    for t in group {
        x.push(treated_rows[&t.episode].clone());
        y.push(true);
    }
    let take = (group.len() * 50).min(pool.len());
    let mut idx: Vec<usize> = (0..pool.len()).collect();
    idx.partial_shuffle(rng, take);
    for &k in &idx[..take] {
        x.push(pool[k].1.clone());
        y.push(false);
    }
}

/// Fits the propensity model on the sample and returns it with the standard deviation of its
/// logit over the sample.
fn fit_model(x: &[Vec<f64>], y: &[bool]) -> (Logistic, f64) {
    let fit = Logistic::fit(x, y);
    let mut m = Moments::default();
    for row in x {
        m.add(fit.logit(row), 1.0);
    }
    (fit, m.variance().sqrt())
}
