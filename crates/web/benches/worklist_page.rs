//! A long case-finding worklist over HTTP: the real application on a temporary SQLite database
//! holding 25,000 people on one cohort's worklist (the size of the demo PCN's Core20PLUS5 list that
//! once rendered as 15 MB of HTML), asked for by a signed-in practice worker with each sort order,
//! a filter and a page deep in the list. Prints p50, p95 and max per request kind, and the page's
//! size.
//!
//! Run with `cargo bench -p careweave-web --bench worklist_page`. The target (issue 16) is a page
//! in under 1 s; the figures are recorded in `docs/benchmarks.md`. Like every benchmark it asserts
//! nothing about time; it does fail when a request fails.

use std::time::{Duration, Instant};

use careweave_domain::access::{Membership, Role};
use careweave_domain::{NhsNumber, OrganisationKind};
use careweave_store::accounts::NewUser;
use careweave_store::people::NewOrganisation;
use careweave_store::population::{PopulationLoad, WorklistRow};
use careweave_store::testing::TestDatabase;
use careweave_store::Backend;
use careweave_web::{Application, Settings};
use secrecy::SecretString;

mod support;

use support::{sign_in, PASSWORD};

const ROWS: u32 = 25_000;
const REQUESTS: usize = 40;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest-rank percentile.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The `n`th valid test-range NHS number (999 prefix).
fn nhs(n: u32) -> NhsNumber {
    (n..)
        .find_map(|k| {
            let d: Vec<u8> = format!("{k:06}").bytes().map(|b| b - b'0').collect();
            NhsNumber::from_first_nine([9, 9, 9, d[0], d[1], d[2], d[3], d[4], d[5]])
        })
        .expect("a test number")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let store = db.store.clone();
        let practice = store
            .insert_organisation(&NewOrganisation {
                name: "Riverside Surgery".into(),
                kind: OrganisationKind::GpPractice,
                ods_code: Some("Y00001".parse().expect("an ODS code")),
                place: None,
            })
            .await
            .expect("a practice");
        store
            .create_user(NewUser {
                username: "worker@bench".into(),
                display_name: "Bench Worker".into(),
                password: SecretString::from(PASSWORD.to_owned()),
                memberships: vec![Membership {
                    organisation: practice,
                    role: Role::Worker,
                }],
            })
            .await
            .expect("a worker");
        let mut next = 0;
        let worklist = (0..ROWS)
            .map(|i| {
                let number = nhs(next);
                next = number.as_digits()[3..9].parse::<u32>().expect("digits") + 1;
                WorklistRow {
                    practice: Some("Y00001".into()),
                    segment: Some("Healthy".into()),
                    age: Some(i64::from(18 + i % 80)),
                    efi: Some(f64::from(i % 36) / 36.0),
                    ..WorklistRow::found(
                        "core20plus5",
                        number,
                        if i % 4 == 0 {
                            "core20, plus_carer"
                        } else {
                            "core20"
                        },
                    )
                }
            })
            .collect();
        let seeded = Instant::now();
        store
            .load_population(
                None,
                &PopulationLoad {
                    index_date: chrono::Utc::now().date_naive(),
                    disclosure_control: true,
                    cohorts: vec![("core20plus5".into(), "Core20PLUS5 groups".into())],
                    criteria: vec![],
                    profiles: vec![],
                    worklist,
                },
            )
            .await
            .expect("the worklist");
        println!(
            "worklist page: {ROWS} rows loaded in {:.1} s (not part of the target)",
            seeded.elapsed().as_secs_f64()
        );
        let settings = Settings {
            database_url: db.url.redacted(),
            host: "127.0.0.1".into(),
            port: 0,
            session_hours: 8,
            secure_cookies: false,
            instruments_dir: None,
            ..Settings::default()
        };
        let app = Application::build_with_store(settings, store.clone())
            .await
            .expect("the application");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until(std::future::pending()));
        let cookie = sign_in(&base, "worker@bench").await;
        let client = reqwest::Client::new();
        for (label, query) in [
            ("first page, most criteria", ""),
            ("oldest first", "?sort=age"),
            ("longest since contact", "?sort=last-contact"),
            ("filtered by criterion", "?criterion=plus_carer"),
            ("page 400", "?page=400"),
        ] {
            let mut times = Vec::with_capacity(REQUESTS);
            let mut bytes = 0;
            for _ in 0..REQUESTS {
                let start = Instant::now();
                let r = client
                    .get(format!("{base}/population/worklists/core20plus5{query}"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .expect("a response");
                assert!(r.status().is_success(), "{label}: {}", r.status());
                bytes = r.text().await.expect("a page").len();
                times.push(start.elapsed());
            }
            times.sort();
            println!(
                "worklist page, {label}: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms, {} kB",
                percentile(&times, 50.0).as_secs_f64() * 1000.0,
                percentile(&times, 95.0).as_secs_f64() * 1000.0,
                times.last().expect("times").as_secs_f64() * 1000.0,
                bytes / 1024
            );
        }
    });
}
