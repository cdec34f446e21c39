//! `cargo bench -p careweave-population`: the population engine end to end on a synthetic
//! neighbourhood, reporting wall time and peak resident memory (VmHWM) per stage.
//!
//! The number of people comes from `CAREWEAVE_POPULATION_BENCH_PEOPLE` (default 100,000). The
//! extract is generated first with `careweave-synth` (Parquet); the engine then runs in a fresh child
//! process of this same binary, so that the generator's memory does not count in the engine's peak.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use careweave_population::{Codelists, Engine, RunSettings};
use careweave_synth::{write_dataset, Profile, SynthConfig, WriteOptions};

const CHILD_INPUT: &str = "CAREWEAVE_POPULATION_BENCH_CHILD_INPUT";

fn repo_codelists() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../codelists")
}

fn run_engine(input: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut settings = RunSettings::defaults()?;
        settings.config.index_date = SynthConfig::default_extract_date();
        let engine = Engine::new(settings, Codelists::load(&[repo_codelists()])?)?;
        let out = tempfile::tempdir()?;
        let start = Instant::now();
        let summary = engine.run(input, out.path(), &mut |_| {}).await?;
        let total = start.elapsed().as_secs_f64();
        println!("{summary}");
        println!("population: end to end {total:.2} s");
        Ok(())
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Ok(input) = std::env::var(CHILD_INPUT) {
        return run_engine(Path::new(&input));
    }
    let people: i64 = match std::env::var("CAREWEAVE_POPULATION_BENCH_PEOPLE") {
        Ok(v) => v.parse()?,
        Err(_) => 100_000,
    };
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("extract");
    let start = Instant::now();
    let config = SynthConfig::new(people, 1, Profile::Mixed)?;
    let manifest = write_dataset(
        &config,
        &data,
        &WriteOptions {
            overwrite: false,
            progress: false,
        },
    )?;
    let rows: u64 = manifest.table_rows.values().sum();
    println!(
        "synth: {people} people, {rows} rows in {:.1} s (not part of the engine's figures)",
        start.elapsed().as_secs_f64()
    );
    let status = Command::new(std::env::current_exe()?)
        .env(CHILD_INPUT, &data)
        .status()?;
    if !status.success() {
        return Err(format!("the engine run failed: {status}").into());
    }
    Ok(())
}
