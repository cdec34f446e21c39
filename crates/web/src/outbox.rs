//! The outbox's delivery worker and its transports.
//!
//! The store builds and queues every message in the transaction of the change it reports
//! (`careweave_store::outbox`); this module sends them. Each round claims the due messages,
//! delivers each through its GP practice's transport (chosen by the practice's ODS code in the
//! `[outbox]` settings) and records the result, which moves the message to sent, acknowledged,
//! its next attempt (exponential backoff) or failed. Two transports exist:
//!
//! - **folder**: the letter (`<message id>.txt`) and then the Bundle (`<message id>.json`) are
//!   written to the practice's folder, each to a hidden temporary file that is synced and then
//!   renamed, so a reader of the folder never sees half a file; the Bundle's arrival says both
//!   are complete;
//! - **HTTP**: the Bundle is POSTed as `application/fhir+json` to the practice's FHIR endpoint
//!   (its `$process-message` address). A 2xx answer is a delivery; when the answer is a response
//!   message (a Bundle whose MessageHeader answers this message's id with code `ok`), the message
//!   is acknowledged.
//!
//! MESH, the NHS's own transport, is the next step (see docs/fhir.md); it is not imitated here.
//! Errors recorded on a message name the transport's failure (a status code, a refused
//! connection), never the message's content.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use careweave_store::outbox::{Delivery, DeliveryPolicy, MessageStatus, Outgoing};
use careweave_store::{Store, StoreError};
use serde_json::Value;

use crate::settings::OutboxSettings;

/// How many messages one round claims at most.
const ROUND: i64 = 50;

/// Where a practice's messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Folder(PathBuf),
    Http(String),
}

impl Transport {
    fn describe(&self) -> String {
        match self {
            Self::Folder(dir) => format!("folder {}", dir.display()),
            Self::Http(url) => format!("FHIR endpoint {url}"),
        }
    }
}

/// The configured transports by ODS code, the HTTP client and the retry policy.
#[derive(Debug, Clone)]
pub struct Transports {
    by_ods: HashMap<String, Transport>,
    client: reqwest::Client,
    pub policy: DeliveryPolicy,
    pub poll: Duration,
    /// How long a claimed message is left to this worker: twice the HTTP timeout.
    lease: chrono::TimeDelta,
}

impl Transports {
    /// Reads the `[outbox]` settings; a practice with neither or both transports, or named twice,
    /// stops the service at start rather than losing its messages later.
    pub fn from_settings(s: &OutboxSettings) -> anyhow::Result<Self> {
        let mut by_ods = HashMap::new();
        for p in &s.practices {
            let ods = p.ods.trim().to_uppercase();
            let transport = match (&p.folder, &p.fhir_endpoint) {
                (Some(dir), None) => Transport::Folder(dir.clone()),
                (None, Some(url)) => Transport::Http(url.clone()),
                _ => anyhow::bail!(
                    "outbox practice {ods}: set exactly one of folder and fhir_endpoint"
                ),
            };
            anyhow::ensure!(
                by_ods.insert(ods.clone(), transport).is_none(),
                "outbox practice {ods} is configured twice"
            );
        }
        anyhow::ensure!(
            s.max_attempts >= 1,
            "outbox max_attempts must be at least 1"
        );
        let timeout = s.timeout_seconds.max(1);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout))
            .build()
            .context("the outbox's HTTP client")?;
        Ok(Self {
            by_ods,
            client,
            policy: DeliveryPolicy {
                max_attempts: s.max_attempts,
                backoff_seconds: s.backoff_seconds,
            },
            poll: Duration::from_secs(s.poll_seconds),
            lease: chrono::TimeDelta::seconds(
                i64::try_from(timeout.min(3_600)).unwrap_or(3_600) * 2,
            ),
        })
    }

    /// Delivers one message through its practice's transport.
    pub async fn deliver(&self, m: &Outgoing) -> Delivery {
        let Some(transport) = m
            .practice_ods
            .as_ref()
            .and_then(|ods| self.by_ods.get(&ods.to_uppercase()))
        else {
            return Delivery::Failed {
                error: "No transport is configured for this practice".to_owned(),
            };
        };
        let result = match transport {
            Transport::Folder(dir) => drop_in_folder(dir, m).await,
            Transport::Http(url) => self.post(url, m).await,
        };
        match result {
            Ok(acknowledged) => Delivery::Delivered {
                via: transport.describe(),
                acknowledged,
            },
            Err(error) => Delivery::Failed { error },
        }
    }

    /// POSTs the Bundle; `Ok(true)` when the answer acknowledges this message.
    async fn post(&self, url: &str, m: &Outgoing) -> Result<bool, String> {
        let answer = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, careweave_fhir::MEDIA_TYPE)
            .header(reqwest::header::ACCEPT, careweave_fhir::MEDIA_TYPE)
            .body(m.bundle.clone())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "The endpoint did not answer in time".to_owned()
                } else if e.is_connect() {
                    "Could not connect to the endpoint".to_owned()
                } else {
                    "The request to the endpoint failed".to_owned()
                }
            })?;
        let status = answer.status();
        if !status.is_success() {
            return Err(format!("The endpoint answered HTTP {}", status.as_u16()));
        }
        let body = answer.text().await.unwrap_or_default();
        Ok(acknowledges(&body, &m.message_id))
    }
}

/// Whether `body` is a FHIR response message that accepts message `id`: a Bundle whose first
/// entry is a MessageHeader with `response.identifier` = `id` and `response.code` = `ok`.
#[must_use]
pub fn acknowledges(body: &str, id: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    let header = &v["entry"][0]["resource"];
    v["resourceType"] == "Bundle"
        && header["resourceType"] == "MessageHeader"
        && header["response"]["identifier"] == id
        && header["response"]["code"] == "ok"
}

/// Writes `name` in `dir` atomically: a hidden temporary file, synced, then renamed.
async fn write_atomically(dir: &Path, name: &str, content: &str) -> std::io::Result<()> {
    let temporary = dir.join(format!(".{name}.partial"));
    let mut file = tokio::fs::File::create(&temporary).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, content.as_bytes()).await?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&temporary, dir.join(name)).await
}

async fn drop_in_folder(dir: &Path, m: &Outgoing) -> Result<bool, String> {
    let write = async {
        tokio::fs::create_dir_all(dir).await?;
        write_atomically(dir, &format!("{}.txt", m.message_id), &m.letter).await?;
        write_atomically(dir, &format!("{}.json", m.message_id), &m.bundle).await
    };
    write
        .await
        .map(|()| false)
        .map_err(|e| format!("Could not write to the folder ({})", e.kind()))
}

/// One round: claims the due messages and delivers each, returning how many were delivered.
pub async fn deliver_due(store: &Store, transports: &Transports) -> Result<usize, StoreError> {
    let mut delivered = 0;
    for m in store.claim_due_messages(ROUND, transports.lease).await? {
        let result = transports.deliver(&m).await;
        let status = store
            .record_delivery(&m, &result, &transports.policy)
            .await?;
        match status {
            MessageStatus::Sent | MessageStatus::Acknowledged => delivered += 1,
            MessageStatus::Failed => {
                tracing::warn!(message = m.id, "an outbox message failed its last attempt");
            }
            MessageStatus::Queued => {
                tracing::info!(message = m.id, "an outbox message will be tried again");
            }
        }
    }
    Ok(delivered)
}

/// The worker: a round every `poll` until the task is aborted. A failing round (the database
/// away) is logged and the next one tries again.
pub async fn run(store: Store, transports: Transports) {
    let mut tick = tokio::time::interval(transports.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = deliver_due(&store, &transports).await {
            tracing::warn!(%error, "an outbox round failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_ok_response_for_this_message_acknowledges_it() {
        let answer = |id: &str, code: &str| {
            serde_json::json!({
                "resourceType": "Bundle",
                "type": "message",
                "entry": [{ "resource": {
                    "resourceType": "MessageHeader",
                    "response": { "identifier": id, "code": code },
                }}],
            })
            .to_string()
        };
        assert!(acknowledges(&answer("m-1", "ok"), "m-1"));
        assert!(!acknowledges(&answer("m-2", "ok"), "m-1"));
        assert!(!acknowledges(&answer("m-1", "fatal-error"), "m-1"));
        assert!(!acknowledges("", "m-1"));
    }

    #[test]
    fn a_practice_needs_exactly_one_transport() {
        let practice = |folder: Option<&str>, url: Option<&str>| OutboxSettings {
            practices: vec![crate::settings::PracticeTransport {
                ods: "y00001".into(),
                folder: folder.map(PathBuf::from),
                fhir_endpoint: url.map(str::to_owned),
            }],
            ..OutboxSettings::default()
        };
        assert!(Transports::from_settings(&practice(None, None)).is_err());
        assert!(Transports::from_settings(&practice(Some("/x"), Some("http://x"))).is_err());
        let t = Transports::from_settings(&practice(Some("/x"), None)).unwrap();
        assert_eq!(t.by_ods["Y00001"], Transport::Folder(PathBuf::from("/x")));
    }
}
