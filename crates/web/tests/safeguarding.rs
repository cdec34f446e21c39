//! Safeguarding concerns over HTTP, on SQLite and PostgreSQL: raising one from the case page, the
//! error summary that keeps what was typed, the concern page for the people allowed and 403 for
//! everyone else, the open count on the case page, and the audit of every open.

#[macro_use]
mod support;

use careweave_domain::access::Role;
use careweave_domain::casework::CaseId;
use careweave_store::audit::AuditFilter;
use careweave_store::safeguarding::ENTITY;
use careweave_store::testing::{cross_employer_case, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{Datelike, NaiveDate};
use reqwest::StatusCode;
use support::{Server, PASSWORD};

/// A running app with the store's shared cross-employer case: `lead` (charity worker, lead),
/// `coworker` (PCN worker, co-worker), and here also `supervisor` (charity), `partnersupervisor`
/// (PCN) and `admin` (charity).
struct TestApp {
    server: Server,
    store: Store,
    case: CaseId,
    _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

impl TestApp {
    async fn spawn(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let shared = cross_employer_case(&store, PASSWORD).await;
        for (name, role, at) in [
            ("supervisor", Role::Supervisor, shared.charity),
            ("partnersupervisor", Role::Supervisor, shared.pcn),
            ("admin", Role::Admin, shared.charity),
        ] {
            test_user(&store, name, role, at, PASSWORD).await;
        }
        let server = Server::start(&db, store.clone()).await;
        Self {
            server,
            store,
            case: shared.case,
            _db: db,
        }
    }

    /// Raises a concern as `client` from the case page and returns the concern's page.
    async fn raise(&self, client: &reqwest::Client, description: &str) -> String {
        let case_page = format!("/cases/{}", self.case);
        let t = today();
        let (status, location, _) = self
            .post(
                client,
                &case_page,
                &format!("{case_page}/safeguarding"),
                &[
                    ("sg_category", "adult_financial"),
                    ("sg_risk", "high"),
                    ("sg_noticed-day", &t.day().to_string()),
                    ("sg_noticed-month", &t.month().to_string()),
                    ("sg_noticed-year", &t.year().to_string()),
                    ("sg_description", description),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.starts_with("/safeguarding/"), "{location}");
        location
    }

    async fn audit_count(&self, concern: i64, action: &str) -> usize {
        self.store
            .audit_entries(&AuditFilter {
                entity: Some(ENTITY.into()),
                entity_id: Some(concern),
                limit: 500,
            })
            .await
            .unwrap()
            .iter()
            .filter(|e| e.action == action)
            .count()
    }
}

on_both_backends!(
    the_allowed_people_see_a_concern_and_everyone_else_gets_403,
    |app| {
        let lead = app.sign_in("lead").await;
        let page = app.raise(&lead, "Her son keeps her bank card").await;
        let id: i64 = page.trim_start_matches("/safeguarding/").parse().unwrap();
        for name in ["lead", "supervisor"] {
            let client = app.sign_in(name).await;
            let (status, body) = app.get(&client, &page).await;
            assert_eq!(status, StatusCode::OK, "{name}");
            assert!(body.contains("Her son keeps her bank card"), "{name}");
            assert!(body.contains("Adult: financial or material abuse"));
            let (_, case_page) = app.get(&client, &format!("/cases/{}", app.case)).await;
            assert!(case_page.contains("1 open concern"), "{name}");
        }
        for name in ["coworker", "partnersupervisor", "admin"] {
            let client = app.sign_in(name).await;
            let (status, body) = app.get(&client, &page).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
            assert!(!body.contains("bank card"), "{name}");
        }
        // The co-worker from the other employer still opens the case, but sees no count and no link.
        let coworker = app.sign_in("coworker").await;
        let (status, case_page) = app.get(&coworker, &format!("/cases/{}", app.case)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!case_page.contains("open concern"));
        assert!(!case_page.contains(&page));
        // Every open is audited: the raise, the two reads and the three refusals.
        assert_eq!(app.audit_count(id, "create").await, 1);
        assert_eq!(app.audit_count(id, "read").await, 2);
        assert_eq!(app.audit_count(id, "denied").await, 3);
    }
);

on_both_backends!(
    a_co_worker_raises_a_concern_and_sees_only_their_own,
    |app| {
        let lead = app.sign_in("lead").await;
        let leads = app.raise(&lead, "Bruises on her arms").await;
        let coworker = app.sign_in("coworker").await;
        let theirs = app.raise(&coworker, "Neighbour takes her pension").await;
        assert_eq!(app.get(&coworker, &theirs).await.0, StatusCode::OK);
        assert_eq!(app.get(&coworker, &leads).await.0, StatusCode::FORBIDDEN);
        let (_, case_page) = app.get(&coworker, &format!("/cases/{}", app.case)).await;
        assert!(case_page.contains("1 open concern"));
        // The lead sees both, including the one the co-worker raised.
        let (_, case_page) = app.get(&lead, &format!("/cases/{}", app.case)).await;
        assert!(case_page.contains("2 open concerns"));
        assert_eq!(app.get(&lead, &theirs).await.0, StatusCode::OK);
    }
);

on_both_backends!(
    bad_input_shows_the_error_summary_and_keeps_what_was_typed,
    |app| {
        let lead = app.sign_in("lead").await;
        let case_page = format!("/cases/{}", app.case);
        let next_year = (today().year() + 1).to_string();
        let (status, _, body) = app
            .post(
                &lead,
                &case_page,
                &format!("{case_page}/safeguarding"),
                &[
                    ("sg_category", "child_neglect"),
                    ("sg_risk", "immediate"),
                    ("sg_noticed-day", "3"),
                    ("sg_noticed-month", "4"),
                    ("sg_noticed-year", &next_year),
                    ("sg_description", "   "),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("There is a problem"));
        assert!(body.contains("Describe what you saw or heard"));
        assert!(body.contains("The date you saw or heard it must be in the past"));
        assert!(body.contains(r#"value="child_neglect" selected"#));
        assert!(body.contains(r#"value="immediate" checked"#));
        assert!(body.contains(&format!(r#"value="{next_year}""#)));
        // Nothing was raised.
        assert!(app
            .store
            .audit_entries(&AuditFilter {
                entity: Some(ENTITY.into()),
                entity_id: None,
                limit: 10,
            })
            .await
            .unwrap()
            .is_empty());
    }
);

on_both_backends!(
    actions_and_the_local_authority_referral_are_recorded_on_the_concern_page,
    |app| {
        let lead = app.sign_in("lead").await;
        let page = app.raise(&lead, "Her son keeps her bank card").await;
        let t = today();
        let (day, month, year) = (
            t.day().to_string(),
            t.month().to_string(),
            t.year().to_string(),
        );
        let (status, _, body) = app
            .post(
                &lead,
                &page,
                &format!("{page}/la-referral"),
                &[("sg_la_reference", "ASC-77")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("The date of the referral must include a day, month and year"));
        assert!(body.contains(r#"value="ASC-77""#));
        let (status, location, _) = app
            .post(
                &lead,
                &page,
                &format!("{page}/la-referral"),
                &[
                    ("sg_la_on-day", &day),
                    ("sg_la_on-month", &month),
                    ("sg_la_on-year", &year),
                    ("sg_la_reference", "ASC-77"),
                ],
            )
            .await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, page.as_str())
        );
        let (status, _, _) = app
            .post(
                &lead,
                &page,
                &format!("{page}/actions"),
                &[
                    ("sg_action_text", "Visit with the social worker"),
                    ("sg_action_owner", "Test lead"),
                    ("sg_action_due-day", &day),
                    ("sg_action_due-month", &month),
                    ("sg_action_due-year", &year),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, body) = app.get(&lead, &page).await;
        assert!(body.contains("Referred to the local authority"));
        assert!(body.contains("Reference: ASC-77"));
        assert!(body.contains("Visit with the social worker"));
        // The admin cannot change it either.
        let admin = app.sign_in("admin").await;
        let (status, _, _) = app
            .post(
                &admin,
                "/",
                &format!("{page}/close"),
                &[("sg_close_reason", "x")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
);

on_both_backends!(
    the_json_api_raises_reads_and_acts_on_a_concern_for_the_right_people_only,
    |app| {
        let lead = app.sign_in("lead").await;
        let raise = format!("/api/v1/cases/{}/safeguarding", app.case);
        let (status, errors) = app
            .api_post(
                &lead,
                &raise,
                serde_json::json!({ "sg_category": "adult_financial" }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = errors["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&"sg_risk"));
        assert!(fields.contains(&"sg_description"));
        let (status, raised) = app
            .api_post(
                &lead,
                &raise,
                serde_json::json!({
                    "sg_category": "adult_financial",
                    "sg_risk": "high",
                    "sg_noticed": today().to_string(),
                    "sg_description": "Her son keeps her bank card",
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let href = raised["href"].as_str().unwrap().to_owned();
        // Someone who may not open the case is refused the list (not given an empty one), and the
        // refusal is audited.
        let admin = app.sign_in("admin").await;
        let (status, _) = app.api_get(&admin, &raise).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let refusals = app
            .store
            .audit_entries(&AuditFilter {
                entity: Some(ENTITY.into()),
                entity_id: None,
                limit: 500,
            })
            .await
            .unwrap();
        assert!(
            refusals.iter().any(|e| e.action == "denied"
                && e.reason
                    .contains(&format!("case {}: concerns listed", app.case))),
            "{refusals:?}"
        );
        let (status, concern) = app.api_get(&lead, &href).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(concern["description"], "Her son keeps her bank card");
        assert_eq!(concern["grant"], "raised_concern");
        // Actions, the referral to the local authority and closing, each through the API.
        let act = |action: &str| format!("{href}/{action}");
        let (status, _) = app
            .api_post(
                &lead,
                &act("actions"),
                serde_json::json!({ "sg_action_text": "Speak to the bank", "sg_action_owner": "Lee", "sg_action_due": today().to_string() }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app
            .api_post(
                &lead,
                &act("la-referral"),
                serde_json::json!({ "sg_la_on": today().to_string(), "sg_la_reference": "ASC-12" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app
            .api_post(
                &lead,
                &act("close"),
                serde_json::json!({ "sg_close_reason": "Card returned; bank alert set" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, concern) = app.api_get(&lead, &href).await;
        assert_eq!(concern["status"], "closed");
        assert_eq!(concern["local_authority_referral"]["reference"], "ASC-12");
        assert_eq!(concern["actions"][0]["text"], "Speak to the bank");
        // The charity's supervisor sees it; the partner employer's supervisor and the admin do
        // not, and their case list leaves it out.
        let supervisor = app.sign_in("supervisor").await;
        assert_eq!(app.api_get(&supervisor, &href).await.0, StatusCode::OK);
        for name in ["partnersupervisor", "admin"] {
            let client = app.sign_in(name).await;
            assert_eq!(
                app.api_get(&client, &href).await.0,
                StatusCode::FORBIDDEN,
                "{name}"
            );
        }
        let (_, listed) = app.api_get(&lead, &raise).await;
        assert_eq!(listed["concerns"].as_array().unwrap().len(), 1);
        let coworker = app.sign_in("coworker").await;
        let (_, theirs) = app.api_get(&coworker, &raise).await;
        assert!(theirs["concerns"].as_array().unwrap().is_empty());
    }
);
