//! The evaluation's settings: windows, the matching method, the bootstrap, unit costs and the
//! service's cost. Every setting has a default, so an empty TOML file is a valid configuration.

use std::path::Path;

use serde::Deserialize;

pub use careweave_population::config::UnitCosts;

use crate::EvaluationError;

/// How comparators are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Nearest neighbours on the logit of a propensity score (logistic regression), within a caliper.
    Propensity,
    /// Coarsened exact matching: the same band of every matching variable.
    CoarsenedExact,
}

impl Method {
    /// The method in plain words, for the report.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Method::Propensity => {
                "propensity score (logistic regression) with nearest neighbours within a caliper"
            }
            Method::CoarsenedExact => {
                "coarsened exact matching (the same band of every matching variable)"
            }
        }
    }
}

/// Which exposure date starts the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartDate {
    /// The referral (intention to treat: everyone referred counts, seen or not).
    Referral,
    /// The first contact, falling back to the referral when there was none.
    FirstContact,
}

/// What the service costs: either a cost per episode a user enters, or the staff (WTE × salary
/// with on-costs) for the period the episodes ran.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceCost {
    /// Pounds per supported episode; used when set.
    pub per_episode: Option<f64>,
    /// Whole-time equivalent staff.
    pub staff_wte: f64,
    /// Annual salary per WTE, in pounds.
    pub salary: f64,
    /// On-costs (employer's National Insurance and pension) as a share of salary.
    pub on_costs: f64,
    /// Other annual costs (management, premises, travel), in pounds.
    pub other_annual: f64,
}

impl Default for ServiceCost {
    /// Four Band 4 link workers (Agenda for Change 2024/25 mid-point) with 28% on-costs.
    fn default() -> Self {
        Self {
            per_episode: None,
            staff_wte: 4.0,
            salary: 27_000.0,
            on_costs: 0.28,
            other_annual: 20_000.0,
        }
    }
}

/// Every setting of a run.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Whole months before the start month (the pre-period).
    pub months_before: u32,
    /// Whole months from the start month on (the post-period, the start month included).
    pub months_after: u32,
    pub start: StartDate,
    pub method: Method,
    /// Comparators wanted per supported episode.
    pub comparators: usize,
    /// The propensity caliper, in standard deviations of the logit of the score.
    pub caliper_sd: f64,
    /// Bootstrap replicates for the confidence intervals.
    pub bootstrap: usize,
    /// The seed of every random choice (comparator ties, the bootstrap); equal seeds give equal output.
    pub seed: u64,
    /// The youngest age evaluated, in whole years at the start.
    pub min_age: i32,
    /// Pounds per unit of activity; the population engine's defaults when not set, so that both
    /// price activity the same way.
    pub unit_costs: Option<UnitCosts>,
    pub service_cost: ServiceCost,
    /// Small-number suppression of every published count (≤ 7 hidden, others rounded to 5).
    pub disclosure_control: bool,
    /// The extract's last day; read from `manifest.json` when not set.
    pub extract_date: Option<chrono::NaiveDate>,
    /// The first day of the extract's history; read from `manifest.json` when not set.
    pub history_start: Option<chrono::NaiveDate>,
    /// The service's name for the report.
    pub service_name: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            months_before: 12,
            months_after: 12,
            start: StartDate::Referral,
            method: Method::Propensity,
            comparators: 3,
            caliper_sd: 0.2,
            bootstrap: 1_000,
            seed: 1,
            min_age: 18,
            unit_costs: None,
            service_cost: ServiceCost::default(),
            disclosure_control: true,
            extract_date: None,
            history_start: None,
            service_name: "Personalised care".to_owned(),
        }
    }
}

impl Settings {
    /// Reads a TOML file; missing settings take their defaults.
    ///
    /// # Errors
    /// The file cannot be read, or a setting is unknown or out of range.
    pub fn from_file(path: &Path) -> Result<Self, EvaluationError> {
        let text = std::fs::read_to_string(path).map_err(|source| EvaluationError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Parses TOML text.
    ///
    /// # Errors
    /// A setting is unknown or out of range.
    pub fn from_toml(text: &str) -> Result<Self, EvaluationError> {
        let s: Settings =
            toml::from_str(text).map_err(|e| EvaluationError::Config(e.to_string()))?;
        s.check()?;
        Ok(s)
    }

    /// Refuses settings that cannot give an answer.
    ///
    /// # Errors
    /// The first setting out of range.
    pub fn check(&self) -> Result<(), EvaluationError> {
        let bad = |why: &str| Err(EvaluationError::Config(why.to_owned()));
        if !(1..=36).contains(&self.months_before) || !(1..=36).contains(&self.months_after) {
            return bad("months_before and months_after must be between 1 and 36");
        }
        if !(1..=10).contains(&self.comparators) {
            return bad("comparators must be between 1 and 10");
        }
        if !(self.caliper_sd > 0.0 && self.caliper_sd <= 2.0) {
            return bad("caliper_sd must be above 0 and at most 2");
        }
        if !(50..=100_000).contains(&self.bootstrap) {
            return bad("bootstrap must be between 50 and 100000 replicates");
        }
        Ok(())
    }

    /// The unit costs in force: the configured ones or the population engine's defaults.
    ///
    /// # Errors
    /// Only if the population engine's shipped defaults fail to parse.
    pub fn unit_costs(&self) -> Result<UnitCosts, EvaluationError> {
        match &self.unit_costs {
            Some(u) => Ok(u.clone()),
            None => Ok(careweave_population::RunSettings::defaults()?
                .config
                .unit_costs),
        }
    }

    /// The service's cost over `years` of running with `episodes` episodes.
    #[must_use]
    pub fn service_cost(&self, episodes: usize, years: f64) -> f64 {
        let c = &self.service_cost;
        match c.per_episode {
            Some(p) => p * episodes as f64,
            None => (c.staff_wte * c.salary * (1.0 + c.on_costs) + c.other_annual) * years,
        }
    }
}
