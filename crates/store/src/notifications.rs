//! Notifications (issue 16 item 6): what a user should know about or act on.
//!
//! Two kinds, read together on one page:
//!
//! - **Stored notifications**, one row per recipient, written in the same transaction as the
//!   change that causes them ([`Store::notify`] takes that transaction): a new referral for a
//!   service the recipient works for, the outcome of a referral they made (accepted, declined,
//!   passed to another service, discharged), a directory referral for their organisation or the
//!   answer to one they made. Each has read/unread for its one recipient. The text is built in
//!   words when the row is written and never names the person: the recipient may not be allowed
//!   to open that person's record, so the link takes them to the page that checks.
//! - **Tasks**, derived when the list is read: reviews due within a week (and overdue) on the
//!   cases the user leads or covers, and plan actions past their date on the cases they work
//!   (`Store::my_day`, which audits the read of their caseload).
//!
//! A user who opts in ([`Store::set_notification_email`]) also gets each notification by email.
//! The email is built once, with the notification, and stored in `notification_emails`, which
//! has the outbox's shape and delivery: a worker claims due rows, sends them through the
//! configured transport and records each attempt ([`Store::record_email_delivery`]), with
//! exponential backoff on the store's clock and `failed` after the policy's last attempt
//! (the same [`DeliveryPolicy`] as the GP messages). The email says only that there is
//! something to see in careweave, never a person's details.

use careweave_domain::access::Principal;
use careweave_domain::{OrganisationId, UserId};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use sqlx::{Any, Row, Transaction};

use crate::change::{get_code, u32_of, ActionError};
use crate::outbox::{claim_due, Delivery, DeliveryPolicy, MessageStatus};
use crate::sql::IdList;
use crate::{get_i64, instant_text, parse_instant, Store, StoreError};

/// What a stored notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// A referral waits with a service the recipient works for.
    NewReferral,
    /// A referral the recipient made was accepted, declined, passed on, or its case discharged.
    ReferralOutcome,
    /// A directory referral waits with the recipient's organisation.
    NewDirectoryReferral,
    /// The receiving organisation answered a directory referral the recipient made.
    DirectoryReferralAnswered,
}

impl NotificationKind {
    const ALL: [Self; 4] = [
        Self::NewReferral,
        Self::ReferralOutcome,
        Self::NewDirectoryReferral,
        Self::DirectoryReferralAnswered,
    ];

    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::NewReferral => "new_referral",
            Self::ReferralOutcome => "referral_outcome",
            Self::NewDirectoryReferral => "new_directory_referral",
            Self::DirectoryReferralAnswered => "directory_referral_answered",
        }
    }

    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The kind in words, as the list's tag shows it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::NewReferral => "New referral",
            Self::ReferralOutcome => "Your referral",
            Self::NewDirectoryReferral => "New directory referral",
            Self::DirectoryReferralAnswered => "Your directory referral",
        }
    }
}

/// One stored notification as its recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub kind: NotificationKind,
    pub text: String,
    /// The page to act on it, which checks access itself.
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// One page of a user's stored notifications, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub total: i64,
    pub unread: i64,
}

/// The most unread notifications the header counts. Every signed-in page reads the count, and a
/// worker on a busy place-sized service can have tens of thousands unread (each referral tells
/// the team that works its list), so counting them all cost more than the rest of the header and
/// grew with time. Past this the header says "more than 99"; the notifications page gives the
/// exact number.
pub const UNREAD_COUNTED: i64 = 100;

/// The counts the header shows: unread notifications (at most [`UNREAD_COUNTED`]) and tasks due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoticeCounts {
    pub unread: i64,
    pub tasks: i64,
}

impl NoticeCounts {
    #[must_use]
    pub fn total(self) -> i64 {
        self.unread + self.tasks
    }
}

/// A notification email the worker is to send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// A notification email as stored, for tests and support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEmail {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: MessageStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_via: Option<String>,
}

/// Who a notification goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recipients {
    /// One user (the referrer).
    User(UserId),
    /// The active workers and supervisors of these organisations (a service's team), except the
    /// user who made the change.
    Team {
        organisations: Vec<OrganisationId>,
        except: Option<UserId>,
    },
}

/// The email's subject: the same for every notification, so that an inbox shows nothing about
/// the person or the service.
pub const EMAIL_SUBJECT: &str = "You have a new notification in careweave";

/// The email's body for a notification's text (which never names the person).
#[must_use]
pub fn email_body(text: &str) -> String {
    format!(
        "{text}\n\nSign in to careweave and open Notifications to see it.\n\n\
         You get this email because you asked for your careweave notifications by email. \
         You can stop them on the Notifications page."
    )
}

/// The cheapest check that an address could receive mail: one `@` with text either side, no
/// spaces, at most 254 characters. Delivery tells the rest.
#[must_use]
pub fn plausible_email(address: &str) -> bool {
    let a = address.trim();
    match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !a.chars().any(char::is_whitespace)
                && a.len() <= 254
        }
        None => false,
    }
}

impl Store {
    /// Writes a notification for each recipient inside `tx` (the transaction of the change that
    /// causes it), and queues its email for each recipient who asked for email. `text` must not
    /// name the person (see the module's comment).
    pub(crate) async fn notify(
        &self,
        tx: &mut Transaction<'_, Any>,
        to: &Recipients,
        kind: NotificationKind,
        text: &str,
        link: &str,
    ) -> Result<usize, StoreError> {
        let users: Vec<i64> = match to {
            Recipients::User(u) => vec![u.get()],
            Recipients::Team {
                organisations,
                except,
            } => {
                let orgs = IdList::new(2, organisations.iter().map(|o| o.get()));
                let q = format!(
                    "SELECT DISTINCT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id \
                     WHERE u.active = 1 AND m.role IN ('worker', 'supervisor') AND m.user_id <> $1 \
                     AND m.organisation_id IN ({}) ORDER BY m.user_id",
                    orgs.placeholders()
                );
                orgs.bind(sqlx::query(&q).bind(except.map_or(0, UserId::get)))
                    .fetch_all(&mut **tx)
                    .await?
                    .iter()
                    .map(|r| get_i64(r, "user_id"))
                    .collect::<Result<_, _>>()?
            }
        };
        if users.is_empty() {
            return Ok(0);
        }
        // Two statements for the whole team, not two per member: in the place-sized casework
        // load bench on PostgreSQL a referral told 187 workers and supervisors, and the 375
        // round trips inside its transaction held seeding to about 20 referrals a second.
        let now = instant_text(self.clock.now_utc());
        let recipients = IdList::new(5, users.iter().copied());
        let q = format!(
            "INSERT INTO notifications (user_id, kind, text, link, created_at) \
             SELECT u.id, $1, $2, $3, $4 FROM users u WHERE u.id IN ({}) RETURNING id",
            recipients.placeholders()
        );
        let ids: Vec<i64> = recipients
            .bind(
                sqlx::query(&q)
                    .bind(kind.code())
                    .bind(text)
                    .bind(link)
                    .bind(&now),
            )
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| get_i64(r, "id"))
            .collect::<Result<_, _>>()?;
        let made = IdList::new(4, ids.iter().copied());
        let q = format!(
            "INSERT INTO notification_emails (notification_id, user_id, recipient, subject, body, \
             created_at, status, attempts, next_attempt_at) \
             SELECT n.id, n.user_id, s.email, $1, $2, $3, 'queued', 0, $3 \
             FROM notifications n JOIN notification_settings s ON s.user_id = n.user_id \
             WHERE n.id IN ({})",
            made.placeholders()
        );
        made.bind(
            sqlx::query(&q)
                .bind(EMAIL_SUBJECT)
                .bind(email_body(text))
                .bind(&now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(ids.len())
    }

    /// Tells the signed-in user who made casework referral `referral` (if anyone did, and it
    /// was not `by`, who made the change) that it was `outcome` ("accepted", "declined", ...),
    /// inside `tx`. The text names the service and the day it was sent, not the person.
    pub(crate) async fn notify_referrer(
        &self,
        tx: &mut Transaction<'_, Any>,
        referral: i64,
        by: UserId,
        outcome: &str,
    ) -> Result<(), StoreError> {
        let r = sqlx::query(
            "SELECT r.referrer_user_id, r.received_on, s.name FROM casework_referrals r \
             JOIN services s ON s.id = r.service_id WHERE r.id = $1",
        )
        .bind(referral)
        .fetch_one(&mut **tx)
        .await?;
        let Some(referrer) = r.try_get::<Option<i64>, _>("referrer_user_id")? else {
            return Ok(());
        };
        if referrer == by.get() {
            return Ok(());
        }
        let sent = crate::get_date(&r, "received_on")?;
        let service: String = r.try_get("name")?;
        let text = format!(
            "Your referral to {service}, sent on {}, {outcome}.",
            sent.format("%-d %B %Y")
        );
        self.notify(
            tx,
            &Recipients::User(UserId::new(referrer)),
            NotificationKind::ReferralOutcome,
            &text,
            &format!("/referrals/{referral}"),
        )
        .await?;
        Ok(())
    }

    /// A page of `who`'s own notifications, newest first, with the totals. The rows name no
    /// person, so the read is not audited; what they link to audits itself.
    pub async fn notifications(
        &self,
        who: &Principal,
        offset: i64,
        limit: i64,
    ) -> Result<NotificationPage, StoreError> {
        let items = sqlx::query(
            "SELECT id, kind, text, link, created_at, read_at FROM notifications \
             WHERE user_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        )
        .bind(who.user.get())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Notification {
                id: get_i64(r, "id")?,
                kind: get_code(r, "kind", NotificationKind::from_code)?,
                text: r.try_get("text")?,
                link: r.try_get("link")?,
                created_at: parse_instant("created_at", &r.try_get::<String, _>("created_at")?)?,
                read: r.try_get::<Option<String>, _>("read_at")?.is_some(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let counts = sqlx::query(
            "SELECT COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0) AS unread \
             FROM notifications WHERE user_id = $1",
        )
        .bind(who.user.get())
        .fetch_one(&self.pool)
        .await?;
        Ok(NotificationPage {
            items,
            total: get_i64(&counts, "total")?,
            unread: get_i64(&counts, "unread")?,
        })
    }

    /// The header's counts for `user` on `today`: unread notifications (up to
    /// [`UNREAD_COUNTED`]), and the tasks the notifications page lists (reviews due within a week
    /// or overdue on cases they lead or cover, actions past their date on cases they work).
    /// Counts only, so not audited.
    pub async fn notice_counts(
        &self,
        user: UserId,
        today: NaiveDate,
    ) -> Result<NoticeCounts, StoreError> {
        let soon = today + chrono::Duration::days(7);
        // One pass over the user's current parts in cases: each case once (a worker may hold two
        // parts), its review if they lead or cover it, and its overdue actions. Two separate
        // counts each walked the parts and looked every case up again, on every page.
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE user_id = $1 \
              AND read_at IS NULL LIMIT $4) u) AS unread, \
             COALESCE(SUM(CASE WHEN m.leads = 1 AND c.review_due_on <= $3 THEN 1 ELSE 0 END), 0) \
              AS reviews, \
             CAST(COALESCE(SUM((SELECT COUNT(*) FROM casework_actions a WHERE a.case_id = c.id \
              AND a.done_on IS NULL AND a.due_on < $2)), 0) AS BIGINT) AS actions \
             FROM (SELECT case_id, MAX(CASE WHEN role IN ('lead', 'cover') THEN 1 ELSE 0 END) AS leads \
              FROM casework_workers WHERE user_id = $1 AND ended_on IS NULL GROUP BY case_id) m \
             JOIN casework_cases c ON c.id = m.case_id AND c.status <> 'discharged'",
        )
        .bind(user.get())
        .bind(today.to_string())
        .bind(soon.to_string())
        .bind(UNREAD_COUNTED)
        .fetch_one(&self.pool)
        .await?;
        Ok(NoticeCounts {
            unread: get_i64(&r, "unread")?,
            tasks: get_i64(&r, "reviews")? + get_i64(&r, "actions")?,
        })
    }

    /// Marks one of `who`'s own notifications read. Another user's notification is not found.
    pub async fn mark_notification_read(
        &self,
        who: &Principal,
        id: i64,
    ) -> Result<(), ActionError> {
        let done = sqlx::query(
            "UPDATE notifications SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND user_id = $3",
        )
        .bind(instant_text(self.clock.now_utc()))
        .bind(id)
        .bind(who.user.get())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ActionError::NotFound("The notification"));
        }
        Ok(())
    }

    /// Marks every one of `who`'s notifications read; returns how many were unread.
    pub async fn mark_all_notifications_read(&self, who: &Principal) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
        )
        .bind(instant_text(self.clock.now_utc()))
        .bind(who.user.get())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The address `user`'s notifications are emailed to, if they asked for email.
    pub async fn notification_email(&self, user: UserId) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query("SELECT email FROM notification_settings WHERE user_id = $1")
                .bind(user.get())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("email"))
                .transpose()?,
        )
    }

    /// Starts (with an address) or stops (with `None`) emailing `who`'s notifications. Only
    /// notifications written afterwards are emailed. The caller checks the address's form
    /// ([`plausible_email`]).
    pub async fn set_notification_email(
        &self,
        who: &Principal,
        email: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM notification_settings WHERE user_id = $1")
            .bind(who.user.get())
            .execute(&mut *tx)
            .await?;
        if let Some(email) = email {
            sqlx::query(
                "INSERT INTO notification_settings (user_id, email, updated_at) VALUES ($1, $2, $3)",
            )
            .bind(who.user.get())
            .bind(email.trim())
            .bind(instant_text(self.clock.now_utc()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` queued notification emails due on the store's clock, oldest first,
    /// each leased to this worker for `lease` (as [`Store::claim_due_messages`] does).
    pub async fn claim_due_emails(
        &self,
        limit: i64,
        lease: TimeDelta,
    ) -> Result<Vec<OutgoingEmail>, StoreError> {
        claim_due(
            &self.pool,
            "notification_emails",
            "SELECT id, recipient, subject, body, attempts, next_attempt_at FROM notification_emails \
             WHERE status = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
            limit,
            self.clock.now_utc(),
            lease,
            |r, attempts| {
                Ok(OutgoingEmail {
                    id: get_i64(r, "id")?,
                    recipient: r.try_get("recipient")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    attempts,
                })
            },
        )
        .await
    }

    /// Records one delivery attempt of a claimed email and returns its new status: sent, queued
    /// for another attempt after the policy's backoff, or failed after its last attempt.
    pub async fn record_email_delivery(
        &self,
        email: &OutgoingEmail,
        result: &Delivery,
        policy: &DeliveryPolicy,
    ) -> Result<MessageStatus, StoreError> {
        let now = self.clock.now_utc();
        let attempts = email.attempts + 1;
        let status = match result {
            Delivery::Delivered { via, .. } => {
                sqlx::query(
                    "UPDATE notification_emails SET status = 'sent', attempts = $1, sent_at = $2, \
                     delivered_via = $3, next_attempt_at = NULL, last_error = NULL \
                     WHERE id = $4 AND status = 'queued'",
                )
                .bind(i64::from(attempts))
                .bind(instant_text(now))
                .bind(via)
                .bind(email.id)
                .execute(&self.pool)
                .await?;
                MessageStatus::Sent
            }
            Delivery::Failed { error } => {
                let (status, next) = policy.after_failure(attempts, now);
                sqlx::query(
                    "UPDATE notification_emails SET status = $1, attempts = $2, \
                     next_attempt_at = $3, last_error = $4 WHERE id = $5 AND status = 'queued'",
                )
                .bind(status.code())
                .bind(i64::from(attempts))
                .bind(next)
                .bind(error)
                .bind(email.id)
                .execute(&self.pool)
                .await?;
                status
            }
        };
        Ok(status)
    }

    /// The notification emails queued for `user`, newest first (for tests and support).
    pub async fn notification_emails_for(
        &self,
        user: UserId,
    ) -> Result<Vec<StoredEmail>, StoreError> {
        sqlx::query(
            "SELECT id, recipient, subject, body, status, attempts, last_error, delivered_via \
             FROM notification_emails WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(StoredEmail {
                id: get_i64(r, "id")?,
                recipient: r.try_get("recipient")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                status: get_code(r, "status", MessageStatus::from_code)?,
                attempts: u32_of(get_i64(r, "attempts")?),
                last_error: r.try_get("last_error")?,
                delivered_via: r.try_get("delivered_via")?,
            })
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_needs_one_at_and_a_domain() {
        assert!(plausible_email("jo.bloggs@nhs.net"));
        assert!(!plausible_email("jo.bloggs"));
        assert!(!plausible_email("jo@nhs"));
        assert!(!plausible_email("jo @nhs.net"));
        assert!(!plausible_email("@nhs.net"));
        assert!(!plausible_email("jo@@nhs.net"));
    }

    #[test]
    fn kinds_round_trip_their_codes() {
        for k in NotificationKind::ALL {
            assert_eq!(NotificationKind::from_code(k.code()), Some(k));
        }
    }
}
