//! Lone working over HTTP, on SQLite and PostgreSQL: an employer's rule refusing a visit planned on
//! the case page (error summary naming the rule, typed values kept), the JSON API for rules,
//! visits, check-in and the supervisors' board, the overdue alert on a supervisor's home page, and
//! 403 for everyone else.

#[macro_use]
mod support;

use careweave_domain::access::Role;
use careweave_domain::casework::CaseId;
use careweave_store::testing::{cross_employer_case, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::Datelike;
use reqwest::StatusCode;
use support::{Server, PASSWORD};

/// A running app with the store's shared cross-employer case: `lead` (charity worker, lead),
/// `coworker` (PCN worker, co-worker), and here also `supervisor` (charity), `partnersupervisor`
/// (PCN), `admin` (charity) and `analyst` (charity).
struct TestApp {
    server: Server,
    case: CaseId,
    charity: i64,
    coworker: i64,
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
            ("partnersupervisor", Role::Supervisor, shared.pcn),
            ("admin", Role::Admin, shared.charity),
            ("analyst", Role::Analyst, shared.charity),
        ] {
            test_user(&store, name, role, at, PASSWORD).await;
        }
        let server = Server::start(&db, store.clone()).await;
        Self {
            server,
            case: shared.case,
            charity: shared.charity.get(),
            coworker: shared.coworker.user.get(),
            _store: store,
            _db: db,
        }
    }
}

/// A home visit today in the JSON the case action takes; `00:00` to `00:01` is over (and so
/// overdue if not checked out) whenever the test runs after the first minute of the day.
fn visit(companion: Option<i64>) -> serde_json::Value {
    let t = chrono::Local::now().date_naive();
    let mut v = serde_json::json!({
        "visit_type": "home_visit",
        "visit-day": t.day().to_string(),
        "visit-month": t.month().to_string(),
        "visit-year": t.year().to_string(),
        "visit_start": "00:00",
        "visit_back": "00:01",
        "visit_place": "12 Example Road",
    });
    if let Some(c) = companion {
        v["companion"] = serde_json::json!(c.to_string());
    }
    v
}

on_both_backends!(
    a_rule_refuses_a_visit_on_the_case_page_and_keeps_what_was_typed,
    |app| {
        let supervisor = app.sign_in("supervisor").await;
        let token = app.csrf(&supervisor, "/visit-rules").await;
        let charity = app.charity.to_string();
        let r = supervisor
            .post(format!("{}/visit-rules", app.base))
            .form(&[
                ("csrf_token", token.as_str()),
                ("employer", charity.as_str()),
                ("rule_name", "Accompanied home visits"),
                ("rule_kind", "nhs_companion_required"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, rules) = app.get(&supervisor, "/visit-rules").await;
        assert!(rules.contains("Accompanied home visits"));

        let lead = app.sign_in("lead").await;
        let case_page = format!("/cases/{}", app.case);
        let token = app.csrf(&lead, &case_page).await;
        let t = chrono::Local::now().date_naive();
        let (day, month, year) = (
            t.day().to_string(),
            t.month().to_string(),
            t.year().to_string(),
        );
        let r = lead
            .post(format!("{}{case_page}/visits", app.base))
            .form(&[
                ("csrf_token", token.as_str()),
                ("visit_type", "home_visit"),
                ("visit-day", day.as_str()),
                ("visit-month", month.as_str()),
                ("visit-year", year.as_str()),
                ("visit_start", "14:00"),
                ("visit_back", "15:30"),
                ("visit_place", "12 Example Road"),
                ("companion", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains("There is a problem"));
        assert!(
            body.contains("Riverside Community Trust&#39;s rule &#34;Accompanied home visits&#34;"),
            "{body}"
        );
        assert!(body.contains(r##"<a href="#companion">"##));
        assert!(body.contains(r#"value="12 Example Road""#));
        assert!(body.contains(r#"value="15:30""#));
        // Bad times are refused with a message saying how to write them.
        let r = lead
            .post(format!("{}{case_page}/visits", app.base))
            .form(&[
                ("csrf_token", token.as_str()),
                ("visit_type", "phone"),
                ("visit-day", day.as_str()),
                ("visit-month", month.as_str()),
                ("visit-year", year.as_str()),
                ("visit_start", "2pm"),
                ("visit_back", ""),
                ("visit_place", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains("on the 24-hour clock, for example 14:30"));
        assert!(body.contains("Enter the time you expect to be back"));
        assert!(body.contains("Enter where the visit is"));
    }
);

on_both_backends!(
    the_api_plans_checks_in_and_shows_the_supervisor_an_overdue_visit,
    |app| {
        let supervisor = app.sign_in("supervisor").await;
        let lead = app.sign_in("lead").await;
        let worker = app.sign_in("coworker").await;
        // Rules through the API: the charity's supervisor may add one, its worker may not.
        let rule = serde_json::json!({
            "employer": app.charity.to_string(),
            "rule_name": "Accompanied home visits",
            "rule_kind": "nhs_companion_required",
        });
        assert_eq!(
            app.api_post(&lead, "/api/v1/visit-rules", rule.clone())
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        let (status, added) = app.api_post(&supervisor, "/api/v1/visit-rules", rule).await;
        assert_eq!(status, StatusCode::CREATED);
        assert!(added["id"].as_i64().is_some());
        let (_, rules) = app.api_get(&lead, "/api/v1/visit-rules").await;
        assert_eq!(rules["rules"][0]["kind"], "nhs_companion_required");
        // A lone visit by the charity's worker is refused, naming the rule.
        let path = format!("/api/v1/cases/{}/visits", app.case);
        let (status, refused) = app.api_post(&lead, &path, visit(None)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\"Accompanied home visits\""));
        // With the PCN's worker it goes ahead.
        let (_, me) = app.api_get(&worker, "/api/v1/my-day").await;
        assert!(me["visits"].as_array().unwrap().is_empty());
        let (_, page) = app.get(&lead, &format!("/cases/{}", app.case)).await;
        assert!(page.contains(&format!("<option value=\"{}\">Test coworker", app.coworker)));
        let (status, _) = app.api_post(&lead, &path, visit(Some(app.coworker))).await;
        assert_eq!(status, StatusCode::OK);
        let (_, day) = app.api_get(&lead, "/api/v1/my-day").await;
        let planned = &day["visits"][0];
        assert_eq!(planned["companion"], "Test coworker");
        assert_eq!(planned["back_by"], "00:01");
        let id = planned["id"].as_i64().unwrap();
        // The worker checks in but not out: past 00:01 the visit is overdue for their supervisor.
        let (status, _) = app
            .api_post(
                &lead,
                &format!("/api/v1/visits/{id}/check-in"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, board) = app.api_get(&supervisor, "/api/v1/lone-working").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(board["overdue"][0]["id"], id);
        assert_eq!(board["overdue"][0]["status"], "checked_in");
        let (_, home) = app.get(&supervisor, "/").await;
        assert!(home.contains("1 visit has not been checked out in time"));
        // The monitoring system sees the same overdue visit as a count for the worker's employer,
        // so an alert can page someone outside the app; nothing in it names the person.
        let (status, metrics) = app.get(&support::new_client(), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        let line = format!(
            "careweave_lone_working_overdue_visits{{organisation=\"{}\"}} 1",
            app.charity
        );
        assert!(metrics.contains(&line), "{metrics}");
        // No one else sees the board or the alert.
        for name in ["lead", "coworker", "admin", "analyst"] {
            let client = app.sign_in(name).await;
            assert_eq!(
                app.get(&client, "/lone-working").await.0,
                StatusCode::FORBIDDEN,
                "{name}"
            );
            assert!(
                !app.get(&client, "/")
                    .await
                    .1
                    .contains("not been checked out"),
                "{name}"
            );
        }
        // Another employer's supervisor has a board of their own staff, without this visit.
        let partner = app.sign_in("partnersupervisor").await;
        let (status, theirs) = app.api_get(&partner, "/api/v1/lone-working").await;
        assert_eq!(status, StatusCode::OK);
        assert!(theirs["overdue"].as_array().unwrap().is_empty());
        assert!(!app
            .get(&partner, "/")
            .await
            .1
            .contains("not been checked out"));
        // The supervisor closes it, saying how they know; then the alert is gone.
        let (status, errors) = app
            .api_post(
                &supervisor,
                &format!("/api/v1/visits/{id}/confirm-safe"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors["errors"][0]["field"], "safe_note");
        let (status, _) = app
            .api_post(
                &supervisor,
                &format!("/api/v1/visits/{id}/confirm-safe"),
                serde_json::json!({ "safe_note": "Phoned her; the visit ran late" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, board) = app.api_get(&supervisor, "/api/v1/lone-working").await;
        assert!(board["overdue"].as_array().unwrap().is_empty());
        assert!(!app
            .get(&supervisor, "/")
            .await
            .1
            .contains("not been checked out"));
    }
);
