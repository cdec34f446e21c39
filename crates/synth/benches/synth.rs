//! `cargo bench -p careweave-synth`: generates a neighbourhood with full history into a temporary
//! directory and prints the wall time and the peak resident memory (VmHWM from /proc/self/status).
//!
//! The number of people comes from `CAREWEAVE_SYNTH_BENCH_PEOPLE` (default 1,000,000, capped at
//! `max_people()`, the number of valid NHS numbers in the 999 test range).

use std::time::Instant;

use careweave_synth::{max_people, write_dataset, Profile, SynthConfig, WriteOptions};

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn dir_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let p = e.path();
            total += if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            };
        }
    }
    total
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; any other argument is ignored.
    let requested: i64 = match std::env::var("CAREWEAVE_SYNTH_BENCH_PEOPLE") {
        Ok(v) => v.parse()?,
        Err(_) => 1_000_000,
    };
    let people = requested.min(i64::from(max_people()));
    if people < requested {
        println!("capping {requested} people at {people}: the 999 NHS test range holds no more valid numbers");
    }
    let config = SynthConfig::new(people, 1, Profile::DeprivedUrban)?;
    let tmp = tempfile::tempdir()?;
    let out = tmp.path().join("synth");
    let start = Instant::now();
    let manifest = write_dataset(
        &config,
        &out,
        &WriteOptions {
            overwrite: false,
            progress: true,
        },
    )?;
    let secs = start.elapsed().as_secs_f64();
    let rows: u64 = manifest.table_rows.values().sum();
    let fhir: u64 = manifest.fhir_resources.values().sum();
    println!("synth: {people} people, {rows} table rows, {fhir} FHIR resources");
    println!(
        "synth: wall time {secs:.1} s ({:.1} s per million people)",
        secs * 1e6 / people as f64
    );
    match peak_rss_mib() {
        Some(mib) => println!("synth: peak RSS {mib:.0} MiB"),
        None => println!("synth: peak RSS unavailable (no /proc/self/status)"),
    }
    println!(
        "synth: output {:.2} GiB",
        dir_size(&out) as f64 / f64::from(1u32 << 30)
    );
    for (table, n) in &manifest.table_rows {
        println!("  {table:24} {n:>12}");
    }
    Ok(())
}
