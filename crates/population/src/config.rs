//! The run configuration and the readable rule files (segments, cohorts), all TOML.
//!
//! The defaults ship in the crate's `rules/` folder and are compiled in; a user's configuration file
//! may name its own segment rules and cohort folder. Conditions in rule files (`when`,
//! `population`) are SQL boolean expressions over the columns of the person table, so a clinician
//! reads them as written and the engine runs them as written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::PopulationError;

/// The default configuration, as shipped.
pub const DEFAULT_CONFIG: &str = include_str!("../rules/default.toml");
/// The default Bridges to Health rules, as shipped.
pub const DEFAULT_SEGMENTS: &str = include_str!("../rules/segments.toml");
/// The shipped cohort definitions.
pub const DEFAULT_COHORTS: &[&str] = &[
    include_str!("../rules/cohorts/wokingham_mdt.toml"),
    include_str!("../rules/cohorts/focused_care.toml"),
    include_str!("../rules/cohorts/frailty.toml"),
    include_str!("../rules/cohorts/top3.toml"),
    include_str!("../rules/cohorts/core20plus5.toml"),
];

/// Look-back windows in months, ending on the index date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Windows {
    pub utilisation_months: u32,
    pub charlson_months: u32,
    pub hfrs_months: u32,
}

/// Pounds per unit of activity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitCosts {
    pub gp_appointment: f64,
    pub outpatient: f64,
    pub ae_attendance: f64,
    pub emergency_admission: f64,
    pub elective_admission: f64,
    pub bed_day: f64,
    pub community_contact: f64,
    pub mental_health_contact: f64,
}

/// One band of the risk pyramid.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierBand {
    pub name: String,
    /// The band holds people whose share of the population at or above them is at most this.
    pub up_to: f64,
}

/// The risk pyramid.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    pub measure: String,
    pub bands: Vec<TierBand>,
}

/// The Charlson variants the engine computes; one is the default score, written as `charlson`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum CharlsonVariant {
    /// Charlson et al. 1987 weights.
    #[serde(rename = "charlson_1987")]
    Charlson1987,
    /// Quan et al. 2011 updated weights.
    #[serde(rename = "quan_2011")]
    Quan2011,
    /// 1987 weights plus one point per decade from 50 (at most four).
    #[serde(rename = "charlson_1987_age_adjusted")]
    Charlson1987AgeAdjusted,
    /// Quan 2011 weights plus one point per decade from 50 (at most four).
    #[serde(rename = "quan_2011_age_adjusted")]
    Quan2011AgeAdjusted,
}

impl CharlsonVariant {
    /// Whether the variant uses the 1987 weights (otherwise Quan 2011).
    #[must_use]
    pub fn weights_1987(self) -> bool {
        matches!(self, Self::Charlson1987 | Self::Charlson1987AgeAdjusted)
    }

    /// Whether the variant adds the age points.
    #[must_use]
    pub fn age_adjusted(self) -> bool {
        matches!(
            self,
            Self::Charlson1987AgeAdjusted | Self::Quan2011AgeAdjusted
        )
    }

    /// The words for outputs and reports.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Charlson1987 => "Charlson 1987 weights",
            Self::Quan2011 => "Quan 2011 weights",
            Self::Charlson1987AgeAdjusted => "Charlson 1987 weights, age-adjusted",
            Self::Quan2011AgeAdjusted => "Quan 2011 weights, age-adjusted",
        }
    }
}

/// Which Charlson score is the default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharlsonSettings {
    pub default: CharlsonVariant,
}

impl Default for CharlsonSettings {
    fn default() -> Self {
        Self {
            default: CharlsonVariant::Quan2011,
        }
    }
}

/// Which form the extract takes. `auto` reads Parquet, else CSV, else FHIR NDJSON, table by table
/// as they are found; `fhir` reads the person tables from a FHIR R4 Bulk Data export (a folder of
/// NDJSON files) even when Parquet or CSV files sit beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    #[default]
    Auto,
    Parquet,
    Csv,
    Fhir,
}

fn default_max_rejected_share() -> f64 {
    0.01
}

/// A run configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub index_date: NaiveDate,
    /// The date the extract was taken; later dates are impossible. Defaults to the index date.
    #[serde(default)]
    pub extract_date: Option<NaiveDate>,
    pub disclosure_control: bool,
    #[serde(default)]
    pub codelists: Vec<PathBuf>,
    /// The run fails (exit status 2) when any table rejects more than this share of its rows.
    #[serde(default = "default_max_rejected_share")]
    pub max_rejected_share: f64,
    /// The form of the extract; see [`InputFormat`].
    #[serde(default)]
    pub input_format: InputFormat,
    #[serde(default)]
    pub charlson: CharlsonSettings,
    pub windows: Windows,
    pub unit_costs: UnitCosts,
    pub long_term_conditions: BTreeMap<String, Vec<String>>,
    pub social_needs: BTreeMap<String, Vec<String>>,
    /// Need domain = SQL condition over person columns; `need_domains` counts those that hold.
    pub need_domains: BTreeMap<String, String>,
    pub tiers: Tiers,
    /// A segment rules file replacing the shipped one.
    #[serde(default)]
    pub segments: Option<PathBuf>,
    /// A folder of cohort files (`*.toml`) replacing the shipped cohorts.
    #[serde(default)]
    pub cohorts: Option<PathBuf>,
}

/// One Bridges to Health rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    pub name: String,
    pub segment: String,
    pub when: String,
    /// The file the rule came from, for messages.
    #[serde(skip)]
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentFile {
    rule: Vec<SegmentRule>,
}

/// One criterion of a cohort.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub name: String,
    pub description: String,
    pub when: String,
}

/// A cohort: a population, criteria, and the columns of its worklist.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cohort {
    pub name: String,
    pub title: String,
    pub population: String,
    /// A person in the population is on the worklist when at least this many criteria hold.
    pub minimum_criteria: u32,
    pub columns: Vec<String>,
    #[serde(rename = "criterion")]
    pub criteria: Vec<Criterion>,
    /// The file the cohort came from, for messages.
    #[serde(skip)]
    pub source: String,
}

/// Everything a run needs besides the input: configuration, segment rules and cohorts.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub config: Config,
    /// The configuration file, or `the shipped configuration`, for messages.
    pub config_source: String,
    pub segments: Vec<SegmentRule>,
    pub cohorts: Vec<Cohort>,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, PopulationError> {
    toml::from_str(text).map_err(|e| PopulationError::Config {
        what: what.to_owned(),
        why: e.to_string(),
    })
}

fn read(path: &Path) -> Result<String, PopulationError> {
    std::fs::read_to_string(path).map_err(|source| PopulationError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl RunSettings {
    /// The shipped defaults.
    ///
    /// # Errors
    /// Only if a shipped file is malformed, which a test rules out.
    pub fn defaults() -> Result<Self, PopulationError> {
        Self::from_config(
            parse(DEFAULT_CONFIG, "the default configuration")?,
            None,
            "the shipped rules/default.toml".to_owned(),
        )
    }

    /// Reads a configuration file; relative paths inside it are relative to the file.
    ///
    /// # Errors
    /// An unreadable or malformed file, or a rule file it names.
    pub fn from_file(path: &Path) -> Result<Self, PopulationError> {
        let config: Config = parse(&read(path)?, &path.display().to_string())?;
        Self::from_config(config, path.parent(), path.display().to_string())
    }

    fn from_config(
        mut config: Config,
        base: Option<&Path>,
        config_source: String,
    ) -> Result<Self, PopulationError> {
        let resolve = |p: &Path| base.map_or_else(|| p.to_path_buf(), |b| b.join(p));
        config.codelists = config.codelists.iter().map(|p| resolve(p)).collect();
        let (mut segments, segments_source): (SegmentFile, String) = match &config.segments {
            Some(p) => {
                let p = resolve(p);
                (
                    parse(&read(&p)?, &p.display().to_string())?,
                    p.display().to_string(),
                )
            }
            None => (
                parse(DEFAULT_SEGMENTS, "the shipped segment rules")?,
                "the shipped rules/segments.toml".to_owned(),
            ),
        };
        for r in &mut segments.rule {
            r.source.clone_from(&segments_source);
        }
        let cohorts = match &config.cohorts {
            Some(dir) => {
                let dir = resolve(dir);
                let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .map_err(|source| PopulationError::Io {
                        path: dir.clone(),
                        source,
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                    .collect();
                files.sort();
                files
                    .iter()
                    .map(|p| {
                        let mut c: Cohort = parse(&read(p)?, &p.display().to_string())?;
                        c.source = p.display().to_string();
                        Ok(c)
                    })
                    .collect::<Result<Vec<Cohort>, PopulationError>>()?
            }
            None => DEFAULT_COHORTS
                .iter()
                .map(|t| {
                    let mut c: Cohort = parse(t, "a shipped cohort")?;
                    c.source = format!("the shipped rules/cohorts/{}.toml", c.name);
                    Ok(c)
                })
                .collect::<Result<Vec<Cohort>, PopulationError>>()?,
        };
        let me = Self {
            config,
            config_source,
            segments: segments.rule,
            cohorts,
        };
        me.check()?;
        Ok(me)
    }

    /// Checks what TOML cannot: names usable as SQL identifiers, a catch-all last segment rule,
    /// ordered tier bands.
    fn check(&self) -> Result<(), PopulationError> {
        let bad = |what: &str, why: String| {
            Err(PopulationError::Config {
                what: what.to_owned(),
                why,
            })
        };
        let ident = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        for name in self
            .config
            .long_term_conditions
            .keys()
            .chain(self.config.social_needs.keys())
            .chain(self.config.need_domains.keys())
        {
            if !ident(name) {
                return bad(
                    "a condition or need name",
                    format!("{name:?} must be lower case letters, digits and _"),
                );
            }
        }
        for c in &self.cohorts {
            if !ident(&c.name) || c.criteria.iter().any(|k| !ident(&k.name)) {
                return bad(
                    &c.title,
                    "cohort and criterion names must be lower case letters, digits and _".into(),
                );
            }
            for column in &c.columns {
                if !ident(column) {
                    return bad(
                        &c.title,
                        format!("column {column:?} is not a person column name"),
                    );
                }
            }
        }
        match self.segments.last() {
            Some(r) if r.when.trim().eq_ignore_ascii_case("true") => {}
            _ => {
                return bad(
                    "segment rules",
                    "the last rule must be `when = \"TRUE\"` so that everyone is placed".into(),
                )
            }
        }
        let bands = &self.config.tiers.bands;
        if bands.is_empty()
            || bands.windows(2).any(|w| w[0].up_to >= w[1].up_to)
            || bands
                .last()
                .is_some_and(|b| (b.up_to - 1.0).abs() > f64::EPSILON)
        {
            return bad(
                "tiers",
                "bands must rise strictly and the last must be up_to = 1.0".into(),
            );
        }
        if !(0.0..=1.0).contains(&self.config.max_rejected_share) {
            return bad(
                "max_rejected_share",
                "must be a share from 0.0 to 1.0 (0.01 is one per cent)".into(),
            );
        }
        if !ident(&self.config.tiers.measure) {
            return bad("tiers", "measure must be a person column name".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configuration_and_rules_parse_and_pass_their_checks() {
        let s = RunSettings::defaults().expect("defaults");
        assert_eq!(s.segments.len(), 8);
        let names: Vec<_> = s.cohorts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "wokingham_mdt",
                "focused_care",
                "frailty",
                "top3",
                "core20plus5"
            ]
        );
    }

    #[test]
    fn a_segment_file_without_a_catch_all_is_refused() {
        let mut s = RunSettings::defaults().expect("defaults");
        s.segments.pop();
        assert!(s.check().is_err());
    }
}
