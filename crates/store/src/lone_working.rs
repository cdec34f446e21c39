//! Lone working: planning a visit against the employer's rules and the safety flags, checking in and
//! out, the supervisors' board of visits with its overdue alert, the rules themselves and the flags.
//!
//! The rules are applied by [`careweave_domain::lone_working::check_visit`]; this module gathers what
//! it needs (the worker's employer and its rules, the companion's employer, the flags on the person
//! and their household) and stores the outcome. Planning, checking in and out and closing a visit
//! are written with an audit row in the same transaction; the board is audited as one list read.
//! Supervisors see their staff's visits (who, where, when due back) whether or not they are in the
//! person's care team, because knowing where a colleague is keeps them safe: that is the one
//! widening of access here, and it shows no more than the visit itself.

use careweave_domain::access::Principal;
use careweave_domain::casework::{CaseId, ContactType};
use careweave_domain::lone_working::{
    can_manage_visit_rules, check_visit, watched_organisations, Companion, PolicyRule,
    PolicyRuleKind, SafetyFlag, Visit, VisitPlan, VisitStatus,
};
use careweave_domain::{OrganisationId, OrganisationKind, PersonId, UserId};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::access::CaseAccess;
use crate::audit::{AuditAction, AuditEvent};
use crate::change::{display_name, get_code, record_change, ActionError, CaseChange};
use crate::sql::IdList;
use crate::{get_date, get_i64, Store, StoreError};

/// A visit to plan, as the form or the API gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVisit {
    pub contact_type: ContactType,
    pub on: NaiveDate,
    pub starts_at: NaiveTime,
    pub back_by: NaiveTime,
    /// Where the worker is going, in words a colleague could find.
    pub place: String,
    pub companion: Option<UserId>,
    pub note: String,
}

/// A planned visit, as "my day" and the supervisors' board show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedVisit {
    pub id: i64,
    pub case: CaseId,
    pub name: String,
    pub worker: String,
    pub companion: Option<String>,
    pub on: NaiveDate,
    pub contact_type: ContactType,
    pub starts_at: Option<NaiveTime>,
    pub back_by: Option<NaiveTime>,
    pub place: String,
    pub status: VisitStatus,
    pub note: String,
    pub closed_note: String,
}

impl PlannedVisit {
    /// True when the worker has not checked out by the time they expected to be back. Visits
    /// planned without times (before lone working was recorded) are never overdue.
    #[must_use]
    pub fn is_overdue(&self, now: &NaiveDateTime) -> bool {
        self.back_by.is_some_and(|back_by| {
            Visit {
                on: self.on,
                back_by,
                status: self.status,
            }
            .is_overdue(*now)
        })
    }

    /// Whether the worker can still check in or out.
    #[must_use]
    pub fn is_open(&self) -> bool {
        matches!(self.status, VisitStatus::Planned | VisitStatus::CheckedIn)
    }
}

/// The supervisors' view: their staff's visits that are overdue, and today's visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoneWorkingBoard {
    pub overdue: Vec<PlannedVisit>,
    pub today: Vec<PlannedVisit>,
}

/// One employer rule with its employer, as the rules page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRule {
    pub id: i64,
    pub organisation: OrganisationId,
    pub organisation_name: String,
    pub rule: PolicyRule,
    pub added_on: NaiveDate,
}

/// A safety flag as the case page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagRow {
    pub id: i64,
    pub flag: SafetyFlag,
    pub raised_by: String,
    pub raised_on: NaiveDate,
}

/// A step of a visit taken by the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitStep {
    CheckIn,
    CheckOut,
}

const VISIT_COLUMNS: &str =
    "v.id, v.case_id, v.visit_on, v.contact_type, v.note, v.starts_at, v.back_by, \
     v.place, v.status, v.closed_note, p.given_name, p.family_name, u.display_name AS worker, \
     cu.display_name AS companion";
const VISIT_FROM: &str = "FROM casework_visits v JOIN casework_cases c ON c.id = v.case_id \
     JOIN people p ON p.id = c.person_id JOIN users u ON u.id = v.user_id \
     LEFT JOIN users cu ON cu.id = v.companion_user_id";

pub(crate) fn opt_time(r: &AnyRow, column: &'static str) -> Result<Option<NaiveTime>, StoreError> {
    r.try_get::<Option<String>, _>(column)?
        .map(|t| {
            NaiveTime::parse_from_str(&t, "%H:%M").map_err(|_| StoreError::Corrupt {
                column,
                detail: t.clone(),
            })
        })
        .transpose()
}

fn visit_from_row(r: &AnyRow) -> Result<PlannedVisit, StoreError> {
    Ok(PlannedVisit {
        id: get_i64(r, "id")?,
        case: CaseId::new(get_i64(r, "case_id")?),
        name: display_name(
            &r.try_get::<String, _>("family_name")?,
            &r.try_get::<String, _>("given_name")?,
        ),
        worker: r.try_get("worker")?,
        companion: r.try_get("companion")?,
        on: get_date(r, "visit_on")?,
        contact_type: get_code(r, "contact_type", ContactType::from_code)?,
        starts_at: opt_time(r, "starts_at")?,
        back_by: opt_time(r, "back_by")?,
        place: r.try_get("place")?,
        status: get_code(r, "status", VisitStatus::from_code)?,
        note: r.try_get("note")?,
        closed_note: r.try_get("closed_note")?,
    })
}

/// The organisations `who` supervises, as a list of bound parameters after `today` (`$2` on), or
/// `None` when they supervise no one.
fn watched_in_list(who: &Principal) -> Option<IdList> {
    let watched = watched_organisations(who);
    (!watched.is_empty()).then(|| IdList::new(2, watched.iter().map(|o| o.get())))
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

impl Store {
    /// Plans a visit for the signed-in worker after checking the plan against their employer's
    /// visit rules and the safety flags on the person and their address. A refused plan is not
    /// stored; [`ActionError::NotAllowed`] lists every rule and flag that refused it.
    pub async fn plan_visit(
        &self,
        who: &Principal,
        access: &CaseAccess,
        visit: &NewVisit,
    ) -> Result<i64, ActionError> {
        // The capability must be the planner's own: the employer's rules are read from `who`.
        if access.user() != who.user {
            return Err(ActionError::Denied);
        }
        let (service, status) = self.changing(access, "visit").await?;
        let (case, person) = (access.case(), access.person());
        if !status.is_active() {
            return Err(ActionError::refused("This case is discharged".to_owned()));
        }
        let companion = match visit.companion {
            Some(user) if user == who.user => {
                return Err(ActionError::refused(
                    "Choose a colleague other than yourself to go with you".to_owned(),
                ))
            }
            Some(user) => Some(self.companion(user).await?),
            None => None,
        };
        let plan = VisitPlan {
            contact_type: visit.contact_type,
            on: visit.on,
            starts_at: visit.starts_at,
            back_by: visit.back_by,
            companion,
        };
        plan.validate()
            .map_err(|e| ActionError::refused(e.to_string()))?;
        // The employer whose rules apply: the organisation the worker works this service for.
        let employer = who
            .memberships
            .iter()
            .map(|m| m.organisation)
            .find(|o| service.organisations().contains(o))
            .ok_or(ActionError::Denied)?;
        let (employer_name, rules) = self.rules_of(employer).await?;
        let flags = self.active_flags(person).await?;
        let refusals = check_visit(&plan, &employer_name, &rules, &flags);
        if !refusals.is_empty() {
            return Err(ActionError::NotAllowed(
                refusals.into_iter().map(|r| r.message).collect(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let id = get_i64(
            &sqlx::query(
                "INSERT INTO casework_visits (case_id, user_id, visit_on, contact_type, note, starts_at, \
                 back_by, place, companion_user_id, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'planned') \
                 RETURNING id",
            )
            .bind(case.get())
            .bind(who.user.get())
            .bind(visit.on.to_string())
            .bind(visit.contact_type.code())
            .bind(&visit.note)
            .bind(hhmm(visit.starts_at))
            .bind(hhmm(visit.back_by))
            .bind(&visit.place)
            .bind(visit.companion.map(UserId::get))
            .fetch_one(&mut *tx)
            .await?,
            "id",
        )?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: visit.on,
                kind: "visit planned",
                summary: &format!(
                    "{} planned, {} to {}",
                    visit.contact_type.label(),
                    hhmm(visit.starts_at),
                    hhmm(visit.back_by)
                ),
                action: AuditAction::Create,
                audit: format!("casework case {case}: visit {id} planned"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A colleague going on a visit, with their employer's kind (an NHS one if they have one).
    async fn companion(&self, user: UserId) -> Result<Companion, ActionError> {
        let rows = sqlx::query(
            "SELECT u.display_name, o.kind FROM users u JOIN memberships m ON m.user_id = u.id \
             JOIN organisations o ON o.id = m.organisation_id WHERE u.id = $1 AND u.active = 1",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await?;
        let mut found: Option<Companion> = None;
        for r in &rows {
            let kind = get_code(r, "kind", OrganisationKind::from_code)?;
            let nhs = careweave_domain::lone_working::is_nhs(kind);
            if found
                .as_ref()
                .is_none_or(|c| nhs && !careweave_domain::lone_working::is_nhs(c.employer_kind))
            {
                found = Some(Companion {
                    name: r.try_get("display_name")?,
                    employer_kind: kind,
                });
            }
        }
        found.ok_or_else(|| {
            ActionError::refused("Choose a colleague from the list to go with you".to_owned())
        })
    }

    /// An employer's name and its current visit rules.
    async fn rules_of(
        &self,
        employer: OrganisationId,
    ) -> Result<(String, Vec<PolicyRule>), StoreError> {
        let name: String = sqlx::query("SELECT name FROM organisations WHERE id = $1")
            .bind(employer.get())
            .fetch_one(&self.pool)
            .await?
            .try_get("name")?;
        let rules = sqlx::query(
            "SELECT name, kind, after_time FROM visit_rules WHERE organisation_id = $1 AND ended_on IS NULL ORDER BY id",
        )
        .bind(employer.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rule_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok((name, rules))
    }

    /// The safety flags on a person and on their household's address, still in force.
    async fn active_flags(&self, person: PersonId) -> Result<Vec<SafetyFlag>, StoreError> {
        Ok(self
            .flags_of(person)
            .await?
            .into_iter()
            .map(|f| f.flag)
            .collect())
    }

    /// The safety flags in force on the person of a case and their address, newest first. Takes
    /// the case's capability: the flags' reasons are free text about the person, so they are
    /// read only by someone the policy let open the case (the case page passes the one
    /// [`Store::case_for`] returned), and the read is audited.
    pub async fn safety_flags(&self, access: &CaseAccess) -> Result<Vec<FlagRow>, StoreError> {
        let flags = self.flags_of(access.person()).await?;
        self.audit(AuditEvent {
            user: Some(access.user()),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(access.person().get()),
            reason: format!(
                "safety flags of case {} ({} in force)",
                access.case(),
                flags.len()
            ),
        })
        .await?;
        Ok(flags)
    }

    /// The flags themselves, for callers that have already asked the policy (visit planning).
    async fn flags_of(&self, person: PersonId) -> Result<Vec<FlagRow>, StoreError> {
        sqlx::query(
            "SELECT f.id, f.reason, f.household_id, f.raised_on, u.display_name FROM safety_flags f \
             JOIN users u ON u.id = f.raised_by WHERE f.ended_on IS NULL AND (f.person_id = $1 OR \
             f.household_id = (SELECT household_id FROM people WHERE id = $1)) ORDER BY f.id DESC",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(FlagRow {
                id: get_i64(r, "id")?,
                flag: SafetyFlag {
                    reason: r.try_get("reason")?,
                    on_address: r.try_get::<Option<i64>, _>("household_id")?.is_some(),
                },
                raised_by: r.try_get("display_name")?,
                raised_on: get_date(r, "raised_on")?,
            })
        })
        .collect()
    }

    /// Raises a safety flag on the person of a case, or on their address (their household). Anyone
    /// who may change the case may raise one; it is written with an audit row and a timeline entry.
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn raise_safety_flag(
        &self,
        access: &CaseAccess,
        on_address: bool,
        reason: &str,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        self.changing(access, "safety flag").await?;
        let (case, person) = (access.case(), access.person());
        if reason.trim().is_empty() {
            return Err(ActionError::refused(
                "Enter what colleagues need to know before visiting".to_owned(),
            ));
        }
        let household: Option<i64> = if on_address {
            let h = sqlx::query("SELECT household_id FROM people WHERE id = $1")
                .bind(person.get())
                .fetch_one(&self.pool)
                .await?
                .try_get::<Option<i64>, _>("household_id")?;
            Some(h.ok_or_else(|| {
                ActionError::refused(
                    "This person has no recorded address: flag the person instead".to_owned(),
                )
            })?)
        } else {
            None
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO safety_flags (person_id, household_id, reason, raised_by, raised_on) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(if on_address { None } else { Some(person.get()) })
        .bind(household)
        .bind(reason.trim())
        .bind(access.user().get())
        .bind(today.to_string())
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on: today,
                kind: "safety flag",
                summary: if on_address {
                    "Safety flag raised on the address: joint visits only"
                } else {
                    "Safety flag raised on the person: joint visits only"
                },
                action: AuditAction::Create,
                audit: format!("casework case {case}: safety flag raised"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The worker's visits on a day, in time order.
    pub async fn visits_on(
        &self,
        user: UserId,
        on: NaiveDate,
    ) -> Result<Vec<PlannedVisit>, StoreError> {
        self.visits_between(user, on, on).await
    }

    /// The worker's visits from `from` to `to` (both included), in date and time order: the
    /// diary's visits, future ones included. The caller audits the read (see `Store::diary`).
    pub(crate) async fn visits_between(
        &self,
        user: UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PlannedVisit>, StoreError> {
        sqlx::query(&format!(
            "SELECT {VISIT_COLUMNS} {VISIT_FROM} WHERE v.user_id = $1 AND v.visit_on >= $2 \
             AND v.visit_on <= $3 ORDER BY v.visit_on, v.starts_at, v.id"
        ))
        .bind(user.get())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(visit_from_row)
        .collect()
    }

    /// Checks the worker in at, or out of, one of their own visits.
    pub async fn visit_step(
        &self,
        who: &Principal,
        visit: i64,
        step: VisitStep,
        now: NaiveDateTime,
    ) -> Result<(), ActionError> {
        let (case, person, owner, status) = self.visit_facts(visit).await?;
        if owner != who.user {
            return Err(ActionError::Denied);
        }
        let (to, column, summary) = match (step, status) {
            (VisitStep::CheckIn, VisitStatus::Planned) => {
                (VisitStatus::CheckedIn, "checked_in_at", "Checked in")
            }
            (VisitStep::CheckOut, VisitStatus::Planned | VisitStatus::CheckedIn) => (
                VisitStatus::CheckedOut,
                "checked_out_at",
                "Checked out safely",
            ),
            _ => {
                return Err(ActionError::refused(format!(
                    "This visit is already {}",
                    status.label().to_lowercase()
                )))
            }
        };
        self.close_or_step(who, visit, case, person, to, column, summary, "", now)
            .await
    }

    /// A supervisor closes an overdue visit after reaching the worker, saying what they found.
    pub async fn confirm_safe(
        &self,
        who: &Principal,
        visit: i64,
        note: &str,
        now: NaiveDateTime,
    ) -> Result<(), ActionError> {
        let (case, person, owner, status) = self.visit_facts(visit).await?;
        if !self.watches(who, owner).await? {
            return Err(ActionError::Denied);
        }
        if !matches!(status, VisitStatus::Planned | VisitStatus::CheckedIn) {
            return Err(ActionError::refused(format!(
                "This visit is already {}",
                status.label().to_lowercase()
            )));
        }
        if note.trim().is_empty() {
            return Err(ActionError::refused(
                "Enter how you confirmed your colleague is safe".to_owned(),
            ));
        }
        self.close_or_step(
            who,
            visit,
            case,
            person,
            VisitStatus::CheckedOut,
            "checked_out_at",
            "Confirmed safe by a supervisor",
            note.trim(),
            now,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)] // One private writer for the three ways a visit moves on.
    async fn close_or_step(
        &self,
        who: &Principal,
        visit: i64,
        case: CaseId,
        person: PersonId,
        to: VisitStatus,
        column: &str,
        summary: &str,
        note: &str,
        now: NaiveDateTime,
    ) -> Result<(), ActionError> {
        let mut tx = self.pool.begin().await?;
        // `column` is one of two fixed names chosen above, never input.
        sqlx::query(&format!(
            "UPDATE casework_visits SET status = $1, {column} = $2, closed_by = $3, closed_note = $4 WHERE id = $5"
        ))
        .bind(to.code())
        .bind(now.format("%Y-%m-%dT%H:%M").to_string())
        .bind(if note.is_empty() { None } else { Some(who.user.get()) })
        .bind(note)
        .bind(visit)
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: now.date(),
                kind: "visit",
                summary: &format!("{summary} at {}", now.format("%H:%M")),
                action: AuditAction::Update,
                audit: format!("casework case {case}: visit {visit} {}", to.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn visit_facts(
        &self,
        visit: i64,
    ) -> Result<(CaseId, PersonId, UserId, VisitStatus), ActionError> {
        let r = sqlx::query(
            "SELECT v.case_id, c.person_id, v.user_id, v.status FROM casework_visits v \
             JOIN casework_cases c ON c.id = v.case_id WHERE v.id = $1",
        )
        .bind(visit)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(ActionError::NotFound("The visit"))?;
        Ok((
            CaseId::new(get_i64(&r, "case_id")?),
            PersonId::new(get_i64(&r, "person_id")?),
            UserId::new(get_i64(&r, "user_id")?),
            get_code(&r, "status", VisitStatus::from_code)?,
        ))
    }

    /// Whether `who` supervises an organisation `worker` belongs to.
    async fn watches(&self, who: &Principal, worker: UserId) -> Result<bool, StoreError> {
        let watched = watched_organisations(who);
        if watched.is_empty() {
            return Ok(false);
        }
        let orgs = sqlx::query("SELECT organisation_id FROM memberships WHERE user_id = $1")
            .bind(worker.get())
            .fetch_all(&self.pool)
            .await?;
        for r in &orgs {
            if watched.contains(&OrganisationId::new(get_i64(r, "organisation_id")?)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The supervisors' board: open visits of their staff that are overdue (from any day), and all
    /// of today's visits. Refused to anyone who supervises no one; audited as one list read.
    pub async fn lone_working_board(
        &self,
        who: &Principal,
        now: NaiveDateTime,
    ) -> Result<LoneWorkingBoard, ActionError> {
        let Some(list) = watched_in_list(who) else {
            return Err(ActionError::Denied);
        };
        let orgs = list.placeholders();
        let today = now.date();
        let visits = list.bind(sqlx::query(&format!(
            "SELECT {VISIT_COLUMNS} {VISIT_FROM} WHERE v.back_by IS NOT NULL \
             AND ((v.status IN ('planned', 'checked_in') AND v.visit_on <= $1) OR v.visit_on = $1) \
             AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = v.user_id AND m.organisation_id IN ({orgs})) \
             ORDER BY v.visit_on, v.back_by, v.id"
        ))
        .bind(today.to_string()))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(visit_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let (overdue, rest): (Vec<_>, Vec<_>) =
            visits.into_iter().partition(|v| v.is_overdue(&now));
        let today_visits: Vec<PlannedVisit> = rest.into_iter().filter(|v| v.on == today).collect();
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "lone_working",
            entity_id: None,
            reason: format!(
                "lone working board ({} overdue, {} today)",
                overdue.len(),
                today_visits.len()
            ),
        })
        .await?;
        Ok(LoneWorkingBoard {
            overdue,
            today: today_visits,
        })
    }

    /// How many of `who`'s staff's visits are overdue now, for the alert on every page a
    /// supervisor opens. A count only, so it is not audited; the board itself is.
    pub async fn overdue_visit_count(
        &self,
        who: &Principal,
        now: NaiveDateTime,
    ) -> Result<usize, StoreError> {
        let Some(list) = watched_in_list(who) else {
            return Ok(0);
        };
        let orgs = list.placeholders();
        let rows = list.bind(sqlx::query(&format!(
            "SELECT v.visit_on, v.back_by, v.status FROM casework_visits v \
             WHERE v.status IN ('planned', 'checked_in') AND v.visit_on <= $1 AND v.back_by IS NOT NULL \
             AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = v.user_id AND m.organisation_id IN ({orgs}))"
        ))
        .bind(now.date().to_string()))
        .fetch_all(&self.pool)
        .await?;
        let mut n = 0;
        for r in &rows {
            let visit = Visit {
                on: get_date(r, "visit_on")?,
                back_by: opt_time(r, "back_by")?.unwrap_or(NaiveTime::MIN),
                status: get_code(r, "status", VisitStatus::from_code)?,
            };
            if visit.is_overdue(now) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Every employer's visit rules in force, by employer. Rules are policy, not personal data.
    pub async fn visit_rules(&self) -> Result<Vec<VisitRule>, StoreError> {
        sqlx::query(
            "SELECT r.id, r.organisation_id, o.name AS org_name, r.name, r.kind, r.after_time, r.added_on \
             FROM visit_rules r JOIN organisations o ON o.id = r.organisation_id \
             WHERE r.ended_on IS NULL ORDER BY o.name, r.id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(VisitRule {
                id: get_i64(r, "id")?,
                organisation: OrganisationId::new(get_i64(r, "organisation_id")?),
                organisation_name: r.try_get("org_name")?,
                rule: rule_from_row(r)?,
                added_on: get_date(r, "added_on")?,
            })
        })
        .collect()
    }

    /// Adds a visit rule for an employer; only its admins and supervisors may. Audited.
    pub async fn add_visit_rule(
        &self,
        who: &Principal,
        employer: OrganisationId,
        rule: &PolicyRule,
        today: NaiveDate,
    ) -> Result<i64, ActionError> {
        if !can_manage_visit_rules(who, employer) {
            return Err(ActionError::Denied);
        }
        if rule.name.trim().is_empty() {
            return Err(ActionError::refused(
                "Enter the name staff know the rule by".to_owned(),
            ));
        }
        if (rule.kind == PolicyRuleKind::NoLoneVisitsAfter) != rule.after.is_some() {
            return Err(ActionError::refused(
                "Enter a time only for the rule about lone visits after a set time, and always for it"
                    .to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let id = get_i64(
            &sqlx::query(
                "INSERT INTO visit_rules (organisation_id, name, kind, after_time, added_by, added_on) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(employer.get())
            .bind(rule.name.trim())
            .bind(rule.kind.code())
            .bind(rule.after.map(hhmm))
            .bind(who.user.get())
            .bind(today.to_string())
            .fetch_one(&mut *tx)
            .await?,
            "id",
        )?;
        crate::audit::audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Create,
                entity: "visit_rule",
                entity_id: Some(id),
                reason: format!("visit rule added for organisation {employer}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Ends a visit rule; only the employer's admins and supervisors may. Audited.
    pub async fn end_visit_rule(
        &self,
        who: &Principal,
        id: i64,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        let employer = sqlx::query(
            "SELECT organisation_id FROM visit_rules WHERE id = $1 AND ended_on IS NULL",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| get_i64(&r, "organisation_id").map(OrganisationId::new))
        .transpose()?
        .ok_or(ActionError::NotFound("The rule"))?;
        if !can_manage_visit_rules(who, employer) {
            return Err(ActionError::Denied);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE visit_rules SET ended_on = $1 WHERE id = $2")
            .bind(today.to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::audit::audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: "visit_rule",
                entity_id: Some(id),
                reason: format!("visit rule ended for organisation {employer}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn rule_from_row(r: &AnyRow) -> Result<PolicyRule, StoreError> {
    Ok(PolicyRule {
        name: r.try_get("name")?,
        kind: get_code(r, "kind", PolicyRuleKind::from_code)?,
        after: opt_time(r, "after_time")?,
    })
}
