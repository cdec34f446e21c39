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
    /// The deployment's time zone, a name from the IANA time-zone database. Every "today" and
    /// "now" a person sees or types (a contact's date, a visit's times, what is overdue) is read in
    /// it; an unknown name stops the service at start.
    pub timezone: String,
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
            timezone: careweave_domain::clock::DEFAULT_TIME_ZONE.to_owned(),
        }
    }
}
