//! Fresh databases for tests, on either backend (enabled by the `test-support` feature).
//!
//! SQLite databases are files in a temporary directory. PostgreSQL databases are created on the
//! server named by `CAREWEAVE_TEST_POSTGRES_URL`, one new database per test, so tests never share
//! state. Without that variable PostgreSQL tests fail with a message saying how to provide it:
//! a test is never skipped silently. `scripts/test` starts a throwaway server and sets it.

use std::str::FromStr;

use crate::{Backend, DatabaseUrl, Store};

/// The variable naming a PostgreSQL server (a URL to any database on it) for tests.
pub const POSTGRES_ENV: &str = "CAREWEAVE_TEST_POSTGRES_URL";

/// A migrated, empty database that lives as long as this value.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: DatabaseUrl,
    pub store: Store,
    // Keeps the SQLite file's directory alive until the test ends.
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// Creates a fresh database on `backend` and runs the migrations.
    ///
    /// # Panics
    /// When the database cannot be created, or PostgreSQL is asked for without `CAREWEAVE_TEST_POSTGRES_URL`.
    pub async fn new(backend: Backend) -> Self {
        let (url, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                (
                    DatabaseUrl::sqlite_file(&dir.path().join("careweave.db")),
                    Some(dir),
                )
            }
            Backend::Postgres => (fresh_postgres_database().await, None),
        };
        let store = Store::connect(&url)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        Self {
            url,
            store,
            _dir: dir,
        }
    }
}

async fn fresh_postgres_database() -> DatabaseUrl {
    let server = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_ENV} is not set: PostgreSQL tests need a server. Run scripts/test, which starts \
             one, or set {POSTGRES_ENV}=postgres://USER@HOST:PORT/postgres"
        )
    });
    let admin = DatabaseUrl::from_str(&server).expect("a postgres:// URL");
    assert_eq!(
        admin.backend(),
        Backend::Postgres,
        "{POSTGRES_ENV} must be a postgres:// URL"
    );
    let admin_store = Store::connect(&admin)
        .await
        .expect("connect to the PostgreSQL test server");
    let name = format!(
        "careweave_test_{}",
        crate::accounts::random_token()
            .to_lowercase()
            .replace(['-', '_'], "")
    );
    let name: String = name.chars().take(48).collect();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin_store.pool())
        .await
        .expect("create a test database");
    admin_store.close().await;
    // Replace the database part of the URL (after the last '/', before any '?').
    let (base, query) = server
        .split_once('?')
        .map_or((server.as_str(), ""), |(b, q)| (b, q));
    let base = &base[..base.rfind('/').expect("URL has a path")];
    let url = if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    };
    DatabaseUrl::from_str(&url).expect("a postgres:// URL")
}
