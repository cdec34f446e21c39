//! The append-only audit log of every read and write of personal data: who, what, when and why.
//!
//! Rows can only be added; the database refuses updates and deletes by trigger (see the migrations).

use careweave_domain::UserId;
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row};
use tokio::sync::{mpsc, oneshot};

use crate::{get_i64, now_text, parse_instant, Store, StoreError};

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Read,
    List,
    Create,
    Update,
    /// A read the access policy refused; recorded so that probing is visible.
    Denied,
    /// Everything held about a person copied out for a subject access request
    /// (`store::subject_access`).
    Export,
    /// Records past their retention period deleted (`store::retention`), one row per record type.
    Purge,
}

impl AuditAction {
    fn code(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::List => "list",
            Self::Create => "create",
            Self::Update => "update",
            Self::Denied => "denied",
            Self::Export => "export",
            Self::Purge => "purge",
        }
    }
}

/// One event to record. `entity` names the kind of record (e.g. `person`), never its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub user: Option<UserId>,
    pub action: AuditAction,
    pub entity: &'static str,
    pub entity_id: Option<i64>,
    /// Why: the access grant or the purpose of the change.
    pub reason: String,
}

/// A recorded event, as an administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user: Option<UserId>,
    pub username: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub reason: String,
}

/// Which entries to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    pub limit: i64,
}

impl Store {
    /// Appends an event to the audit log, returning once it is committed.
    ///
    /// Events from concurrent requests are written together (see [`AuditQueue`]), so a busy
    /// service commits once for many reads instead of once for each.
    pub async fn audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.audit_queue.append(event).await
    }

    /// Reads the log, newest first, optionally for one record ("who looked at this person?").
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = if filter.limit > 0 { filter.limit } else { 200 };
        let rows = sqlx::query(
            "SELECT a.id, a.at, a.user_id, u.username, a.action, a.entity, a.entity_id, a.reason \
             FROM audit_log a LEFT JOIN users u ON u.id = a.user_id \
             WHERE ($1 = '' OR a.entity = $1) AND ($2 < 0 OR a.entity_id = $2) \
             ORDER BY a.id DESC LIMIT $3",
        )
        .bind(filter.entity.clone().unwrap_or_default())
        .bind(filter.entity_id.unwrap_or(-1))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: get_i64(r, "id")?,
                    at: parse_instant("audit_log.at", &r.try_get::<String, _>("at")?)?,
                    user: r.try_get::<Option<i64>, _>("user_id")?.map(UserId::new),
                    username: r.try_get("username")?,
                    action: r.try_get("action")?,
                    entity: r.try_get("entity")?,
                    entity_id: r.try_get("entity_id")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }
}

/// Appends an event through any executor, so that a write and its audit row share a transaction.
pub(crate) async fn audit_with<'e, E>(executor: E, event: &AuditEvent) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    insert_event(executor, now_text(), event).await
}

async fn insert_event<'e, E>(executor: E, at: String, event: &AuditEvent) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, action, entity, entity_id, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at)
    .bind(event.user.map(UserId::get))
    .bind(event.action.code())
    .bind(event.entity)
    .bind(event.entity_id)
    .bind(&event.reason)
    .execute(executor)
    .await?;
    Ok(())
}

/// Group commit for the audit rows of reads, which stand alone (a write's audit row shares the
/// write's transaction instead, through [`audit_with`]).
///
/// Each audited read used to commit its own row. On SQLite that serialised every page behind the
/// one writer, each commit rewriting the same log and index pages, and the load benchmark showed
/// it cost more than all the page's reads together. The queue hands rows to one task that writes
/// everything waiting in one transaction; each caller still waits until its own row is committed,
/// so no page is shown before its audit row is durable, exactly as before.
#[derive(Debug, Clone)]
pub(crate) struct AuditQueue {
    sender: mpsc::UnboundedSender<Queued>,
}

#[derive(Debug)]
struct Queued {
    /// When the read happened, not when its batch was written.
    at: String,
    event: AuditEvent,
    committed: oneshot::Sender<Result<(), StoreError>>,
}

/// The most rows one transaction takes; more wait for the next.
const MOST_PER_COMMIT: usize = 256;

impl AuditQueue {
    /// Starts the writing task on the current Tokio runtime. It ends when the last [`Store`]
    /// holding the queue is dropped.
    pub(crate) fn start(pool: AnyPool) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(pool, receiver));
        Self { sender }
    }

    async fn append(&self, event: AuditEvent) -> Result<(), StoreError> {
        let (committed, outcome) = oneshot::channel();
        self.sender
            .send(Queued {
                at: now_text(),
                event,
                committed,
            })
            .map_err(|_| StoreError::AuditStopped)?;
        outcome.await.map_err(|_| StoreError::AuditStopped)?
    }
}

async fn write_batches(pool: AnyPool, mut receiver: mpsc::UnboundedReceiver<Queued>) {
    let mut batch = Vec::with_capacity(MOST_PER_COMMIT);
    while receiver.recv_many(&mut batch, MOST_PER_COMMIT).await > 0 {
        if write_batch(&pool, &batch).await.is_ok() {
            for queued in batch.drain(..) {
                // A caller that has gone away (its client disconnected) needs no answer.
                let _ = queued.committed.send(Ok(()));
            }
        } else {
            // One bad row must not fail its neighbours' pages, and each caller deserves its own
            // error, so after a failed batch every row is tried again on its own.
            for queued in batch.drain(..) {
                let outcome = insert_event(&pool, queued.at, &queued.event).await;
                let _ = queued.committed.send(outcome);
            }
        }
    }
}

async fn write_batch(pool: &AnyPool, batch: &[Queued]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for queued in batch {
        insert_event(&mut *tx, queued.at.clone(), &queued.event).await?;
    }
    tx.commit().await?;
    Ok(())
}
