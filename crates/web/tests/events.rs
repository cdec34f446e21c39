//! Significant events and the board report over HTTP, on SQLite and PostgreSQL: recording an
//! event from a case page, the error summary that keeps what was typed, the event page for the
//! people allowed and 403 for everyone else, a supervisor taking an escalation to the board, the
//! JSON API, and the board report with raw counts for the team and suppressed counts (page, CSV
//! and JSON) for analysts and commissioners.

#[macro_use]
mod support;

use careweave_domain::access::Role;
use careweave_domain::casework::CaseId;
use careweave_store::testing::{cross_employer_case, test_user, TestDatabase};
use careweave_store::Backend;
use chrono::{Datelike, NaiveDate};
use reqwest::StatusCode;
use support::{Server, PASSWORD};

/// A running app with the shared cross-employer case: `lead` (charity worker, lead), `coworker`
/// (PCN worker, co-worker), and here also `supervisor` (charity), `partnersupervisor` (PCN),
/// `admin`, `analyst` and `commissioner`.
struct TestApp {
    server: Server,
    case: CaseId,
    service: i64,
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
            ("analyst", Role::Analyst, shared.charity),
            ("commissioner", Role::Commissioner, shared.charity),
        ] {
            test_user(&store, name, role, at, PASSWORD).await;
        }
        let service = store.casework_services().await.unwrap()[0].id.get();
        let server = Server::start(&db, store).await;
        Self {
            server,
            case: shared.case,
            service,
            _db: db,
        }
    }

    /// Records `n` events through the JSON API as the lead, escalated, on the case.
    async fn record_many(&self, n: usize) -> Vec<i64> {
        let lead = self.sign_in("lead").await;
        let mut ids = Vec::new();
        for _ in 0..n {
            let (status, body) = self
                .api_post(
                    &lead,
                    "/api/v1/events",
                    serde_json::json!({
                        "kind": "significant_event",
                        "service": self.service,
                        "case": self.case.get(),
                        "occurred": today().to_string(),
                        "themes": ["benefit_sanctions"],
                        "description": "Sanctioned for missing an appointment while in hospital",
                        "escalate": true,
                        "escalation_reason": "A pattern this month",
                    }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            ids.push(body["id"].as_i64().unwrap());
        }
        ids
    }
}

on_both_backends!(
    an_event_recorded_from_a_case_is_read_by_the_allowed_people_only,
    |app| {
        let lead = app.sign_in("lead").await;
        let form_page = format!("/events/new?case={}", app.case);
        let (status, body) = app.get(&lead, &form_page).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("identify the person"),
            "the hint asks for no identifying details"
        );
        // A form without a theme comes back with the error and everything typed.
        let t = today();
        let (day, month, year) = (
            t.day().to_string(),
            t.month().to_string(),
            t.year().to_string(),
        );
        let service = app.service.to_string();
        let case = app.case.get().to_string();
        let mut fields = vec![
            ("kind", "significant_event"),
            ("service", service.as_str()),
            ("case", case.as_str()),
            ("occurred-day", day.as_str()),
            ("occurred-month", month.as_str()),
            ("occurred-year", year.as_str()),
            ("description", "Waited 20 weeks for talking therapy"),
            ("escalate", "yes"),
            ("escalation_reason", "Longest wait this year"),
        ];
        let (status, _, body) = app.post(&lead, &form_page, "/events/new", &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Select at least one theme"));
        assert!(body.contains("Waited 20 weeks for talking therapy"));
        fields.push(("themes", "mental_health_waits"));
        let (status, location, _) = app.post(&lead, &form_page, "/events/new", &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.starts_with("/events/"), "{location}");
        for name in ["lead", "supervisor", "coworker"] {
            let client = app.sign_in(name).await;
            let (status, body) = app.get(&client, &location).await;
            assert_eq!(status, StatusCode::OK, "{name}");
            assert!(
                body.contains("Waited 20 weeks for talking therapy"),
                "{name}"
            );
            assert!(
                body.contains("Riverside Surgery"),
                "the person's practice is the area"
            );
            assert_eq!(
                body.contains("Mark as taken to the board"),
                name == "supervisor"
            );
        }
        for name in ["partnersupervisor", "admin", "analyst", "commissioner"] {
            let client = app.sign_in(name).await;
            let (status, body) = app.get(&client, &location).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
            assert!(!body.contains("Waited 20 weeks"), "{name}");
        }
        // The supervisor sees it waiting, then takes it to the board.
        let supervisor = app.sign_in("supervisor").await;
        let (_, list) = app.get(&supervisor, "/events").await;
        assert!(list.contains("Escalations waiting for the board"));
        let (status, _, _) = app
            .post(
                &supervisor,
                &location,
                &format!("{location}/board"),
                &[
                    ("board-day", &day),
                    ("board-month", &month),
                    ("board-year", &year),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, body) = app.get(&supervisor, &location).await;
        assert!(body.contains("Taken to the board on"));
        let (_, list) = app.get(&supervisor, "/events").await;
        assert!(!list.contains("Escalations waiting for the board"));
    }
);

on_both_backends!(the_json_api_records_lists_and_refuses, |app| {
    let ids = app.record_many(1).await;
    let lead = app.sign_in("lead").await;
    let (status, body) = app.api_get(&lead, "/api/v1/events").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["events"][0]["id"].as_i64(), Some(ids[0]));
    assert_eq!(body["events"][0]["themes"][0], "Benefit sanctions");
    let (status, body) = app
        .api_post(
            &lead,
            "/api/v1/events",
            serde_json::json!({ "kind": "good_news" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["errors"].as_array().unwrap().len() >= 3, "{body}");
    let admin = app.sign_in("admin").await;
    let (status, _) = app
        .api_get(&admin, &format!("/api/v1/events/{}", ids[0]))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .api_post(
            &lead,
            &format!("/api/v1/events/{}/board", ids[0]),
            serde_json::json!({ "board": today().to_string() }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the recorder does not review escalations"
    );
    let (status, body) = app.api_get(&lead, "/api/v1/events/themes").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["themes"].as_array().unwrap().len() >= 4);
    // Only admins configure the theme list.
    let theme = serde_json::json!({ "label": "Fuel poverty" });
    let (status, _) = app
        .api_post(&lead, "/api/v1/events/themes", theme.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.api_post(&admin, "/api/v1/events/themes", theme).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["code"], "fuel_poverty");
    let (status, _) = app
        .api_post(
            &admin,
            "/api/v1/events/themes",
            serde_json::json!({ "label": " " }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, body) = app.api_get(&lead, "/api/v1/events/themes").await;
    assert!(body["themes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["label"] == "Fuel poverty"));
    // Every path is in the OpenAPI document.
    let (_, doc) = app.api_get(&lead, "/api/v1/casework/openapi.json").await;
    for path in [
        "/api/v1/events",
        "/api/v1/events/themes",
        "/api/v1/events/{id}",
        "/api/v1/events/{id}/board",
        "/api/v1/board",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
});

on_both_backends!(
    the_board_report_suppresses_small_numbers_outside_the_team,
    |app| {
        app.record_many(3).await;
        let month = today().format("%B %Y").to_string();
        let supervisor = app.sign_in("supervisor").await;
        let (status, body) = app.get(&supervisor, "/casework/board").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(&month) && body.contains("Benefit sanctions"));
        assert!(
            body.contains("<td class=\"nhsuk-table__cell\">3</td>"),
            "raw counts inside the team"
        );
        assert!(
            !body.contains("Sanctioned for missing"),
            "never the description"
        );
        for name in ["analyst", "commissioner"] {
            let client = app.sign_in(name).await;
            let (status, body) = app.get(&client, "/casework/board").await;
            assert_eq!(status, StatusCode::OK, "{name}");
            assert!(body.contains("7 or fewer"), "{name}");
            assert!(
                !body.contains("<td class=\"nhsuk-table__cell\">3</td>"),
                "{name}"
            );
            let r = client
                .get(format!("{}/casework/board.csv?table=themes", app.base))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert!(r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv"));
            let csv = r.text().await.unwrap();
            assert_eq!(
                csv,
                format!(
                "Month,Theme,Kind,Events\r\n{},Benefit sanctions,Significant event,suppressed\r\n",
                today().format("%Y-%m")
            )
            );
            let (_, json) = app.api_get(&client, "/api/v1/board").await;
            assert_eq!(json["disclosure_controlled"], true);
            assert!(json["themes"][0]["events"].is_null(), "{json}");
        }
        // With eight more the count is shown to analysts, rounded to 5.
        app.record_many(8).await;
        let analyst = app.sign_in("analyst").await;
        let (_, json) = app.api_get(&analyst, "/api/v1/board").await;
        assert_eq!(json["themes"][0]["events"], 10);
        let (_, json) = app.api_get(&supervisor, "/api/v1/board").await;
        assert_eq!(json["themes"][0]["events"], 11);
        let (status, _) = app.get(&supervisor, "/casework/board.csv?table=nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        for name in ["lead", "admin"] {
            let client = app.sign_in(name).await;
            let (status, _) = app.get(&client, "/casework/board").await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
        }
    }
);
