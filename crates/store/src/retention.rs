//! Retention: how long each kind of record is kept, and the purge of what is past it.
//!
//! The periods are settings ([`RetentionPolicy`], the `[retention]` table of the settings file);
//! the defaults follow the NHS England Records Management Code of Practice (2023): adult health
//! and social care records are kept 8 years after the end of care, and children's records until
//! their 25th birthday (26th if they were 17 when care ended) or 8 years after the end of care,
//! whichever is later. careweave's shorter-lived records are kept as long as they are useful:
//! public-form referrals that were never matched to anyone, and sign-in sessions once expired.
//!
//! [`Store::retention_purge`] works through the [`RecordKind`]s one at a time, each in its own
//! transaction, and writes one audit row per kind (`purge`, the kind and the count: never a
//! patient value) in the same transaction as its deletes. A dry run counts the same rows and
//! rolls back, writing nothing. The audit log is never purged: its rows are the evidence of who
//! saw a record, and the database refuses to delete them anyway.

use careweave_domain::UserId;
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::{get_date, get_i64, instant_text, Store, StoreError};

/// How long each kind of record is kept. Every field has a default, so a settings file names only
/// what a deployment changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionPolicy {
    /// A discharged case (and everything recorded on it, and the referral that opened it) is kept
    /// this many years after discharge. Code of Practice: adult social care and community health
    /// records, 8 years after the end of care.
    pub closed_case_years: u32,
    /// A case of someone under 18 at discharge is kept at least until this birthday (one year
    /// later if they were 17). Code of Practice: children's records, until the 25th birthday.
    pub child_until_age: u32,
    /// A referral for a registered person that was declined or redirected (so never became a
    /// case) is kept this many years after triage: it is part of their care record.
    pub declined_referral_years: u32,
    /// A referral (usually from the public form) never matched to anyone in the registry, and
    /// declined or redirected, is kept this many years after triage: long enough to answer a
    /// complaint about it, no longer, since it belongs to no care record.
    pub unlinked_referral_years: u32,
    /// Directory signposts, and answered directory referrals, are kept this many years after they
    /// were made or answered: they are contacts in the person's care record.
    pub directory_years: u32,
    /// A sign-in session is removed this many days after it expired. Sessions hold no personal
    /// data about people cared for; the audit log keeps what was done in them.
    pub expired_session_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            closed_case_years: 8,
            child_until_age: 25,
            declined_referral_years: 8,
            unlinked_referral_years: 2,
            directory_years: 8,
            expired_session_days: 7,
        }
    }
}

/// A kind of record with its own retention rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    ClosedCases,
    DeclinedReferrals,
    UnlinkedReferrals,
    DirectorySignposts,
    DirectoryReferrals,
    ExpiredSessions,
}

impl RecordKind {
    pub const ALL: [Self; 6] = [
        Self::ClosedCases,
        Self::DeclinedReferrals,
        Self::UnlinkedReferrals,
        Self::DirectorySignposts,
        Self::DirectoryReferrals,
        Self::ExpiredSessions,
    ];

    /// The kind as the audit log's entity and the command's output name it.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::ClosedCases => "closed_cases",
            Self::DeclinedReferrals => "declined_referrals",
            Self::UnlinkedReferrals => "unlinked_referrals",
            Self::DirectorySignposts => "directory_signposts",
            Self::DirectoryReferrals => "directory_referrals",
            Self::ExpiredSessions => "expired_sessions",
        }
    }

    /// The rule in words, with the policy's numbers.
    #[must_use]
    pub fn rule(self, p: &RetentionPolicy) -> String {
        match self {
            Self::ClosedCases => format!(
                "discharged cases with everything recorded on them, {} years after discharge \
                 (children's until their {}th birthday if later)",
                p.closed_case_years, p.child_until_age
            ),
            Self::DeclinedReferrals => format!(
                "declined or redirected referrals of registered people, {} years after triage",
                p.declined_referral_years
            ),
            Self::UnlinkedReferrals => format!(
                "declined or redirected referrals never matched to a person, {} years after triage",
                p.unlinked_referral_years
            ),
            Self::DirectorySignposts => format!(
                "community service signposts, {} years after they were given",
                p.directory_years
            ),
            Self::DirectoryReferrals => format!(
                "answered community service referrals, {} years after the answer",
                p.directory_years
            ),
            Self::ExpiredSessions => format!(
                "sign-in sessions, {} days after they expired",
                p.expired_session_days
            ),
        }
    }
}

/// How many records of one kind were past retention (and, unless it was a dry run, purged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionCount {
    pub kind: RecordKind,
    pub rule: String,
    pub count: u64,
}

/// The last day a case's records must be kept: `closed_case_years` after discharge, or for
/// someone under 18 at discharge their `child_until_age` birthday (one later if they were 17),
/// whichever is later. The records are past retention from the day after.
#[must_use]
pub fn case_kept_until(
    policy: &RetentionPolicy,
    discharged_on: NaiveDate,
    date_of_birth: NaiveDate,
) -> NaiveDate {
    let years = |n: u32| Months::new(n.saturating_mul(12));
    let after_care = discharged_on
        .checked_add_months(years(policy.closed_case_years))
        .unwrap_or(NaiveDate::MAX);
    let age = age_on(date_of_birth, discharged_on);
    if age >= 18 {
        return after_care;
    }
    let birthday = policy.child_until_age + u32::from(age == 17);
    let child = date_of_birth
        .checked_add_months(years(birthday))
        .unwrap_or(NaiveDate::MAX);
    after_care.max(child)
}

/// Age in whole years on a day.
fn age_on(born: NaiveDate, on: NaiveDate) -> u32 {
    let mut age = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    u32::try_from(age).unwrap_or(0)
}

/// Removes one discharged case and every row recorded on it, children before parents. `$1` is
/// the case. A significant event recorded from the case is the team's record, not the person's:
/// it stays, unlinked from the case. MDT meetings stay; only the case's agenda item goes.
const DELETE_CASE: &[&str] = &[
    "DELETE FROM mdt_actions WHERE item_id IN (SELECT id FROM mdt_items WHERE case_id = $1)",
    "DELETE FROM mdt_items WHERE case_id = $1",
    "DELETE FROM mdt_case_flags WHERE case_id = $1",
    "DELETE FROM safeguarding_actions WHERE concern_id IN \
     (SELECT id FROM safeguarding_concerns WHERE case_id = $1)",
    "DELETE FROM safeguarding_concerns WHERE case_id = $1",
    "DELETE FROM outcome_scores WHERE record_id IN (SELECT id FROM outcome_records WHERE case_id = $1)",
    "DELETE FROM outcome_records WHERE case_id = $1",
    "DELETE FROM casework_goal_attainment WHERE goal_id IN \
     (SELECT id FROM casework_goals WHERE case_id = $1)",
    "DELETE FROM casework_goals WHERE case_id = $1",
    "DELETE FROM casework_actions WHERE case_id = $1",
    "DELETE FROM casework_steps WHERE case_id = $1",
    "DELETE FROM casework_assessment_scores WHERE assessment_id IN \
     (SELECT id FROM casework_assessments WHERE case_id = $1)",
    "DELETE FROM casework_assessments WHERE case_id = $1",
    "DELETE FROM casework_reviews WHERE case_id = $1",
    "DELETE FROM casework_contacts WHERE case_id = $1",
    "DELETE FROM casework_visits WHERE case_id = $1",
    "DELETE FROM casework_events WHERE case_id = $1",
    "DELETE FROM casework_workers WHERE case_id = $1",
    "UPDATE significant_events SET case_id = NULL WHERE case_id = $1",
    "DELETE FROM outbox_messages WHERE case_id = $1",
    "DELETE FROM casework_cases WHERE id = $1",
];

/// The referral that opened a purged case goes with it, unless another referral was redirected
/// to it (that one goes first, and this one with a later purge). `$1` is the referral.
const DELETE_CASE_REFERRAL: &str = "DELETE FROM casework_referrals WHERE id = $1 \
     AND NOT EXISTS (SELECT 1 FROM casework_cases WHERE referral_id = $1) \
     AND NOT EXISTS (SELECT 1 FROM casework_referrals r WHERE r.redirected_to = $1)";

/// A referral that never became a case, triaged before `$1` (a date). Kept while another
/// referral was redirected to it, for the same reason as above.
const UNANSWERED_REFERRAL: &str = "case_id IS NULL AND status IN ('declined', 'redirected') \
     AND COALESCE(triaged_on, received_on) < $1 \
     AND id NOT IN (SELECT referral_id FROM casework_cases) \
     AND id NOT IN (SELECT redirected_to FROM casework_referrals WHERE redirected_to IS NOT NULL)";

impl Store {
    /// Lists what is past retention on `now` by kind and, unless `dry_run`, deletes it: each kind
    /// in one transaction with its `purge` audit row (by `by`, when an account ran it). A dry run
    /// changes nothing, not even the audit log.
    pub async fn retention_purge(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
        dry_run: bool,
        by: Option<UserId>,
    ) -> Result<Vec<RetentionCount>, StoreError> {
        let mut counts = Vec::with_capacity(RecordKind::ALL.len());
        for kind in RecordKind::ALL {
            let mut tx = self.pool.begin().await?;
            let count = match kind {
                RecordKind::ClosedCases => {
                    purge_closed_cases(&mut tx, policy, now.date_naive(), dry_run).await?
                }
                _ => {
                    let (table, condition, cutoff) = simple_rule(kind, policy, now);
                    if dry_run {
                        let row = sqlx::query(&format!(
                            "SELECT COUNT(*) AS n FROM {table} WHERE {condition}"
                        ))
                        .bind(cutoff)
                        .fetch_one(&mut *tx)
                        .await?;
                        u64::try_from(get_i64(&row, "n")?).unwrap_or(0)
                    } else {
                        // The message a declined referral sent the GP goes with the referral.
                        if table == "casework_referrals" {
                            sqlx::query(&format!(
                                "DELETE FROM outbox_messages WHERE case_id IS NULL AND referral_id IN \
                                 (SELECT id FROM casework_referrals WHERE {condition})"
                            ))
                            .bind(&cutoff)
                            .execute(&mut *tx)
                            .await?;
                        }
                        sqlx::query(&format!("DELETE FROM {table} WHERE {condition}"))
                            .bind(cutoff)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected()
                    }
                }
            };
            let rule = kind.rule(policy);
            if dry_run {
                tx.rollback().await?;
            } else {
                audit_with(
                    &mut *tx,
                    &AuditEvent {
                        user: by,
                        action: AuditAction::Purge,
                        entity: kind.code(),
                        entity_id: None,
                        reason: format!("retention: {count} purged ({rule})"),
                    },
                )
                .await?;
                tx.commit().await?;
            }
            counts.push(RetentionCount { kind, rule, count });
        }
        Ok(counts)
    }
}

/// The table, the condition and its cutoff (`$1`) of a kind whose rule is one comparison.
fn simple_rule(
    kind: RecordKind,
    p: &RetentionPolicy,
    now: DateTime<Utc>,
) -> (&'static str, String, String) {
    let years_ago = |n: u32| {
        now.checked_sub_months(Months::new(n.saturating_mul(12)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    };
    match kind {
        RecordKind::DeclinedReferrals | RecordKind::UnlinkedReferrals => {
            let (linked, years) = if kind == RecordKind::DeclinedReferrals {
                ("IS NOT NULL", p.declined_referral_years)
            } else {
                ("IS NULL", p.unlinked_referral_years)
            };
            (
                "casework_referrals",
                format!("person_id {linked} AND {UNANSWERED_REFERRAL}"),
                years_ago(years).date_naive().to_string(),
            )
        }
        RecordKind::DirectorySignposts => (
            "directory_signposts",
            "created_at < $1".to_owned(),
            instant_text(years_ago(p.directory_years)),
        ),
        RecordKind::DirectoryReferrals => (
            "directory_referrals",
            "status <> 'pending' AND COALESCE(answered_at, created_at) < $1".to_owned(),
            instant_text(years_ago(p.directory_years)),
        ),
        RecordKind::ExpiredSessions => (
            "sessions",
            "expires_at < $1".to_owned(),
            instant_text(now - chrono::Duration::days(i64::from(p.expired_session_days))),
        ),
        RecordKind::ClosedCases => unreachable!("closed cases have their own purge"),
    }
}

/// Finds the discharged cases past retention on `today` and, unless `dry_run`, deletes them with
/// everything recorded on them. Returns how many cases.
async fn purge_closed_cases(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    policy: &RetentionPolicy,
    today: NaiveDate,
    dry_run: bool,
) -> Result<u64, StoreError> {
    // Only cases discharged at least the adult period ago can be past retention; the children's
    // rule can only keep a case longer, so it is applied to these few in Rust.
    let cutoff = today
        .checked_sub_months(Months::new(policy.closed_case_years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MIN);
    let rows = sqlx::query(
        "SELECT c.id, c.referral_id, c.discharged_on, p.date_of_birth FROM casework_cases c \
         JOIN people p ON p.id = c.person_id \
         WHERE c.status = 'discharged' AND c.discharged_on IS NOT NULL AND c.discharged_on < $1 \
         ORDER BY c.id",
    )
    .bind(cutoff.to_string())
    .fetch_all(&mut **tx)
    .await?;
    let mut count = 0;
    for r in &rows {
        let kept_until = case_kept_until(
            policy,
            get_date(r, "discharged_on")?,
            get_date(r, "date_of_birth")?,
        );
        if kept_until >= today {
            continue;
        }
        count += 1;
        if dry_run {
            continue;
        }
        let case = get_i64(r, "id")?;
        for statement in DELETE_CASE {
            sqlx::query(statement).bind(case).execute(&mut **tx).await?;
        }
        sqlx::query(DELETE_CASE_REFERRAL)
            .bind(r.try_get::<i64, _>("referral_id")?)
            .execute(&mut **tx)
            .await?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn adults_are_kept_eight_years_after_discharge() {
        let p = RetentionPolicy::default();
        assert_eq!(
            case_kept_until(&p, d(2018, 3, 1), d(1950, 5, 17)),
            d(2026, 3, 1)
        );
    }

    #[test]
    fn children_are_kept_until_their_25th_birthday_or_26th_if_17_at_discharge() {
        let p = RetentionPolicy::default();
        // Ten at discharge: the 25th birthday is later than eight years on.
        assert_eq!(
            case_kept_until(&p, d(2020, 1, 10), d(2010, 1, 1)),
            d(2035, 1, 1)
        );
        // Seventeen at discharge: the 26th birthday (2029) is later than eight years on (2028).
        assert_eq!(
            case_kept_until(&p, d(2020, 6, 1), d(2003, 1, 1)),
            d(2029, 1, 1)
        );
        // Eighteen the day of discharge: an adult.
        assert_eq!(
            case_kept_until(&p, d(2020, 6, 1), d(2002, 6, 1)),
            d(2028, 6, 1)
        );
    }
}
