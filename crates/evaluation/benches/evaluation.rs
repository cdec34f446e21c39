//! The impact evaluation at neighbourhood-to-place scale (issue 15's target: 909,091 people with
//! about 5,000 supported episodes, 1,000 bootstrap replicates, in at most 60 s and 4 GB on 2 cores).
//!
//! `cargo bench -p careweave-evaluation --bench evaluation` generates the synthetic extract with a
//! planted intervention (not timed; kept in `CAREWEAVE_BENCH_DIR`, default
//! /tmp/careweave-bench-evaluation, and reused), then times one whole evaluation: exposures,
//! panel, matching, difference-in-differences with the bootstrap, and the board pack written to a
//! folder. It prints the wall time per part and the process's peak resident memory.
//!
//! Settings: `CAREWEAVE_BENCH_PEOPLE` (default 909091), `CAREWEAVE_BENCH_REFERRALS` (the planted
//! referral intensity per 100,000 per month; default 31, about 5,000 episodes at 909,091 people),
//! `CAREWEAVE_BENCH_BOOTSTRAP` (default 1000).

use std::path::{Path, PathBuf};
use std::time::Instant;

use careweave_evaluation::{exposures, output, run, Settings};
use careweave_synth::{Intervention, Profile, SynthConfig, WriteOptions};

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let people: i64 = env_or("CAREWEAVE_BENCH_PEOPLE", 909_091);
    let referrals: u32 = env_or("CAREWEAVE_BENCH_REFERRALS", 31);
    let bootstrap: usize = env_or("CAREWEAVE_BENCH_BOOTSTRAP", 1_000);
    let work = PathBuf::from(
        std::env::var("CAREWEAVE_BENCH_DIR")
            .unwrap_or_else(|_| "/tmp/careweave-bench-evaluation".to_owned()),
    );
    let data = work.join(format!("extract-{people}-{referrals}"));
    if !data.join("manifest.json").is_file() {
        eprintln!(
            "generating {people} people into {} (not timed)",
            data.display()
        );
        let plan = Intervention {
            referral_per_100k: referrals,
            ..Intervention::default()
        };
        let config = SynthConfig::new(people, 1, Profile::Mixed)
            .expect("config")
            .with_intervention(plan);
        careweave_synth::write_dataset(
            &config,
            &data,
            &WriteOptions {
                overwrite: true,
                progress: false,
            },
        )
        .expect("synth");
        // The evaluation reads the Parquet tables only; the other copies would fill the disk.
        for copy in ["csv", "fhir"] {
            let _ = std::fs::remove_dir_all(data.join(copy));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let codelists = careweave_population::Codelists::load(&[repo_codelists()]).expect("codelists");
    let started = Instant::now();
    let table = exposures::read_csv(&data.join("exposures.csv")).expect("exposures");
    let settings = Settings {
        bootstrap,
        ..Settings::default()
    };
    let episodes = table.accepted();
    let evaluation = runtime
        .block_on(run(&data, codelists, table, settings))
        .expect("evaluation");
    let analysed = started.elapsed();
    let out = work.join("out");
    let _ = std::fs::remove_dir_all(&out);
    output::write(&evaluation, &out).expect("board pack");
    let total = started.elapsed();
    let peak = careweave_population::peak_rss_kib().map_or_else(
        || "not reported".to_owned(),
        |k| format!("{:.2} GiB", k as f64 / 1_048_576.0),
    );
    println!(
        "machine: {} cores; people {people}; episodes {episodes}; matched {}; bootstrap {bootstrap}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        evaluation.matching.sets.len()
    );
    for (part, took) in &evaluation.timings {
        println!("  {part}: {:.1} s", took.as_secs_f64());
    }
    println!(
        "evaluation {:.1} s, with the board pack {:.1} s; peak resident memory {peak}",
        analysed.as_secs_f64(),
        total.as_secs_f64()
    );
}

fn repo_codelists() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../codelists")
}
