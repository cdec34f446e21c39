//! The scheduler and executor processes, started from careweave's own binary so that every node
//! carries careweave's functions (the NHS number, code and disclosure functions) and reads the
//! engine's in-memory tables with careweave's codec.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_session_builder;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::registry::FunctionRegistry;
use datafusion::execution::SessionState;
use datafusion::prelude::SessionConfig;

use crate::codec::CareweaveLogicalCodec;
use crate::ClusterError;

/// The largest gRPC message a node accepts. Plans carry the engine's small in-memory tables (the
/// codelists and score tables, a few hundred kilobytes per reference), so Ballista's 16 MB default
/// is raised to leave room for a plan that reads them several times.
pub const MAX_MESSAGE_BYTES: u32 = 256 * 1024 * 1024;

/// A session on the scheduler: Ballista's defaults with careweave's functions added, so that a
/// plan that calls them can be read.
fn scheduler_session(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let mut state = default_session_builder(config)?;
    for f in careweave_population::udf::all() {
        state.register_udf(Arc::new(f))?;
    }
    Ok(state)
}

/// Ballista's functions with careweave's added, for the executors.
fn executor_functions() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for f in careweave_population::udf::all() {
        registry
            .scalar_functions
            .insert(f.name().to_owned(), Arc::new(f));
    }
    registry
}

/// Where a scheduler listens.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// The address to bind, such as `0.0.0.0:50050`.
    pub bind: SocketAddr,
    /// The host name executors and clients use to reach this scheduler.
    pub external_host: String,
}

/// Runs a scheduler until the process ends.
///
/// # Errors
/// The address cannot be bound, or Ballista refuses the configuration.
pub async fn run_scheduler(options: SchedulerOptions) -> Result<(), ClusterError> {
    let config = SchedulerConfig {
        bind_host: options.bind.ip().to_string(),
        bind_port: options.bind.port(),
        external_host: options.external_host,
        override_session_builder: Some(Arc::new(scheduler_session)),
        override_logical_codec: Some(Arc::new(CareweaveLogicalCodec::default())),
        grpc_server_max_decoding_message_size: MAX_MESSAGE_BYTES,
        grpc_server_max_encoding_message_size: MAX_MESSAGE_BYTES,
        grpc_client_max_message_size: MAX_MESSAGE_BYTES,
        // Executors heartbeat every 5 seconds (see `run_executor`). Ballista's defaults wait three
        // minutes before calling an executor lost and as long again for a replacement; a run
        // that has lost every executor should fail within a minute, naming the loss, instead.
        executor_timeout_seconds: 30,
        no_executors_grace_period_seconds: 30,
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| ClusterError::Node(e.to_string()))?;
    start_server(cluster, options.bind, Arc::new(config))
        .await
        .map_err(|e| ClusterError::Node(e.to_string()))
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host and port.
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// The host to bind and the port other executors fetch shuffle data from.
    pub bind_host: String,
    pub port: u16,
    /// The port the scheduler sends tasks to.
    pub grpc_port: u16,
    /// The host name the scheduler and other executors use to reach this executor.
    pub external_host: Option<String>,
    /// How many tasks run at once (0: one per core).
    pub vcores: usize,
    /// Where shuffle files go (a fresh temporary folder when `None`).
    pub work_dir: Option<String>,
    /// The executor's memory budget in bytes, beyond which operators spill (`None`: Ballista's
    /// share of the machine's memory).
    pub memory_pool_bytes: Option<u64>,
}

/// Runs an executor until the process ends.
///
/// # Errors
/// The scheduler cannot be reached, a port cannot be bound, or Ballista refuses the
/// configuration.
pub async fn run_executor(options: ExecutorOptions) -> Result<(), ClusterError> {
    let config = ExecutorProcessConfig {
        scheduler_host: options.scheduler_host,
        scheduler_port: options.scheduler_port,
        bind_host: options.bind_host,
        port: options.port,
        grpc_port: options.grpc_port,
        external_host: options.external_host,
        vcores: options.vcores,
        work_dir: options.work_dir,
        memory_pool_size: options.memory_pool_bytes,
        // The heartbeat tells the scheduler the executor is alive; a short interval lets it notice
        // a lost executor and move its tasks sooner.
        executor_heartbeat_interval_seconds: 5,
        grpc_max_decoding_message_size: MAX_MESSAGE_BYTES,
        grpc_max_encoding_message_size: MAX_MESSAGE_BYTES,
        override_function_registry: Some(Arc::new(executor_functions())),
        override_logical_codec: Some(Arc::new(CareweaveLogicalCodec::default())),
        // Careweave's logs are its own; the executor's progress lines would flood them.
        print_thread_info: false,
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| ClusterError::Node(e.to_string()))
}
