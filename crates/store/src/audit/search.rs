//! An administrator's search of the audit log: by the NHS number of the person a row is about, by
//! who did it and by date, a page at a time, and the same rows exported as a file; and the words
//! the page and the file show instead of the stored codes.
//!
//! The search finds a person's rows by NHS number inside the database (the rows name the record
//! number, which is what is stored) and reads nothing of the record itself. Because a search by
//! NHS number tells the administrator whether anyone looked at that person, it is audited, as
//! every export is.

use careweave_domain::access::Grant;
use careweave_domain::{NhsNumber, UserId};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{AuditAction, AuditEntry, AuditEvent};
use crate::{get_i64, instant_text, parse_instant, Store, StoreError};

/// What an administrator asks of the audit log. Every field narrows the rows; none widens what
/// the administrator may see (their organisations' rows, see [`Store::audit_entries_for_admin`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSearch {
    /// Rows about the person with this NHS number.
    pub nhs_number: Option<NhsNumber>,
    /// Rows written by this account.
    pub user: Option<UserId>,
    /// Rows written at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Rows written before this instant.
    pub before: Option<DateTime<Utc>>,
    /// The newest row the search started from, so that paging through a log that is still being
    /// written shows each row once (new rows would otherwise push every page down).
    pub upto: Option<i64>,
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditResults {
    pub entries: Vec<AuditEntry>,
    /// How many rows the whole search matches.
    pub total: usize,
    /// The newest row id the search covers; pass it back as [`AuditSearch::upto`] for the other
    /// pages.
    pub upto: i64,
}

/// The clause that keeps an administrator to their organisations' rows (placeholder `$p` holds the
/// administrator's user id; a negative id means the whole log): rows written by the current
/// members of any organisation they administer, rows about such a member's account and rows about
/// the organisation itself.
pub(super) fn admin_scope(p: usize) -> String {
    format!(
        "(${p} < 0 \
          OR a.user_id IN (SELECT m.user_id FROM memberships m JOIN memberships mine \
              ON mine.organisation_id = m.organisation_id \
              WHERE mine.user_id = ${p} AND mine.role = 'admin') \
          OR (a.entity = 'user' AND a.entity_id IN (SELECT m.user_id FROM memberships m \
              JOIN memberships mine ON mine.organisation_id = m.organisation_id \
              WHERE mine.user_id = ${p} AND mine.role = 'admin')) \
          OR (a.entity = 'organisation' AND a.entity_id IN (SELECT organisation_id \
              FROM memberships WHERE user_id = ${p} AND role = 'admin')))"
    )
}

/// The search's conditions, `$1` to `$6` (see [`Store::bind_search`] for their order).
fn conditions() -> String {
    format!(
        "($1 = '' OR (a.entity = 'person' AND a.entity_id IN \
             (SELECT id FROM people WHERE nhs_number = $1))) \
         AND ($2 < 0 OR a.user_id = $2) \
         AND ($3 = '' OR a.at >= $3) \
         AND ($4 = '' OR a.at < $4) \
         AND a.id <= $5 \
         AND {}",
        admin_scope(6)
    )
}

impl Store {
    /// One page of the rows `admin` may see that match `search`, newest first, with how many match
    /// in all. A search by NHS number is audited (as a list of the person's audit rows) before it
    /// is read, so the administrator's own search is on the record.
    pub async fn search_audit_for_admin(
        &self,
        admin: UserId,
        search: &AuditSearch,
        offset: usize,
        limit: usize,
    ) -> Result<AuditResults, StoreError> {
        if search.nhs_number.is_some() {
            self.audit_person_search(admin, search, AuditAction::List, "searched")
                .await?;
        }
        let upto = self.search_upto(search).await?;
        let count_sql = format!(
            "SELECT COUNT(*) AS n FROM audit_log a WHERE {}",
            conditions()
        );
        let total = get_i64(
            &bind_search(sqlx::query(&count_sql), search, upto, admin)
                .fetch_one(&self.pool)
                .await?,
            "n",
        )?;
        let page_sql = format!(
            "SELECT a.id, a.at, a.user_id, u.username, a.action, a.entity, a.entity_id, a.reason \
             FROM audit_log a LEFT JOIN users u ON u.id = a.user_id WHERE {} \
             ORDER BY a.id DESC LIMIT $7 OFFSET $8",
            conditions()
        );
        let rows = bind_search(sqlx::query(&page_sql), search, upto, admin)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        Ok(AuditResults {
            entries: rows.iter().map(entry_from_row).collect::<Result<_, _>>()?,
            total: usize::try_from(total).unwrap_or(0),
            upto,
        })
    }

    /// Every row `admin` may see that matches `search`, newest first, for a file. Copying the log
    /// out is an export, audited with how many rows left (and, for a search by NHS number, against
    /// the person) before the rows are read.
    pub async fn export_audit_for_admin(
        &self,
        admin: UserId,
        search: &AuditSearch,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let upto = self.search_upto(search).await?;
        let sql = format!(
            "SELECT a.id, a.at, a.user_id, u.username, a.action, a.entity, a.entity_id, a.reason \
             FROM audit_log a LEFT JOIN users u ON u.id = a.user_id WHERE {} ORDER BY a.id DESC",
            conditions()
        );
        let rows = bind_search(sqlx::query(&sql), search, upto, admin)
            .fetch_all(&self.pool)
            .await?;
        let entries: Vec<AuditEntry> = rows.iter().map(entry_from_row).collect::<Result<_, _>>()?;
        if search.nhs_number.is_some() {
            self.audit_person_search(admin, search, AuditAction::Export, "exported")
                .await?;
        }
        self.audit(AuditEvent {
            user: Some(admin),
            action: AuditAction::Export,
            entity: "audit_log",
            entity_id: None,
            reason: format!("audit log exported as a file ({} rows)", entries.len()),
        })
        .await?;
        Ok(entries)
    }

    /// The newest row a search covers: the one it started from, or the newest now.
    async fn search_upto(&self, search: &AuditSearch) -> Result<i64, StoreError> {
        if let Some(upto) = search.upto {
            return Ok(upto);
        }
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM audit_log")
            .fetch_one(&self.pool)
            .await?;
        get_i64(&row, "n")
    }

    /// Records that `admin` looked up who accessed the person with the searched NHS number: one
    /// row against each record the number matches, or one refusal-like row when it matches none
    /// (never the number itself, which would put a patient identifier in the log's reasons).
    async fn audit_person_search(
        &self,
        admin: UserId,
        search: &AuditSearch,
        action: AuditAction,
        done: &str,
    ) -> Result<(), StoreError> {
        let Some(nhs) = &search.nhs_number else {
            return Ok(());
        };
        let row = sqlx::query("SELECT id FROM people WHERE nhs_number = $1")
            .bind(nhs.as_digits())
            .fetch_optional(&self.pool)
            .await?;
        let person = row.map(|r| get_i64(&r, "id")).transpose()?;
        self.audit(AuditEvent {
            user: Some(admin),
            action,
            entity: "person",
            entity_id: person,
            reason: match person {
                Some(_) => format!("audit log {done} for who accessed this record"),
                None => format!("audit log {done} by NHS number: no match"),
            },
        })
        .await
    }
}

/// Binds the search's conditions in the order [`conditions`] numbers them.
fn bind_search<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    search: &AuditSearch,
    upto: i64,
    admin: UserId,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(
            search
                .nhs_number
                .as_ref()
                .map(|n| n.as_digits().to_owned())
                .unwrap_or_default(),
        )
        .bind(search.user.map_or(-1, UserId::get))
        .bind(search.since.map(instant_text).unwrap_or_default())
        .bind(search.before.map(instant_text).unwrap_or_default())
        .bind(upto)
        .bind(admin.get())
}

pub(super) fn entry_from_row(r: &sqlx::any::AnyRow) -> Result<AuditEntry, StoreError> {
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
}

impl AuditEntry {
    /// What was done, in words.
    #[must_use]
    pub fn action_words(&self) -> &'static str {
        match self.action.as_str() {
            "read" => "Opened",
            "list" => "Listed",
            "create" => "Added",
            "update" => "Changed",
            "denied" => "Refused",
            "export" => "Copied out",
            "purge" => "Deleted after its retention period",
            _ => "Other",
        }
    }

    /// The kind of record, in words.
    #[must_use]
    pub fn entity_words(&self) -> String {
        let known = match self.entity.as_str() {
            "person" => "Person's record",
            "user" => "Account",
            "organisation" => "Organisation",
            "caseload" => "Caseload",
            "casework_referral" => "Referral",
            "casework_settings" => "Casework settings",
            "casework_waiting_list" => "Waiting list",
            "referrals_sent" => "Referrals sent",
            "directory" => "Directory",
            "directory_service" => "Directory entry",
            "directory_settings" => "Directory settings",
            "directory_referrals" => "Directory referrals",
            "evaluation_result" => "Impact evaluation",
            "lone_working" => "Lone working board",
            "visit_rule" => "Visit rule",
            "outcome_schedule" => "Outcome measure schedule",
            "population_worklist" => "Case-finding worklist",
            "worklist_decision" => "Worklist decision",
            "api_token" => "API token",
            "break_glass" => "Emergency access",
            "consent" => "Sharing preferences",
            "mdt_meeting" => "MDT meeting",
            "mdt_case_flag" => "MDT flag",
            "safeguarding_concern" => "Safeguarding concern",
            "significant_event" => "Significant event",
            "supervision_session" => "Supervision session",
            "training" => "Training record",
            "audit_log" => "Audit log",
            _ => "",
        };
        if known.is_empty() {
            // A kind added after this list still reads as words, never as a code.
            let words = self.entity.replace('_', " ");
            let mut chars = words.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        } else {
            known.to_owned()
        }
    }

    /// Why, in words: the access grants the policy records as codes (`care_team_member`) are
    /// written out ("member of the care team"), wherever they sit in the reason.
    #[must_use]
    pub fn reason_words(&self) -> String {
        let mut text = self.reason.clone();
        for grant in Grant::ALL {
            if text == grant.code() {
                return grant.label().to_owned();
            }
            if text.contains(grant.code()) {
                text = text.replace(grant.code(), &grant.label().to_lowercase());
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, entity: &str, reason: &str) -> AuditEntry {
        AuditEntry {
            id: 1,
            at: Utc::now(),
            user: None,
            username: None,
            action: action.into(),
            entity: entity.into(),
            entity_id: None,
            reason: reason.into(),
        }
    }

    #[test]
    fn grants_actions_and_kinds_read_as_words() {
        let e = entry("read", "person", "care_team_member");
        assert_eq!(e.action_words(), "Opened");
        assert_eq!(e.entity_words(), "Person's record");
        assert_eq!(e.reason_words(), "Member of the care team");
        let e = entry(
            "denied",
            "some_new_thing",
            "casework case 4: supervises_care_team",
        );
        assert_eq!(e.action_words(), "Refused");
        assert_eq!(e.entity_words(), "Some new thing");
        assert_eq!(
            e.reason_words(),
            "casework case 4: supervises the care team"
        );
        // Every grant has words, and none of them is its own code.
        for g in Grant::ALL {
            assert_ne!(entry("read", "person", g.code()).reason_words(), g.code());
        }
    }
}
