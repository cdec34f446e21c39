//! The append-only audit log of every read and write of personal data: who, what, when and why.
//!
//! Rows can only be added; the database refuses updates, deletes and replacing inserts by trigger
//! (see the migrations), and every row is chained to the one before by a hash ([`chain`]), so what
//! the triggers cannot stop (an owner who drops them) `careweave audit verify` finds.

mod chain;
mod search;

pub use chain::{BrokenLink, ChainHead, ChainReport, ExportRow, GENESIS};
pub use search::{AuditResults, AuditSearch};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use careweave_domain::UserId;
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{mpsc, oneshot};

use crate::{now_text, Store, StoreError};

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

    /// Reads the whole system's log, newest first, optionally for one record ("who looked at this
    /// person?"). For the command line and tests; an administrator's page uses
    /// [`Store::audit_entries_for_admin`].
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        self.entries(filter, None).await
    }

    /// Reads the rows an organisation's administrator may see, newest first: those written by
    /// the current members of any organisation `admin` administers, and those about such a
    /// member's account (entity `user`) or about the organisation itself (entity
    /// `organisation`). Rows written by no one (the public referral form, the command line) and
    /// by other organisations' staff stay with the operator, who reads them through
    /// `careweave audit export`.
    pub async fn audit_entries_for_admin(
        &self,
        admin: UserId,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.entries(filter, Some(admin)).await
    }

    async fn entries(
        &self,
        filter: &AuditFilter,
        admin: Option<UserId>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = if filter.limit > 0 { filter.limit } else { 200 };
        let sql = format!(
            "SELECT a.id, a.at, a.user_id, u.username, a.action, a.entity, a.entity_id, a.reason \
             FROM audit_log a LEFT JOIN users u ON u.id = a.user_id \
             WHERE ($1 = '' OR a.entity = $1) AND ($2 < 0 OR a.entity_id = $2) AND {} \
             ORDER BY a.id DESC LIMIT $3",
            search::admin_scope(4)
        );
        let rows = sqlx::query(&sql)
            .bind(filter.entity.clone().unwrap_or_default())
            .bind(filter.entity_id.unwrap_or(-1))
            .bind(limit)
            .bind(admin.map_or(-1, UserId::get))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(search::entry_from_row).collect()
    }
}

/// Where an audit row is appended: inside a caller's transaction (the usual case, so that a write
/// and its audit row commit together), or on the pool, in a transaction of its own.
pub(crate) enum AuditTarget<'c> {
    Pool(&'c AnyPool),
    Connection(&'c mut AnyConnection),
}

impl<'c> From<&'c AnyPool> for AuditTarget<'c> {
    fn from(pool: &'c AnyPool) -> Self {
        Self::Pool(pool)
    }
}

impl<'c> From<&'c mut AnyConnection> for AuditTarget<'c> {
    fn from(connection: &'c mut AnyConnection) -> Self {
        Self::Connection(connection)
    }
}

/// Appends an event in the caller's transaction (or its own on a pool), extending the hash chain.
///
/// The first audit row of a transaction locks the chain's head until that transaction ends (see
/// [`chain`]), so a transaction should change its other rows before it writes its audit row.
pub(crate) async fn audit_with<'c>(
    target: impl Into<AuditTarget<'c>>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    match target.into() {
        AuditTarget::Connection(connection) => append_all(connection, &[(now_text(), event)]).await,
        AuditTarget::Pool(pool) => {
            let mut tx = pool.begin().await?;
            append_all(&mut tx, &[(now_text(), event)]).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

/// Appends events in order on one connection, inside the caller's transaction: the chain's head
/// is locked, each row is hashed onto the one before, and the head is moved to the last.
async fn append_all(
    connection: &mut AnyConnection,
    events: &[(String, &AuditEvent)],
) -> Result<(), StoreError> {
    let mut head = chain::lock_head(connection).await?;
    for (at, event) in events {
        let row = chain::ChainRow {
            id: head.last_id + 1,
            at: at.clone(),
            user_id: event.user.map(UserId::get),
            action: event.action.code().to_owned(),
            entity: event.entity.to_owned(),
            entity_id: event.entity_id,
            reason: event.reason.clone(),
        };
        let hash = row.hash(&head.last_hash);
        sqlx::query(
            "INSERT INTO audit_log (id, at, user_id, action, entity, entity_id, reason, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(row.id)
        .bind(&row.at)
        .bind(row.user_id)
        .bind(&row.action)
        .bind(&row.entity)
        .bind(row.entity_id)
        .bind(&row.reason)
        .bind(&head.last_hash)
        .bind(&hash)
        .execute(&mut *connection)
        .await?;
        head.last_id = row.id;
        head.last_hash = hash;
    }
    chain::save_head(connection, &head).await
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
    /// Rows sent and not yet written, for the operations metric (`Store::audit_queue_depth`).
    pending: Arc<AtomicUsize>,
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
        let pending = Arc::new(AtomicUsize::new(0));
        tokio::spawn(write_batches(pool, receiver, pending.clone()));
        Self { sender, pending }
    }

    /// How many read audit rows wait to be written now. It stays near zero; a queue that grows
    /// means the database cannot keep up, and every page that reads personal data is waiting.
    pub(crate) fn depth(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    async fn append(&self, event: AuditEvent) -> Result<(), StoreError> {
        let (committed, outcome) = oneshot::channel();
        self.pending.fetch_add(1, Ordering::Relaxed);
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

async fn write_batches(
    pool: AnyPool,
    mut receiver: mpsc::UnboundedReceiver<Queued>,
    pending: Arc<AtomicUsize>,
) {
    let mut batch = Vec::with_capacity(MOST_PER_COMMIT);
    while receiver.recv_many(&mut batch, MOST_PER_COMMIT).await > 0 {
        let taken = batch.len();
        if write_batch(&pool, &batch).await.is_ok() {
            for queued in batch.drain(..) {
                // A caller that has gone away (its client disconnected) needs no answer.
                let _ = queued.committed.send(Ok(()));
            }
        } else {
            // One bad row must not fail its neighbours' pages, and each caller deserves its own
            // error, so after a failed batch every row is tried again on its own.
            for queued in batch.drain(..) {
                let outcome = write_one(&pool, &queued).await;
                let _ = queued.committed.send(outcome);
            }
        }
        pending.fetch_sub(taken, Ordering::Relaxed);
    }
}

/// Writes a whole batch in one transaction, which locks the chain's head once for all its rows.
async fn write_batch(pool: &AnyPool, batch: &[Queued]) -> Result<(), StoreError> {
    let events: Vec<(String, &AuditEvent)> =
        batch.iter().map(|q| (q.at.clone(), &q.event)).collect();
    let mut tx = pool.begin().await?;
    append_all(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(())
}

async fn write_one(pool: &AnyPool, queued: &Queued) -> Result<(), StoreError> {
    write_batch(pool, std::slice::from_ref(queued)).await
}
