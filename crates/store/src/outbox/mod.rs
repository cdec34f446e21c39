//! The outbox: messages careweave sends to other organisations, kept as they were sent.
//!
//! A message (the message back to the GP on discharge, and on a referral's acceptance or decline)
//! is built once, in the same transaction as the change it reports ([`Store::queue_message`] is
//! called inside that transaction), as a readable letter ([`letter`]) and a FHIR R4 message
//! Bundle ([`bundle`]). Both are stored and never built again: the case page shows the stored
//! letter, and every delivery attempt sends the stored Bundle.
//!
//! A message starts `queued`. The delivery worker (the web service's `outbox` module, which owns
//! the transports) claims due messages ([`Store::claim_due_messages`]), tries to deliver each and
//! records the result ([`Store::record_delivery`]): `sent` (or `acknowledged` when the receiver
//! answered with an acknowledgement), or another attempt later with exponential backoff, and
//! `failed` after [`DeliveryPolicy::max_attempts`] attempts. Times come from the store's clock,
//! so tests move time instead of sleeping. Nothing deletes a message on delivery, so a message
//! queued before a crash is delivered after the restart.

pub mod bundle;
pub mod letter;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use careweave_domain::access::Principal;
use careweave_domain::casework::CaseId;
use careweave_domain::UserId;

use crate::access::CaseAccess;
use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::casework::GpMessage;
use crate::change::{get_code, ActionError};
use crate::{get_i64, instant_text, parse_instant, Store, StoreError};

/// What a message reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Discharge,
    ReferralAccepted,
    ReferralDeclined,
}

impl MessageKind {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Discharge => "discharge",
            Self::ReferralAccepted => "referral_accepted",
            Self::ReferralDeclined => "referral_declined",
        }
    }

    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Discharge,
            Self::ReferralAccepted,
            Self::ReferralDeclined,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }

    /// The message's title, as the letter and the case page show it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Discharge => "Discharge summary",
            Self::ReferralAccepted => "Referral accepted",
            Self::ReferralDeclined => "Referral declined",
        }
    }
}

/// Where a message is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    /// Waiting for its first or next attempt.
    Queued,
    /// Delivered to the practice's transport.
    Sent,
    /// Every attempt failed; staff must send it another way.
    Failed,
    /// The receiving system confirmed it.
    Acknowledged,
}

impl MessageStatus {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Acknowledged => "acknowledged",
        }
    }

    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Queued, Self::Sent, Self::Failed, Self::Acknowledged]
            .into_iter()
            .find(|s| s.code() == code)
    }

    /// The status in words.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "Waiting to send",
            Self::Sent => "Sent",
            Self::Failed => "Not delivered",
            Self::Acknowledged => "Received by the practice",
        }
    }
}

/// How often and how far apart delivery is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts before a message is marked failed.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; each later wait doubles, up to a day.
    pub backoff_seconds: i64,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff_seconds: 60,
        }
    }
}

impl DeliveryPolicy {
    /// The wait after `attempts` failed attempts: the backoff doubled for each attempt after the
    /// first, at most a day.
    #[must_use]
    pub fn delay_after(&self, attempts: u32) -> TimeDelta {
        let doublings = attempts.saturating_sub(1).min(30);
        let seconds = self
            .backoff_seconds
            .max(1)
            .saturating_mul(1_i64 << doublings)
            .min(24 * 60 * 60);
        TimeDelta::seconds(seconds)
    }
}

impl DeliveryPolicy {
    /// Where a message stands after its `attempts`th attempt failed at `now`: queued again with
    /// its next attempt's instant, or failed for good after the last attempt.
    #[must_use]
    pub(crate) fn after_failure(
        &self,
        attempts: u32,
        now: DateTime<Utc>,
    ) -> (MessageStatus, Option<String>) {
        if attempts >= self.max_attempts {
            (MessageStatus::Failed, None)
        } else {
            (
                MessageStatus::Queued,
                Some(instant_text(now + self.delay_after(attempts))),
            )
        }
    }
}

/// Claims up to `limit` queued rows of an outbox-shaped `table` (the GP messages, the
/// notification emails) whose next attempt is due at `now`, oldest first, building each with
/// `build`. `select` reads the rows with `$1` the instant and `$2` the limit, and returns `id`
/// and `next_attempt_at`. A claim moves the row's next attempt `lease` ahead, only if it is
/// still queued and due as read (no other worker claimed it first). `table` and `select` are
/// this crate's constants, never input.
pub(crate) async fn claim_due<T>(
    pool: &sqlx::AnyPool,
    table: &'static str,
    select: &'static str,
    limit: i64,
    now: DateTime<Utc>,
    lease: TimeDelta,
    build: impl Fn(&AnyRow, u32) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let rows = sqlx::query(select)
        .bind(instant_text(now))
        .bind(limit)
        .fetch_all(pool)
        .await?;
    let lease = instant_text(now + lease);
    let mut claimed = Vec::with_capacity(rows.len());
    for r in rows {
        let due: String = r.try_get("next_attempt_at")?;
        let done = sqlx::query(&format!(
            "UPDATE {table} SET next_attempt_at = $1 \
             WHERE id = $2 AND status = 'queued' AND next_attempt_at = $3"
        ))
        .bind(&lease)
        .bind(get_i64(&r, "id")?)
        .bind(&due)
        .execute(pool)
        .await?;
        if done.rows_affected() == 1 {
            claimed.push(build(&r, crate::change::u32_of(get_i64(&r, "attempts")?))?);
        }
    }
    Ok(claimed)
}

/// A message the worker is to deliver now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: i64,
    /// The Bundle's id, which an acknowledgement names.
    pub message_id: String,
    pub kind: MessageKind,
    /// The practice's ODS code, which selects its transport.
    pub practice_ods: Option<String>,
    pub recipient: String,
    pub letter: String,
    /// The FHIR message Bundle as stored (JSON text).
    pub bundle: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Handed over (`via` names the folder or endpoint); `acknowledged` when the receiver
    /// confirmed it in its answer.
    Delivered { via: String, acknowledged: bool },
    /// Not delivered, with the reason (no personal data: a status code, an error kind).
    Failed { error: String },
}

/// A message as the case page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub id: i64,
    pub kind: MessageKind,
    pub recipient: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub status: MessageStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub delivered_via: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// A message with its stored content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub case: Option<CaseId>,
    pub summary: SentMessage,
    pub letter: String,
    pub bundle: String,
}

/// A random (version 4) UUID, for the Bundle and its entries.
#[must_use]
pub fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

const SUMMARY_COLUMNS: &str =
    "m.id, m.kind, m.recipient, m.created_at, u.display_name AS created_by, \
     m.status, m.attempts, m.next_attempt_at, m.last_error, m.delivered_via, m.sent_at, \
     m.acknowledged_at, m.case_id, m.letter, m.bundle \
     FROM outbox_messages m LEFT JOIN users u ON u.id = m.created_by";

fn opt_instant(row: &AnyRow, column: &'static str) -> Result<Option<DateTime<Utc>>, StoreError> {
    row.try_get::<Option<String>, _>(column)?
        .map(|t| parse_instant(column, &t))
        .transpose()
}

fn summary_of(r: &AnyRow) -> Result<SentMessage, StoreError> {
    Ok(SentMessage {
        id: get_i64(r, "id")?,
        kind: get_code(r, "kind", MessageKind::from_code)?,
        recipient: r.try_get("recipient")?,
        created_at: parse_instant("created_at", &r.try_get::<String, _>("created_at")?)?,
        created_by: r.try_get("created_by")?,
        status: get_code(r, "status", MessageStatus::from_code)?,
        attempts: crate::change::u32_of(get_i64(r, "attempts")?),
        next_attempt_at: opt_instant(r, "next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        delivered_via: r.try_get("delivered_via")?,
        sent_at: opt_instant(r, "sent_at")?,
        acknowledged_at: opt_instant(r, "acknowledged_at")?,
    })
}

impl Store {
    /// Builds `message` into its letter and Bundle and queues it, inside `tx` (the transaction
    /// of the change it reports), with an audit row: the message is personal data leaving for the
    /// practice. Returns the outbox row's id.
    pub(crate) async fn queue_message(
        &self,
        tx: &mut Transaction<'_, Any>,
        message: &GpMessage,
        by: UserId,
    ) -> Result<i64, StoreError> {
        let now = self.clock.now_utc();
        let message_id = new_uuid();
        let letter = letter::render(message, now, self.clock.zone());
        let bundle = bundle::build(message, &message_id, now);
        let recipient = match &message.practice_ods {
            Some(ods) => format!("{} ({ods})", message.practice),
            None => message.practice.clone(),
        };
        let row = sqlx::query(
            "INSERT INTO outbox_messages (message_id, kind, person_id, case_id, referral_id, \
             practice_id, recipient, created_by, created_at, letter, bundle, status, attempts, \
             next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', 0, $9) \
             RETURNING id",
        )
        .bind(&message_id)
        .bind(message.event.code())
        .bind(message.person.get())
        .bind(message.case.map(CaseId::get))
        .bind(message.referral.get())
        .bind(message.practice_id.get())
        .bind(&recipient)
        .bind(by.get())
        .bind(instant_text(now))
        .bind(&letter)
        .bind(bundle.to_string())
        .fetch_one(&mut **tx)
        .await?;
        let id = get_i64(&row, "id")?;
        audit_with(
            &mut **tx,
            &AuditEvent {
                user: Some(by),
                action: AuditAction::Create,
                entity: "person",
                entity_id: Some(message.person.get()),
                reason: format!(
                    "outbox message {id} queued for the GP practice: {}",
                    message.event.code()
                ),
            },
        )
        .await?;
        Ok(id)
    }

    /// Claims up to `limit` queued messages whose next attempt is due on the store's clock, oldest
    /// first. A claim moves the message's next attempt `lease` ahead, only if no other worker
    /// claimed it first, so two workers never send the same message at once. The lease must be
    /// longer than an attempt may take; a worker that dies mid-attempt delays the message only
    /// that long.
    pub async fn claim_due_messages(
        &self,
        limit: i64,
        lease: TimeDelta,
    ) -> Result<Vec<Outgoing>, StoreError> {
        claim_due(
            &self.pool,
            "outbox_messages",
            "SELECT m.id, m.message_id, m.kind, m.recipient, m.letter, m.bundle, m.attempts, \
             m.next_attempt_at, o.ods_code FROM outbox_messages m \
             JOIN organisations o ON o.id = m.practice_id \
             WHERE m.status = 'queued' AND m.next_attempt_at <= $1 \
             ORDER BY m.next_attempt_at, m.id LIMIT $2",
            limit,
            self.clock.now_utc(),
            lease,
            |r, attempts| {
                Ok(Outgoing {
                    id: get_i64(r, "id")?,
                    message_id: r.try_get("message_id")?,
                    kind: get_code(r, "kind", MessageKind::from_code)?,
                    practice_ods: r.try_get("ods_code")?,
                    recipient: r.try_get("recipient")?,
                    letter: r.try_get("letter")?,
                    bundle: r.try_get("bundle")?,
                    attempts,
                })
            },
        )
        .await
    }

    /// Records one delivery attempt of a claimed message and returns its new status: delivered
    /// (sent or acknowledged, audited as the message leaving), or failed for now (the next
    /// attempt after the policy's backoff) or for good after the policy's last attempt.
    pub async fn record_delivery(
        &self,
        message: &Outgoing,
        result: &Delivery,
        policy: &DeliveryPolicy,
    ) -> Result<MessageStatus, StoreError> {
        let now = self.clock.now_utc();
        let attempts = message.attempts + 1;
        let mut tx = self.pool.begin().await?;
        let status = match result {
            Delivery::Delivered { via, acknowledged } => {
                let status = if *acknowledged {
                    MessageStatus::Acknowledged
                } else {
                    MessageStatus::Sent
                };
                sqlx::query(
                    "UPDATE outbox_messages SET status = $1, attempts = $2, sent_at = $3, \
                     acknowledged_at = $4, delivered_via = $5, next_attempt_at = NULL, \
                     last_error = NULL WHERE id = $6 AND status = 'queued'",
                )
                .bind(status.code())
                .bind(i64::from(attempts))
                .bind(instant_text(now))
                .bind(acknowledged.then(|| instant_text(now)))
                .bind(via)
                .bind(message.id)
                .execute(&mut *tx)
                .await?;
                let person = sqlx::query("SELECT person_id FROM outbox_messages WHERE id = $1")
                    .bind(message.id)
                    .fetch_one(&mut *tx)
                    .await?;
                audit_with(
                    &mut *tx,
                    &AuditEvent {
                        user: None,
                        action: AuditAction::Export,
                        entity: "person",
                        entity_id: Some(get_i64(&person, "person_id")?),
                        reason: format!("outbox message {} delivered to {via}", message.id),
                    },
                )
                .await?;
                status
            }
            Delivery::Failed { error } => {
                let (status, next) = policy.after_failure(attempts, now);
                sqlx::query(
                    "UPDATE outbox_messages SET status = $1, attempts = $2, next_attempt_at = $3, \
                     last_error = $4 WHERE id = $5 AND status = 'queued'",
                )
                .bind(status.code())
                .bind(i64::from(attempts))
                .bind(next)
                .bind(error)
                .bind(message.id)
                .execute(&mut *tx)
                .await?;
                status
            }
        };
        tx.commit().await?;
        Ok(status)
    }

    /// The messages a case produced, newest first, for a holder of the case's capability (the
    /// case page, whose read is audited already).
    pub async fn case_messages(&self, access: &CaseAccess) -> Result<Vec<SentMessage>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} WHERE m.case_id = $1 ORDER BY m.id DESC"
        ))
        .bind(access.case().get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(summary_of)
        .collect()
    }

    /// One message of a case with its stored letter and Bundle, through the policy, audited.
    pub async fn case_message(
        &self,
        who: &Principal,
        case: CaseId,
        id: i64,
    ) -> Result<StoredMessage, ActionError> {
        let access = self.open_case(who, case, false).await?;
        let r = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} WHERE m.id = $1 AND m.case_id = $2"
        ))
        .bind(id)
        .bind(case.get())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(ActionError::NotFound("The message"))?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(access.person().get()),
            reason: format!("casework case {case}: outbox message {id}"),
        })
        .await?;
        Ok(StoredMessage {
            case: Some(case),
            summary: summary_of(&r)?,
            letter: r.try_get("letter")?,
            bundle: r.try_get("bundle")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_failure_and_stops_at_a_day() {
        let p = DeliveryPolicy {
            max_attempts: 5,
            backoff_seconds: 30,
        };
        assert_eq!(p.delay_after(1), TimeDelta::seconds(30));
        assert_eq!(p.delay_after(2), TimeDelta::seconds(60));
        assert_eq!(p.delay_after(3), TimeDelta::seconds(120));
        assert_eq!(p.delay_after(40), TimeDelta::seconds(86_400));
    }

    #[test]
    fn uuids_are_version_4() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(u, new_uuid());
    }
}
