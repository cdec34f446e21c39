//! MDT meetings over HTTP, on SQLite and PostgreSQL: planning with the error summary that keeps
//! what was typed, the agenda built from lists and by hand, the item page with the outcome and
//! actions, people hidden from viewers the policy refuses, flags on the case page, the JSON API and
//! its OpenAPI entries, and the answer every role gets.

#[macro_use]
mod support;

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::CaseId;
use careweave_domain::mdt::{AgendaList, MeetingHost, MeetingId};
use careweave_store::mdt::NewMeeting;
use careweave_store::testing::{cross_employer_case, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use reqwest::StatusCode;
use support::{Server, PASSWORD};

/// A running app with the store's shared cross-employer case: `lead` (charity worker, lead),
/// `coworker` (PCN worker), and here also `supervisor` (charity), `gpworker` (a worker of the
/// practice, not in the person's care), `referrer`, `analyst`, `commissioner` and `admin`.
struct TestApp {
    server: Server,
    store: Store,
    case: CaseId,
    team: MeetingHost,
    practice: MeetingHost,
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

fn host_code(host: MeetingHost) -> String {
    match host {
        MeetingHost::Team(s) => format!("team-{s}"),
        MeetingHost::Practice(p) => format!("practice-{p}"),
    }
}

impl TestApp {
    async fn spawn(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let shared = cross_employer_case(&store, PASSWORD).await;
        for (name, role, at) in [
            ("supervisor", Role::Supervisor, shared.charity),
            ("gpworker", Role::Worker, shared.practice),
            ("referrer", Role::Referrer, shared.practice),
            ("analyst", Role::Analyst, shared.charity),
            ("commissioner", Role::Commissioner, shared.pcn),
            ("admin", Role::Admin, shared.charity),
        ] {
            test_user(&store, name, role, at, PASSWORD).await;
        }
        let team = store
            .meeting_hosts(&shared.lead)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.host)
            .find(|h| matches!(h, MeetingHost::Team(_)))
            .unwrap();
        let server = Server::start(&db, store.clone()).await;
        Self {
            server,
            store,
            case: shared.case,
            team,
            practice: MeetingHost::Practice(shared.practice),
            _db: db,
        }
    }

    /// The principal of `{name}@test`.
    async fn principal(&self, name: &str) -> Principal {
        let users = self.store.list_users().await.unwrap();
        let id = users
            .iter()
            .find(|u| u.username == format!("{name}@test"))
            .unwrap()
            .id;
        self.store.principal(id).await.unwrap()
    }

    /// Plans a meeting in the store as `planner`, with `core` (usernames) as core members.
    async fn plan(
        &self,
        planner: &str,
        host: MeetingHost,
        lists: &[AgendaList],
        core: &[&str],
    ) -> MeetingId {
        let mut core_members = Vec::new();
        for name in core {
            core_members.push(self.principal(name).await.user);
        }
        self.store
            .plan_meeting(
                &self.principal(planner).await,
                &NewMeeting {
                    title: "Riverside MDT".into(),
                    host,
                    held_on: today() + Duration::days(60),
                    starts_at: NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
                    location: "Riverside Surgery".into(),
                    lists: lists.to_vec(),
                    cohort: None,
                    core_members,
                },
            )
            .await
            .unwrap()
    }
}

on_both_backends!(
    planning_a_meeting_shows_the_error_summary_and_keeps_what_was_typed,
    |app| {
        let lead = app.sign_in("lead").await;
        let (status, page) = app.get(&lead, "/mdt/new").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Plan an MDT meeting"));
        assert!(
            page.contains("Social prescribing team"),
            "the lead's team is offered"
        );
        let (status, _, body) = app
            .post(
                &lead,
                "/mdt/new",
                "/mdt/new",
                &[
                    ("title", "Tuesday huddle"),
                    ("location", "Room 4"),
                    ("starts_at", "half nine"),
                    ("lists", "worried_about"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("There is a problem"));
        assert!(body.contains("Select the team or practice holding the meeting"));
        assert!(body.contains("Enter the start time in hours and minutes"));
        assert!(
            body.contains("value=\"Tuesday huddle\""),
            "typed values are kept"
        );
        assert!(body.contains("value=\"half nine\""));
        assert!(body.contains("value=\"worried_about\" checked"));
        let when = today() + Duration::days(7);
        let host = host_code(app.team);
        let (status, location, body) = app
            .post(
                &lead,
                "/mdt/new",
                "/mdt/new",
                &[
                    ("title", "Tuesday huddle"),
                    ("host", &host),
                    ("held_on-day", &when.day().to_string()),
                    ("held_on-month", &when.month().to_string()),
                    ("held_on-year", &when.year().to_string()),
                    ("starts_at", "09:30"),
                    ("location", "Room 4"),
                    ("lists", "worried_about"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let (status, page) = app.get(&lead, &location).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Tuesday huddle") && page.contains("09:30"));
        let (_, list) = app.get(&lead, "/mdt").await;
        assert!(list.contains("Tuesday huddle"));
    }
);

on_both_backends!(
    the_agenda_and_outcomes_work_in_the_pages_and_hide_people_from_others,
    |app| {
        let id = app
            .plan(
                "gpworker",
                app.practice,
                &[AgendaList::ReviewDue],
                &["lead"],
            )
            .await;
        let meeting = format!("/mdt/{id}");
        let gp = app.sign_in("gpworker").await;
        let (status, location, _) = app
            .post(&gp, &meeting, &format!("{meeting}/build"), &[])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.contains("added=0&outside=1"), "{location}");
        let (_, page) = app.get(&gp, &location).await;
        assert!(page.contains("not in your care"));

        let lead = app.sign_in("lead").await;
        let (status, location, _) = app
            .post(&lead, &meeting, &format!("{meeting}/build"), &[])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.contains("added=1"), "{location}");
        let (_, page) = app.get(&lead, &meeting).await;
        assert!(page.contains("EXAMPLE, Ada"));
        assert!(page.contains("Review due"));
        let (_, gp_page) = app.get(&gp, &meeting).await;
        assert!(!gp_page.contains("EXAMPLE") && !gp_page.contains("Ada"));
        assert!(gp_page.contains("A person not in your care"));
        let (status, json) = app.api_get(&gp, &format!("/api/v1/mdt/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            json["agenda"][0]["reasons"],
            serde_json::json!(["review_due"])
        );
        assert_eq!(json["agenda"][0]["case"], serde_json::Value::Null);
        assert!(!json.to_string().contains("EXAMPLE"));

        let item = app
            .store
            .meeting_for(&app.principal("lead").await, id)
            .await
            .unwrap()
            .items[0]
            .id;
        let item_page = format!("{meeting}/items/{item}");
        let (status, _) = app.get(&gp, &item_page).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, body) = app
            .post(
                &lead,
                &item_page,
                &format!("{item_page}/outcome"),
                &[
                    ("discussion", "Struggling since the fall"),
                    ("told_how", "phone"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("Enter what the meeting decided"));
        assert!(body.contains("The date the person was told"), "{body}");
        assert!(
            body.contains("Struggling since the fall"),
            "typed text is kept"
        );
        let (status, _, body) = app
            .post(
                &lead,
                &item_page,
                &format!("{item_page}/outcome"),
                &[
                    ("discussion", "Struggling since the fall"),
                    ("decision", "Refer to the falls service"),
                    ("told_how", "not_yet"),
                    ("told_on", &today().to_string()),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body.contains("or clear the date"),
            "a date without a way of telling is refused"
        );
        let t = today();
        let (status, _, _) = app
            .post(
                &lead,
                &item_page,
                &format!("{item_page}/outcome"),
                &[
                    ("discussion", "Struggling since the fall"),
                    ("decision", "Refer to the falls service"),
                    ("told_how", "phone"),
                    ("told_on-day", &t.day().to_string()),
                    ("told_on-month", &t.month().to_string()),
                    ("told_on-year", &t.year().to_string()),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let due = (t + Duration::days(7)).to_string();
        let (status, _, _) = app
            .post(
                &lead,
                &item_page,
                &format!("{item_page}/actions"),
                &[
                    ("action_text", "Make the falls referral"),
                    ("action_owner", "District nurse, Riverside"),
                    ("action_due", &due),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, page) = app.get(&lead, &item_page).await;
        assert!(page.contains("Make the falls referral") && page.contains("Mark done"));
        assert!(page.contains("value=\"phone\" checked"));
        let (_, case_page) = app.get(&lead, &format!("/cases/{}", app.case)).await;
        assert!(case_page.contains("Riverside MDT"));
        assert!(case_page.contains("decided: Refer to the falls service (told by phone"));
        let (status, _, _) = app
            .post(
                &gp,
                &meeting,
                &format!("{meeting}/invite"),
                &[
                    ("invite_name", "Sam Patel"),
                    ("invite_organisation", "Riverside Housing"),
                    ("invite_role", "Tenancy officer"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, page) = app.get(&lead, &meeting).await;
        assert!(page.contains("Sam Patel") && page.contains("Riverside Housing"));
    }
);

on_both_backends!(flags_are_set_and_cleared_from_the_case_page, |app| {
    let lead = app.sign_in("lead").await;
    let case = format!("/cases/{}", app.case);
    let (status, _, body) = app
        .post(
            &lead,
            &case,
            &format!("{case}/mdt-flags"),
            &[("flag_reason", "Has stopped going out")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Select what the flag is for"));
    assert!(body.contains("Has stopped going out"));
    let (status, _, _) = app
        .post(
            &lead,
            &case,
            &format!("{case}/mdt-flags"),
            &[
                ("flag_kind", "worried_about"),
                ("flag_on", &today().to_string()),
                ("flag_reason", "Has stopped going out"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = app.get(&lead, &case).await;
    assert!(page.contains("Flags for the next MDT") && page.contains("Has stopped going out"));
    let marker = "/mdt-flags/";
    let start = page.find(marker).unwrap() + marker.len();
    let flag: i64 = page[start..start + page[start..].find('/').unwrap()]
        .parse()
        .unwrap();
    let (status, _, _) = app
        .post(&lead, &case, &format!("{case}/mdt-flags/{flag}/clear"), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = app.get(&lead, &case).await;
    assert!(!page.contains("Has stopped going out"));
});

on_both_backends!(
    the_json_api_plans_builds_records_and_lists_a_cases_meetings,
    |app| {
        let lead = app.sign_in("lead").await;
        let (status, body) = app
            .api_post(
                &lead,
                "/api/v1/mdt",
                serde_json::json!({ "title": "API MDT" }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "host"));
        let (status, body) = app
            .api_post(
                &lead,
                "/api/v1/mdt",
                serde_json::json!({
                    "title": "API MDT",
                    "host": host_code(app.team),
                    "held_on": (today() + Duration::days(3)).to_string(),
                    "starts_at": "10:00",
                    "location": "Video call",
                    "lists": ["worried_about", "high_risk"],
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_i64().unwrap();
        let case = app.case;
        let (status, _) = app
            .api_post(
                &lead,
                &format!("/api/v1/cases/{case}/mdt-flags"),
                serde_json::json!({ "flag_kind": "worried_about", "flag_on": today().to_string(), "flag_reason": "Low mood" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, body) = app
            .api_post(
                &lead,
                &format!("/api/v1/mdt/{id}/build"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["added"], 1);
        let (status, m) = app.api_get(&lead, &format!("/api/v1/mdt/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            m["agenda"][0]["reasons"],
            serde_json::json!(["worried_about"])
        );
        assert_eq!(m["agenda"][0]["case"]["name"], "EXAMPLE, Ada");
        let item = m["agenda"][0]["item_id"].as_i64().unwrap();
        let (status, _) = app
            .api_post(
                &lead,
                &format!("/api/v1/mdt/{id}/items/{item}/outcome"),
                serde_json::json!({ "discussion": "Low mood", "decision": "GP review", "told_how": "not_yet" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, c) = app
            .api_get(&lead, &format!("/api/v1/cases/{case}/mdt"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(c["meetings"][0]["decision"], "GP review");
        assert_eq!(c["meetings"][0]["told"], serde_json::Value::Null);
        assert_eq!(c["flags"][0]["kind"], "worried_about");
        let flag = c["flags"][0]["id"].as_i64().unwrap();
        let clear = format!("/api/v1/cases/{case}/mdt-flags/{flag}/clear");
        let (status, _) = app.api_post(&lead, &clear, serde_json::json!({})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = app.api_post(&lead, &clear, serde_json::json!({})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (_, c) = app
            .api_get(&lead, &format!("/api/v1/cases/{case}/mdt"))
            .await;
        assert_eq!(c["flags"], serde_json::json!([]));
        let (_, list) = app.api_get(&lead, "/api/v1/mdt").await;
        assert_eq!(list["upcoming"][0]["cases"], 1);
        // The practice worker is no member of the team and gets 403; an unknown action is 404.
        let gp = app.sign_in("gpworker").await;
        let (status, _) = app.api_get(&gp, &format!("/api/v1/mdt/{id}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // The case's MDT history is refused to them too (not an empty list), and audited.
        let (status, _) = app.api_get(&gp, &format!("/api/v1/cases/{case}/mdt")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let refusals = app
            .store
            .audit_entries(&careweave_store::audit::AuditFilter {
                entity: Some("mdt_case_flag".into()),
                entity_id: Some(case.get()),
                limit: 50,
            })
            .await
            .unwrap();
        assert!(
            refusals.iter().any(|e| e.action == "denied"),
            "{refusals:?}"
        );
        let (status, _) = app
            .api_post(
                &lead,
                &format!("/api/v1/mdt/{id}/cancel"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Every MDT path is in the OpenAPI document.
        let (_, doc) = app.api_get(&lead, "/api/v1/casework/openapi.json").await;
        for path in [
            "/api/v1/mdt",
            "/api/v1/mdt/{id}",
            "/api/v1/mdt/{id}/{action}",
            "/api/v1/mdt/{id}/items/{item}/{action}",
            "/api/v1/cases/{id}/mdt",
            "/api/v1/cases/{id}/mdt-flags",
            "/api/v1/cases/{id}/mdt-flags/{flag}/clear",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
    }
);

on_both_backends!(every_role_gets_what_the_access_policy_allows, |app| {
    let id = app.plan("lead", app.team, &[], &[]).await;
    for name in ["lead", "coworker", "supervisor"] {
        let client = app.sign_in(name).await;
        let (_, home) = app.get(&client, "/").await;
        assert!(home.contains("href=\"/mdt\""), "{name} sees the link");
        let (status, _) = app.get(&client, &format!("/mdt/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{name}");
    }
    for name in ["gpworker", "referrer", "analyst", "commissioner", "admin"] {
        let client = app.sign_in(name).await;
        let (status, _) = app.get(&client, &format!("/mdt/{id}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
        let (status, _) = app.api_get(&client, &format!("/api/v1/mdt/{id}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
    }
    for name in ["referrer", "analyst", "commissioner", "admin"] {
        let client = app.sign_in(name).await;
        let (_, home) = app.get(&client, "/").await;
        assert!(
            !home.contains("href=\"/mdt\""),
            "{name} is not offered MDTs"
        );
        let (status, _) = app.get(&client, "/mdt").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
        let (status, _) = app.get(&client, "/mdt/new").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
        let (status, _) = app.api_get(&client, "/api/v1/mdt").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
    }
});
