//! Durability: `careweave serve` is killed with SIGKILL while workers register people through the
//! web form, then started again on the same database. Every registration the server acknowledged
//! (answered with the new record's address) must be there and readable by the worker who made it,
//! no person may be left without a care team (finding 5 of issue 12), and the audit chain must
//! still verify. Runs the real binary on SQLite and on PostgreSQL (CAREWEAVE_TEST_POSTGRES_URL,
//! as the store's tests use), a few seconds each.
//!
//! The outbox never loses a message: messages queued while the practice's FHIR endpoint is down
//! (one attempt already failed) are still queued after the server is killed, and the restarted
//! server delivers them once the endpoint answers (issue 17).

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use careweave_store::testing::{test_nhs_number, TestDatabase};
use careweave_store::Backend;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const PASSWORD: &str = "a long enough password";
const WRITERS: u32 = 4;

fn careweave(url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_careweave"));
    cmd.env("CAREWEAVE_DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .env_remove("CAREWEAVE_NEW_PASSWORD");
    cmd
}

#[track_caller]
fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("the binary runs");
    assert!(
        out.status.success(),
        "command failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts `careweave serve` on a free port (with a settings file, when given) and returns it
/// with its address.
async fn serve(url: &str, config: Option<&std::path::Path>) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_careweave"));
    if let Some(file) = config {
        command.arg("--config").arg(file);
    }
    let mut child = command
        .arg("serve")
        .env("CAREWEAVE_DATABASE_URL", url)
        .env("CAREWEAVE_PORT", "0")
        .env("CAREWEAVE_SECURE_COOKIES", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server starts");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::time::timeout(Duration::from_secs(30), async {
        BufReader::new(stdout).lines().next_line().await
    })
    .await
    .expect("the server says where it listens in time")
    .expect("read stdout")
    .expect("a line");
    let base = line
        .strip_prefix("Listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, base)
}

/// The CSRF token of the form on the page at `url`.
async fn form_token(client: &reqwest::Client, url: &str) -> String {
    let html = client.get(url).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a CSRF token on the page") + marker.len();
    let end = html[start..].find('"').expect("end of token") + start;
    html[start..end].to_owned()
}

/// A signed-in worker's client, which does not follow redirects (the new record's address is
/// the acknowledgement), and a CSRF token for its forms.
async fn sign_in(base: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token = form_token(&client, &format!("{base}/sign-in")).await;
    let signed_in = client
        .post(format!("{base}/sign-in"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("next", "/"),
            ("username", "worker@durable.example"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        signed_in.status().is_redirection(),
        "{}",
        signed_in.status()
    );
    let token = form_token(&client, &format!("{base}/people/new")).await;
    (client, token)
}

/// One writer: registers people one after another until the server stops answering. Returns
/// the acknowledged registrations as (record address, family name).
async fn register_until_killed(
    base: String,
    client: reqwest::Client,
    token: String,
    practice: String,
    writer: u32,
    stop: Arc<AtomicBool>,
) -> Vec<(String, String)> {
    let mut acknowledged = Vec::new();
    let mut next = writer * 100_000;
    while !stop.load(Ordering::Relaxed) {
        let number = test_nhs_number(next);
        next = number.as_digits()[3..9].parse::<u32>().unwrap() + 1;
        let family = format!("Durable{}", number.as_digits());
        let sent = client
            .post(format!("{base}/people/new"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("nhs_number", &number.to_string()),
                ("given_name", "Kit"),
                ("family_name", &family),
                ("dob-day", "3"),
                ("dob-month", "4"),
                ("dob-year", "1961"),
                ("sex", "female"),
                ("postcode", "LS1 4AP"),
                ("practice", &practice),
            ])
            .send()
            .await;
        let Ok(response) = sent else { break };
        assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        acknowledged.push((location, family));
    }
    acknowledged
}

async fn killed_mid_stream_loses_nothing(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let url = db.url.as_str().to_owned();
    let added = run_ok(careweave(&url).args([
        "organisation",
        "add",
        "--name",
        "Durable Surgery",
        "--kind",
        "gp_practice",
        "--ods-code",
        "Y09999",
    ]));
    let practice = added
        .split_whitespace()
        .find_map(|w| {
            w.trim_matches(|c: char| !c.is_ascii_digit())
                .parse::<i64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("an organisation id in {added:?}"))
        .to_string();
    run_ok(
        careweave(&url)
            .args([
                "user",
                "add",
                "--username",
                "worker@durable.example",
                "--name",
                "Durable Worker",
                "--organisation",
                "Durable Surgery",
                "--role",
                "worker",
            ])
            .env("CAREWEAVE_NEW_PASSWORD", PASSWORD),
    );

    let (mut server, base) = serve(&url, None).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = tokio::task::JoinSet::new();
    for writer in 1..=WRITERS {
        let (client, token) = sign_in(&base).await;
        writers.spawn(register_until_killed(
            base.clone(),
            client,
            token,
            practice.clone(),
            writer,
            stop.clone(),
        ));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // SIGKILL, with requests in flight: no shutdown, no flushing.
    server.start_kill().expect("kill the server");
    server.wait().await.expect("the server is gone");
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    while let Some(done) = writers.join_next().await {
        acknowledged.extend(done.expect("the writer ran"));
    }
    eprintln!(
        "{backend:?}: {} registrations acknowledged before the kill",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= 4,
        "too few writes before the kill to prove anything: {}",
        acknowledged.len()
    );

    let (mut server, base) = serve(&url, None).await;
    let (client, _) = sign_in(&base).await;
    for (location, family) in &acknowledged {
        let page = client
            .get(format!("{base}{location}"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), reqwest::StatusCode::OK, "{location}");
        // The record's heading shows the family name in capitals, as NHS services do.
        let body = page.text().await.unwrap();
        assert!(body.contains(&family.to_uppercase()), "{location}");
    }
    server.start_kill().expect("stop the server");
    server.wait().await.expect("the server is gone");

    // Registered but not acknowledged (in flight at the kill) is fine; registered without a
    // care team, so that nobody may read the person, is not.
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM people p \
         WHERE NOT EXISTS (SELECT 1 FROM care_team c WHERE c.person_id = p.id)",
    )
    .fetch_one(db.store.pool())
    .await
    .unwrap();
    assert_eq!(orphans, 0);
    let verified = run_ok(careweave(&url).args(["audit", "verify"]));
    assert!(verified.contains("The audit chain holds"), "{verified}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_server_killed_mid_stream_loses_no_acknowledged_write() {
    killed_mid_stream_loses_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_server_killed_mid_stream_loses_no_acknowledged_write() {
    killed_mid_stream_loses_nothing(Backend::Postgres).await;
}

/// A FHIR endpoint on `listener` that answers every request 200 and sends each body it received
/// to `bodies`: a few lines of HTTP/1.1, enough for the outbox's one POST per connection.
async fn endpoint(
    listener: tokio::net::TcpListener,
    bodies: tokio::sync::mpsc::UnboundedSender<String>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let bodies = bodies.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut buffer = [0_u8; 8192];
            let (head_end, length) = loop {
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                seen.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&seen);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    break (end + 4, length);
                }
            };
            while seen.len() < head_end + length {
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                seen.extend_from_slice(&buffer[..n]);
            }
            let _ = bodies.send(String::from_utf8_lossy(&seen[head_end..]).into_owned());
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        });
    }
}

/// (message id, status, attempts) of every outbox message, oldest first.
async fn outbox(store: &careweave_store::Store) -> Vec<(String, String, i64)> {
    sqlx::query_as("SELECT message_id, status, attempts FROM outbox_messages ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

/// Waits up to 30 seconds for `done` to hold of the outbox.
async fn wait_for(store: &careweave_store::Store, done: impl Fn(&[(String, String, i64)]) -> bool) {
    for _ in 0..300 {
        if done(&outbox(store).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the outbox did not get there in time: {:?}",
        outbox(store).await
    );
}

async fn a_queued_message_survives_a_kill(backend: Backend) {
    use careweave_domain::casework::{DischargeDestination, DischargeReason, GpAgreement};
    let db = TestDatabase::new(backend).await;
    let url = db.url.as_str().to_owned();
    // Accepting Ada's referral queued the first message to her practice.
    let w = careweave_store::testing::cross_employer_case(&db.store, PASSWORD).await;
    sqlx::query("UPDATE organisations SET ods_code = 'Y00001' WHERE id = $1")
        .bind(w.practice.get())
        .execute(db.store.pool())
        .await
        .unwrap();
    // The practice's endpoint is an address nothing listens on yet: it is down.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let settings = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        settings.path(),
        format!(
            "[outbox]\npoll_seconds = 1\nbackoff_seconds = 1\nmax_attempts = 100\ntimeout_seconds = 2\n\n\
             [[outbox.practices]]\nods = \"Y00001\"\n\
             fhir_endpoint = \"http://{address}/fhir/$process-message\"\n"
        ),
    )
    .unwrap();
    let (mut server, _) = serve(&url, Some(settings.path())).await;
    wait_for(&db.store, |m| m.len() == 1 && m[0].2 >= 1).await;
    // Discharging queues the second while the server runs and the endpoint is still down.
    db.store
        .discharge(
            &db.store.open_case(&w.lead, w.case, true).await.unwrap(),
            &careweave_store::casework::Discharge {
                on: db.store.clock().today(),
                reason: DischargeReason::GoalsMet,
                destination: DischargeDestination::GpCare,
                gp: GpAgreement::Agreed,
                summary: String::new(),
                // Any discharge warning is confirmed: this test is about the message, not them.
                override_reason: Some("Confirmed with the person".to_owned()),
            },
        )
        .await
        .unwrap();
    server.start_kill().expect("kill the server");
    server.wait().await.expect("the server is gone");
    let held = outbox(&db.store).await;
    assert_eq!(held.len(), 2);
    assert!(
        held.iter().all(|(_, status, _)| status == "queued"),
        "{held:?}"
    );

    let (sender, mut bodies) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    let answering = tokio::spawn(endpoint(listener, sender));
    let (mut server, _) = serve(&url, Some(settings.path())).await;
    wait_for(&db.store, |m| {
        m.iter().all(|(_, status, _)| status == "sent")
    })
    .await;
    server.start_kill().expect("stop the server");
    server.wait().await.expect("the server is gone");
    answering.abort();
    let mut delivered = Vec::new();
    while let Ok(body) = bodies.try_recv() {
        let bundle: serde_json::Value = serde_json::from_str(&body).unwrap();
        delivered.push(bundle["id"].as_str().unwrap().to_owned());
    }
    let mut queued: Vec<String> = held.into_iter().map(|(id, _, _)| id).collect();
    queued.sort();
    delivered.sort();
    assert_eq!(delivered, queued, "each message delivered once, as queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_a_queued_message_survives_a_kill() {
    a_queued_message_survives_a_kill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_queued_message_survives_a_kill() {
    a_queued_message_survives_a_kill(Backend::Postgres).await;
}
