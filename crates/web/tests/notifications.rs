//! Notifications over HTTP and the email transports, on SQLite and PostgreSQL: the header's
//! count and `/notifications` show each user their own notifications and tasks and nobody
//! else's; "mark as read" and "mark all as read" work for the recipient only; the email choice
//! returns a malformed address with the error summary; an opted-in user's email is delivered to
//! an SMTP relay this test starts (a small one speaking enough SMTP) and to a stand-in for the
//! GOV.UK Notify API this test starts, which checks the request's documented shape (the real
//! Notify service is not called); a refusing relay is recorded as a failed attempt.

#[macro_use]
mod support;

use std::sync::{Arc, Mutex};

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::{ReferralRoute, ReferralSource, Urgency};
use careweave_store::casework::{NewReferral, ReferredPerson, Referrer};
use careweave_store::outbox::MessageStatus;
use careweave_store::testing::{cross_employer_case, test_user, CrossEmployerCase, TestDatabase};
use careweave_store::{Backend, Store};
use careweave_web::email::{deliver_due, Mailer};
use careweave_web::settings::{GovukNotifySettings, NotificationSettings, Secret, SmtpSettings};
use reqwest::StatusCode;
use serde_json::Value;
use support::{Server, PASSWORD};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A made-up Notify API key in Notify's format: `{name}-{service id}-{secret}`.
const NOTIFY_KEY: &str =
    "careweave_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";

/// The cross-employer case (Ada, accepted by the charity's lead) and a GP at Ada's practice,
/// served with the email worker off so that each test delivers when it chooses.
struct TestApp {
    server: Server,
    store: Store,
    w: CrossEmployerCase,
    gp: Principal,
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
        let w = cross_employer_case(&db.store, PASSWORD).await;
        let gp = test_user(&db.store, "gp", Role::Referrer, w.practice, PASSWORD).await;
        let server = Server::start_with(&db, db.store.clone(), |s| {
            s.notifications.poll_seconds = 0;
        })
        .await;
        Self {
            server,
            store: db.store.clone(),
            w,
            gp,
            _db: db,
        }
    }

    /// The GP refers Ada to the case's service; the lead and co-worker are told.
    async fn gp_refers(&self) {
        let service = self
            .store
            .case_for(&self.w.lead, self.w.case)
            .await
            .unwrap()
            .service
            .id;
        self.store
            .create_referral(&NewReferral {
                service,
                known_person: None,
                person: ReferredPerson {
                    given_name: "Ada".into(),
                    family_name: "Example".into(),
                    date_of_birth: chrono::NaiveDate::from_ymd_opt(1950, 5, 17).unwrap(),
                    nhs_number: Some("9434765919".parse().unwrap()),
                    practice: Some(self.w.practice),
                    contact: "07700 900000".into(),
                },
                source: ReferralSource::Gp,
                route: ReferralRoute::App,
                reason: "Lonely".into(),
                needs: "Company".into(),
                concerns: String::new(),
                need_domains: vec![],
                risk_flags: vec![],
                cohort: None,
                urgency: Urgency::Soon,
                consent_share_detail: true,
                referrer: Referrer {
                    user: Some(self.gp.user),
                    name: "Test gp".into(),
                    contact: "Riverside Surgery".into(),
                },
                received_on: self.store.clock().today(),
            })
            .await
            .unwrap();
    }

    fn mailer(&self, settings: NotificationSettings) -> Mailer {
        Mailer::from_settings(&settings).unwrap()
    }
}

/// The header's words for screen readers, after "Notifications, ".
fn header_count(page: &str) -> String {
    let marker = "data-testid=\"notifications-link\">Notifications<span class=\"nhsuk-u-visually-hidden\">, ";
    let start = page
        .find(marker)
        .expect("the header links to notifications")
        + marker.len();
    page[start..start + page[start..].find('<').unwrap()].to_owned()
}

on_both_backends!(
    each_user_sees_their_own_notifications_and_marks_them_read,
    |app| {
        let lead = app.sign_in("lead").await;
        let gp = app.sign_in("gp").await;
        let (status, home) = app.get(&lead, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header_count(&home), "1 new");
        app.gp_refers().await;
        let (status, page) = app.get(&lead, "/notifications").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header_count(&page), "2 new");
        assert!(page.contains("2 new notifications"), "{page}");
        assert!(page.contains("A new referral is waiting for Social prescribing. Urgency: Soon."));
        assert!(
            page.contains("Reviews due this week"),
            "a worker sees their tasks"
        );
        assert!(!page.contains("Ada"), "no name in the list");
        // The GP has nothing yet, and no tasks section: a referrer has no caseload.
        let (status, page) = app.get(&gp, "/notifications").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header_count(&page), "none new");
        assert!(page.contains("You have no notifications yet"));
        assert!(!page.contains("Reviews due this week"));

        // One marked read by its recipient; another user's is not found.
        let mine = app.store.notifications(&app.w.lead, 0, 10).await.unwrap();
        let newest = mine.items[0].id;
        let (status, _, _) = app
            .post(
                &gp,
                "/notifications",
                &format!("/notifications/{newest}/read"),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, location, _) = app
            .post(
                &lead,
                "/notifications",
                &format!("/notifications/{newest}/read"),
                &[],
            )
            .await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, "/notifications")
        );
        assert_eq!(header_count(&app.get(&lead, "/").await.1), "1 new");
        let (status, _, _) = app
            .post(&lead, "/notifications", "/notifications/read-all", &[])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, page) = app.get(&lead, "/notifications").await;
        assert_eq!(header_count(&page), "none new");
        assert!(page.contains("No new notifications"));
        assert!(!page.contains("Mark all as read"));

        // Without the CSRF token the form is refused.
        let r = lead
            .post(format!("{}/notifications/read-all", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // The email choice: a malformed address comes back with the summary and what was typed.
        let (status, _, page) = app
            .post(
                &lead,
                "/notifications",
                "/notifications/email",
                &[("choice", "on"), ("email", "lead at example")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains("There is a problem"));
        assert!(page.contains("value=\"lead at example\""));
        let (status, _, _) = app
            .post(
                &lead,
                "/notifications",
                "/notifications/email",
                &[("choice", "on"), ("email", "lead@example.nhs.uk")],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, page) = app.get(&lead, "/notifications").await;
        assert!(page.contains("emailed to <strong>lead@example.nhs.uk</strong>"));
        let (status, _, _) = app
            .post(
                &lead,
                "/notifications",
                "/notifications/email",
                &[("choice", "off")],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(
            app.store.notification_email(app.w.lead.user).await.unwrap(),
            None
        );
    }
);

/// What an SMTP relay this test runs received: the commands and the message.
#[derive(Clone, Default)]
struct Relay {
    received: Arc<Mutex<Vec<String>>>,
}

impl Relay {
    /// Starts a relay on a free port that speaks enough SMTP for one client at a time, refusing
    /// every recipient with 550 when `refuse` is set. Returns it and its port.
    async fn start(refuse: bool) -> (Self, u16) {
        let relay = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let kept = relay.received.clone();
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 relay.test ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                let mut message = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            kept.lock().unwrap().push(std::mem::take(&mut message));
                            write.write_all(b"250 2.0.0 Queued\r\n").await.unwrap();
                        } else {
                            message.push_str(&line);
                            message.push('\n');
                        }
                        continue;
                    }
                    kept.lock().unwrap().push(line.clone());
                    let answer: &[u8] = match line.split(' ').next().unwrap_or("") {
                        "EHLO" => b"250-relay.test\r\n250 8BITMIME\r\n",
                        "RCPT" if refuse => b"550 5.1.1 No such user\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 End data with <CR><LF>.<CR><LF>\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 Bye\r\n").await;
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            }
        });
        (relay, port)
    }

    fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

fn smtp(port: u16, max_attempts: u32) -> NotificationSettings {
    NotificationSettings {
        poll_seconds: 0,
        max_attempts,
        backoff_seconds: 60,
        timeout_seconds: 5,
        smtp: Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            from: "careweave@example.nhs.uk".into(),
        }),
        govuk_notify: None,
    }
}

on_both_backends!(an_email_reaches_a_local_smtp_relay_and_is_recorded, |app| {
    app.store
        .set_notification_email(&app.w.lead, Some("lead@example.nhs.uk"))
        .await
        .unwrap();
    app.gp_refers().await;
    let (relay, port) = Relay::start(false).await;
    let sent = deliver_due(&app.store, &app.mailer(smtp(port, 3)))
        .await
        .unwrap();
    assert_eq!(sent, 1);
    let received = relay.received();
    assert!(
        received.contains(&"MAIL FROM:<careweave@example.nhs.uk>".to_owned()),
        "{received:?}"
    );
    assert!(
        received.contains(&"RCPT TO:<lead@example.nhs.uk>".to_owned()),
        "{received:?}"
    );
    let message = received.iter().find(|l| l.contains("Subject:")).unwrap();
    assert!(
        message.contains("Subject: You have a new notification in careweave\n"),
        "{message}"
    );
    assert!(
        message.contains("A new referral is waiting for Social prescribing."),
        "{message}"
    );
    assert!(!message.contains("Ada"), "{message}");
    let stored = app
        .store
        .notification_emails_for(app.w.lead.user)
        .await
        .unwrap();
    assert_eq!(stored[0].status, MessageStatus::Sent);
    assert_eq!(
        stored[0].delivered_via.as_deref(),
        Some(format!("SMTP relay 127.0.0.1:{port}").as_str())
    );
    // Nothing is sent twice.
    assert_eq!(
        deliver_due(&app.store, &app.mailer(smtp(port, 3)))
            .await
            .unwrap(),
        0
    );

    // A relay that refuses the recipient: the attempt is recorded, and after the last attempt
    // the email is failed.
    app.gp_refers().await;
    let (_, refusing) = Relay::start(true).await;
    assert_eq!(
        deliver_due(&app.store, &app.mailer(smtp(refusing, 1)))
            .await
            .unwrap(),
        0
    );
    let stored = app
        .store
        .notification_emails_for(app.w.lead.user)
        .await
        .unwrap();
    assert_eq!(stored[0].status, MessageStatus::Failed);
    assert_eq!(stored[0].attempts, 1);
    assert_eq!(
        stored[0].last_error.as_deref(),
        Some("The SMTP relay refused RCPT TO (550)")
    );
});

/// A stand-in for the GOV.UK Notify API on a free port: it keeps each request's Authorization
/// header and JSON body and answers as Notify documents (201 with the notification's id).
async fn notify_api(status: u16) -> (Arc<Mutex<Vec<(String, Value)>>>, String) {
    let kept: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let state = kept.clone();
    let app = axum::Router::new().route(
        "/v2/notifications/email",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: String| async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                state
                    .lock()
                    .unwrap()
                    .push((auth, serde_json::from_str(&body).unwrap_or(Value::Null)));
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("content-type", "application/json")],
                    r#"{"id": "740e5834-3a29-46b4-9a6f-16142fde533a", "content": {}}"#,
                )
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (kept, base)
}

fn notify(base: &str, max_attempts: u32) -> NotificationSettings {
    NotificationSettings {
        poll_seconds: 0,
        max_attempts,
        backoff_seconds: 60,
        timeout_seconds: 5,
        smtp: None,
        govuk_notify: Some(GovukNotifySettings {
            api_key: Secret(NOTIFY_KEY.into()),
            template_id: "f33517ff-2a88-4f6e-b855-c550268ce08a".into(),
            base_url: base.into(),
        }),
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    iat: i64,
}

on_both_backends!(
    an_email_goes_to_govuk_notify_in_its_documented_shape,
    |app| {
        app.store
            .set_notification_email(&app.w.coworker, Some("coworker@example.nhs.uk"))
            .await
            .unwrap();
        app.gp_refers().await;
        let (requests, base) = notify_api(201).await;
        let sent = deliver_due(&app.store, &app.mailer(notify(&base, 3)))
            .await
            .unwrap();
        assert_eq!(sent, 1);
        let requests = requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 1);
        let (auth, body) = &requests[0];
        // The bearer token: HS256, signed with the key's secret, issued by the key's service id,
        // at the store's time.
        let token = auth.strip_prefix("Bearer ").expect("a bearer token");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Claims>(
            token,
            &jsonwebtoken::DecodingKey::from_secret(b"3d844edf-8d35-48ac-975b-e847b4f122b0")
                .unwrap(),
            &validation,
        )
        .expect("a token signed with the key's secret")
        .claims;
        assert_eq!(claims.iss, "26785a09-ab16-4eb0-8407-a37497a57506");
        assert!((claims.iat - app.store.clock().now_utc().timestamp()).abs() < 60);
        assert_eq!(body["email_address"], "coworker@example.nhs.uk");
        assert_eq!(body["template_id"], "f33517ff-2a88-4f6e-b855-c550268ce08a");
        assert_eq!(
            body["personalisation"]["subject"],
            "You have a new notification in careweave"
        );
        assert!(body["personalisation"]["body"]
            .as_str()
            .unwrap()
            .starts_with("A new referral is waiting for Social prescribing."));
        assert!(body["reference"]
            .as_str()
            .unwrap()
            .starts_with("careweave-notification-email-"));
        let stored = app
            .store
            .notification_emails_for(app.w.coworker.user)
            .await
            .unwrap();
        assert_eq!(stored[0].status, MessageStatus::Sent);
        assert_eq!(
            stored[0].delivered_via.as_deref(),
            Some("GOV.UK Notify (notification 740e5834-3a29-46b4-9a6f-16142fde533a)")
        );

        // Notify refusing the request (400: a bad template, say) is a failed attempt, retried later.
        app.gp_refers().await;
        let (_, refusing) = notify_api(400).await;
        deliver_due(&app.store, &app.mailer(notify(&refusing, 3)))
            .await
            .unwrap();
        let stored = app
            .store
            .notification_emails_for(app.w.coworker.user)
            .await
            .unwrap();
        assert_eq!(stored[0].status, MessageStatus::Queued);
        assert_eq!(
            stored[0].last_error.as_deref(),
            Some("GOV.UK Notify answered HTTP 400")
        );
    }
);
