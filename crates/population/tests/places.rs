//! A multi-place synthetic extract (partitioned Parquet, synthetic unissuable identifiers): the
//! engine reads each table's folder as one table and accepts the identifiers only when the
//! manifest flags them.

use std::path::{Path, PathBuf};

use careweave_population::config::InputFormat;
use careweave_population::ingest::{self, IngestReport, TableSummary};
use careweave_population::synthetic_ids::WARNING;
use careweave_population::{Codelists, Engine, RunSettings};
use careweave_synth::{
    write_dataset, write_places, PlacesConfig, Profile, SynthConfig, WriteOptions,
};
use datafusion::arrow::array::AsArray;

fn repo_codelists() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../codelists")
}

fn engine(index_date: chrono::NaiveDate) -> Engine {
    let mut settings = RunSettings::defaults().expect("defaults");
    settings.config.index_date = index_date;
    Engine::new(
        settings,
        Codelists::load(&[repo_codelists()]).expect("codelists"),
    )
    .expect("engine")
}

async fn ingest_only(input: &Path, index_date: chrono::NaiveDate) -> IngestReport {
    let engine = engine(index_date);
    ingest::ingest(engine.context(), input, index_date, InputFormat::Auto)
        .await
        .expect("ingest")
}

fn problems(report: &IngestReport) -> Vec<String> {
    let mut out = Vec::new();
    for b in &report.diagnostics {
        let c = b.column_by_name("problem").expect("problem column");
        let c = datafusion::arrow::compute::cast(c, &datafusion::arrow::datatypes::DataType::Utf8)
            .expect("text");
        out.extend(c.as_string::<i32>().iter().flatten().map(str::to_owned));
    }
    out
}

fn persons_of(tables: &[TableSummary]) -> &TableSummary {
    tables
        .iter()
        .find(|t| t.table == "persons")
        .expect("persons")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read") {
        let p = e.expect("entry").path();
        let target = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

#[tokio::test]
async fn a_flagged_multi_place_extract_runs_and_the_same_files_unflagged_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("ics");
    let config = PlacesConfig::new(1_200, 4, Profile::Mixed)
        .expect("config")
        .with_place_size(400)
        .expect("place size");
    let manifest = write_places(&config, &extract, &WriteOptions::default()).expect("synth");
    assert_eq!(manifest.places.len(), 3);

    // Flagged: every row of every table accepted, every stage runs, and the summary warns.
    let out = tmp.path().join("out");
    let summary = engine(config.extract_date())
        .run(&extract, &out, &mut |_| {})
        .await
        .expect("run");
    for t in &summary.tables {
        assert_eq!(
            t.rejected, 0,
            "{}: the generator writes only valid rows",
            t.table
        );
        if let Some(rows) = manifest.table_rows.get(&t.table) {
            assert_eq!(t.read, *rows, "{}", t.table);
        }
    }
    let persons = persons_of(&summary.tables);
    assert_eq!(persons.accepted, 1_200);
    assert!(summary.people > 1_000, "{} people", summary.people);
    assert_eq!(summary.warnings, [WARNING.to_owned()]);
    assert!(summary.to_string().contains("SYNTHETIC"));
    assert!(summary.failures().is_empty(), "{:?}", summary.failures());

    // The same files without the manifest: the identifiers are not NHS numbers, so every person is
    // rejected as one.
    let bare = tmp.path().join("bare");
    copy_dir(&extract.join("parquet"), &bare.join("parquet"));
    let report = ingest_only(&bare, config.extract_date()).await;
    let persons = persons_of(&report.tables);
    assert_eq!((persons.read, persons.rejected), (1_200, 1_200));
    assert!(report.warnings.iter().all(|w| w != WARNING));
    assert!(problems(&report)
        .iter()
        .any(|p| p.starts_with("not a valid NHS number")));

    // A manifest that does not flag the scheme is no better.
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(extract.join("manifest.json")).expect("manifest"))
            .expect("json");
    json["identifiers"] = "nhs-number".into();
    std::fs::write(bare.join("manifest.json"), json.to_string()).expect("write");
    let report = ingest_only(&bare, config.extract_date()).await;
    let persons = persons_of(&report.tables);
    assert_eq!(persons.rejected, 1_200);
}

#[tokio::test]
async fn a_flag_on_an_extract_of_nhs_numbers_rejects_them() {
    // The flag cannot carry real people through: in a flagged extract, valid NHS numbers (here from
    // the test range) are not of the scheme and are rejected.
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("one");
    let config = SynthConfig::new(100, 2, Profile::Mixed).expect("config");
    write_dataset(&config, &extract, &WriteOptions::default()).expect("synth");
    let path = extract.join("manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("json");
    json["identifiers"] = careweave_synth::UNISSUABLE_SCHEME.into();
    std::fs::write(&path, json.to_string()).expect("write");
    let report = ingest_only(&extract, config.extract_date()).await;
    let persons = persons_of(&report.tables);
    assert_eq!((persons.read, persons.rejected), (100, 100));
    assert!(report.warnings.iter().any(|w| w == WARNING));
    assert!(problems(&report)
        .iter()
        .any(|p| p.contains("synthetic unissuable scheme")));
}

#[test]
fn the_engine_and_the_generator_agree_on_the_scheme() {
    // Each crate has its own copy of the rule (neither depends on the other); they must agree.
    let mut texts: Vec<String> = (0..200_000u64)
        .map(|k| format!("{:010}", k * 49_999 % 10_000_000_000))
        .collect();
    texts.extend(
        [
            "1000000010",
            "9434765919",
            "0000000060",
            "000000006",
            "x000000060",
        ]
        .map(str::to_owned),
    );
    for t in &texts {
        assert_eq!(
            careweave_population::udf::is_unissuable_identifier(t),
            careweave_synth::is_unissuable_identifier(t),
            "{t}"
        );
    }
    assert!(texts
        .iter()
        .any(|t| careweave_synth::is_unissuable_identifier(t)));
}
