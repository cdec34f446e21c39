//! One evaluation run: exposures joined to the extract, checks, matching, estimates.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::{Settings, StartDate};
use crate::estimate::{cluster_sums, estimate, Estimates, Window};
use crate::exposures::ExposureTable;
use crate::matching::{match_episodes, Matching, Treated};
use crate::panel::{month_start, months_between, read_extract, Panel};
use crate::EvaluationError;

/// What happened to one supplied episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EpisodeStatus {
    /// Evaluated; the flags say whether its windows were shortened by the extract's edges.
    Evaluated {
        person: usize,
        start: i32,
        pre_shortened: bool,
        post_shortened: bool,
    },
    /// Not evaluated, and why.
    Excluded(&'static str),
}

/// The result of a run, with what the report needs.
#[derive(Debug)]
pub struct Evaluation {
    pub settings: Settings,
    pub panel: Panel,
    pub exposures: ExposureTable,
    pub statuses: Vec<EpisodeStatus>,
    pub matching: Matching,
    pub estimates: Option<Estimates>,
    pub window: Window,
    pub cost_per_episode: f64,
    pub timings: Vec<(&'static str, Duration)>,
    /// The month each supported person was first referred (from the history's first month).
    pub first_support: HashMap<usize, i32>,
}

impl Evaluation {
    /// Episodes not evaluated or not matched, counted by reason.
    #[must_use]
    pub fn not_evaluated(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for s in &self.statuses {
            if let EpisodeStatus::Excluded(why) = s {
                *out.entry(*why).or_insert(0) += 1;
            }
        }
        for (_, why) in &self.matching.unmatched {
            *out.entry(*why).or_insert(0) += 1;
        }
        out
    }

    /// Comparator places (a comparator in one matched set) whose person was referred themselves
    /// during that set's after-period. They stay in the comparison (see docs/evaluation.md,
    /// "Comparators supported later"), so this says how far the comparison is diluted.
    #[must_use]
    pub fn comparators_supported_later(&self) -> u64 {
        let after = i32::try_from(self.settings.months_after).unwrap_or(i32::MAX);
        self.matching
            .sets
            .iter()
            .flat_map(|s| s.comparators.iter().map(move |c| (s.start, c)))
            .filter(|(start, c)| {
                self.first_support
                    .get(*c)
                    .is_some_and(|&f| f > *start && f < start.saturating_add(after))
            })
            .count() as u64
    }

    /// Evaluated episodes whose pre-period or post-period was cut short by the extract's edges.
    #[must_use]
    pub fn shortened(&self) -> (u64, u64) {
        let mut pre = 0;
        let mut post = 0;
        for s in &self.statuses {
            if let EpisodeStatus::Evaluated {
                pre_shortened,
                post_shortened,
                ..
            } = s
            {
                pre += u64::from(*pre_shortened);
                post += u64::from(*post_shortened);
            }
        }
        (pre, post)
    }
}

/// Decides whether an episode can be evaluated.
fn status(panel: &Panel, settings: &Settings, e: &crate::exposures::Exposure) -> EpisodeStatus {
    let Some(&person) = panel.by_nhs.get(&e.nhs_number) else {
        return EpisodeStatus::Excluded("the NHS number is not in the extract");
    };
    let day = match settings.start {
        StartDate::Referral => e.referral,
        StartDate::FirstContact => e.first_contact.unwrap_or(e.referral),
    };
    if day < panel.history_start || day > panel.extract_date {
        return EpisodeStatus::Excluded("the start is outside the extract's history");
    }
    let first = month_start(day);
    let p = &panel.people[person];
    if careweave_domain::dates::age_on(p.date_of_birth, first) < settings.min_age {
        return EpisodeStatus::Excluded("younger than the youngest age evaluated at the start");
    }
    if p.registration > first || p.death.is_some_and(|d| d <= first) {
        return EpisodeStatus::Excluded("not registered and alive at the start of the start month");
    }
    let start = months_between(panel.first_month, first);
    let before = start - settings.months_before as i32;
    let after_end = panel.month_date(start + settings.months_after as i32);
    EpisodeStatus::Evaluated {
        person,
        start,
        pre_shortened: panel
            .month_date(before)
            .is_none_or(|d| d < panel.history_start),
        post_shortened: after_end.is_none_or(|end| Some(end) > panel.extract_date.succ_opt()),
    }
}

/// The years the service ran: first referral to last discharge (or referral), at least a month.
fn service_years(exposures: &ExposureTable) -> f64 {
    let first = exposures.episodes.iter().map(|e| e.referral).min();
    let last = exposures
        .episodes
        .iter()
        .map(|e| e.discharge.unwrap_or(e.referral))
        .max();
    match (first, last) {
        (Some(a), Some(b)) => ((b - a).num_days() as f64 / 365.25).max(1.0 / 12.0),
        _ => 1.0,
    }
}

/// Runs the evaluation over the extract in `input` with the checked `exposures`.
///
/// # Errors
/// The extract cannot be read or the settings are unusable; problems with single rows or
/// episodes are reported in the result, never errors.
pub async fn run(
    input: &Path,
    codelists: careweave_population::Codelists,
    exposures: ExposureTable,
    settings: Settings,
) -> Result<Evaluation, EvaluationError> {
    settings.check()?;
    let mut timings = Vec::new();
    let t = Instant::now();
    let panel = read_extract(
        input,
        codelists,
        settings.history_start,
        settings.extract_date,
    )
    .await?;
    timings.push(("read the extract", t.elapsed()));
    evaluate(panel, exposures, settings, timings)
}

/// The evaluation over a panel already read (the tests build panels by hand).
///
/// # Errors
/// Only if the population engine's shipped unit costs cannot be read.
pub fn evaluate(
    panel: Panel,
    exposures: ExposureTable,
    settings: Settings,
    mut timings: Vec<(&'static str, Duration)>,
) -> Result<Evaluation, EvaluationError> {
    let units = settings.unit_costs()?;
    let t = Instant::now();
    let statuses: Vec<EpisodeStatus> = exposures
        .episodes
        .iter()
        .map(|e| status(&panel, &settings, e))
        .collect();
    // The month each supported person was first referred; a start outside the history counts as
    // "always supported", so such a person is never a comparator.
    let mut first_support: HashMap<usize, i32> = HashMap::new();
    for e in &exposures.episodes {
        if let Some(&person) = panel.by_nhs.get(&e.nhs_number) {
            let month = if e.referral < panel.history_start {
                i32::MIN
            } else {
                months_between(panel.first_month, month_start(e.referral))
            };
            let first = first_support.entry(person).or_insert(month);
            *first = (*first).min(month);
        }
    }
    let treated: Vec<Treated> = statuses
        .iter()
        .enumerate()
        .filter_map(|(episode, s)| match s {
            EpisodeStatus::Evaluated { person, start, .. } => Some(Treated {
                episode,
                person: *person,
                start: *start,
            }),
            EpisodeStatus::Excluded(_) => None,
        })
        .collect();
    let matching = match_episodes(&panel, &treated, &first_support, &settings);
    timings.push(("match", t.elapsed()));
    let t = Instant::now();
    let window = Window {
        before: settings.months_before,
        after: settings.months_after,
    };
    let n = exposures.episodes.len().max(1);
    let cost_per_episode = settings.service_cost(n, service_years(&exposures)) / n as f64;
    let estimates = (!matching.sets.is_empty()).then(|| {
        let clusters = cluster_sums(&panel, &matching.sets, window, &units, &first_support);
        estimate(
            &clusters,
            window,
            settings.bootstrap,
            settings.seed,
            cost_per_episode,
        )
    });
    timings.push(("estimate and bootstrap", t.elapsed()));
    Ok(Evaluation {
        settings,
        panel,
        exposures,
        statuses,
        matching,
        estimates,
        window,
        cost_per_episode,
        timings,
        first_support,
    })
}
