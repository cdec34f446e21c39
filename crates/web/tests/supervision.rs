//! Supervision and training over HTTP, on SQLite and PostgreSQL: recording a session through the
//! form (error summary, typed values kept), the session page and its JSON twin answered for the
//! worker and the supervisor and refused (403) for every other role, agreed actions, training
//! records through the form and the API with computed expiry, and the team view per role.

#[macro_use]
mod support;

use careweave_domain::access::Role;
use careweave_store::testing::{cross_employer_case, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{Datelike, Days, Months, NaiveDate};
use reqwest::StatusCode;
use support::{Server, PASSWORD};

/// Every role besides the worker (`lead`, of the charity) and their supervisor (`supervisor`):
/// the PCN's worker, another supervisor of the charity, a supervisor of the PCN, and the charity's
/// admin, analyst and commissioner, and a referrer.
const OTHERS: [&str; 7] = [
    "coworker",
    "othersupervisor",
    "partnersupervisor",
    "admin",
    "analyst",
    "commissioner",
    "referrer",
];

struct TestApp {
    server: Server,
    lead: i64,
    _store: Store,
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
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let shared = cross_employer_case(&store, PASSWORD).await;
        for (name, role, at) in [
            ("supervisor", Role::Supervisor, shared.charity),
            ("othersupervisor", Role::Supervisor, shared.charity),
            ("partnersupervisor", Role::Supervisor, shared.pcn),
            ("admin", Role::Admin, shared.charity),
            ("analyst", Role::Analyst, shared.charity),
            ("commissioner", Role::Commissioner, shared.charity),
            ("referrer", Role::Referrer, shared.practice),
        ] {
            test_user(&store, name, role, at, PASSWORD).await;
        }
        let server = Server::start(&db, store.clone()).await;
        Self {
            server,
            lead: shared.lead.user.get(),
            _store: store,
            _db: db,
        }
    }
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn parts(d: NaiveDate) -> (String, String, String) {
    (
        d.day().to_string(),
        d.month().to_string(),
        d.year().to_string(),
    )
}

on_both_backends!(
    a_session_recorded_through_the_form_is_seen_by_the_two_of_them_and_no_other_role,
    |app| {
        let supervisor = app.sign_in("supervisor").await;
        let (_, hub) = app.get(&supervisor, "/supervision").await;
        assert!(hub.contains("Staff you supervise"));
        assert!(hub.contains(&format!("/supervision/staff/{}", app.lead)));
        let form = format!("/supervision/staff/{}/new", app.lead);
        let token = app.csrf(&supervisor, &form).await;
        let (d, m, y) = parts(today() - Days::new(2));
        let (nd, nm, ny) = parts(today() + Days::new(26));
        // No notes, and an action without its due date: both named, everything typed kept.
        let r = supervisor
            .post(format!("{}{form}", app.base))
            .form(&[
                ("csrf_token", token.as_str()),
                ("session_held-day", d.as_str()),
                ("session_held-month", m.as_str()),
                ("session_held-year", y.as_str()),
                ("action_1", "Book a place on MHFA"),
                ("next_session-day", nd.as_str()),
                ("next_session-month", nm.as_str()),
                ("next_session-year", ny.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains("There is a problem"));
        assert!(body.contains(r##"<a href="#caseload">Enter notes for at least one section"##));
        assert!(body.contains(r##"<a href="#action_1_due-day">Enter the date the action is due"##));
        assert!(body.contains(r#"value="Book a place on MHFA""#));
        assert!(body.contains(&format!(
            r#"name="next_session-day" type="text" inputmode="numeric" value="{nd}""#
        )));

        let r = supervisor
            .post(format!("{}{form}", app.base))
            .form(&[
                ("csrf_token", token.as_str()),
                ("session_held-day", d.as_str()),
                ("session_held-month", m.as_str()),
                ("session_held-year", y.as_str()),
                ("caseload", "Two cases waiting on housing"),
                ("wellbeing", "Tired after the evening visits"),
                ("action_1", "Book a place on MHFA"),
                ("action_1_due-day", nd.as_str()),
                ("action_1_due-month", nm.as_str()),
                ("action_1_due-year", ny.as_str()),
                ("next_session-day", nd.as_str()),
                ("next_session-month", nm.as_str()),
                ("next_session-year", ny.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let page = r.headers()["location"].to_str().unwrap().to_owned();
        let id: i64 = page.rsplit('/').next().unwrap().parse().unwrap();

        let lead = app.sign_in("lead").await;
        for who in [&supervisor, &lead] {
            let (status, body) = app.get(who, &page).await;
            assert_eq!(status, StatusCode::OK);
            assert!(body.contains("Tired after the evening visits"));
            let (status, json) = app
                .api_get(who, &format!("/api/v1/supervision/sessions/{id}"))
                .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(json["wellbeing"], "Tired after the evening visits");
        }
        let (_, mine) = app.get(&lead, "/supervision").await;
        assert!(mine.contains(&format!("/supervision/sessions/{id}")));
        for name in OTHERS {
            let other = app.sign_in(name).await;
            let (status, body) = app.get(&other, &page).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{name} must not see the page"
            );
            assert!(!body.contains("Tired"));
            let (status, _) = app
                .api_get(&other, &format!("/api/v1/supervision/sessions/{id}"))
                .await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{name} must not read the API"
            );
            let (_, hub) = app.get(&other, "/supervision").await;
            assert!(
                !hub.contains(&format!("/supervision/sessions/{id}")),
                "{name}"
            );
        }
        // Only the charity's supervisors may open the form to record a session with the lead.
        for name in ["lead", "coworker", "partnersupervisor", "admin", "analyst"] {
            let other = app.sign_in(name).await;
            let (status, _) = app.get(&other, &form).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
        }
    }
);

on_both_backends!(
    the_api_records_a_session_and_either_party_marks_an_action_done,
    |app| {
        let supervisor = app.sign_in("supervisor").await;
        let lead = app.sign_in("lead").await;
        let due = (today() + Days::new(10)).to_string();
        let path = format!("/api/v1/supervision/staff/{}/sessions", app.lead);
        let (status, json) = app
            .api_post(
                &supervisor,
                &path,
                serde_json::json!({ "session_held": today().to_string(), "action_1": "Shadow a colleague" }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(json["errors"][0]["field"], "caseload");
        let (status, json) = app
            .api_post(
                &supervisor,
                &path,
                serde_json::json!({
                    "session_held": today().to_string(),
                    "development": "Wants to shadow the Focused Care team",
                    "action_1": "Shadow a colleague",
                    "action_1_due": due,
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        let id = json["id"].as_i64().unwrap();
        let (status, _) = app
            .api_post(
                &app.sign_in("admin").await,
                &path,
                serde_json::json!({ "caseload": "x", "session_held": today().to_string() }),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let (_, hub) = app.api_get(&supervisor, "/api/v1/supervision").await;
        let me = hub["supervisees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["user_id"] == app.lead)
            .unwrap();
        assert_eq!(me["last_on"], today().to_string());
        let (_, hub) = app.api_get(&lead, "/api/v1/supervision").await;
        assert_eq!(hub["sessions"][0]["id"], id);
        assert_eq!(hub["sessions"][0]["open_actions"], 1);
        assert_eq!(hub["supervisees"].as_array().unwrap().len(), 0);

        let (_, session) = app
            .api_get(&lead, &format!("/api/v1/supervision/sessions/{id}"))
            .await;
        assert_eq!(session["access"], "supervisee");
        let action = session["actions"][0]["id"].as_i64().unwrap();
        let done = format!("/api/v1/supervision/sessions/{id}/actions/{action}/done");
        let (status, _) = app
            .api_post(
                &app.sign_in("othersupervisor").await,
                &done,
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app.api_post(&lead, &done, serde_json::json!({})).await;
        assert_eq!(status, StatusCode::OK);
        let (_, session) = app
            .api_get(&supervisor, &format!("/api/v1/supervision/sessions/{id}"))
            .await;
        assert_eq!(session["actions"][0]["done_on"], today().to_string());
        let (status, json) = app
            .api_get(
                &supervisor,
                &format!("/api/v1/supervision/staff/{}", app.lead),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["sessions"][0]["open_actions"], 0);
    }
);

on_both_backends!(
    training_is_recorded_with_computed_expiry_and_shown_to_the_right_roles,
    |app| {
        let lead = app.sign_in("lead").await;
        let page = format!("/training/staff/{}", app.lead);
        let token = app.csrf(&lead, &page).await;
        // CPD needs its name and hours; what was typed stays.
        let (d, m, y) = parts(today() - Days::new(3));
        let r = lead
            .post(format!("{}{page}", app.base))
            .form(&[
                ("csrf_token", token.as_str()),
                ("training_kind", "cpd"),
                ("training_completed-day", d.as_str()),
                ("training_completed-month", m.as_str()),
                ("training_completed-year", y.as_str()),
                ("training_hours", "two"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains(r##"<a href="#training_title">Enter the name of the course"##));
        assert!(body.contains(
            r##"<a href="#training_hours">Enter the hours as a number, for example 1.5"##
        ));
        assert!(body.contains(r#"value="two""#));
        assert!(body.contains(r#"<option value="cpd" selected>"#));

        // Mental Health First Aid three years ago less a month: due within 60 days.
        let completed = today() - Months::new(35);
        let (status, json) = app
            .api_post(
                &lead,
                &format!("/api/v1/training/staff/{}", app.lead),
                serde_json::json!({ "training_kind": "mhfa", "training_completed": completed.to_string() }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        let supervisor = app.sign_in("supervisor").await;
        let (status, json) = app
            .api_post(
                &supervisor,
                &format!("/api/v1/training/staff/{}", app.lead),
                serde_json::json!({
                    "training_kind": "other",
                    "training_title": "Lone working",
                    "training_completed": (today() - Days::new(400)).to_string(),
                    "training_expires": (today() - Days::new(35)).to_string(),
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        let (_, t) = app
            .api_get(&lead, &format!("/api/v1/training/staff/{}", app.lead))
            .await;
        let records = t["records"].as_array().unwrap();
        assert_eq!(records.len(), 2);
        // Newest completion first: the lone working course, then MHFA.
        assert_eq!(records[0]["title"], "Lone working");
        assert_eq!(records[0]["status"], "expired");
        assert_eq!(records[1]["status"], "due_soon");
        assert_eq!(
            records[1]["expires_on"],
            (completed + Months::new(36)).to_string()
        );

        for (name, allowed) in [
            ("supervisor", true),
            ("othersupervisor", true),
            ("admin", true),
            ("coworker", false),
            ("partnersupervisor", false),
            ("analyst", false),
            ("commissioner", false),
            ("referrer", false),
        ] {
            let who = app.sign_in(name).await;
            let (status, _) = app.get(&who, &page).await;
            let expected = if allowed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, expected, "{name} on the training page");
            let (status, team) = app.api_get(&who, "/api/v1/training/team").await;
            let team_allowed = [
                "supervisor",
                "othersupervisor",
                "partnersupervisor",
                "admin",
            ]
            .contains(&name);
            if team_allowed {
                assert_eq!(status, StatusCode::OK, "{name} on the team view");
                let lead_row = team["staff"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|s| s["user_id"] == app.lead);
                // The PCN's supervisor's team is the PCN's staff, not the charity's.
                assert_eq!(lead_row.is_some(), name != "partnersupervisor", "{name}");
                if let Some(row) = lead_row {
                    assert_eq!(row["expired"][0]["title"], "Lone working");
                    assert_eq!(row["due_soon"][0]["kind"], "mhfa");
                }
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{name} on the team view");
            }
        }
        let (status, team) = app.get(&supervisor, "/training/team").await;
        assert_eq!(status, StatusCode::OK);
        assert!(team.contains("Lone working, expired"));
    }
);

on_both_backends!(every_path_in_the_openapi_document_is_served, |app| {
    let anonymous = support::new_client();
    let (status, doc) = app
        .api_get(&anonymous, "/api/v1/supervision/openapi.json")
        .await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(
        paths.len(),
        7,
        "every API route of pages::supervision is documented"
    );
    let supervisor = app.sign_in("supervisor").await;
    let token = app.csrf(&supervisor, "/supervision").await;
    for (path, item) in paths {
        let concrete = path
            .replace("{user}", &app.lead.to_string())
            .replace("{id}", "1")
            .replace("{action}", "1");
        for method in item.as_object().unwrap().keys() {
            let url = format!("{}{concrete}", app.base);
            let r = match method.as_str() {
                "get" => supervisor.get(url).send().await.unwrap(),
                "post" => supervisor
                    .post(url)
                    .header("x-csrf-token", &token)
                    .json(&serde_json::json!({}))
                    .send()
                    .await
                    .unwrap(),
                other => panic!("{path}: unexpected method {other}"),
            };
            assert!(
                ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&r.status()),
                "{method} {path} answered {}",
                r.status()
            );
        }
    }
});
