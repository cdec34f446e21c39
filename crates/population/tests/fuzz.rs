//! Bounded fuzzing of the population extract's CSV reader: a small synthetic extract written as
//! CSV, one of its files damaged at random (bytes replaced, lines cut, a header renamed), then a
//! whole run. Property: the run either finishes with every table reconciling (read = accepted +
//! rejected) or stops with an error, never a panic. Each case is a full engine run, so the suite
//! runs a handful; `scripts/fuzz` runs more (`CAREWEAVE_FUZZ_CASES`, a hundredth of it here).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use careweave_population::{Codelists, Engine, RunSettings};
use careweave_synth::{write_dataset, Profile, SynthConfig, WriteOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn repo_codelists() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../codelists")
}

/// The undamaged extract, written once: its folder (kept alive), its CSV files and its date.
fn extract() -> &'static (tempfile::TempDir, Vec<PathBuf>, chrono::NaiveDate) {
    static EXTRACT: OnceLock<(tempfile::TempDir, Vec<PathBuf>, chrono::NaiveDate)> =
        OnceLock::new();
    EXTRACT.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let config = SynthConfig::new(60, 3, Profile::Mixed).unwrap();
        write_dataset(
            &config,
            &tmp.path().join("extract"),
            &WriteOptions {
                overwrite: false,
                progress: false,
            },
        )
        .unwrap();
        let csv = tmp.path().join("extract").join("csv");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&csv)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        files.sort();
        (tmp, files, config.extract_date())
    })
}

#[derive(Debug, Clone)]
struct Damage {
    file: proptest::sample::Index,
    edits: Vec<(proptest::sample::Index, u8)>,
    cut: Option<proptest::sample::Index>,
}

fn damage() -> impl Strategy<Value = Damage> {
    (
        any::<proptest::sample::Index>(),
        proptest::collection::vec(
            (
                any::<proptest::sample::Index>(),
                prop_oneof![
                    Just(b','),
                    Just(b'"'),
                    Just(b'\n'),
                    Just(b'X'),
                    Just(b'9'),
                    Just(b'-'),
                    any::<u8>()
                ],
            ),
            1..8,
        ),
        proptest::option::of(any::<proptest::sample::Index>()),
    )
        .prop_map(|(file, edits, cut)| Damage { file, edits, cut })
}

async fn run_damaged(d: &Damage) -> Result<(), TestCaseError> {
    let (_, files, extract_date) = extract();
    let case = tempfile::tempdir().unwrap();
    let input = case.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    for f in files {
        std::fs::copy(f, input.join(f.file_name().unwrap())).unwrap();
    }
    let target = input.join(files[d.file.index(files.len())].file_name().unwrap());
    let mut bytes = std::fs::read(&target).unwrap();
    if !bytes.is_empty() {
        for (at, b) in &d.edits {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        if let Some(cut) = &d.cut {
            bytes.truncate(cut.index(bytes.len()).max(bytes.len() / 2));
        }
    }
    std::fs::write(&target, bytes).unwrap();
    let mut settings = RunSettings::defaults().unwrap();
    settings.config.index_date = *extract_date;
    let engine = Engine::new(settings, Codelists::load(&[repo_codelists()]).unwrap()).unwrap();
    // The damage may make the run stop (a missing required column, unreadable file); what matters
    // is that it reports, and that a finished run's counts reconcile.
    if let Ok(summary) = engine
        .run(&input, &case.path().join("out"), &mut |_| {})
        .await
    {
        for t in &summary.tables {
            prop_assert_eq!(t.read, t.accepted + t.rejected, "{}", t.table);
        }
    }
    Ok(())
}

#[test]
fn a_damaged_csv_extract_is_reported_never_panics() {
    let cases = std::env::var("CAREWEAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(12, |n| (n / 100).max(1));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // A fixed seed in the test suite, so a run is repeatable; scripts/fuzz picks a new one.
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("CAREWEAVE_FUZZ_SEED")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2026),
        ),
        ..Config::default()
    });
    if let Err(e) = runner.run(&damage(), |d| rt.block_on(run_damaged(&d))) {
        panic!("{e}");
    }
}
