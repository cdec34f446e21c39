//! Bounded fuzzing of form bodies over HTTP, on SQLite: a signed-in case worker posts generated
//! bodies to every case action, the referral, person and MDT forms and the public self-referral
//! form: field names the forms use with values of every shape (empty, huge, non-ASCII, dates
//! that do not exist, numbers out of range, repeated fields), and raw bytes.
//!
//! Property: the service answers every body with a redirect (accepted), or a 4xx page naming the
//! problem, never a server error; a 5xx is a bug. `CAREWEAVE_FUZZ_CASES` raises the sample.

mod support;

use careweave_store::testing::{cross_employer_case, TestDatabase};
use careweave_store::Backend;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::{Server, PASSWORD};

const CASE_ACTIONS: &[&str] = &[
    "allocate",
    "carers",
    "flags",
    "contacts",
    "visits",
    "assessments",
    "plan",
    "goals",
    "progress",
    "attainment",
    "actions",
    "action-done",
    "steps",
    "reviews",
    "hold",
    "resume",
    "discharge",
    "reopen",
];

/// Field names the forms read; a generated body takes any of them.
const FIELDS: &[&str] = &[
    "contact_type",
    "contact-day",
    "contact-month",
    "contact-year",
    "minutes",
    "present",
    "note",
    "visit_type",
    "visit-day",
    "visit-month",
    "visit-year",
    "visit_start",
    "visit_back",
    "visit_place",
    "companion",
    "text",
    "goal",
    "goal_id",
    "progress",
    "target-day",
    "target-month",
    "target-year",
    "owner",
    "due-day",
    "due-month",
    "due-year",
    "week",
    "summary",
    "intensity",
    "reason",
    "destination",
    "gp_agreement",
    "what_matters",
    "priorities",
    "escalation",
    "worker",
    "role",
    "name",
    "relationship",
    "contact",
    "involve",
    "flag",
    "score",
    "strengths",
    "nhs_number",
    "given_name",
    "family_name",
    "dob-day",
    "dob-month",
    "dob-year",
    "service",
    "urgency",
    "needs",
    "consent",
    "source",
    "practice",
    "postcode",
    "title",
    "date",
    "attendees",
    "scale",
    "action",
    "id",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("31".to_owned()),
        Just("2026".to_owned()),
        Just("99999999999999999999".to_owned()),
        Just("9990000018".to_owned()),
        Just("25:61".to_owned()),
        Just("home_visit".to_owned()),
        Just("x".repeat(5000)),
        "[0-9]{1,4}",
        "\\PC{0,24}",
    ]
}

#[derive(Debug, Clone)]
enum Body {
    Fields(Vec<(usize, String)>),
    /// A valid contact with some of its fields replaced or left out, so the fuzzing also reaches
    /// the checks that come after the first refusal and the writes an accepted form makes.
    Contact(Vec<Option<Option<String>>>),
    Raw(Vec<u8>),
}

/// A contact recorded yesterday (so the application's time zone never makes it "in the future").
fn valid_contact() -> Vec<(&'static str, String)> {
    use chrono::Datelike;
    let d = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    vec![
        ("contact_type", "phone".to_owned()),
        ("contact-day", d.day().to_string()),
        ("contact-month", d.month().to_string()),
        ("contact-year", d.year().to_string()),
        ("minutes", "30".to_owned()),
        ("present", "Ada".to_owned()),
        ("note", "Talked about the lunch club.".to_owned()),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    let changes = proptest::collection::vec(
        prop_oneof![3 => Just(None), 1 => Just(Some(None)), 1 => value().prop_map(|v| Some(Some(v)))],
        7,
    );
    prop_oneof![
        4 => proptest::collection::vec((0..FIELDS.len(), value()), 0..12).prop_map(Body::Fields),
        3 => changes.prop_map(Body::Contact),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Body::Raw),
    ]
}

#[test]
fn no_form_body_causes_a_server_error() {
    let cases = std::env::var("CAREWEAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, shared) = rt.block_on(async {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let shared = cross_employer_case(&db.store, PASSWORD).await;
        (db, shared)
    });
    let server = rt.block_on(Server::start(&db, db.store.clone()));
    let lead = rt.block_on(server.sign_in("lead"));
    let case_page = format!("/cases/{}", shared.case);
    let token = rt.block_on(server.csrf(&lead, &case_page));
    let mut paths: Vec<String> = CASE_ACTIONS
        .iter()
        .map(|a| format!("{case_page}/{a}"))
        .collect();
    paths.extend(
        [
            "/referrals/new",
            "/people/new",
            "/mdt/new",
            "/refer",
            "/directory/unmet-needs",
        ]
        .map(str::to_owned),
    );
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
    // What the service answered, so the test fails if every body was refused before its form was
    // parsed (a CSRF or sign-in fault would make the fuzzing vacuous).
    let seen = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    let result = runner.run(
        &(proptest::sample::select(paths), body()),
        |(path, body)| {
            rt.block_on(async {
                let contact = format!("{case_page}/contacts");
                let path = if matches!(body, Body::Contact(_)) {
                    &contact
                } else {
                    &path
                };
                let encoded = match &body {
                    Body::Fields(fields) => {
                        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
                        form.extend(fields.iter().map(|(i, v)| (FIELDS[*i], v.as_str())));
                        serde_urlencoded::to_string(&form).unwrap().into_bytes()
                    }
                    Body::Contact(changes) => {
                        let mut form: Vec<(&str, String)> = vec![("csrf_token", token.clone())];
                        for ((name, valid), change) in valid_contact().into_iter().zip(changes) {
                            match change {
                                None => form.push((name, valid)),
                                Some(Some(other)) => form.push((name, other.clone())),
                                Some(None) => {}
                            }
                        }
                        serde_urlencoded::to_string(&form).unwrap().into_bytes()
                    }
                    Body::Raw(bytes) => {
                        let mut b = format!("csrf_token={token}&").into_bytes();
                        b.extend_from_slice(bytes);
                        b
                    }
                };
                let r = lead
                    .post(format!("{}{path}", server.base))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(encoded)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                *seen.lock().unwrap().entry(status.as_u16()).or_default() += 1;
                prop_assert!(
                    !status.is_server_error(),
                    "{status} from {path} for {body:?}: {}",
                    r.text()
                        .await
                        .unwrap_or_default()
                        .chars()
                        .take(400)
                        .collect::<String>()
                );
                Ok(())
            })
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = seen.into_inner().unwrap();
    assert!(
        seen.contains_key(&303) && seen.contains_key(&422),
        "bodies should be both accepted and refused with a page: {seen:?}"
    );
}
