//! The FHIR round trip: the synthetic generator's FHIR R4 NDJSON output, read as a Bulk Data export,
//! gives the same people, features, scores, segments, cohorts and place profiles as its Parquet
//! tables; and a damaged export is reported line by line with its good lines kept.

use std::path::Path;

use careweave_population::config::InputFormat;
use careweave_population::{Codelists, Engine, RunSettings};
use careweave_synth::{write_dataset, Profile, SynthConfig, WriteOptions};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

fn synth(dir: &Path, people: i64) -> SynthConfig {
    let config = SynthConfig::new(people, 23, Profile::Mixed).expect("config");
    write_dataset(
        &config,
        dir,
        &WriteOptions {
            overwrite: false,
            progress: false,
        },
    )
    .expect("synth");
    config
}

fn engine(config: &SynthConfig, format: InputFormat) -> Engine {
    let mut settings = RunSettings::defaults().expect("defaults");
    settings.config.index_date = config.extract_date();
    settings.config.input_format = format;
    Engine::new(settings, Codelists::load(&[]).expect("codelists")).expect("engine")
}

/// Every row of a query, formatted, in the query's order.
async fn rows(engine: &Engine, sql: &str) -> Vec<String> {
    let batches = engine
        .context()
        .sql(sql)
        .await
        .expect("query")
        .collect()
        .await
        .expect("collect");
    let options = FormatOptions::default();
    let mut out = Vec::new();
    for b in &batches {
        let cols: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("format"))
            .collect();
        for r in 0..b.num_rows() {
            out.push(
                cols.iter()
                    .map(|c| c.value(r).to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            );
        }
    }
    out
}

/// The rows of a query in sorted order, for tables whose order is not defined.
async fn sorted(engine: &Engine, sql: &str) -> Vec<String> {
    let mut out = rows(engine, sql).await;
    out.sort();
    out
}

#[tokio::test]
async fn fhir_ndjson_gives_the_same_results_as_parquet() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("extract");
    let config = synth(&extract, 1_500);

    let parquet = engine(&config, InputFormat::Auto);
    let from_parquet = parquet
        .run(&extract.join("parquet"), &tmp.path().join("a"), &mut |_| {})
        .await
        .expect("parquet run");
    let fhir = engine(&config, InputFormat::Fhir);
    let from_fhir = fhir
        .run(&extract, &tmp.path().join("b"), &mut |_| {})
        .await
        .expect("fhir run");

    assert!(
        from_fhir.failures().is_empty(),
        "{:?}",
        from_fhir.failures()
    );
    assert_eq!(from_parquet.people, from_fhir.people);
    assert_eq!(from_parquet.segments, from_fhir.segments);
    assert_eq!(from_parquet.cohorts, from_fhir.cohorts);
    // Every line of the export was read and placed: nothing refused.
    let fhir_files: Vec<_> = from_fhir
        .tables
        .iter()
        .filter(|t| t.table.starts_with("fhir "))
        .collect();
    assert_eq!(fhir_files.len(), 6, "{fhir_files:?}");
    assert!(fhir_files
        .iter()
        .all(|t| t.rejected == 0 && t.read == t.accepted));

    // The person table, row for row (it is keyed by NHS number; the extract's person ids stay in
    // ingest). The three lists the engine builds with `string_agg` have no defined order (an
    // engine issue noted for the next session), so they are compared as sets of words.
    let person = "SELECT * EXCLUDE (cms_conditions, charlson_categories, hfrs_codes) FROM person ORDER BY nhs_number";
    let (a, b) = (rows(&parquet, person).await, rows(&fhir, person).await);
    assert_eq!(a.len(), b.len());
    assert!(a.len() > 1_000, "{} people", a.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    let lists = "SELECT nhs_number, cms_conditions, charlson_categories, hfrs_codes FROM person ORDER BY nhs_number";
    let words = |rows: Vec<String>| -> Vec<String> {
        rows.into_iter()
            .map(|r| {
                r.split('|')
                    .map(|cell| {
                        let mut w: Vec<&str> = cell.split(' ').collect();
                        w.sort_unstable();
                        w.join(" ")
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    };
    assert_eq!(
        words(rows(&parquet, lists).await),
        words(rows(&fhir, lists).await)
    );
    let places = "SELECT * FROM place_profiles ORDER BY 1, 2, 3, 4";
    assert_eq!(rows(&parquet, places).await, rows(&fhir, places).await);
    // The events themselves, table by table.
    for table in [
        "gp_appointments",
        "ae_attendances",
        "outpatients",
        "community_contacts",
        "mental_health_contacts",
        "medications",
        "clinical_events",
    ] {
        let q = format!("SELECT * FROM {table}");
        assert_eq!(
            sorted(&parquet, &q).await,
            sorted(&fhir, &q).await,
            "{table}"
        );
    }
    let diagnoses = "SELECT nhs_number, date, position, code FROM diagnoses ORDER BY 1, 2, 3, 4";
    assert_eq!(
        rows(&parquet, diagnoses).await,
        rows(&fhir, diagnoses).await
    );
}

#[tokio::test]
async fn a_damaged_export_reports_each_bad_line_and_keeps_the_good_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("extract");
    let config = synth(&extract, 200);
    let encounters = extract.join("fhir").join("Encounter.ndjson");
    let text = std::fs::read_to_string(&encounters).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let total = lines.len();
    lines[2] = "{\"resourceType\":\"Encounter\",".to_owned();
    lines[4] = lines[4].replacen("Patient/p", "Patient/nobody", 1);
    std::fs::write(&encounters, lines.join("\n")).expect("write");

    let engine = engine(&config, InputFormat::Fhir);
    let summary = engine
        .run(&extract, &tmp.path().join("out"), &mut |_| {})
        .await
        .expect("run");
    let file = summary
        .tables
        .iter()
        .find(|t| t.table == "fhir Encounter.ndjson")
        .expect("encounter file counted");
    assert_eq!(file.read, total as u64);
    assert_eq!(file.rejected, 2);
    assert_eq!(file.read, file.accepted + file.rejected);
    let diagnostics =
        std::fs::read_to_string(tmp.path().join("out").join("diagnostics.csv")).expect("diag");
    let refused: Vec<&str> = diagnostics
        .lines()
        .filter(|l| l.contains("Encounter.ndjson") && l.contains("line refused"))
        .collect();
    assert_eq!(refused.len(), 2, "{diagnostics}");
    assert!(refused.iter().any(|l| l.contains(",3,")), "{refused:?}");
    assert!(
        refused.iter().any(|l| l.contains(",5,subject,")),
        "{refused:?}"
    );
}
