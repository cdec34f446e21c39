//! FHIR Patient search by NHS number under load (issue 17): the real application on a temporary
//! SQLite database holding 100,000 synthetic people, 50 API clients at once, each with its own
//! token acting for a worker with 20 people in their care team, each searching
//! `Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|…` for those people in turn. Every
//! search is a real read: the token is checked and audited, the policy asked and the read audited.
//! Prints p50, p95, p99 and max latency and the error count. The target is a p95 of 50 ms or less;
//! like every benchmark it asserts nothing about time, but it fails when a search fails or finds
//! the wrong number of patients. The figures are recorded in `docs/benchmarks.md`.
//!
//! Run with `cargo bench -p careweave-web --bench fhir_search`. Variables for quicker trial runs:
//! `CAREWEAVE_FHIR_PEOPLE`, `CAREWEAVE_FHIR_CLIENTS` and `CAREWEAVE_FHIR_SECONDS`.

use std::time::{Duration, Instant};

use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::{OrganisationKind, UserId};
use careweave_store::accounts::NewUser;
use careweave_store::api_tokens::{ApiScope, NewApiToken};
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::{DatabaseUrl, Store};
use careweave_synth::{Profile, SynthConfig};
use careweave_web::{Application, Settings};
use secrecy::{ExposeSecret, SecretString};

/// The allocator `careweave serve` runs with, so that the figures are the server's own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// People in each client's care team.
const CASELOAD: usize = 20;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let people = setting("CAREWEAVE_FHIR_PEOPLE", 100_000);
    let clients = setting("CAREWEAVE_FHIR_CLIENTS", 50);
    let seconds = setting("CAREWEAVE_FHIR_SECONDS", 20);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(run(people, clients, seconds));
}

async fn run(people: usize, clients: usize, seconds: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = DatabaseUrl::sqlite_file(&dir.path().join("careweave.db"));
    let store = Store::connect(&url).await.expect("the database");
    store.migrate().await.expect("migrations");
    let started = Instant::now();
    let work = seed(&store, people, clients).await;
    println!(
        "fhir search: {people} people, {clients} clients with {CASELOAD} people each, seeded in {:.0} s, SQLite",
        started.elapsed().as_secs_f64()
    );
    let settings = Settings {
        database_url: url.redacted(),
        host: "127.0.0.1".into(),
        port: 0,
        secure_cookies: false,
        ..Settings::default()
    };
    let app = Application::build_with_store(settings, store)
        .await
        .expect("the application");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let until = Instant::now() + Duration::from_secs(seconds as u64);
    let mut tasks = Vec::new();
    for (token, numbers) in work {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            for nhs in numbers.iter().cycle() {
                if Instant::now() >= until {
                    break;
                }
                let sent = Instant::now();
                let r = http
                    .get(format!(
                        "{base}/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}"
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await;
                let found = match r {
                    Ok(r) if r.status().is_success() => r
                        .json::<serde_json::Value>()
                        .await
                        .is_ok_and(|b| b["total"] == 1),
                    _ => false,
                };
                latencies.push(sent.elapsed());
                if !found {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("a client");
        all.extend(l);
        errors += e;
    }
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "fhir search: {} searches in {seconds} s ({:.0}/s), p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {errors} errors",
        all.len(),
        all.len() as f64 / seconds as f64,
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0),
    );
    assert_eq!(errors, 0, "every search finds its one patient");
}

/// Registers the people, one practice per synthetic practice, a PCN with one worker per client
/// (each with `CASELOAD` people in their care team) and one read token per worker. Returns each
/// client's token and the NHS numbers of their people.
async fn seed(store: &Store, people: usize, clients: usize) -> Vec<(String, Vec<String>)> {
    let config =
        SynthConfig::new(people as i64, 2026, Profile::DeprivedUrban).expect("a configuration");
    let registry = careweave_synth::generate_registry(&config).expect("the registry");
    let organisation = |name: String, kind, ods_code| NewOrganisation {
        name,
        kind,
        ods_code,
        place: None,
    };
    let mut practices = Vec::new();
    for p in &registry.practices {
        practices.push(
            store
                .insert_organisation(&organisation(
                    p.name.clone(),
                    OrganisationKind::GpPractice,
                    Some(p.ods_code.clone()),
                ))
                .await
                .expect("a practice"),
        );
    }
    let pcn = store
        .insert_organisation(&organisation(
            "Benchmark PCN".into(),
            OrganisationKind::Pcn,
            None,
        ))
        .await
        .expect("the PCN");
    let records: Vec<NewPerson> = registry
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
            imd_decile: None,
            registered_practice: practices[p.practice],
            household: None,
            date_of_death: p.date_of_death,
        })
        .collect();
    let ids = store
        .register_people(None, &records, "FHIR search benchmark")
        .await
        .expect("people");
    let member = |user: UserId, role| Principal {
        user,
        memberships: vec![Membership {
            organisation: pcn,
            role,
        }],
    };
    let admin = store
        .create_user(NewUser {
            username: "admin@bench".into(),
            display_name: "Admin".into(),
            password: SecretString::from("benchmark passphrase".to_owned()),
            memberships: member(UserId::new(0), Role::Admin).memberships,
        })
        .await
        .expect("the admin");
    let admin = member(admin, Role::Admin);
    let today = chrono::Utc::now().date_naive();
    let mut work = Vec::with_capacity(clients);
    for c in 0..clients {
        let user = store
            .create_user(NewUser {
                username: format!("worker{c}@bench"),
                display_name: format!("Worker {c}"),
                password: SecretString::from("benchmark passphrase".to_owned()),
                memberships: member(UserId::new(0), Role::Worker).memberships,
            })
            .await
            .expect("a worker");
        let mut numbers = Vec::with_capacity(CASELOAD);
        // Spread each caseload over the whole registry, so searches touch the whole index.
        for k in 0..CASELOAD {
            let i = (c * CASELOAD + k) * 7919 % ids.len();
            store
                .add_to_care_team(None, ids[i], user, pcn, today)
                .await
                .expect("care team");
            numbers.push(registry.people[i].nhs_number.as_digits());
        }
        let token = store
            .issue_api_token(
                &admin,
                &NewApiToken {
                    client_name: format!("client {c}"),
                    organisation: pcn,
                    acts_for: user,
                    scope: ApiScope::Read,
                },
            )
            .await
            .expect("a token");
        work.push((token.token.expose_secret().to_owned(), numbers));
    }
    work
}
