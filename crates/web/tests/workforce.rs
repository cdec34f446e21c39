//! The Workforce section over HTTP on SQLite and PostgreSQL: demand from the loaded population run
//! against the staff in post, the ARRS budget, the scenario form's validation, the CSV exports, the
//! simulation, and refusal for roles that do not read aggregates.

#[macro_use]
mod support;

use careweave_domain::access::{Membership, Role};
use careweave_domain::{FundingStream, OrganisationKind, StaffRole};
use careweave_store::accounts::NewUser;
use careweave_store::people::{NewOrganisation, NewStaff};
use careweave_store::population::{PopulationLoad, ProfileCell};
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use chrono::NaiveDate;
use reqwest::StatusCode;
use secrecy::SecretString;
use support::{new_client, Server, PASSWORD};

struct TestApp {
    server: Server,
    _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

fn cell(dimension: &str, category: &str, people: Option<i64>) -> ProfileCell {
    ProfileCell {
        level: "pcn".into(),
        place: "U99000".into(),
        place_name: Some("Riverside PCN".into()),
        dimension: dimension.into(),
        category: category.into(),
        people,
        emergency_admissions: None,
        ae_attendances: None,
        gp_appointments: None,
        bed_days: None,
        cost: None,
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
        let staff = store
            .insert_staff(&NewStaff {
                user: None,
                name: "Sam Link".into(),
                role: StaffRole::LinkWorker,
                specialism: None,
                employer: pcn,
                base_practice: None,
                funding: FundingStream::Arrs,
            })
            .await
            .unwrap();
        store.set_staff_wte(staff.get(), 60).await.unwrap();
        store
            .load_population(
                None,
                &PopulationLoad {
                    index_date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                    disclosure_control: true,
                    cohorts: vec![],
                    criteria: vec![],
                    profiles: vec![
                        cell("all", "all", Some(2000)),
                        cell("segment", "Long-term frailty", Some(200)),
                        cell("segment", "Healthy", Some(1800)),
                        cell("imd_quintile", "1", Some(500)),
                        cell("cohort_frailty", "on worklist", None),
                    ],
                    worklist: vec![],
                },
            )
            .await
            .unwrap();
        let server = Server::start(&db, store).await;
        TestApp { server, _db: db }
    }
}

on_both_backends!(the_plan_sets_demand_against_the_posts_in_post, |app| {
    let analyst = app.sign_in("analyst").await;
    let (status, body) = app.get(&analyst, "/workforce").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Care navigation 2,000 × 0.09 = 180 h, social prescribing 2,000 × 0.0225 × 6.2 = 279 h, home
    // visits 200 × 0.5 × 2 = 200 h: 659 hours; the hidden frailty cohort counts as nobody.
    assert!(body.contains("659, of which"), "{body}");
    assert!(body.contains("1 of the counts this plan reads"));
    // The link worker: 0.6 WTE claimed from ARRS at £29,970 × 1.28 = £38,361.60 a WTE.
    assert!(body.contains("£23,017 of £1,200,000 used"), "{body}");
    assert!(body.contains(">0.60<"), "{body}");
    assert!(
        body.contains("register lines"),
        "charts name their register lines"
    );
    let (status, register) = app.get(&analyst, "/workforce/register").await;
    assert_eq!(status, StatusCode::OK);
    assert!(register.contains("id=\"line-1\""));
    assert!(register.contains("Illustrative"));
});

on_both_backends!(a_refused_scenario_keeps_what_was_typed, |app| {
    let analyst = app.sign_in("analyst").await;
    let (status, body) = app
        .get(
            &analyst,
            "/workforce?place=pcn%3AU99000&scenario=1&name=&shift_from=core&shift_to=core&shift_percent=35&post_role=receptionist&post_wte=1&post_arrs=yes",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("There is a problem"));
    assert!(body.contains("href=\"#name\""));
    assert!(body.contains("Choose a different level to move the work to"));
    assert!(body.contains("is not reimbursable through ARRS"));
    assert!(body.contains("value=\"35\""), "typed values are kept");
    let (status, body) = app
        .get(
            &analyst,
            "/workforce?place=pcn%3AU99000&scenario=1&name=Two+coaches&post_role=wellbeing_coach&post_wte=2&post_arrs=yes",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("To be: gap"));
    let r = analyst
        .get(format!(
            "{}/workforce/export.csv?place=pcn%3AU99000&scenario=1&name=Two+coaches&post_role=wellbeing_coach&post_wte=2&post_arrs=yes",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert!(csv.contains(",As is,Health and wellbeing coach,"), "{csv}");
    assert!(
        csv.contains(",Two coaches,Health and wellbeing coach,"),
        "{csv}"
    );
});

on_both_backends!(the_simulation_runs_and_validates, |app| {
    let analyst = app.sign_in("analyst").await;
    let (status, form) = app.get(&analyst, "/workforce/simulate").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"10\""), "ten workers by default");
    let q = "run=1&workers=3&caseload_cap=1&arrivals_per_week=2.4&accept=100&episode_weeks=1&contacts_per_week=1&hours_per_contact=1&replications=20&seed=4";
    let (status, body) = app.get(&analyst, &format!("/workforce/simulate?{q}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Results of 20 runs"));
    let (_, again) = app.get(&analyst, &format!("/workforce/simulate?{q}")).await;
    assert_eq!(again, body, "the same seed gives the same page");
    let (status, body) = app
        .get(
            &analyst,
            "/workforce/simulate?run=1&workers=0&caseload_cap=x",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Enter the number of workers"));
    assert!(body.contains("value=\"x\""));
});

on_both_backends!(workers_are_refused_the_workforce_pages, |app| {
    let worker = app.sign_in("worker").await;
    for path in [
        "/workforce",
        "/workforce/register",
        "/workforce/register.csv",
        "/workforce/export.csv",
        "/workforce/simulate",
    ] {
        assert_eq!(
            app.get(&worker, path).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let (_, home) = app.get(&worker, "/").await;
    assert!(!home.contains("href=\"/workforce\""));
    // Signed out, the pages send people to sign in.
    assert_eq!(
        app.get(&new_client(), "/workforce").await.0,
        StatusCode::SEE_OTHER
    );
});
