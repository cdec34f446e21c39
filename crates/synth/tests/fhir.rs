//! The synthetic FHIR output against the points where it once departed from FHIR R4 and UK Core
//! (issue 17): every reference resolves within the output, the NHS number carries its
//! verification status, Condition categories come from the HL7 code system, no Appointment names
//! an Organization as a participant, and every ICD-10 coding has its term. The structural check
//! by an independent validator runs in `scripts/test` (`scripts/validate-fhir`).

use std::collections::HashSet;
use std::fs;

use careweave_synth::{write_dataset, Profile, SynthConfig, WriteOptions};
use serde_json::Value;

/// Every `reference` string anywhere in a resource.
fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("reference", Value::String(r)) => out.push(r.clone()),
                    _ => references(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

#[test]
fn the_synthetic_fhir_follows_uk_core_and_its_references_resolve() {
    let config = SynthConfig::new(1_500, 5, Profile::DeprivedUrban).expect("config");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    write_dataset(&config, &out, &WriteOptions::default()).expect("write");
    let mut resources = Vec::new();
    for entry in fs::read_dir(out.join("fhir")).expect("fhir folder") {
        let path = entry.expect("entry").path();
        // Kept for the independent validator when asked (see `scripts/test`).
        if let Ok(keep) = std::env::var("CAREWEAVE_FHIR_OUT") {
            let dir = std::path::Path::new(&keep).join("synth");
            fs::create_dir_all(&dir).expect("validator folder");
            fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
        }
        let text = fs::read_to_string(&path).expect("ndjson");
        for line in text.lines() {
            resources.push(serde_json::from_str::<Value>(line).expect("json"));
        }
    }
    let ids: HashSet<String> = resources
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect();
    let mut icd10 = 0;
    for r in &resources {
        let mut refs = Vec::new();
        references(r, &mut refs);
        for reference in refs {
            assert!(
                ids.contains(&reference),
                "{reference} in {} does not resolve",
                r["id"]
            );
        }
        match r["resourceType"].as_str().unwrap() {
            "Patient" => {
                assert_eq!(
                    r["identifier"][0]["extension"][0]["url"],
                    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
                );
                assert!(r["generalPractitioner"][0]["reference"]
                    .as_str()
                    .unwrap()
                    .starts_with("Organization/"));
            }
            "Condition" => {
                let category = r["category"][0]["coding"][0]["code"].as_str().unwrap();
                assert!(
                    ["problem-list-item", "encounter-diagnosis"].contains(&category),
                    "{category}"
                );
            }
            "Appointment" => {
                for p in r["participant"].as_array().unwrap() {
                    let actor = p["actor"]["reference"].as_str().unwrap_or("Patient/");
                    assert!(actor.starts_with("Patient/"), "{actor}");
                    assert!(p.get("actor").is_some() || p.get("type").is_some());
                }
            }
            "Encounter" => {
                assert_eq!(
                    r["class"]["system"],
                    "http://terminology.hl7.org/CodeSystem/v3-ActCode"
                );
                for reason in r["reasonCode"].as_array().into_iter().flatten() {
                    let coding = &reason["coding"][0];
                    assert_eq!(coding["system"], "http://hl7.org/fhir/sid/icd-10");
                    assert!(
                        coding["display"].as_str().is_some_and(|d| !d.is_empty()),
                        "{coding}"
                    );
                    icd10 += 1;
                }
            }
            _ => {}
        }
    }
    assert!(icd10 > 0, "admissions carry ICD-10 diagnoses");
}
