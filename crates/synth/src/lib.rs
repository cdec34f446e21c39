//! careweave-synth: a deterministic, calibrated synthetic neighbourhood for demos, tests and
//! benchmarks, so that careweave never needs real patient data.
//!
//! # Main types
//!
//! - [`SynthConfig`]: what to generate (number of people, seed, [`Profile`], extract date). Equal
//!   configs give equal output: every random stream is a ChaCha8 generator seeded from the seed.
//! - [`generate_registry`] → [`Registry`]: the places (PCNs, practices with ODS-style codes, LSOAs
//!   with IMD deciles, postcodes with coordinates), households and people, built from
//!   `careweave_domain` types, each person with a [`Clinical`] summary (long-term conditions and
//!   social needs as SNOMED CT codes with dates, frailty deficits, medicine counts, date of death).
//! - [`person_history`] → [`PersonHistory`]: one person's clinical picture and every service-use event.
//! - [`write_dataset`] → [`Manifest`]: writes the extract (documented in `docs/extract-schema.md`) as
//!   Parquet and CSV, and FHIR R4 NDJSON, streaming person by person into a temporary directory that
//!   is renamed into place only when complete.
//! - [`calibration::measure`]: the population's prevalences and rates, compared with
//!   `calibration/targets.csv` by the calibration test.
//!
//! # How people are made
//!
//! Stage one (sequential, small) lays out LSOAs, practices, postcodes and households. Stage two gives
//! each person a clinical history and service use from random streams keyed by the person's index, so
//! it runs in parallel and a person's history does not depend on any other person. The model is
//! explained in the `history` module: a latent need factor, prevalence rising with age and with
//! deprivation (multimorbidity about 12 years earlier in the most deprived areas), clustered
//! conditions and a heavy-tailed propensity for unplanned care.
//!
//! Every code emitted is listed in the repository's `codelists/` CSV files. NHS numbers are only ever
//! in the 999 test range, which limits a population to [`max_people`] people.

pub mod calibration;
mod codes;
mod config;
mod fhir;
mod history;
mod intervention;
mod names;
mod population;
mod registry;
mod rng;
mod tables;
mod writer;

pub use codes::{Condition, FrailtyDeficit, SocialNeed};
pub use config::{max_people, Profile, SynthConfig};
pub use history::{
    Admission, AeAttendance, Clinical, ConditionRecord, Contact, DeficitRecord, Events,
    GpAppointment, Outpatient, PersonHistory, SocialNeedRecord,
};
pub use intervention::{Episode, Intervention, EXPOSURE_COLUMNS, PLANTED_SERVICE};
pub use population::{HouseholdKind, Lsoa, Pcn, PostcodeUnit, Practice, ETHNIC_CATEGORIES};
pub use registry::{
    generate_registry, person_history, Registry, RegistryHousehold, RegistryPerson,
};
pub use writer::{write_dataset, Manifest, WriteOptions, SCHEMA_VERSION};

/// The generator's version, written to the manifest: output is byte-identical only for equal
/// versions and configs.
pub const GENERATOR_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a neighbourhood could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("the number of people must be at least 1 (got {0})")]
    TooFewPeople(i64),
    #[error("the number of people must be at most {max}, the count of valid NHS numbers in the 999 test range (got {requested})")]
    TooManyPeople { requested: i64, max: u32 },
    #[error("unknown profile {0:?}: use deprived-urban, mixed or affluent-rural")]
    UnknownProfile(String),
    #[error("{0} is a file; give a directory for the output")]
    OutputIsFile(std::path::PathBuf),
    #[error("{0} is not empty; choose an empty or new directory, or allow replacing it")]
    OutputNotEmpty(std::path::PathBuf),
    #[error("there is no person with index {0}")]
    NoSuchPerson(usize),
    #[error("a generated code was invalid: {0}")]
    Code(#[from] careweave_domain::CodeError),
    #[error("could not write {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("could not write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("could not write Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("could not build a table: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("could not write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Whole years of age on a date.
pub(crate) fn age_years(dob: chrono::NaiveDate, on: chrono::NaiveDate) -> i32 {
    careweave_domain::dates::age_on(dob, on)
}
