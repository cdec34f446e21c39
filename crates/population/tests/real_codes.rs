//! A real-shaped extract: a synthetic neighbourhood whose hospital diagnoses are replaced by
//! thousands of distinct ICD-10 codes in the forms hospital data writes them (dotted and undotted,
//! `X` fillers, dagger and asterisk suffixes, fifth characters). Every well-formed code must be
//! accepted and reach the Charlson and HFRS scores, computed here independently from the shipped
//! reference tables; a malformed primary diagnosis must not drop its admission.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use careweave_population::reference::Reference;
use careweave_population::{Codelists, Engine, RunSettings};
use careweave_synth::{write_dataset, Profile, SynthConfig, WriteOptions};
use chrono::{Months, NaiveDate};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

/// Reads a CSV file into rows keyed by header.
fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("open csv");
    let header = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// Thousands of distinct well-formed codes, as (written form, normal form): every category from
/// A00 to Z99 with a fourth character, written in turn dotted, undotted, with a fifth character,
/// with a dagger or asterisk suffix, or as the bare category padded with `X`.
fn generated_codes() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (li, letter) in ('A'..='Z').enumerate() {
        for n in 0..100u32 {
            let cat = format!("{letter}{n:02}");
            let k = (li as u32) * 100 + n;
            let d4 = k % 10;
            let (written, normal) = match k % 6 {
                0 => (format!("{cat}.{d4}"), format!("{cat}.{d4}")),
                1 => (format!("{cat}{d4}"), format!("{cat}.{d4}")),
                2 => (
                    format!("{cat}.{d4}{}", (k / 10) % 10),
                    format!("{cat}.{d4}{}", (k / 10) % 10),
                ),
                3 => (format!("{cat}{d4}D"), format!("{cat}.{d4}")),
                4 => (format!("{}X", cat.to_lowercase()), cat.clone()),
                _ => (format!("{cat}.{d4}A"), format!("{cat}.{d4}")),
            };
            out.push((written, normal));
            // A second code in most categories, so that several codes share a category.
            if !k.is_multiple_of(3) {
                let e = (d4 + 5) % 10;
                out.push((format!("{cat}.{e}"), format!("{cat}.{e}")));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_well_formed_icd10_code_is_accepted_and_reaches_charlson_and_hfrs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("extract");
    let config = SynthConfig::new(600, 11, Profile::Mixed).expect("config");
    write_dataset(
        &config,
        &extract,
        &WriteOptions {
            overwrite: false,
            progress: false,
        },
    )
    .expect("synth");
    let input = extract.join("csv");
    let codes = generated_codes();
    assert!(codes.len() > 4_000, "{} codes", codes.len());

    // Spread the codes over the admissions: position 1 is the primary diagnosis.
    let admissions = read_csv(&input.join("admissions.csv"));
    assert!(admissions.len() > 100, "{} admissions", admissions.len());
    let per = codes.len().div_ceil(admissions.len());
    let mut diag = String::from("admission_id,position,icd10_code\n");
    let mut adm = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = admissions[0].keys().cloned().collect();
    adm.write_record(&header).expect("header");
    let mut codes_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut chunks = codes.chunks(per);
    for (i, a) in admissions.iter().enumerate() {
        let id = a["admission_id"].clone();
        let chunk = chunks.next().unwrap_or(&[]);
        let mut row = a.clone();
        // The first admission's primary diagnosis is malformed: the admission must stay, with its
        // diagnoses, and the bad value be reported as ignored.
        let primary = if i == 0 {
            "J18.9ZZ".to_owned()
        } else {
            chunk
                .first()
                .map_or_else(|| "R69X".to_owned(), |c| c.0.clone())
        };
        row.insert("primary_diagnosis".into(), primary);
        adm.write_record(header.iter().map(|h| row[h].as_str()))
            .expect("row");
        for (p, (written, normal)) in chunk.iter().enumerate() {
            diag.push_str(&format!("{id},{},{written}\n", p + 1));
            codes_of.entry(id.clone()).or_default().push(normal.clone());
        }
        if chunk.is_empty() {
            codes_of.entry(id.clone()).or_default().push("R69".into());
        }
    }
    // One malformed secondary diagnosis: that row alone is rejected.
    diag.push_str(&format!("{},98,1J8.9\n", admissions[1]["admission_id"]));
    std::fs::write(input.join("admissions.csv"), adm.into_inner().expect("csv")).expect("write");
    std::fs::write(input.join("admission_diagnoses.csv"), diag).expect("write");

    let mut settings = RunSettings::defaults().expect("defaults");
    settings.config.index_date = config.extract_date();
    let index = settings.config.index_date;
    let engine =
        Engine::new(settings, Codelists::load(&[]).expect("built-in lists")).expect("engine");
    let out = tmp.path().join("out");
    let summary = engine.run(&input, &out, &mut |_| {}).await.expect("run");

    let table = |name: &str| {
        summary
            .tables
            .iter()
            .find(|t| t.table == name)
            .expect("table")
            .clone()
    };
    let a = table("admissions");
    assert_eq!((a.rejected, a.values_ignored), (0, 1), "{a:?}");
    let d = table("admission_diagnoses");
    assert_eq!(d.read, codes.len() as u64 + 1, "{d:?}");
    assert_eq!(d.rejected, 1, "only the malformed diagnosis: {d:?}");
    assert!(summary.failures().is_empty(), "{:?}", summary.failures());
    let diagnostics = std::fs::read_to_string(out.join("diagnostics.csv")).expect("diagnostics");
    assert!(
        diagnostics.contains("primary_diagnosis")
            && diagnostics.contains("value ignored, row kept"),
        "{diagnostics}"
    );
    // Codes no list names are reported per code, not rejected.
    assert!(
        summary.unknown_codes.len() > 1_000,
        "{}",
        summary.unknown_codes.len()
    );
    assert!(
        std::fs::read_to_string(out.join("unknown_codes.csv"))
            .expect("unknown codes")
            .lines()
            .count()
            > 1_000
    );

    // Every distinct well-formed code reached the diagnoses the scores read.
    let reached: BTreeSet<String> = strings(&engine, "SELECT DISTINCT code FROM diagnoses").await;
    let wanted: BTreeSet<String> = codes.iter().map(|c| c.1.clone()).collect();
    let missing: Vec<&String> = wanted.difference(&reached).collect();
    assert!(
        missing.is_empty(),
        "{} codes never reached the scores, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );

    // Charlson categories and HFRS, computed independently per person from the reference tables.
    let reference = Reference::shipped().expect("reference");
    let persons = read_csv(&input.join("persons.csv"));
    let nhs_of: BTreeMap<String, String> = persons
        .iter()
        .map(|p| (p["person_id"].clone(), p["nhs_number"].replace(' ', "")))
        .collect();
    let charlson_start = index - Months::new(60);
    let hfrs_start = index - Months::new(24);
    let mut want_charlson: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut want_hfrs: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for a in &admissions {
        let date = NaiveDate::parse_from_str(&a["admission_date"], "%Y-%m-%d").expect("date");
        let nhs = nhs_of[&a["person_id"]].clone();
        for code in codes_of.get(&a["admission_id"]).into_iter().flatten() {
            let prefixes = [&code[..3], &code[..code.len().min(5)]];
            if date > charlson_start && date <= index {
                for m in &reference.charlson_codes {
                    if prefixes.contains(&m.code.as_str()) {
                        want_charlson
                            .entry(nhs.clone())
                            .or_default()
                            .insert(m.category.clone());
                    }
                }
            }
            if date > hfrs_start && date <= index {
                for h in &reference.hfrs {
                    if h.code == code[..3] {
                        want_hfrs
                            .entry(nhs.clone())
                            .or_default()
                            .insert(h.code.clone(), h.weight);
                    }
                }
            }
        }
    }
    let rows = engine
        .context()
        .sql("SELECT nhs_number, charlson_categories, hfrs FROM person")
        .await
        .expect("plan")
        .collect()
        .await
        .expect("run");
    let mut checked = 0;
    let mut scored = 0;
    for b in &rows {
        let nhs = cast(b.column(0), &DataType::Utf8).expect("cast");
        let cats = cast(b.column(1), &DataType::Utf8).expect("cast");
        let (nhs, cats) = (nhs.as_string::<i32>(), cats.as_string::<i32>());
        let hfrs = b
            .column(2)
            .as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        for r in 0..b.num_rows() {
            let person = nhs.value(r).to_owned();
            let got: BTreeSet<String> = cats
                .value(r)
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            let want = want_charlson.get(&person).cloned().unwrap_or_default();
            assert_eq!(got, want, "Charlson categories of {person}");
            let want_h: f64 = want_hfrs.get(&person).map_or(0.0, |m| m.values().sum());
            assert!(
                (hfrs.value(r) - (want_h * 10.0).round() / 10.0).abs() < 0.051,
                "HFRS of {person}: {} vs {want_h}",
                hfrs.value(r)
            );
            checked += 1;
            scored += usize::from(!want.is_empty());
            assert!(!hfrs.is_null(r));
        }
    }
    assert!(
        checked > 400 && scored > 20,
        "{checked} people checked, {scored} with Charlson"
    );
}

async fn strings(engine: &Engine, sql: &str) -> BTreeSet<String> {
    let batches = engine
        .context()
        .sql(sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("run");
    let mut out = BTreeSet::new();
    for b in &batches {
        let col = cast(b.column(0), &DataType::Utf8).expect("cast");
        let col = col.as_string::<i32>();
        for i in 0..b.num_rows() {
            out.insert(col.value(i).to_owned());
        }
    }
    out
}
