//! A multi-place extract: partitioned Parquet, every key unique across places, identifiers that can
//! never be NHS numbers, and a manifest that says so.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::path::Path;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use careweave_domain::NhsNumber;
use careweave_synth::{
    is_unissuable_identifier, write_places, PlacesConfig, Profile, SynthError, WriteOptions,
    UNISSUABLE_SCHEME,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Every row of every place file of `table`, in place order.
fn read_table(dir: &Path, table: &str) -> Vec<RecordBatch> {
    let folder = dir.join("parquet").join(table);
    let mut files: Vec<_> = fs::read_dir(&folder)
        .expect("table folder")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&f).expect("open"))
            .expect("parquet")
            .build()
            .expect("reader");
        out.extend(reader.map(|b| b.expect("batch")));
    }
    out
}

fn strings(batches: &[RecordBatch], column: &str) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let c = b.column_by_name(column).expect(column);
        let c = c.as_any().downcast_ref::<StringArray>().expect("text");
        out.extend((0..c.len()).map(|i| c.value(i).to_owned()));
    }
    out
}

fn ints(batches: &[RecordBatch], column: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for b in batches {
        let c = b.column_by_name(column).expect(column);
        let c = c.as_any().downcast_ref::<Int64Array>().expect("int");
        out.extend(c.values().iter().copied());
    }
    out
}

fn assert_unique<T: std::hash::Hash + Eq + std::fmt::Debug>(what: &str, values: &[T]) {
    let mut seen = HashSet::new();
    for v in values {
        assert!(seen.insert(v), "{what} {v:?} appears twice");
    }
}

#[test]
fn places_have_unique_keys_and_unissuable_identifiers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("ics");
    let config = PlacesConfig::new(6_001, 5, Profile::Mixed)
        .expect("config")
        .with_place_size(2_001)
        .expect("place size");
    assert_eq!(config.places(), 3);
    let manifest = write_places(&config, &out, &WriteOptions::default()).expect("write");
    assert_eq!(manifest.people, 6_001);
    assert_eq!(manifest.places.len(), 3);

    // One Parquet file per place in each table's folder, and nothing else.
    let mut top: Vec<String> = fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["manifest.json", "parquet"]);
    for table in fs::read_dir(out.join("parquet")).expect("parquet") {
        let table = table.expect("entry").path();
        let mut names: Vec<String> = fs::read_dir(&table)
            .expect("table")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "place-0001.parquet",
                "place-0002.parquet",
                "place-0003.parquet"
            ],
            "{}",
            table.display()
        );
    }

    let persons = read_table(&out, "persons");
    let person_ids = ints(&persons, "person_id");
    assert_eq!(person_ids.len(), 6_001);
    assert_unique("person_id", &person_ids);
    assert_eq!(
        person_ids.iter().copied().collect::<HashSet<_>>(),
        (1..=6_001).collect::<HashSet<_>>()
    );
    let numbers = strings(&persons, "nhs_number");
    assert_unique("nhs_number", &numbers);
    for n in &numbers {
        assert!(is_unissuable_identifier(n), "{n} is not of the scheme");
        assert!(n.parse::<NhsNumber>().is_err(), "{n} is a valid NHS number");
    }

    let households = read_table(&out, "households");
    let household_ids = ints(&households, "household_id");
    assert_unique("household_id", &household_ids);
    let household_set: HashSet<i64> = household_ids.into_iter().collect();
    assert!(ints(&persons, "household_id")
        .iter()
        .all(|h| household_set.contains(h)));

    let admission_ids = ints(&read_table(&out, "admissions"), "admission_id");
    assert!(!admission_ids.is_empty());
    assert_unique("admission_id", &admission_ids);

    let practices = read_table(&out, "practices");
    let ods = strings(&practices, "ods_code");
    assert_unique("practice ods_code", &ods);
    let pcns = strings(&read_table(&out, "pcns"), "pcn_code");
    assert_unique("pcn_code", &pcns);
    let lsoas = strings(&read_table(&out, "lsoas"), "lsoa_code");
    assert_unique("lsoa_code", &lsoas);
    let postcodes = strings(&read_table(&out, "postcodes"), "postcode");
    assert_unique("postcode", &postcodes);
    for pc in &postcodes {
        assert!(pc.starts_with('Q'), "{pc} could be a real postcode");
        pc.parse::<careweave_domain::Postcode>()
            .expect("a postcode");
    }
    // Every reference resolves within the extract.
    let (ods, pcns, lsoas, postcodes): (
        HashSet<String>,
        HashSet<String>,
        HashSet<String>,
        HashSet<String>,
    ) = (
        ods.into_iter().collect(),
        pcns.into_iter().collect(),
        lsoas.into_iter().collect(),
        postcodes.into_iter().collect(),
    );
    assert!(strings(&persons, "practice_ods_code")
        .iter()
        .all(|c| ods.contains(c)));
    assert!(strings(&practices, "pcn_code")
        .iter()
        .all(|c| pcns.contains(c)));
    assert!(strings(&persons, "lsoa_code")
        .iter()
        .all(|c| lsoas.contains(c)));
    assert!(strings(&persons, "postcode")
        .iter()
        .all(|c| postcodes.contains(c)));

    // The manifest flags the identifiers and lists the places, and its row counts are the files'.
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(json["identifiers"], UNISSUABLE_SCHEME);
    assert_eq!(json["places"].as_array().expect("places").len(), 3);
    assert_eq!(json["places"][1]["first_person_id"], 2_002);
    assert_eq!(json["tables"]["persons"], 6_001);
    let rows: BTreeMap<String, u64> = manifest.table_rows.clone();
    assert_eq!(rows["admissions"], admission_ids.len() as u64);
}

#[test]
fn places_are_deterministic_and_refused_when_too_many() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = PlacesConfig::new(1_500, 9, Profile::DeprivedUrban)
        .expect("config")
        .with_place_size(500)
        .expect("place size");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_places(&config, &a, &WriteOptions::default()).expect("a");
    write_places(&config, &b, &WriteOptions::default()).expect("b");
    for table in ["persons", "admissions", "postcodes"] {
        for place in 1..=3 {
            let f = format!("parquet/{table}/place-{place:04}.parquet");
            assert_eq!(
                fs::read(a.join(&f)).expect("a"),
                fs::read(b.join(&f)).expect("b"),
                "{f}"
            );
        }
    }
    assert!(matches!(
        PlacesConfig::new(90_000_000, 1, Profile::Mixed),
        Err(SynthError::TooManyForExtract { .. })
    ));
    assert!(matches!(
        PlacesConfig::new(100_000, 1, Profile::Mixed)
            .expect("config")
            .with_place_size(5),
        Err(SynthError::TooManyPlaces { .. })
    ));
    assert!(matches!(
        PlacesConfig::new(100, 1, Profile::Mixed)
            .expect("config")
            .with_place_size(2_000_000),
        Err(SynthError::BadPlaceSize { .. })
    ));
}
