//! The written dataset: determinism, bad arguments, FHIR validity and row counts.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use careweave_synth::{write_dataset, Profile, SynthConfig, SynthError, WriteOptions};

fn config(people: i64, seed: u64) -> SynthConfig {
    SynthConfig::new(people, seed, Profile::DeprivedUrban).expect("config")
}

/// Every file under `dir` with its bytes, keyed by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(&p).expect("read"));
            }
        }
    }
    out
}

#[test]
fn the_same_seed_gives_byte_identical_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_dataset(&config(3_000, 11), &a, &WriteOptions::default()).expect("first");
    write_dataset(&config(3_000, 11), &b, &WriteOptions::default()).expect("second");
    let (fa, fb) = (files(&a), files(&b));
    // Every table as CSV and Parquet, six FHIR files and the manifest.
    assert_eq!(fa.len(), 17 * 2 + 6 + 1, "{:?}", fa.keys());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(
            bytes == &fb[name],
            "{name} differs between runs with the same seed"
        );
    }
    // A different seed gives a different population.
    let c = tmp.path().join("c");
    write_dataset(&config(3_000, 12), &c, &WriteOptions::default()).expect("third");
    assert_ne!(fa["csv/persons.csv"], files(&c)["csv/persons.csv"]);
}

#[test]
fn bad_arguments_are_refused_and_nothing_is_written() {
    assert!(matches!(
        SynthConfig::new(0, 1, Profile::Mixed),
        Err(SynthError::TooFewPeople(0))
    ));
    assert!(matches!(
        SynthConfig::new(-5, 1, Profile::Mixed),
        Err(SynthError::TooFewPeople(-5))
    ));
    assert!(matches!(
        SynthConfig::new(2_000_000, 1, Profile::Mixed),
        Err(SynthError::TooManyPeople { .. })
    ));
    let err = "urban".parse::<Profile>().expect_err("unknown profile");
    assert!(err.to_string().contains("deprived-urban"), "{err}");

    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("a-file");
    fs::write(&file, b"x").expect("write");
    let err = write_dataset(&config(10, 1), &file, &WriteOptions::default()).expect_err("file");
    assert!(matches!(err, SynthError::OutputIsFile(_)), "{err}");
    assert_eq!(fs::read(&file).expect("read"), b"x");

    let full = tmp.path().join("full");
    fs::create_dir(&full).expect("mkdir");
    fs::write(full.join("keep.txt"), b"mine").expect("write");
    let err =
        write_dataset(&config(10, 1), &full, &WriteOptions::default()).expect_err("not empty");
    assert!(matches!(err, SynthError::OutputNotEmpty(_)), "{err}");
    assert_eq!(files(&full).len(), 1);
    // Only the two things this test made are there: no partial directory was left behind.
    assert_eq!(fs::read_dir(tmp.path()).expect("list").count(), 2);

    // With overwrite the directory is replaced by a complete dataset.
    let opts = WriteOptions {
        overwrite: true,
        progress: false,
    };
    write_dataset(&config(10, 1), &full, &opts).expect("overwrite");
    assert!(full.join("manifest.json").exists());
    assert!(!full.join("keep.txt").exists());
}

#[test]
fn fhir_lines_are_json_and_row_counts_match_the_manifest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let manifest = write_dataset(&config(1_500, 5), &out, &WriteOptions::default()).expect("write");
    let on_disk: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(on_disk["people"], 1_500);
    assert_eq!(manifest.table_rows["persons"], 1_500);

    for (table, rows) in &manifest.table_rows {
        assert_eq!(on_disk["tables"][table], *rows, "{table}");
        let mut reader =
            csv::Reader::from_path(out.join("csv").join(format!("{table}.csv"))).expect("csv");
        assert_eq!(reader.records().count() as u64, *rows, "csv {table}");
        let file =
            fs::File::open(out.join("parquet").join(format!("{table}.parquet"))).expect("parquet");
        let pq = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("reader");
        assert_eq!(
            pq.metadata().file_metadata().num_rows() as u64,
            *rows,
            "parquet {table}"
        );
    }
    for table in [
        "gp_appointments",
        "admissions",
        "conditions",
        "ae_attendances",
        "outpatients",
    ] {
        assert!(manifest.table_rows[table] > 0, "{table} is empty");
    }

    for (resource, lines) in &manifest.fhir_resources {
        let text = fs::read_to_string(out.join("fhir").join(format!("{resource}.ndjson")))
            .expect("ndjson");
        let mut n = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("every line is JSON");
            assert_eq!(v["resourceType"], resource.as_str());
            let profile = v["meta"]["profile"][0].as_str().expect("profile");
            assert!(
                profile.starts_with("https://fhir.hl7.org.uk/StructureDefinition/UKCore-"),
                "{profile}"
            );
            n += 1;
        }
        assert_eq!(n, *lines, "{resource}");
        assert_eq!(on_disk["fhir"][resource], *lines);
    }
    let patients = fs::read_to_string(out.join("fhir/Patient.ndjson")).expect("patients");
    let first: serde_json::Value =
        serde_json::from_str(patients.lines().next().expect("a patient")).expect("json");
    assert_eq!(
        first["identifier"][0]["system"],
        "https://fhir.nhs.uk/Id/nhs-number"
    );
    let nhs = first["identifier"][0]["value"]
        .as_str()
        .expect("nhs number");
    assert!(nhs
        .parse::<careweave_domain::NhsNumber>()
        .expect("valid")
        .is_test_number());
}

#[test]
fn the_registry_holds_the_same_people_as_the_dataset() {
    let config = config(2_500, 21);
    let registry = careweave_synth::generate_registry(&config).expect("registry");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    write_dataset(&config, &out, &WriteOptions::default()).expect("write");
    let mut persons = csv::Reader::from_path(out.join("csv/persons.csv")).expect("persons");
    let rows: Vec<csv::StringRecord> = persons.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), registry.people.len());
    for (row, p) in rows.iter().zip(&registry.people) {
        assert_eq!(&row[0], p.person_id.to_string());
        assert_eq!(&row[1], p.nhs_number.as_digits());
        assert_eq!(&row[2], p.given_name);
        assert_eq!(&row[7], p.postcode.as_str());
        assert_eq!(&row[9], p.practice_ods.as_str());
        assert_eq!(
            &row[12],
            p.date_of_death.map(|d| d.to_string()).unwrap_or_default()
        );
    }
    // The conditions table is the registry's clinical summaries, row for row.
    let mut conditions =
        csv::Reader::from_path(out.join("csv/conditions.csv")).expect("conditions");
    let from_file: Vec<(String, String, String)> = conditions
        .records()
        .map(|r| {
            let r = r.expect("row");
            (r[0].to_owned(), r[2].to_owned(), r[3].to_owned())
        })
        .collect();
    let from_registry: Vec<(String, String, String)> = registry
        .people
        .iter()
        .flat_map(|p| {
            p.clinical.conditions.iter().map(move |c| {
                (
                    p.person_id.to_string(),
                    c.snomed().0.to_owned(),
                    c.onset.to_string(),
                )
            })
        })
        .collect();
    assert_eq!(from_file, from_registry);
    // A person's full history agrees with the registry's summary.
    let h = careweave_synth::person_history(&config, 10).expect("history");
    assert_eq!(h.clinical, registry.people[10].clinical);
}

#[test]
fn the_default_neighbourhood_looks_like_sapa_5() {
    let config = config(34_000, 1);
    let r = careweave_synth::generate_registry(&config).expect("registry");
    assert_eq!(r.pcns.len(), 1);
    assert_eq!(r.practices.len(), 7);
    assert_eq!(r.lsoas.len(), 23);
    assert_eq!(r.people.len(), 34_000);
    let mut numbers: Vec<_> = r.people.iter().map(|p| p.nhs_number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 34_000, "NHS numbers must be unique");
    assert!(r.people.iter().all(|p| p.nhs_number.is_test_number()));
    // A deprived-urban neighbourhood: most LSOAs in the most deprived 30%.
    let deprived = r.lsoas.iter().filter(|l| l.imd_decile.get() <= 3).count();
    assert!(
        deprived * 2 > r.lsoas.len(),
        "{deprived} of {}",
        r.lsoas.len()
    );
    // Every person's postcode lies in their LSOA.
    for p in r.people.iter().step_by(97) {
        let unit = r
            .postcodes
            .iter()
            .find(|u| u.postcode == p.postcode)
            .expect("postcode");
        assert_eq!(r.lsoas[unit.lsoa].code, p.lsoa);
    }
}
