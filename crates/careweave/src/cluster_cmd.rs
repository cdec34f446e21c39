//! `careweave cluster`: the nodes of a distributed population run. The same binary is every node,
//! so the scheduler and executors carry careweave's functions and codec (see careweave-cluster);
//! `careweave population run --cluster df://HOST:PORT` sends the engine's stages to them.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use careweave_cluster::node::{run_executor, run_scheduler, ExecutorOptions, SchedulerOptions};
use careweave_cluster::SchedulerAddress;
use clap::Subcommand;

/// The cluster's nodes.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Run a Ballista scheduler until stopped.
    Scheduler {
        /// The address to listen on.
        #[arg(long, default_value = "0.0.0.0:50050", value_name = "ADDR")]
        bind: SocketAddr,
        /// The host name executors and clients use to reach this scheduler.
        #[arg(long, default_value = "localhost", value_name = "HOST")]
        external_host: String,
    },
    /// Run a Ballista executor until stopped.
    Executor {
        /// The scheduler, as `df://HOST:PORT`.
        #[arg(long, default_value = "df://localhost:50050", value_name = "ADDR")]
        scheduler: String,
        /// The host to listen on.
        #[arg(long, default_value = "0.0.0.0", value_name = "HOST")]
        bind_host: String,
        /// The port other executors fetch shuffle data from.
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// The port the scheduler sends tasks to.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// The host name the scheduler and other executors use to reach this executor.
        #[arg(long, value_name = "HOST")]
        external_host: Option<String>,
        /// How many tasks run at once (0: one per core).
        #[arg(long, default_value_t = 0)]
        vcores: usize,
        /// Where shuffle files go (a new temporary folder when not given).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
        /// The executor's memory budget in MiB, beyond which operators spill to disk.
        #[arg(long, value_name = "MIB")]
        memory_mib: Option<u64>,
    },
}

/// Runs a node until it stops or fails.
///
/// # Errors
/// A bad address, a port that cannot be bound, or a node that stops with an error.
pub fn main(command: ClusterCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        match command {
            ClusterCommand::Scheduler {
                bind,
                external_host,
            } => {
                println!("careweave cluster scheduler listening on {bind}");
                run_scheduler(SchedulerOptions {
                    bind,
                    external_host,
                })
                .await?;
            }
            ClusterCommand::Executor {
                scheduler,
                bind_host,
                port,
                grpc_port,
                external_host,
                vcores,
                work_dir,
                memory_mib,
            } => {
                let address = SchedulerAddress::parse(&scheduler)?;
                println!(
                    "careweave cluster executor on {bind_host}:{port}, serving df://{}:{}",
                    address.host, address.port
                );
                run_executor(ExecutorOptions {
                    scheduler_host: address.host,
                    scheduler_port: address.port,
                    bind_host,
                    port,
                    grpc_port,
                    external_host,
                    vcores,
                    work_dir: work_dir.map(|d| d.to_string_lossy().into_owned()),
                    memory_pool_bytes: memory_mib.map(|m| m * 1024 * 1024),
                })
                .await?;
            }
        }
        Ok(())
    })
}
