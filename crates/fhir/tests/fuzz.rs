//! Bounded fuzzing of what FHIR API clients send: `POST /fhir/ServiceRequest` bodies. Inputs are
//! arbitrary bytes and a valid referral with its values replaced by values of other JSON types,
//! empty strings, odd text or removed. Property: the body becomes a referral or is refused with
//! at least one issue, never a panic, and an accepted referral carries what the body said.
//! `scripts/fuzz` runs more cases (`CAREWEAVE_FUZZ_CASES`).

use careweave_fhir::{parse_service_request, NHS_NUMBER, SNOMED};
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    let cases = std::env::var("CAREWEAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
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

fn request() -> Value {
    json!({
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "code": { "coding": [{ "system": SNOMED, "code": "871731000000106" }] },
        "subject": { "reference": "#p" },
        "contained": [{
            "resourceType": "Patient",
            "id": "p",
            "identifier": [{ "system": NHS_NUMBER, "value": "9990000018" }],
            "name": [{ "family": "Okafor", "given": ["Ada"] }],
            "birthDate": "1950-03-04",
            "telecom": [{ "system": "phone", "value": "01234 567890" }],
        }],
        "performer": [{ "reference": "HealthcareService/3" }],
        "reasonCode": [{ "text": "Lonely since her husband died" }],
    })
}

/// The JSON pointers of every value in `v`, containers included.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = format!("{at}/{k}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        _ => {}
    }
}

fn replacement() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!(""))),
        Just(Some(json!("   "))),
        Just(Some(json!(0))),
        Just(Some(json!(-1.5e308))),
        Just(Some(json!(true))),
        Just(Some(json!([]))),
        Just(Some(json!({}))),
        Just(Some(json!("Patient/1"))),
        Just(Some(json!("HealthcareService/99999999999999999999"))),
        Just(Some(json!("9990000019"))),
        Just(Some(json!("2999-02-30"))),
        "\\PC{0,30}".prop_map(|s| Some(json!(s))),
    ]
}

fn check(body: &[u8]) -> Result<(), TestCaseError> {
    match parse_service_request(body) {
        Ok(referral) => {
            prop_assert!(!referral.family_name.trim().is_empty());
            prop_assert!(referral.service > 0);
        }
        Err(issues) => prop_assert!(!issues.is_empty(), "refused without an issue"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_are_refused_or_read(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        check(&body)?;
    }

    #[test]
    fn a_referral_with_values_replaced_is_refused_or_read(
        changes in proptest::collection::vec((any::<proptest::sample::Index>(), replacement()), 1..4),
    ) {
        let mut body = request();
        for (index, value) in changes {
            let mut all = Vec::new();
            pointers(&body, String::new(), &mut all);
            if all.is_empty() {
                break;
            }
            let at = all[index.index(all.len())].clone();
            let (parent, key) = at.rsplit_once('/').expect("pointers start with /");
            match (body.pointer_mut(parent), value) {
                (Some(Value::Object(map)), None) => { map.remove(key); }
                (Some(Value::Array(items)), None) => {
                    let i: usize = key.parse().expect("array index");
                    items.remove(i);
                }
                (_, Some(v)) => { if let Some(slot) = body.pointer_mut(&at) { *slot = v; } }
                _ => {}
            }
        }
        check(body.to_string().as_bytes())?;
    }
}

#[test]
fn the_seed_request_is_accepted() {
    assert!(parse_service_request(request().to_string().as_bytes()).is_ok());
}
