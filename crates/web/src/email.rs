//! The notification emails' delivery worker and its two transports.
//!
//! The store writes each email when it writes the notification (`careweave_store::notifications`),
//! in the outbox's shape; this module sends them as `crate::outbox` sends the GP messages: each
//! round claims the due emails, sends each through the configured transport and records the
//! result in the store, which moves the email to sent, its next attempt (exponential backoff on
//! the store's clock) or failed after the last attempt. The transports:
//!
//! - **SMTP** to a relay on a trusted network (`[notifications.smtp]`): a small client written
//!   here (EHLO, MAIL FROM, RCPT TO, DATA with dot-stuffing, QUIT), plain text in UTF-8. It
//!   speaks neither STARTTLS nor AUTH: the relay (the organisation's mail relay, or an MTA on
//!   the same host) is trusted to deliver onwards, as it is for other internal systems. NHSmail
//!   and other providers that demand TLS and a password sit behind such a relay.
//! - **GOV.UK Notify** (`[notifications.govuk_notify]`): an HTTPS POST to
//!   `{base_url}/v2/notifications/email` with a JSON body naming the address, the template and
//!   its personalisation (`subject`, `body`), authorised by a bearer JSON Web Token signed with
//!   HS256 by the API key's secret, whose `iss` is the key's service id and `iat` the current
//!   time (Notify refuses a token more than 30 seconds old). A `201 Created` answer is a
//!   delivery to Notify, recorded with the notification id Notify gave. See docs/notifications.md.
//!
//! Errors recorded on an email name the failure (a reply code, a refused connection), never the
//! email's content.

use std::time::Duration;

use anyhow::Context;
use careweave_store::notifications::OutgoingEmail;
use careweave_store::outbox::{Delivery, DeliveryPolicy, MessageStatus};
use careweave_store::{Store, StoreError};
use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::settings::{GovukNotifySettings, NotificationSettings, SmtpSettings};

/// How many emails one round claims at most.
const ROUND: i64 = 50;

/// How emails leave.
#[derive(Debug, Clone)]
pub enum Transport {
    /// None configured: emails wait, queued, and a warning says so once at start.
    None,
    Smtp(SmtpSettings),
    GovukNotify(Box<GovukNotify>),
}

/// GOV.UK Notify with its key split into the parts the token needs.
#[derive(Debug, Clone)]
pub struct GovukNotify {
    service_id: String,
    secret: crate::settings::Secret,
    template_id: String,
    base_url: String,
    client: reqwest::Client,
}

/// The transport, the retry policy and the worker's timing.
#[derive(Debug, Clone)]
pub struct Mailer {
    pub transport: Transport,
    pub policy: DeliveryPolicy,
    pub poll: Duration,
    timeout: Duration,
    lease: chrono::TimeDelta,
}

/// Splits a Notify API key (`{key name}-{service id}-{secret}`, the last two UUIDs of 36
/// characters) into the service id and the secret.
fn split_notify_key(key: &str) -> Option<(String, String)> {
    let key = key.trim();
    let n = key.len();
    if n < 74 || !key.is_char_boundary(n - 73) {
        return None;
    }
    let service = &key[n - 73..n - 37];
    let secret = &key[n - 36..];
    let uuid = |s: &str| s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    (uuid(service) && uuid(secret) && &key[n - 37..n - 36] == "-")
        .then(|| (service.to_owned(), secret.to_owned()))
}

impl Mailer {
    /// Reads the `[notifications]` settings; both transports at once, or a malformed key, stop
    /// the service at start rather than losing emails later.
    pub fn from_settings(s: &NotificationSettings) -> anyhow::Result<Self> {
        anyhow::ensure!(
            s.max_attempts >= 1,
            "notifications max_attempts must be at least 1"
        );
        let timeout = Duration::from_secs(s.timeout_seconds.max(1));
        let transport = match (&s.smtp, &s.govuk_notify) {
            (None, None) => Transport::None,
            (Some(smtp), None) => {
                anyhow::ensure!(
                    careweave_store::notifications::plausible_email(&smtp.from),
                    "notifications.smtp.from is not an email address"
                );
                Transport::Smtp(smtp.clone())
            }
            (None, Some(n)) => Transport::GovukNotify(Box::new(notify_from(n, timeout)?)),
            (Some(_), Some(_)) => {
                anyhow::bail!("notifications: set either smtp or govuk_notify, not both")
            }
        };
        Ok(Self {
            transport,
            policy: DeliveryPolicy {
                max_attempts: s.max_attempts,
                backoff_seconds: s.backoff_seconds,
            },
            poll: Duration::from_secs(s.poll_seconds),
            timeout,
            lease: chrono::TimeDelta::seconds(
                i64::try_from(timeout.as_secs().min(3_600)).unwrap_or(3_600) * 2,
            ),
        })
    }

    /// Sends one email at `now` (the store's clock, which the Notify token's time comes from).
    pub async fn deliver(&self, e: &OutgoingEmail, now: DateTime<Utc>) -> Delivery {
        let result = match &self.transport {
            Transport::None => Err("No email transport is configured".to_owned()),
            Transport::Smtp(s) => {
                match tokio::time::timeout(self.timeout, send_smtp(s, e, now)).await {
                    Ok(r) => r.map(|()| format!("SMTP relay {}:{}", s.host, s.port)),
                    Err(_) => Err("The SMTP relay did not answer in time".to_owned()),
                }
            }
            Transport::GovukNotify(n) => n
                .send(e, now)
                .await
                .map(|id| format!("GOV.UK Notify (notification {id})")),
        };
        match result {
            Ok(via) => Delivery::Delivered {
                via,
                acknowledged: false,
            },
            Err(error) => Delivery::Failed { error },
        }
    }
}

fn notify_from(n: &GovukNotifySettings, timeout: Duration) -> anyhow::Result<GovukNotify> {
    let (service_id, secret) = split_notify_key(&n.api_key.0).context(
        "notifications.govuk_notify.api_key is not a Notify API key ({name}-{service id}-{secret})",
    )?;
    Ok(GovukNotify {
        service_id,
        secret: crate::settings::Secret(secret),
        template_id: n.template_id.trim().to_owned(),
        base_url: n.base_url.trim_end_matches('/').to_owned(),
        client: reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .context("the notifications' HTTP client")?,
    })
}

#[derive(serde::Serialize)]
struct NotifyClaims<'a> {
    iss: &'a str,
    iat: i64,
}

impl GovukNotify {
    /// The bearer token for a request at `now`.
    fn token(&self, now: DateTime<Utc>) -> Result<String, String> {
        let refused = |_| "Could not sign the GOV.UK Notify token".to_owned();
        let key =
            jsonwebtoken::EncodingKey::from_secret(self.secret.0.as_bytes()).map_err(refused)?;
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &NotifyClaims {
                iss: &self.service_id,
                iat: now.timestamp(),
            },
            &key,
        )
        .map_err(refused)
    }

    /// POSTs the email; the id Notify gave it on success.
    async fn send(&self, e: &OutgoingEmail, now: DateTime<Utc>) -> Result<String, String> {
        let body = serde_json::json!({
            "email_address": e.recipient,
            "template_id": self.template_id,
            "personalisation": { "subject": e.subject, "body": e.body },
            "reference": format!("careweave-notification-email-{}", e.id),
        });
        let answer = self
            .client
            .post(format!("{}/v2/notifications/email", self.base_url))
            .bearer_auth(self.token(now)?)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "GOV.UK Notify did not answer in time".to_owned()
                } else {
                    "Could not reach GOV.UK Notify".to_owned()
                }
            })?;
        let status = answer.status();
        if status != reqwest::StatusCode::CREATED {
            return Err(format!("GOV.UK Notify answered HTTP {}", status.as_u16()));
        }
        let v: serde_json::Value = answer.json().await.unwrap_or_default();
        Ok(v["id"].as_str().unwrap_or("without an id").to_owned())
    }
}

/// Reads one SMTP reply (its lines until the one without a hyphen after the code) and checks its
/// code's first digit.
async fn expect(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    class: char,
    step: &str,
) -> Result<(), String> {
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).await.map_err(|e| {
            format!(
                "The SMTP relay's answer to {step} could not be read ({})",
                e.kind()
            )
        })?;
        if n == 0 {
            return Err(format!("The SMTP relay closed the connection at {step}"));
        }
        if line.len() < 4 || !line.is_char_boundary(3) || !line.is_char_boundary(4) {
            return Err(format!("The SMTP relay's answer to {step} was not SMTP"));
        }
        if &line[3..4] == "-" {
            continue;
        }
        return if line.starts_with(class) {
            Ok(())
        } else {
            Err(format!("The SMTP relay refused {step} ({})", &line[..3]))
        };
    }
}

/// The message as sent: headers and the body's lines with CRLF, each line that starts with a dot
/// doubled (RFC 5321 section 4.5.2), ending with the lone dot.
fn smtp_data(from: &str, e: &OutgoingEmail, now: DateTime<Utc>) -> String {
    let mut data = format!(
        "From: careweave <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <careweave-notification-{id}-{stamp}@{domain}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        to = e.recipient,
        subject = e.subject,
        date = now.to_rfc2822(),
        id = e.id,
        stamp = now.timestamp(),
        domain = from.rsplit('@').next().unwrap_or("careweave.invalid"),
    );
    for line in e.body.lines() {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    data
}

async fn send_smtp(s: &SmtpSettings, e: &OutgoingEmail, now: DateTime<Utc>) -> Result<(), String> {
    // The addresses were checked to hold no spaces or line breaks, so no command can be added.
    if !careweave_store::notifications::plausible_email(&e.recipient) {
        return Err("The recipient's address is not an email address".to_owned());
    }
    let stream = TcpStream::connect((s.host.as_str(), s.port))
        .await
        .map_err(|_| "Could not connect to the SMTP relay".to_owned())?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    expect(&mut reader, '2', "the greeting").await?;
    let steps = [
        ("EHLO careweave\r\n".to_owned(), '2', "EHLO"),
        (format!("MAIL FROM:<{}>\r\n", s.from), '2', "MAIL FROM"),
        (format!("RCPT TO:<{}>\r\n", e.recipient), '2', "RCPT TO"),
        ("DATA\r\n".to_owned(), '3', "DATA"),
        (smtp_data(&s.from, e, now), '2', "the message"),
    ];
    for (command, class, step) in steps {
        write
            .write_all(command.as_bytes())
            .await
            .map_err(|e| format!("Could not send {step} to the SMTP relay ({})", e.kind()))?;
        expect(&mut reader, class, step).await?;
    }
    // The message is accepted; a failed goodbye does not undo that.
    let _ = write.write_all(b"QUIT\r\n").await;
    Ok(())
}

/// One round: claims the due emails and sends each, returning how many were sent.
pub async fn deliver_due(store: &Store, mailer: &Mailer) -> Result<usize, StoreError> {
    let mut sent = 0;
    for e in store.claim_due_emails(ROUND, mailer.lease).await? {
        let result = mailer.deliver(&e, store.clock().now_utc()).await;
        match store
            .record_email_delivery(&e, &result, &mailer.policy)
            .await?
        {
            MessageStatus::Sent | MessageStatus::Acknowledged => sent += 1,
            MessageStatus::Failed => {
                tracing::warn!(email = e.id, "a notification email failed its last attempt");
            }
            MessageStatus::Queued => {
                tracing::info!(email = e.id, "a notification email will be tried again");
            }
        }
    }
    Ok(sent)
}

/// The worker: a round every `poll` until the task is aborted. Without a transport it does not
/// run, so the emails stay queued (not failed) until one is configured.
pub async fn run(store: Store, mailer: Mailer) {
    if matches!(mailer.transport, Transport::None) {
        tracing::info!("no email transport is configured: notification emails wait, queued");
        return;
    }
    let mut tick = tokio::time::interval(mailer.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = deliver_due(&store, &mailer).await {
            tracing::warn!(%error, "a notification email round failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "careweave_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";

    #[test]
    fn a_notify_key_gives_its_service_id_and_secret() {
        let (service, secret) = split_notify_key(KEY).unwrap();
        assert_eq!(service, "26785a09-ab16-4eb0-8407-a37497a57506");
        assert_eq!(secret, "3d844edf-8d35-48ac-975b-e847b4f122b0");
        assert!(split_notify_key("not-a-key").is_none());
    }

    #[test]
    fn a_line_starting_with_a_dot_is_doubled_and_the_message_ends_with_a_lone_dot() {
        let e = OutgoingEmail {
            id: 7,
            recipient: "jo@example.nhs.uk".into(),
            subject: "You have a new notification in careweave".into(),
            body: "First\n.hidden\nLast".into(),
            attempts: 0,
        };
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let data = smtp_data("careweave@example.nhs.uk", &e, at);
        assert!(
            data.contains("\r\n\r\nFirst\r\n..hidden\r\nLast\r\n.\r\n"),
            "{data}"
        );
        assert!(data.contains("To: <jo@example.nhs.uk>\r\n"));
    }
}
