//! The web service end to end over HTTP: a real server on a free port with a fresh database for each
//! test, on SQLite and on PostgreSQL.

#[macro_use]
mod support;

use careweave_domain::access::{Membership, Role};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, Sex};
use careweave_store::accounts::NewUser;
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use careweave_web::{Application, Settings};
use chrono::NaiveDate;
use reqwest::StatusCode;
use secrecy::SecretString;
use support::{new_client, Server, PASSWORD};

/// A running app with a known neighbourhood: one practice, one charity, one person cared for by
/// `worker@test` (charity), and one account per role.
struct TestApp {
    server: Server,
    store: Store,
    person: PersonId,
    practice: OrganisationId,
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
        let practice = org(
            &store,
            "Riverside Surgery",
            OrganisationKind::GpPractice,
            Some("Y00001"),
        )
        .await;
        let charity = org(
            &store,
            "Riverside Community Trust",
            OrganisationKind::Vcse,
            None,
        )
        .await;
        let icb = org(&store, "Example ICB", OrganisationKind::Icb, Some("QXX")).await;
        for (name, role, at) in [
            ("worker", Role::Worker, charity),
            ("colleague", Role::Worker, charity),
            ("supervisor", Role::Supervisor, charity),
            ("referrer", Role::Referrer, practice),
            ("analyst", Role::Analyst, icb),
            ("commissioner", Role::Commissioner, icb),
            ("admin", Role::Admin, charity),
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
        let worker = store
            .verify_password("worker@test", &SecretString::from(PASSWORD.to_owned()))
            .await
            .unwrap()
            .unwrap();
        store
            .add_to_care_team(
                None,
                person,
                worker,
                charity,
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            )
            .await
            .unwrap();

        let server = Server::start(&db, store.clone()).await;
        Self {
            server,
            store,
            person,
            practice,
            _db: db,
        }
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

async fn org(
    store: &Store,
    name: &str,
    kind: OrganisationKind,
    ods: Option<&str>,
) -> OrganisationId {
    store
        .insert_organisation(&NewOrganisation {
            name: name.into(),
            kind,
            ods_code: ods.map(|c| c.parse().unwrap()),
            place: None,
        })
        .await
        .unwrap()
}

on_both_backends!(health_reports_the_database, |app| {
    let (status, body) = app.get(&new_client(), "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"database\":\"ok\""), "{body}");
});

on_both_backends!(signed_out_visitors_are_sent_to_sign_in, |app| {
    let r = new_client()
        .get(format!("{}/people/1", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/sign-in?next=%2Fpeople%2F1");
});

on_both_backends!(wrong_passwords_and_unknown_users_look_the_same, |app| {
    let client = new_client();
    let token = app.csrf(&client, "/sign-in").await;
    let mut bodies = Vec::new();
    for (user, password) in [
        ("worker@test", "not the password"),
        ("nobody@test", PASSWORD),
    ] {
        let r = app
            .post(
                &client,
                "/sign-in",
                &[
                    ("csrf_token", &token),
                    ("username", user),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(
            body.contains("Enter a correct username and password"),
            "{body}"
        );
        assert!(
            body.contains(&format!("value=\"{user}\"")),
            "the username is kept"
        );
        bodies.push(body.replace(user, "USER"));
    }
    assert_eq!(
        bodies[0], bodies[1],
        "the two failures must be indistinguishable"
    );
});

on_both_backends!(forms_without_a_csrf_token_are_refused, |app| {
    let client = new_client();
    let _ = app.csrf(&client, "/sign-in").await;
    let r = app
        .post(
            &client,
            "/sign-in",
            &[("username", "worker@test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post(
            &client,
            "/sign-in",
            &[
                ("csrf_token", "forged-token-forged-token-forged-tok"),
                ("username", "worker@test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A signed-in user's forms are protected in the same way.
    let worker = app.sign_in("worker").await;
    let r = app.post(&worker, "/sign-out", &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

on_both_backends!(every_role_gets_its_pages_and_only_those, |app| {
    // (user, pages that must load, pages that must be refused)
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "worker",
            &["/", "/people", "/people/new"],
            &["/population", "/admin/users", "/admin/audit"],
        ),
        (
            "supervisor",
            &["/", "/people", "/population"],
            &["/admin/users"],
        ),
        // A GP (a referrer at a practice) sees their own practice's population profile (issue 16).
        (
            "referrer",
            &["/", "/population"],
            &["/people", "/admin/users"],
        ),
        (
            "analyst",
            &["/", "/population"],
            &["/people", "/admin/audit"],
        ),
        (
            "commissioner",
            &["/", "/population"],
            &["/people", "/admin/users"],
        ),
        (
            "admin",
            &["/", "/admin/users", "/admin/users/new", "/admin/audit"],
            &["/people", "/population"],
        ),
    ];
    for (user, allowed, refused) in cases {
        let client = app.sign_in(user).await;
        for path in *allowed {
            let (status, body) = app.get(&client, path).await;
            assert_eq!(status, StatusCode::OK, "{user} {path}");
            assert!(
                body.contains(&format!("Test {user}")),
                "{user} sees their name on {path}"
            );
        }
        for path in *refused {
            let (status, _) = app.get(&client, path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{user} {path}");
        }
    }
});

on_both_backends!(person_records_are_need_to_know_and_audited, |app| {
    let path = format!("/people/{}", app.person);
    let worker = app.sign_in("worker").await;
    let (status, body) = app.get(&worker, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("943 476 5919"));
    // The supervisor of the worker's employer may open it; a colleague and the admin may not.
    assert_eq!(
        app.get(&app.sign_in("supervisor").await, &path).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&app.sign_in("colleague").await, &path).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&app.sign_in("admin").await, &path).await.0,
        StatusCode::FORBIDDEN
    );

    // The admin can see who looked, and why, without seeing the record itself.
    let admin = app.sign_in("admin").await;
    let (status, body) = app.get(&admin, "/admin/audit?nhs_number=9434765919").await;
    assert_eq!(status, StatusCode::OK);
    // Grants and actions read as words, never as the codes the log stores (issue 16, item 12).
    assert!(
        body.contains("worker@test") && body.contains("Member of the care team"),
        "{body}"
    );
    assert!(body.contains("supervisor@test") && body.contains("Supervises the care team"));
    assert!(body.contains("colleague@test") && body.contains("Refused"));
    assert!(!body.contains("care_team_member") && !body.contains(">denied<"));
    assert!(
        !body.contains("943 476 5919"),
        "the audit page must not show the record"
    );
});

on_both_backends!(
    an_admin_sees_only_their_own_organisations_audit_rows,
    |app| {
        // The referrer works for the practice, not the charity the admin administers: their refused
        // read is on the record, but not on the charity admin's page.
        let path = format!("/people/{}", app.person);
        let referrer = app.sign_in("referrer").await;
        assert_eq!(app.get(&referrer, &path).await.0, StatusCode::FORBIDDEN);
        let worker = app.sign_in("worker").await;
        assert_eq!(app.get(&worker, &path).await.0, StatusCode::OK);
        let admin = app.sign_in("admin").await;
        for page in [
            "/admin/audit".to_owned(),
            "/admin/audit?nhs_number=9434765919".to_owned(),
        ] {
            let (status, body) = app.get(&admin, &page).await;
            assert_eq!(status, StatusCode::OK);
            assert!(body.contains("worker@test"), "{page}: {body}");
            assert!(!body.contains("referrer@test"), "{page}: {body}");
        }
        let everything = app
            .store
            .audit_entries(&careweave_store::audit::AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(app.person.get()),
                limit: 100,
            })
            .await
            .unwrap();
        assert!(everything
            .iter()
            .any(|e| e.username.as_deref() == Some("referrer@test") && e.action == "denied"));
    }
);

on_both_backends!(adding_a_person_keeps_what_was_typed_on_error, |app| {
    let worker = app.sign_in("worker").await;
    let token = app.csrf(&worker, "/people/new").await;
    let practice = app.practice.to_string();
    let bad = [
        ("csrf_token", token.as_str()),
        ("nhs_number", "943 476 5918"),
        ("given_name", "Grace"),
        ("family_name", "Hopper"),
        ("dob-day", "30"),
        ("dob-month", "2"),
        ("dob-year", "1960"),
        ("sex", "female"),
        ("postcode", "not a postcode"),
        ("practice", practice.as_str()),
    ];
    let r = app.post(&worker, "/people/new", &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("There is a problem"));
    assert!(
        body.contains("check digit does not match"),
        "NHS number error named"
    );
    assert!(body.contains("Date of birth must be a real date"));
    assert!(body.contains("Postcode must be a full UK postcode"));
    for kept in [
        "943 476 5918",
        "Grace",
        "Hopper",
        "value=\"30\"",
        "not a postcode",
    ] {
        assert!(body.contains(kept), "{kept} was lost");
    }

    let mut good = bad;
    good[1] = ("nhs_number", "999 000 0050");
    good[4] = ("dob-day", "28");
    good[8] = ("postcode", "ls1 4ap");
    let r = app.post(&worker, "/people/new", &good).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let (status, body) = app.get(&worker, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("HOPPER, Grace") && body.contains("LS1 4AP"));
    // The new person is on the worker's list and nobody else's.
    assert!(app
        .get(&worker, "/people")
        .await
        .1
        .contains("HOPPER, Grace"));
    assert!(!app
        .get(&app.sign_in("colleague").await, "/people")
        .await
        .1
        .contains("HOPPER"));
});

on_both_backends!(admins_add_users_with_validation, |app| {
    let admin = app.sign_in("admin").await;
    let token = app.csrf(&admin, "/admin/users/new").await;
    let orgs = app.store.organisations().await.unwrap();
    let charity = orgs
        .iter()
        .find(|o| o.kind == OrganisationKind::Vcse)
        .unwrap()
        .id
        .to_string();
    let practice = app.practice.to_string();
    // An organisation the admin does not administer is refused, and the password is not echoed.
    let r = app
        .post(
            &admin,
            "/admin/users/new",
            &[
                ("csrf_token", &token),
                ("username", "new@test"),
                ("display_name", "New Person"),
                ("password", "a long enough password"),
                ("organisation", &practice),
                ("role", "worker"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("Select an organisation you administer"));
    assert!(!body.contains("a long enough password"));
    let r = app
        .post(
            &admin,
            "/admin/users/new",
            &[
                ("csrf_token", &token),
                ("username", "new@test"),
                ("display_name", "New Person"),
                ("password", "a long enough password"),
                ("organisation", &charity),
                ("role", "worker"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(app.get(&admin, "/admin/users").await.1.contains("new@test"));
});

on_both_backends!(population_counts_are_suppressed, |app| {
    let analyst = app.sign_in("analyst").await;
    let (status, body) = app.get(&analyst, "/population").await;
    assert_eq!(status, StatusCode::OK);
    // One registered person: the true count must not appear.
    assert!(body.contains("7 or fewer"));
    assert!(!body.contains(">1<"), "{body}");
});

on_both_backends!(sign_out_ends_the_session, |app| {
    let worker = app.sign_in("worker").await;
    let token = app.csrf(&worker, "/").await;
    let r = app
        .post(&worker, "/sign-out", &[("csrf_token", &token)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&worker, "/people").await.0, StatusCode::SEE_OTHER);
});

#[tokio::test]
async fn unknown_pages_get_the_not_found_page() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, body) = app.get(&new_client(), "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"));
}

#[tokio::test]
async fn cookies_are_http_only_and_secure_when_configured() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let settings = Settings {
        database_url: db.url.redacted(),
        port: 0,
        ..Settings::default()
    };
    let app = Application::build_with_store(settings, db.store.clone())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let r = new_client()
        .get(format!("{base}/sign-in"))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("careweave_csrf="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
}

#[tokio::test]
async fn an_unknown_database_scheme_is_refused_at_start() {
    let settings = Settings {
        database_url: "mysql://localhost/careweave".into(),
        port: 0,
        ..Settings::default()
    };
    let err = Application::build(settings).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("unsupported database URL scheme"),
        "{err:#}"
    );
}

#[tokio::test]
async fn a_broken_database_gives_503_health_and_the_error_page() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let worker = app.sign_in("worker").await;
    // Break the database on purpose: every query now fails.
    app.store.close().await;
    let (status, body) = app.get(&new_client(), "/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("unreachable"), "{body}");
    let (status, body) = app.get(&worker, "/people").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("Sorry, there is a problem with the service"),
        "{body}"
    );
}

on_both_backends!(consent_is_recorded_on_the_record_and_enforced, |app| {
    let path = format!("/people/{}", app.person);
    let action = format!("{path}/consent");
    let charity = app
        .store
        .organisations()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name == "Riverside Community Trust")
        .unwrap()
        .id;
    let org_field = format!("org-{charity}");
    let worker = app.sign_in("worker").await;
    let (status, body) = app.get(&worker, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("No sharing preferences recorded"), "{body}");
    // Every unanswered question is named, and what was chosen is kept.
    let (status, _, body) = app
        .server
        .post(
            &worker,
            &path,
            &action,
            &[("gp", "codes_only"), ("version", "0")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("There is a problem"));
    assert!(body.contains("Select how the person told you"));
    assert!(
        body.contains("Select whether the person agreed to share with Riverside Community Trust")
    );
    assert!(body.contains("value=\"codes_only\" checked"));
    let answers = [
        ("gp", "codes_only"),
        (org_field.as_str(), "share"),
        ("carers", "no"),
        ("sensitive", "no"),
        ("method", "phone"),
        ("version", "0"),
    ];
    let (status, location, _) = app.server.post(&worker, &path, &action, &answers).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("{path}#consent"));
    let (_, body) = app.get(&worker, &path).await;
    assert!(
        body.contains("Codes only") && body.contains("by phone"),
        "{body}"
    );
    // The person then declines the charity: its staff, the worker included, lose the record,
    // and the history keeps the first version.
    let mut declined = answers;
    declined[1].1 = "decline";
    declined[5].1 = "1";
    let (status, _, _) = app.server.post(&worker, &path, &action, &declined).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.get(&worker, &path).await.0, StatusCode::FORBIDDEN);
    // The consent history takes the person's capability, which the door no longer gives them.
    let access = app
        .store
        .person_for(
            &app.store
                .principal(careweave_domain::UserId::new(1))
                .await
                .unwrap(),
            app.person,
            "consent: ",
        )
        .await;
    assert!(
        access.is_err(),
        "the declined organisation's staff read no history either"
    );
});

on_both_backends!(
    break_glass_opens_the_record_with_a_banner_and_is_reviewed,
    |app| {
        let path = format!("/people/{}", app.person);
        let action = format!("{path}/break-glass");
        let colleague = app.sign_in("colleague").await;
        // A worker without a care relationship is refused and offered break-glass.
        let (status, body) = app.get(&colleague, &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("Open the record in an emergency"));
        assert!(!body.contains("943 476 5919"));
        // Roles that never break glass get the plain refusal, and their posts are refused.
        for name in ["admin", "analyst", "referrer"] {
            let client = app.sign_in(name).await;
            let (status, body) = app.get(&client, &path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
            assert!(!body.contains("Open the record in an emergency"), "{name}");
            let (status, _, _) = app
                .server
                .post(
                    &client,
                    "/",
                    &action,
                    &[("category", "risk_to_life"), ("reason", "Urgent")],
                )
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
        }
        // No reason: the form comes back with the error summary and the choice kept.
        let (status, _, body) = app
            .server
            .post(
                &colleague,
                "/",
                &action,
                &[("category", "risk_to_life"), ("reason", " ")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("There is a problem") && body.contains("Enter the reason"));
        assert!(body.contains("value=\"risk_to_life\" checked"));
        let (status, location, _) = app
            .server
            .post(
                &colleague,
                "/",
                &action,
                &[
                    ("category", "risk_to_life"),
                    ("reason", "Found collapsed at the lunch club"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, path);
        let (status, body) = app.get(&colleague, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Emergency access to this record"));
        assert!(body.contains("Found collapsed at the lunch club"));
        // The care team sees the banner too.
        let (_, body) = app.get(&app.sign_in("worker").await, &path).await;
        assert!(body.contains("Test colleague opened this record without a care relationship"));
        // The colleague's organisation's admin reviews it, seeing the record id but not the record.
        let admin = app.sign_in("admin").await;
        let (status, body) = app.get(&admin, "/admin/break-glass").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(&format!("person record {}", app.person)));
        assert!(body.contains("Found collapsed at the lunch club"));
        assert!(!body.contains("943 476 5919") && !body.contains("Ada"));
        let (status, _, body) = app
            .server
            .post(
                &admin,
                "/admin/break-glass",
                "/admin/break-glass/1/review",
                &[("note", "")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("There is a problem"));
        let (status, _, _) = app
            .server
            .post(
                &admin,
                "/admin/break-glass",
                "/admin/break-glass/1/review",
                &[("note", "Checked with the manager")],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, body) = app.get(&admin, "/admin/break-glass").await;
        assert!(
            body.contains("Reviewed by Test admin") && body.contains("Checked with the manager")
        );
        // Other roles have no queue.
        assert_eq!(
            app.get(&colleague, "/admin/break-glass").await.0,
            StatusCode::FORBIDDEN
        );
    }
);

on_both_backends!(
    the_audit_log_is_searched_by_nhs_number_paged_exported_and_in_words,
    |app| {
        // Issue 16, item 12: the filter takes an NHS number (and an account and dates), the rows
        // are paged with no fixed cap, the export goes through the CSV writer and is audited.
        let path = format!("/people/{}", app.person);
        let worker = app.sign_in("worker").await;
        for _ in 0..60 {
            assert_eq!(app.get(&worker, &path).await.0, StatusCode::OK);
        }
        let colleague = app.sign_in("colleague").await;
        assert_eq!(app.get(&colleague, &path).await.0, StatusCode::FORBIDDEN);
        let id_of = |name: &'static str| {
            let store = app.store.clone();
            async move {
                store
                    .verify_password(
                        &format!("{name}@test"),
                        &SecretString::from(PASSWORD.to_owned()),
                    )
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        let (worker_id, colleague_id) = (id_of("worker").await, id_of("colleague").await);
        let admin = app.sign_in("admin").await;

        let (status, page) = app
            .get(&admin, "/admin/audit?nhs_number=943+476+5919")
            .await;
        assert_eq!(status, StatusCode::OK);
        // At least the 60 reads, the refusal and the admin's own search, which is on the record
        // too (opening a record may audit more than one row).
        let marker = "Showing 1 to 50 of ";
        let at = page.find(marker).expect("the first page of many") + marker.len();
        let total: usize = page[at..at + page[at..].find(' ').unwrap()]
            .parse()
            .unwrap();
        assert!(total >= 62, "{total}");
        assert!(
            page.contains("Opened") && page.contains("Person&#39;s record"),
            "{page}"
        );
        let marker = "class=\"nhsuk-pagination__next\"";
        let next = page.find(marker).map(|at| {
            let before = &page[..at];
            let href = before.rfind("href=\"").unwrap() + "href=\"".len();
            page[href..href + page[href..].find('"').unwrap()]
                .replace("&#38;", "&")
                .replace("&amp;", "&")
        });
        let next = next.expect("a second page");
        assert!(next.contains("upto=") && next.contains("page=2"), "{next}");
        // The second page: the search started at a fixed row, so the total does not move even
        // though this request audits the search again.
        let (status, second) = app.get(&admin, &next).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            second.contains(&format!(
                "Showing 51 to {} of {total} entries",
                total.min(100)
            )),
            "{second}"
        );

        // By account, and by dates.
        let (_, mine) = app
            .get(
                &admin,
                &format!("/admin/audit?nhs_number=9434765919&user={colleague_id}"),
            )
            .await;
        assert!(mine.contains("Showing 1 to 1 of 1 entries"), "{mine}");
        assert!(mine.contains("Refused") && !mine.contains("Member of the care team"));
        let (_, all_worker) = app
            .get(&admin, &format!("/admin/audit?user={worker_id}"))
            .await;
        // The account list offers everyone; the rows are the worker's only.
        let rows = &all_worker[all_worker.find("data-testid=\"audit-rows\"").unwrap()..];
        assert!(
            rows.contains("worker@test") && !rows.contains("colleague@test"),
            "{rows}"
        );
        let later = chrono::Utc::now().date_naive() + chrono::Duration::days(2);
        let (status, none) = app
            .get(
                &admin,
                &format!(
                    "/admin/audit?from-day={}&from-month={}&from-year={}",
                    later.format("%-d"),
                    later.format("%-m"),
                    later.format("%Y")
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(none.contains("No entries match."), "{none}");
        let (status, backwards) = app
            .get(
                &admin,
                "/admin/audit?from-day=2&from-month=3&from-year=2026&to-day=1&to-month=3&to-year=2026",
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(backwards.contains("The last day must be the same as or after the first day"));
        // A mistyped NHS number comes back with the error summary and what was typed.
        let (status, bad) = app.get(&admin, "/admin/audit?nhs_number=943+476+59").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.contains("There is a problem") && bad.contains("NHS number must be 10 digits"));
        assert!(bad.contains("value=\"943 476 59\""));

        // The export: every matching row in the page's words, through the one CSV writer.
        let start = page
            .find("/admin/audit/export.csv?")
            .expect("an export link");
        let export = page[start..start + page[start..].find('"').unwrap()]
            .replace("&#38;", "&")
            .replace("&amp;", "&");
        let r = admin
            .get(format!("{}{export}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let csv = r.text().await.unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("When (UTC),Who,What,Record,Record number,Why")
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), total, "{csv}");
        assert!(rows
            .iter()
            .any(|r| r.contains("worker@test,Opened,Person's record")
                && r.ends_with("Member of the care team")));
        // The search and the export are both on the record, without the NHS number.
        let about = app
            .store
            .audit_entries(&careweave_store::audit::AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(app.person.get()),
                limit: 500,
            })
            .await
            .unwrap();
        assert!(about
            .iter()
            .any(|e| e.username.as_deref() == Some("admin@test")
                && e.action == "list"
                && e.reason == "audit log searched for who accessed this record"));
        assert!(about
            .iter()
            .any(|e| e.username.as_deref() == Some("admin@test") && e.action == "export"));
        let exports = app
            .store
            .audit_entries(&careweave_store::audit::AuditFilter {
                entity: Some("audit_log".into()),
                entity_id: None,
                limit: 10,
            })
            .await
            .unwrap();
        assert!(exports.iter().any(|e| e.action == "export"
            && e.reason == format!("audit log exported as a file ({total} rows)")));
        assert!(about.iter().all(|e| !e.reason.contains("9434765919")));
    }
);
