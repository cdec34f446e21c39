//! `careweave audit verify|head|export` and `careweave backup` on the real binary: a tampered
//! row is named and fails the command, the export carries the hashes, and a backup restored by
//! copying it into a fresh place opens with the same rows in every table and the same chain head.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use careweave_store::audit::{AuditAction, AuditEvent};
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, DatabaseUrl, Store};

fn careweave(url: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_careweave"))
        .args(args)
        .env("CAREWEAVE_DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

async fn some_rows(store: &Store) {
    let auditor = careweave_store::accounts::NewUser {
        username: "auditor@example.org".into(),
        display_name: "An Auditor".into(),
        password: secrecy::SecretString::from("a long enough password".to_owned()),
        memberships: Vec::new(),
    };
    let user = store.create_user(auditor).await.unwrap();
    for n in 0..12 {
        store
            .audit(AuditEvent {
                user: (n % 2 == 0).then_some(user),
                action: AuditAction::Read,
                entity: "person",
                entity_id: Some(n),
                reason: if n == 3 {
                    "=HYPERLINK(\"x\"), with a comma".into()
                } else {
                    "care_team_member".into()
                },
            })
            .await
            .unwrap();
    }
}

/// Row counts of every table of an SQLite database.
async fn table_counts(store: &Store) -> BTreeMap<String, i64> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let mut counts = BTreeMap::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{table}\""))
            .fetch_one(store.pool())
            .await
            .unwrap();
        counts.insert(table, n);
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_tampered_row_and_export_carries_the_hashes() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let url = db.url.as_str().to_owned();
    some_rows(&db.store).await;

    let holds = ok(&careweave(&url, &["audit", "verify"]));
    assert!(holds.contains("The audit chain holds: 12 rows"), "{holds}");
    let head = ok(&careweave(&url, &["audit", "head"]));
    let (id, hash) = head.trim().split_once('\t').expect("ID<TAB>HASH");
    assert_eq!(id, "12");
    assert_eq!(hash.len(), 64);
    let known = format!("{id}:{hash}");
    ok(&careweave(&url, &["audit", "verify", "--known", &known]));

    let today = chrono::Utc::now().date_naive().to_string();
    let out = db.url.as_str().trim_start_matches("sqlite://").to_owned() + ".export.csv";
    let exported = careweave(
        &url,
        &[
            "audit", "export", "--from", &today, "--to", &today, "--out", &out,
        ],
    );
    ok(&exported);
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,at,user_id,username,action,entity,entity_id,reason,prev_hash,hash")
    );
    assert!(csv.contains(hash), "the head's hash is in the export");
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"x\"\"), with a comma\","),
        "formulas defused and quoted: {csv}"
    );
    // The export is itself audited, so the chain has grown by one.
    assert!(ok(&careweave(&url, &["audit", "verify"])).contains("13 rows"));

    // The owner drops the trigger and edits row 5: verify fails and names it.
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(db.store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET entity_id = 99 WHERE id = 5")
        .execute(db.store.pool())
        .await
        .unwrap();
    let broken = careweave(&url, &["audit", "verify"]);
    assert!(!broken.status.success());
    let err = text(&broken.stderr);
    assert!(err.contains("broken at row 5"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restored_elsewhere_has_every_row_and_the_same_chain_head() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let url = db.url.as_str().to_owned();
    some_rows(&db.store).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    // The original stays open (and in use) while it is copied.
    let said = ok(&careweave(
        &url,
        &["backup", "--out", backup.to_str().unwrap()],
    ));
    assert!(said.contains("row 12"), "{said}");
    // A second backup to the same file is refused rather than overwriting it.
    assert!(
        !careweave(&url, &["backup", "--out", backup.to_str().unwrap()])
            .status
            .success()
    );

    // Restore: copy the file into a fresh place, migrate and verify there, as README says.
    let restored = dir.path().join("restored").join("careweave.db");
    std::fs::create_dir_all(restored.parent().unwrap()).unwrap();
    std::fs::copy(&backup, &restored).unwrap();
    let restored_url = DatabaseUrl::sqlite_file(Path::new(&restored));
    ok(&careweave(restored_url.as_str(), &["db", "migrate"]));
    ok(&careweave(restored_url.as_str(), &["audit", "verify"]));
    let copy = Store::connect(&restored_url).await.unwrap();
    assert_eq!(table_counts(&copy).await, table_counts(&db.store).await);
    assert_eq!(
        copy.audit_chain_head().await.unwrap(),
        db.store.audit_chain_head().await.unwrap()
    );
    copy.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backups_are_sent_to_pg_dump() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let out = careweave(
        db.url.as_str(),
        &["backup", "--out", dir.path().join("x.db").to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("pg_dump"),
        "{}",
        text(&out.stderr)
    );
    // The chain commands work there as well.
    some_rows(&db.store).await;
    assert!(ok(&careweave(db.url.as_str(), &["audit", "verify"])).contains("12 rows"));
}
