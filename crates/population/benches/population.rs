//! `cargo bench -p careweave-population`: the population engine end to end on a synthetic
//! neighbourhood, reporting wall time and peak resident memory (VmHWM) per stage.
//!
//! The number of people comes from `CAREWEAVE_POPULATION_BENCH_PEOPLE` (default 100,000, capped at
//! `max_people()`, the number of valid NHS numbers in the 999 test range). The extract is generated
//! first with `careweave-synth`; the engine then runs in a fresh child process of this same binary,
//! so that the generator's memory does not count in the engine's peak.
//!
//! `CAREWEAVE_POPULATION_BENCH_EXTRACT` names a folder to keep the extract in: it is generated there
//! when the folder holds no `manifest.json` and reused when it does, so that repeated runs (while
//! profiling, say) do not pay for generation each time. Without it the extract goes to a temporary
//! folder that is removed at the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use careweave_population::{peak_rss_kib, Codelists, Engine, RunSettings, Stage};
use careweave_synth::{max_people, write_dataset, Profile, SynthConfig, WriteOptions};

/// The allocator the `careweave` binary runs the engine with (see its `main.rs`), so that time and
/// peak memory are the binary's own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHILD_INPUT: &str = "CAREWEAVE_POPULATION_BENCH_CHILD_INPUT";

fn repo_codelists() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../../codelists")
}

/// Resets the process's peak resident set (VmHWM) to its current size, so that the next reading is
/// the peak of what ran in between: without it every stage would report the peak of the whole run
/// so far. Linux only (`/proc/self/clear_refs`, value 5); elsewhere the readings stay cumulative,
/// which the report says.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".to_owned(), |k| format!("{} MiB", k / 1024))
}

fn run_engine(input: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let start = Instant::now();
        let per_stage = reset_peak_rss();
        let mut settings = RunSettings::defaults()?;
        settings.config.index_date = SynthConfig::default_extract_date();
        let engine = Engine::new(settings, Codelists::load(&[repo_codelists()])?)?;
        let setup = (start.elapsed(), peak_rss_kib());
        let out = tempfile::tempdir()?;
        // The engine reads VmHWM when each stage ends; resetting it when each stage starts makes
        // that reading the stage's own peak.
        let summary = engine
            .run(input, out.path(), &mut |stage: Stage| {
                eprintln!("population: {}", stage.label());
                reset_peak_rss();
            })
            .await?;
        let total = start.elapsed();
        // What follows the last stage (the counts for the summary) is reported on its own line so
        // that the stages and the rest add up to the end-to-end time.
        let staged: Duration = setup.0 + summary.timings.iter().map(|t| t.wall).sum::<Duration>();
        let rest = (total.saturating_sub(staged), peak_rss_kib());

        println!(
            "{:<24} {:>10} {:>10} {:>10}",
            "table", "read", "accepted", "rejected"
        );
        for t in &summary.tables {
            println!(
                "{:<24} {:>10} {:>10} {:>10}",
                t.table, t.read, t.accepted, t.rejected
            );
        }
        println!(
            "people in the population at the index date: {}",
            summary.people
        );
        for w in &summary.warnings {
            println!("warning: {w}");
        }
        let peak_label = if per_stage {
            "peak RSS in the stage"
        } else {
            "peak RSS so far"
        };
        println!("\n{:<24} {:>10} {:>22}", "stage", "wall", peak_label);
        let row = |name: &str, wall: Duration, kib: Option<u64>| {
            println!("{name:<24} {:>8.2} s {:>22}", wall.as_secs_f64(), mib(kib));
        };
        row("set-up and codelists", setup.0, setup.1);
        for t in &summary.timings {
            row(t.stage.label(), t.wall, t.peak_rss_kib);
        }
        row("summary counts", rest.0, rest.1);
        let peak = summary
            .timings
            .iter()
            .filter_map(|t| t.peak_rss_kib)
            .chain([setup.1, rest.1].into_iter().flatten())
            .max();
        println!(
            "population: end to end {:.2} s, peak RSS {}",
            total.as_secs_f64(),
            mib(peak)
        );
        Ok(())
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; any other argument is ignored.
    if let Ok(input) = std::env::var(CHILD_INPUT) {
        return run_engine(Path::new(&input));
    }
    let requested: i64 = match std::env::var("CAREWEAVE_POPULATION_BENCH_PEOPLE") {
        Ok(v) => v.parse()?,
        Err(_) => 100_000,
    };
    let people = requested.min(i64::from(max_people()));
    if people < requested {
        println!("capping {requested} people at {people}: the 999 NHS test range holds no more valid numbers");
    }
    let tmp = tempfile::tempdir()?;
    let data = match std::env::var_os("CAREWEAVE_POPULATION_BENCH_EXTRACT") {
        Some(dir) => PathBuf::from(dir),
        None => tmp.path().join("extract"),
    };
    if data.join("manifest.json").is_file() {
        println!("synth: reusing the extract in {}", data.display());
    } else {
        let start = Instant::now();
        let config = SynthConfig::new(people, 1, Profile::Mixed)?;
        let manifest = write_dataset(
            &config,
            &data,
            // Never overwrite: a folder that is not empty and holds no extract is someone's data.
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
        // The generator always writes CSV and FHIR as well; the engine reads only the Parquet
        // files, so the rest is removed at once to give the disk back (about 85% of the bytes).
        for other in ["csv", "fhir"] {
            let dir = data.join(other);
            if dir.is_dir() {
                std::fs::remove_dir_all(&dir)?;
            }
        }
    }
    let status = Command::new(std::env::current_exe()?)
        .env(CHILD_INPUT, data.join("parquet"))
        .status()?;
    if !status.success() {
        return Err(format!("the engine run failed: {status}").into());
    }
    Ok(())
}
