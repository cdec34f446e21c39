//! A worker's diary (issue 16, item 5): their own planned visits, the reviews of the cases they
//! lead or cover as they fall due, and the MDT meetings they are a core member of, over a range
//! of days, future ones included; and the secret address of their diary feed, which a calendar
//! app reads without a sign-in.
//!
//! The diary is one list read of the worker's own work, audited as one `list` row (a download
//! or a feed read as `export`). Each part comes from its own context's store module
//! (`lone_working`, `casework`, `mdt`); this module only puts them together and audits them.

use careweave_domain::access::Principal;
use careweave_domain::UserId;
use chrono::NaiveDate;
use secrecy::{ExposeSecret, SecretString};

use crate::accounts::{hex_sha256, random_token};
use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::casework::CaseSummary;
use crate::lone_working::PlannedVisit;
use crate::mdt::MeetingSummary;
use crate::{get_i64, now_text, Store, StoreError};

/// The longest range one diary read covers: a month view is at most six weeks, and a download or
/// a feed a few months. A longer range is cut to this many days from its start.
pub const MAX_DAYS: i64 = 400;

/// Everything in a worker's diary from one day to another (both included).
#[derive(Debug, Clone, PartialEq)]
pub struct Diary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Their own visits, whatever their state, in date and time order.
    pub visits: Vec<PlannedVisit>,
    /// Open cases they lead or cover whose review falls due in the range.
    pub reviews: Vec<CaseSummary>,
    /// Meetings they are a core member of.
    pub meetings: Vec<MeetingSummary>,
}

/// Why the diary is read, which decides the audit row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiaryUse {
    /// The diary page, for the signed-in worker.
    Page,
    /// A calendar file downloaded by the signed-in worker.
    Download,
    /// The worker's feed, read by their calendar app with the feed's secret address.
    Feed,
}

/// A person's initials ("J.S.") from the name as the store shows it ("SMITH, Jane"), for a
/// calendar entry that should not carry the full name (see `web::pages::diary`).
#[must_use]
pub fn initials(display_name: &str) -> String {
    let (family, given) = display_name.split_once(", ").unwrap_or(("", display_name));
    [given, family]
        .iter()
        .filter_map(|part| part.trim().chars().next())
        .map(|c| format!("{}.", c.to_uppercase()))
        .collect()
}

impl Store {
    /// The worker's diary from `from` to `to` (both included; a range longer than [`MAX_DAYS`]
    /// is cut), audited as one read of their own caseload.
    pub async fn diary(
        &self,
        who: &Principal,
        from: NaiveDate,
        to: NaiveDate,
        purpose: DiaryUse,
    ) -> Result<Diary, StoreError> {
        let to = to.min(from + chrono::Duration::days(MAX_DAYS));
        let user = who.user;
        let diary = Diary {
            from,
            to,
            visits: self.visits_between(user, from, to).await?,
            reviews: self.reviews_due_between(user, from, to).await?,
            meetings: self.meetings_attending(user, from, to).await?,
        };
        let (action, what) = match purpose {
            DiaryUse::Page => (AuditAction::List, "diary"),
            DiaryUse::Download => (AuditAction::Export, "diary calendar file"),
            DiaryUse::Feed => (AuditAction::Export, "diary feed"),
        };
        self.audit(AuditEvent {
            user: Some(user),
            action,
            entity: "caseload",
            entity_id: Some(user.get()),
            reason: format!(
                "{what} {from} to {to} ({} visits, {} reviews, {} meetings)",
                diary.visits.len(),
                diary.reviews.len(),
                diary.meetings.len()
            ),
        })
        .await?;
        Ok(diary)
    }

    /// Whether the worker has a diary feed address.
    pub async fn has_diary_feed(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("SELECT 1 AS one FROM diary_feeds WHERE user_id = $1")
                .bind(user.get())
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// Makes a new secret feed address for the signed-in worker, replacing any earlier one (which
    /// stops working at once), and returns its token, which is shown once and never stored.
    pub async fn new_diary_feed(&self, who: &Principal) -> Result<SecretString, StoreError> {
        let token = random_token();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM diary_feeds WHERE user_id = $1")
            .bind(who.user.get())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO diary_feeds (user_id, token_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(who.user.get())
        .bind(hex_sha256(token.as_bytes()))
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        audit_with(
            &mut *tx,
            &feed_event(
                Some(who.user),
                AuditAction::Create,
                "diary feed address made",
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(SecretString::from(token))
    }

    /// Stops the signed-in worker's feed: its address answers nothing from now on.
    pub async fn end_diary_feed(&self, who: &Principal) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM diary_feeds WHERE user_id = $1")
            .bind(who.user.get())
            .execute(&mut *tx)
            .await?;
        audit_with(
            &mut *tx,
            &feed_event(Some(who.user), AuditAction::Update, "diary feed stopped"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account a feed address belongs to, as a principal with its current roles, when the
    /// token is known and the account is active. An unknown token is audited as `denied` without
    /// naming anyone, so guessing addresses is visible; the read itself is audited by
    /// [`Store::diary`].
    pub async fn diary_feed_owner(
        &self,
        token: &SecretString,
    ) -> Result<Option<Principal>, StoreError> {
        let row = sqlx::query(
            "SELECT f.user_id FROM diary_feeds f JOIN users u ON u.id = f.user_id \
             WHERE f.token_hash = $1 AND u.active = 1",
        )
        .bind(hex_sha256(token.expose_secret().as_bytes()))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(
                self.principal(UserId::new(get_i64(&r, "user_id")?)).await?,
            )),
            None => {
                self.audit(feed_event(
                    None,
                    AuditAction::Denied,
                    "diary feed asked for with an unknown address",
                ))
                .await?;
                Ok(None)
            }
        }
    }
}

fn feed_event(user: Option<UserId>, action: AuditAction, reason: &str) -> AuditEvent {
    AuditEvent {
        user,
        action,
        entity: "diary_feed",
        entity_id: user.map(UserId::get),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::initials;

    #[test]
    fn initials_come_from_the_given_and_family_names() {
        assert_eq!(initials("SMITH, Jane Ann"), "J.S.");
        assert_eq!(initials("O'NEILL, éva"), "É.O.");
        assert_eq!(initials("Madonna"), "M.");
        assert_eq!(initials(""), "");
    }
}
