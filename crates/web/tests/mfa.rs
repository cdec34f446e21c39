//! Multi-factor sign-in over HTTP: enrolment with a QR code and recovery codes, the code asked for
//! after the password (throttled like passwords, never accepted twice), an organisation that
//! requires it (members enrol before reaching anything else) and an administrator's reset, on
//! SQLite and PostgreSQL.

#[macro_use]
mod support;

use careweave_domain::access::{Membership, Role};
use careweave_domain::{OrganisationId, OrganisationKind, UserId};
use careweave_store::accounts::NewUser;
use careweave_store::audit::AuditFilter;
use careweave_store::mfa::totp::{code_at, from_base32, step_of};
use careweave_store::people::NewOrganisation;
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use reqwest::StatusCode;
use secrecy::SecretString;
use support::{new_client, Server, PASSWORD};

struct TestApp {
    server: Server,
    store: Store,
    charity: OrganisationId,
    practice: OrganisationId,
    worker: UserId,
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
        let mut ids = Vec::new();
        for (name, role) in [("worker", Role::Worker), ("admin", Role::Admin)] {
            ids.push(
                store
                    .create_user(NewUser {
                        username: format!("{name}@test"),
                        display_name: format!("Test {name}"),
                        password: SecretString::from(PASSWORD.to_owned()),
                        memberships: vec![Membership {
                            organisation: charity,
                            role,
                        }],
                    })
                    .await
                    .unwrap(),
            );
        }
        let server = Server::start_with(&db, store.clone(), |s| {
            s.sign_in_backoff_cap_seconds = 2;
            s.mfa_secret_key = Some(careweave_web::settings::Secret(
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
            ));
        })
        .await;
        Self {
            server,
            store,
            charity,
            practice,
            worker: ids[0],
            _db: db,
        }
    }

    /// Signs in with the password only, returning the client and where it was sent.
    async fn password(&self, name: &str) -> (reqwest::Client, String) {
        let client = new_client();
        let username = format!("{name}@test");
        let (status, location, _) = self
            .post(
                &client,
                "/sign-in",
                "/sign-in",
                &[
                    ("username", &username),
                    ("password", PASSWORD),
                    ("next", "/people"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        (client, location)
    }

    /// Posts a multi-factor code on the code page, asking to go to `next` afterwards.
    async fn code(
        &self,
        client: &reqwest::Client,
        code: &str,
        next: &str,
    ) -> (StatusCode, String, String) {
        self.post(
            client,
            "/sign-in",
            "/sign-in/code",
            &[("code", code), ("next", next)],
        )
        .await
    }

    async fn sign_out(&self, client: &reqwest::Client) {
        let (status, _, _) = self.post(client, "/sign-in", "/sign-out", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }

    /// Where a GET is sent (the Location of a redirect, empty for a page).
    async fn goes_to(&self, client: &reqwest::Client, path: &str) -> String {
        let r = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        r.headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    async fn audit(&self, entity: &str) -> Vec<String> {
        self.store
            .audit_entries(&AuditFilter {
                entity: Some(entity.into()),
                entity_id: None,
                limit: 200,
            })
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.reason)
            .collect()
    }
}

/// The setup key shown on the enrolment page, with the QR code's alt text checked to carry it.
fn setup_key(page: &str) -> String {
    let marker = "id=\"secret\"><code>";
    let start = page.find(marker).expect("the page shows the setup key") + marker.len();
    let key = page[start..start + page[start..].find('<').unwrap()].to_owned();
    assert!(
        page.contains("src=\"data:image/svg+xml;base64,"),
        "a QR code image"
    );
    assert!(
        page.contains(&format!("The setup key to type instead is {key}\"")),
        "the QR code's alt text gives the key"
    );
    key
}

/// The code for the step after now: the step of enrolment is used up, and a code one step ahead
/// is accepted for clocks that drift.
fn next_code(key: &str, steps_ahead: i64) -> String {
    let secret = from_base32(key).unwrap();
    format!(
        "{:06}",
        code_at(
            &secret,
            step_of(chrono::Utc::now().timestamp()) + steps_ahead
        )
    )
}

fn recovery_codes(page: &str) -> Vec<String> {
    page.split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect()
}

on_both_backends!(enrol_then_sign_in_with_a_code, |app| {
    let client = app.sign_in("worker").await;
    let (status, page) = app.get(&client, "/account/mfa").await;
    assert_eq!(status, StatusCode::OK);
    let key = setup_key(&page);

    // A wrong code comes back with the error summary and the same key.
    let (status, _, page) = app
        .post(
            &client,
            "/account/mfa",
            "/account/mfa",
            &[("code", "12345x")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("There is a problem"));
    assert_eq!(setup_key(&page), key);

    let (status, _, page) = app
        .post(
            &client,
            "/sign-in",
            "/account/mfa",
            &[("code", &next_code(&key, 0)), ("next", "/")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let codes = recovery_codes(&page);
    assert_eq!(codes.len(), 10, "{page}");
    let (_, page) = app.get(&client, "/account/mfa").await;
    assert!(page.contains("Multi-factor sign-in is on"));
    app.sign_out(&client).await;

    // The password now leads to the code page, and nothing else is reachable before the code.
    let (client, location) = app.password("worker").await;
    assert_eq!(location, "/sign-in/code?next=%2Fpeople");
    assert_eq!(app.goes_to(&client, "/").await, "/sign-in/code");
    assert_eq!(app.goes_to(&client, "/admin/users").await, "/sign-in/code");
    let (status, page) = app.get(&client, "/sign-in/code?next=%2Fpeople").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("autocomplete=\"one-time-code\""));
    let (status, _, _) = app.code(&client, "000000", "/people").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let code = next_code(&key, 1);
    let (status, location, _) = app.code(&client, &code, "/people").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/people");
    let (status, _) = app.get(&client, "/").await;
    assert_eq!(status, StatusCode::OK);
    app.sign_out(&client).await;

    // The same code again (a replay within its window) is refused; a recovery code works once.
    let (client, _) = app.password("worker").await;
    let (status, _, _) = app.code(&client, &code, "/").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, location, _) = app.code(&client, &codes[0], "/").await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"));
    app.sign_out(&client).await;
    let (client, _) = app.password("worker").await;
    let (status, _, _) = app.code(&client, &codes[0], "/").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Wrong codes count in the sign-in throttle like wrong passwords: the password and four
    // wrong codes use the five free attempts, then even the right code has to wait.
    for _ in 0..3 {
        let (status, _, _) = app.code(&client, "000000", "/").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, _, page) = app.code(&client, &codes[1], "/").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("too many attempts"));

    let audit = app.audit("user").await;
    for expected in [
        "multi-factor sign-in: turned on with 10 recovery codes issued",
        "multi-factor sign-in: authenticator code accepted",
        "multi-factor sign-in: recovery code accepted",
        "multi-factor sign-in: code refused",
    ] {
        assert!(audit.iter().any(|r| r == expected), "{expected}");
    }
});

on_both_backends!(organisation_requires_enrolment_and_admin_resets, |app| {
    let admin = app.sign_in("admin").await;
    let (status, page) = app.get(&admin, "/admin/security").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Riverside Community Trust"));
    assert!(
        !page.contains("Riverside Surgery"),
        "not this admin's organisation"
    );
    let charity = app.charity.to_string();
    let (status, location, _) = app
        .post(
            &admin,
            "/admin/security",
            "/admin/security",
            &[("organisation", &charity), ("required", "yes")],
        )
        .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/admin/security?done=saved")
    );
    // Another organisation's setting is refused (and audited).
    let practice = app.practice.to_string();
    let (status, _, _) = app
        .post(
            &admin,
            "/admin/security",
            "/admin/security",
            &[("organisation", &practice), ("required", "yes")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let audit = app.audit("organisation").await;
    assert!(audit
        .iter()
        .any(|r| r.starts_with("multi-factor sign-in required for organisation")));
    assert!(audit
        .iter()
        .any(|r| r.starts_with("refused to change multi-factor sign-in")));

    // The worker must enrol before reaching anything else.
    let (client, location) = app.password("worker").await;
    assert_eq!(location, "/account/mfa?next=%2Fpeople");
    assert_eq!(app.goes_to(&client, "/").await, "/account/mfa");
    let (status, page) = app.get(&client, "/account/mfa?next=%2Fpeople").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Your organisation requires"));
    let key = setup_key(&page);
    let (status, _, page) = app
        .post(
            &client,
            "/sign-in",
            "/account/mfa",
            &[("code", &next_code(&key, 0)), ("next", "/people")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(recovery_codes(&page).len(), 10);
    assert!(page.contains("href=\"/people\""));
    let (status, _) = app.get(&client, "/").await;
    assert_eq!(status, StatusCode::OK, "enrolling finished signing in");

    // The admin sees it on and resets it: the worker's sessions end.
    let account = format!("/admin/users/{}", app.worker);
    let (_, page) = app.get(&admin, &account).await;
    assert!(page.contains("Reset multi-factor sign-in"));
    let (status, location, _) = app
        .post(&admin, &account, &format!("{account}/reset-mfa"), &[])
        .await;
    assert_eq!(
        (status, location),
        (StatusCode::SEE_OTHER, format!("{account}?done=mfa"))
    );
    // Signed out, `/` is the public home page, so a page of the worker's own shows the session
    // has ended.
    assert!(app
        .goes_to(&client, "/people")
        .await
        .starts_with("/sign-in"));
    assert!(!app.store.mfa_status(app.worker).await.unwrap().active);
    assert!(app
        .audit("user")
        .await
        .iter()
        .any(|r| r.starts_with(&format!(
            "multi-factor sign-in of account {} reset by an administrator",
            app.worker
        ))));
});
