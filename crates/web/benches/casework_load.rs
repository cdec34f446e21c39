//! Casework under load: the real application on a temporary database, driven over HTTP by `wrk`
//! with many signed-in workers at once. Prints p50, p95, p99 and max latency and the error counts
//! for the caseload (`/cases`), the waiting list (`/waiting-list`) and the case page
//! (`/cases/{id}`).
//!
//! Run with `cargo bench -p careweave-web --bench casework_load`. It needs the `wrk` load tool
//! (Debian: `apt-get install -y wrk`) and stops with that advice when it is missing. Two backends:
//!
//! - SQLite (the default): 100,000 synthetic people, 20,000 cases and 50 workers, 50 at once.
//!   Target (issue 6, tightened in issue 19): p95 of 70 ms or less for each page, no errors.
//! - PostgreSQL (`CAREWEAVE_LOAD_BACKEND=postgres`): a place-sized store of 500,000 people,
//!   100,000 cases and 250 workers, 200 at once. Target (issue 19): p95 of 150 ms or less for
//!   each page, no errors. The bench starts a throwaway server with
//!   `scripts/postgres-test-server` (Debian's `postgresql` package, as the tests use) and stops it
//!   at the end; `CAREWEAVE_LOAD_POSTGRES_URL` names a database to use instead, which is seeded
//!   when empty and reused as it is when an earlier run seeded it.
//!
//! Each page is driven twice. The saturation pass sends each connection's next request as soon
//! as the last is answered, which measures capacity (requests a second) and the latency of a
//! queue. The users pass makes each connection one signed-in worker who pauses about a second
//! between pages, which is how concurrent users load a server; the targets are read from it.
//!
//! Workers are scaled with the cases so that each has about 80 open cases, the heavy end of real
//! caseloads. The figures are recorded in `docs/benchmarks.md`. Like every benchmark it asserts
//! nothing about time, so a slow machine never fails; it does fail when a request fails, because
//! errors are part of the target.
//!
//! Seeding goes through the same store functions the pages use (referral, triage, allocation,
//! assessment, plan, contacts, review, discharge), so the rows, indexes and audit log are exactly
//! what real work leaves behind; its time is printed apart and is not part of the target.
//! Variables for quicker trial runs: `CAREWEAVE_LOAD_PEOPLE`, `CAREWEAVE_LOAD_CASES`,
//! `CAREWEAVE_LOAD_SECONDS` (per page and pass), `CAREWEAVE_LOAD_CONNECTIONS`,
//! `CAREWEAVE_LOAD_THINK_MS` (the users' mean pause, 1,000 by default), `CAREWEAVE_LOAD_PAGES`
//! (some of `caseload,waiting,case`) and `CAREWEAVE_LOAD_STREAMS` (seeding streams: 4 on SQLite,
//! which has one writer, 8 on PostgreSQL).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::casework::{
    CaseId, ContactType, DischargeDestination, DischargeReason, DomainScore, EligibilityRule,
    GpAgreement, Intensity, NeedDomain, ReferralRoute, ReferralSource, ReviewInterval, RiskFlag,
    ServiceKind, Urgency,
};
use careweave_domain::{
    FundingStream, OrganisationId, OrganisationKind, PersonId, ServiceId, StaffRole, UserId,
};
use careweave_store::accounts::NewUser;
use careweave_store::casework::{
    CaseworkSettings, Discharge, NewAssessment, NewContact, NewReferral, PlanItem, PlanText,
    ReferredPerson, Referrer, TriageDecision,
};
use careweave_store::people::{NewOrganisation, NewPerson, NewStaff};
use careweave_store::{Backend, DatabaseUrl, Store};
use careweave_synth::{Profile, Registry, SynthConfig};
use careweave_web::{Application, Settings};
use chrono::{Duration as Days, NaiveDate};
use secrecy::SecretString;
use sqlx::Row as _;
use support::sign_in;

/// The allocator `careweave serve` runs with (see the binary's `main.rs`), so that the figures
/// are the server's own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use support::PASSWORD;
/// The open cases each worker carries: the heavy end of real caseloads. Workers per employer
/// (caseworkers at the PCN, link workers at the charity) follow from it, so that 20,000 cases give
/// the 50 workers of a place of about 100,000 people and 100,000 cases the 250 of a place of
/// 500,000; each of them signs in.
const OPEN_PER_WORKER: usize = 80;

/// How the cases are split, out of every 1,000: open and allocated, waiting for triage, accepted
/// and waiting for a worker; the rest are discharged. Real caseloads are tens of open cases per
/// worker, so most of a place's 20,000 cases over the years are discharged ones; the open share
/// gives each worker about 80 open cases, the heavy end of real caseloads, and the waiting list
/// about 80 referrals per service.
const OPEN: usize = 200;
const WAITING: usize = 8;
const AWAITING_WORKER: usize = 2;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Workers at each of the two employers for `cases` cases, so that each carries about
/// `OPEN_PER_WORKER` open cases.
fn workers_per_employer(cases: usize) -> usize {
    (cases * OPEN / 1_000).div_ceil(2 * OPEN_PER_WORKER).max(1)
}

/// One worker: their principal and their employer's casework service.
#[derive(Clone)]
struct Worker {
    principal: Principal,
    username: String,
    service: ServiceId,
}

fn main() {
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "casework_load needs the wrk HTTP load tool: install it (Debian: apt-get install -y wrk) \
             and run again"
        );
        std::process::exit(2);
    }
    let backend = match std::env::var("CAREWEAVE_LOAD_BACKEND").as_deref() {
        Err(_) | Ok("" | "sqlite") => Backend::Sqlite,
        Ok("postgres" | "postgresql") => Backend::Postgres,
        Ok(other) => {
            eprintln!("CAREWEAVE_LOAD_BACKEND is sqlite or postgres, not {other:?}");
            std::process::exit(2);
        }
    };
    // SQLite's figures are those of issue 6's place of 100,000 people; PostgreSQL is the backend
    // for a whole place (issue 19), so it gets 500,000 people and four times the users.
    let (people, cases, connections) = match backend {
        Backend::Sqlite => (100_000, 20_000, 50),
        Backend::Postgres => (500_000, 100_000, 200),
    };
    let scale = Scale {
        backend,
        people: setting("CAREWEAVE_LOAD_PEOPLE", people),
        cases: setting("CAREWEAVE_LOAD_CASES", cases),
        seconds: setting("CAREWEAVE_LOAD_SECONDS", 30),
        connections: setting("CAREWEAVE_LOAD_CONNECTIONS", connections),
        think_ms: setting("CAREWEAVE_LOAD_THINK_MS", 1_000),
        // SQLite takes one writer at a time, so more streams only queue; PostgreSQL's writers
        // run side by side, and eight keep both cores busy while each waits on its round trips.
        streams: setting(
            "CAREWEAVE_LOAD_STREAMS",
            if backend == Backend::Sqlite { 4 } else { 8 },
        )
        .max(1),
    };
    // Two worker threads, as `careweave serve` gets on the 2-core machine the target is set for.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(&scale));
}

/// What one run loads and how hard it drives it.
struct Scale {
    backend: Backend,
    people: usize,
    cases: usize,
    seconds: usize,
    connections: usize,
    /// The mean pause, in milliseconds, of each simulated user between pages in the users pass.
    think_ms: usize,
    streams: usize,
}

/// A throwaway PostgreSQL server from `scripts/postgres-test-server`, stopped when dropped so that
/// a failed run does not leave one behind.
struct PostgresServer {
    script: PathBuf,
    dir: tempfile::TempDir,
    /// A URL to the server's `postgres` database, from which the bench creates its own.
    url: String,
}

impl PostgresServer {
    fn start() -> Self {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres-test-server");
        let dir = tempfile::Builder::new()
            .prefix("careweave-load-pg")
            .tempdir()
            .expect("a directory for the PostgreSQL server");
        let out = std::process::Command::new(&script)
            .arg("start")
            .arg(dir.path())
            .output()
            .expect("scripts/postgres-test-server runs");
        assert!(
            out.status.success(),
            "scripts/postgres-test-server could not start a server: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("export CAREWEAVE_TEST_POSTGRES_URL="))
            .expect("the server's URL")
            .to_owned();
        Self { script, dir, url }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.script)
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

/// Creates the database `careweave_load` on the server `server` names and returns its URL.
async fn fresh_postgres_database(server: &str) -> DatabaseUrl {
    let admin = Store::connect(&DatabaseUrl::from_str(server).expect("a postgres:// URL"))
        .await
        .expect("the PostgreSQL server");
    sqlx::query("CREATE DATABASE careweave_load")
        .execute(admin.pool())
        .await
        .expect("a database for the load");
    admin.close().await;
    let base = &server[..server.rfind('/').expect("the URL names a database")];
    DatabaseUrl::from_str(&format!("{base}/careweave_load")).expect("a postgres:// URL")
}

async fn run(scale: &Scale) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("careweave.db");
    // A seeded copy kept between trial runs (CAREWEAVE_LOAD_DB names the file on SQLite,
    // CAREWEAVE_LOAD_POSTGRES_URL the database on PostgreSQL) skips the minutes of seeding; the
    // figures in the docs always come from a fresh seed.
    let kept = std::env::var_os("CAREWEAVE_LOAD_DB")
        .map(PathBuf::from)
        .filter(|_| scale.backend == Backend::Sqlite);
    let mut server = None;
    let url = match scale.backend {
        Backend::Sqlite => {
            if let Some(k) = kept.as_ref().filter(|k| k.exists()) {
                std::fs::copy(k, &path).expect("copy the kept database");
                println!("casework load: reusing the seeded database {}", k.display());
            }
            DatabaseUrl::sqlite_file(&path)
        }
        Backend::Postgres => {
            if let Ok(given) = std::env::var("CAREWEAVE_LOAD_POSTGRES_URL") {
                DatabaseUrl::from_str(&given)
                    .expect("CAREWEAVE_LOAD_POSTGRES_URL is a postgres:// URL")
            } else {
                let started = server.insert(PostgresServer::start());
                fresh_postgres_database(&started.url).await
            }
        }
    };
    let store = Store::connect(&url).await.expect("the database");
    store.migrate().await.expect("migrations");
    let reuse =
        sqlx::query("SELECT COUNT(*) AS n FROM users WHERE username = 'worker0@load.careweave'")
            .fetch_one(store.pool())
            .await
            .expect("the users")
            .get::<i64, _>("n")
            > 0;
    if reuse && scale.backend == Backend::Postgres {
        println!(
            "casework load: reusing the seeded database {}",
            url.redacted()
        );
    }
    let workers = if reuse {
        reload_workers(&store).await
    } else {
        seed(&store, scale).await
    };
    if let (false, Some(k)) = (reuse, &kept) {
        sqlx::query("VACUUM INTO $1")
            .bind(k.to_string_lossy().into_owned())
            .execute(store.pool())
            .await
            .expect("keep the seeded database");
    }
    let (seconds, connections) = (scale.seconds, scale.connections);
    let settings = Settings {
        database_url: url.redacted(),
        host: "127.0.0.1".into(),
        port: 0,
        session_hours: 8,
        // wrk and reqwest speak plain HTTP here, so cookies must not be marked Secure.
        secure_cookies: false,
        instruments_dir: None,
        ..Settings::default()
    };
    let app = Application::build_with_store(settings, store.clone())
        .await
        .expect("the application");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));

    // Each worker signs in over HTTP as a browser would; their cookies and open cases go to wrk.
    let mut sessions = Vec::with_capacity(workers.len());
    for w in &workers {
        let cookie = sign_in(&base, &w.username).await;
        let own: Vec<CaseId> = store
            .my_cases(&w.principal)
            .await
            .expect("the caseload")
            .into_iter()
            .map(|c| c.case)
            .collect();
        assert!(!own.is_empty(), "{} has no open cases", w.username);
        sessions.push((cookie, own));
    }
    let caseload = sessions.iter().map(|(_, c)| c.len()).collect::<Vec<_>>();
    println!(
        "caseloads: {} to {} open cases per worker",
        caseload.iter().min().unwrap_or(&0),
        caseload.iter().max().unwrap_or(&0)
    );

    let mut failed = false;
    // Two passes over the pages. In the first, every connection sends its next request the moment
    // the last one is answered, so the server is saturated and its latency is the queue: with
    // 200 connections, a p95 of 150 ms would need well over 1,300 pages a second. That pass
    // measures capacity. In the second, each connection is one signed-in user who pauses between
    // pages (uniformly 0.5 to 1.5 times `think_ms`, 1 s by default): far quicker than anyone
    // reads a caseload, so 200 such users ask for more than real ones would. That pass is the
    // one the targets are read from.
    for (pass, think_ms) in [("saturation", 0), ("users", scale.think_ms)] {
        if think_ms == 0 {
            println!(
                "\nwrk, {pass}: {connections} connections with no pause between requests, 2 threads, \
                 {seconds} s per page, on {} cores",
                std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
            );
        } else {
            println!(
                "\nwrk, {pass}: {connections} signed-in users, each pausing {} to {} ms between \
                 pages, 2 threads, {seconds} s per page",
                think_ms / 2,
                think_ms * 3 / 2
            );
        }
        failed |= drive(dir.path(), &base, &sessions, connections, seconds, think_ms).await;
    }
    assert!(!failed, "some requests failed: see the table above");
}

/// Drives each page with wrk for `seconds` over `connections` connections, each pausing about
/// `think_ms` between requests (none when 0), and prints a row of figures per page. Returns
/// whether any request failed.
async fn drive(
    dir: &Path,
    base: &str,
    sessions: &[(String, Vec<CaseId>)],
    connections: usize,
    seconds: usize,
    think_ms: usize,
) -> bool {
    println!("| page | requests | req/s | p50 | p95 | p99 | max | non-2xx | socket errors |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut failed = false;
    // CAREWEAVE_LOAD_PAGES (say "waiting" or "caseload,case") narrows a diagnostic run to some
    // pages; the recorded figures always cover all three.
    let only = std::env::var("CAREWEAVE_LOAD_PAGES").ok();
    for (page, label) in [
        ("caseload", "caseload `/cases`"),
        ("waiting", "waiting list `/waiting-list`"),
        ("case", "case page `/cases/{id}`"),
    ]
    .into_iter()
    .filter(|(page, _)| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|p| p == *page))
    }) {
        let script = dir.join(format!("{page}.lua"));
        std::fs::write(&script, wrk_script(page, sessions, think_ms)).expect("the wrk script");
        let out = tokio::process::Command::new("wrk")
            .arg("--threads")
            .arg("2")
            .arg("--connections")
            .arg(connections.to_string())
            .arg("--duration")
            .arg(format!("{seconds}s"))
            .arg("--timeout")
            .arg("10s")
            .arg("--script")
            .arg(&script)
            .arg(base)
            .output()
            .await
            .expect("wrk runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let result = stdout
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .unwrap_or_else(|| {
                panic!(
                    "wrk gave no result for {page}: {stdout}{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        let field = |name: &str| -> f64 {
            result
                .split(' ')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        let ms = |us: f64| us / 1_000.0;
        let socket = field("connect") + field("read") + field("write") + field("timeout");
        println!(
            "| {label} | {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} | {} |",
            field("requests"),
            field("requests") / (field("duration") / 1e6),
            ms(field("p50")),
            ms(field("p95")),
            ms(field("p99")),
            ms(field("max")),
            field("non2xx"),
            socket
        );
        failed |= field("non2xx") != 0.0 || socket != 0.0;
    }
    failed
}

/// Seeds people, the two employers with their workers, and the cases; prints what it made.
async fn seed(store: &Store, scale: &Scale) -> Vec<Worker> {
    let (people, cases) = (scale.people, scale.cases);
    let all = Instant::now();
    let started = Instant::now();
    let config = SynthConfig::new(
        i64::try_from(people).expect("a people count"),
        2026,
        Profile::DeprivedUrban,
    )
    .expect("a synthetic configuration");
    let registry = Arc::new(careweave_synth::generate_registry(&config).expect("the registry"));
    let generated = started.elapsed();
    let started = Instant::now();
    // SQLite's writers would only wait for each other, and a long transaction waiting past the
    // busy timeout fails, so there the people go in one transaction as before.
    let people_streams = match scale.backend {
        Backend::Sqlite => 1,
        Backend::Postgres => scale.streams,
    };
    let (ids, practices) = load_registry(store, &registry, people_streams).await;
    let registered = started.elapsed();
    let started = Instant::now();
    let workers = load_workers(store, workers_per_employer(cases)).await;
    let accounts = started.elapsed();
    let started = Instant::now();
    let counts = load_cases(
        Seed {
            store: store.clone(),
            registry,
            practices,
            workers: workers.clone(),
            today: chrono::Utc::now().date_naive(),
            done: AtomicUsize::new(0),
            started,
        },
        cases,
        scale.streams,
    )
    .await;
    let seeded = started.elapsed();
    if scale.backend == Backend::Postgres {
        // A server that has been running has statistics from autovacuum's analyses; a freshly
        // seeded one may not yet, and plans made without them would measure the seeding, not
        // the pages. SQLite keeps no statistics until asked, and a deployment never asks.
        let started = Instant::now();
        sqlx::query("VACUUM ANALYZE")
            .execute(store.pool())
            .await
            .expect("vacuum and analyse");
        println!(
            "seeding: vacuumed and analysed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "casework load: {} people, {cases} cases ({} open, {} waiting for triage, {} awaiting a \
         worker, {} discharged), {} workers, {:?}",
        ids.len(),
        counts.open,
        counts.waiting,
        counts.awaiting,
        counts.discharged,
        workers.len(),
        scale.backend
    );
    println!(
        "seeding (not part of the target): registry generated in {:.1} s, people stored in {:.1} s, \
         accounts in {:.1} s, cases with their histories in {:.1} s ({} streams); {:.1} s in all",
        generated.as_secs_f64(),
        registered.as_secs_f64(),
        accounts.as_secs_f64(),
        seeded.as_secs_f64(),
        scale.streams,
        all.elapsed().as_secs_f64()
    );

    workers
}

/// The workers of a kept database, found by the usernames `load_workers` gives them.
async fn reload_workers(store: &Store) -> Vec<Worker> {
    let mut workers = Vec::new();
    let kept: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM users WHERE username LIKE 'worker%@load.careweave'")
            .fetch_one(store.pool())
            .await
            .expect("the kept workers")
            .get("n");
    for n in 0..usize::try_from(kept).expect("a count") {
        let username = format!("worker{n}@load.careweave");
        let row = sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(&username)
            .fetch_one(store.pool())
            .await
            .expect("a kept worker");
        let user = UserId::new(row.get::<i64, _>("id"));
        let service = if n % 2 == 0 {
            "Focused Care"
        } else {
            "Social prescribing"
        };
        let row = sqlx::query("SELECT id FROM services WHERE name = $1")
            .bind(service)
            .fetch_one(store.pool())
            .await
            .expect("a kept service");
        workers.push(Worker {
            principal: store.principal(user).await.expect("a principal"),
            username,
            service: ServiceId::new(row.get::<i64, _>("id")),
        });
    }
    workers
}

/// A wrk script: every request picks one of the signed-in workers at random and asks for `page`
/// (for the case page, one of that worker's own open cases), after a pause of about `think_ms`
/// when that is not 0. Responses other than 2xx are counted
/// per thread, because wrk's own error count ignores redirects (an expired session would redirect
/// to the sign-in page).
fn wrk_script(page: &str, sessions: &[(String, Vec<CaseId>)], think_ms: usize) -> String {
    let mut s = String::from("local sessions = {\n");
    for (cookie, cases) in sessions {
        let ids = cases
            .iter()
            .map(|c| c.get().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let _ = writeln!(s, "  {{ cookie = \"{cookie}\", cases = {{ {ids} }} }},");
    }
    let _ = writeln!(s, "}}\nlocal page = \"{page}\"");
    // wrk calls `delay` before each request on a connection and waits that many milliseconds:
    // the user reading the page they were given before asking for the next.
    if think_ms > 0 {
        let _ = writeln!(
            s,
            "function delay()\n  return math.random({}, {})\nend",
            think_ms / 2,
            think_ms * 3 / 2
        );
    }
    s.push_str(
        r#"
local threads = {}
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(id * 7919 + os.time())
  non2xx = 0
end
function request()
  local s = sessions[math.random(#sessions)]
  local path = "/cases"
  if page == "waiting" then
    path = "/waiting-list"
  elseif page == "case" then
    path = "/cases/" .. s.cases[math.random(#s.cases)]
  end
  return wrk.format("GET", path, { ["Cookie"] = s.cookie })
end
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration=%d p50=%d p95=%d p99=%d max=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, bad, e.connect, e.read, e.write, e.timeout))
end
"#,
    );
    s
}

/// Stores the registry's practices, households and people: the people in `streams` transactions
/// side by side, the rest in one transaction per table.
async fn load_registry(
    store: &Store,
    registry: &Registry,
    streams: usize,
) -> (Vec<PersonId>, Vec<OrganisationId>) {
    let mut practices = Vec::with_capacity(registry.practices.len());
    for p in &registry.practices {
        practices.push(
            store
                .insert_organisation(&NewOrganisation {
                    name: p.name.clone(),
                    kind: OrganisationKind::GpPractice,
                    ods_code: Some(p.ods_code.clone()),
                    place: None,
                })
                .await
                .expect("a practice"),
        );
    }
    let households = store
        .insert_households(
            registry
                .households
                .iter()
                .map(|h| (Some(&h.postcode), Some(&h.lsoa))),
        )
        .await
        .expect("households");
    let people: Vec<NewPerson> = registry
        .people
        .iter()
        .map(|p| NewPerson {
            nhs_number: p.nhs_number,
            given_name: p.given_name.to_owned(),
            family_name: p.family_name.to_owned(),
            date_of_birth: p.date_of_birth,
            sex: p.sex,
            postcode: Some(p.postcode.clone()),
            lsoa: Some(p.lsoa.clone()),
            imd_decile: registry
                .lsoas
                .iter()
                .find(|l| l.code == p.lsoa)
                .map(|l| l.imd_decile),
            registered_practice: practices[p.practice],
            household: usize::try_from(p.household.get() - 1)
                .ok()
                .and_then(|i| households.get(i))
                .copied(),
            date_of_death: p.date_of_death,
        })
        .collect();
    let mut batches = Vec::new();
    let mut rest = people;
    let size = rest.len().div_ceil(streams).max(1);
    while !rest.is_empty() {
        let tail = rest.split_off(size.min(rest.len()));
        let store = store.clone();
        batches.push(tokio::spawn(async move {
            store
                .register_people(None, &rest, "casework load benchmark")
                .await
                .expect("people")
        }));
        rest = tail;
    }
    let mut ids = Vec::with_capacity(registry.people.len());
    for batch in batches {
        ids.extend(batch.await.expect("a batch of people"));
    }
    (ids, practices)
}

/// The two employers, their casework services (as in the demo) and `per_employer` workers at each.
async fn load_workers(store: &Store, per_employer: usize) -> Vec<Worker> {
    let org = |name: &str, kind| NewOrganisation {
        name: name.to_owned(),
        kind,
        ods_code: None,
        place: None,
    };
    let pcn = store
        .insert_organisation(&org("Riverside PCN", OrganisationKind::Pcn))
        .await
        .expect("the PCN");
    let charity = store
        .insert_organisation(&org("Riverside Community Trust", OrganisationKind::Vcse))
        .await
        .expect("the charity");
    let focused = store
        .insert_service(
            "Focused Care",
            pcn,
            None,
            "Senior caseworkers in GP practices.",
        )
        .await
        .expect("a service");
    let social = store
        .insert_service("Social prescribing", charity, None, "Link workers.")
        .await
        .expect("a service");
    for (service, kind, rule, days, cap, partners) in [
        (
            focused,
            ServiceKind::FocusedCare,
            EligibilityRule::NeedsInDomains(2),
            92,
            20,
            vec![],
        ),
        (
            social,
            ServiceKind::SocialPrescribing,
            EligibilityRule::Open,
            42,
            40,
            vec![pcn],
        ),
    ] {
        store
            .add_casework_settings(
                service,
                &CaseworkSettings {
                    kind,
                    rule,
                    review_interval: ReviewInterval::days(days).expect("an interval"),
                    worker_cap: Some(cap),
                    practice_cap: None,
                    partners,
                },
            )
            .await
            .expect("casework settings");
    }
    let mut workers = Vec::new();
    for n in 0..2 * per_employer {
        let (employer, service, role, funding, title) = if n % 2 == 0 {
            (
                pcn,
                focused,
                StaffRole::Caseworker,
                FundingStream::Arrs,
                "Caseworker",
            )
        } else {
            (
                charity,
                social,
                StaffRole::LinkWorker,
                FundingStream::Charity,
                "Link Worker",
            )
        };
        let username = format!("worker{n}@load.careweave");
        let name = format!("{title} {n}");
        let user = store
            .create_user(NewUser {
                username: username.clone(),
                display_name: name.clone(),
                password: SecretString::from(PASSWORD.to_owned()),
                memberships: vec![Membership {
                    organisation: employer,
                    role: Role::Worker,
                }],
            })
            .await
            .expect("an account");
        store
            .insert_staff(&NewStaff {
                user: Some(user),
                name,
                role,
                specialism: None,
                employer,
                base_practice: None,
                funding,
            })
            .await
            .expect("a staff record");
        workers.push(Worker {
            principal: store.principal(user).await.expect("a principal"),
            username,
            service,
        });
    }
    workers
}

#[derive(Default)]
struct Counts {
    open: usize,
    waiting: usize,
    awaiting: usize,
    discharged: usize,
}

/// One case to seed: its number, the registry index of its person, its kind (out of 1,000) and
/// its worker.
#[derive(Clone, Copy)]
struct Planned {
    k: usize,
    person: usize,
    kind: usize,
    worker: usize,
}

/// What every seeding stream reads, and the count of cases they have seeded for the progress line.
struct Seed {
    store: Store,
    registry: Arc<Registry>,
    practices: Vec<OrganisationId>,
    workers: Vec<Worker>,
    today: NaiveDate,
    done: AtomicUsize,
    started: Instant,
}

/// Referrals and cases for distinct living adults, spread round the workers: each case goes through
/// referral and triage, and open and discharged cases get a history of assessment, plan, contacts
/// and (for longer ones) a review. `streams` streams run at once: on SQLite so that one stream's
/// reads overlap another's commit (it still takes one writer at a time), on PostgreSQL so that
/// its writers run side by side.
async fn load_cases(seed: Seed, cases: usize, streams: usize) -> Counts {
    let (registry, workers, today) = (&seed.registry, &seed.workers, seed.today);
    let mut adults = (0..registry.people.len()).filter(|&i| {
        let p = &registry.people[i];
        p.date_of_death.is_none() && careweave_domain::dates::age_on(p.date_of_birth, today) >= 18
    });
    let mut counts = Counts::default();
    let mut plan = Vec::with_capacity(cases);
    for k in 0..cases {
        let person = adults.next().expect("enough living adults for the cases");
        let kind = k % 1_000;
        // Each kind of case goes round the workers in turn, so every caseload gets its share.
        let nth = if kind < OPEN {
            &mut counts.open
        } else if kind < OPEN + WAITING {
            &mut counts.waiting
        } else if kind < OPEN + WAITING + AWAITING_WORKER {
            &mut counts.awaiting
        } else {
            &mut counts.discharged
        };
        plan.push(Planned {
            k,
            person,
            kind,
            worker: *nth % workers.len(),
        });
        *nth += 1;
    }
    // Each stream takes every `streams`th case, so that all of them seed each kind of case and
    // each worker at the same pace.
    let seed = Arc::new(seed);
    let mut running = Vec::with_capacity(streams);
    for s in 0..streams {
        let mine: Vec<Planned> = plan.iter().skip(s).step_by(streams).copied().collect();
        let seed = Arc::clone(&seed);
        running.push(tokio::spawn(async move {
            seed_cases(&seed, &mine, cases).await
        }));
    }
    for stream in running {
        stream.await.expect("a seeding stream");
    }
    counts
}

async fn seed_cases(seed: &Seed, plan: &[Planned], cases: usize) {
    let (store, today) = (&seed.store, seed.today);
    for &Planned {
        k,
        person: i,
        kind,
        worker,
    } in plan
    {
        let worker = &seed.workers[worker];
        // A line every tenth of the cases, so that a seeding of many minutes shows its pace.
        let started = seed.done.fetch_add(1, Ordering::Relaxed) + 1;
        if started.is_multiple_of((cases / 10).max(1)) {
            println!(
                "seeding: {started} of {cases} cases begun after {:.0} s",
                seed.started.elapsed().as_secs_f64()
            );
        }
        // Spread the ages of cases deterministically, without a random generator.
        let spread = i64::try_from((k * 7_919) % 1_000).expect("small");
        let p = &seed.registry.people[i];
        let received_on = if kind < OPEN {
            today - Days::days(20 + spread % 300)
        } else if kind < OPEN + WAITING + AWAITING_WORKER {
            today - Days::days(1 + spread % 60)
        } else {
            today - Days::days(200 + spread * 2)
        };
        let referral = NewReferral {
            service: worker.service,
            // Named by their details, as referrers do: the store links each one because the
            // NHS number, date of birth and names all match.
            known_person: None,
            person: ReferredPerson {
                given_name: p.given_name.to_owned(),
                family_name: p.family_name.to_owned(),
                date_of_birth: p.date_of_birth,
                nhs_number: Some(p.nhs_number),
                practice: Some(seed.practices[p.practice]),
                contact: "07700 900 123 (synthetic)".to_owned(),
            },
            source: ReferralSource::Gp,
            route: ReferralRoute::App,
            reason: "Struggling at home since a bereavement; frequent GP visits for low mood"
                .to_owned(),
            needs: "Loneliness, money worries, a damp flat".to_owned(),
            concerns: "Falls at night".to_owned(),
            need_domains: vec![
                NeedDomain::Finances,
                NeedDomain::Housing,
                NeedDomain::MentalHealth,
            ],
            risk_flags: if k % 5 == 0 {
                vec![RiskFlag::LivesAlone]
            } else {
                vec![]
            },
            cohort: None,
            urgency: [Urgency::Routine, Urgency::Soon, Urgency::Urgent][k % 3],
            consent_share_detail: true,
            referrer: Referrer {
                user: None,
                name: "Dr Rae Referrer".to_owned(),
                contact: "Via the practice".to_owned(),
            },
            received_on,
        };
        let created = store.create_referral(&referral).await.expect("a referral");
        if (OPEN..OPEN + WAITING).contains(&kind) {
            continue;
        }
        let awaiting = (OPEN + WAITING..OPEN + WAITING + AWAITING_WORKER).contains(&kind);
        let opened = received_on + Days::days(3);
        let case = store
            .triage(
                &worker.principal,
                created.id,
                &TriageDecision::Accept {
                    lead: (!awaiting).then_some(worker.principal.user),
                    reason: "Needs fit the service and the person wants support".to_owned(),
                    override_reason: None,
                    intensity: Intensity::High,
                    confirm_over_capacity: true,
                },
                opened,
            )
            .await
            .expect("triage")
            .expect("accepting opens a case");
        if awaiting {
            continue;
        }
        if kind < OPEN {
            history(store, &worker.principal, case, opened, today, k).await;
        } else {
            let closed = opened + Days::days(60 + spread % 120);
            history(store, &worker.principal, case, opened, closed, k).await;
            store
                .discharge(
                    &store
                        .open_case(&worker.principal, case, true)
                        .await
                        .expect("open the case for change"),
                    &Discharge {
                        on: closed,
                        reason: DischargeReason::GoalsMet,
                        destination: DischargeDestination::CommunityGroup,
                        gp: GpAgreement::Agreed,
                        summary: "Attends the lunch club weekly and has a plan for the winter."
                            .to_owned(),
                        // The seeded goal stays at 0%, which a "goals met" discharge must confirm.
                        override_reason: Some("Goal met; its progress was not updated".to_owned()),
                    },
                )
                .await
                .expect("a discharge");
        }
    }
}

/// A plausible history: a baseline assessment, the plan with a goal and an action, a contact
/// every four weeks until `until` (at most four), and a review when the case ran past 90 days.
async fn history(
    store: &Store,
    worker: &Principal,
    case: CaseId,
    opened: NaiveDate,
    until: NaiveDate,
    k: usize,
) {
    let scores = ["personal", "mental_health", "social", "finances", "housing"]
        .iter()
        .enumerate()
        .map(|(d, code)| {
            let score = u8::try_from(1 + (d + k) % 4).expect("small");
            (
                (*code).to_owned(),
                DomainScore::new(code, score).expect("a score"),
            )
        })
        .collect();
    store
        .record_assessment(
            &store
                .open_case(worker, case, true)
                .await
                .expect("open the case for change"),
            &NewAssessment {
                on: opened + Days::days(7),
                scores,
                strengths: "Close to a daughter nearby; a keen gardener".to_owned(),
            },
        )
        .await
        .expect("an assessment");
    let plan_on = opened + Days::days(8);
    let v = store
        .save_plan(
            &store
                .open_case(worker, case, true)
                .await
                .expect("open the case for change"),
            0,
            &PlanText {
                what_matters: "Staying in my own home and seeing my grandchildren".to_owned(),
                priorities: vec![
                    "Get the damp fixed".to_owned(),
                    "Sort out the bills".to_owned(),
                ],
                escalation: "If she stops answering the phone for two days, call her daughter."
                    .to_owned(),
            },
            plan_on,
        )
        .await
        .expect("a plan");
    let v = store
        .change_plan(
            &store
                .open_case(worker, case, true)
                .await
                .expect("open the case for change"),
            v,
            &PlanItem::Goal {
                text: "Join the Tuesday lunch club".to_owned(),
                target_on: Some(opened + Days::days(60)),
            },
            plan_on,
        )
        .await
        .expect("a goal");
    store
        .change_plan(
            &store
                .open_case(worker, case, true)
                .await
                .expect("open the case for change"),
            v,
            &PlanItem::Action {
                text: "Ask the landlord to fix the damp".to_owned(),
                owner: "Worker".to_owned(),
                due_on: opened + Days::days(21),
            },
            plan_on,
        )
        .await
        .expect("an action");
    let types = [
        ContactType::HomeVisit,
        ContactType::Phone,
        ContactType::Practice,
    ];
    let mut on = opened + Days::days(10);
    let mut n = 0;
    while on <= until && n < 4 {
        store
            .record_contact(
                &store
                    .open_case(worker, case, true)
                    .await
                    .expect("open the case for change"),
                &NewContact {
                    contact_type: types[(n + k) % types.len()],
                    on,
                    minutes: 30,
                    present: "The person".to_owned(),
                    note: "Talked through the week and the next step of the plan.".to_owned(),
                    sensitive: None,
                },
            )
            .await
            .expect("a contact");
        on += Days::days(28);
        n += 1;
    }
    if until - opened > Days::days(90) {
        store
            .record_review(
                &store
                    .open_case(worker, case, true)
                    .await
                    .expect("open the case for change"),
                opened + Days::days(88),
                Intensity::Low,
                "Going out weekly; moving to low intensity.",
            )
            .await
            .expect("a review");
    }
}
