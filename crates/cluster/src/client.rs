//! The client side: a session whose queries run on a cluster, checked to answer before a run
//! starts.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use careweave_population::SharedScratch;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;

use crate::codec::CareweaveLogicalCodec;
use crate::node::MAX_MESSAGE_BYTES;
use crate::ClusterError;

/// How long a scheduler has to accept a connection before the run gives up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A scheduler's address from `df://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerAddress {
    pub host: String,
    pub port: u16,
}

impl SchedulerAddress {
    /// Reads `df://HOST:PORT`.
    ///
    /// # Errors
    /// [`ClusterError::Address`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, ClusterError> {
        let bad = |why: &str| ClusterError::Address {
            given: text.to_owned(),
            why: why.to_owned(),
        };
        let rest = text
            .strip_prefix("df://")
            .ok_or_else(|| bad("it must start with df://"))?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad("it must name a port, as in df://scheduler:50050"))?;
        if host.is_empty() {
            return Err(bad("it must name a host, as in df://scheduler:50050"));
        }
        let port = port
            .parse::<u16>()
            .map_err(|_| bad("the port must be a number from 1 to 65535"))?;
        if port == 0 {
            return Err(bad("the port must be a number from 1 to 65535"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    fn url(&self) -> String {
        format!("df://{}:{}", self.host, self.port)
    }
}

/// A session whose queries the scheduler at `address` plans and its executors run, keeping the
/// engine's intermediate tables under `scratch` (a folder every node reads and writes at the same
/// path). The scheduler must accept a connection within [`CONNECT_TIMEOUT`].
///
/// # Errors
/// [`ClusterError::Unreachable`] when the scheduler does not answer in time.
pub async fn connect(
    address: &SchedulerAddress,
    scratch: &Path,
) -> Result<SessionContext, ClusterError> {
    // Ballista connects lazily, at the first query, and then waits on the operating system's
    // connection timeout; asking first turns an address that does not answer into a clear error
    // within seconds.
    let target = format!("{}:{}", address.host, address.port);
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&target)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Err(ClusterError::Unreachable {
                address: address.url(),
                why: e.to_string(),
            })
        }
        Err(_) => {
            return Err(ClusterError::Unreachable {
                address: address.url(),
                why: format!("no answer within {} seconds", CONNECT_TIMEOUT.as_secs()),
            })
        }
    }
    // Ballista 55 plans jobs adaptively by default. On the engine's multi-join plans its adaptive
    // planner cancels stages it cannot cancel ("not implemented") and re-plans without end: a
    // 2,000-person release run was still creating stages (id 176,882) after 85 minutes. The static
    // distributed planner, which Ballista's own scheduler tests pin for the same reason of a
    // predictable layout, plans each job once.
    let config = careweave_population::session_config()
        .upgrade_for_ballista()
        .with_ballista_adaptive_query_planner(false)
        .with_ballista_logical_extension_codec(Arc::new(CareweaveLogicalCodec::default()))
        .with_ballista_grpc_client_max_message_size(MAX_MESSAGE_BYTES as usize)
        .with_extension(Arc::new(SharedScratch::new(scratch)));
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .build()
        .upgrade_for_ballista(format!("http://{}:{}", address.host, address.port))?;
    Ok(SessionContext::new_with_state(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_names_host_and_port() {
        assert_eq!(
            SchedulerAddress::parse("df://scheduler.example:50050").unwrap(),
            SchedulerAddress {
                host: "scheduler.example".into(),
                port: 50050
            }
        );
        for bad in [
            "scheduler:50050",
            "df://scheduler",
            "df://:50050",
            "df://h:0",
            "df://h:x",
        ] {
            assert!(SchedulerAddress::parse(bad).is_err(), "{bad}");
        }
    }
}
