//! What every context's changes share: the store-wide action error with its typed refusal, the
//! audited change helpers (one statement and its audit row in one transaction; a case's timeline
//! line with its audit row) and the small row readers every module uses.
//!
//! These used to live in `store::casework` and were borrowed by six other modules; a new context
//! takes them from here and never imports another feature's module for helpers.

use careweave_domain::casework::CaseId;
use careweave_domain::{PersonId, UserId};
use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::{now_text, parse_date, StoreError};

/// Why an action on personal data (in any context) could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The policy refused; the same words whether or not the record exists.
    #[error("You do not have access to this record")]
    Denied,
    #[error("{0} was not found")]
    NotFound(&'static str),
    /// The action does not fit the record's state; `reason` says what to do instead. `field`
    /// names the form field the refusal is about (the name the web's form gives that input), or
    /// is `None` when it is about the action as a whole, which a page shows at the form's main
    /// field. A page picks the field from this, never from the words of the reason, and shows a
    /// refusal on the form (status 422), never as a server error.
    #[error("{reason}")]
    Refused {
        field: Option<&'static str>,
        reason: String,
    },
    /// Someone else saved the plan since this page was opened.
    #[error(
        "Someone else changed this plan while you were editing it. Your changes have not been saved: \
         read the latest plan below and make your changes again."
    )]
    Conflict,
    /// Allocation would exceed a capacity cap and was not confirmed.
    #[error("{0}")]
    OverCapacity(String),
    /// Rules refused the action; each message names the rule (lone working's visit rules).
    #[error("{}", .0.join("; "))]
    NotAllowed(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ActionError {
    /// A refusal of the action as a whole (shown at the form's main field).
    pub fn refused(reason: impl Into<String>) -> Self {
        Self::Refused {
            field: None,
            reason: reason.into(),
        }
    }

    /// A refusal about one form field, named as the form names it.
    pub fn refused_at(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Refused {
            field: Some(field),
            reason: reason.into(),
        }
    }
}

impl From<sqlx::Error> for ActionError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

pub(crate) fn text_code<T>(
    column: &'static str,
    text: &str,
    from_code: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    from_code(text).ok_or_else(|| StoreError::Corrupt {
        column,
        detail: text.to_owned(),
    })
}

pub(crate) fn get_code<T>(
    row: &AnyRow,
    column: &'static str,
    from_code: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    text_code(column, &row.try_get::<String, _>(column)?, from_code)
}

pub(crate) fn opt_date(
    row: &AnyRow,
    column: &'static str,
) -> Result<Option<NaiveDate>, StoreError> {
    row.try_get::<Option<String>, _>(column)?
        .map(|d| parse_date(column, &d))
        .transpose()
}

pub(crate) fn codes_text<T: Copy>(items: &[T], code: fn(T) -> &'static str) -> String {
    items.iter().map(|i| code(*i)).collect::<Vec<_>>().join(",")
}

pub(crate) fn u32_of(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

pub(crate) fn display_name(family: &str, given: &str) -> String {
    format!("{}, {given}", family.to_uppercase())
}

pub(crate) async fn event(
    tx: &mut Transaction<'_, Any>,
    case: CaseId,
    on: NaiveDate,
    user: Option<UserId>,
    kind: &str,
    summary: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO casework_events (case_id, at, on_date, user_id, kind, summary) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(case.get())
    .bind(now_text())
    .bind(on.to_string())
    .bind(user.map(UserId::get))
    .bind(kind)
    .bind(summary)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What one change to a case leaves behind: a line on the case's timeline and the audit row, both
/// written in the change's transaction so that neither can exist without the other.
pub(crate) struct CaseChange<'a> {
    pub(crate) case: CaseId,
    pub(crate) person: PersonId,
    pub(crate) by: UserId,
    pub(crate) on: NaiveDate,
    /// The timeline's kind of entry and its words (never clinical detail).
    pub(crate) kind: &'a str,
    pub(crate) summary: &'a str,
    pub(crate) action: AuditAction,
    /// The audit row's reason: which case and what happened.
    pub(crate) audit: String,
}

pub(crate) async fn record_change(
    tx: &mut Transaction<'_, Any>,
    change: &CaseChange<'_>,
) -> Result<(), StoreError> {
    event(
        tx,
        change.case,
        change.on,
        Some(change.by),
        change.kind,
        change.summary,
    )
    .await?;
    audit_tx(
        tx,
        Some(change.by),
        change.action,
        Some(change.person),
        change.audit.clone(),
    )
    .await
}

/// A value bound to a statement whose parameters are chosen at run time.
pub(crate) enum Bind {
    Text(String),
    OptText(Option<String>),
    Int(i64),
}

/// Runs one statement that must change a row (`sql` takes `first` as `$1`, then `binds`) and
/// writes its audit row, in one transaction. A statement that touches no row is refused with
/// `stale`: the record moved on since the page was read. Used by records whose changes are audited
/// under their own entity (safeguarding concerns, MDT agenda items).
pub(crate) async fn change_audited(
    pool: &sqlx::AnyPool,
    sql: &str,
    first: i64,
    binds: Vec<Bind>,
    stale: &str,
    event: &AuditEvent,
) -> Result<(), ActionError> {
    let mut tx = pool.begin().await?;
    let mut q = sqlx::query(sql).bind(first);
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t),
            Bind::OptText(t) => q.bind(t),
            Bind::Int(i) => q.bind(i),
        };
    }
    if q.execute(&mut *tx).await?.rows_affected() == 0 {
        return Err(ActionError::refused(stale.to_owned()));
    }
    audit_with(&mut *tx, event).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn audit_tx(
    tx: &mut Transaction<'_, Any>,
    who: Option<UserId>,
    action: AuditAction,
    person: Option<PersonId>,
    reason: String,
) -> Result<(), StoreError> {
    audit_with(
        &mut **tx,
        &AuditEvent {
            user: who,
            action,
            entity: "person",
            entity_id: person.map(PersonId::get),
            reason,
        },
    )
    .await
}
