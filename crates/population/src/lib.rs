//! careweave-population: the population engine. It reads an extract of GP, hospital and community
//! records, measures need, segments the population, finds people for proactive support and
//! profiles places, all as Apache DataFusion plans so that the same definitions can later run
//! distributed.
//!
//! # Main types
//!
//! - [`RunSettings`]: the run configuration (index date, look-back windows, unit costs, condition
//!   codelists, tiers) with the readable rule files: Bridges to Health [`config::SegmentRule`]s and
//!   [`config::Cohort`] definitions (a population plus criteria plus columns, like an OpenSAFELY
//!   dataset definition). Defaults ship in the crate's `rules/` folder.
//! - [`Codelists`]: versioned `code,term` CSV files loaded by name, layered so that a user's folder
//!   overrides a shipped list.
//! - [`Engine`]: a DataFusion session with careweave's functions ([`udf`]) and reference tables
//!   (the score definitions in `data/`). [`Engine::run`] goes through the stages
//!   ([`Stage`]): ingest with validation ([`ingest`]), features and scores, person (tiers, segments),
//!   cohorts, place profiles; [`Engine::explain`] shows every feature, score and rule for one person.
//! - [`RunSummary`]: rows read, accepted and rejected per table, people, cohort sizes, timings.
//!
//! # Privacy
//!
//! The engine handles identifiable rows: its person-level outputs (features, worklists,
//! diagnostics) are for the care team's systems. Place profiles are aggregates and go through
//! [`careweave_domain::disclosure::SafeCount`] unless the configuration turns disclosure control off.
//! Nothing person-level is logged.

pub mod codelists;
pub mod config;
pub mod engine;
pub mod fhir_input;
pub mod hold;
pub mod icd10;
pub mod ingest;
pub mod places;
pub mod reference;
pub mod report;
pub mod rules_check;
mod run;
mod scan;
pub mod synthetic_ids;
pub mod udf;

pub use codelists::Codelists;
pub use config::RunSettings;
pub use hold::SharedScratch;
pub use run::{
    peak_rss_kib, read_place_profiles, session_config, Engine, Explanation, ProfileExport,
    RunSummary, Stage, StageTiming, WorklistExport,
};

/// Why a run could not be completed. Problems with single rows are not errors: they are
/// diagnostics in the [`RunSummary`].
#[derive(Debug, thiserror::Error)]
pub enum PopulationError {
    #[error("could not read or write {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the input folder {folder} has no {table}.parquet or {table}.csv, which the engine needs"
    )]
    MissingTable {
        table: &'static str,
        folder: std::path::PathBuf,
    },
    #[error("{folder} holds no FHIR Patient resources (NDJSON), which a FHIR run needs")]
    NoFhirPatients { folder: std::path::PathBuf },
    #[error("{file} has no column {column:?}")]
    MissingColumn {
        file: std::path::PathBuf,
        column: &'static str,
    },
    #[error("codelist {name}: {why}")]
    Codelist { name: String, why: String },
    #[error("{what}: {why}")]
    Config { what: String, why: String },
    #[error("no person with that NHS number is in the population at the index date")]
    NoSuchPerson,
    #[error("the query engine failed: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("could not build a table: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}
