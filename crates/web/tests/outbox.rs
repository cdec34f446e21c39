//! The outbox over HTTP and its transports, on SQLite and PostgreSQL: a discharge made on the
//! case page is delivered to the practice's folder (written atomically) and to a FHIR endpoint
//! this test starts; the case page shows what was sent, when, to whom and its status, and the
//! letter page shows the stored letter even after the record changes; a failing endpoint is
//! retried with exponential backoff on the store's clock and shown as not delivered after the
//! last attempt; an endpoint's acknowledgement marks the message received.
//!
//! When `CAREWEAVE_FHIR_OUT` names a folder, every Bundle delivered here is written to its `api`
//! subfolder for the independent validator that `scripts/test` runs (`scripts/validate-fhir`).

#[macro_use]
mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode as AxumStatus;
use careweave_domain::clock::Clock;
use careweave_store::testing::{cross_employer_case, CrossEmployerCase, TestDatabase};
use careweave_store::{Backend, Store};
use careweave_web::outbox::{deliver_due, Transports};
use careweave_web::settings::{OutboxSettings, PracticeTransport};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{Server, PASSWORD};

const ODS: &str = "Y00001";

/// A FHIR endpoint that answers with a chosen status, keeps what it received and, when asked,
/// answers a delivery with an acknowledgement naming the message.
#[derive(Clone, Default)]
struct Endpoint {
    status: Arc<AtomicU16>,
    acknowledge: Arc<std::sync::atomic::AtomicBool>,
    received: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Endpoint {
    async fn start() -> (Self, String) {
        let endpoint = Self::default();
        endpoint.status.store(200, Ordering::SeqCst);
        let state = endpoint.clone();
        let app = axum::Router::new().route(
            "/fhir/$process-message",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: String| async move {
                    let bundle: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    let kind = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let id = bundle["id"].as_str().unwrap_or_default().to_owned();
                    state.received.lock().unwrap().push((kind, bundle));
                    let status = AxumStatus::from_u16(state.status.load(Ordering::SeqCst)).unwrap();
                    let answer = if state.acknowledge.load(Ordering::SeqCst) {
                        json!({
                            "resourceType": "Bundle",
                            "type": "message",
                            "entry": [{ "resource": {
                                "resourceType": "MessageHeader",
                                "response": { "identifier": id, "code": "ok" },
                            }}],
                        })
                        .to_string()
                    } else {
                        String::new()
                    };
                    (status, answer)
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/fhir/$process-message",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (endpoint, url)
    }

    fn bundles(&self) -> Vec<(String, Value)> {
        self.received.lock().unwrap().clone()
    }
}

/// The cross-employer case (Ada, accepted by the charity's lead, which queued the first
/// message) served with the delivery worker off, so each test delivers on its own clock; the
/// practice has ODS code Y00001.
struct TestApp {
    server: Server,
    store: Store,
    w: CrossEmployerCase,
    folder: tempfile::TempDir,
    endpoint: Endpoint,
    endpoint_url: String,
    _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

impl TestApp {
    async fn spawn(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        let w = cross_employer_case(&db.store, PASSWORD).await;
        sqlx::query("UPDATE organisations SET ods_code = $1 WHERE id = $2")
            .bind(ODS)
            .bind(w.practice.get())
            .execute(db.store.pool())
            .await
            .unwrap();
        let server = Server::start_with(&db, db.store.clone(), |s| s.outbox.poll_seconds = 0).await;
        let (endpoint, endpoint_url) = Endpoint::start().await;
        Self {
            server,
            store: db.store.clone(),
            w,
            folder: tempfile::tempdir().unwrap(),
            endpoint,
            endpoint_url,
            _db: db,
        }
    }

    fn transports(&self, folder: bool, max_attempts: u32) -> Transports {
        Transports::from_settings(&OutboxSettings {
            poll_seconds: 0,
            max_attempts,
            backoff_seconds: 60,
            timeout_seconds: 5,
            practices: vec![PracticeTransport {
                ods: ODS.into(),
                folder: folder.then(|| self.folder.path().to_owned()),
                fhir_endpoint: (!folder).then(|| self.endpoint_url.clone()),
            }],
        })
        .unwrap()
    }

    /// The store reading its clock `seconds` after `start`.
    fn at(&self, start: DateTime<Utc>, seconds: i64) -> Store {
        self.store.clone().with_clock(Clock::fixed(
            start + Duration::seconds(seconds),
            self.store.clock().zone(),
        ))
    }

    fn case(&self) -> String {
        format!("/cases/{}", self.w.case)
    }

    async fn discharge(&self) {
        let lead = self.sign_in("lead").await;
        let today = self.store.clock().today().to_string();
        let (status, _, body) = self
            .post(
                &lead,
                &self.case(),
                &format!("{}/discharge", self.case()),
                &[
                    ("discharge_reason", "goals_met"),
                    ("destination", "community_group"),
                    ("gp_agreement", "agreed"),
                    ("discharged", &today),
                    ("outcomes", "Goes to the lunch club on Tuesdays"),
                    // Confirms any discharge warning: these tests are about the message.
                    ("discharge_override", "Confirmed with the person"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    }
}

/// Writes a delivered Bundle for the validator, when asked to (unique names across threads and
/// the two backends' processes).
fn keep(bundle: &Value) {
    static WRITTEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let Ok(dir) = std::env::var("CAREWEAVE_FHIR_OUT") else {
        return;
    };
    let dir = PathBuf::from(dir).join("api");
    std::fs::create_dir_all(&dir).unwrap();
    let n = WRITTEN.fetch_add(1, Ordering::Relaxed);
    std::fs::write(
        dir.join(format!("Bundle-message-{}-{n}.json", std::process::id())),
        bundle.to_string(),
    )
    .unwrap();
}

on_both_backends!(a_discharge_is_dropped_in_the_practice_folder, |app| {
    app.discharge().await;
    let start = Utc::now() + Duration::seconds(1);
    let delivered = deliver_due(&app.at(start, 0), &app.transports(true, 3))
        .await
        .unwrap();
    assert_eq!(delivered, 2, "the acceptance and the discharge");
    let mut names: Vec<String> = std::fs::read_dir(app.folder.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        4,
        "a letter and a Bundle each, no partial file: {names:?}"
    );
    let mut discharge_letter = String::new();
    for name in names.iter().filter(|n| n.ends_with(".json")) {
        let bundle: Value =
            serde_json::from_str(&std::fs::read_to_string(app.folder.path().join(name)).unwrap())
                .unwrap();
        assert_eq!(format!("{}.json", bundle["id"].as_str().unwrap()), *name);
        assert_eq!(bundle["type"], "message");
        let header = &bundle["entry"][0]["resource"];
        assert_eq!(header["resourceType"], "MessageHeader");
        keep(&bundle);
        let letter =
            std::fs::read_to_string(app.folder.path().join(name.replace(".json", ".txt"))).unwrap();
        // The acceptance was written before the practice's ODS code was recorded, and is sent
        // as it was written; the discharge names the code.
        if header["eventCoding"]["code"] == "discharge" {
            assert_eq!(
                header["destination"][0]["endpoint"],
                "https://directory.spineservices.nhs.uk/ORD/2-0-0/organisations/Y00001"
            );
            discharge_letter = letter;
        }
    }
    assert!(discharge_letter.contains("Riverside Surgery (ODS code Y00001)"));
    assert!(discharge_letter.contains("Goes to the lunch club on Tuesdays"));

    // The case page lists both messages as sent, to the practice, with when.
    let lead = app.sign_in("lead").await;
    let (status, page) = app.get(&lead, &app.case()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Messages to the GP practice"), "{page}");
    assert!(page.contains("Discharge summary") && page.contains("Referral accepted"));
    assert_eq!(
        page.matches("data-testid=\"message-status\">Sent").count(),
        2
    );
    assert!(page.contains("Riverside Surgery (Y00001)"));
    // The letter shows what was stored, not the record as it is now.
    sqlx::query("UPDATE people SET given_name = 'Adeline'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, letter) = app.get(&lead, &format!("{}/gp-message", app.case())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(letter.contains("Name: Ada Example"), "{letter}");
    assert!(!letter.contains("Adeline"));
    assert!(letter.contains("Sent through"));
    assert!(letter.contains("Goes to the lunch club on Tuesdays"));
    // The Bundle downloads exactly as it was written to the folder.
    let id = letter
        .split("/messages/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_owned();
    let r = lead
        .get(format!(
            "{}{}/messages/{id}/bundle.json",
            app.base,
            app.case()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bundle: Value = r.json().await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(
            &std::fs::read_to_string(
                app.folder
                    .path()
                    .join(format!("{}.json", bundle["id"].as_str().unwrap()))
            )
            .unwrap()
        )
        .unwrap(),
        bundle
    );
});

on_both_backends!(
    a_failing_endpoint_is_retried_then_shown_not_delivered,
    |app| {
        app.endpoint.status.store(503, Ordering::SeqCst);
        let transports = app.transports(false, 3);
        let start = Utc::now() + Duration::seconds(1);
        assert_eq!(
            deliver_due(&app.at(start, 0), &transports).await.unwrap(),
            0
        );
        let lead = app.sign_in("lead").await;
        let (_, page) = app.get(&lead, &app.case()).await;
        assert!(page.contains("Waiting to send"), "{page}");
        assert!(
            page.contains("Tried 1 time (The endpoint answered HTTP 503)"),
            "{page}"
        );
        // Not again before the backoff, then twice as long before the third and last attempt.
        deliver_due(&app.at(start, 59), &transports).await.unwrap();
        assert_eq!(app.endpoint.bundles().len(), 1);
        deliver_due(&app.at(start, 60), &transports).await.unwrap();
        assert_eq!(app.endpoint.bundles().len(), 2);
        deliver_due(&app.at(start, 179), &transports).await.unwrap();
        assert_eq!(app.endpoint.bundles().len(), 2);
        deliver_due(&app.at(start, 180), &transports).await.unwrap();
        assert_eq!(app.endpoint.bundles().len(), 3);
        deliver_due(&app.at(start, 100_000), &transports)
            .await
            .unwrap();
        assert_eq!(app.endpoint.bundles().len(), 3, "no attempt after the last");
        let (_, page) = app.get(&lead, &app.case()).await;
        assert!(
            page.contains("data-testid=\"message-status\">Not delivered"),
            "{page}"
        );
        assert!(page.contains("Tried 3 times"), "{page}");
        // Every attempt sent the same stored Bundle, as FHIR JSON.
        let received = app.endpoint.bundles();
        assert!(received
            .iter()
            .all(|(kind, _)| kind == "application/fhir+json"));
        assert!(received.iter().all(|(_, b)| *b == received[0].1));

        // The endpoint recovers and acknowledges: the discharge's message is received.
        app.endpoint.status.store(200, Ordering::SeqCst);
        app.endpoint.acknowledge.store(true, Ordering::SeqCst);
        app.discharge().await;
        assert_eq!(
            deliver_due(&app.at(start, 200_000), &transports)
                .await
                .unwrap(),
            1
        );
        let (_, page) = app.get(&lead, &app.case()).await;
        assert!(
            page.contains("data-testid=\"message-status\">Received by the practice"),
            "{page}"
        );
        for (_, bundle) in app.endpoint.bundles() {
            keep(&bundle);
        }
    }
);
