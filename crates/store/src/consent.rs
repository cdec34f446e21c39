//! Consent and sharing preferences, and break-glass, in the store.
//!
//! Preferences are versioned: each change is a new row (who took it, when and how), the highest
//! version decides and the rest are the history shown on the record. They are personal data, so
//! every read and write asks the access policy first and is audited (entity `consent`). What the
//! policy needs from them (the organisations declined) joins [`Store::care_facts`] through
//! [`CONSENT_FACTS`], beside the unexpired break-glass accesses.
//!
//! Break-glass opens one record to one worker or supervisor until it expires. It is the audit
//! row's grant (`break_glass`) for every read it allows, it is shown on the record to everyone who
//! opens it while active, and it waits in the review queue of the admins of the accessing worker's
//! organisation (`domain::consent::break_glass_organisation`), who see who, which record id, when
//! and why, never the record itself.

use careweave_domain::access::Principal;
use careweave_domain::consent::{
    break_glass_organisation, can_break_glass, can_review_break_glass, BreakGlassCategory,
    ConsentMethod, GpSharing, SharingPreferences,
};
use careweave_domain::{OrganisationId, PersonId, UserId};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::access::PersonAccess;
use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::change::get_code;
use crate::records::RecordError;
use crate::{get_i64, instant_text, parse_instant, Store, StoreError};

/// What the consent tables add to [`Store::care_facts`], as rows of (kind, user, organisation):
/// the organisations the latest preferences decline, and the users whose break-glass access has
/// not expired (`$4` is now, as stored text).
pub(crate) const CONSENT_FACTS: &str =
    "SELECT 'declined', NULL, co.organisation_id FROM consent_organisations co \
     JOIN consent_preferences cp ON cp.id = co.preference_id \
     WHERE cp.person_id = $1 AND co.shares = 0 AND cp.version = \
     (SELECT MAX(version) FROM consent_preferences WHERE person_id = $1) \
     UNION ALL SELECT 'break_glass', user_id, NULL FROM break_glass \
     WHERE person_id = $1 AND expires_at > $4";

/// The audit entity of preferences.
pub const CONSENT_ENTITY: &str = "consent";
/// The audit entity of break-glass accesses and their review.
pub const BREAK_GLASS_ENTITY: &str = "break_glass";

/// One organisation a version of the preferences names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationChoice {
    pub organisation: OrganisationId,
    pub name: String,
    pub shares: bool,
}

/// One recorded version of a person's preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentVersion {
    pub version: i64,
    pub gp: GpSharing,
    pub share_with_carers: bool,
    pub sensitive_with_care_team: bool,
    pub organisations: Vec<OrganisationChoice>,
    pub method: ConsentMethod,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

impl ConsentVersion {
    /// The names of the organisations this version declines.
    #[must_use]
    pub fn declined(&self) -> Vec<&str> {
        self.organisations
            .iter()
            .filter(|o| !o.shares)
            .map(|o| o.name.as_str())
            .collect()
    }
}

/// What a worker records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConsent {
    pub gp: GpSharing,
    pub share_with_carers: bool,
    pub sensitive_with_care_team: bool,
    /// Each organisation asked about, and whether the person agreed to share with it.
    pub organisations: Vec<(OrganisationId, bool)>,
    pub method: ConsentMethod,
}

/// Why preferences were not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Someone else recorded a newer version since the form was opened.
    #[error("The preferences were changed by someone else: check them and record again")]
    Stale,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ConsentError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

/// An unexpired break-glass access, as the record's banner shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassNotice {
    pub user: UserId,
    pub user_name: String,
    pub category: BreakGlassCategory,
    pub reason: String,
    pub opened_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A break-glass access as its reviewers see it: who, which record id, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassReview {
    pub id: i64,
    pub person: PersonId,
    pub user_name: String,
    pub organisation: String,
    pub category: BreakGlassCategory,
    pub reason: String,
    pub opened_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub reviewed: Option<(String, DateTime<Utc>, String)>,
}

/// Why a break-glass access was not opened or reviewed.
#[derive(Debug, thiserror::Error)]
pub enum BreakGlassError {
    /// The role may not break glass, or review this access, or the record does not exist (the
    /// same words either way).
    #[error("You cannot do this")]
    Refused,
    /// The reason was empty.
    #[error("Enter the reason you need this record now")]
    NoReason,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BreakGlassError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

impl Store {
    /// A person's preferences, newest version first, for a holder of the person's capability
    /// (`Store::person_for`); audited.
    pub async fn consent_history(
        &self,
        access: &PersonAccess,
    ) -> Result<Vec<ConsentVersion>, StoreError> {
        let (person, grant) = (access.person(), access.grant());
        let history = self.consent_versions(person).await?;
        self.audit(AuditEvent {
            user: Some(access.user()),
            action: AuditAction::Read,
            entity: CONSENT_ENTITY,
            entity_id: Some(person.get()),
            reason: format!("sharing preferences: {}", grant.code()),
        })
        .await?;
        Ok(history)
    }

    async fn consent_versions(&self, person: PersonId) -> Result<Vec<ConsentVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT cp.id, cp.version, cp.gp_sharing, cp.share_with_carers, \
             cp.sensitive_with_care_team, cp.method, cp.recorded_at, u.display_name \
             FROM consent_preferences cp JOIN users u ON u.id = cp.recorded_by \
             WHERE cp.person_id = $1 ORDER BY cp.version DESC",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await?;
        let choices = sqlx::query(
            "SELECT co.preference_id, co.organisation_id, co.shares, o.name \
             FROM consent_organisations co JOIN consent_preferences cp ON cp.id = co.preference_id \
             JOIN organisations o ON o.id = co.organisation_id \
             WHERE cp.person_id = $1 ORDER BY o.name",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id = get_i64(r, "id")?;
                let organisations = choices
                    .iter()
                    .filter(|c| get_i64(c, "preference_id").ok() == Some(id))
                    .map(|c| {
                        Ok(OrganisationChoice {
                            organisation: OrganisationId::new(get_i64(c, "organisation_id")?),
                            name: c.try_get("name")?,
                            shares: get_i64(c, "shares")? == 1,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(ConsentVersion {
                    version: get_i64(r, "version")?,
                    gp: get_code(r, "gp_sharing", GpSharing::from_code)?,
                    share_with_carers: get_i64(r, "share_with_carers")? == 1,
                    sensitive_with_care_team: get_i64(r, "sensitive_with_care_team")? == 1,
                    organisations,
                    method: get_code(r, "method", ConsentMethod::from_code)?,
                    recorded_by: r.try_get("display_name")?,
                    recorded_at: parse_instant(
                        "consent_preferences.recorded_at",
                        &r.try_get::<String, _>("recorded_at")?,
                    )?,
                })
            })
            .collect()
    }

    /// The person's current preferences as the rules need them, without auditing: for rules
    /// that apply them inside an audited read (the GP message, a case's sensitive notes).
    pub(crate) async fn sharing_preferences(
        &self,
        person: PersonId,
    ) -> Result<SharingPreferences, StoreError> {
        Ok(
            match self.consent_versions(person).await?.into_iter().next() {
                None => SharingPreferences::default(),
                Some(v) => SharingPreferences {
                    gp: Some(v.gp),
                    declined_organisations: v
                        .organisations
                        .iter()
                        .filter(|o| !o.shares)
                        .map(|o| o.organisation)
                        .collect(),
                    share_with_carers: v.share_with_carers,
                    sensitive_with_care_team: v.sensitive_with_care_team,
                },
            },
        )
    }

    /// The organisations to ask the person about: those in or joining their care team (every
    /// organisation the policy's facts name) and those an earlier version named, by name.
    /// For a holder of the person's capability; audited with the history (this reads no more than
    /// it).
    pub async fn consent_organisations(
        &self,
        access: &PersonAccess,
    ) -> Result<Vec<(OrganisationId, String)>, StoreError> {
        let person = access.person();
        let facts = self.care_facts(person).await?;
        let mut ids: Vec<OrganisationId> = facts
            .care_team_employers
            .iter()
            .chain(&facts.case_awaits_worker_with)
            .chain(&facts.accepted_by)
            .chain(&facts.declined_organisations)
            .copied()
            .collect();
        for v in self.consent_versions(person).await? {
            ids.extend(v.organisations.iter().map(|o| o.organisation));
        }
        ids.sort();
        ids.dedup();
        let mut named = Vec::new();
        for org in self.organisations().await? {
            if ids.contains(&org.id) {
                named.push((org.id, org.name));
            }
        }
        named.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(named)
    }

    /// Records a new version of the person's preferences for a holder of the person's capability
    /// (`Store::person_for`), audited in the same
    /// transaction. `expected_version` is the version the form showed (0 for none): a newer one
    /// recorded meanwhile refuses the change rather than silently replace it. Returns the version.
    pub async fn record_consent(
        &self,
        access: &PersonAccess,
        new: &NewConsent,
        expected_version: i64,
    ) -> Result<i64, ConsentError> {
        let (person, grant) = (access.person(), access.grant());
        let mut tx = self.pool.begin().await?;
        let current: i64 = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) AS v FROM consent_preferences WHERE person_id = $1",
        )
        .bind(person.get())
        .fetch_one(&mut *tx)
        .await
        .and_then(|r| r.try_get::<i64, _>("v"))?;
        if current != expected_version {
            return Err(ConsentError::Stale);
        }
        let version = current + 1;
        let id: i64 = sqlx::query(
            "INSERT INTO consent_preferences (person_id, version, gp_sharing, share_with_carers, \
             sensitive_with_care_team, method, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(person.get())
        .bind(version)
        .bind(new.gp.code())
        .bind(i64::from(new.share_with_carers))
        .bind(i64::from(new.sensitive_with_care_team))
        .bind(new.method.code())
        .bind(access.user().get())
        .bind(crate::now_text())
        .fetch_one(&mut *tx)
        .await
        // Two workers saving at once both pass the version check; the unique version refuses one.
        .map_err(|e| match crate::map_unique("consent version")(e) {
            StoreError::Duplicate(_) => ConsentError::Stale,
            e => ConsentError::Store(e),
        })?
        .try_get("id")?;
        for (organisation, shares) in &new.organisations {
            sqlx::query(
                "INSERT INTO consent_organisations (preference_id, organisation_id, shares) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(organisation.get())
            .bind(i64::from(*shares))
            .execute(&mut *tx)
            .await?;
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(access.user()),
                action: AuditAction::Create,
                entity: CONSENT_ENTITY,
                entity_id: Some(person.get()),
                reason: format!("sharing preferences version {version}: {}", grant.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Opens person `person`'s record to `who` in an emergency, from `at` for `limit`, with the
    /// category and reason they gave; audited in the same transaction (the reason names the
    /// category, never the free text, which stays on the row for the reviewers). Refused to roles
    /// that may not break glass and for a person who does not exist, in the same words.
    pub async fn break_glass(
        &self,
        who: &Principal,
        person: PersonId,
        category: BreakGlassCategory,
        reason: &str,
        at: DateTime<Utc>,
        limit: chrono::Duration,
    ) -> Result<i64, BreakGlassError> {
        let refuse = |why: &str| AuditEvent {
            user: Some(who.user),
            action: AuditAction::Denied,
            entity: BREAK_GLASS_ENTITY,
            entity_id: Some(person.get()),
            reason: format!("break-glass refused: {why}"),
        };
        let (true, Some(organisation)) = (can_break_glass(who), break_glass_organisation(who))
        else {
            self.audit(refuse("role may not break glass")).await?;
            return Err(BreakGlassError::Refused);
        };
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(BreakGlassError::NoReason);
        }
        let exists = sqlx::query("SELECT id FROM people WHERE id = $1")
            .bind(person.get())
            .fetch_optional(&self.pool)
            .await?
            .is_some();
        if !exists {
            self.audit(refuse("no such record")).await?;
            return Err(BreakGlassError::Refused);
        }
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO break_glass (person_id, user_id, organisation_id, category, reason, \
             opened_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(person.get())
        .bind(who.user.get())
        .bind(organisation.get())
        .bind(category.code())
        .bind(reason)
        .bind(instant_text(at))
        .bind(instant_text(at + limit))
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Create,
                entity: BREAK_GLASS_ENTITY,
                entity_id: Some(person.get()),
                reason: format!("break-glass {id} opened: {}", category.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The person's unexpired break-glass accesses, for the record's banner (the record read
    /// that shows them is audited).
    pub(crate) async fn active_break_glass(
        &self,
        person: PersonId,
    ) -> Result<Vec<BreakGlassNotice>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.user_id, u.display_name, b.category, b.reason, b.opened_at, b.expires_at \
             FROM break_glass b JOIN users u ON u.id = b.user_id \
             WHERE b.person_id = $1 AND b.expires_at > $2 ORDER BY b.opened_at",
        )
        .bind(person.get())
        .bind(crate::now_text())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BreakGlassNotice {
                    user: UserId::new(get_i64(r, "user_id")?),
                    user_name: r.try_get("display_name")?,
                    category: get_code(r, "category", BreakGlassCategory::from_code)?,
                    reason: r.try_get("reason")?,
                    opened_at: instant(r, "opened_at")?,
                    expires_at: instant(r, "expires_at")?,
                })
            })
            .collect()
    }

    /// The break-glass accesses `who` reviews (those reported to organisations they are an admin
    /// of), unreviewed first, then newest first. Audited as a list; nothing of a record is read.
    pub async fn break_glass_queue(
        &self,
        who: &Principal,
    ) -> Result<Vec<BreakGlassReview>, StoreError> {
        let mut all = Vec::new();
        let mut orgs: Vec<OrganisationId> = who
            .memberships
            .iter()
            .map(|m| m.organisation)
            .filter(|o| can_review_break_glass(who, *o))
            .collect();
        orgs.sort();
        orgs.dedup();
        for org in &orgs {
            let rows = sqlx::query(&format!("{REVIEW_SELECT} WHERE b.organisation_id = $1"))
                .bind(org.get())
                .fetch_all(&self.pool)
                .await?;
            for r in &rows {
                all.push(review_from_row(r)?);
            }
        }
        all.sort_by(|a, b| {
            a.reviewed
                .is_some()
                .cmp(&b.reviewed.is_some())
                .then(b.opened_at.cmp(&a.opened_at))
        });
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: BREAK_GLASS_ENTITY,
            entity_id: None,
            reason: format!("break-glass review queue ({} accesses)", all.len()),
        })
        .await?;
        Ok(all)
    }

    /// Marks break-glass access `id` reviewed with `note`, by an admin of the organisation it was
    /// reported to; audited in the same transaction. A second review is refused.
    pub async fn review_break_glass(
        &self,
        who: &Principal,
        id: i64,
        note: &str,
    ) -> Result<(), BreakGlassError> {
        let row = sqlx::query(
            "SELECT organisation_id, person_id, reviewed_at FROM break_glass WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let allowed = row.as_ref().is_some_and(|r| {
            get_i64(r, "organisation_id")
                .is_ok_and(|o| can_review_break_glass(who, OrganisationId::new(o)))
        });
        let Some(row) = row.filter(|_| allowed) else {
            self.audit(AuditEvent {
                user: Some(who.user),
                action: AuditAction::Denied,
                entity: BREAK_GLASS_ENTITY,
                entity_id: None,
                reason: format!("review of break-glass {id} refused"),
            })
            .await?;
            return Err(BreakGlassError::Refused);
        };
        if row.try_get::<Option<String>, _>("reviewed_at")?.is_some() {
            return Err(BreakGlassError::Refused);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE break_glass SET reviewed_by = $1, reviewed_at = $2, review_note = $3 \
             WHERE id = $4 AND reviewed_at IS NULL",
        )
        .bind(who.user.get())
        .bind(crate::now_text())
        .bind(note.trim())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: BREAK_GLASS_ENTITY,
                entity_id: Some(get_i64(&row, "person_id")?),
                reason: format!("break-glass {id} reviewed"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

const REVIEW_SELECT: &str =
    "SELECT b.id, b.person_id, u.display_name, o.name AS organisation, b.category, b.reason, \
     b.opened_at, b.expires_at, b.reviewed_at, b.review_note, r.display_name AS reviewer \
     FROM break_glass b JOIN users u ON u.id = b.user_id \
     JOIN organisations o ON o.id = b.organisation_id \
     LEFT JOIN users r ON r.id = b.reviewed_by";

fn instant(r: &AnyRow, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
    parse_instant(column, &r.try_get::<String, _>(column)?)
}

fn review_from_row(r: &AnyRow) -> Result<BreakGlassReview, StoreError> {
    let reviewed = match r.try_get::<Option<String>, _>("reviewed_at")? {
        Some(at) => Some((
            r.try_get::<Option<String>, _>("reviewer")?
                .unwrap_or_default(),
            parse_instant("break_glass.reviewed_at", &at)?,
            r.try_get::<Option<String>, _>("review_note")?
                .unwrap_or_default(),
        )),
        None => None,
    };
    Ok(BreakGlassReview {
        id: get_i64(r, "id")?,
        person: PersonId::new(get_i64(r, "person_id")?),
        user_name: r.try_get("display_name")?,
        organisation: r.try_get("organisation")?,
        category: get_code(r, "category", BreakGlassCategory::from_code)?,
        reason: r.try_get("reason")?,
        opened_at: instant(r, "opened_at")?,
        expires_at: instant(r, "expires_at")?,
        reviewed,
    })
}
