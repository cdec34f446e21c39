//! careweave-evaluation: did the support work? The fourth part of the loop (docs/evaluation.md).
//!
//! It joins who was supported and when (the exposure table, [`exposures`]) with everyone's service
//! use from the extract the population engine reads ([`panel`]), finds for each supported episode
//! comparators who were not supported, with the same profile at the same calendar start
//! ([`matching`]), and estimates the change by difference-in-differences with bootstrap intervals,
//! beside the naive before/after the seeds quote ([`estimate`]). [`output`] writes the tables and
//! the board pack (one offline HTML file).
//!
//! # Privacy
//!
//! The panel, the matched sets and the unmatched list name people: they are for the care team.
//! Every count in the report and the aggregate tables goes through
//! [`careweave_domain::disclosure::SafeCount`] unless the settings turn disclosure control off.
//! Nothing person-level is logged.

pub mod config;
pub mod estimate;
pub mod explain;
pub mod exposures;
pub mod matching;
pub mod outcome;
pub mod output;
pub mod panel;
mod report;
mod report_charts;
mod run;
pub mod stats;
pub mod tables;

pub use config::{Method, Settings};
pub use outcome::Outcome;
/// The board pack as one HTML string, for callers that keep it somewhere other than a file (the
/// command line stores it with the summary for the web page).
pub use report::html as board_pack;
pub use run::{evaluate, run, EpisodeStatus, Evaluation};

/// Why an evaluation could not be completed. Problems with single rows or episodes are not
/// errors: they are reported in the [`Evaluation`].
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    #[error("could not read or write {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("settings: {0}")]
    Config(String),
    #[error("exposures: {0}")]
    Exposures(String),
    #[error("extract: {0}")]
    Extract(String),
    #[error(transparent)]
    Population(#[from] careweave_population::PopulationError),
    #[error("the query engine failed: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("could not convert a column: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}
