//! Service settings. The binary layers them: built-in defaults, then a TOML file, then `CAREWEAVE_*`
//! environment variables (see the README).

use serde::{Deserialize, Serialize};

/// What the web service needs to start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `sqlite://PATH` (embedded default) or `postgres://…`. Any other scheme is refused at start.
    pub database_url: String,
    /// The address to listen on. Loopback by default: put a TLS-terminating proxy in front for a
    /// multi-user deployment.
    pub host: String,
    /// The port to listen on; 0 picks a free one (tests do this).
    pub port: u16,
    /// How long a session lasts after sign-in, in hours.
    pub session_hours: i64,
    /// Whether cookies carry the `Secure` attribute. Browsers accept secure cookies from
    /// `http://localhost` and `http://127.0.0.1`, so this stays on unless served over plain HTTP
    /// to another host, which a deployment should not do.
    pub secure_cookies: bool,
    /// A folder of outcome-measure definition files (TOML) that this deployment supplies, for
    /// example licensed instruments it holds a licence for. They are loaded after the ones
    /// careweave ships and replace a shipped one with the same id.
    pub instruments_dir: Option<std::path::PathBuf>,
    /// How long each kind of record is kept (the `[retention]` table); read by
    /// `careweave retention purge`, not by the web service. See `store::retention`.
    pub retention: careweave_store::retention::RetentionPolicy,
    /// The longest wait, in seconds, that failed sign-in attempts build up to (they double from one
    /// second after five failures for one account from one address; see `domain::account`).
    pub sign_in_backoff_cap_seconds: i64,
    /// How many times one address may send the public referral form (`/refer`) in an hour.
    pub refer_per_hour: i64,
    /// Whether the client's address is read from the last `X-Forwarded-For` entry, which the
    /// reverse proxy in front of careweave appends. Only turn this on behind such a proxy:
    /// otherwise a client could name any address and escape the sign-in throttle.
    pub trust_forwarded_for: bool,
    /// How long a break-glass access keeps a record open, in hours.
    pub break_glass_hours: i64,
    /// The key that encrypts multi-factor (TOTP) secrets in the database: base64 of 32 random
    /// bytes (`openssl rand -base64 32`). Without it secrets are stored unencrypted and the
    /// service warns at start. Keep it outside the database and its backups.
    pub mfa_secret_key: Option<Secret>,
    /// The name authenticator apps show beside the account (the `issuer` of the QR code).
    pub mfa_issuer: String,
    /// OpenID Connect providers people may sign in through (the `[[oidc_providers]]` tables).
    pub oidc_providers: Vec<OidcProvider>,
    /// The deployment's time zone, a name from the IANA time-zone database. Every "today" and
    /// "now" a person sees or types (a contact's date, a visit's times, what is overdue) is read in
    /// it; an unknown name stops the service at start.
    pub timezone: String,
    /// A bearer token Prometheus must send to read `/metrics`. Without it the metrics are served
    /// to anyone who reaches the path, so the proxy in front must keep it to the monitoring
    /// network (the figures hold no personal data, but they describe the service).
    pub metrics_token: Option<Secret>,
    /// The outbox's delivery (the `[outbox]` table): how often and how many times to try, and
    /// each GP practice's transport (see `crate::outbox` and docs/fhir.md).
    pub outbox: OutboxSettings,
    /// How notifications are emailed to the users who asked for email (the `[notifications]`
    /// table; see `crate::email` and docs/notifications.md).
    pub notifications: NotificationSettings,
    /// The address people and API clients reach this service at (`https://care.example.nhs.uk`),
    /// for the absolute links the APIs publish, such as the ORUK `openapi_url`. Without it the
    /// links are made from the request's `Host` with `http`, or `https` when a trusted proxy
    /// (`trust_forwarded_for`) says `X-Forwarded-Proto: https`.
    pub public_base_url: Option<String>,
}

impl Settings {
    /// The absolute address this service is reached at, without a trailing `/`: the
    /// `public_base_url` setting, or else the request's `Host` with `http` (`https` only when a
    /// trusted proxy says the client used it), never `https` guessed for a plain-HTTP server.
    #[must_use]
    pub fn public_base(&self, headers: &axum::http::HeaderMap) -> String {
        if let Some(base) = self.public_base_url.as_deref().map(str::trim) {
            if !base.is_empty() {
                return base.trim_end_matches('/').to_owned();
            }
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let host = header("host").unwrap_or("localhost");
        let https = self.trust_forwarded_for
            && header("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"));
        let scheme = if https { "https" } else { "http" };
        format!("{scheme}://{host}")
    }
}

/// The notification emails' delivery: the worker's rounds and retries (as the outbox's) and the
/// transport. With no transport the emails wait, queued, until one is configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    /// Seconds between the worker's rounds; 0 turns the worker off.
    pub poll_seconds: u64,
    /// Attempts before an email is marked not delivered.
    pub max_attempts: u32,
    /// The wait after the first failed attempt, in seconds; each later wait doubles (up to a day).
    pub backoff_seconds: i64,
    /// How long one attempt may take, in seconds.
    pub timeout_seconds: u64,
    /// An SMTP relay (the `[notifications.smtp]` table).
    pub smtp: Option<SmtpSettings>,
    /// GOV.UK Notify (the `[notifications.govuk_notify]` table).
    pub govuk_notify: Option<GovukNotifySettings>,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        let policy = careweave_store::outbox::DeliveryPolicy::default();
        Self {
            poll_seconds: 10,
            max_attempts: policy.max_attempts,
            backoff_seconds: policy.backoff_seconds,
            timeout_seconds: 30,
            smtp: None,
            govuk_notify: None,
        }
    }
}

/// An SMTP relay on a trusted network (such as the organisation's mail relay or a local MTA):
/// careweave speaks plain SMTP to it without TLS or a password, and the relay delivers onwards.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "smtp_port")]
    pub port: u16,
    /// The sender's address, such as `careweave@example.nhs.uk`.
    pub from: String,
}

fn smtp_port() -> u16 {
    25
}

/// GOV.UK Notify: an API key and an email template whose subject and body are the
/// placeholders `((subject))` and `((body))`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GovukNotifySettings {
    /// The API key as Notify shows it: `{key name}-{service id}-{secret}`.
    pub api_key: Secret,
    pub template_id: String,
    #[serde(default = "notify_base_url")]
    pub base_url: String,
}

fn notify_base_url() -> String {
    "https://api.notifications.service.gov.uk".to_owned()
}

/// How the delivery worker sends the outbox's messages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSettings {
    /// Seconds between the worker's rounds; 0 turns the worker off (a second process on the
    /// same database may deliver instead).
    pub poll_seconds: u64,
    /// Attempts before a message is shown as not delivered.
    pub max_attempts: u32,
    /// The wait after the first failed attempt, in seconds; each later wait doubles (up to a day).
    pub backoff_seconds: i64,
    /// How long an HTTP delivery may take, in seconds.
    pub timeout_seconds: u64,
    /// Each practice's transport, by its ODS code (the `[[outbox.practices]]` tables).
    pub practices: Vec<PracticeTransport>,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        let policy = careweave_store::outbox::DeliveryPolicy::default();
        Self {
            poll_seconds: 10,
            max_attempts: policy.max_attempts,
            backoff_seconds: policy.backoff_seconds,
            timeout_seconds: 30,
            practices: Vec::new(),
        }
    }
}

/// Where one GP practice's messages go: a folder (a file each, written atomically, for a
/// practice system or a mail gateway that reads a folder) or a FHIR endpoint that takes an HTTP
/// POST of the message Bundle (its `$process-message` address). Exactly one is set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PracticeTransport {
    pub ods: String,
    pub folder: Option<std::path::PathBuf>,
    pub fhir_endpoint: Option<String>,
}

/// A setting that must never be printed (a key or a client secret): `Debug` shows stars.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// An organisation's (or the deployment's) OpenID Connect provider, such as NHS CIS2 or Microsoft
/// Entra ID. Accounts are linked to identities at it by an administrator (see `store::oidc`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProvider {
    /// A short name for addresses and links (`/sign-in/oidc/{key}`), such as `cis2`. It names the
    /// provider in account links, so changing it unlinks everyone.
    pub key: String,
    /// What the sign-in button says: "Sign in with {name}".
    pub name: String,
    /// The issuer URL; its `/.well-known/openid-configuration` is read for the endpoints and keys,
    /// and the ID token's `iss` must equal it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// This service's callback address as registered with the provider, ending
    /// `/sign-in/oidc/{key}/callback`.
    pub redirect_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/careweave.db".to_owned(),
            host: "127.0.0.1".to_owned(),
            port: 8080,
            session_hours: 8,
            secure_cookies: true,
            instruments_dir: None,
            retention: careweave_store::retention::RetentionPolicy::default(),
            sign_in_backoff_cap_seconds: 15 * 60,
            refer_per_hour: 20,
            trust_forwarded_for: false,
            break_glass_hours: 4,
            mfa_secret_key: None,
            mfa_issuer: "careweave".to_owned(),
            oidc_providers: Vec::new(),
            timezone: careweave_domain::clock::DEFAULT_TIME_ZONE.to_owned(),
            metrics_token: None,
            outbox: OutboxSettings::default(),
            public_base_url: None,
            notifications: NotificationSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_public_base_is_the_setting_or_the_host_over_plain_http() {
        let plain = headers(&[("host", "care.example:8080")]);
        // Secure cookies are on by default, which says nothing about how this server is reached.
        let s = Settings::default();
        assert!(s.secure_cookies);
        assert_eq!(s.public_base(&plain), "http://care.example:8080");
        let s = Settings {
            public_base_url: Some("https://care.example.nhs.uk/".to_owned()),
            ..Settings::default()
        };
        assert_eq!(s.public_base(&plain), "https://care.example.nhs.uk");
        // A proxy's word about the scheme counts only when the proxy is trusted.
        let proxied = headers(&[("host", "care.example"), ("x-forwarded-proto", "https")]);
        assert_eq!(
            Settings::default().public_base(&proxied),
            "http://care.example"
        );
        let trusted = Settings {
            trust_forwarded_for: true,
            ..Settings::default()
        };
        assert_eq!(trusted.public_base(&proxied), "https://care.example");
        assert_eq!(
            Settings::default().public_base(&HeaderMap::new()),
            "http://localhost"
        );
    }
}
