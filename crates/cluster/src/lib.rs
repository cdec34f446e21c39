//! careweave-cluster: population runs on an Apache Ballista cluster.
//!
//! When one machine is not enough, careweave uses DataFusion's own distributed scheduler rather than
//! a home-made one. The same binary is every node: `careweave cluster scheduler` and `careweave
//! cluster executor` start Ballista's scheduler and executors with careweave's functions and codec
//! ([`node`]), and `careweave population run --cluster df://HOST:PORT` plans the engine's unchanged
//! stages on a session whose queries the scheduler runs ([`client`], [`engine`]).
//!
//! # Invariants
//!
//! - The stages are the population engine's own; this crate only supplies the session. A cluster run
//!   gives the same tables as a run on one machine (`tests/cluster.rs` checks every output).
//! - Inputs, outputs and the scratch folder are paths every node reads and writes at the same place
//!   (a shared file system). Intermediate tables go to the scratch folder as Parquet, not through
//!   the client's memory; the engine's small in-memory tables travel inside plans
//!   ([`codec`]).
//! - Outputs appear in the output folder only when the whole run succeeded (the engine writes to a
//!   hidden sibling folder and renames at the end), so a lost executor never leaves a partial
//!   output that looks complete.
//! - A scheduler that does not answer is a clear error within [`client::CONNECT_TIMEOUT`].

pub mod client;
pub mod codec;
pub mod node;

use std::path::Path;

use careweave_population::{Codelists, Engine, RunSettings};

pub use client::{connect, SchedulerAddress};

/// Why a cluster could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{given:?} is not a scheduler address: {why}")]
    Address { given: String, why: String },
    #[error("the scheduler at {address} does not answer ({why}); check that `careweave cluster scheduler` is running there and the port is open")]
    Unreachable { address: String, why: String },
    #[error("a cluster node stopped: {0}")]
    Node(String),
    #[error("the query engine failed: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Population(#[from] careweave_population::PopulationError),
}

/// A population engine whose queries run on the cluster at `address`, with its intermediate tables
/// under `scratch`.
///
/// # Errors
/// The scheduler does not answer, or the engine cannot be set up.
pub async fn engine(
    address: &SchedulerAddress,
    scratch: &Path,
    settings: RunSettings,
    codelists: Codelists,
) -> Result<Engine, ClusterError> {
    let ctx = connect(address, scratch).await?;
    Ok(Engine::with_context(settings, codelists, ctx)?)
}
