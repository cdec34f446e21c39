//! Bounded fuzzing of the directory's readers of outside files: the ORUK JSON feed, the one-sheet
//! CSV and the compact opening times inside it.
//!
//! Inputs are arbitrary text and, more usefully, real feeds and sheets (from the demo directory)
//! cut short or with bytes changed. Properties: no panic, and the counts reconcile (every record
//! read is either accepted or rejected, and every rejected record has a diagnostic). The test
//! suite runs 2,000 cases per target; `scripts/fuzz` runs more (`CAREWEAVE_FUZZ_CASES`).

use std::sync::OnceLock;

use careweave_directory::demo::{generate, DemoDirectory};
use careweave_directory::oruk::export_feed;
use careweave_directory::schedule::parse_compact;
use careweave_directory::spreadsheet::export_csv;
use careweave_directory::{parse, Format, ImportReport};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("CAREWEAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        // A fixed seed in the test suite, so a run is repeatable; scripts/fuzz picks a new one.
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("CAREWEAVE_FUZZ_SEED")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2026),
        ),
        ..ProptestConfig::default()
    }
}

/// A small real directory, its feed and its sheet, built once for every case.
fn demo() -> &'static (DemoDirectory, String, String) {
    static DEMO: OnceLock<(DemoDirectory, String, String)> = OnceLock::new();
    DEMO.get_or_init(|| {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let demo = generate(7, 6, &careweave_directory::PostcodeTable::new(), today).unwrap();
        let feed = export_feed(&demo.services).unwrap();
        let (sheet, _) = export_csv(&demo.services);
        (demo, feed, sheet)
    })
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

/// Replaces some bytes of `text` and cuts it at `cut`, keeping it valid UTF-8 (the web reads
/// uploads as text, so invalid UTF-8 never reaches the parsers).
fn mutate(text: &str, edits: &[(usize, char)], cut: usize) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(at, c) in edits {
        if !chars.is_empty() {
            let i = at % chars.len();
            chars[i] = c;
        }
    }
    let keep = if chars.is_empty() {
        0
    } else {
        cut % (chars.len() + 1)
    };
    chars.truncate(keep.max(chars.len() / 2));
    chars.into_iter().collect()
}

fn reconciles(report: &ImportReport) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        report.read,
        report.accepted.len() + report.rejected,
        "read = accepted + rejected"
    );
    prop_assert_eq!(report.accepted.len(), report.accepted_at.len());
    if report.rejected > 0 {
        prop_assert!(
            !report.diagnostics.is_empty(),
            "a rejected record has no diagnostic"
        );
    }
    Ok(())
}

fn edits() -> impl Strategy<Value = Vec<(usize, char)>> {
    proptest::collection::vec(
        (
            any::<usize>(),
            prop_oneof![
                Just('"'),
                Just(','),
                Just('{'),
                Just(']'),
                Just('\n'),
                Just('x'),
                Just('9'),
                any::<char>()
            ],
        ),
        0..6,
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_as_json_or_csv_is_reported_not_panicked(text in "\\PC{0,400}") {
        let table = &demo().0.postcodes;
        reconciles(&parse(Format::Json, &text, table, now()))?;
        reconciles(&parse(Format::Csv, &text, table, now()))?;
    }

    #[test]
    fn damaged_feeds_reconcile(edits in edits(), cut in any::<usize>()) {
        let (demo, feed, _) = demo();
        let report = parse(Format::Json, &mutate(feed, &edits, cut), &demo.postcodes, now());
        reconciles(&report)?;
    }

    #[test]
    fn damaged_sheets_reconcile(edits in edits(), cut in any::<usize>()) {
        let (demo, _, sheet) = demo();
        let report = parse(Format::Csv, &mutate(sheet, &edits, cut), &demo.postcodes, now());
        reconciles(&report)?;
    }

    #[test]
    fn opening_times_never_panic(text in prop_oneof!["[A-Z,; 0-9:\\-]{0,40}", "\\PC{0,40}"]) {
        let id = demo().0.services[0].id.clone();
        let _ = parse_compact(&id, &text);
    }
}

/// The undamaged feed and sheet are read back whole: the mutations above start from real input.
#[test]
fn the_seed_inputs_are_accepted_whole() {
    let (demo, feed, sheet) = demo();
    for (format, text) in [(Format::Json, feed), (Format::Csv, sheet)] {
        let report = parse(format, text, &demo.postcodes, now());
        assert_eq!(
            report.accepted.len(),
            demo.services.len(),
            "{format:?}: {:?}",
            report.diagnostics
        );
    }
}
