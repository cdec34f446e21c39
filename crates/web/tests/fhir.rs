//! The FHIR API and its tokens over HTTP, on SQLite and PostgreSQL: an admin issues a token on the
//! admin page (shown once) and revokes it; reads and searches go through the same policy and
//! audit as the pages; a ServiceRequest posted by a client lands on the waiting list, and bad
//! input gets an OperationOutcome naming the element with nothing stored.
//!
//! When `CAREWEAVE_FHIR_OUT` names a folder, every resource these tests receive is written to its
//! `api` subfolder (one JSON file each) for the independent validator that `scripts/test` runs
//! (`scripts/validate-fhir`).

#[macro_use]
mod support;

use careweave_domain::access::{Membership, Role};
use careweave_domain::casework::{
    CaseId, ContactType, EligibilityRule, Intensity, ReferralRoute, ReferralSource, ReviewInterval,
    ServiceKind, Urgency,
};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, Sex};
use careweave_store::accounts::NewUser;
use careweave_store::api_tokens::{ApiScope, NewApiToken};
use careweave_store::audit::AuditFilter;
use careweave_store::casework::{
    CaseworkSettings, NewContact, NewReferral, PlanItem, ReferredPerson, Referrer, TriageDecision,
    WaitingFilter,
};
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use chrono::NaiveDate;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use support::{Server, PASSWORD};

const ADA_NHS: &str = "9434765919";
const STRANGER_NHS: &str = "9434765870";
const NHS_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// A practice, a PCN running Focused Care and a charity; Ada referred and accepted with
/// `caseworker` as lead (a plan goal and two contacts recorded); a stranger nobody cares for.
struct TestApp {
    server: Server,
    store: Store,
    ada: PersonId,
    stranger: PersonId,
    case: CaseId,
    service: i64,
    pcn: OrganisationId,
    practice: OrganisationId,
    charity: OrganisationId,
    _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

impl TestApp {
    async fn spawn(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let org = |name: &str, kind, ods: Option<&str>| NewOrganisation {
            name: name.into(),
            kind,
            ods_code: ods.map(|o| o.parse().unwrap()),
            place: None,
        };
        let practice = store
            .insert_organisation(&org(
                "Riverside Surgery",
                OrganisationKind::GpPractice,
                Some("Y00001"),
            ))
            .await
            .unwrap();
        let pcn = store
            .insert_organisation(&org("Riverside PCN", OrganisationKind::Pcn, None))
            .await
            .unwrap();
        let charity = store
            .insert_organisation(&org(
                "Riverside Community Trust",
                OrganisationKind::Vcse,
                None,
            ))
            .await
            .unwrap();
        for (name, role, at) in [
            ("gp", Role::Referrer, practice),
            ("caseworker", Role::Worker, pcn),
            ("linkworker", Role::Worker, charity),
            ("admin", Role::Admin, pcn),
        ] {
            store
                .create_user(NewUser {
                    username: format!("{name}@test"),
                    display_name: format!("Test {name}"),
                    password: SecretString::from(PASSWORD.to_owned()),
                    memberships: vec![Membership {
                        organisation: at,
                        role,
                    }],
                })
                .await
                .unwrap();
        }
        let service = store
            .insert_service("Focused Care", pcn, None, "Focused Care")
            .await
            .unwrap();
        store
            .add_casework_settings(
                service,
                &CaseworkSettings {
                    kind: ServiceKind::SocialPrescribing,
                    rule: EligibilityRule::Open,
                    review_interval: ReviewInterval::days(92).unwrap(),
                    worker_cap: Some(20),
                    practice_cap: Some(20),
                    partners: vec![],
                },
            )
            .await
            .unwrap();
        let register = |nhs: &str, given: &str, family: &str, born| NewPerson {
            nhs_number: nhs.parse::<NhsNumber>().unwrap(),
            given_name: given.into(),
            family_name: family.into(),
            date_of_birth: born,
            sex: Sex::Female,
            postcode: Some("LS1 4AP".parse().unwrap()),
            lsoa: None,
            imd_decile: None,
            registered_practice: practice,
            household: None,
            date_of_death: None,
        };
        let stranger = store
            .register_person(
                None,
                &register(STRANGER_NHS, "Sam", "Stranger", day(1961, 2, 3)),
                "test",
            )
            .await
            .unwrap();
        let ada = store
            .register_person(
                None,
                &register(ADA_NHS, "Ada", "Example", day(1950, 5, 17)),
                "test",
            )
            .await
            .unwrap();
        let referral = store
            .create_referral(&NewReferral {
                service,
                known_person: None,
                person: ReferredPerson {
                    given_name: "Ada".into(),
                    family_name: "Example".into(),
                    date_of_birth: day(1950, 5, 17),
                    nhs_number: Some(ADA_NHS.parse().unwrap()),
                    practice: Some(practice),
                    contact: "07700 900000".into(),
                },
                source: ReferralSource::Gp,
                route: ReferralRoute::Phone,
                reason: "Lonely since bereavement".into(),
                needs: "Debt".into(),
                concerns: String::new(),
                need_domains: vec![],
                risk_flags: vec![],
                cohort: None,
                urgency: Urgency::Soon,
                consent_share_detail: true,
                referrer: Referrer {
                    user: None,
                    name: "Dr Test".into(),
                    contact: "surgery".into(),
                },
                received_on: day(2026, 1, 5),
            })
            .await
            .unwrap();
        let caseworker = store
            .principal(
                store
                    .user_by_username("caseworker@test")
                    .await
                    .unwrap()
                    .unwrap(),
            )
            .await
            .unwrap();
        let case = store
            .triage(
                &caseworker,
                referral.id,
                &TriageDecision::Accept {
                    lead: Some(caseworker.user),
                    reason: "Fits".into(),
                    override_reason: None,
                    intensity: Intensity::High,
                    confirm_over_capacity: false,
                },
                day(2026, 1, 6),
            )
            .await
            .unwrap()
            .unwrap();
        store
            .change_plan(
                &store.open_case(&caseworker, case, true).await.unwrap(),
                0,
                &PlanItem::Goal {
                    text: "Join the walking group".into(),
                    target_on: Some(day(2026, 4, 1)),
                },
                day(2026, 1, 7),
            )
            .await
            .unwrap();
        for on in [day(2026, 1, 8), day(2026, 2, 9)] {
            store
                .record_contact(
                    &store.open_case(&caseworker, case, true).await.unwrap(),
                    &NewContact {
                        contact_type: ContactType::HomeVisit,
                        on,
                        minutes: 45,
                        present: "Ada".into(),
                        note: "Talked about the walking group".into(),
                        sensitive: None,
                    },
                )
                .await
                .unwrap();
        }
        let catalogue = careweave_instruments::load(&[careweave_instruments::Source::Shipped]);
        let mut answers = careweave_instruments::Answers::new();
        answers
            .answer("satisfied", 4)
            .answer("worthwhile", 5)
            .answer("happy", 5)
            .answer("anxious", 7);
        store
            .record_outcome(
                &store.open_case(&caseworker, case, true).await.unwrap(),
                &careweave_store::outcomes::NewOutcome {
                    instrument: catalogue.get("ons4").expect("ONS4 ships"),
                    answers,
                    taken_on: day(2026, 1, 8),
                    point: careweave_domain::casework::OutcomePoint::Baseline,
                },
            )
            .await
            .unwrap();
        let server = Server::start(&db, store.clone()).await;
        Self {
            server,
            store,
            ada,
            stranger,
            case,
            service: service.get(),
            pcn,
            practice,
            charity,
            _db: db,
        }
    }

    /// Issues a token through the store for `name` in `org`.
    async fn token(&self, name: &str, org: OrganisationId, scope: ApiScope) -> String {
        let admin = self
            .store
            .principal(
                self.store
                    .user_by_username("admin@test")
                    .await
                    .unwrap()
                    .unwrap(),
            )
            .await
            .unwrap();
        // The admin administers the PCN only; other organisations' tokens come from an admin
        // there, made here for the test.
        let admin = if admin.has_role_in(Role::Admin, org) {
            admin
        } else {
            careweave_domain::access::Principal {
                user: admin.user,
                memberships: vec![Membership {
                    organisation: org,
                    role: Role::Admin,
                }],
            }
        };
        let user = self
            .store
            .user_by_username(&format!("{name}@test"))
            .await
            .unwrap()
            .unwrap();
        self.store
            .issue_api_token(
                &admin,
                &NewApiToken {
                    client_name: format!("{name} system"),
                    organisation: org,
                    acts_for: user,
                    scope,
                },
            )
            .await
            .unwrap()
            .token
            .expose_secret()
            .to_owned()
    }

    async fn fhir_get(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        let mut r = reqwest::Client::new().get(format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        keep(&body);
        (status, body)
    }

    async fn fhir_post(&self, token: &str, body: &str) -> (StatusCode, String, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/fhir/ServiceRequest", self.base))
            .bearer_auth(token)
            .header("content-type", "application/fhir+json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        keep(&body);
        (status, location, body)
    }

    /// The actions of the audit rows about `entity` (and `id`), newest first.
    async fn audited(&self, entity: &str, id: Option<i64>) -> Vec<String> {
        self.store
            .audit_entries(&AuditFilter {
                entity: Some(entity.into()),
                entity_id: id,
                limit: 200,
            })
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    }

    async fn waiting(&self) -> usize {
        let caseworker = self
            .store
            .principal(
                self.store
                    .user_by_username("caseworker@test")
                    .await
                    .unwrap()
                    .unwrap(),
            )
            .await
            .unwrap();
        self.store
            .waiting_list(&caseworker, &WaitingFilter::default(), day(2026, 6, 1))
            .await
            .unwrap()
            .referrals
            .len()
    }
}

/// Writes a received resource for the validator, when asked to. File names are unique across
/// the test binary's threads (a counter) and across the two backends' processes (the process id).
fn keep(body: &Value) {
    static WRITTEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let Ok(dir) = std::env::var("CAREWEAVE_FHIR_OUT") else {
        return;
    };
    let dir = format!("{dir}/api");
    let Some(kind) = body.get("resourceType").and_then(Value::as_str) else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let n = WRITTEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::fs::write(
        format!("{dir}/{kind}-{}-{n}.json", std::process::id()),
        body.to_string(),
    )
    .unwrap();
}

fn profile(resource: &Value) -> &str {
    resource["meta"]["profile"][0].as_str().unwrap_or_default()
}

fn entries(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().map(|x| x["resource"].clone()).collect())
        .unwrap_or_default()
}

on_both_backends!(an_admin_issues_a_token_once_and_revokes_it, |app| {
    let admin = app.sign_in("admin").await;
    let (status, body) = app.get(&admin, "/admin/api-tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("No tokens have been issued"), "{body}");
    let (status, _, body) = app
        .post(
            &admin,
            "/admin/api-tokens",
            "/admin/api-tokens",
            &[("client_name", "EMIS at Riverside")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("nhsuk-error-summary"), "{body}");
    assert!(
        body.contains("value=\"EMIS at Riverside\""),
        "typed values are kept"
    );
    let caseworker = app
        .store
        .user_by_username("caseworker@test")
        .await
        .unwrap()
        .unwrap();
    let acts_for = format!("{}:{}", caseworker.get(), app.pcn.get());
    let (status, _, body) = app
        .post(
            &admin,
            "/admin/api-tokens",
            "/admin/api-tokens",
            &[
                ("client_name", "EMIS at Riverside"),
                ("acts_for", &acts_for),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let marker = "<code id=\"issued-token\">";
    let start = body.find(marker).expect("the token is shown") + marker.len();
    let token = body[start..start + body[start..].find('<').unwrap()].to_owned();
    assert!(token.len() >= 43, "{token}");
    // Shown once: the list never shows it again.
    let (_, body) = app.get(&admin, "/admin/api-tokens").await;
    assert!(!body.contains(&token));
    assert!(body.contains("EMIS at Riverside"));

    let (status, bundle) = app.fhir_get(Some(&token), "/fhir/Patient").await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(bundle["total"], 1, "the caseload: Ada only");

    // Another organisation's worker cannot be picked, and a forged choice is refused.
    let linkworker = app
        .store
        .user_by_username("linkworker@test")
        .await
        .unwrap()
        .unwrap();
    let forged = format!("{}:{}", linkworker.get(), app.charity.get());
    let (status, _, _) = app
        .post(
            &admin,
            "/admin/api-tokens",
            "/admin/api-tokens",
            &[
                ("client_name", "x"),
                ("acts_for", &forged),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let listed = app
        .store
        .api_tokens_for_admin(
            &app.store
                .principal(
                    app.store
                        .user_by_username("admin@test")
                        .await
                        .unwrap()
                        .unwrap(),
                )
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    let id = listed[0].id;
    let (status, location, _) = app
        .post(
            &admin,
            "/admin/api-tokens",
            &format!("/admin/api-tokens/{id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/admin/api-tokens?done=revoked");
    let (status, outcome) = app.fhir_get(Some(&token), "/fhir/Patient").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(outcome["resourceType"], "OperationOutcome");

    // Disabling the account stops its tokens at once.
    let other = app.token("caseworker", app.pcn, ApiScope::Read).await;
    let (status, _) = app.fhir_get(Some(&other), "/fhir/Patient").await;
    assert_eq!(status, StatusCode::OK);
    app.store
        .set_account_active(
            careweave_store::account_admin::AccountActor::CommandLine,
            caseworker,
            false,
        )
        .await
        .unwrap();
    let (status, _) = app.fhir_get(Some(&other), "/fhir/Patient").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled account's token"
    );

    let actions = app.audited("api_token", None).await;
    assert!(actions.contains(&"create".to_owned()), "{actions:?}");
    assert!(
        actions.contains(&"update".to_owned()),
        "revoked: {actions:?}"
    );
    assert!(
        actions.contains(&"read".to_owned()),
        "each use: {actions:?}"
    );
    assert!(
        actions.contains(&"denied".to_owned()),
        "the revoked token's try: {actions:?}"
    );
});

on_both_backends!(fhir_reads_are_reads_through_the_policy, |app| {
    let (status, metadata) = app.fhir_get(None, "/fhir/metadata").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(metadata["resourceType"], "CapabilityStatement");
    assert_eq!(metadata["fhirVersion"], "4.0.1");

    let (status, outcome) = app.fhir_get(None, "/fhir/Patient").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token");
    assert_eq!(outcome["issue"][0]["code"], "login");
    let (status, _) = app.fhir_get(Some("not-a-token"), "/fhir/Patient").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let token = app.token("caseworker", app.pcn, ApiScope::Read).await;
    let t = Some(token.as_str());
    let (status, bundle) = app
        .fhir_get(
            t,
            &format!("/fhir/Patient?identifier={NHS_SYSTEM}|{ADA_NHS}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(bundle["total"], 1);
    let patient = &entries(&bundle)[0];
    assert_eq!(
        profile(patient),
        "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
    );
    assert_eq!(patient["identifier"][0]["value"], ADA_NHS);
    assert_eq!(
        patient["identifier"][0]["extension"][0]["url"],
        "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
    );
    assert_eq!(
        patient["generalPractitioner"][0]["identifier"]["value"],
        "Y00001"
    );
    let gp = patient["generalPractitioner"][0]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, practice) = app.fhir_get(t, &format!("/fhir/{gp}")).await;
    assert_eq!(status, StatusCode::OK, "the reference resolves");
    assert_eq!(practice["name"], "Riverside Surgery");

    let ada = app.ada.get();
    let (status, read) = app.fhir_get(t, &format!("/fhir/Patient/{ada}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["id"], ada.to_string());

    let (_, referrals) = app
        .fhir_get(t, &format!("/fhir/ServiceRequest?patient=Patient/{ada}"))
        .await;
    assert_eq!(referrals["total"], 1, "{referrals}");
    let sr = &entries(&referrals)[0];
    assert_eq!(sr["subject"]["reference"], format!("Patient/{ada}"));
    assert_eq!(sr["code"]["coding"][0]["code"], "871731000000106");
    assert_eq!(sr["status"], "completed");
    let performer = sr["performer"][0]["reference"].as_str().unwrap().to_owned();
    let (status, _) = app.fhir_get(t, &format!("/fhir/{performer}")).await;
    assert_eq!(status, StatusCode::OK, "the performer resolves");

    let (_, episodes) = app
        .fhir_get(
            t,
            &format!("/fhir/EpisodeOfCare?patient={ada}&status=active"),
        )
        .await;
    assert_eq!(episodes["total"], 1, "{episodes}");
    let (_, none) = app
        .fhir_get(
            t,
            &format!("/fhir/EpisodeOfCare?patient={ada}&status=finished"),
        )
        .await;
    assert_eq!(none["total"], 0);
    let case = app.case.get();
    let (status, plan) = app.fhir_get(t, &format!("/fhir/CarePlan/{case}")).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let goal = plan["goal"][0]["reference"].as_str().unwrap().to_owned();
    let (status, goal) = app.fhir_get(t, &format!("/fhir/{goal}")).await;
    assert_eq!(status, StatusCode::OK, "the plan's goal resolves");
    assert_eq!(goal["description"]["text"], "Join the walking group");

    // Two contacts, one a page: the paging links lead on.
    let (_, first) = app
        .fhir_get(t, &format!("/fhir/Encounter?patient={ada}&_count=1"))
        .await;
    assert_eq!(first["total"], 2);
    assert_eq!(entries(&first).len(), 1);
    let next = first["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .expect("a next link")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, second) = app.fhir_get(t, next.trim_start_matches(&app.base)).await;
    assert_eq!(entries(&second).len(), 1);
    assert_ne!(entries(&first)[0]["id"], entries(&second)[0]["id"]);
    assert_eq!(entries(&second)[0]["class"]["code"], "HH");
    let (_, measures) = app
        .fhir_get(t, &format!("/fhir/Observation?patient={ada}"))
        .await;
    assert_eq!(measures["total"], 1, "{measures}");
    assert_eq!(
        entries(&measures)[0]["component"].as_array().unwrap().len(),
        4,
        "ONS4's scales"
    );
    let (_, february) = app
        .fhir_get(
            t,
            &format!("/fhir/Encounter?patient={ada}&date=ge2026-02-01"),
        )
        .await;
    assert_eq!(february["total"], 1);

    // Nobody's record is reached without a care relationship: the same answer as no record.
    let stranger = app.stranger.get();
    let (status, outcome) = app.fhir_get(t, &format!("/fhir/Patient/{stranger}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let (_, missing) = app.fhir_get(t, "/fhir/Patient/999999").await;
    assert_eq!(
        missing["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .replace("999999", "X"),
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .replace(&stranger.to_string(), "X")
    );
    let (_, found) = app
        .fhir_get(
            t,
            &format!("/fhir/Patient?identifier={NHS_SYSTEM}|{STRANGER_NHS}"),
        )
        .await;
    assert_eq!(found["total"], 0);
    let (_, theirs) = app
        .fhir_get(t, &format!("/fhir/EpisodeOfCare?patient={stranger}"))
        .await;
    assert_eq!(theirs["total"], 0);
    let other = app.token("linkworker", app.charity, ApiScope::Read).await;
    let (status, _) = app
        .fhir_get(Some(&other), &format!("/fhir/CarePlan/{case}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another employer's worker");
    assert!(
        app.audited("person", Some(stranger))
            .await
            .contains(&"denied".to_owned()),
        "refusals are audited"
    );
    assert!(
        app.audited("person", Some(ada))
            .await
            .contains(&"read".to_owned()),
        "reads are audited"
    );

    // Bad searches are refused with the parameter named, not ignored.
    let (status, outcome) = app
        .fhir_get(t, "/fhir/Patient?_lastUpdated=ge2026-01-01")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(outcome["issue"][0]["expression"][0], "_lastUpdated");
    let (status, _) = app.fhir_get(t, "/fhir/Patient?identifier=9434765918").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a failed check digit");
    let (status, _) = app.fhir_get(t, "/fhir/EpisodeOfCare").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "patient is required");
});

fn referral(nhs: &str, service: i64) -> Value {
    json!({
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "asap",
        "subject": { "reference": "#p" },
        "contained": [{
            "resourceType": "Patient",
            "id": "p",
            "identifier": [{ "system": NHS_SYSTEM, "value": nhs }],
            "name": [{ "family": "Example", "given": ["Ada"] }],
            "birthDate": "1950-05-17",
        }],
        "performer": [{ "reference": format!("HealthcareService/{service}") }],
        "reasonCode": [{ "text": "Isolated after a fall" }],
        "requester": { "display": "Dr Riverside" },
    })
}

on_both_backends!(a_posted_service_request_lands_on_the_waiting_list, |app| {
    let before = app.waiting().await;
    let reader = app.token("caseworker", app.pcn, ApiScope::Read).await;
    let (status, _, outcome) = app
        .fhir_post(&reader, &referral(ADA_NHS, app.service).to_string())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a read-only token");
    assert_eq!(outcome["issue"][0]["code"], "forbidden");

    let gp = app.token("gp", app.practice, ApiScope::ReadWrite).await;
    let (status, _, outcome) = app.fhir_post(&gp, "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(outcome["issue"][0]["code"], "structure");
    let mut wrong = referral(ADA_NHS, app.service);
    wrong["resourceType"] = json!("Patient");
    let (status, _, outcome) = app.fhir_post(&gp, &wrong.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        outcome["issue"][0]["expression"][0],
        "ServiceRequest.resourceType"
    );
    let (status, _, outcome) = app
        .fhir_post(&gp, &referral("9434765918", app.service).to_string())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        outcome["issue"][0]["expression"][0],
        "ServiceRequest.contained[0].identifier[0].value"
    );
    let mut unknown_system = referral(ADA_NHS, app.service);
    unknown_system["code"] = json!({ "coding": [{ "system": "http://loinc.org", "code": "1-8" }] });
    let (status, _, outcome) = app.fhir_post(&gp, &unknown_system.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outcome["issue"][0]["code"], "code-invalid");
    let mut no_reason = referral(ADA_NHS, app.service);
    no_reason.as_object_mut().unwrap().remove("reasonCode");
    let (status, _, outcome) = app.fhir_post(&gp, &no_reason.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        outcome["issue"][0]["expression"][0],
        "ServiceRequest.reasonCode"
    );
    let (status, _, outcome) = app
        .fhir_post(&gp, &referral(ADA_NHS, 424_242).to_string())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        outcome["issue"][0]["expression"][0],
        "ServiceRequest.performer[0].reference"
    );
    let mut by_id = referral(ADA_NHS, app.service);
    by_id["subject"] = json!({ "reference": format!("Patient/{}", app.ada.get()) });
    let (status, _, _) = app.fhir_post(&gp, &by_id.to_string()).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an id never names the person"
    );
    assert_eq!(
        app.waiting().await,
        before,
        "nothing stored for a refused request"
    );

    let (status, location, created) = app
        .fhir_post(&gp, &referral(ADA_NHS, app.service).to_string())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(location.contains("/fhir/ServiceRequest/"), "{location}");
    assert_eq!(created["resourceType"], "ServiceRequest");
    assert_eq!(created["priority"], "asap");
    // The sender is not told whether or to whom it was matched.
    assert!(created["subject"].get("reference").is_none(), "{created}");
    assert_eq!(app.waiting().await, before + 1, "on the waiting list");
    // It was matched by NHS number, date of birth and name, as any referral is: the team sees
    // it under Ada's record.
    let caseworker = app.token("caseworker", app.pcn, ApiScope::Read).await;
    let (_, referrals) = app
        .fhir_get(
            Some(&caseworker),
            &format!("/fhir/ServiceRequest?patient={}", app.ada.get()),
        )
        .await;
    assert_eq!(referrals["total"], 2, "{referrals}");
    let id = location.rsplit('/').next().unwrap();
    let (status, mine) = app
        .fhir_get(Some(&gp), &format!("/fhir/ServiceRequest/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "the sender reads what they sent");
    assert!(mine["subject"].get("reference").is_none(), "{mine}");
});
