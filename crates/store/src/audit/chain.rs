//! The hash chain that makes the audit log tamper-evident.
//!
//! Every row stores `prev_hash`, the hash of the row before it (the first row's is [`GENESIS`]),
//! and `hash`, the SHA-256 of the row's canonical encoding, in lowercase hexadecimal:
//!
//! ```text
//! careweave-audit-v1
//! <prev_hash>
//! <id>
//! <at>
//! <user_id>
//! <action>
//! <entity>
//! <entity_id>
//! <reason>
//! ```
//!
//! with each field after the first line written as `<length in bytes>:<value>`, or `-` when it is
//! null, and lines separated by a single `\n` (no newline at the end). The length prefix keeps a
//! reason containing a newline from passing for two fields. An auditor can recompute every hash
//! from an export (`careweave audit export`) with nothing but a SHA-256 tool.
//!
//! The chain is serialised by `audit_chain_head`, one row holding the newest id and hash: a
//! transaction that appends first updates that row (taking SQLite's write lock, or PostgreSQL's
//! row lock until commit), reads the head, gives its rows the next ids and moves the head on. A
//! transaction that rolls back rolls the head back with it, so ids stay contiguous. We chose the
//! row lock over an advisory lock because it is the same SQL on both backends and the head must
//! be written anyway.
//!
//! What the chain proves: a row changed, removed or replaced in place breaks the chain at that
//! row, and rows cut from the end no longer reach the head. What it cannot prove alone: someone
//! who can write to the database can recompute every hash after the row they changed, head
//! included. That is why an operator records the head elsewhere from time to time
//! (`careweave audit head`) and passes those records to `careweave audit verify --known`: a
//! rewrite shows as a recorded head whose hash no longer matches.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{get_i64, instant_text, Store, StoreError};

/// The `prev_hash` of the first row of the chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How many rows are read at a time when walking the log.
const PAGE: i64 = 5_000;

/// The fields of one row that its hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainRow {
    pub(crate) id: i64,
    pub(crate) at: String,
    pub(crate) user_id: Option<i64>,
    pub(crate) action: String,
    pub(crate) entity: String,
    pub(crate) entity_id: Option<i64>,
    pub(crate) reason: String,
}

impl ChainRow {
    /// The row's hash when it follows a row whose hash is `prev_hash` (see the module's encoding).
    pub(crate) fn hash(&self, prev_hash: &str) -> String {
        fn field(out: &mut Vec<u8>, value: Option<&str>) {
            out.push(b'\n');
            match value {
                Some(v) => {
                    out.extend_from_slice(v.len().to_string().as_bytes());
                    out.push(b':');
                    out.extend_from_slice(v.as_bytes());
                }
                None => out.push(b'-'),
            }
        }
        let mut encoded = b"careweave-audit-v1".to_vec();
        field(&mut encoded, Some(prev_hash));
        field(&mut encoded, Some(&self.id.to_string()));
        field(&mut encoded, Some(&self.at));
        field(&mut encoded, self.user_id.map(|u| u.to_string()).as_deref());
        field(&mut encoded, Some(&self.action));
        field(&mut encoded, Some(&self.entity));
        field(
            &mut encoded,
            self.entity_id.map(|e| e.to_string()).as_deref(),
        );
        field(&mut encoded, Some(&self.reason));
        let digest = Sha256::digest(&encoded);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The newest row of the chain: what an operator records elsewhere to detect a rewrite later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The newest row's id (0 when the log is empty).
    pub last_id: i64,
    /// Its hash ([`GENESIS`] when the log is empty).
    pub last_hash: String,
}

/// The locked head, as the appending transaction sees it.
#[derive(Debug)]
pub(crate) struct LockedHead {
    pub(crate) last_id: i64,
    pub(crate) last_hash: String,
}

/// Locks the chain's head for the rest of the caller's transaction and reads it.
///
/// The `UPDATE` that changes nothing is the lock: PostgreSQL holds the row lock until commit and
/// a concurrent appender waits here, then reads the head as that commit left it. On a database
/// migrated with rows already in the log, the first append hashes those older rows to seal them.
pub(crate) async fn lock_head(connection: &mut AnyConnection) -> Result<LockedHead, StoreError> {
    let row = sqlx::query(
        "UPDATE audit_chain_head SET last_id = last_id WHERE id = 1 \
         RETURNING first_id, last_id, last_hash",
    )
    .fetch_one(&mut *connection)
    .await?;
    let last_id = get_i64(&row, "last_id")?;
    let last_hash = match row.try_get::<Option<String>, _>("last_hash")? {
        Some(hash) => hash,
        None => {
            let first_id = get_i64(&row, "first_id")?;
            let mut running = GENESIS.to_owned();
            let mut after = i64::MIN;
            loop {
                let page = fetch_page(&mut *connection, after, first_id).await?;
                let Some(last) = page.last() else { break };
                after = last.row.id;
                for stored in &page {
                    running = stored.row.hash(&running);
                }
            }
            running
        }
    };
    Ok(LockedHead { last_id, last_hash })
}

/// Moves the head to the last row the transaction appended.
pub(crate) async fn save_head(
    connection: &mut AnyConnection,
    head: &LockedHead,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE audit_chain_head SET last_id = $1, last_hash = $2 WHERE id = 1")
        .bind(head.last_id)
        .bind(&head.last_hash)
        .execute(connection)
        .await?;
    Ok(())
}

/// A row as stored, with the chain's columns.
#[derive(Debug, Clone)]
struct StoredRow {
    row: ChainRow,
    prev_hash: Option<String>,
    hash: Option<String>,
}

const ROW_COLUMNS: &str = "id, at, user_id, action, entity, entity_id, reason, prev_hash, hash";

fn stored_row(r: &AnyRow) -> Result<StoredRow, StoreError> {
    Ok(StoredRow {
        row: ChainRow {
            id: get_i64(r, "id")?,
            at: r.try_get("at")?,
            user_id: r.try_get("user_id")?,
            action: r.try_get("action")?,
            entity: r.try_get("entity")?,
            entity_id: r.try_get("entity_id")?,
            reason: r.try_get("reason")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// Up to [`PAGE`] rows with `after < id < below`, in id order.
async fn fetch_page<'e, E>(
    executor: E,
    after: i64,
    below: i64,
) -> Result<Vec<StoredRow>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(&format!(
        "SELECT {ROW_COLUMNS} FROM audit_log WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3"
    ))
    .bind(after)
    .bind(below)
    .bind(PAGE)
    .fetch_all(executor)
    .await?
    .iter()
    .map(stored_row)
    .collect()
}

/// The first place the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The row at which the chain breaks: changed, missing or not following the one before.
    pub id: i64,
    /// What is wrong, in words for an operator.
    pub problem: String,
}

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows read.
    pub rows: i64,
    /// Rows written before the chain began (migration 0018): hashed on the fly, covered by the
    /// first chained row.
    pub sealed_before_chain: i64,
    /// The head as stored in the database.
    pub head: ChainHead,
    /// The first problem, or `None` when the whole chain holds.
    pub broken: Option<BrokenLink>,
}

/// One row of an auditor's export: the stored row with the chain's hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    pub id: i64,
    pub at: String,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub reason: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

struct StoredHead {
    first_id: i64,
    last_id: i64,
    last_hash: Option<String>,
}

async fn read_head(pool: &sqlx::AnyPool) -> Result<Option<StoredHead>, StoreError> {
    // A missing table reads as a missing head: both mean someone removed it.
    let row =
        match sqlx::query("SELECT first_id, last_id, last_hash FROM audit_chain_head WHERE id = 1")
            .fetch_optional(pool)
            .await
        {
            Ok(row) => row,
            Err(sqlx::Error::Database(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
    row.map(|r| {
        Ok(StoredHead {
            first_id: get_i64(&r, "first_id")?,
            last_id: get_i64(&r, "last_id")?,
            last_hash: r.try_get("last_hash")?,
        })
    })
    .transpose()
}

fn broken(id: i64, problem: impl Into<String>) -> Option<BrokenLink> {
    Some(BrokenLink {
        id,
        problem: problem.into(),
    })
}

/// Checks one row against the running chain; `expected_id` is the id it must have.
fn check_row(stored: &StoredRow, expected_id: i64, running: &str) -> Option<BrokenLink> {
    let id = stored.row.id;
    if id != expected_id {
        return broken(
            expected_id,
            format!("row {expected_id} is missing: the next row in the log is {id}"),
        );
    }
    if stored.prev_hash.as_deref() != Some(running) {
        return broken(
            id,
            format!(
                "row {id} does not follow the row before it: row {} was changed or replaced, \
                 or row {id} was rewritten",
                id - 1
            ),
        );
    }
    if stored.hash.as_deref() != Some(stored.row.hash(running).as_str()) {
        return broken(
            id,
            format!("row {id} does not match its hash: it was changed after it was written"),
        );
    }
    None
}

impl Store {
    /// The chain's head as stored: the newest row's id and hash.
    pub async fn audit_chain_head(&self) -> Result<ChainHead, StoreError> {
        match read_head(&self.pool).await? {
            Some(StoredHead {
                last_id,
                last_hash: Some(last_hash),
                ..
            }) => Ok(ChainHead { last_id, last_hash }),
            // Not appended to since the migration, or removed: the walk works out what it is.
            _ => Ok(self.verify_audit_chain(&BTreeMap::new()).await?.head),
        }
    }

    /// Walks the whole audit log from the first row, recomputing every hash, and reports the
    /// first row at which the chain breaks. `known` holds heads an operator recorded earlier
    /// (id → hash); each must still be in the chain with the same hash.
    pub async fn verify_audit_chain(
        &self,
        known: &BTreeMap<i64, String>,
    ) -> Result<ChainReport, StoreError> {
        let Some(head) = read_head(&self.pool).await? else {
            return Ok(ChainReport {
                rows: 0,
                sealed_before_chain: 0,
                head: ChainHead {
                    last_id: 0,
                    last_hash: GENESIS.to_owned(),
                },
                broken: broken(0, "the chain's head (table audit_chain_head) was removed"),
            });
        };
        let mut report = ChainReport {
            rows: 0,
            sealed_before_chain: 0,
            head: ChainHead {
                last_id: head.last_id,
                last_hash: head.last_hash.clone().unwrap_or_default(),
            },
            broken: None,
        };
        let mut running = GENESIS.to_owned();
        let mut expected_id = head.first_id;
        let mut after = i64::MIN;
        'walk: loop {
            let page = fetch_page(&self.pool, after, i64::MAX).await?;
            let Some(last) = page.last() else { break };
            after = last.row.id;
            for stored in &page {
                report.rows += 1;
                if stored.row.id < head.first_id {
                    report.sealed_before_chain += 1;
                    running = stored.row.hash(&running);
                    continue;
                }
                report.broken = check_row(stored, expected_id, &running);
                if report.broken.is_none() {
                    if let Some(recorded) = known.get(&stored.row.id) {
                        if stored.hash.as_ref() != Some(recorded) {
                            report.broken = broken(
                                stored.row.id,
                                format!(
                                    "row {} no longer has the hash recorded for it: the log was \
                                     rewritten at or before this row",
                                    stored.row.id
                                ),
                            );
                        }
                    }
                }
                if report.broken.is_some() {
                    break 'walk;
                }
                running = stored.hash.clone().unwrap_or_default();
                expected_id += 1;
            }
        }
        if report.broken.is_none() {
            report.broken = check_end(&head, expected_id - 1, &running, known);
        }
        if head.last_hash.is_none() {
            // Never appended to since the migration: the head is what the older rows hash to.
            report.head.last_hash = running;
        }
        Ok(report)
    }

    /// Every row written on the days from `from` to `to` (both included, UTC), with the chain's
    /// hashes, in id order, for an auditor. The caller audits the export itself.
    pub async fn audit_export(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ExportRow>, StoreError> {
        let start = instant_text(from.and_time(chrono::NaiveTime::MIN).and_utc());
        let end = instant_text(
            to.succ_opt()
                .unwrap_or(to)
                .and_time(chrono::NaiveTime::MIN)
                .and_utc(),
        );
        let rows = sqlx::query(
            "SELECT a.id, a.at, a.user_id, u.username, a.action, a.entity, a.entity_id, a.reason, \
             a.prev_hash, a.hash FROM audit_log a LEFT JOIN users u ON u.id = a.user_id \
             WHERE a.at >= $1 AND a.at < $2 ORDER BY a.id",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let stored = stored_row(r)?;
                Ok(ExportRow {
                    id: stored.row.id,
                    at: stored.row.at,
                    user_id: stored.row.user_id,
                    username: r.try_get("username")?,
                    action: stored.row.action,
                    entity: stored.row.entity,
                    entity_id: stored.row.entity_id,
                    reason: stored.row.reason,
                    prev_hash: stored.prev_hash,
                    hash: stored.hash,
                })
            })
            .collect()
    }
}

/// After the walk: the last row must be the head, and every recorded head must have been seen.
fn check_end(
    head: &StoredHead,
    last_seen: i64,
    running: &str,
    known: &BTreeMap<i64, String>,
) -> Option<BrokenLink> {
    if let Some(hash) = &head.last_hash {
        if last_seen < head.last_id {
            return broken(
                last_seen + 1,
                format!(
                    "row {} is missing: the log ends at row {last_seen} but its head is row {}",
                    last_seen + 1,
                    head.last_id
                ),
            );
        }
        if last_seen > head.last_id {
            return broken(
                head.last_id + 1,
                format!(
                    "row {} was written past the chain's head (row {})",
                    head.last_id + 1,
                    head.last_id
                ),
            );
        }
        if hash != running {
            return broken(
                last_seen,
                format!("row {last_seen} does not match the hash the chain's head records"),
            );
        }
    }
    known.keys().find(|id| **id > last_seen).and_then(|id| {
        broken(
            *id,
            format!("row {id} is missing: a head was recorded there, but the log ends at row {last_seen}"),
        )
    })
}
