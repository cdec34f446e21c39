//! Durability: `careweave serve` is killed with SIGKILL while workers register people through the
//! web form, then started again on the same database. Every registration the server acknowledged
//! (answered with the new record's address) must be there and readable by the worker who made it,
//! no person may be left without a care team (finding 5 of issue 12), and the audit chain must
//! still verify. Runs the real binary on SQLite and on PostgreSQL (CAREWEAVE_TEST_POSTGRES_URL,
//! as the store's tests use), a few seconds each.

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

/// Starts `careweave serve` on a free port and returns it with its address.
async fn serve(url: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_careweave"))
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

    let (mut server, base) = serve(&url).await;
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

    let (mut server, base) = serve(&url).await;
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
