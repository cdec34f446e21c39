//! Typed Parquet input gives the same checks as CSV text: the same rows accepted and rejected, the
//! same diagnostics (a Parquet row number is the CSV line less the header) with the same bad values
//! shown, and the same people. The Parquet files are written with small row groups, so that each
//! table is read as many row groups shared out between the workers, some split between two.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use careweave_population::{session_config, Codelists, Engine, RunSettings};
use careweave_synth::{write_dataset, Profile, SynthConfig, WriteOptions};
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_plan::ExecutionPlanProperties;
use datafusion::prelude::SessionContext;

/// Sets `column` of the `row`th data row (counted from 0) of a CSV file to `value`, or appends a
/// copy of that row when `column` is `None`.
fn damage(file: &Path, row: usize, column: Option<&str>, value: &str) {
    let mut reader = csv::Reader::from_path(file).expect("read csv");
    let header = reader.headers().expect("header").clone();
    let mut rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    match column {
        Some(column) => {
            let i = header
                .iter()
                .position(|h| h == column)
                .unwrap_or_else(|| panic!("{} has no {column}", file.display()));
            let changed: csv::StringRecord = rows[row]
                .iter()
                .enumerate()
                .map(|(j, v)| if j == i { value } else { v })
                .collect();
            rows[row] = changed;
        }
        None => rows.push(rows[row].clone()),
    }
    let mut writer = csv::Writer::from_path(file).expect("write csv");
    writer.write_record(&header).expect("header");
    for r in &rows {
        writer.write_record(r).expect("row");
    }
    writer.flush().expect("flush");
}

/// Rewrites `parquet` from the rows of `csv`, typed as the original Parquet file (every column
/// nullable, so that an emptied value is a null), in row groups of 40 rows.
fn parquet_from_csv(csv: &Path, parquet: &Path) {
    let typed = ParquetRecordBatchReaderBuilder::try_new(File::open(parquet).expect("open"))
        .expect("parquet")
        .schema()
        .clone();
    let schema = Arc::new(Schema::new(
        typed
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), f.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let reader = ReaderBuilder::new(Arc::clone(&schema))
        .with_header(true)
        .build(File::open(csv).expect("open csv"))
        .expect("csv reader");
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(40))
        .build();
    let mut writer =
        ArrowWriter::try_new(File::create(parquet).expect("create"), schema, Some(props))
            .expect("writer");
    for batch in reader {
        writer.write(&batch.expect("typed row")).expect("write");
    }
    writer.close().expect("close");
}

/// `diagnostics.csv` as (file stem, row number, field, problem, value, outcome), sorted; a CSV
/// line counts the header, so it is one more than the row number.
fn diagnostics(
    out: &Path,
    header_lines: i64,
) -> Vec<(String, i64, String, String, String, String)> {
    let mut reader = csv::Reader::from_path(out.join("diagnostics.csv")).expect("diagnostics");
    let mut rows: Vec<_> = reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            let stem = Path::new(&r[0])
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            let line: i64 = r[1].parse().expect("line");
            (
                stem,
                line - header_lines,
                r[2].to_owned(),
                r[3].to_owned(),
                r[4].to_owned(),
                r[5].to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// A synthetic extract of `people` in `dir`, with its manifest.
fn synth(dir: &Path, people: i64, seed: u64) -> (SynthConfig, careweave_synth::Manifest) {
    let config = SynthConfig::new(people, seed, Profile::Mixed).expect("config");
    let manifest = write_dataset(
        &config,
        dir,
        &WriteOptions {
            overwrite: false,
            progress: false,
        },
    )
    .expect("synth");
    (config, manifest)
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_parquet_is_checked_as_csv_text_is_with_the_same_rows_and_diagnostics() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("extract");
    let (config, manifest) = synth(&extract, 300, 5);
    let (csv_dir, parquet_dir) = (extract.join("csv"), extract.join("parquet"));
    // Problems a typed column can hold: out of range, empty, impossible, orphaned, duplicated;
    // and text problems that stay text in Parquet.
    for (table, row, column, value) in [
        ("persons", 3, Some("date_of_birth"), "1850-01-01"),
        ("persons", 5, Some("nhs_number"), "1234567890"),
        ("persons", 7, Some("date_of_death"), "1900-01-01"),
        ("persons", 2, None, ""),
        ("conditions", 4, Some("onset_date"), ""),
        ("conditions", 6, Some("person_id"), "99999999"),
        ("conditions", 90, Some("onset_date"), "2999-01-01"),
        ("conditions", 91, Some("snomed_code"), "12345"),
        ("medication_counts", 2, Some("repeat_medications"), "500"),
        ("gp_appointments", 3, Some("attended"), ""),
        ("admissions", 1, Some("discharge_date"), "1990-01-01"),
        ("admissions", 2, Some("person_id"), "0"),
        ("admission_diagnoses", 1, Some("position"), "0"),
    ] {
        damage(&csv_dir.join(format!("{table}.csv")), row, column, value);
    }
    for table in manifest.table_rows.keys() {
        let csv = csv_dir.join(format!("{table}.csv"));
        let parquet = parquet_dir.join(format!("{table}.parquet"));
        if csv.is_file() && parquet.is_file() {
            parquet_from_csv(&csv, &parquet);
        }
    }

    // Two partitions whatever the machine, so that the rows are shared out between two workers.
    let engine = || {
        let mut settings = RunSettings::defaults().expect("defaults");
        settings.config.index_date = config.extract_date();
        let ctx = SessionContext::new_with_config(session_config().with_target_partitions(2));
        Engine::with_context(settings, Codelists::load(&[]).expect("codelists"), ctx)
            .expect("engine")
    };
    let (from_csv, from_parquet) = (engine(), engine());
    let csv_summary = from_csv
        .run(&csv_dir, &tmp.path().join("out-csv"), &mut |_| {})
        .await
        .expect("csv run");
    let parquet_summary = from_parquet
        .run(&parquet_dir, &tmp.path().join("out-parquet"), &mut |_| {})
        .await
        .expect("parquet run");

    let counts = |s: &careweave_population::RunSummary| -> BTreeMap<String, (u64, u64, u64, u64)> {
        s.tables
            .iter()
            .map(|t| {
                assert_eq!(t.read, t.accepted + t.rejected, "{}", t.table);
                (
                    t.table.clone(),
                    (t.read, t.accepted, t.rejected, t.values_ignored),
                )
            })
            .collect()
    };
    assert_eq!(counts(&csv_summary), counts(&parquet_summary));
    let rejected: u64 = parquet_summary.tables.iter().map(|t| t.rejected).sum();
    assert!(rejected >= 11, "{rejected} rows rejected");

    let (csv_diag, parquet_diag) = (
        diagnostics(&tmp.path().join("out-csv"), 1),
        diagnostics(&tmp.path().join("out-parquet"), 0),
    );
    assert_eq!(csv_diag, parquet_diag);
    // A typed value is shown as written: the bad date and the out-of-range count, on the row
    // that holds it (data row 3 of persons is row number 4).
    for want in [
        ("persons", 4, "date_of_birth", "1850-01-01"),
        ("medication_counts", 3, "repeat_medications", "500"),
        ("persons", 6, "nhs_number", "1234567890"),
    ] {
        assert!(
            parquet_diag
                .iter()
                .any(|d| (d.0.as_str(), d.1, d.2.as_str(), d.4.as_str()) == want),
            "{want:?} not in {parquet_diag:#?}"
        );
    }

    let person = "SELECT * FROM person ORDER BY nhs_number";
    assert_eq!(
        rows(&from_csv, person).await,
        rows(&from_parquet, person).await
    );

    // The accepted rows of a large table are held in more than one partition, so that the
    // stages after ingest start on every core.
    let plan = from_parquet
        .context()
        .table("x_conditions")
        .await
        .expect("x_conditions")
        .create_physical_plan()
        .await
        .expect("plan");
    assert!(
        plan.output_partitioning().partition_count() >= 2,
        "{} partitions",
        plan.output_partitioning().partition_count()
    );
}

#[tokio::test]
async fn a_table_without_a_column_the_engine_needs_is_refused_naming_it_in_either_format() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("extract");
    let (config, _) = synth(&extract, 50, 2);
    // Parquet: lsoas.parquet written again without imd_decile.
    let parquet = extract.join("parquet").join("lsoas.parquet");
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&parquet).expect("open"))
        .expect("parquet");
    let keep: Vec<usize> = reader
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.name() != "imd_decile")
        .map(|(i, _)| i)
        .collect();
    let batches: Vec<_> = reader
        .build()
        .expect("reader")
        .map(|b| b.expect("batch").project(&keep).expect("project"))
        .collect();
    let mut writer = ArrowWriter::try_new(
        File::create(&parquet).expect("create"),
        batches[0].schema(),
        None,
    )
    .expect("writer");
    for b in &batches {
        writer.write(b).expect("write");
    }
    writer.close().expect("close");
    // CSV: the column renamed in the header.
    let csv = extract.join("csv").join("lsoas.csv");
    let text = std::fs::read_to_string(&csv).expect("read");
    std::fs::write(&csv, text.replacen("imd_decile", "imd", 1)).expect("write");

    for format in ["parquet", "csv"] {
        let mut settings = RunSettings::defaults().expect("defaults");
        settings.config.index_date = config.extract_date();
        let engine =
            Engine::new(settings, Codelists::load(&[]).expect("codelists")).expect("engine");
        let err = engine
            .run(
                &extract.join(format),
                &tmp.path().join(format!("out-{format}")),
                &mut |_| {},
            )
            .await
            .expect_err("a missing column stops the run");
        assert!(
            err.to_string().contains("no column \"imd_decile\""),
            "{format}: {err}"
        );
    }
}
