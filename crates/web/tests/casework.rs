//! Casework over HTTP, on SQLite and PostgreSQL: a referral from a GP, triage, the case page and its
//! access rules and audit, validation that keeps what was typed, refusal of a stale plan save, the
//! public self-referral form, and the message back to the GP.

#[macro_use]
mod support;

use careweave_domain::access::{Membership, Role};
use careweave_domain::casework::{EligibilityRule, ReviewInterval, ServiceKind};
use careweave_domain::casework::{NeedDomain, ReferralRoute, ReferralSource, Urgency};
use careweave_domain::clock::{parse_time_zone, Clock};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, Sex};
use careweave_store::accounts::NewUser;
use careweave_store::audit::AuditFilter;
use careweave_store::casework::{CaseworkSettings, NewReferral, ReferredPerson, Referrer};
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use chrono::NaiveDate;
use reqwest::StatusCode;
use secrecy::SecretString;
use support::{new_client, Server, PASSWORD};

/// A running app with a practice, the PCN (Focused Care) and a charity (social prescribing), a
/// registered person, and accounts: `gp` (referrer), `caseworker` (PCN), `linkworker` (charity),
/// `admin`.
struct TestApp {
    server: Server,
    store: Store,
    practice: OrganisationId,
    focused: i64,
    social: i64,
    /// Ada's record.
    person: String,
    /// A registered person nobody in the app has a relationship with.
    stranger: String,
    _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

impl TestApp {
    async fn spawn(backend: Backend) -> Self {
        Self::spawn_at(backend, None).await
    }

    /// Like [`TestApp::spawn`], with the application's clock fixed when `clock` is given.
    async fn spawn_at(backend: Backend, clock: Option<Clock>) -> Self {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let org = |name: &str, kind| NewOrganisation {
            name: name.into(),
            kind,
            ods_code: None,
            place: None,
        };
        let practice = store
            .insert_organisation(&org("Riverside Surgery", OrganisationKind::GpPractice))
            .await
            .unwrap();
        let pcn = store
            .insert_organisation(&org("Riverside PCN", OrganisationKind::Pcn))
            .await
            .unwrap();
        let charity = store
            .insert_organisation(&org("Riverside Community Trust", OrganisationKind::Vcse))
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
        let service = |name: &'static str, provider, kind, rule| {
            let store = store.clone();
            async move {
                let id = store
                    .insert_service(name, provider, None, name)
                    .await
                    .unwrap();
                store
                    .add_casework_settings(
                        id,
                        &CaseworkSettings {
                            kind,
                            rule,
                            review_interval: ReviewInterval::days(92).unwrap(),
                            worker_cap: Some(20),
                            practice_cap: Some(20),
                            partners: vec![],
                        },
                    )
                    .await
                    .unwrap();
                id.get()
            }
        };
        let focused = service(
            "Focused Care",
            pcn,
            ServiceKind::FocusedCare,
            EligibilityRule::NeedsInDomains(2),
        )
        .await;
        let social = service(
            "Social prescribing",
            charity,
            ServiceKind::SocialPrescribing,
            EligibilityRule::Open,
        )
        .await;
        let register = |nhs: &str, given: &str, family: &str, born: NaiveDate| NewPerson {
            nhs_number: nhs.parse::<NhsNumber>().unwrap(),
            given_name: given.into(),
            family_name: family.into(),
            date_of_birth: born,
            sex: Sex::Female,
            postcode: None,
            lsoa: None,
            imd_decile: None,
            registered_practice: practice,
            household: None,
            date_of_death: None,
        };
        let stranger = store
            .register_person(
                None,
                &register(
                    "9434765870",
                    "Sam",
                    "Stranger",
                    NaiveDate::from_ymd_opt(1961, 2, 3).unwrap(),
                ),
                "test",
            )
            .await
            .unwrap();
        let person = store
            .register_person(
                None,
                &NewPerson {
                    nhs_number: "9434765919".parse::<NhsNumber>().unwrap(),
                    given_name: "Ada".into(),
                    family_name: "Example".into(),
                    date_of_birth: NaiveDate::from_ymd_opt(1950, 5, 17).unwrap(),
                    sex: Sex::Female,
                    postcode: None,
                    lsoa: None,
                    imd_decile: None,
                    registered_practice: practice,
                    household: None,
                    date_of_death: None,
                },
                "test",
            )
            .await
            .unwrap();
        let server = match clock {
            Some(clock) => Server::start_at(&db, store.clone(), clock).await,
            None => Server::start(&db, store.clone()).await,
        };
        Self {
            server,
            store,
            practice,
            focused,
            social,
            person: format!("/people/{person}"),
            stranger: format!("/people/{stranger}"),
            _db: db,
        }
    }

    /// Posts a form with the client's CSRF token; returns status, Location and body.
    async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let token = self.csrf(client, "/refer").await;
        let mut fields: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        fields.extend_from_slice(form);
        let r = client
            .post(format!("{}{path}", self.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (r.status(), location, r.text().await.unwrap())
    }

    /// A GP refers Ada to `service`; returns the referral's path.
    async fn refer(&self, service: i64, share: &str, domains: &[&str]) -> String {
        let gp = self.sign_in("gp").await;
        let service = service.to_string();
        let practice = self.practice.get().to_string();
        let mut form = vec![
            ("service", service.as_str()),
            ("nhs_number", "943 476 5919"),
            ("given_name", "Ada"),
            ("family_name", "Example"),
            ("dob-day", "17"),
            ("dob-month", "5"),
            ("dob-year", "1950"),
            ("practice", practice.as_str()),
            ("contact", "07700 900000"),
            ("source", "gp"),
            ("reason", "Lonely since bereavement"),
            ("needs", "Debt and a damp flat"),
            ("urgency", "soon"),
            ("consent", "yes"),
            ("share_detail", share),
        ];
        for d in domains {
            form.push(("need_domains", d));
        }
        let (status, location, body) = self.post(&gp, "/referrals/new", &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        location.trim_end_matches("?sent=1").to_owned()
    }

    /// Triages a referral as `worker`, accepting with them as lead; returns the case's path.
    async fn accept(&self, worker: &reqwest::Client, referral: &str, lead: &str) -> String {
        let (status, location, body) = self
            .post(
                worker,
                &format!("{referral}/triage"),
                &[
                    ("outcome", "accept"),
                    ("reason", "Fits the service"),
                    ("lead", lead),
                    ("intensity", "high"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        location
    }

    async fn user_id(&self, name: &str) -> String {
        self.store
            .verify_password(
                &format!("{name}@test"),
                &SecretString::from(PASSWORD.to_owned()),
            )
            .await
            .unwrap()
            .unwrap()
            .get()
            .to_string()
    }
}

on_both_backends!(
    a_bad_nhs_number_is_refused_and_what_was_typed_is_kept,
    |app| {
        let gp = app.sign_in("gp").await;
        let service = app.focused.to_string();
        let (status, _, body) = app
            .post(
                &gp,
                "/referrals/new",
                &[
                    ("service", &service),
                    ("nhs_number", "943 476 5918"),
                    ("given_name", "Grace"),
                    ("reason", "Needs help with money"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("nhsuk-error-summary"), "{body}");
        assert!(body.contains("check digit"), "{body}");
        assert!(
            !body.contains("You cannot refer this person from a record"),
            "no one was named by id: {body}"
        );
        assert!(body.contains("Confirm that the person agreed to be referred"));
        assert!(body.contains("value=\"Grace\""), "typed values are kept");
        assert!(body.contains("Needs help with money"));
    }
);

on_both_backends!(
    only_the_team_a_referral_waits_with_opens_it_and_every_open_is_audited,
    |app| {
        let referral = app
            .refer(app.focused, "yes", &["housing", "finances"])
            .await;
        let linkworker = app.sign_in("linkworker").await;
        let (status, _) = app.get(&linkworker, &referral).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "another employer's worker");
        let caseworker = app.sign_in("caseworker").await;
        let (status, body) = app.get(&caseworker, "/waiting-list").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("EXAMPLE, Ada"), "{body}");
        // The team triages from what was sent: the record is not theirs until they accept.
        let (status, body) = app.get(&caseworker, &referral).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Lonely since bereavement"), "{body}");
        assert!(!body.contains("href=\"/people/"), "{body}");
        let (status, _) = app.get(&caseworker, &app.person).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the record before triage");
        let lead = app.user_id("caseworker").await;
        let case = app.accept(&caseworker, &referral, &lead).await;
        let (status, body) = app.get(&caseworker, &case).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("lead worker since"), "{body}");
        let (status, _) = app.get(&caseworker, &app.person).await;
        assert_eq!(status, StatusCode::OK, "the record once the case is theirs");
        let (status, _) = app.get(&linkworker, &case).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // The referring GP follows the outcome on their referral, not through the record or
        // the case.
        let gp = app.sign_in("gp").await;
        let (status, body) = app.get(&gp, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Your referrals"), "{body}");
        assert!(body.contains("Ada Example"), "{body}");
        assert!(body.contains("Accepted: case open"), "{body}");
        let (status, body) = app.get(&gp, &referral).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Accepted: Fits the service"), "{body}");
        assert!(body.contains("data-testid=\"case-status\">Open"), "{body}");
        assert!(!body.contains("href=\"/cases/"), "{body}");
        assert!(!body.contains("Record decision"), "{body}");
        let (status, _) = app.get(&gp, &case).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app.get(&gp, &app.person).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = app
            .post(
                &gp,
                &format!("{case}/carers"),
                &[
                    ("carer_name", "Bob"),
                    ("relationship", "son"),
                    ("involve", "yes"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // The admin reads who looked, and why; the admin cannot open the case.
        let admin = app.sign_in("admin").await;
        let (status, _) = app.get(&admin, &case).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let entries = app
            .store
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: None,
                limit: 500,
            })
            .await
            .unwrap();
        assert!(entries
            .iter()
            .any(|e| e.action == "read" && e.reason.starts_with("casework case")));
        assert!(entries.iter().filter(|e| e.action == "denied").count() >= 3);
    }
);

on_both_backends!(
    contacts_and_discharge_are_validated_and_a_stale_plan_is_refused,
    |app| {
        let referral = app.refer(app.social, "yes", &[]).await;
        let worker = app.sign_in("linkworker").await;
        let lead = app.user_id("linkworker").await;
        let case = app.accept(&worker, &referral, &lead).await;
        // A contact in the future is refused, with what was typed kept.
        let (status, _, body) = app
            .post(
                &worker,
                &format!("{case}/contacts"),
                &[
                    ("contact_type", "home_visit"),
                    ("contact-day", "1"),
                    ("contact-month", "1"),
                    ("contact-year", "2099"),
                    ("minutes", "40"),
                    ("note", "Talked about the lunch club"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Contact date must be in the past"), "{body}");
        assert!(body.contains("Talked about the lunch club"));
        // A discharge without a reason is refused.
        let (status, _, body) = app
            .post(
                &worker,
                &format!("{case}/discharge"),
                &[("destination", "community_group")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Select the reason for discharge"), "{body}");
        // Two workers open the plan at version 0; the second save is refused, never silently applied.
        let save = |text: &'static str| {
            let app = &app;
            let worker = &worker;
            let case = case.clone();
            async move {
                app.post(
                    worker,
                    &format!("{case}/plan"),
                    &[
                        ("version", "0"),
                        ("what_matters", text),
                        ("priorities", "Company\nWarm home"),
                    ],
                )
                .await
            }
        };
        let (first, _, _) = save("Seeing my grandchildren").await;
        assert_eq!(first, StatusCode::SEE_OTHER);
        let (second, _, body) = save("Something else").await;
        assert_eq!(second, StatusCode::CONFLICT);
        assert!(body.contains("Someone else changed this plan"), "{body}");
        let (_, page) = app.get(&worker, &case).await;
        assert!(page.contains("Seeing my grandchildren"));
        // The JSON API refuses the same stale save with 409.
        let token = app.csrf(&worker, "/refer").await;
        let id = case.trim_start_matches("/cases/");
        let r = worker
            .post(format!("{}/api/v1/cases/{id}/plan", app.base))
            .header("x-csrf-token", token)
            .json(&serde_json::json!({ "version": 0, "what_matters": "Again" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
    }
);

/// Half past midnight on 16 June 2026 in London, in British Summer Time: still the 15th in UTC.
fn half_past_midnight_bst() -> Clock {
    let instant = chrono::DateTime::parse_from_rfc3339("2026-06-15T23:30:00Z")
        .unwrap()
        .to_utc();
    Clock::fixed(instant, parse_time_zone("Europe/London").unwrap())
}

/// A contact dated today is accepted between midnight and one in the morning in summer time, when
/// the UTC date is still yesterday (issue 13: "today" was read in UTC and refused it as in the
/// future). The case opens, and the contact is dated, on the London date.
async fn a_contact_dated_today_is_accepted_at_half_past_midnight_bst(backend: Backend) {
    let app = TestApp::spawn_at(backend, Some(half_past_midnight_bst())).await;
    let referral = app.refer(app.social, "yes", &[]).await;
    let worker = app.sign_in("linkworker").await;
    let lead = app.user_id("linkworker").await;
    let case = app.accept(&worker, &referral, &lead).await;
    let contact = |day: &'static str| {
        let (app, worker, case) = (&app, &worker, case.clone());
        async move {
            app.post(
                worker,
                &format!("{case}/contacts"),
                &[
                    ("contact_type", "phone"),
                    ("contact-day", day),
                    ("contact-month", "6"),
                    ("contact-year", "2026"),
                    ("minutes", "15"),
                    ("note", "Called just after midnight"),
                ],
            )
            .await
        }
    };
    // Tomorrow in London is still refused as in the future.
    let (status, _, body) = contact("17").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Contact date must be in the past"), "{body}");
    let (status, location, body) = contact("16").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.ends_with("#contacts"), "{location}");
    let id = case.trim_start_matches("/cases/");
    let json: serde_json::Value = worker
        .get(format!("{}/api/v1/cases/{id}", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["opened_on"], "2026-06-16");
    assert_eq!(json["contacts"][0]["on"], "2026-06-16");
}

mod a_contact_dated_today_is_accepted_at_half_past_midnight_bst {
    use super::*;

    #[tokio::test]
    async fn sqlite() {
        super::a_contact_dated_today_is_accepted_at_half_past_midnight_bst(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        super::a_contact_dated_today_is_accepted_at_half_past_midnight_bst(Backend::Postgres).await;
    }
}

on_both_backends!(
    the_waiting_list_shows_fifty_at_a_time_in_priority_order,
    |app| {
        // Fifty-five routine referrals and one urgent one that arrived last: the urgent one must lead
        // page 1, and page 2 holds the last five.
        for n in 0..56_u32 {
            let urgent = n == 55;
            app.store
                .create_referral(&NewReferral {
                    service: careweave_domain::ServiceId::new(app.focused),
                    known_person: None,
                    person: ReferredPerson {
                        given_name: format!("Person{n:02}"),
                        family_name: if urgent { "Urgent" } else { "Waiting" }.to_owned(),
                        date_of_birth: NaiveDate::from_ymd_opt(1950, 1, 1).unwrap(),
                        nhs_number: None,
                        practice: Some(app.practice),
                        contact: "07700 900000".to_owned(),
                    },
                    source: ReferralSource::Gp,
                    route: ReferralRoute::App,
                    reason: "Lonely".to_owned(),
                    needs: "Company".to_owned(),
                    concerns: String::new(),
                    need_domains: vec![NeedDomain::Finances, NeedDomain::Housing],
                    risk_flags: vec![],
                    cohort: None,
                    urgency: if urgent {
                        Urgency::Urgent
                    } else {
                        Urgency::Routine
                    },
                    consent_share_detail: true,
                    referrer: Referrer {
                        user: None,
                        name: "Dr Test".to_owned(),
                        contact: "Via the practice".to_owned(),
                    },
                    received_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
                        + chrono::Duration::days(i64::from(n)),
                })
                .await
                .unwrap();
        }
        let caseworker = app.sign_in("caseworker").await;
        let rows = |body: &str| body.matches("href=\"/referrals/").count();
        let (status, first) = app.get(&caseworker, "/waiting-list").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(rows(&first), 50);
        assert!(first.contains("Showing 1 to 50 of 56 referrals"), "{first}");
        assert!(first.contains("Waiting for triage (56)"));
        let urgent = first
            .find("URGENT, Person55")
            .expect("the urgent referral is on page 1");
        let routine = first
            .find("WAITING, Person00")
            .expect("the longest wait is on page 1");
        assert!(urgent < routine, "urgent first");
        assert!(first.contains("href=\"/waiting-list?page=2\" class=\"nhsuk-pagination__next\""));

        let (_, second) = app.get(&caseworker, "/waiting-list?page=2").await;
        assert_eq!(rows(&second), 6);
        assert!(
            second.contains("Showing 51 to 56 of 56 referrals"),
            "{second}"
        );
        assert!(
            second.contains("WAITING, Person54"),
            "the newest routine referral is last"
        );
        assert!(second.contains("aria-current=\"page\">2</a>"));

        // A page past the end shows the last; filters are kept in the page links.
        let (_, past) = app.get(&caseworker, "/waiting-list?page=9").await;
        assert!(past.contains("Showing 51 to 56 of 56 referrals"));
        let filtered = format!("/waiting-list?service={}", app.focused);
        let (_, body) = app.get(&caseworker, &filtered).await;
        assert!(
            body.contains(&format!(
                "href=\"/waiting-list?service={}&#38;page=2\"",
                app.focused
            )),
            "{body}"
        );
    }
);

on_both_backends!(the_gp_message_carries_codes_and_respects_consent, |app| {
    let today = chrono::Utc::now().date_naive().to_string();
    for (share, detail_shown) in [("yes", true), ("no", false)] {
        let referral = app.refer(app.social, share, &[]).await;
        let worker = app.sign_in("linkworker").await;
        let lead = app.user_id("linkworker").await;
        let case = app.accept(&worker, &referral, &lead).await;
        let (status, _, body) = app
            .post(
                &worker,
                &format!("{case}/contacts"),
                &[
                    ("contact_type", "phone"),
                    ("contact", &today),
                    ("minutes", "20"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let (status, _, body) = app
            .post(
                &worker,
                &format!("{case}/discharge"),
                &[
                    ("discharge_reason", "declined"),
                    ("destination", "none"),
                    ("gp_agreement", "agreed"),
                    ("discharged", &today),
                    ("outcomes", "Chose to stop after one call"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let (status, html) = app.get(&worker, &format!("{case}/gp-message")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("871731000000106"), "{html}");
        assert!(html.contains("871711000000103"));
        assert!(html.contains("943 476 5919"));
        assert_eq!(html.contains("Lonely since bereavement"), detail_shown);
        assert_eq!(html.contains("Chose to stop after one call"), detail_shown);
        // The message goes to the GP's system as structured data; the referrer's own account
        // follows the outcome on the referral, not through the case.
        let gp = app.sign_in("gp").await;
        let id = case.trim_start_matches("/cases/");
        let r = gp
            .get(format!("{}/api/v1/cases/{id}/gp-message", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (_, page) = app.get(&gp, &referral).await;
        assert!(
            page.contains("data-testid=\"case-status\">Discharged"),
            "{page}"
        );
        let json: serde_json::Value = worker
            .get(format!("{}/api/v1/cases/{id}/gp-message", app.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(json["coded_entries"][0]["code"], "871731000000106");
        assert_eq!(json["support_offered"]["total_contacts"], 1);
        assert_eq!(json["consent"]["share_detail_with_gp"], detail_shown);
        assert_eq!(
            json["referral_details"]["reason_for_referral"].is_null(),
            !detail_shown
        );
        assert_eq!(json["discharge"]["reason"], "Person chose to stop");
        // Discharge ends every worker's part in the case; the message still names the lead who
        // supported the person (issue 6).
        assert_eq!(json["support_offered"]["lead_worker"], "Test linkworker");
    }
});

// Issue 6: a decline (or redirect) ends the triager's organisation's access to the referral, so
// the decision returns them to the waiting list with a confirmation instead of to a refusal page.
on_both_backends!(
    a_declined_referral_returns_the_triager_to_the_waiting_list,
    |app| {
        let referral = app
            .refer(app.focused, "yes", &["housing", "finances"])
            .await;
        let worker = app.sign_in("caseworker").await;
        let (status, location, body) = app
            .post(
                &worker,
                &format!("{referral}/triage"),
                &[("outcome", "decline"), ("reason", "Only one need")],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(location, "/waiting-list?decided=declined");
        let (status, page) = app.get(&worker, &location).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Referral declined"), "{page}");
        assert!(!page.contains(&format!("href=\"{referral}\"")), "{page}");
        // The referrer still follows it and reads the reason.
        let gp = app.sign_in("gp").await;
        let (status, page) = app.get(&gp, &referral).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Declined: Only one need"), "{page}");
    }
);

on_both_backends!(anyone_can_ask_for_support_without_an_account, |app| {
    let visitor = new_client();
    let (status, body) = app.get(&visitor, "/refer").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Ask for support"));
    let service = app.social.to_string();
    let (status, _, body) = app
        .post(
            &visitor,
            "/refer",
            &[
                ("service", &service),
                ("given_name", "Ada"),
                ("family_name", "Example"),
                ("dob-day", "17"),
                ("dob-month", "5"),
                ("dob-year", "1950"),
                ("contact", "07700 900000"),
                ("reason", "I would like to meet people"),
                ("consent", "yes"),
                ("share_detail", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Your request has been sent"));
    // The charity's link worker sees it unmatched and merges it with the registered person.
    let worker = app.sign_in("linkworker").await;
    let (_, list) = app.get(&worker, "/waiting-list").await;
    assert!(list.contains("Not matched"), "{list}");
    let href_start = list.find("href=\"/referrals/").unwrap() + 6;
    let referral = &list[href_start..href_start + list[href_start..].find('"').unwrap()];
    let (_, page) = app.get(&worker, referral).await;
    assert!(page.contains("same name and date of birth"), "{page}");
    let value_start = page
        .find("name=\"person\" type=\"radio\" value=\"")
        .unwrap()
        + 34;
    let person = &page[value_start..value_start + page[value_start..].find('"').unwrap()];
    let (status, _, _) = app
        .post(&worker, &format!("{referral}/link"), &[("person", person)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = app.get(&worker, referral).await;
    assert!(
        page.contains("Eligibility advice"),
        "triage is offered once linked"
    );
    // Without the CSRF token the public form is refused like any other.
    let r = new_client()
        .post(format!("{}/refer", app.base))
        .form(&[("service", service.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

on_both_backends!(the_public_form_speaks_to_the_person_themself, |app| {
    // Issue 16, item 10: the self-referral form's errors say "you" and "your GP", never "the
    // person" or "their GP", to the person filling it in.
    let visitor = new_client();
    let (status, _, body) = app.post(&visitor, "/refer", &[("reason", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary_start = body.find("nhsuk-error-summary").unwrap();
    let summary =
        &body[summary_start..summary_start + body[summary_start..].find("</div>").unwrap()];
    for words in [
        "Select the service you would like",
        "Enter your first name",
        "Enter your last name",
        "Your date of birth must include a day, month and year",
        "Enter how we can contact you, such as a phone number",
        "Select whether we can share details of your support with your GP",
    ] {
        assert!(summary.contains(words), "{words}: {summary}");
    }
    assert!(
        !summary.contains("the person") && !summary.contains("their GP"),
        "{summary}"
    );
});

/// The professional referral form filled in for Ada (with `given` as her first name), routine.
fn ada_form<'a>(service: &'a str, practice: &'a str, given: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("service", service),
        ("nhs_number", "943 476 5919"),
        ("given_name", given),
        ("family_name", "Example"),
        ("dob-day", "17"),
        ("dob-month", "5"),
        ("dob-year", "1950"),
        ("practice", practice),
        ("contact", "07700 900000"),
        ("source", "gp"),
        ("reason", "Lonely"),
        ("urgency", "soon"),
        ("consent", "yes"),
        ("share_detail", "yes"),
    ]
}

/// A referral's fields as the JSON API takes them, for Focused Care, about whoever the
/// demographics name.
fn api_referral(
    app: &TestApp,
    nhs: &str,
    given: &str,
    family: &str,
    born: &str,
) -> serde_json::Value {
    serde_json::json!({
        "service": app.focused,
        "nhs_number": nhs,
        "given_name": given,
        "family_name": family,
        "dob": born,
        "practice": app.practice.get(),
        "contact": "07700 900000",
        "source": "gp",
        "reason": "Lonely",
        "urgency": "routine",
        "consent": "yes",
        "share_detail": "yes",
        "need_domains": ["housing", "finances"],
    })
}

/// Posts a referral to the JSON API as `client`; returns the status and the JSON answer.
async fn post_api_referral(
    app: &TestApp,
    client: &reqwest::Client,
    body: &serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let token = app.csrf(client, "/refer").await;
    let r = client
        .post(format!("{}/api/v1/referrals", app.base))
        .header("x-csrf-token", token)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

// Issue 12, finding 1: a referrer posted a stranger's internal id and then read their record.
on_both_backends!(
    a_referral_naming_a_stranger_by_id_is_refused_and_opens_nothing,
    |app| {
        let gp = app.sign_in("gp").await;
        let stranger_id: i64 = app.stranger.trim_start_matches("/people/").parse().unwrap();
        let mut body = api_referral(&app, "9434765919", "Ada", "Example", "1950-05-17");
        body["person"] = serde_json::json!(stranger_id);
        let (status, json) = post_api_referral(&app, &gp, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
        assert_eq!(json["errors"][0]["field"], "person", "{json}");
        // An id nobody has is refused in exactly the same words.
        body["person"] = serde_json::json!(987_654);
        let (status, unknown) = post_api_referral(&app, &gp, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(unknown, json);
        // The form says the same, keeps what was typed and drops the id.
        let service = app.focused.to_string();
        let practice = app.practice.get().to_string();
        let stranger = stranger_id.to_string();
        let (status, _, page) = app
            .post(
                &gp,
                "/referrals/new",
                &[
                    [("person", stranger.as_str())].as_slice(),
                    &ada_form(&service, &practice, "Ada"),
                ]
                .concat(),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains("nhsuk-error-summary"), "{page}");
        assert!(
            page.contains("You cannot refer this person from a record"),
            "{page}"
        );
        assert!(page.contains("value=\"Ada\""), "typed values are kept");
        assert!(
            !page.contains(&format!("name=\"person\" value=\"{stranger}\"")),
            "{page}"
        );
        // Nothing was created, and the stranger's record stays shut to the referrer and to the
        // workers of the service they referred to.
        let caseworker = app.sign_in("caseworker").await;
        let (_, list) = app.get(&caseworker, "/waiting-list").await;
        assert!(!list.contains("href=\"/referrals/"), "{list}");
        for who in [&gp, &caseworker] {
            let (status, _) = app.get(who, &app.stranger).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
        // A worker may name someone whose record they may read: once Ada's case is the
        // caseworker's, their referral of her to social prescribing is linked at once.
        let referral = app
            .refer(app.focused, "yes", &["housing", "finances"])
            .await;
        let lead = app.user_id("caseworker").await;
        app.accept(&caseworker, &referral, &lead).await;
        let ada: i64 = app.person.trim_start_matches("/people/").parse().unwrap();
        let mut body = api_referral(&app, "", "Ada", "Example", "1950-05-17");
        body["service"] = serde_json::json!(app.social);
        body["nhs_number"] = serde_json::Value::Null;
        body["person"] = serde_json::json!(ada);
        let (status, json) = post_api_referral(&app, &caseworker, &body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "an NHS number is still needed: {json}"
        );
        body["nhs_number"] = serde_json::json!("9434765919");
        body["given_name"] = serde_json::json!("Ada Mary");
        let (status, json) = post_api_referral(&app, &caseworker, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        let linkworker = app.sign_in("linkworker").await;
        let (_, page) = app
            .get(
                &linkworker,
                json["href"]
                    .as_str()
                    .unwrap()
                    .replace("/api/v1", "")
                    .as_str(),
            )
            .await;
        assert!(
            page.contains("Eligibility advice"),
            "linked, so triage is offered: {page}"
        );
    }
);

on_both_backends!(
    a_match_is_never_told_to_the_referrer_and_needs_every_detail_to_agree,
    |app| {
        let gp = app.sign_in("gp").await;
        // Ada's NHS number with her details, and with a wrong given name.
        let (status, matched) = post_api_referral(
            &app,
            &gp,
            &api_referral(&app, "9434765919", " ada ", "EXAMPLE", "1950-05-17"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{matched}");
        let (status, unmatched) = post_api_referral(
            &app,
            &gp,
            &api_referral(&app, "9434765919", "Eve", "Example", "1950-05-17"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{unmatched}");
        // The two answers have the same shape and neither names a person.
        let keys =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&matched), ["href", "id"]);
        assert_eq!(keys(&matched), keys(&unmatched));
        for json in [&matched, &unmatched] {
            let r: serde_json::Value = gp
                .get(format!("{}{}", app.base, json["href"].as_str().unwrap()))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(r["person_id"].is_null(), "{r}");
            assert_eq!(r["status"], "waiting");
        }
        // The team sees which one was matched: the wrong name waits for the duplicate check.
        let caseworker = app.sign_in("caseworker").await;
        let (_, list) = app.get(&caseworker, "/waiting-list").await;
        assert_eq!(list.matches("Not matched").count(), 1, "{list}");
        let href = unmatched["href"].as_str().unwrap().replace("/api/v1", "");
        let (_, page) = app.get(&caseworker, &href).await;
        assert!(page.contains("same NHS number"), "{page}");
        // The form's answer is the referral page whether or not it matched.
        let service = app.focused.to_string();
        let practice = app.practice.get().to_string();
        for given in ["Ada", "Eve"] {
            let (status, location, _) = app
                .post(&gp, "/referrals/new", &ada_form(&service, &practice, given))
                .await;
            assert_eq!(status, StatusCode::SEE_OTHER);
            let id = location
                .strip_prefix("/referrals/")
                .and_then(|l| l.strip_suffix("?sent=1"))
                .unwrap_or_default();
            assert!(id.parse::<i64>().is_ok(), "{location}");
            let (_, page) = app.get(&gp, &location).await;
            assert!(page.contains("Referral sent"), "{page}");
            assert!(!page.contains("href=\"/people/"), "{page}");
        }
    }
);

on_both_backends!(the_public_form_never_names_a_person_by_id, |app| {
    let visitor = new_client();
    let service = app.social.to_string();
    let ada = app.person.trim_start_matches("/people/").to_owned();
    // Someone else's details with Ada's internal id: the id is ignored, nothing is linked.
    let (status, _, body) = app
        .post(
            &visitor,
            "/refer",
            &[
                ("person", ada.as_str()),
                ("service", &service),
                ("given_name", "Mallory"),
                ("family_name", "Sender"),
                ("dob-day", "1"),
                ("dob-month", "1"),
                ("dob-year", "1980"),
                ("contact", "mallory@example.org"),
                ("reason", "Please"),
                ("consent", "yes"),
                ("share_detail", "yes"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let worker = app.sign_in("linkworker").await;
    let (_, list) = app.get(&worker, "/waiting-list").await;
    assert!(list.contains("Not matched"), "{list}");
    let href_start = list.find("href=\"/referrals/").unwrap() + 6;
    let referral = &list[href_start..href_start + list[href_start..].find('"').unwrap()];
    let (_, page) = app.get(&worker, referral).await;
    assert!(page.contains("No one in the registry matches"), "{page}");
    assert!(!page.contains("Eligibility advice"), "not linked: {page}");
});

on_both_backends!(
    an_acceptance_against_the_advice_is_refused_at_the_override_reason_field,
    |app| {
        // One need where the service's rule asks for two: accepting needs a reason. The store
        // names the field of its refusal; the page used to find it by matching the message's
        // words, so a reworded message would have moved the error to the wrong field.
        let referral = app.refer(app.focused, "yes", &["housing"]).await;
        let worker = app.sign_in("caseworker").await;
        let lead = app.user_id("caseworker").await;
        let (status, _, body) = app
            .post(
                &worker,
                &format!("{referral}/triage"),
                &[
                    ("outcome", "accept"),
                    ("reason", "Fits the service"),
                    ("lead", &lead),
                    ("intensity", "high"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("href=\"#override_reason\""), "{body}");
        assert!(
            body.contains("Give a reason for accepting anyway"),
            "{body}"
        );
    }
);
