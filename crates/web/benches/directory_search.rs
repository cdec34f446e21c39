//! Directory search speed: the real application on a temporary SQLite database holding 10,000
//! services, answering a mix of worker-style ORUK searches over HTTP. Prints p50, p95 and p99.
//!
//! Run with `cargo bench -p careweave-web --bench directory_search`. The target (issue 5) is a p95
//! of 30 ms or less on 2 cores; the figure is recorded in `docs/benchmarks.md`. This is a
//! benchmark, not a test: it asserts nothing about time, so a slow machine never fails the suite.

use std::time::{Duration, Instant};

use careweave_directory::{demo, PostcodeTable};
use careweave_domain::OrganisationKind;
use careweave_store::people::NewOrganisation;
use careweave_store::testing::TestDatabase;
use careweave_store::Backend;
use careweave_web::{Application, Settings};

const SERVICES: usize = 10_000;
const REQUESTS: usize = 2_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest-rank percentile.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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
        let owner = store
            .insert_organisation(&NewOrganisation {
                name: "Riverside Community Trust".into(),
                kind: OrganisationKind::Vcse,
                ods_code: None,
                place: None,
            })
            .await
            .expect("an organisation");
        let today = chrono::Utc::now().date_naive();
        let directory = demo::generate(2026, SERVICES - 1, &PostcodeTable::new(), today)
            .expect("the demo directory");
        store.load_postcodes(&directory.postcodes).await.expect("postcodes");
        store
            .import_directory(None, owner, &directory.services, "benchmark")
            .await
            .expect("import");
        let postcodes: Vec<String> = directory
            .postcodes
            .entries()
            .iter()
            .map(|(p, _)| p.as_str().replace(' ', "+"))
            .collect();

        let settings = Settings {
            database_url: db.url.redacted(),
            host: "127.0.0.1".into(),
            port: 0,
            session_hours: 8,
            secure_cookies: false,
            instruments_dir: None,
            break_glass_hours: 4,
        };
        let app = Application::build_with_store(settings, store.clone())
            .await
            .expect("the application");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until(std::future::pending()));
        let client = reqwest::Client::new();

        let queries = [
            "taxonomy_term_id=befriending",
            "search=lunch+club",
            "taxonomy_term_id=food&postcode={pc}&proximity=3219",
            "postcode={pc}&proximity=1609&day=TU",
            "search=advice&age=70",
            "taxonomy_term_id=mental-health&day=TH&start_time=09:00",
            "postcode={pc}",
            "minimum_age=18&per_page=20&page=3",
        ];
        // The first request builds the in-memory index; it is timed separately.
        let started = Instant::now();
        let r = client.get(format!("{base}/services")).send().await.expect("warm-up");
        assert!(r.status().is_success());
        let cold = started.elapsed();

        let mut times = Vec::with_capacity(REQUESTS);
        for i in 0..REQUESTS {
            let q = queries[i % queries.len()].replace("{pc}", &postcodes[i % postcodes.len()]);
            let started = Instant::now();
            let r = client
                .get(format!("{base}/services?{q}"))
                .send()
                .await
                .expect("a response");
            assert!(r.status().is_success(), "{q}: {}", r.status());
            r.bytes().await.expect("a body");
            times.push(started.elapsed());
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
        println!(
            "directory search, {SERVICES} services, {REQUESTS} requests over HTTP on SQLite ({} cores available)",
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
        );
        println!("first request (builds the index): {:.1} ms", ms(cold));
        println!(
            "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(percentile(&times, 50.0)),
            ms(percentile(&times, 95.0)),
            ms(percentile(&times, 99.0)),
            ms(*times.last().expect("some requests"))
        );
    });
}
