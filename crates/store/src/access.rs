//! The access door: the one place in the store that asks the access policy
//! ([`careweave_domain::access`]), and the only place that builds the capabilities which every
//! function returning or changing personal data takes.
//!
//! [`PersonAccess`] proves that the policy let one user read one person; [`CaseAccess`] proves it
//! let them read (or, with [`CaseAccess::may_change`], change) one case. Both have private fields
//! and no public constructor, so a caller cannot make one without coming through here, and every
//! refusal here writes a `denied` audit row before it returns. No other module calls
//! `can_read_person` or `can_change_case`; a test in `tests/store.rs` keeps it so.
//!
//! A capability cannot be built outside this module:
//!
//! ```compile_fail
//! use careweave_domain::access::Grant;
//! use careweave_domain::casework::CaseId;
//! use careweave_domain::{PersonId, UserId};
//! use careweave_store::access::CaseAccess;
//!
//! // The fields are private, so this does not compile: only the door makes a `CaseAccess`.
//! fn forge(case: CaseId, person: PersonId, user: UserId, grant: Grant) -> CaseAccess {
//!     CaseAccess { case, person, user, grant, change: true }
//! }
//! ```
//!
//! ```compile_fail
//! use careweave_domain::access::Grant;
//! use careweave_domain::{PersonId, UserId};
//! use careweave_store::access::PersonAccess;
//!
//! // Nor a `PersonAccess`.
//! fn forge(person: PersonId, user: UserId, grant: Grant) -> PersonAccess {
//!     PersonAccess { person, user, grant }
//! }
//! ```

use careweave_domain::access::{
    can_change_case, can_read_person, CareFacts, Decision, Grant, Principal,
};
use careweave_domain::casework::CaseId;
use careweave_domain::{OrganisationId, PersonId, UserId};

use crate::audit::{AuditAction, AuditEvent};
use crate::casework::CaseworkService;
use crate::change::get_code;
use crate::change::ActionError;
use crate::get_i64;
use crate::records::RecordError;
use crate::{Store, StoreError};
use careweave_domain::casework::CaseStatus;
use careweave_domain::ServiceId;
use sqlx::any::AnyRow;

/// Proof that a principal may read one person, obtained from [`Store::open_person`] only.
///
/// Functions that tie something to a person on a user's word (a referral naming someone already
/// known) take this instead of a bare [`PersonId`], so that a person id sent by a client can never
/// reach them without the policy having allowed its sender to read that person. Its fields are
/// private and it is built only in this module (the access door); it is not `Clone`, so it proves one check.
#[derive(Debug, PartialEq, Eq)]
pub struct PersonAccess {
    person: PersonId,
    user: UserId,
    grant: Grant,
}

impl PersonAccess {
    /// The person the holder may read.
    #[must_use]
    pub fn person(&self) -> PersonId {
        self.person
    }

    /// The user the policy allowed.
    #[must_use]
    pub fn user(&self) -> UserId {
        self.user
    }

    /// Why the policy allowed it, as recorded in the audit log.
    #[must_use]
    pub fn grant(&self) -> Grant {
        self.grant
    }
}

/// Proof that a principal may read one case (and, when [`CaseAccess::may_change`], change it),
/// obtained from the access door only (the case functions of [`crate::casework`] ask it).
///
/// Its fields are private and it is built only in this module. It may be cloned (a page keeps it
/// in the case view it was read with), but cloning copies a proof already given; it never makes
/// one for another case or user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseAccess {
    case: CaseId,
    person: PersonId,
    user: UserId,
    grant: Grant,
    change: bool,
}

impl CaseAccess {
    /// The case the holder may read.
    #[must_use]
    pub fn case(&self) -> CaseId {
        self.case
    }

    /// The case's person.
    #[must_use]
    pub fn person(&self) -> PersonId {
        self.person
    }

    /// The user the policy allowed.
    #[must_use]
    pub fn user(&self) -> UserId {
        self.user
    }

    /// Why the policy allowed the read, as recorded in the audit log.
    #[must_use]
    pub fn grant(&self) -> Grant {
        self.grant
    }

    /// Whether the policy also allowed changing the case.
    #[must_use]
    pub fn may_change(&self) -> bool {
        self.change
    }
}

impl Store {
    /// The policy's decision on `who` reading `person`, with the facts it was decided on. The
    /// one call of [`can_read_person`] in the store.
    pub(crate) async fn person_decision(
        &self,
        who: &Principal,
        person: PersonId,
    ) -> Result<(Decision, CareFacts), StoreError> {
        let facts = self.care_facts(person).await?;
        Ok((can_read_person(who, &facts), facts))
    }

    /// Asks the policy whether `who` may read `id`, auditing a refusal (with `what` wanted it).
    pub(crate) async fn grant_for(
        &self,
        who: &Principal,
        id: PersonId,
        what: &str,
    ) -> Result<Grant, RecordError> {
        let (decision, facts) = self.person_decision(who, id).await?;
        match decision {
            Decision::Allow(grant) => Ok(grant),
            Decision::Deny => {
                let declined = who
                    .memberships
                    .iter()
                    .any(|m| facts.declined_organisations.contains(&m.organisation));
                let why = if declined {
                    "the person declined sharing with the organisation"
                } else {
                    "no care relationship"
                };
                self.audit(AuditEvent {
                    user: Some(who.user),
                    action: AuditAction::Denied,
                    entity: "person",
                    entity_id: Some(id.get()),
                    reason: format!("{what}{why}"),
                })
                .await?;
                Err(RecordError::Denied)
            }
        }
    }

    /// Checks that `who` may read person `id` and returns the proof, for tying something to that
    /// person (a referral naming someone already known). Audited either way, as a `read` row
    /// whose reason says the person was named (nothing of the record is returned) and `denied`
    /// when refused; refused in the same words whether or not the person exists.
    pub async fn open_person(
        &self,
        who: &Principal,
        id: PersonId,
    ) -> Result<PersonAccess, RecordError> {
        let grant = self.grant_for(who, id, "naming the person: ").await?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(id.get()),
            reason: format!("named the person: {}", grant.code()),
        })
        .await?;
        Ok(PersonAccess {
            person: id,
            user: who.user,
            grant,
        })
    }

    /// Checks that `who` may read person `id` and returns the proof, for a store function that
    /// writes its own audit row for what it then reads or changes (consent, signposting, the
    /// person's directory activity). A refusal is audited here as `denied`, its reason starting
    /// with `what`; nothing is audited on success, since the function given the capability does.
    pub async fn person_for(
        &self,
        who: &Principal,
        id: PersonId,
        what: &str,
    ) -> Result<PersonAccess, RecordError> {
        let grant = self.grant_for(who, id, what).await?;
        Ok(PersonAccess {
            person: id,
            user: who.user,
            grant,
        })
    }

    /// Whether `who` may open person `id`'s record now, without reading or auditing anything:
    /// for deciding whether a page may link to the record (the record page itself asks again
    /// and audits).
    pub async fn may_open_person(&self, who: &Principal, id: PersonId) -> Result<bool, StoreError> {
        Ok(matches!(
            self.person_decision(who, id).await?.0,
            Decision::Allow(_)
        ))
    }

    /// Whether `who` may change a case of a service run by `organisations`, or one they work
    /// (`works_on_case`). The one call of [`can_change_case`] in the store.
    pub(crate) fn case_change_allowed(
        who: &Principal,
        organisations: &[OrganisationId],
        works_on_case: bool,
    ) -> bool {
        can_change_case(who, organisations, works_on_case)
    }

    /// Asks the policy whether `who` may read `person`, auditing a refusal.
    pub(crate) async fn casework_grant(
        &self,
        who: &Principal,
        person: PersonId,
        what: &str,
    ) -> Result<Grant, ActionError> {
        match self.person_decision(who, person).await?.0 {
            Decision::Allow(grant) => Ok(grant),
            Decision::Deny => {
                self.audit(AuditEvent {
                    user: Some(who.user),
                    action: AuditAction::Denied,
                    entity: "person",
                    entity_id: Some(person.get()),
                    reason: format!("casework {what}: no care relationship"),
                })
                .await?;
                Err(ActionError::Denied)
            }
        }
    }

    /// The access decision for a case row already read (with its `person_id`, `service_id` and
    /// `status`), so that a page reading the whole row asks once; `edit` also requires a worker's
    /// grant (a referrer follows a case but does not change it).
    pub(crate) async fn case_row_access(
        &self,
        who: &Principal,
        r: &AnyRow,
        what: &str,
        edit: bool,
    ) -> Result<(PersonId, CaseworkService, CaseStatus, Grant), ActionError> {
        let person = PersonId::new(get_i64(r, "person_id")?);
        let grant = self.casework_grant(who, person, what).await?;
        let service = self
            .casework_service(ServiceId::new(get_i64(r, "service_id")?))
            .await?;
        if edit {
            let case = CaseId::new(get_i64(r, "id")?);
            // The case's own workers are asked about only when the service's organisations do not
            // already decide it, since most changes come from the service's own staff.
            let allowed = Self::case_change_allowed(who, &service.organisations(), false)
                || Self::case_change_allowed(who, &[], self.works_on_case(who.user, case).await?);
            if !allowed {
                self.audit(AuditEvent {
                    user: Some(who.user),
                    action: AuditAction::Denied,
                    entity: "person",
                    entity_id: Some(person.get()),
                    reason: format!(
                        "casework {what}: only the service's teams and the case's workers change \
                         case {case}"
                    ),
                })
                .await?;
                return Err(ActionError::Denied);
            }
        }
        let status = get_code(r, "status", CaseStatus::from_code)?;
        Ok((person, service, status, grant))
    }

    /// [`Store::case_row_access`] returning the capability, for a case row already read (with its
    /// `id`, `person_id`, `service_id` and `status`).
    pub(crate) async fn case_row_capability(
        &self,
        who: &Principal,
        r: &AnyRow,
        what: &str,
        edit: bool,
    ) -> Result<(CaseAccess, CaseworkService, CaseStatus), ActionError> {
        let (person, service, status, grant) = self.case_row_access(who, r, what, edit).await?;
        let access = CaseAccess {
            case: CaseId::new(get_i64(r, "id")?),
            person,
            user: who.user,
            grant,
            change: edit,
        };
        Ok((access, service, status))
    }

    /// The service and status of the case a capability opened, for a function that changes it:
    /// a capability opened only for reading is refused here, and the refusal audited, so that a
    /// read proof can never be spent on a change.
    pub(crate) async fn changing(
        &self,
        access: &CaseAccess,
        what: &str,
    ) -> Result<(CaseworkService, CaseStatus), ActionError> {
        if !access.change {
            self.audit(AuditEvent {
                user: Some(access.user),
                action: AuditAction::Denied,
                entity: "person",
                entity_id: Some(access.person.get()),
                reason: format!(
                    "casework {what}: case {} was opened for reading only",
                    access.case
                ),
            })
            .await?;
            return Err(ActionError::Denied);
        }
        let r = sqlx::query("SELECT service_id, status FROM casework_cases WHERE id = $1")
            .bind(access.case.get())
            .fetch_one(&self.pool)
            .await?;
        let service = self
            .casework_service(ServiceId::new(get_i64(&r, "service_id")?))
            .await?;
        let status = get_code(&r, "status", CaseStatus::from_code)?;
        Ok((service, status))
    }

    /// Opens a case through the policy (for changing it when `change`), returning the
    /// capability; audited either way (`read` naming the grant, or `denied`), and refused in the
    /// same words whether or not the case exists.
    pub async fn open_case(
        &self,
        who: &Principal,
        case: CaseId,
        change: bool,
    ) -> Result<CaseAccess, ActionError> {
        let r = sqlx::query(
            "SELECT id, person_id, service_id, status FROM casework_cases WHERE id = $1",
        )
        .bind(case.get())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(ActionError::Denied)?;
        let (access, _, _) = self.case_row_capability(who, &r, "open", change).await?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(access.person.get()),
            reason: format!("opened case {case}: {}", access.grant.code()),
        })
        .await?;
        Ok(access)
    }
}
