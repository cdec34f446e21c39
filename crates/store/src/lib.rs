//! careweave's persistence: one [`Store`] over SQLite (the embedded default) or PostgreSQL.
//!
//! The backend is chosen from the database URL ([`DatabaseUrl`]); an unknown scheme is an error and
//! never a new empty database. Both backends have migrations with identical names under
//! `migrations/sqlite` and `migrations/postgres`, run by [`Store::migrate`] at start.
//!
//! Queries are written once, in the SQL both backends accept, and run through sqlx's `Any` driver;
//! that is why dates and instants are stored as ISO 8601 text (see `ARCHITECTURE.md`).
//!
//! The modules, shared pieces first:
//!
//! - [`access`]: the one door to the access policy; builds the [`access::PersonAccess`] and
//!   [`access::CaseAccess`] capabilities and audits every refusal.
//! - [`change`]: the store-wide [`change::ActionError`] with its typed refusal, and the audited
//!   change helpers every context uses.
//! - `sql`: `IdList`, id lists bound as parameters (never formatted into the SQL text).
//! - [`audit`]: the append-only, hash-chained audit log and its group-commit queue.
//! - `cache`: configuration read on every page, cached in the process (never personal data).
//! - [`accounts`] (users, memberships, password checks, sessions), [`account_admin`] (taking
//!   access away), [`throttle`] (sign-in and public-form counters), [`mfa`] (authenticator
//!   secrets, recovery codes and the organisation's requirement), [`oidc`] (links to identity
//!   providers and sign-ins in flight) and [`api_tokens`] (the FHIR API's bearer tokens).
//! - [`people`]: places, organisations, households, people, staff and care teams.
//! - [`records`]: a person's record and caseload lists, read through the door and audited.
//! - [`consent`]: sharing preferences and break-glass accesses.
//! - [`lookup`]: finding a person by NHS number through [`records`].
//!
//! Then one module per context: [`casework`] (referrals to discharge, a folder by feature),
//! [`safeguarding`], [`lone_working`], [`outcomes`], [`mdt`], [`supervision`], [`events`]
//! (significant events and the board), [`directory`] (the service directory, signposting and
//! referrals to it), [`population`] (population runs loaded from the engine), [`worklists`]
//! (case-finding worklists as a team works them: pages, filters, export, set-aside) and
//! [`workforce`] (staff in post and the activity casework measures, for workforce planning) and
//! [`place`] (the place partnership workspace and its self-assessments). Last,
//! [`subject_access`] and [`retention`] (information rights over everything above) and
//! `testing` (feature `test-support`, a fresh database per test on either backend).

pub mod access;
pub mod account_admin;
pub mod accounts;
pub mod api_tokens;
pub mod audit;
mod cache;
pub mod casework;
pub mod change;
pub mod consent;
pub mod diary;
pub mod directory;
pub mod evaluation;
pub mod events;
pub mod lone_working;
pub mod lookup;
pub mod mdt;
pub mod mfa;
pub mod notifications;
pub mod oidc;
pub mod operations;
pub mod outbox;
pub mod outcomes;
pub mod people;
pub mod place;
pub mod population;
pub mod records;
pub mod retention;
pub mod safeguarding;
pub mod search;
mod sql;
pub mod subject_access;
pub mod supervision;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod throttle;
pub mod workforce;
pub mod worklists;

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

/// Which database engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL whose scheme has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    url: String,
}

/// Errors from the store. Messages never contain personal data: ids at most.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL scheme in {0:?}: use sqlite://PATH for the embedded database or \
         postgres://USER@HOST/DB for PostgreSQL"
    )]
    UnknownScheme(String),
    #[error("could not create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} already exists")]
    Duplicate(&'static str),
    #[error("{0} was not found")]
    NotFound(&'static str),
    #[error("stored value in {column} is not valid: {detail}")]
    Corrupt {
        column: &'static str,
        detail: String,
    },
    #[error("could not hash the password: {0}")]
    PasswordHash(String),
    /// `careweave backup` copies SQLite files; PostgreSQL has its own tools.
    #[error(
        "this database is PostgreSQL: back it up with pg_dump (for example \
         `pg_dump --format=custom --file careweave.dump DBNAME`) and restore with pg_restore; see README.md"
    )]
    BackupNeedsPgDump,
    /// The audit log's writer has stopped (the store is closing), so nothing more may be read.
    #[error("the audit log is not accepting entries: the store is closing")]
    AuditStopped,
}

impl FromStr for DatabaseUrl {
    type Err = StoreError;

    fn from_str(url: &str) -> Result<Self, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            // Never fall back to a default: a mistyped URL must not silently create an empty database.
            return Err(StoreError::UnknownScheme(redact_password(url)));
        };
        Ok(Self {
            backend,
            url: url.to_owned(),
        })
    }
}

impl DatabaseUrl {
    /// The URL of an SQLite file, created on first use.
    #[must_use]
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", path.display()),
        }
    }

    /// The backend the URL names.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL as given, password included: for handing to another process (a test starting
    /// the server), never for a log or a message (use [`DatabaseUrl::redacted`]).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The URL with any password replaced, safe for logs and error messages.
    #[must_use]
    pub fn redacted(&self) -> String {
        redact_password(&self.url)
    }
}

fn redact_password(url: &str) -> String {
    // postgres://user:secret@host/db → postgres://user:***@host/db
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The connection pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    settings: std::sync::Arc<cache::SettingsCache>,
    audit_queue: audit::AuditQueue,
    // The deployment's clock, so that a date the policy or a list decides on ("discharged in the
    // last 90 days") is a date in the deployment's time zone, not in UTC.
    clock: careweave_domain::clock::Clock,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to the database the URL names. For SQLite the file (and its directory) is created
    /// when missing, write-ahead logging is switched on and foreign keys are enforced.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let connect_url = match url.backend {
            Backend::Sqlite => {
                let path = url
                    .url
                    .trim_start_matches("sqlite:")
                    .trim_start_matches("//");
                let path = path.split('?').next().unwrap_or(path);
                if let Some(dir) = std::path::Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                            path: dir.to_owned(),
                            source,
                        })?;
                    }
                }
                // mode=rwc creates the file; sqlx's SQLite driver turns foreign keys on by default.
                if url.url.contains('?') {
                    url.url.clone()
                } else {
                    format!("{}?mode=rwc", url.url)
                }
            }
            Backend::Postgres => url.url.clone(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(match url.backend {
                // SQLite has one writer; a small pool avoids lock churn while still serving reads.
                Backend::Sqlite => 4,
                Backend::Postgres => 10,
            })
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                        // Every audited read commits a row, and in WAL mode a commit makes the
                        // other connections drop their page caches, so pages are read again
                        // constantly. Mapping the file lets those reads come straight from the
                        // operating system's cache instead of a copying read call each time.
                        sqlx::query("PRAGMA mmap_size = 268435456")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&connect_url)
            .await?;
        if url.backend == Backend::Sqlite {
            // WAL lets readers carry on while one writer commits; the setting persists in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .fetch_all(&pool)
                .await?;
        }
        Ok(Self {
            audit_queue: audit::AuditQueue::start(pool.clone()),
            pool,
            backend: url.backend,
            settings: std::sync::Arc::default(),
            clock: careweave_domain::clock::Clock::default(),
        })
    }

    /// This store reading "today" from `clock` (the deployment's clock in its `timezone`, or a
    /// fixed instant in tests) instead of the system clock in Europe/London.
    #[must_use]
    pub fn with_clock(mut self, clock: careweave_domain::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock this store reads "today" from.
    #[must_use]
    pub fn clock(&self) -> careweave_domain::clock::Clock {
        self.clock
    }

    /// Applies every pending migration for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// The backend this store runs on.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The underlying pool, for crates that add their own tables in later migrations.
    #[must_use]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Checks the database answers; used by `/health`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Writes a consistent copy of an SQLite database to `out` while it stays in use
    /// (`VACUUM INTO` reads one snapshot, so writers carry on and the copy is compact). A
    /// PostgreSQL database is backed up with `pg_dump` instead, which this refuses with the words
    /// to say so.
    pub async fn backup_sqlite(&self, out: &std::path::Path) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            return Err(StoreError::BackupNeedsPgDump);
        }
        let path = out.to_str().ok_or_else(|| StoreError::Corrupt {
            column: "backup path",
            detail: "the path is not valid UTF-8".to_owned(),
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The current instant as stored: RFC 3339 in UTC with microseconds, so text order is time order.
pub(crate) fn now_text() -> String {
    instant_text(chrono::Utc::now())
}

pub(crate) fn instant_text(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn parse_instant(
    column: &'static str,
    text: &str,
) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Corrupt {
            column,
            detail: e.to_string(),
        })
}

pub(crate) fn parse_date(
    column: &'static str,
    text: &str,
) -> Result<chrono::NaiveDate, StoreError> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}

pub(crate) fn parse_column<T: FromStr>(column: &'static str, text: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e: T::Err| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}

/// Reads a `YYYY-MM-DD` text column as a date.
pub(crate) fn get_date(
    row: &AnyRow,
    column: &'static str,
) -> Result<chrono::NaiveDate, StoreError> {
    parse_date(column, &row.try_get::<String, _>(column)?)
}

pub(crate) fn get_i64(row: &AnyRow, column: &'static str) -> Result<i64, StoreError> {
    Ok(row.try_get::<i64, _>(column)?)
}

/// Maps a unique-constraint violation to [`StoreError::Duplicate`], other errors unchanged.
pub(crate) fn map_unique(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what),
        _ => StoreError::Database(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_schemes_are_refused_and_passwords_never_echoed() {
        let err = "mysql://root:hunter2@db/care"
            .parse::<DatabaseUrl>()
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("unsupported database URL scheme"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
        assert!("careweave.db".parse::<DatabaseUrl>().is_err());
        assert_eq!(
            "sqlite://data/cw.db"
                .parse::<DatabaseUrl>()
                .unwrap()
                .backend(),
            Backend::Sqlite
        );
        assert_eq!(
            "postgresql://u@localhost/cw"
                .parse::<DatabaseUrl>()
                .unwrap()
                .backend(),
            Backend::Postgres
        );
    }
}
