//! Accounts over HTTP: the sign-in throttle, safe redirects after sign-in, the CSRF token renewed at
//! sign-in, the password rule, taking access away from the admin pages, and the public referral
//! form's limit, on SQLite and PostgreSQL.

#[macro_use]
mod support;

use careweave_domain::access::{Membership, Role};
use careweave_domain::{OrganisationId, OrganisationKind, UserId};
use careweave_store::accounts::NewUser;
use careweave_store::audit::AuditFilter;
use careweave_store::people::NewOrganisation;
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use reqwest::StatusCode;
use secrecy::SecretString;
use support::{new_client, Server, PASSWORD};

/// The longest sign-in wait in these tests, so the backoff passes in a test's time.
const CAP_SECONDS: i64 = 2;

struct TestApp {
    server: Server,
    store: Store,
    charity: OrganisationId,
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
        let mut orgs = Vec::new();
        for name in ["Riverside Community Trust", "Riverside Surgery"] {
            orgs.push(
                store
                    .insert_organisation(&NewOrganisation {
                        name: name.into(),
                        kind: OrganisationKind::Vcse,
                        ods_code: None,
                        place: None,
                    })
                    .await
                    .unwrap(),
            );
        }
        let (charity, practice) = (orgs[0], orgs[1]);
        for (name, roles) in [
            (
                "worker",
                vec![(Role::Worker, charity), (Role::Supervisor, charity)],
            ),
            ("admin", vec![(Role::Admin, charity)]),
            ("practice-admin", vec![(Role::Admin, practice)]),
        ] {
            store
                .create_user(NewUser {
                    username: format!("{name}@test"),
                    display_name: format!("Test {name}"),
                    password: SecretString::from(PASSWORD.to_owned()),
                    memberships: roles
                        .into_iter()
                        .map(|(role, organisation)| Membership { organisation, role })
                        .collect(),
                })
                .await
                .unwrap();
        }
        // Behind a "proxy" so that tests can come from several addresses.
        let server = Server::start_with(&db, store.clone(), |s| {
            s.trust_forwarded_for = true;
            s.sign_in_backoff_cap_seconds = CAP_SECONDS;
            s.refer_per_hour = 3;
        })
        .await;
        Self {
            server,
            store,
            charity,
            _db: db,
        }
    }

    async fn id(&self, name: &str) -> UserId {
        self.store
            .user_by_username(&format!("{name}@test"))
            .await
            .unwrap()
            .unwrap()
    }

    /// One sign-in attempt from `address`: status, Location, Retry-After and body.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
        address: &str,
        next: &str,
    ) -> (StatusCode, String, Option<String>, String) {
        let token = self.csrf(client, "/sign-in").await;
        let r = client
            .post(format!("{}/sign-in", self.base))
            .header("x-forwarded-for", format!("203.0.113.200, {address}"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("username", username),
                ("password", password),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let (location, retry) = (
            header("location").unwrap_or_default(),
            header("retry-after"),
        );
        (r.status(), location, retry, r.text().await.unwrap())
    }
}

fn error_message(body: &str) -> String {
    let start = body.find("nhsuk-error-message").expect("an error message");
    let text = &body[start..];
    let text = &text[text.find("</span>").unwrap() + 7..];
    text[..text.find("</span>").unwrap()].trim().to_owned()
}

on_both_backends!(
    fifty_wrong_passwords_then_the_right_one_waits_for_the_backoff,
    |app| {
        let worker = new_client();
        // The worker's usual address has signed in before.
        assert_eq!(
            app.attempt(&worker, "worker@test", PASSWORD, "10.0.0.1", "/")
                .await
                .0,
            StatusCode::SEE_OTHER
        );
        let attacker = new_client();
        let mut throttled = 0;
        for _ in 0..50 {
            let (status, _, _, _) = app
                .attempt(&attacker, "worker@test", "wrong guess", "192.0.2.9", "/")
                .await;
            assert!(
                status == StatusCode::UNPROCESSABLE_ENTITY
                    || status == StatusCode::TOO_MANY_REQUESTS
            );
            throttled += usize::from(status == StatusCode::TOO_MANY_REQUESTS);
        }
        assert!(throttled >= 40, "only {throttled} of 50 were throttled");

        // The right password from the attacker's address is refused while throttled, with when to
        // try again; an unknown account is answered in exactly the same words.
        let (status, _, retry, body) = app
            .attempt(&attacker, "worker@test", PASSWORD, "192.0.2.9", "/")
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(retry.is_some());
        let message = error_message(&body);
        assert!(
            message.contains("too many attempts to sign in"),
            "{message}"
        );
        let mut unknown = None;
        for _ in 0..7 {
            unknown = Some(
                app.attempt(&attacker, "nobody@test", "wrong guess", "192.0.2.9", "/")
                    .await,
            );
        }
        let (status, _, _, body) = unknown.unwrap();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            error_message(&body).split("Wait").next(),
            message.split("Wait").next()
        );

        // Staff at their usual address are not held up by the attacker...
        assert_eq!(
            app.attempt(&new_client(), "worker@test", PASSWORD, "10.0.0.1", "/")
                .await
                .0,
            StatusCode::SEE_OTHER
        );
        // ...and once the backoff has passed the right password is accepted from anywhere.
        tokio::time::sleep(std::time::Duration::from_millis(
            u64::try_from(CAP_SECONDS).unwrap() * 1000 + 200,
        ))
        .await;
        assert_eq!(
            app.attempt(&attacker, "worker@test", PASSWORD, "192.0.2.9", "/")
                .await
                .0,
            StatusCode::SEE_OTHER
        );
    }
);

on_both_backends!(next_stays_on_site_and_the_csrf_token_is_renewed, |app| {
    for (next, expected) in [
        ("/\t/evil.example", "/"),
        ("/people\r\nSet-Cookie: x=y", "/"),
        ("//evil.example", "/"),
        ("/admin/users", "/admin/users"),
    ] {
        let client = new_client();
        let before = app.csrf(&client, "/sign-in").await;
        let (status, location, _, _) = app
            .attempt(&client, "admin@test", PASSWORD, "10.0.0.2", next)
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location, expected, "{next:?}");
        let after = app.csrf(&client, "/admin/users").await;
        assert_ne!(before, after, "the CSRF token was not renewed");
        // The renewed token works.
        let (status, _, _) = app.post(&client, "/admin/users", "/sign-out", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
});

on_both_backends!(new_accounts_need_a_password_that_is_hard_to_guess, |app| {
    let admin = app.sign_in("admin").await;
    let charity = app.charity.get().to_string();
    for (password, words) in [
        ("password1234", "too easy to guess"),
        ("            ", "not only spaces"),
    ] {
        let (status, _, body) = app
            .post(
                &admin,
                "/admin/users/new",
                "/admin/users/new",
                &[
                    ("username", "new@test"),
                    ("display_name", "New Person"),
                    ("password", password),
                    ("organisation", &charity),
                    ("role", "worker"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains(words), "{password:?}");
        assert!(body.contains("value=\"new@test\""));
    }
});

on_both_backends!(
    an_admin_disables_and_enables_an_account_and_its_sessions_end,
    |app| {
        let worker = app.sign_in("worker").await;
        assert_eq!(app.get(&worker, "/").await.0, StatusCode::OK);
        let id = app.id("worker").await;
        let admin = app.sign_in("admin").await;
        let page = format!("/admin/users/{id}");
        let (status, body) = app.get(&admin, &page).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Sessions of this account"));
        let (_, users) = app.get(&admin, "/admin/users").await;
        assert!(users.contains(&page));
        assert!(
            !users.contains("practice-admin@test"),
            "another organisation's account is listed"
        );

        let (status, location, _) = app
            .post(&admin, &page, &format!("{page}/disable"), &[])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, format!("{page}?done=disabled"));
        // The worker's session stopped working on its next request, and they cannot sign in.
        let r = worker
            .get(format!("{}/people", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in"));
        let (status, _, _, _) = app
            .attempt(&new_client(), "worker@test", PASSWORD, "10.0.0.3", "/")
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        app.post(&admin, &page, &format!("{page}/enable"), &[])
            .await;
        let (status, _, _, _) = app
            .attempt(&new_client(), "worker@test", PASSWORD, "10.0.0.3", "/")
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);

        // Remove one role; the only remaining role cannot be removed.
        let charity = app.charity.get().to_string();
        let (status, _, _) = app
            .post(
                &admin,
                &page,
                &format!("{page}/remove-role"),
                &[("organisation", &charity), ("role", "supervisor")],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, body) = app
            .post(
                &admin,
                &page,
                &format!("{page}/remove-role"),
                &[("organisation", &charity), ("role", "worker")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("only role"));

        // An admin cannot disable themselves.
        let me = app.id("admin").await;
        let (status, _, body) = app
            .post(
                &admin,
                "/admin/users",
                &format!("/admin/users/{me}/disable"),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("cannot disable your own account"));
    }
);

on_both_backends!(
    a_password_reset_shows_a_new_password_once_and_ends_sessions,
    |app| {
        let worker = app.sign_in("worker").await;
        let id = app.id("worker").await;
        let admin = app.sign_in("admin").await;
        let page = format!("/admin/users/{id}");
        let token = app.csrf(&admin, &page).await;
        let r = admin
            .post(format!("{}{page}/reset-password", app.base))
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let body = r.text().await.unwrap();
        let start = body.find("<code>").unwrap() + 6;
        let password = body[start..start + body[start..].find("</code>").unwrap()].to_owned();
        assert_eq!(password.len(), 24);
        assert_eq!(app.get(&worker, "/people").await.0, StatusCode::SEE_OTHER);
        let old = app
            .attempt(&new_client(), "worker@test", PASSWORD, "10.0.0.4", "/")
            .await;
        assert_eq!(old.0, StatusCode::UNPROCESSABLE_ENTITY);
        let new = app
            .attempt(&new_client(), "worker@test", &password, "10.0.0.4", "/")
            .await;
        assert_eq!(new.0, StatusCode::SEE_OTHER);
        let entries = app
            .store
            .audit_entries(&AuditFilter {
                entity: Some("user".into()),
                entity_id: Some(id.get()),
                limit: 20,
            })
            .await
            .unwrap();
        assert!(entries
            .iter()
            .any(|e| e.reason.contains("password of account")));
        assert!(entries.iter().all(|e| !e.reason.contains(&password)));

        // Ending all sessions from the page signs the worker out again.
        let worker = new_client();
        app.attempt(&worker, "worker@test", &password, "10.0.0.4", "/")
            .await;
        assert_eq!(app.get(&worker, "/people").await.0, StatusCode::OK);
        let (status, _, _) = app
            .post(&admin, &page, &format!("{page}/end-sessions"), &[])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.get(&worker, "/people").await.0, StatusCode::SEE_OTHER);
    }
);

on_both_backends!(
    an_admin_of_another_organisation_is_refused_and_audited,
    |app| {
        let id = app.id("worker").await;
        let other = app.sign_in("practice-admin").await;
        let page = format!("/admin/users/{id}");
        assert_eq!(app.get(&other, &page).await.0, StatusCode::FORBIDDEN);
        for action in ["disable", "reset-password", "end-sessions"] {
            let (status, _, _) = app
                .post(&other, "/admin/users", &format!("{page}/{action}"), &[])
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{action}");
        }
        let denied = app
            .store
            .audit_entries(&AuditFilter {
                entity: Some("user".into()),
                entity_id: Some(id.get()),
                limit: 20,
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "denied")
            .count();
        assert_eq!(denied, 4);
        assert!(app.store.user_summary(id).await.unwrap().unwrap().active);
    }
);

on_both_backends!(the_public_referral_form_is_limited_per_address, |app| {
    let client = new_client();
    let send = |address: &'static str| {
        let client = client.clone();
        let app = &app;
        async move {
            let token = app.csrf(&client, "/refer").await;
            let r = client
                .post(format!("{}/refer", app.base))
                .header("x-forwarded-for", address)
                .form(&[("csrf_token", token.as_str())])
                .send()
                .await
                .unwrap();
            let retry = r.headers().get("retry-after").is_some();
            (r.status(), retry, r.text().await.unwrap())
        }
    };
    for _ in 0..3 {
        assert_ne!(send("192.0.2.50").await.0, StatusCode::TOO_MANY_REQUESTS);
    }
    let (status, retry, body) = send("192.0.2.50").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry);
    assert!(body.contains("Too many referrals sent"));
    assert!(body.contains("You can send it again after"));
    assert_ne!(send("192.0.2.51").await.0, StatusCode::TOO_MANY_REQUESTS);
});
