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
//! in the 999 test range, which limits one neighbourhood to [`max_people`] people.
//!
//! # Larger extracts: several places
//!
//! [`write_places`] with a [`PlacesConfig`] makes an extract of up to [`MAX_EXTRACT_PEOPLE`] people
//! as several places, each a neighbourhood of the generator above with a seed derived from the
//! extract's seed and the place's number, generated and written one at a time (memory holds one
//! place) as `parquet/<table>/place-NNNN.parquet`, with every key unique across places. Its people
//! have identifiers of the synthetic unissuable scheme instead of NHS numbers: ten digits whose first
//! nine have no modulus-11 check digit, then 0, so none can ever be a real NHS number
//! ([`is_unissuable_identifier`]); the manifest says `"identifiers": "synthetic-unissuable"`, and the
//! population engine accepts them only then. The decision and the layout are written down in
//! `docs/extract-schema.md`.

pub mod calibration;
mod codes;
mod config;
mod fhir;
mod history;
mod identifiers;
mod intervention;
mod names;
mod population;
mod registry;
mod rng;
mod tables;
mod writer;

pub use codes::{Condition, FrailtyDeficit, SocialNeed};
pub use config::{max_people, PlacesConfig, Profile, SynthConfig, MAX_EXTRACT_PEOPLE, MAX_PLACES};
pub use history::{
    Admission, AeAttendance, Clinical, ConditionRecord, Contact, DeficitRecord, Events,
    GpAppointment, Outpatient, PersonHistory, SocialNeedRecord,
};
pub use identifiers::{is_unissuable_identifier, UNISSUABLE_SCHEME};
pub use intervention::{Episode, Intervention, EXPOSURE_COLUMNS, PLANTED_SERVICE};
pub use population::{HouseholdKind, Lsoa, Pcn, PostcodeUnit, Practice, ETHNIC_CATEGORIES};
pub use registry::{
    generate_registry, person_history, Registry, RegistryHousehold, RegistryPerson,
};
pub use writer::{
    write_dataset, write_places, Manifest, PlaceSummary, WriteOptions, SCHEMA_VERSION,
};

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
    #[error("a multi-place extract holds at most {max} people (got {requested})")]
    TooManyForExtract { requested: i64, max: u64 },
    #[error("the people per place must be from 1 to {max}, the count of valid NHS numbers in the 999 test range (got {size})")]
    BadPlaceSize { size: i64, max: u32 },
    #[error("{places} places are more than the extract's codes can name (at most {max} places, and postcode districts for about 100 million people): use larger places")]
    TooManyPlaces { places: u64, max: u32 },
    #[error(
        "an intervention can be planted only in a single-place extract (at most 909,091 people)"
    )]
    InterventionNeedsOnePlace,
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
