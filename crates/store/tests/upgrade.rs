//! Upgrading a database of the first release with the current code loses nothing, on SQLite and
//! PostgreSQL.
//!
//! The test builds the schema the first release shipped (migrations 0001 to 0015, read from this
//! repository's migration folders), fills it with a small neighbourhood written for that schema
//! (tests/data/wave1.sql), snapshots every row of every table, runs the current migrations as
//! `careweave serve` and `careweave db migrate` do, and checks that every row and every column of
//! the old schema is still there with the same value, that the audit chain begun later holds over
//! the old rows, and that the record and the case read through the access door as before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::casework::CaseId;
use careweave_domain::{OrganisationId, PersonId, UserId};
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use sqlx::Row;

/// The last migration of the first release.
const FIRST_RELEASE: i64 = 15;

fn migrations_folder(backend: Backend) -> PathBuf {
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(name)
}

/// Runs the migrations up to and including `last`, from a copy of those files, as the first
/// release's binary would have.
async fn migrate_to(store: &Store, backend: Backend, last: i64) {
    let old = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(migrations_folder(backend)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version <= last {
            std::fs::copy(&path, old.path().join(&name)).unwrap();
        }
    }
    sqlx::migrate::Migrator::new(old.path())
        .await
        .unwrap()
        .run(store.pool())
        .await
        .unwrap();
}

async fn load_fixture(store: &Store) {
    let text = include_str!("data/wave1.sql");
    let without_comments: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    for statement in without_comments.split(";\n") {
        let statement = statement.trim().trim_end_matches(';');
        if !statement.is_empty() {
            sqlx::query(statement)
                .execute(store.pool())
                .await
                .unwrap_or_else(|e| panic!("{e}: {statement}"));
        }
    }
}

/// Every table's columns, from the database's own catalogue.
async fn schema(store: &Store, backend: Backend) -> BTreeMap<String, Vec<String>> {
    let rows = match backend {
        Backend::Sqlite => sqlx::query(
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
             ORDER BY m.name, p.cid",
        ),
        Backend::Postgres => sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' \
             ORDER BY table_name, ordinal_position",
        ),
    }
    .fetch_all(store.pool())
    .await
    .unwrap();
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        tables
            .entry(r.get::<String, _>("t"))
            .or_default()
            .push(r.get::<String, _>("c"));
    }
    tables
}

/// Every row of `table`'s `columns` as text, sorted, so two snapshots compare whatever order the
/// database returns rows in.
async fn rows(store: &Store, table: &str, columns: &[String]) -> Vec<String> {
    let list = columns
        .iter()
        .map(|c| format!("COALESCE(CAST({c} AS TEXT), '<null>') AS {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out: Vec<String> = sqlx::query(&format!("SELECT {list} FROM {table}"))
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (0..columns.len())
                .map(|i| r.get::<String, _>(i))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    out.sort();
    out
}

async fn upgrade_keeps_every_record(backend: Backend) {
    let db = TestDatabase::unmigrated(backend).await;
    let store = db.store.clone();
    migrate_to(&store, backend, FIRST_RELEASE).await;
    load_fixture(&store).await;

    let old_schema = schema(&store, backend).await;
    let mut before = BTreeMap::new();
    for (table, columns) in &old_schema {
        before.insert(table.clone(), rows(&store, table, columns).await);
    }
    assert!(before["people"].len() == 2 && before["casework_contacts"].len() == 1);

    store.migrate().await.expect("the current migrations apply");

    let new_schema = schema(&store, backend).await;
    for (table, columns) in &old_schema {
        let kept = new_schema
            .get(table)
            .unwrap_or_else(|| panic!("table {table} was dropped by the upgrade"));
        for c in columns {
            assert!(
                kept.contains(c),
                "column {table}.{c} was dropped by the upgrade"
            );
        }
        assert_eq!(
            rows(&store, table, columns).await,
            before[table],
            "rows of {table} changed in the upgrade"
        );
    }

    // The audit chain, begun after the first release, covers the rows written before it.
    let report = store.verify_audit_chain(&BTreeMap::new()).await.unwrap();
    assert!(report.broken.is_none(), "{:?}", report.broken);
    assert_eq!(report.sealed_before_chain, 2);

    // The record and the case still open through the access door, for the care team only.
    let id = |sql: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query(sql)
                .fetch_one(store.pool())
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    let worker = Principal {
        user: UserId::new(id("SELECT id FROM users WHERE username = 'worker@example.org'").await),
        memberships: vec![Membership {
            organisation: OrganisationId::new(
                id("SELECT id FROM organisations WHERE name = 'Riverside Community Trust'").await,
            ),
            role: Role::Worker,
        }],
    };
    let person = PersonId::new(id("SELECT id FROM people WHERE nhs_number = '9990000018'").await);
    let record = store.read_person(&worker, person).await.unwrap();
    assert_eq!(record.person.given_name, "Ada");
    assert_eq!(record.care_team.len(), 1);
    let case = CaseId::new(id("SELECT MIN(id) FROM casework_cases").await);
    let view = store.case_for(&worker, case).await.unwrap();
    assert_eq!(
        view.plan.what_matters,
        "Getting out to the lunch club again."
    );
    assert_eq!(view.plan.goals.len(), 1);
    let gp = Principal {
        user: UserId::new(id("SELECT id FROM users WHERE username = 'gp@example.org'").await),
        memberships: vec![Membership {
            organisation: OrganisationId::new(
                id("SELECT id FROM organisations WHERE ods_code = 'Y00001'").await,
            ),
            role: Role::Referrer,
        }],
    };
    assert!(store.read_person(&gp, person).await.is_err());
}

#[tokio::test]
async fn sqlite_database_of_the_first_release_upgrades_without_loss() {
    upgrade_keeps_every_record(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_database_of_the_first_release_upgrades_without_loss() {
    upgrade_keeps_every_record(Backend::Postgres).await;
}
