//! Safeguarding concerns raised from a case: the concern (category, risk, what was noticed), its
//! actions with owners and due dates, and the record of the referral to the local authority.
//!
//! Anyone who may change a case may raise a concern on it, but a concern is seen only by the people
//! [`can_see_concern`] names (the worker who raised it, the case's lead worker and supervisors of
//! the service's provider), so a co-worker from another employer can raise one and then see only
//! their own. Every read, list, write and refusal writes an audit row with entity
//! `safeguarding_concern`; writes do so in the same transaction. Nothing goes on the case timeline,
//! which everyone on the case reads.

use careweave_domain::access::Principal;
use careweave_domain::casework::CaseId;
use careweave_domain::safeguarding::{
    can_see_concern, ConcernCategory, ConcernFacts, ConcernGrant, ConcernId, ConcernStatus,
    RiskLevel,
};
use careweave_domain::{OrganisationId, UserId};
use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::access::CaseAccess;
use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::change::{change_audited, opt_date, ActionError, Bind};
use crate::{get_date, get_i64, now_text, Store, StoreError};

/// The audit log's name for this kind of record.
pub const ENTITY: &str = "safeguarding_concern";

/// A concern as the worker raises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConcern {
    pub category: ConcernCategory,
    pub risk: RiskLevel,
    /// When the worker saw or heard what worries them; never in the future.
    pub noticed_on: NaiveDate,
    pub description: String,
}

/// An action to add to a concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConcernAction {
    pub text: String,
    /// Who will do it, in words: often someone outside careweave.
    pub owner: String,
    pub due_on: NaiveDate,
}

/// The referral to the local authority as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaReferral {
    pub referred_on: NaiveDate,
    /// The council's reference, as they gave it.
    pub reference: String,
}

/// A recorded referral to the local authority, with who recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaReferralView {
    pub referred_on: NaiveDate,
    pub reference: String,
    pub by: String,
}

/// One action on a concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcernAction {
    pub id: i64,
    pub text: String,
    pub owner: String,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
}

/// A concern as the case page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcernSummary {
    pub id: ConcernId,
    pub category: ConcernCategory,
    pub risk: RiskLevel,
    pub status: ConcernStatus,
    pub noticed_on: NaiveDate,
    pub raised_by: String,
}

/// Everything on one concern, for the people allowed to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcernView {
    pub id: ConcernId,
    pub case: CaseId,
    pub person_name: String,
    pub service_name: String,
    pub category: ConcernCategory,
    pub risk: RiskLevel,
    pub status: ConcernStatus,
    pub noticed_on: NaiveDate,
    pub description: String,
    pub raised_by: String,
    pub la_referral: Option<LaReferralView>,
    pub closed_on: Option<NaiveDate>,
    pub close_reason: Option<String>,
    pub actions: Vec<ConcernAction>,
    /// Why the viewer may see it.
    pub grant: ConcernGrant,
}

fn code<T>(
    row: &AnyRow,
    column: &'static str,
    from: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    from(&text).ok_or(StoreError::Corrupt {
        column,
        detail: text,
    })
}

fn facts_of(row: &AnyRow) -> Result<ConcernFacts, StoreError> {
    Ok(ConcernFacts {
        raised_by: UserId::new(get_i64(row, "raised_by")?),
        lead_worker: row.try_get::<Option<i64>, _>("lead_id")?.map(UserId::new),
        service_provider: OrganisationId::new(get_i64(row, "provider_id")?),
    })
}

/// The columns and joins that give a concern's access facts; the lead is the case's current one.
const FACTS_FROM: &str = "sc.raised_by, s.provider_id, \
     (SELECT MIN(w.user_id) FROM casework_workers w WHERE w.case_id = sc.case_id AND w.role = 'lead' \
      AND w.ended_on IS NULL) AS lead_id \
     FROM safeguarding_concerns sc JOIN casework_cases c ON c.id = sc.case_id \
     JOIN services s ON s.id = c.service_id";

impl Store {
    async fn concern_audit(
        &self,
        who: &Principal,
        action: AuditAction,
        concern: Option<ConcernId>,
        reason: String,
    ) -> Result<(), StoreError> {
        audit_with(
            &self.pool,
            &AuditEvent {
                user: Some(who.user),
                action,
                entity: ENTITY,
                entity_id: concern.map(ConcernId::get),
                reason,
            },
        )
        .await
    }

    /// Asks the policy about one concern; a refusal (or a concern that does not exist, in the same
    /// words) is audited as denied.
    async fn concern_access(
        &self,
        who: &Principal,
        id: ConcernId,
        what: &str,
    ) -> Result<(ConcernStatus, ConcernGrant), ActionError> {
        let row = sqlx::query(&format!("SELECT sc.status, {FACTS_FROM} WHERE sc.id = $1"))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        let allowed = match &row {
            Some(r) => can_see_concern(who, &facts_of(r)?)
                .map(|g| Ok::<_, StoreError>((code(r, "status", ConcernStatus::from_code)?, g)))
                .transpose()?,
            None => None,
        };
        match allowed {
            Some(ok) => Ok(ok),
            None => {
                self.concern_audit(
                    who,
                    AuditAction::Denied,
                    Some(id),
                    format!("safeguarding {what}: not the raiser, the lead or a supervisor of the service"),
                )
                .await?;
                Err(ActionError::Denied)
            }
        }
    }

    /// Raises a concern on a case. Anyone who may open the case may raise one (a read capability
    /// suffices: a worry about someone must never wait for the right to change their case); a
    /// refusal was audited when the case was opened.
    pub async fn raise_concern(
        &self,
        access: &CaseAccess,
        new: &NewConcern,
    ) -> Result<ConcernId, ActionError> {
        let (case, person, grant) = (access.case(), access.person(), access.grant());
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO safeguarding_concerns (case_id, person_id, category, risk, status, noticed_on, \
             description, raised_by, raised_at) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8) RETURNING id",
        )
        .bind(case.get())
        .bind(person.get())
        .bind(new.category.code())
        .bind(new.risk.code())
        .bind(new.noticed_on.to_string())
        .bind(&new.description)
        .bind(access.user().get())
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        let id = ConcernId::new(get_i64(&row, "id")?);
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(access.user()),
                action: AuditAction::Create,
                entity: ENTITY,
                entity_id: Some(id.get()),
                reason: format!("raised on case {case} ({})", grant.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The concerns on the case `access` opened that `who` may see, newest first (each concern has
    /// its own rule, which needs the principal's roles; the capability must be `who`'s own). A
    /// non-empty list is audited as one `list` event naming the concerns; an empty one shows
    /// nothing and records nothing.
    pub async fn concerns_on_case(
        &self,
        who: &Principal,
        access: &CaseAccess,
    ) -> Result<Vec<ConcernSummary>, ActionError> {
        if access.user() != who.user {
            return Err(ActionError::Denied);
        }
        Ok(self.concern_rows(who, access.case()).await?)
    }

    /// The concerns on `case` that `who` may see, audited; the callers have opened the case.
    async fn concern_rows(
        &self,
        who: &Principal,
        case: CaseId,
    ) -> Result<Vec<ConcernSummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT sc.id, sc.category, sc.risk, sc.status, sc.noticed_on, u.display_name AS raiser, \
             {FACTS_FROM} JOIN users u ON u.id = sc.raised_by \
             WHERE sc.case_id = $1 ORDER BY sc.noticed_on DESC, sc.id DESC"
        ))
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?;
        let mut seen = Vec::new();
        for r in &rows {
            if can_see_concern(who, &facts_of(r)?).is_some() {
                seen.push(ConcernSummary {
                    id: ConcernId::new(get_i64(r, "id")?),
                    category: code(r, "category", ConcernCategory::from_code)?,
                    risk: code(r, "risk", RiskLevel::from_code)?,
                    status: code(r, "status", ConcernStatus::from_code)?,
                    noticed_on: get_date(r, "noticed_on")?,
                    raised_by: r.try_get("raiser")?,
                });
            }
        }
        if !seen.is_empty() {
            let ids: Vec<String> = seen.iter().map(|c| c.id.to_string()).collect();
            self.concern_audit(
                who,
                AuditAction::List,
                None,
                format!("case {case}: concerns {}", ids.join(",")),
            )
            .await?;
        }
        Ok(seen)
    }

    /// The concerns on a case for someone who has not opened the case page: refused and audited
    /// as denied (the same words whether or not the case exists) unless `who` may read the case's
    /// person with a grant other than a referrer's; then the concerns as [`Store::concerns_on_case`]
    /// gives them. This is the door for the API, which has no case page's capability at hand.
    pub async fn concerns_on_case_checked(
        &self,
        who: &Principal,
        case: CaseId,
    ) -> Result<Vec<ConcernSummary>, ActionError> {
        if self.changeable_case(who, case).await?.is_none() {
            self.concern_audit(
                who,
                AuditAction::Denied,
                None,
                format!("case {case}: concerns listed without a care relationship"),
            )
            .await?;
            return Err(ActionError::Denied);
        }
        Ok(self.concern_rows(who, case).await?)
    }

    /// One concern with its actions and referral, through the policy, audited as a read.
    pub async fn concern_for(
        &self,
        who: &Principal,
        id: ConcernId,
    ) -> Result<ConcernView, ActionError> {
        let (_, grant) = self.concern_access(who, id, "read").await?;
        let r = sqlx::query(
            "SELECT sc.*, p.given_name, p.family_name, s.name AS service_name, \
             u.display_name AS raiser, la.display_name AS la_by \
             FROM safeguarding_concerns sc JOIN people p ON p.id = sc.person_id \
             JOIN casework_cases c ON c.id = sc.case_id JOIN services s ON s.id = c.service_id \
             JOIN users u ON u.id = sc.raised_by LEFT JOIN users la ON la.id = sc.la_referred_by \
             WHERE sc.id = $1",
        )
        .bind(id.get())
        .fetch_one(&self.pool)
        .await?;
        let actions = sqlx::query(
            "SELECT id, text, owner, due_on, done_on FROM safeguarding_actions \
             WHERE concern_id = $1 ORDER BY due_on, id",
        )
        .bind(id.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|a| {
            Ok(ConcernAction {
                id: get_i64(a, "id")?,
                text: a.try_get("text")?,
                owner: a.try_get("owner")?,
                due_on: get_date(a, "due_on")?,
                done_on: opt_date(a, "done_on")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let la_referral = match opt_date(&r, "la_referred_on")? {
            Some(on) => Some(LaReferralView {
                referred_on: on,
                reference: r
                    .try_get::<Option<String>, _>("la_reference")?
                    .unwrap_or_default(),
                by: r.try_get::<Option<String>, _>("la_by")?.unwrap_or_default(),
            }),
            None => None,
        };
        let family: String = r.try_get("family_name")?;
        let given: String = r.try_get("given_name")?;
        let view = ConcernView {
            id,
            case: CaseId::new(get_i64(&r, "case_id")?),
            person_name: format!("{}, {given}", family.to_uppercase()),
            service_name: r.try_get("service_name")?,
            category: code(&r, "category", ConcernCategory::from_code)?,
            risk: code(&r, "risk", RiskLevel::from_code)?,
            status: code(&r, "status", ConcernStatus::from_code)?,
            noticed_on: get_date(&r, "noticed_on")?,
            description: r.try_get("description")?,
            raised_by: r.try_get("raiser")?,
            la_referral,
            closed_on: opt_date(&r, "closed_on")?,
            close_reason: r.try_get("close_reason")?,
            actions,
            grant,
        };
        self.concern_audit(who, AuditAction::Read, Some(id), grant.code().to_owned())
            .await?;
        Ok(view)
    }

    /// Runs one change to a concern that is not closed: the policy first, then `sql` (the concern's
    /// id as `$1`, then `binds`) and the audit row in one transaction. A change that touches no row
    /// is refused with `stale`.
    async fn change_concern(
        &self,
        who: &Principal,
        id: ConcernId,
        what: &str,
        sql: &str,
        binds: Vec<Bind>,
        stale: &str,
    ) -> Result<(), ActionError> {
        let (status, grant) = self.concern_access(who, id, what).await?;
        if status == ConcernStatus::Closed {
            return Err(ActionError::refused(
                "This concern is closed: raise a new concern if something else has happened"
                    .to_owned(),
            ));
        }
        change_audited(
            &self.pool,
            sql,
            id.get(),
            binds,
            stale,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: ENTITY,
                entity_id: Some(id.get()),
                reason: format!("{what} ({})", grant.code()),
            },
        )
        .await
    }

    /// Adds an action with an owner and a due date.
    pub async fn add_concern_action(
        &self,
        who: &Principal,
        id: ConcernId,
        action: &NewConcernAction,
    ) -> Result<(), ActionError> {
        self.change_concern(
            who,
            id,
            "action added",
            "INSERT INTO safeguarding_actions (concern_id, added_by, text, owner, due_on, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Bind::Int(who.user.get()),
                Bind::Text(action.text.clone()),
                Bind::Text(action.owner.clone()),
                Bind::Text(action.due_on.to_string()),
                Bind::Text(now_text()),
            ],
            "The action could not be added",
        )
        .await
    }

    /// Marks one of the concern's actions done.
    pub async fn complete_concern_action(
        &self,
        who: &Principal,
        id: ConcernId,
        action: i64,
        on: NaiveDate,
    ) -> Result<(), ActionError> {
        self.change_concern(
            who,
            id,
            "action done",
            "UPDATE safeguarding_actions SET done_on = $2 WHERE concern_id = $1 AND id = $3 \
             AND done_on IS NULL",
            vec![Bind::Text(on.to_string()), Bind::Int(action)],
            "That action is already done or is not on this concern",
        )
        .await
    }

    /// Records the referral to the local authority; the concern becomes "referred".
    pub async fn record_la_referral(
        &self,
        who: &Principal,
        id: ConcernId,
        referral: &LaReferral,
    ) -> Result<(), ActionError> {
        self.change_concern(
            who,
            id,
            "local authority referral recorded",
            "UPDATE safeguarding_concerns SET status = 'referred', la_referred_by = $2, \
             la_referred_on = $3, la_reference = $4, la_recorded_at = $5 \
             WHERE id = $1 AND status = 'open'",
            vec![
                Bind::Int(who.user.get()),
                Bind::Text(referral.referred_on.to_string()),
                Bind::Text(referral.reference.clone()),
                Bind::Text(now_text()),
            ],
            "The referral to the local authority is already recorded",
        )
        .await
    }

    /// Closes a concern with the reason; a closed concern stays readable but takes no changes.
    pub async fn close_concern(
        &self,
        who: &Principal,
        id: ConcernId,
        reason: &str,
        on: NaiveDate,
    ) -> Result<(), ActionError> {
        self.change_concern(
            who,
            id,
            "closed",
            "UPDATE safeguarding_concerns SET status = 'closed', closed_on = $2, close_reason = $3 \
             WHERE id = $1 AND status <> 'closed'",
            vec![Bind::Text(on.to_string()), Bind::Text(reason.to_owned())],
            "This concern is already closed",
        )
        .await
    }
}
