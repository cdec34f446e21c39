//! Outcome measures over HTTP, on SQLite and PostgreSQL: the instruments and schedules through the
//! JSON API, a measure taken twice through the API with the change shown on the case page, an
//! answer out of range refused beside its question, the form's error summary keeping the answers
//! given, and 403 for those who may not record.

#[macro_use]
mod support;

use careweave_domain::access::Role;
use careweave_domain::casework::CaseId;
use careweave_store::testing::{cross_employer_case, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use reqwest::StatusCode;
use support::{Server, PASSWORD};

struct TestApp {
    server: Server,
    case: CaseId,
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
            ("analyst", Role::Analyst, shared.charity),
        ] {
            test_user(&store, name, role, at, PASSWORD).await;
        }
        let server = Server::start(&db, store.clone()).await;
        Self {
            server,
            case: shared.case,
            _store: store,
            _db: db,
        }
    }
}

fn ons4(taken: &str, point: &str, answers: [i64; 4]) -> serde_json::Value {
    serde_json::json!({
        "instrument": "ons4",
        "taken": taken,
        "point": point,
        "item_satisfied": answers[0].to_string(),
        "item_worthwhile": answers[1].to_string(),
        "item_happy": answers[2].to_string(),
        "item_anxious": answers[3].to_string(),
    })
}

on_both_backends!(
    a_measure_taken_twice_through_the_api_shows_its_change_on_the_case,
    |app| {
        let lead = app.sign_in("lead").await;
        let (status, doc) = app.api_get(&lead, "/api/v1/instruments").await;
        assert_eq!(status, StatusCode::OK);
        let ids: Vec<&str> = doc["instruments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&"ons4"));
        assert!(doc["refused"].as_array().unwrap().is_empty());
        // The supervisor schedules ONS4 for the service; the worker then sees the baseline due.
        let supervisor = app.sign_in("supervisor").await;
        let (_, case) = app
            .api_get(&lead, &format!("/api/v1/cases/{}", app.case))
            .await;
        let service = case["service"]["id"].as_i64().unwrap().to_string();
        let schedule = serde_json::json!({ "service": service, "schedule_instrument": "ons4", "follow_up_days": "91", "at_discharge": "yes" });
        assert_eq!(
            app.api_post(&lead, "/api/v1/outcome-schedules", schedule.clone())
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.api_post(&supervisor, "/api/v1/outcome-schedules", schedule)
                .await
                .0,
            StatusCode::OK
        );
        let page = format!("/cases/{}", app.case);
        assert!(app
            .get(&lead, &page)
            .await
            .1
            .contains("the baseline is due now"));

        let path = format!("/api/v1/cases/{}/outcomes", app.case);
        let earlier = (chrono::Utc::now().date_naive() - chrono::Duration::days(91)).to_string();
        let today = chrono::Utc::now().date_naive().to_string();
        // An answer out of range is refused beside its question, and nothing is recorded.
        let (status, refused) = app
            .api_post(&lead, &path, ons4(&earlier, "baseline", [4, 5, 12, 7]))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused["errors"][0]["field"], "item_happy");
        assert!(refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("12 is not one"));
        assert_eq!(
            app.api_post(&lead, &path, ons4(&earlier, "baseline", [4, 5, 5, 7]))
                .await
                .0,
            StatusCode::CREATED
        );
        assert_eq!(
            app.api_post(&lead, &path, ons4(&today, "follow_up", [7, 5, 5, 3]))
                .await
                .0,
            StatusCode::CREATED
        );
        let (_, measures) = app.api_get(&lead, &path).await;
        let list = measures["outcomes"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1]["scores"][0]["scale"], "anxiety");
        assert_eq!(list[1]["scores"][0]["band"], "Low");
        let (_, body) = app.get(&lead, &page).await;
        assert!(body.contains("Change since the baseline"));
        assert!(
            body.contains("+3 <strong class=\"nhsuk-tag nhsuk-tag--green\">Improved</strong>"),
            "life satisfaction 4 to 7"
        );
        assert!(
            body.contains("-4 <strong class=\"nhsuk-tag nhsuk-tag--green\">Improved</strong>"),
            "anxiety 7 to 3"
        );
        // The team's report pairs the two measures; outside the team the counts are suppressed.
        let (_, report) = app.api_get(&supervisor, "/api/v1/casework/reports").await;
        let life = report["outcome_change"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["scale"] == "Life satisfaction")
            .expect("a row for life satisfaction");
        assert_eq!(life["people_paired"], 1);
        assert_eq!(life["improved"], 1);
        assert!(app
            .get(&supervisor, "/casework/reports")
            .await
            .1
            .contains("Outcome measures: change since the baseline"));
        // Those who may not change the case cannot record, and analysts cannot read measures.
        let analyst = app.sign_in("analyst").await;
        assert_eq!(
            app.api_post(&analyst, &path, ons4(&today, "follow_up", [7, 5, 5, 3]))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(app.api_get(&analyst, &path).await.0, StatusCode::FORBIDDEN);
        let (_, suppressed) = app.api_get(&analyst, "/api/v1/casework/reports").await;
        let row = &suppressed["outcome_change"][0];
        assert!(
            row["people_paired"].is_null(),
            "one person is not shown outside the team"
        );
        assert_eq!(row["share_improved"], "Not shown");
    }
);

on_both_backends!(
    the_form_shows_every_missing_answer_and_keeps_those_given,
    |app| {
        let lead = app.sign_in("lead").await;
        let form_page = format!("/cases/{}/outcomes/new?instrument=ons4", app.case);
        let (status, body) = app.get(&lead, &form_page).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Overall, how satisfied are you with your life nowadays?"));
        let token = app.csrf(&lead, &form_page).await;
        let r = lead
            .post(format!("{}/cases/{}/outcomes", app.base, app.case))
            .form(&[
                ("csrf_token", token.as_str()),
                ("instrument", "ons4"),
                ("item_satisfied", "6"),
                ("item_anxious", "2"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains("There is a problem"));
        assert!(body.contains("Answer question 2"));
        assert!(body.contains("Answer question 3"));
        assert!(body.contains("Select when in the support this measure was taken"));
        assert!(body.contains(
            r#"id="item_satisfied-6" name="item_satisfied" type="radio" value="6" checked"#
        ));
        // An unknown instrument is not found.
        assert_eq!(
            app.get(
                &lead,
                &format!("/cases/{}/outcomes/new?instrument=nope", app.case)
            )
            .await
            .0,
            StatusCode::NOT_FOUND
        );
    }
);
