//! The Evaluation page over HTTP on SQLite and PostgreSQL: the latest stored result in plain
//! English with the naive figure beside the estimate, value marked notional, the charts, every
//! table as CSV, and refusal for roles that do not read aggregates.

#[macro_use]
mod support;

use careweave_domain::access::{Membership, Role};
use careweave_domain::OrganisationKind;
use careweave_store::accounts::NewUser;
use careweave_store::evaluation::{
    BalanceRow, Interval, OutcomeResult, Summary, Table, ValueResult,
};
use careweave_store::people::NewOrganisation;
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use reqwest::StatusCode;
use secrecy::SecretString;
use support::{new_client, Server, PASSWORD};

struct TestApp {
    server: Server,
    store: Store,
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
        let store: Store = db.store.clone();
        let org = |name: &str, kind| NewOrganisation {
            name: name.into(),
            kind,
            ods_code: None,
            place: None,
        };
        let pcn = store
            .insert_organisation(&org("Riverside PCN", OrganisationKind::Pcn))
            .await
            .unwrap();
        let icb = store
            .insert_organisation(&org("Example ICB", OrganisationKind::Icb))
            .await
            .unwrap();
        for (name, role, at) in [
            ("analyst", Role::Analyst, icb),
            ("commissioner", Role::Commissioner, icb),
            ("manager", Role::Supervisor, pcn),
            ("worker", Role::Worker, pcn),
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
        let server = Server::start(&db, store.clone()).await;
        TestApp {
            server,
            store,
            _db: db,
        }
    }
}

fn interval(estimate: f64, low: f64, high: f64) -> Interval {
    Interval {
        estimate: Some(estimate),
        low: Some(low),
        high: Some(high),
    }
}

/// A summary as the evaluation stores it, with one figure that could not be estimated.
fn summary() -> Summary {
    let outcome = |key: &str, label: &str, sentence: &str| OutcomeResult {
        outcome: key.into(),
        label: label.into(),
        did: interval(-0.21, -0.34, -0.08),
        relative: interval(-0.2, -0.31, -0.08),
        naive: interval(-0.9, -1.1, -0.7),
        naive_relative: interval(-0.55, -0.6, -0.5),
        supported_rate_before: Some(1.6),
        supported_rate_after: Some(0.7),
        comparison_rate_before: Some(1.6),
        comparison_rate_after: Some(0.91),
        sentence: sentence.into(),
        event_study: vec![
            interval(0.01, -0.1, 0.12),
            interval(-0.2, -0.35, -0.05),
            Interval::default(),
        ],
    };
    Summary {
        service: "Personalised care".into(),
        extract_date: "2026-10-31".into(),
        method: "propensity score".into(),
        months_before: 1,
        months_after: 2,
        disclosure_control: true,
        outcomes: vec![
            outcome(
                "emergency_admissions",
                "Emergency admissions",
                "Emergency admissions fell by 0.21 per person-year more than in similar people who were not supported (95% CI 0.08 to 0.34).",
            ),
            outcome("gp_appointments", "GP appointments", "GP appointments fell."),
        ],
        balance: vec![BalanceRow {
            variable: "emergency_admissions_q1".into(),
            supported_mean: Some(0.8),
            comparison_mean_before: Some(0.1),
            comparison_mean_after: Some(0.79),
            smd_before: Some(1.2),
            smd_after: Some(0.02),
        }],
        value: Some(ValueResult {
            avoided_cost: interval(120_000.0, 40_000.0, 200_000.0),
            service_cost: Some(150_000.0),
            return_per_pound: interval(0.8, 0.27, 1.33),
            note: "Notional, not cashable".into(),
        }),
        tables: vec![Table {
            key: "reach_imd".into(),
            caption: "People supported by IMD quintile".into(),
            columns: vec!["IMD quintile".into(), "Supported".into()],
            rows: vec![
                vec!["1 (most deprived, Core20)".into(), "120".into()],
                vec!["=cmd".into(), "7 or fewer".into()],
            ],
        }],
        other: Default::default(),
    }
}

on_both_backends!(the_page_says_when_nothing_is_stored_yet, |app| {
    let analyst = app.sign_in("analyst").await;
    let (status, body) = app.get(&analyst, "/evaluation").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("No evaluation has been stored yet"));
    assert_eq!(
        app.get(&analyst, "/evaluation/csv/estimates").await.0,
        StatusCode::NOT_FOUND
    );
});

on_both_backends!(
    the_latest_result_is_shown_in_plain_english_with_the_naive_figure,
    |app| {
        app.store.store_evaluation(None, &summary()).await.unwrap();
        for who in ["analyst", "commissioner", "manager"] {
            let client = app.sign_in(who).await;
            let (status, body) = app.get(&client, "/evaluation").await;
            assert_eq!(status, StatusCode::OK, "{who}: {body}");
            // The header groups it under Population, whose landing page lists it (issue 16).
            let (_, menu) = app.get(&client, "/menu/population").await;
            assert!(
                menu.contains("href=\"/evaluation\""),
                "{who} has the menu entry"
            );
            assert!(body.contains("Emergency admissions fell by 0.21 per person-year"));
            // The naive figure sits beside the estimate, with its relative change.
            assert!(body.contains("−0.90 (−55%)"), "{body}");
            assert!(body.contains("−0.21 (−0.34 to −0.08)"));
            assert!(body.contains("Notional, not cashable"));
            assert!(body.contains("<svg"), "the month-by-month chart is drawn");
            assert!(
                body.contains("not estimable"),
                "a missing figure is said in words"
            );
            assert!(body.contains("People supported by IMD quintile"));
            assert!(body.contains("/evaluation/csv/reach_imd"));
        }
        let analyst = app.sign_in("analyst").await;
        for (key, header) in [
            ("estimates", "Outcome,Supported before"),
            ("event_study", "Outcome,Month from the start"),
            ("balance", "Variable,Supported mean"),
            ("reach_imd", "IMD quintile,Supported"),
        ] {
            let (status, csv) = app.get(&analyst, &format!("/evaluation/csv/{key}")).await;
            assert_eq!(status, StatusCode::OK, "{key}");
            assert!(csv.starts_with(header), "{key}: {csv}");
        }
        let (_, csv) = app.get(&analyst, "/evaluation/csv/reach_imd").await;
        assert!(
            csv.contains("'=cmd"),
            "a formula-like cell is defused: {csv}"
        );
        assert_eq!(
            app.get(&analyst, "/evaluation/csv/nothing").await.0,
            StatusCode::NOT_FOUND
        );
        // A newer result replaces the older one on the page.
        let mut newer = summary();
        newer.service = "Social prescribing".into();
        app.store.store_evaluation(None, &newer).await.unwrap();
        let (_, body) = app.get(&analyst, "/evaluation").await;
        assert!(body.contains("Social prescribing"));
    }
);

on_both_backends!(workers_are_refused_the_evaluation_pages, |app| {
    app.store.store_evaluation(None, &summary()).await.unwrap();
    let worker = app.sign_in("worker").await;
    for path in ["/evaluation", "/evaluation/csv/estimates"] {
        assert_eq!(
            app.get(&worker, path).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let (_, home) = app.get(&worker, "/").await;
    assert!(!home.contains("href=\"/evaluation\""));
    assert_eq!(
        app.get(&new_client(), "/evaluation").await.0,
        StatusCode::SEE_OTHER
    );
});

on_both_backends!(the_board_pack_is_offered_with_the_latest_result, |app| {
    // Issue 15, item 8: the board pack (the offline HTML report) is reachable from the page, for
    // the page's readers only, under a policy that lets its own inline style apply and nothing
    // else load or run.
    let pack = "<!DOCTYPE html><html lang=\"en-GB\"><head><title>Impact evaluation: Personalised care</title>\
                <style>body{color:#212b32}</style></head><body><main><h1>Impact evaluation</h1>\
                <svg role=\"img\" viewBox=\"0 0 10 10\"><title>Chart</title><rect width=\"5\" height=\"5\"/></svg>\
                </main></body></html>";
    app.store
        .store_evaluation_with_board_pack(None, &summary(), Some(pack))
        .await
        .unwrap();
    let manager = app.sign_in("manager").await;
    let (_, page) = app.get(&manager, "/evaluation").await;
    assert!(page.contains("href=\"/evaluation/board-pack\""), "{page}");
    let r = manager
        .get(format!("{}/evaluation/board-pack", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let policy = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("style-src 'sha256-"), "{policy}");
    assert!(policy.contains("script-src 'none'"), "{policy}");
    assert!(r.headers().get("content-disposition").is_none());
    assert_eq!(r.text().await.unwrap(), pack);
    let r = manager
        .get(format!("{}/evaluation/board-pack?download=1", app.base))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    // Every other page keeps the application's own policy.
    let r = manager
        .get(format!("{}/evaluation", app.base))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'self'"));

    let worker = app.sign_in("worker").await;
    assert_eq!(
        app.get(&worker, "/evaluation/board-pack").await.0,
        StatusCode::FORBIDDEN
    );
    // A newer result stored without a pack: the older pack is not offered as the latest.
    app.store.store_evaluation(None, &summary()).await.unwrap();
    let (_, page) = app.get(&manager, "/evaluation").await;
    assert!(!page.contains("/evaluation/board-pack"));
    assert_eq!(
        app.get(&manager, "/evaluation/board-pack").await.0,
        StatusCode::NOT_FOUND
    );
});
