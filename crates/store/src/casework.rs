//! Casework: referrals, the one waiting list, triage, allocation, cases and their timeline, contacts,
//! assessments, the personalised care and support plan, reviews, discharge with the message back to
//! the GP, reopening, carers and team reports.
//!
//! Every function that returns or changes a person's casework asks the access policy first (through
//! [`Store::care_facts`], which this module extends with waiting referrals, unallocated cases and
//! referrers) and writes an audit row: reads and refusals on their own, writes in the same
//! transaction as the change. Allocation writes `care_team` rows, so a case's workers are the
//! person's care team for every other module too; discharge ends them.
//!
//! The plan carries a version: a save that names an older version than the stored one is refused
//! with [`ActionError::Conflict`], so two workers editing at once never overwrite each other.

use std::collections::BTreeMap;

use careweave_domain::access::{
    can_change_case, can_read_person, Decision, Grant, Principal, Role,
};
use careweave_domain::casework::{
    parse_codes, review_due, CaseId, CaseRole, CaseStatus, Change, ContactType,
    DischargeDestination, DischargeReason, DomainScore, EligibilityAdvice, EligibilityRule,
    GpAgreement, Intensity, NeedDomain, Prioritisation, Priority, ReferralId, ReferralRoute,
    ReferralSource, ReferralStatus, ReviewInterval, RiskFlag, ServiceKind, TriageOutcome, Urgency,
    WaitingFacts,
};
use careweave_domain::consent::{can_see_sensitive, SensitiveCategory, SensitiveFacts};
use careweave_domain::{NhsNumber, OrganisationId, PersonId, ServiceId, TeamId, UserId};
use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::audit::{audit_with, AuditAction, AuditEvent};
pub use crate::change::ActionError;
use crate::change::{
    audit_tx, codes_text, display_name, event, get_code, opt_date, record_change, text_code,
    u32_of, CaseChange,
};

/// The old name of [`ActionError`], kept only until the web pages name the new one.
pub type CaseworkError = ActionError;
use crate::records::PersonAccess;
use crate::{get_date, get_i64, now_text, parse_column, Store, StoreError};

/// A casework service's settings, added to a service of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseworkSettings {
    pub kind: ServiceKind,
    pub rule: EligibilityRule,
    pub review_interval: ReviewInterval,
    pub worker_cap: Option<u32>,
    pub practice_cap: Option<u32>,
    /// Other employers whose staff work this service's waiting list.
    pub partners: Vec<OrganisationId>,
}

/// A casework service as pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseworkService {
    pub id: ServiceId,
    pub name: String,
    pub provider: OrganisationId,
    pub provider_name: String,
    pub team: Option<TeamId>,
    pub team_name: Option<String>,
    pub settings: CaseworkSettings,
}

impl CaseworkService {
    /// The organisations with which this service's referrals wait.
    #[must_use]
    pub fn organisations(&self) -> Vec<OrganisationId> {
        let mut orgs = vec![self.provider];
        orgs.extend(self.settings.partners.iter().copied());
        orgs
    }
}

/// The person a referral is about, as the referrer gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferredPerson {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub nhs_number: Option<NhsNumber>,
    pub practice: Option<OrganisationId>,
    /// How to reach the person (phone, email or address), as they asked.
    pub contact: String,
}

/// Who referred, so they can be told the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// The account, when the referrer signed in; `None` for the public form.
    pub user: Option<UserId>,
    pub name: String,
    pub contact: String,
}

/// A referral to record. Consent to the referral is a precondition of building one.
#[derive(Debug, PartialEq, Eq)]
pub struct NewReferral {
    pub service: ServiceId,
    /// A person already known (from a worklist or a record the referrer may read), proven by
    /// [`Store::open_person`] for the referrer: a bare person id from a client can never name
    /// the person. `None` leaves the person to be matched by their demographics.
    pub known_person: Option<PersonAccess>,
    pub person: ReferredPerson,
    pub source: ReferralSource,
    pub route: ReferralRoute,
    pub reason: String,
    pub needs: String,
    pub concerns: String,
    pub need_domains: Vec<NeedDomain>,
    pub risk_flags: Vec<RiskFlag>,
    /// The case-finding cohort the person was found in, when the referral came from a worklist.
    pub cohort: Option<String>,
    pub urgency: Urgency,
    /// Whether the person agreed that details (not only codes) go back to their GP.
    pub consent_share_detail: bool,
    pub referrer: Referrer,
    pub received_on: NaiveDate,
}

/// What happened to a new referral. Deliberately only its id: whether it was matched to someone
/// in the registry is never told to the referrer, so a referral cannot be used to find out
/// whether a person exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferralCreated {
    pub id: ReferralId,
}

/// Which waiting referrals to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaitingFilter {
    pub service: Option<ServiceId>,
    pub practice: Option<OrganisationId>,
    pub team: Option<TeamId>,
}

/// One line of the waiting list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingItem {
    pub referral: ReferralId,
    pub person: Option<PersonId>,
    pub name: String,
    pub nhs_number: Option<NhsNumber>,
    pub practice: Option<String>,
    pub service: String,
    pub source: ReferralSource,
    pub urgency: Urgency,
    pub received_on: NaiveDate,
    pub days_waiting: i64,
    pub priority: Priority,
}

/// An accepted case still waiting for a worker (workers were full at triage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingWorker {
    pub case: CaseId,
    pub name: String,
    pub service: String,
    pub opened_on: NaiveDate,
}

/// The waiting list: referrals to triage in priority order, and accepted cases awaiting a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingList {
    pub prioritisation: Prioritisation,
    pub referrals: Vec<WaitingItem>,
    pub awaiting_worker: Vec<AwaitingWorker>,
}

/// A person in the registry who may be the person a referral is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub person: PersonId,
    pub name: String,
    pub nhs_number: NhsNumber,
    pub date_of_birth: NaiveDate,
    pub practice: String,
    /// Why it matched: "same NHS number" or "same name and date of birth".
    pub matched_on: &'static str,
}

/// A referral with everything triage needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralView {
    pub id: ReferralId,
    pub service: CaseworkService,
    pub person: Option<PersonId>,
    pub referred: ReferredPerson,
    pub practice_name: Option<String>,
    pub source: ReferralSource,
    pub route: ReferralRoute,
    pub reason: String,
    pub needs: String,
    pub concerns: String,
    pub need_domains: Vec<NeedDomain>,
    pub risk_flags: Vec<RiskFlag>,
    pub cohort: Option<String>,
    pub urgency: Urgency,
    pub consent_share_detail: bool,
    pub referrer: Referrer,
    pub received_on: NaiveDate,
    pub status: ReferralStatus,
    pub triage_reason: Option<String>,
    pub override_reason: Option<String>,
    pub case: Option<CaseId>,
    pub advice: EligibilityAdvice,
    /// Possible matches in the registry when the referral is not yet linked to a person.
    pub candidates: Vec<Candidate>,
    /// Whether the signed-in user may triage it.
    pub can_triage: bool,
    /// Whether the signed-in user may open the case the referral led to (and so the person's
    /// record): a referrer follows the outcome here, without a link into the case.
    pub can_open_case: bool,
    /// The state of the case the referral led to (open, discharged, …): the outcome a referrer
    /// follows.
    pub case_status: Option<CaseStatus>,
}

/// The triager's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriageDecision {
    Accept {
        /// The lead worker, or `None` to wait for one.
        lead: Option<UserId>,
        reason: String,
        /// Required when the service's eligibility advice is not met.
        override_reason: Option<String>,
        intensity: Intensity,
        /// Accept even when the lead is at or over a capacity cap.
        confirm_over_capacity: bool,
    },
    Decline {
        reason: String,
    },
    Redirect {
        to: ServiceId,
        reason: String,
    },
}

/// A worker who may be allocated, with their current load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerLoad {
    pub user: UserId,
    pub name: String,
    pub organisation: OrganisationId,
    pub organisation_name: String,
    pub open_cases: u32,
    pub cap: Option<u32>,
}

/// A worker on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseWorker {
    pub user: UserId,
    pub name: String,
    pub organisation: String,
    pub role: CaseRole,
    pub since: NaiveDate,
}

/// One entry of the case timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub on: NaiveDate,
    pub by: Option<String>,
    pub kind: String,
    pub summary: String,
}

/// A recorded contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: i64,
    pub contact_type: ContactType,
    pub on: NaiveDate,
    pub minutes: u32,
    pub present: String,
    /// Empty when the note is sensitive and the viewer may not read it (`restricted`).
    pub note: String,
    pub by: String,
    /// The sensitive category the author marked, if any.
    pub sensitive: Option<SensitiveCategory>,
    /// Whether the note's text was withheld from this viewer
    /// (`domain::consent::can_see_sensitive`): they see that a restricted note exists.
    pub restricted: bool,
}

/// What the sensitive-note rule needs about a case and its viewer, gathered once per case page.
#[derive(Debug)]
struct SensitiveContext {
    lead_worker: Option<UserId>,
    service_providers: Vec<OrganisationId>,
    shared_with_care_team: bool,
    viewer_in_care_team: bool,
}

/// One domain of an assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainResult {
    pub code: String,
    pub label: String,
    pub baseline: Option<DomainScore>,
    pub latest: Option<DomainScore>,
    pub change: Option<Change>,
}

/// Assessments of a case: how many, when, and each domain from baseline to latest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentSummary {
    pub count: usize,
    pub baseline_on: Option<NaiveDate>,
    pub latest_on: Option<NaiveDate>,
    pub strengths: Option<String>,
    pub domains: Vec<DomainResult>,
}

/// A goal of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub id: i64,
    pub text: String,
    pub target_on: Option<NaiveDate>,
    pub progress: u8,
    /// Goal attainment ratings, oldest first: the first is the baseline.
    pub attainment: Vec<(NaiveDate, careweave_domain::casework::GoalAttainment)>,
}

/// An action of the plan with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanAction {
    pub id: i64,
    pub text: String,
    pub owner: String,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
}

/// A graded step, week by week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub week: u32,
    pub text: String,
}

/// The personalised care and support plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub what_matters: String,
    /// The person's priorities, in the order they chose.
    pub priorities: Vec<String>,
    pub escalation: String,
    pub version: i64,
    pub goals: Vec<Goal>,
    pub actions: Vec<PlanAction>,
    pub steps: Vec<Step>,
}

/// A review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub on: NaiveDate,
    pub by: String,
    pub intensity: Intensity,
    pub summary: String,
}

/// A carer and the person's wishes about involving them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carer {
    pub name: String,
    pub relationship: String,
    pub contact: String,
    /// "yes", "no" or "ask": whether the person wants the carer involved.
    pub involve: String,
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discharge {
    pub on: NaiveDate,
    pub reason: DischargeReason,
    pub destination: DischargeDestination,
    pub gp: GpAgreement,
    /// Outcomes in words, for the message back to the GP.
    pub summary: String,
}

/// Everything the case page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    pub id: CaseId,
    pub person: PersonId,
    pub person_name: String,
    pub nhs_number: NhsNumber,
    pub date_of_birth: NaiveDate,
    pub practice: String,
    pub household_size: i64,
    pub service: CaseworkService,
    pub referral: ReferralId,
    pub referral_reason: String,
    pub consent_share_detail: bool,
    pub status: CaseStatus,
    pub opened_on: NaiveDate,
    pub episode_started_on: NaiveDate,
    pub intensity: Intensity,
    pub reopen_count: i64,
    pub review_due_on: NaiveDate,
    pub workers: Vec<CaseWorker>,
    pub timeline: Vec<TimelineEntry>,
    pub contacts: Vec<Contact>,
    pub assessment: AssessmentSummary,
    pub plan: Plan,
    pub reviews: Vec<Review>,
    pub carers: Vec<Carer>,
    pub discharge: Option<Discharge>,
    /// Whether the signed-in user may change the case (the referrer may only follow it).
    /// Outcome measures taken, oldest first.
    pub outcomes: Vec<crate::outcomes::OutcomeRecord>,
    pub can_edit: bool,
}

/// A line of a worker's caseload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    pub case: CaseId,
    pub name: String,
    pub service: String,
    pub status: CaseStatus,
    pub role: CaseRole,
    pub intensity: Intensity,
    pub review_due_on: NaiveDate,
}

/// A referral as the person who made it follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentReferral {
    pub referral: ReferralId,
    pub name: String,
    pub service: String,
    pub received_on: NaiveDate,
    pub status: ReferralStatus,
    /// The case's state once the referral was accepted and the person matched.
    pub case_status: Option<CaseStatus>,
}

/// An overdue action on one of the worker's cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueAction {
    pub case: CaseId,
    pub name: String,
    pub text: String,
    pub owner: String,
    pub due_on: NaiveDate,
}

/// A worker's day: visits, reviews due and overdue actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyDay {
    pub visits: Vec<crate::lone_working::PlannedVisit>,
    pub reviews_due: Vec<CaseSummary>,
    pub overdue_actions: Vec<OverdueAction>,
}

/// A contact to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub contact_type: ContactType,
    /// Already checked not to be in the future.
    pub on: NaiveDate,
    pub minutes: u32,
    pub present: String,
    pub note: String,
    /// A sensitive category (sexual health, domestic abuse) restricts who reads the note.
    pub sensitive: Option<SensitiveCategory>,
}

/// An assessment to record: a score for every configured life domain that was discussed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAssessment {
    pub on: NaiveDate,
    pub scores: Vec<(String, DomainScore)>,
    pub strengths: String,
}

/// The words of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanText {
    pub what_matters: String,
    pub priorities: Vec<String>,
    pub escalation: String,
}

/// A change to the plan's lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanItem {
    Goal {
        text: String,
        target_on: Option<NaiveDate>,
    },
    Progress {
        goal: i64,
        progress: u8,
    },
    /// A goal attainment rating of a goal, made with the person.
    Attainment {
        goal: i64,
        rating: careweave_domain::casework::GoalAttainment,
        on: NaiveDate,
    },
    Action {
        text: String,
        owner: String,
        due_on: NaiveDate,
    },
    ActionDone {
        action: i64,
        on: NaiveDate,
    },
    Step {
        week: u32,
        text: String,
    },
}

/// The message back to the GP and the referrer at discharge, aligned to the PRSB Social Prescribing
/// Information Standard's headings. When the person did not agree to share detail, only the coded
/// and administrative parts are filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpMessage {
    pub case: CaseId,
    pub person_name: String,
    pub nhs_number: NhsNumber,
    pub date_of_birth: NaiveDate,
    pub practice: String,
    pub service: String,
    pub service_kind: ServiceKind,
    pub provider: String,
    pub referral_received_on: NaiveDate,
    pub referral_source: ReferralSource,
    pub referrer: String,
    pub share_detail: bool,
    /// SNOMED CT concept id and preferred term.
    pub codes: Vec<(&'static str, &'static str)>,
    pub reason: Option<String>,
    pub needs: Option<String>,
    pub what_matters: Option<String>,
    /// Support offered: contacts by type.
    pub contacts: Vec<(ContactType, u32)>,
    pub total_contacts: u32,
    pub outcomes: Vec<DomainResult>,
    pub goals: Vec<Goal>,
    pub lead_worker: Option<String>,
    pub discharge: Option<Discharge>,
    pub episode_started_on: NaiveDate,
}

/// Raw counts for team reports; pages apply disclosure control when they leave the team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseworkReport {
    pub by_status: Vec<(CaseStatus, u64)>,
    pub caseload_by_worker: Vec<(String, u64, Option<u32>)>,
    pub by_practice: Vec<(String, u64, Option<u32>)>,
    pub by_employer: Vec<(String, u64)>,
    pub by_funding: Vec<(String, u64)>,
    pub waiting: u64,
    /// Days waiting of each waiting referral, sorted, for median and 90th centile.
    pub waiting_days: Vec<i64>,
    pub sources: Vec<(ReferralSource, u64)>,
    pub redirected: u64,
    pub declined: u64,
    pub reopened: u64,
    /// Counts per bucket of `casework::DURATION_BUCKETS` for discharged cases.
    pub durations: Vec<u64>,
}

/// How long a discharged case stays readable by the workers who had it.
pub const RECENTLY_DISCHARGED_DAYS: i64 = 90;

/// What casework adds to [`Store::care_facts`], as rows of (kind, user, organisation): the
/// organisations running the service of an accepted case that has no worker yet (the service's
/// provider and its partners: the case is theirs to allocate) and the last workers of a recently
/// discharged case. A referral adds nothing: it opens the referral to its referrer and the
/// receiving team (`Store::referral_for`), never the record. `$1` is the person and `$2` the
/// earliest discharge date that counts as recent.
pub(crate) const CASEWORK_FACTS: &str =
    "SELECT 'awaits_worker', NULL, s.provider_id FROM casework_cases c JOIN services s ON s.id = c.service_id \
     WHERE c.person_id = $1 AND c.status <> 'discharged' AND c.current_workers = 0 \
     UNION ALL SELECT 'awaits_worker', NULL, p.organisation_id FROM casework_cases c \
     JOIN casework_service_partners p ON p.service_id = c.service_id \
     WHERE c.person_id = $1 AND c.status <> 'discharged' AND c.current_workers = 0 \
     UNION ALL SELECT 'recently_discharged', w.user_id, w.organisation_id FROM casework_workers w \
     JOIN casework_cases c ON c.id = w.case_id \
     WHERE c.person_id = $1 AND c.status = 'discharged' AND c.discharged_on >= $2";

const REFERRAL_COLUMNS: &str =
    "r.id, r.service_id, r.person_id, r.given_name, r.family_name, r.date_of_birth, r.nhs_number, \
     r.practice_id, r.contact, r.source, r.route, r.reason, r.needs, r.concerns, r.need_domains, \
     r.risk_flags, r.cohort, r.urgency, r.consent_share_detail, r.referrer_user_id, r.referrer_name, \
     r.referrer_contact, r.received_on, r.status, r.triage_reason, r.override_reason, r.case_id, \
     o.name AS practice_name";

fn clinical_orgs(who: &Principal) -> Vec<OrganisationId> {
    let mut orgs: Vec<OrganisationId> = who
        .memberships
        .iter()
        .filter(|m| matches!(m.role, Role::Worker | Role::Supervisor))
        .map(|m| m.organisation)
        .collect();
    orgs.sort();
    orgs.dedup();
    orgs
}

impl Store {
    /// Adds casework settings to a service of the registry.
    pub async fn add_casework_settings(
        &self,
        service: ServiceId,
        settings: &CaseworkSettings,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO casework_services (service_id, kind, min_need_domains, review_interval_days, \
             worker_cap, practice_cap) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(service.get())
        .bind(settings.kind.code())
        .bind(match settings.rule {
            EligibilityRule::Open => None,
            EligibilityRule::NeedsInDomains(n) => Some(i64::from(n)),
        })
        .bind(i64::from(settings.review_interval.get()))
        .bind(settings.worker_cap.map(i64::from))
        .bind(settings.practice_cap.map(i64::from))
        .execute(&mut *tx)
        .await?;
        for p in &settings.partners {
            sqlx::query(
                "INSERT INTO casework_service_partners (service_id, organisation_id) VALUES ($1, $2)",
            )
            .bind(service.get())
            .bind(p.get())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.settings.clear();
        Ok(())
    }

    /// Every casework service, by name. Served from the settings cache (see [`crate::cache`]).
    pub async fn casework_services(&self) -> Result<Vec<CaseworkService>, StoreError> {
        if let Some(services) = self.settings.services.get() {
            return Ok(services.to_vec());
        }
        let services: std::sync::Arc<[CaseworkService]> =
            self.read_casework_services().await?.into();
        self.settings.services.put(services.clone());
        Ok(services.to_vec())
    }

    async fn read_casework_services(&self) -> Result<Vec<CaseworkService>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.name, s.provider_id, o.name AS provider_name, s.team_id, t.name AS team_name, \
             c.kind, c.min_need_domains, c.review_interval_days, c.worker_cap, c.practice_cap \
             FROM casework_services c JOIN services s ON s.id = c.service_id \
             JOIN organisations o ON o.id = s.provider_id LEFT JOIN teams t ON t.id = s.team_id \
             ORDER BY s.name",
        )
        .fetch_all(&self.pool)
        .await?;
        let partners =
            sqlx::query("SELECT service_id, organisation_id FROM casework_service_partners")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let id = get_i64(r, "id")?;
                let interval = get_i64(r, "review_interval_days")?;
                Ok(CaseworkService {
                    id: ServiceId::new(id),
                    name: r.try_get("name")?,
                    provider: OrganisationId::new(get_i64(r, "provider_id")?),
                    provider_name: r.try_get("provider_name")?,
                    team: r.try_get::<Option<i64>, _>("team_id")?.map(TeamId::new),
                    team_name: r.try_get("team_name")?,
                    settings: CaseworkSettings {
                        kind: get_code(r, "kind", ServiceKind::from_code)?,
                        rule: match r.try_get::<Option<i64>, _>("min_need_domains")? {
                            Some(n) => {
                                EligibilityRule::NeedsInDomains(u8::try_from(n).unwrap_or(u8::MAX))
                            }
                            None => EligibilityRule::Open,
                        },
                        review_interval: ReviewInterval::days(u32_of(interval)).map_err(|_| {
                            StoreError::Corrupt {
                                column: "casework_services.review_interval_days",
                                detail: interval.to_string(),
                            }
                        })?,
                        worker_cap: r.try_get::<Option<i64>, _>("worker_cap")?.map(u32_of),
                        practice_cap: r.try_get::<Option<i64>, _>("practice_cap")?.map(u32_of),
                        partners: partners
                            .iter()
                            .filter(|p| get_i64(p, "service_id").ok() == Some(id))
                            .map(|p| get_i64(p, "organisation_id").map(OrganisationId::new))
                            .collect::<Result<_, _>>()?,
                    },
                })
            })
            .collect()
    }

    async fn casework_service(&self, id: ServiceId) -> Result<CaseworkService, ActionError> {
        if let Some(found) = self
            .casework_services()
            .await?
            .into_iter()
            .find(|s| s.id == id)
        {
            return Ok(found);
        }
        // A service added by another process may not be in this one's cache yet: ask once more.
        self.settings.services.clear();
        self.casework_services()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(ActionError::NotFound("The service"))
    }

    /// The services whose waiting list `who` works.
    pub async fn services_worked_by(
        &self,
        who: &Principal,
    ) -> Result<Vec<CaseworkService>, StoreError> {
        let mine = clinical_orgs(who);
        Ok(self
            .casework_services()
            .await?
            .into_iter()
            .filter(|s| s.organisations().iter().any(|o| mine.contains(o)))
            .collect())
    }

    /// The waiting list's weights, from the settings cache.
    pub async fn prioritisation(&self) -> Result<Prioritisation, StoreError> {
        if let Some(p) = self.settings.prioritisation.get() {
            return Ok(p);
        }
        let r = sqlx::query("SELECT * FROM casework_settings WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let p = Prioritisation {
            urgent: u32_of(get_i64(&r, "urgent")?),
            soon: u32_of(get_i64(&r, "soon")?),
            routine: u32_of(get_i64(&r, "routine")?),
            per_week_waiting: u32_of(get_i64(&r, "per_week_waiting")?),
            per_risk_flag: u32_of(get_i64(&r, "per_risk_flag")?),
            cohort: u32_of(get_i64(&r, "cohort")?),
        };
        self.settings.prioritisation.put(p);
        Ok(p)
    }

    /// Changes the waiting list's weights; only supervisors may, and the change is audited.
    pub async fn set_prioritisation(
        &self,
        who: &Principal,
        p: &Prioritisation,
    ) -> Result<(), ActionError> {
        if !who.has_role(Role::Supervisor) {
            return Err(ActionError::Denied);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE casework_settings SET urgent = $1, soon = $2, routine = $3, per_week_waiting = $4, \
             per_risk_flag = $5, cohort = $6 WHERE id = 1",
        )
        .bind(i64::from(p.urgent))
        .bind(i64::from(p.soon))
        .bind(i64::from(p.routine))
        .bind(i64::from(p.per_week_waiting))
        .bind(i64::from(p.per_risk_flag))
        .bind(i64::from(p.cohort))
        .execute(&mut *tx)
        .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: "casework_settings",
                entity_id: None,
                reason: "waiting list prioritisation changed".to_owned(),
            },
        )
        .await?;
        tx.commit().await?;
        self.settings.clear();
        Ok(())
    }

    /// The configured life domains of the holistic assessment, in order, from the settings cache.
    pub async fn life_domains(&self) -> Result<Vec<(String, String)>, StoreError> {
        if let Some(domains) = self.settings.life_domains.get() {
            return Ok(domains.to_vec());
        }
        let domains =
            sqlx::query("SELECT code, label FROM casework_life_domains ORDER BY position")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("code")?, r.try_get("label")?)))
                .collect::<Result<std::sync::Arc<[(String, String)]>, StoreError>>()?;
        self.settings.life_domains.put(domains.clone());
        Ok(domains.to_vec())
    }

    /// Asks the policy whether `who` may read `person`, auditing a refusal.
    async fn casework_grant(
        &self,
        who: &Principal,
        person: PersonId,
        what: &str,
    ) -> Result<Grant, ActionError> {
        let facts = self.care_facts(person).await?;
        match can_read_person(who, &facts) {
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

    /// Records a referral from anyone: a signed-in professional, the public form, a worklist row or
    /// another system. It is linked to a person at once only when the referrer proved they may
    /// read that person ([`NewReferral::known_person`], which must be the referrer's own proof), or
    /// when the NHS number, date of birth, family name and given name all match one person in the
    /// registry; otherwise triage links it (or merges it with a likely duplicate) later. The answer
    /// is the same either way.
    pub async fn create_referral(&self, new: &NewReferral) -> Result<ReferralCreated, ActionError> {
        self.casework_service(new.service).await?;
        let person = match (&new.known_person, new.person.nhs_number) {
            (Some(access), _) => {
                // The proof is the referrer's own: one user's check never names a person for
                // another, and an anonymous referral names no one.
                if new.referrer.user != Some(access.user()) {
                    return Err(ActionError::Denied);
                }
                Some(access.person())
            }
            (None, Some(nhs)) => self.demographic_match(nhs, &new.person).await?,
            (None, None) => None,
        };
        self.insert_referral(new, person).await
    }

    /// The registry person with this NHS number when their date of birth, family name and given
    /// name (trimmed, ignoring case) all match what the referrer typed too. An NHS number alone
    /// is not enough: it is printed on letters and prescriptions, and whoever knows one must not
    /// be able to tie that person to contact details of their choosing.
    async fn demographic_match(
        &self,
        nhs: NhsNumber,
        typed: &ReferredPerson,
    ) -> Result<Option<PersonId>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT id, given_name, family_name, date_of_birth FROM people WHERE nhs_number = $1",
        )
        .bind(nhs.as_digits())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let same = |column: &str, typed: &str| -> Result<bool, StoreError> {
            let held: String = r.try_get(column)?;
            Ok(held.trim().to_lowercase() == typed.trim().to_lowercase())
        };
        let matched = get_date(&r, "date_of_birth")? == typed.date_of_birth
            && same("family_name", &typed.family_name)?
            && same("given_name", &typed.given_name)?;
        Ok(if matched {
            Some(PersonId::new(get_i64(&r, "id")?))
        } else {
            None
        })
    }

    /// Writes a referral linked to `person` (already decided by the caller) with its audit row.
    async fn insert_referral(
        &self,
        new: &NewReferral,
        person: Option<PersonId>,
    ) -> Result<ReferralCreated, ActionError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO casework_referrals (service_id, person_id, given_name, family_name, date_of_birth, \
             nhs_number, practice_id, contact, source, route, reason, needs, concerns, need_domains, \
             risk_flags, cohort, urgency, consent_share_detail, referrer_user_id, referrer_name, \
             referrer_contact, received_at, received_on, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, 'waiting') RETURNING id",
        )
        .bind(new.service.get())
        .bind(person.map(PersonId::get))
        .bind(new.person.given_name.trim())
        .bind(new.person.family_name.trim())
        .bind(new.person.date_of_birth.to_string())
        .bind(new.person.nhs_number.map(|n| n.as_digits()))
        .bind(new.person.practice.map(OrganisationId::get))
        .bind(&new.person.contact)
        .bind(new.source.code())
        .bind(new.route.code())
        .bind(&new.reason)
        .bind(&new.needs)
        .bind(&new.concerns)
        .bind(codes_text(&new.need_domains, NeedDomain::code))
        .bind(codes_text(&new.risk_flags, RiskFlag::code))
        .bind(new.cohort.clone())
        .bind(new.urgency.code())
        .bind(i64::from(new.consent_share_detail))
        .bind(new.referrer.user.map(UserId::get))
        .bind(&new.referrer.name)
        .bind(&new.referrer.contact)
        .bind(now_text())
        .bind(new.received_on.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let id = ReferralId::new(get_i64(&row, "id")?);
        audit_tx(
            &mut tx,
            new.referrer.user,
            AuditAction::Create,
            person,
            format!(
                "casework referral {id} ({}, {})",
                new.source.code(),
                new.route.code()
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(ReferralCreated { id })
    }

    /// The one waiting list across employers for the services `who` works, in priority order.
    /// Audited as one list read.
    pub async fn waiting_list(
        &self,
        who: &Principal,
        filter: &WaitingFilter,
        today: NaiveDate,
    ) -> Result<WaitingList, ActionError> {
        let services: Vec<CaseworkService> = self
            .services_worked_by(who)
            .await?
            .into_iter()
            .filter(|s| filter.service.is_none_or(|f| f == s.id))
            .filter(|s| filter.team.is_none_or(|t| s.team == Some(t)))
            .collect();
        let prioritisation = self.prioritisation().await?;
        if services.is_empty() {
            return Ok(WaitingList {
                prioritisation,
                referrals: Vec::new(),
                awaiting_worker: Vec::new(),
            });
        }
        // Service ids are integers from the database, so formatting them into the query is safe.
        let ids = services
            .iter()
            .map(|s| s.id.get().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let name_of = |id: i64| {
            services
                .iter()
                .find(|s| s.id.get() == id)
                .map(|s| s.name.clone())
                .unwrap_or_default()
        };
        let rows = sqlx::query(&format!(
            "SELECT r.id, r.person_id, r.given_name, r.family_name, r.nhs_number, r.service_id, r.source, \
             r.urgency, r.risk_flags, r.cohort, r.received_on, o.name AS practice_name \
             FROM casework_referrals r LEFT JOIN organisations o ON o.id = r.practice_id \
             WHERE r.status = 'waiting' AND r.service_id IN ({ids}) AND ($1 < 0 OR r.practice_id = $1)"
        ))
        .bind(filter.practice.map_or(-1, OrganisationId::get))
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let received_on = get_date(r, "received_on")?;
            let facts = WaitingFacts {
                urgency: get_code(r, "urgency", Urgency::from_code)?,
                received_on,
                risk_flags: parse_codes(
                    &r.try_get::<String, _>("risk_flags")?,
                    RiskFlag::from_code,
                )
                .map_err(|detail| StoreError::Corrupt {
                    column: "casework_referrals.risk_flags",
                    detail,
                })?,
                from_cohort: r.try_get::<Option<String>, _>("cohort")?.is_some(),
            };
            let family: String = r.try_get("family_name")?;
            let given: String = r.try_get("given_name")?;
            let item = WaitingItem {
                referral: ReferralId::new(get_i64(r, "id")?),
                person: r.try_get::<Option<i64>, _>("person_id")?.map(PersonId::new),
                name: display_name(&family, &given),
                nhs_number: r
                    .try_get::<Option<String>, _>("nhs_number")?
                    .map(|n| parse_column("casework_referrals.nhs_number", &n))
                    .transpose()?,
                practice: r.try_get("practice_name")?,
                service: name_of(get_i64(r, "service_id")?),
                source: get_code(r, "source", ReferralSource::from_code)?,
                urgency: facts.urgency,
                received_on,
                days_waiting: (today - received_on).num_days(),
                priority: prioritisation.score(&facts, today),
            };
            items.push((item, facts));
        }
        let mut keyed: Vec<(ReferralId, WaitingFacts)> =
            items.iter().map(|(i, f)| (i.referral, f.clone())).collect();
        prioritisation.order(&mut keyed, today);
        let mut by_id: BTreeMap<ReferralId, WaitingItem> =
            items.into_iter().map(|(i, _)| (i.referral, i)).collect();
        let referrals: Vec<WaitingItem> =
            keyed.iter().filter_map(|(k, _)| by_id.remove(k)).collect();
        // Cases with no current worker, found through the kept count and its index rather than by
        // probing every active case's workers; the active states are named rather than written
        // as `<> 'discharged'` so that the index serves the status too.
        let awaiting = sqlx::query(&format!(
            "SELECT c.id, c.service_id, c.opened_on, p.given_name, p.family_name FROM casework_cases c \
             JOIN people p ON p.id = c.person_id WHERE c.current_workers = 0 \
             AND c.status IN ('open', 'on_hold', 'reopened') AND c.service_id IN ({ids}) \
             AND ($1 < 0 OR p.registered_practice_id = $1) ORDER BY c.opened_on"
        ))
        .bind(filter.practice.map_or(-1, OrganisationId::get))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AwaitingWorker {
                case: CaseId::new(get_i64(r, "id")?),
                name: display_name(
                    &r.try_get::<String, _>("family_name")?,
                    &r.try_get::<String, _>("given_name")?,
                ),
                service: name_of(get_i64(r, "service_id")?),
                opened_on: get_date(r, "opened_on")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "casework_waiting_list",
            entity_id: None,
            reason: format!(
                "waiting list ({} referrals, {} awaiting a worker)",
                referrals.len(),
                awaiting.len()
            ),
        })
        .await?;
        Ok(WaitingList {
            prioritisation,
            referrals,
            awaiting_worker: awaiting,
        })
    }

    /// Whether `who` works the list of the service a referral waits with.
    fn may_triage(who: &Principal, service: &CaseworkService) -> bool {
        let mine = clinical_orgs(who);
        service.organisations().iter().any(|o| mine.contains(o))
    }

    /// A referral for triage or follow-up: what was sent and what became of it. It is shown to
    /// those who work the service's list (to triage it, and afterwards as their record of it),
    /// to the signed-in user who sent it (read-only, with the outcome), and to anyone the policy
    /// lets read the person it was linked to. Showing it reads the referral, never the person's
    /// record. Audited either way; possible duplicates are looked up only for the triager.
    pub async fn referral_for(
        &self,
        who: &Principal,
        id: ReferralId,
    ) -> Result<ReferralView, ActionError> {
        let row = sqlx::query(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM casework_referrals r \
             LEFT JOIN organisations o ON o.id = r.practice_id WHERE r.id = $1"
        ))
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(ActionError::Denied)?;
        let service = self
            .casework_service(ServiceId::new(get_i64(&row, "service_id")?))
            .await?;
        let person = row
            .try_get::<Option<i64>, _>("person_id")?
            .map(PersonId::new);
        let can_triage = Self::may_triage(who, &service);
        let referrer_user = row
            .try_get::<Option<i64>, _>("referrer_user_id")?
            .map(UserId::new);
        let reads_record = match person {
            Some(p) => match can_read_person(who, &self.care_facts(p).await?) {
                Decision::Allow(grant) => Some(grant),
                Decision::Deny => None,
            },
            None => None,
        };
        let grant = if can_triage {
            "referral to my organisation's service".to_owned()
        } else if referrer_user == Some(who.user) {
            "referrer".to_owned()
        } else if let Some(g) = reads_record {
            g.code().to_owned()
        } else {
            self.audit(AuditEvent {
                user: Some(who.user),
                action: AuditAction::Denied,
                entity: "casework_referral",
                entity_id: Some(id.get()),
                reason: "neither the referrer nor the service's team".to_owned(),
            })
            .await?;
            return Err(ActionError::Denied);
        };
        let mut view = referral_from_row(&row, service)?;
        view.can_triage = can_triage && view.status == ReferralStatus::Waiting;
        view.can_open_case = view.case.is_some() && reads_record.is_some();
        if let Some(case) = view.case {
            view.case_status = sqlx::query("SELECT status FROM casework_cases WHERE id = $1")
                .bind(case.get())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| get_code(&r, "status", CaseStatus::from_code))
                .transpose()?;
        }
        if !can_triage && reads_record.is_none() {
            // The referrer is not told whether, or to whom, their referral was matched: that
            // would tell them who is in the registry.
            view.person = None;
        }
        if view.person.is_none() && can_triage {
            view.candidates = self.candidates(&view.referred).await?;
        }
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "casework_referral",
            entity_id: Some(id.get()),
            reason: format!(
                "{grant}{}",
                if view.candidates.is_empty() {
                    String::new()
                } else {
                    format!(" (duplicate check showed {} people)", view.candidates.len())
                }
            ),
        })
        .await?;
        Ok(view)
    }

    /// People who may be the referred person: same NHS number, or same name and date of birth.
    async fn candidates(&self, p: &ReferredPerson) -> Result<Vec<Candidate>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.given_name, p.family_name, p.nhs_number, p.date_of_birth, o.name AS practice_name \
             FROM people p JOIN organisations o ON o.id = p.registered_practice_id \
             WHERE p.nhs_number = $1 OR (p.date_of_birth = $2 AND LOWER(p.family_name) = LOWER($3) \
             AND LOWER(p.given_name) = LOWER($4)) ORDER BY p.id LIMIT 10",
        )
        .bind(p.nhs_number.map(|n| n.as_digits()).unwrap_or_default())
        .bind(p.date_of_birth.to_string())
        .bind(p.family_name.trim())
        .bind(p.given_name.trim())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let nhs: NhsNumber =
                    parse_column("people.nhs_number", &r.try_get::<String, _>("nhs_number")?)?;
                Ok(Candidate {
                    person: PersonId::new(get_i64(r, "id")?),
                    name: display_name(
                        &r.try_get::<String, _>("family_name")?,
                        &r.try_get::<String, _>("given_name")?,
                    ),
                    nhs_number: nhs,
                    date_of_birth: get_date(r, "date_of_birth")?,
                    practice: r.try_get("practice_name")?,
                    matched_on: if Some(nhs) == p.nhs_number {
                        "same NHS number"
                    } else {
                        "same name and date of birth"
                    },
                })
            })
            .collect()
    }

    /// Links (merges) a waiting referral with a person already in the registry.
    pub async fn link_referral(
        &self,
        who: &Principal,
        id: ReferralId,
        person: PersonId,
    ) -> Result<(), ActionError> {
        let view = self.referral_for(who, id).await?;
        if !view.can_triage {
            return Err(ActionError::Denied);
        }
        if view.person.is_some() {
            return Err(ActionError::Refused(
                "This referral is already linked to a person".to_owned(),
            ));
        }
        if !view.candidates.iter().any(|c| c.person == person) {
            return Err(ActionError::Refused(
                "Choose one of the people found by the duplicate check".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE casework_referrals SET person_id = $1 WHERE id = $2 AND person_id IS NULL",
        )
        .bind(person.get())
        .bind(id.get())
        .execute(&mut *tx)
        .await?;
        audit_tx(
            &mut tx,
            Some(who.user),
            AuditAction::Update,
            Some(person),
            format!("casework referral {id} linked to this person (duplicate merged)"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Staff who may work a service's cases, with their open caseload for it.
    pub async fn worker_loads(
        &self,
        service: &CaseworkService,
    ) -> Result<Vec<WorkerLoad>, StoreError> {
        let orgs = service
            .organisations()
            .iter()
            .map(|o| o.get().to_string())
            .collect::<Vec<_>>()
            .join(",");
        // The service's workers with their open lead cases in one query. The case page asks this
        // on every view, so the counts come from the lead kept on each case (migration 0015): its
        // index holds the service's cases in lead order, so counting needs neither the worker rows
        // nor a sort.
        let rows = sqlx::query(&format!(
            "SELECT DISTINCT u.id, u.display_name, m.organisation_id, o.name AS org_name, \
             COALESCE(n.n, 0) AS open_cases \
             FROM users u JOIN memberships m ON m.user_id = u.id JOIN organisations o ON o.id = m.organisation_id \
             LEFT JOIN (SELECT c.lead_user_id AS user_id, COUNT(*) AS n FROM casework_cases c \
             WHERE c.service_id = $1 AND c.lead_user_id IS NOT NULL \
             AND c.status IN ('open', 'on_hold', 'reopened') GROUP BY c.lead_user_id) n \
             ON n.user_id = u.id \
             WHERE u.active = 1 AND m.role IN ('worker', 'supervisor') AND m.organisation_id IN ({orgs}) \
             ORDER BY u.display_name"
        ))
        .bind(service.id.get())
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<WorkerLoad> = Vec::new();
        for r in &rows {
            let user = UserId::new(get_i64(r, "id")?);
            if out.iter().any(|w| w.user == user) {
                continue;
            }
            out.push(WorkerLoad {
                user,
                name: r.try_get("display_name")?,
                organisation: OrganisationId::new(get_i64(r, "organisation_id")?),
                organisation_name: r.try_get("org_name")?,
                open_cases: u32_of(get_i64(r, "open_cases")?),
                cap: service.settings.worker_cap,
            });
        }
        Ok(out)
    }

    /// Open cases of a service at one practice, for the per-practice cap.
    async fn practice_load(&self, service: ServiceId, person: PersonId) -> Result<u32, StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n FROM casework_cases c JOIN people p ON p.id = c.person_id \
             WHERE c.service_id = $1 AND c.status <> 'discharged' AND p.registered_practice_id = \
             (SELECT registered_practice_id FROM people WHERE id = $2)",
        )
        .bind(service.get())
        .bind(person.get())
        .fetch_one(&self.pool)
        .await?;
        Ok(u32_of(get_i64(&r, "n")?))
    }

    /// Checks the capacity caps for giving `lead` one more case of `service` for `person`.
    async fn capacity_warning(
        &self,
        service: &CaseworkService,
        person: PersonId,
        lead: Option<UserId>,
        new_case: bool,
    ) -> Result<Option<String>, ActionError> {
        let mut warnings = Vec::new();
        if let Some(lead) = lead {
            let loads = self.worker_loads(service).await?;
            let w = loads.iter().find(|w| w.user == lead).ok_or_else(|| {
                ActionError::Refused(
                    "Choose a worker from the teams that run this service".to_owned(),
                )
            })?;
            if careweave_domain::casework::over_capacity(w.open_cases, w.cap) {
                warnings.push(format!(
                    "{} already leads {} open cases for this service (the cap is {})",
                    w.name,
                    w.open_cases,
                    w.cap.unwrap_or_default()
                ));
            }
        }
        if new_case {
            let at_practice = self.practice_load(service.id, person).await?;
            if careweave_domain::casework::over_capacity(at_practice, service.settings.practice_cap)
            {
                warnings.push(format!(
                    "the person's practice already has {at_practice} open cases for this service (the cap is {})",
                    service.settings.practice_cap.unwrap_or_default()
                ));
            }
        }
        Ok(if warnings.is_empty() {
            None
        } else {
            Some(format!(
                "Over capacity: {}. Tick the box to go ahead anyway.",
                warnings.join("; and ")
            ))
        })
    }

    /// Triage: accept (opening a case, with a lead worker now or later), decline or redirect, each
    /// with a reason; accepting against the eligibility advice needs an override reason.
    pub async fn triage(
        &self,
        who: &Principal,
        id: ReferralId,
        decision: &TriageDecision,
        today: NaiveDate,
    ) -> Result<Option<CaseId>, ActionError> {
        let view = self.referral_for(who, id).await?;
        if !view.can_triage {
            return Err(ActionError::Refused(
                "This referral has already been triaged, or is not for your team".to_owned(),
            ));
        }
        let Some(person) = view.person else {
            return Err(ActionError::Refused(
                "Link the referral to the right person before triage".to_owned(),
            ));
        };
        match decision {
            TriageDecision::Accept {
                lead,
                reason,
                override_reason,
                intensity,
                confirm_over_capacity,
            } => {
                if view.advice.needs_override() && override_reason.is_none() {
                    return Err(ActionError::Refused(format!(
                        "{} Give a reason for accepting anyway.",
                        view.advice.text()
                    )));
                }
                if !confirm_over_capacity {
                    if let Some(w) = self
                        .capacity_warning(&view.service, person, *lead, true)
                        .await?
                    {
                        return Err(ActionError::OverCapacity(w));
                    }
                }
                let lead_org = match lead {
                    Some(l) => Some(self.worker_org(&view.service, *l).await?),
                    None => None,
                };
                let due = review_due(today, None, view.service.settings.review_interval);
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE casework_referrals SET status = 'accepted', triaged_by = $1, triaged_on = $2, \
                     triage_reason = $3, override_reason = $4 WHERE id = $5 AND status = 'waiting'",
                )
                .bind(who.user.get())
                .bind(today.to_string())
                .bind(reason)
                .bind(override_reason.clone())
                .bind(id.get())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(ActionError::Refused(
                        "Someone else has triaged this referral already".to_owned(),
                    ));
                }
                let r = sqlx::query(
                    "INSERT INTO casework_cases (person_id, service_id, referral_id, status, opened_on, \
                     episode_started_on, intensity, review_due_on) VALUES ($1, $2, $3, 'open', $4, $4, $5, $6) RETURNING id",
                )
                .bind(person.get())
                .bind(view.service.id.get())
                .bind(id.get())
                .bind(today.to_string())
                .bind(intensity.code())
                .bind(due.to_string())
                .fetch_one(&mut *tx)
                .await?;
                let case = CaseId::new(get_i64(&r, "id")?);
                sqlx::query("UPDATE casework_referrals SET case_id = $1 WHERE id = $2")
                    .bind(case.get())
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await?;
                let mut summary = format!("Referral accepted: {reason}");
                if let Some(o) = override_reason {
                    summary.push_str(&format!(" (eligibility advice overridden: {o})"));
                }
                event(&mut tx, case, today, Some(who.user), "triage", &summary).await?;
                if let (Some(l), Some(org)) = (lead, lead_org) {
                    add_worker(&mut tx, case, person, *l, org, CaseRole::Lead, today).await?;
                    event(
                        &mut tx,
                        case,
                        today,
                        Some(who.user),
                        "allocation",
                        "Lead worker allocated",
                    )
                    .await?;
                }
                audit_tx(
                    &mut tx,
                    Some(who.user),
                    AuditAction::Create,
                    Some(person),
                    format!(
                        "casework referral {id} accepted, case {case} opened{}",
                        if override_reason.is_some() {
                            " (override)"
                        } else {
                            ""
                        }
                    ),
                )
                .await?;
                tx.commit().await?;
                Ok(Some(case))
            }
            TriageDecision::Decline { reason } => {
                self.close_referral(who, id, person, "declined", reason, None, today)
                    .await?;
                Ok(None)
            }
            TriageDecision::Redirect { to, reason } => {
                if *to == view.service.id {
                    return Err(ActionError::Refused(
                        "Choose a different service to redirect to".to_owned(),
                    ));
                }
                self.casework_service(*to).await?;
                let copy = NewReferral {
                    service: *to,
                    known_person: None,
                    person: view.referred.clone(),
                    source: ReferralSource::AnotherTeam,
                    route: ReferralRoute::App,
                    reason: format!(
                        "Redirected from {}: {reason}. {}",
                        view.service.name, view.reason
                    ),
                    needs: view.needs.clone(),
                    concerns: view.concerns.clone(),
                    need_domains: view.need_domains.clone(),
                    risk_flags: view.risk_flags.clone(),
                    cohort: view.cohort.clone(),
                    urgency: view.urgency,
                    consent_share_detail: view.consent_share_detail,
                    referrer: view.referrer.clone(),
                    // The person keeps their place: time waiting counts from the first referral.
                    received_on: view.received_on,
                };
                // The copy keeps the link triage made: the store decided it, not a client.
                let created = self.insert_referral(&copy, Some(person)).await?;
                self.close_referral(
                    who,
                    id,
                    person,
                    "redirected",
                    reason,
                    Some(created.id),
                    today,
                )
                .await?;
                Ok(None)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn close_referral(
        &self,
        who: &Principal,
        id: ReferralId,
        person: PersonId,
        status: &str,
        reason: &str,
        redirected_to: Option<ReferralId>,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE casework_referrals SET status = $1, triaged_by = $2, triaged_on = $3, triage_reason = $4, \
             redirected_to = $5 WHERE id = $6 AND status = 'waiting'",
        )
        .bind(status)
        .bind(who.user.get())
        .bind(today.to_string())
        .bind(reason)
        .bind(redirected_to.map(ReferralId::get))
        .bind(id.get())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ActionError::Refused(
                "Someone else has triaged this referral already".to_owned(),
            ));
        }
        audit_tx(
            &mut tx,
            Some(who.user),
            AuditAction::Update,
            Some(person),
            format!("casework referral {id} {status}"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn worker_org(
        &self,
        service: &CaseworkService,
        user: UserId,
    ) -> Result<OrganisationId, ActionError> {
        self.worker_loads(service)
            .await?
            .into_iter()
            .find(|w| w.user == user)
            .map(|w| w.organisation)
            .ok_or_else(|| {
                ActionError::Refused(
                    "Choose a worker from the teams that run this service".to_owned(),
                )
            })
    }

    /// The case's person and service, after asking the policy; `edit` also requires a worker's grant
    /// (a referrer follows a case but does not change it).
    pub(crate) async fn case_access(
        &self,
        who: &Principal,
        case: CaseId,
        what: &str,
        edit: bool,
    ) -> Result<(PersonId, CaseworkService, CaseStatus, Grant), ActionError> {
        let r = sqlx::query(
            "SELECT id, person_id, service_id, status FROM casework_cases WHERE id = $1",
        )
        .bind(case.get())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(ActionError::Denied)?;
        self.case_row_access(who, &r, what, edit).await
    }

    /// The access decision of [`Store::case_access`] for a case row already read (with its
    /// `person_id`, `service_id` and `status`), so that a page reading the whole row asks once.
    async fn case_row_access(
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
            let allowed = can_change_case(who, &service.organisations(), false)
                || can_change_case(who, &[], self.works_on_case(who.user, case).await?);
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

    /// Adds a lead, co-worker or covering supervisor to a case; a new lead replaces the old one.
    pub async fn allocate(
        &self,
        who: &Principal,
        case: CaseId,
        user: UserId,
        role: CaseRole,
        confirm_over_capacity: bool,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        let (person, service, status, _) = self.case_access(who, case, "allocation", true).await?;
        if !status.is_active() {
            return Err(ActionError::Refused(
                "Reopen the case before allocating workers".to_owned(),
            ));
        }
        if role == CaseRole::Lead && !confirm_over_capacity {
            if let Some(w) = self
                .capacity_warning(&service, person, Some(user), false)
                .await?
            {
                return Err(ActionError::OverCapacity(w));
            }
        }
        let org = self.worker_org(&service, user).await?;
        let mut tx = self.pool.begin().await?;
        if role == CaseRole::Lead {
            let old = sqlx::query(
                "SELECT user_id FROM casework_workers WHERE case_id = $1 AND role = 'lead' AND ended_on IS NULL",
            )
            .bind(case.get())
            .fetch_all(&mut *tx)
            .await?;
            for o in old {
                let old_user = UserId::new(get_i64(&o, "user_id")?);
                end_worker(&mut tx, case, person, old_user, Some(CaseRole::Lead), today).await?;
            }
        }
        add_worker(&mut tx, case, person, user, org, role, today).await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: today,
                kind: "allocation",
                summary: &format!("{} allocated", role.label()),
                action: AuditAction::Update,
                audit: format!("casework case {case}: {} allocated", role.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Everything on a case, through the policy, audited as one read.
    pub async fn case_for(&self, who: &Principal, case: CaseId) -> Result<CaseView, ActionError> {
        // One read of the case with everything the page shows about the person, checked through
        // the policy before anything else is read.
        let c = sqlx::query(
            "SELECT c.*, p.given_name, p.family_name, p.nhs_number, p.date_of_birth, \
             (SELECT COUNT(*) FROM people h WHERE h.household_id = p.household_id) AS household_size, \
             o.name AS practice_name, r.reason AS referral_reason, r.consent_share_detail \
             FROM casework_cases c JOIN people p ON p.id = c.person_id \
             JOIN organisations o ON o.id = p.registered_practice_id \
             JOIN casework_referrals r ON r.id = c.referral_id WHERE c.id = $1",
        )
        .bind(case.get())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(ActionError::Denied)?;
        let (person, service, _, grant) = self.case_row_access(who, &c, "case", false).await?;
        // Someone in no household counts as a household of one.
        let household_size = get_i64(&c, "household_size")?.max(1);
        let workers = sqlx::query(
            "SELECT w.user_id, u.display_name, o.name AS org_name, w.role, w.started_on \
             FROM casework_workers w JOIN users u ON u.id = w.user_id JOIN organisations o ON o.id = w.organisation_id \
             WHERE w.case_id = $1 AND w.ended_on IS NULL ORDER BY w.started_on, u.display_name",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(CaseWorker {
                user: UserId::new(get_i64(r, "user_id")?),
                name: r.try_get("display_name")?,
                organisation: r.try_get("org_name")?,
                role: get_code(r, "role", CaseRole::from_code)?,
                since: get_date(r, "started_on")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let timeline = sqlx::query(
            "SELECT e.on_date, e.kind, e.summary, u.display_name FROM casework_events e \
             LEFT JOIN users u ON u.id = e.user_id WHERE e.case_id = $1 ORDER BY e.on_date DESC, e.id DESC",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(TimelineEntry {
                on: get_date(r, "on_date")?,
                by: r.try_get("display_name")?,
                kind: r.try_get("kind")?,
                summary: r.try_get("summary")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        // Sensitive notes are read only by those the consent rule names; the person's current
        // preferences say whether the rest of the care team shares them.
        let sensitive = SensitiveContext {
            lead_worker: c
                .try_get::<Option<i64>, _>("lead_user_id")?
                .map(UserId::new),
            service_providers: service.organisations(),
            shared_with_care_team: self
                .sharing_preferences(person)
                .await?
                .sensitive_with_care_team,
            viewer_in_care_team: grant == Grant::CareTeamMember,
        };
        let contacts = self.contacts(who, case, &sensitive).await?;
        let assessment = self.assessment_summary(case).await?;
        let plan = self.plan(case, &c).await?;
        let reviews = sqlx::query(
            "SELECT v.reviewed_on, v.intensity, v.summary, u.display_name FROM casework_reviews v \
             JOIN users u ON u.id = v.user_id WHERE v.case_id = $1 ORDER BY v.reviewed_on DESC, v.id DESC",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Review {
                on: get_date(r, "reviewed_on")?,
                by: r.try_get("display_name")?,
                intensity: get_code(r, "intensity", Intensity::from_code)?,
                summary: r.try_get("summary")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let carers = sqlx::query(
            "SELECT name, relationship, contact, involve FROM casework_carers WHERE person_id = $1 ORDER BY id",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Carer {
                name: r.try_get("name")?,
                relationship: r.try_get("relationship")?,
                contact: r.try_get("contact")?,
                involve: r.try_get("involve")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let can_edit = can_change_case(
            who,
            &service.organisations(),
            workers.iter().any(|w| w.user == who.user),
        );
        let view = CaseView {
            id: case,
            person,
            person_name: display_name(
                &c.try_get::<String, _>("family_name")?,
                &c.try_get::<String, _>("given_name")?,
            ),
            nhs_number: parse_column("people.nhs_number", &c.try_get::<String, _>("nhs_number")?)?,
            date_of_birth: get_date(&c, "date_of_birth")?,
            practice: c.try_get("practice_name")?,
            household_size,
            referral: ReferralId::new(get_i64(&c, "referral_id")?),
            referral_reason: c.try_get("referral_reason")?,
            consent_share_detail: get_i64(&c, "consent_share_detail")? == 1,
            status: get_code(&c, "status", CaseStatus::from_code)?,
            opened_on: get_date(&c, "opened_on")?,
            episode_started_on: get_date(&c, "episode_started_on")?,
            intensity: get_code(&c, "intensity", Intensity::from_code)?,
            reopen_count: get_i64(&c, "reopen_count")?,
            review_due_on: get_date(&c, "review_due_on")?,
            discharge: discharge_from_row(&c)?,
            service,
            workers,
            timeline,
            contacts,
            assessment,
            plan,
            reviews,
            carers,
            outcomes: self.outcomes_of(case).await?,
            can_edit,
        };
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(person.get()),
            reason: format!("casework case {case}: {}", grant.code()),
        })
        .await?;
        Ok(view)
    }

    async fn contacts(
        &self,
        who: &Principal,
        case: CaseId,
        sensitive: &SensitiveContext,
    ) -> Result<Vec<Contact>, StoreError> {
        sqlx::query(
            "SELECT k.*, u.display_name FROM casework_contacts k JOIN users u ON u.id = k.recorded_by \
             WHERE k.case_id = $1 ORDER BY k.contact_on DESC, k.id DESC",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let category = r
                .try_get::<Option<String>, _>("sensitive_category")?
                .map(|c| text_code("sensitive_category", &c, SensitiveCategory::from_code))
                .transpose()?;
            let restricted = category.is_some()
                && !can_see_sensitive(
                    who,
                    &SensitiveFacts {
                        author: UserId::new(get_i64(r, "recorded_by")?),
                        lead_worker: sensitive.lead_worker,
                        service_providers: sensitive.service_providers.clone(),
                        shared_with_care_team: sensitive.shared_with_care_team,
                        viewer_in_care_team: sensitive.viewer_in_care_team,
                    },
                );
            Ok(Contact {
                id: get_i64(r, "id")?,
                contact_type: get_code(r, "contact_type", ContactType::from_code)?,
                on: get_date(r, "contact_on")?,
                minutes: u32_of(get_i64(r, "minutes")?),
                present: r.try_get("present")?,
                note: if restricted {
                    String::new()
                } else {
                    r.try_get("note")?
                },
                by: r.try_get("display_name")?,
                sensitive: category,
                restricted,
            })
        })
        .collect()
    }

    async fn assessment_summary(&self, case: CaseId) -> Result<AssessmentSummary, StoreError> {
        let assessments = sqlx::query(
            "SELECT id, assessed_on, strengths FROM casework_assessments WHERE case_id = $1 \
             ORDER BY assessed_on, id",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?;
        let domains = self.life_domains().await?;
        // The first and the latest assessments' scores in one query (they are the same row when
        // there has been only one assessment).
        let ids = assessments
            .first()
            .zip(assessments.last())
            .map(|(b, l)| Ok::<_, StoreError>((get_i64(b, "id")?, get_i64(l, "id")?)))
            .transpose()?;
        let mut baseline = BTreeMap::new();
        let mut latest = BTreeMap::new();
        if let Some((first, last)) = ids {
            let rows = sqlx::query(
                "SELECT assessment_id, domain_code, score FROM casework_assessment_scores \
                 WHERE assessment_id IN ($1, $2)",
            )
            .bind(first)
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                let score = get_i64(r, "score")?;
                let code: String = r.try_get("domain_code")?;
                let s = DomainScore::new(&code, u8::try_from(score).unwrap_or(0)).map_err(|e| {
                    StoreError::Corrupt {
                        column: "casework_assessment_scores.score",
                        detail: e.to_string(),
                    }
                })?;
                let id = get_i64(r, "assessment_id")?;
                if id == first {
                    baseline.insert(code.clone(), s);
                }
                if id == last {
                    latest.insert(code, s);
                }
            }
        }
        let repeated = assessments.len() > 1;
        Ok(AssessmentSummary {
            count: assessments.len(),
            baseline_on: assessments
                .first()
                .map(|r| get_date(r, "assessed_on"))
                .transpose()?,
            latest_on: assessments
                .last()
                .map(|r| get_date(r, "assessed_on"))
                .transpose()?,
            strengths: assessments
                .last()
                .map(|r| r.try_get::<String, _>("strengths"))
                .transpose()?,
            domains: domains
                .into_iter()
                .map(|(code, label)| {
                    let b = baseline.get(&code).copied();
                    let l = if repeated {
                        latest.get(&code).copied()
                    } else {
                        None
                    };
                    DomainResult {
                        change: b.zip(l).map(|(b, l)| Change::between(b, l)),
                        code,
                        label,
                        baseline: b,
                        latest: l,
                    }
                })
                .collect(),
        })
    }

    async fn plan(&self, case: CaseId, c: &AnyRow) -> Result<Plan, StoreError> {
        // Goals, actions and graded steps in one round trip (the case page pays one per query),
        // each kind then put in its own order.
        let rows = sqlx::query(
            "SELECT 'goal' AS kind, id, text, target_on AS day, NULL AS done_on, progress AS n, '' AS owner \
             FROM casework_goals WHERE case_id = $1 \
             UNION ALL SELECT 'action', id, text, due_on, done_on, CAST(0 AS BIGINT), owner \
             FROM casework_actions WHERE case_id = $1 \
             UNION ALL SELECT 'step', id, text, NULL, NULL, week, '' FROM casework_steps WHERE case_id = $1 \
             UNION ALL SELECT 'attainment', a.goal_id, '', a.rated_on, NULL, a.level, '' \
             FROM casework_goal_attainment a JOIN casework_goals g ON g.id = a.goal_id WHERE g.case_id = $1",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?;
        let mut goals = Vec::new();
        let mut actions = Vec::new();
        let mut steps = Vec::new();
        let mut ratings = Vec::new();
        for r in &rows {
            let id = get_i64(r, "id")?;
            let text: String = r.try_get("text")?;
            match r.try_get::<String, _>("kind")?.as_str() {
                "goal" => goals.push(Goal {
                    id,
                    text,
                    target_on: opt_date(r, "day")?,
                    progress: u8::try_from(get_i64(r, "n")?).unwrap_or(0),
                    attainment: Vec::new(),
                }),
                "attainment" => {
                    let level = get_i64(r, "n")?;
                    let rating = careweave_domain::casework::GoalAttainment::from_level(level)
                        .ok_or(StoreError::Corrupt {
                            column: "casework_goal_attainment.level",
                            detail: level.to_string(),
                        })?;
                    ratings.push((id, get_date(r, "day")?, rating));
                }
                "action" => actions.push(PlanAction {
                    id,
                    text,
                    owner: r.try_get("owner")?,
                    due_on: get_date(r, "day")?,
                    done_on: opt_date(r, "done_on")?,
                }),
                _ => steps.push((
                    id,
                    Step {
                        week: u32_of(get_i64(r, "n")?),
                        text,
                    },
                )),
            }
        }
        goals.sort_by_key(|g| g.id);
        // Ratings in the order made; the attainment rows carry their goal's id.
        ratings.sort_by_key(|(goal, on, _)| (*goal, *on));
        for (goal, on, rating) in ratings {
            if let Some(g) = goals.iter_mut().find(|g| g.id == goal) {
                g.attainment.push((on, rating));
            }
        }
        actions.sort_by_key(|a| (a.due_on, a.id));
        steps.sort_by_key(|(id, s)| (s.week, *id));
        let steps = steps.into_iter().map(|(_, s)| s).collect();
        let priorities: String = c.try_get("priorities")?;
        Ok(Plan {
            what_matters: c.try_get("what_matters")?,
            priorities: priorities
                .lines()
                .map(str::to_owned)
                .filter(|l| !l.trim().is_empty())
                .collect(),
            escalation: c.try_get("escalation")?,
            version: get_i64(c, "plan_version")?,
            goals,
            actions,
            steps,
        })
    }

    /// The cases `who` works on now. Audited as one list read.
    pub async fn my_cases(&self, who: &Principal) -> Result<Vec<CaseSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.status, c.intensity, c.review_due_on, w.role, p.given_name, p.family_name, \
             s.name AS service_name FROM casework_workers w JOIN casework_cases c ON c.id = w.case_id \
             JOIN people p ON p.id = c.person_id JOIN services s ON s.id = c.service_id \
             WHERE w.user_id = $1 AND w.ended_on IS NULL AND c.status <> 'discharged' \
             ORDER BY c.review_due_on, p.family_name",
        )
        .bind(who.user.get())
        .fetch_all(&self.pool)
        .await?;
        let list = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "caseload",
            entity_id: Some(who.user.get()),
            reason: format!("own casework caseload ({} cases)", list.len()),
        })
        .await?;
        Ok(list)
    }

    /// The referrals `who` made, newest first (at most 50), with what became of each, so that a
    /// referrer can follow them up without phoning the team. Audited as one list event.
    pub async fn referrals_sent_by(
        &self,
        who: &Principal,
    ) -> Result<Vec<SentReferral>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.given_name, r.family_name, s.name AS service_name, r.received_on, r.status, \
             c.status AS case_status FROM casework_referrals r JOIN services s ON s.id = r.service_id \
             LEFT JOIN casework_cases c ON c.referral_id = r.id \
             WHERE r.referrer_user_id = $1 ORDER BY r.received_on DESC, r.id DESC LIMIT 50",
        )
        .bind(who.user.get())
        .fetch_all(&self.pool)
        .await?;
        let list = rows
            .iter()
            .map(|r| {
                let case_status: Option<String> = r.try_get("case_status")?;
                Ok(SentReferral {
                    referral: ReferralId::new(get_i64(r, "id")?),
                    name: format!(
                        "{} {}",
                        r.try_get::<String, _>("given_name")?,
                        r.try_get::<String, _>("family_name")?
                    ),
                    service: r.try_get("service_name")?,
                    received_on: get_date(r, "received_on")?,
                    status: get_code(r, "status", ReferralStatus::from_code)?,
                    case_status: case_status
                        .map(|c| text_code("case_status", &c, CaseStatus::from_code))
                        .transpose()?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "referrals_sent",
            entity_id: Some(who.user.get()),
            reason: format!("own referrals ({} listed)", list.len()),
        })
        .await?;
        Ok(list)
    }

    /// A worker's day: today's planned visits, reviews due within a week, overdue actions.
    pub async fn my_day(&self, who: &Principal, today: NaiveDate) -> Result<MyDay, StoreError> {
        let visits = self.visits_on(who.user, today).await?;
        let soon = today + chrono::Duration::days(7);
        let reviews_due = sqlx::query(
            "SELECT c.id, c.status, c.intensity, c.review_due_on, w.role, p.given_name, p.family_name, \
             s.name AS service_name FROM casework_workers w JOIN casework_cases c ON c.id = w.case_id \
             JOIN people p ON p.id = c.person_id JOIN services s ON s.id = c.service_id \
             WHERE w.user_id = $1 AND w.ended_on IS NULL AND w.role IN ('lead', 'cover') \
             AND c.status <> 'discharged' AND c.review_due_on <= $2 ORDER BY c.review_due_on",
        )
        .bind(who.user.get())
        .bind(soon.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(summary_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let overdue_actions = sqlx::query(
            "SELECT a.case_id, a.text, a.owner, a.due_on, p.given_name, p.family_name \
             FROM casework_actions a JOIN casework_cases c ON c.id = a.case_id JOIN people p ON p.id = c.person_id \
             WHERE a.done_on IS NULL AND a.due_on < $2 AND c.status <> 'discharged' AND EXISTS \
             (SELECT 1 FROM casework_workers w WHERE w.case_id = c.id AND w.user_id = $1 AND w.ended_on IS NULL) \
             ORDER BY a.due_on",
        )
        .bind(who.user.get())
        .bind(today.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(OverdueAction {
                case: CaseId::new(get_i64(r, "case_id")?),
                name: display_name(
                    &r.try_get::<String, _>("family_name")?,
                    &r.try_get::<String, _>("given_name")?,
                ),
                text: r.try_get("text")?,
                owner: r.try_get("owner")?,
                due_on: get_date(r, "due_on")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "caseload",
            entity_id: Some(who.user.get()),
            reason: format!(
                "my day ({} visits, {} reviews, {} actions)",
                visits.len(),
                reviews_due.len(),
                overdue_actions.len()
            ),
        })
        .await?;
        Ok(MyDay {
            visits,
            reviews_due,
            overdue_actions,
        })
    }

    /// Records a contact on an active case.
    pub async fn record_contact(
        &self,
        who: &Principal,
        case: CaseId,
        contact: &NewContact,
    ) -> Result<(), ActionError> {
        let (person, _, status, _) = self.case_access(who, case, "contact", true).await?;
        if !status.is_active() {
            return Err(ActionError::Refused(
                "This case is discharged: reopen it to record a contact".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO casework_contacts (case_id, contact_type, contact_on, minutes, present, note, \
             recorded_by, recorded_at, sensitive_category) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(case.get())
        .bind(contact.contact_type.code())
        .bind(contact.on.to_string())
        .bind(i64::from(contact.minutes))
        .bind(&contact.present)
        .bind(&contact.note)
        .bind(who.user.get())
        .bind(now_text())
        .bind(contact.sensitive.map(SensitiveCategory::code))
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: contact.on,
                kind: "contact",
                summary: &format!(
                    "{}, {} minutes",
                    contact.contact_type.label(),
                    contact.minutes
                ),
                action: AuditAction::Create,
                audit: format!("casework case {case}: contact"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a holistic assessment; the first is the baseline, later ones show change.
    pub async fn record_assessment(
        &self,
        who: &Principal,
        case: CaseId,
        a: &NewAssessment,
    ) -> Result<(), ActionError> {
        let (person, _, status, _) = self.case_access(who, case, "assessment", true).await?;
        if !status.is_active() {
            return Err(ActionError::Refused("This case is discharged".to_owned()));
        }
        let known = self.life_domains().await?;
        if let Some((code, _)) = a
            .scores
            .iter()
            .find(|(c, _)| !known.iter().any(|(k, _)| k == c))
        {
            return Err(ActionError::Refused(format!("Unknown life domain {code}")));
        }
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO casework_assessments (case_id, assessed_on, user_id, strengths) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(case.get())
        .bind(a.on.to_string())
        .bind(who.user.get())
        .bind(&a.strengths)
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&r, "id")?;
        for (code, score) in &a.scores {
            sqlx::query(
                "INSERT INTO casework_assessment_scores (assessment_id, domain_code, score) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(code)
            .bind(i64::from(score.get()))
            .execute(&mut *tx)
            .await?;
        }
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: a.on,
                kind: "assessment",
                summary: &format!("Holistic assessment across {} life domains", a.scores.len()),
                action: AuditAction::Create,
                audit: format!("casework case {case}: assessment"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Bumps the plan version if it still is `version`, inside `tx`; refuses a stale save.
    async fn claim_plan_version(
        tx: &mut Transaction<'_, Any>,
        case: CaseId,
        version: i64,
    ) -> Result<i64, ActionError> {
        let done = sqlx::query(
            "UPDATE casework_cases SET plan_version = plan_version + 1 WHERE id = $1 AND plan_version = $2",
        )
        .bind(case.get())
        .bind(version)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ActionError::Conflict);
        }
        Ok(version + 1)
    }

    /// Saves the words of the plan, if nobody else saved since `version` was read.
    pub async fn save_plan(
        &self,
        who: &Principal,
        case: CaseId,
        version: i64,
        text: &PlanText,
        today: NaiveDate,
    ) -> Result<i64, ActionError> {
        let (person, _, _, _) = self.case_access(who, case, "plan", true).await?;
        let mut tx = self.pool.begin().await?;
        let new = Self::claim_plan_version(&mut tx, case, version).await?;
        sqlx::query(
            "UPDATE casework_cases SET what_matters = $1, priorities = $2, escalation = $3 WHERE id = $4",
        )
        .bind(&text.what_matters)
        .bind(text.priorities.join("\n"))
        .bind(&text.escalation)
        .bind(case.get())
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: today,
                kind: "plan",
                summary: "Care and support plan updated",
                action: AuditAction::Update,
                audit: format!("casework case {case}: plan version {new}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Adds to or updates the plan's goals, actions and graded steps, versioned like the plan.
    pub async fn change_plan(
        &self,
        who: &Principal,
        case: CaseId,
        version: i64,
        item: &PlanItem,
        today: NaiveDate,
    ) -> Result<i64, ActionError> {
        let (person, _, _, _) = self.case_access(who, case, "plan", true).await?;
        let mut tx = self.pool.begin().await?;
        let new = Self::claim_plan_version(&mut tx, case, version).await?;
        let (query, summary) = match item {
            PlanItem::Goal { text, target_on } => (
                sqlx::query(
                    "INSERT INTO casework_goals (case_id, text, target_on, progress) VALUES ($1, $2, $3, 0)",
                )
                .bind(case.get())
                .bind(text.clone())
                .bind(target_on.map(|d| d.to_string())),
                "Goal added".to_owned(),
            ),
            PlanItem::Progress { goal, progress } => (
                sqlx::query("UPDATE casework_goals SET progress = $1 WHERE id = $2 AND case_id = $3")
                    .bind(i64::from(*progress))
                    .bind(*goal)
                    .bind(case.get()),
                format!("Goal progress now {progress}%"),
            ),
            PlanItem::Attainment { goal, rating, on } => (
                sqlx::query(
                    "INSERT INTO casework_goal_attainment (goal_id, rated_on, level, rated_by) \
                     SELECT id, $1, $2, $3 FROM casework_goals WHERE id = $4 AND case_id = $5",
                )
                .bind(on.to_string())
                .bind(rating.level())
                .bind(who.user.get())
                .bind(*goal)
                .bind(case.get()),
                format!("Goal attainment rated {}", rating.label().to_lowercase()),
            ),
            PlanItem::Action { text, owner, due_on } => (
                sqlx::query(
                    "INSERT INTO casework_actions (case_id, text, owner, due_on) VALUES ($1, $2, $3, $4)",
                )
                .bind(case.get())
                .bind(text.clone())
                .bind(owner.clone())
                .bind(due_on.to_string()),
                format!("Action added for {owner}"),
            ),
            PlanItem::ActionDone { action, on } => (
                sqlx::query(
                    "UPDATE casework_actions SET done_on = $1 WHERE id = $2 AND case_id = $3 AND done_on IS NULL",
                )
                .bind(on.to_string())
                .bind(*action)
                .bind(case.get()),
                "Action done".to_owned(),
            ),
            PlanItem::Step { week, text } => (
                sqlx::query("INSERT INTO casework_steps (case_id, week, text) VALUES ($1, $2, $3)")
                    .bind(case.get())
                    .bind(i64::from(*week))
                    .bind(text.clone()),
                format!("Graded step added for week {week}"),
            ),
        };
        if query.execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(ActionError::NotFound("That goal or action"));
        }
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: today,
                kind: "plan",
                summary: &summary,
                action: AuditAction::Update,
                audit: format!("casework case {case}: plan version {new}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Records a review, sets the intensity and the next review date from the service's interval.
    pub async fn record_review(
        &self,
        who: &Principal,
        case: CaseId,
        on: NaiveDate,
        intensity: Intensity,
        summary: &str,
    ) -> Result<NaiveDate, ActionError> {
        let (person, service, status, _) = self.case_access(who, case, "review", true).await?;
        if !status.is_active() {
            return Err(ActionError::Refused("This case is discharged".to_owned()));
        }
        let episode = get_date(
            &sqlx::query("SELECT episode_started_on FROM casework_cases WHERE id = $1")
                .bind(case.get())
                .fetch_one(&self.pool)
                .await?,
            "episode_started_on",
        )?;
        let due = review_due(episode, Some(on), service.settings.review_interval);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO casework_reviews (case_id, reviewed_on, user_id, intensity, summary) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(case.get())
        .bind(on.to_string())
        .bind(who.user.get())
        .bind(intensity.code())
        .bind(summary)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE casework_cases SET last_review_on = $1, review_due_on = $2, intensity = $3 WHERE id = $4",
        )
        .bind(on.to_string())
        .bind(due.to_string())
        .bind(intensity.code())
        .bind(case.get())
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on,
                kind: "review",
                summary: &format!("Reviewed: {}; next review due {due}", intensity.label()),
                action: AuditAction::Update,
                audit: format!("casework case {case}: review"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(due)
    }

    /// Puts an active case on hold ("backburner") or takes it off hold, with a reason.
    pub async fn set_on_hold(
        &self,
        who: &Principal,
        case: CaseId,
        hold: bool,
        reason: &str,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        let (person, _, status, _) = self.case_access(who, case, "hold", true).await?;
        let (from, to) = if hold {
            ("open', 'reopened", CaseStatus::OnHold)
        } else {
            ("on_hold", CaseStatus::Open)
        };
        if !status.is_active() || (status == CaseStatus::OnHold) == hold {
            return Err(ActionError::Refused(format!(
                "This case is {}",
                status.label().to_lowercase()
            )));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "UPDATE casework_cases SET status = $1 WHERE id = $2 AND status IN ('{from}')"
        ))
        .bind(to.code())
        .bind(case.get())
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: today,
                kind: "status",
                summary: &format!(
                    "{}: {reason}",
                    if hold {
                        "Put on hold"
                    } else {
                        "Taken off hold"
                    }
                ),
                action: AuditAction::Update,
                audit: format!("casework case {case}: {}", to.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Discharges a case: records reason, destination and the GP's agreement, ends the workers'
    /// part in the care team (unless another active case keeps them there).
    pub async fn discharge(
        &self,
        who: &Principal,
        case: CaseId,
        d: &Discharge,
    ) -> Result<(), ActionError> {
        let (person, _, status, _) = self.case_access(who, case, "discharge", true).await?;
        if !status.is_active() {
            return Err(ActionError::Refused(
                "This case is already discharged".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE casework_cases SET status = 'discharged', discharged_on = $1, discharge_reason = $2, \
             discharge_destination = $3, gp_agreement = $4, discharge_summary = $5 WHERE id = $6",
        )
        .bind(d.on.to_string())
        .bind(d.reason.code())
        .bind(d.destination.code())
        .bind(d.gp.code())
        .bind(&d.summary)
        .bind(case.get())
        .execute(&mut *tx)
        .await?;
        let workers = sqlx::query(
            "SELECT DISTINCT user_id FROM casework_workers WHERE case_id = $1 AND ended_on IS NULL",
        )
        .bind(case.get())
        .fetch_all(&mut *tx)
        .await?;
        for w in workers {
            end_worker(
                &mut tx,
                case,
                person,
                UserId::new(get_i64(&w, "user_id")?),
                None,
                d.on,
            )
            .await?;
        }
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: d.on,
                kind: "discharge",
                summary: &format!(
                    "Discharged: {}; {}; {}",
                    d.reason.label(),
                    d.destination.label(),
                    d.gp.label()
                ),
                action: AuditAction::Update,
                audit: format!("casework case {case}: discharged"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reopens a discharged case after a crisis: the history stays, the re-entry is counted, the
    /// reopening worker becomes lead. Allowed to whoever works the service's list, since the
    /// discharged person's care team has ended.
    pub async fn reopen(
        &self,
        who: &Principal,
        case: CaseId,
        reason: &str,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        let r =
            sqlx::query("SELECT person_id, service_id, status FROM casework_cases WHERE id = $1")
                .bind(case.get())
                .fetch_optional(&self.pool)
                .await?
                .ok_or(ActionError::Denied)?;
        let person = PersonId::new(get_i64(&r, "person_id")?);
        let service = self
            .casework_service(ServiceId::new(get_i64(&r, "service_id")?))
            .await?;
        let allowed = Self::may_triage(who, &service)
            || matches!(
                self.casework_grant(who, person, "reopen").await,
                Ok(Grant::CareTeamMember | Grant::SupervisesCareTeam)
            );
        if !allowed {
            return Err(ActionError::Denied);
        }
        if get_code(&r, "status", CaseStatus::from_code)? != CaseStatus::Discharged {
            return Err(ActionError::Refused(
                "Only a discharged case can be reopened".to_owned(),
            ));
        }
        let org = self.worker_org(&service, who.user).await?;
        let due = review_due(today, None, service.settings.review_interval);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE casework_cases SET status = 'reopened', reopen_count = reopen_count + 1, \
             episode_started_on = $1, review_due_on = $2, discharged_on = NULL, discharge_reason = NULL, \
             discharge_destination = NULL, gp_agreement = NULL, discharge_summary = NULL WHERE id = $3",
        )
        .bind(today.to_string())
        .bind(due.to_string())
        .bind(case.get())
        .execute(&mut *tx)
        .await?;
        add_worker(&mut tx, case, person, who.user, org, CaseRole::Lead, today).await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: today,
                kind: "reopened",
                summary: &format!("Reopened: {reason}"),
                action: AuditAction::Update,
                audit: format!("casework case {case}: reopened"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a carer and whether the person wants them involved.
    pub async fn add_carer(
        &self,
        who: &Principal,
        case: CaseId,
        carer: &Carer,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        let (person, _, _, _) = self.case_access(who, case, "carer", true).await?;
        if !["yes", "no", "ask"].contains(&carer.involve.as_str()) {
            return Err(ActionError::Refused(
                "Say whether the person wants the carer involved".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO casework_carers (person_id, name, relationship, contact, involve, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(person.get())
        .bind(&carer.name)
        .bind(&carer.relationship)
        .bind(&carer.contact)
        .bind(&carer.involve)
        .bind(who.user.get())
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: today,
                kind: "carer",
                summary: "Carer recorded",
                action: AuditAction::Create,
                audit: format!("casework case {case}: carer"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The message back to the GP and the referrer, through the policy, audited.
    pub async fn gp_message(
        &self,
        who: &Principal,
        case: CaseId,
    ) -> Result<GpMessage, ActionError> {
        let view = self.case_for(who, case).await?;
        let r = sqlx::query(
            "SELECT received_on, source, referrer_name, needs FROM casework_referrals WHERE id = $1",
        )
        .bind(view.referral.get())
        .fetch_one(&self.pool)
        .await?;
        let mut contacts: BTreeMap<ContactType, u32> = BTreeMap::new();
        for c in &view.contacts {
            *contacts.entry(c.contact_type).or_default() += 1;
        }
        let kind = view.service.settings.kind;
        let mut codes = Vec::new();
        if kind == ServiceKind::SocialPrescribing {
            codes.push((
                careweave_domain::casework::snomed::REFERRAL_TO_SOCIAL_PRESCRIBING,
                "Referral to social prescribing service",
            ));
            if view
                .discharge
                .as_ref()
                .is_some_and(|d| d.reason == DischargeReason::Declined)
            {
                codes.push((
                    careweave_domain::casework::snomed::SOCIAL_PRESCRIBING_DECLINED,
                    "Social prescribing declined",
                ));
            }
        }
        // The lead as the GP knows them: the current one, or on a discharged case (whose workers
        // have all left it) the last one, so that the message says who supported the person.
        let lead_worker = sqlx::query(
            "SELECT u.display_name FROM casework_workers w JOIN users u ON u.id = w.user_id \
             WHERE w.case_id = $1 AND w.role = 'lead' \
             ORDER BY CASE WHEN w.ended_on IS NULL THEN 0 ELSE 1 END, w.started_on DESC, w.ended_on DESC",
        )
        .bind(case.get())
        .fetch_optional(&self.pool)
        .await?
        .map(|w| w.try_get::<String, _>("display_name"))
        .transpose()?;
        // The person's current sharing preference with their GP, once recorded, decides: the
        // referral's consent is a snapshot from before the person met the service, and the person
        // may have changed their mind since.
        let share = self
            .sharing_preferences(view.person)
            .await?
            .gp
            .map_or(view.consent_share_detail, |gp| {
                gp == careweave_domain::consent::GpSharing::Detail
            });
        let needs: Option<String> = Some(r.try_get("needs")?);
        let detail = |s: &str| share.then(|| s.to_owned());
        let mut discharge = view.discharge.clone();
        if !share {
            if let Some(d) = discharge.as_mut() {
                d.summary.clear();
            }
        }
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(view.person.get()),
            reason: format!("casework case {case}: message to GP"),
        })
        .await?;
        Ok(GpMessage {
            case,
            person_name: view.person_name.clone(),
            nhs_number: view.nhs_number,
            date_of_birth: view.date_of_birth,
            practice: view.practice.clone(),
            service: view.service.name.clone(),
            service_kind: kind,
            provider: view.service.provider_name.clone(),
            referral_received_on: get_date(&r, "received_on")?,
            referral_source: get_code(&r, "source", ReferralSource::from_code)?,
            referrer: r.try_get("referrer_name")?,
            share_detail: share,
            codes,
            reason: detail(&view.referral_reason),
            needs: needs.filter(|_| share),
            what_matters: detail(&view.plan.what_matters),
            total_contacts: u32::try_from(view.contacts.len()).unwrap_or(u32::MAX),
            contacts: contacts.into_iter().collect(),
            outcomes: if share {
                view.assessment.domains.clone()
            } else {
                Vec::new()
            },
            goals: if share {
                view.plan.goals.clone()
            } else {
                Vec::new()
            },
            lead_worker,
            discharge,
            episode_started_on: view.episode_started_on,
        })
    }

    /// A person's casework (cases and referrals) for their record page, through the policy.
    pub async fn person_casework(
        &self,
        who: &Principal,
        person: PersonId,
    ) -> Result<
        (
            Vec<(CaseId, String, CaseStatus)>,
            Vec<(ReferralId, String, ReferralStatus)>,
        ),
        ActionError,
    > {
        let grant = self.casework_grant(who, person, "summary").await?;
        let cases = sqlx::query(
            "SELECT c.id, s.name, c.status FROM casework_cases c JOIN services s ON s.id = c.service_id \
             WHERE c.person_id = $1 ORDER BY c.id DESC",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                CaseId::new(get_i64(r, "id")?),
                r.try_get("name")?,
                get_code(r, "status", CaseStatus::from_code)?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let referrals = sqlx::query(
            "SELECT r.id, s.name, r.status FROM casework_referrals r JOIN services s ON s.id = r.service_id \
             WHERE r.person_id = $1 ORDER BY r.id DESC",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                ReferralId::new(get_i64(r, "id")?),
                r.try_get("name")?,
                get_code(r, "status", ReferralStatus::from_code)?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(person.get()),
            reason: format!("casework summary: {}", grant.code()),
        })
        .await?;
        Ok((cases, referrals))
    }

    /// Team reports over the services given (raw counts; the page decides on disclosure control).
    pub async fn casework_report(
        &self,
        services: &[CaseworkService],
        today: NaiveDate,
    ) -> Result<CaseworkReport, StoreError> {
        let mut report = CaseworkReport {
            durations: vec![0; careweave_domain::casework::DURATION_BUCKETS.len()],
            ..CaseworkReport::default()
        };
        if services.is_empty() {
            return Ok(report);
        }
        let ids = services
            .iter()
            .map(|s| s.id.get().to_string())
            .collect::<Vec<_>>()
            .join(",");
        let count = |r: &AnyRow| get_i64(r, "n").map(|n| u64::try_from(n).unwrap_or(0));
        for r in sqlx::query(&format!(
            "SELECT status, COUNT(*) AS n FROM casework_cases WHERE service_id IN ({ids}) GROUP BY status"
        ))
        .fetch_all(&self.pool)
        .await?
        {
            report
                .by_status
                .push((get_code(&r, "status", CaseStatus::from_code)?, count(&r)?));
        }
        report.by_status.sort();
        let cap = services.iter().filter_map(|s| s.settings.worker_cap).min();
        let practice_cap = services
            .iter()
            .filter_map(|s| s.settings.practice_cap)
            .min();
        let active = format!(
            "FROM casework_workers w JOIN casework_cases c ON c.id = w.case_id \
             WHERE w.ended_on IS NULL AND w.role = 'lead' AND c.status <> 'discharged' AND c.service_id IN ({ids})"
        );
        for r in sqlx::query(&format!(
            "SELECT u.display_name AS label, COUNT(*) AS n {} GROUP BY u.display_name ORDER BY u.display_name",
            active.replace("FROM casework_workers w", "FROM casework_workers w JOIN users u ON u.id = w.user_id")
        ))
        .fetch_all(&self.pool)
        .await?
        {
            report
                .caseload_by_worker
                .push((r.try_get("label")?, count(&r)?, cap));
        }
        for r in sqlx::query(&format!(
            "SELECT o.name AS label, COUNT(*) AS n FROM casework_cases c JOIN people p ON p.id = c.person_id \
             JOIN organisations o ON o.id = p.registered_practice_id \
             WHERE c.status <> 'discharged' AND c.service_id IN ({ids}) GROUP BY o.name ORDER BY o.name"
        ))
        .fetch_all(&self.pool)
        .await?
        {
            report
                .by_practice
                .push((r.try_get("label")?, count(&r)?, practice_cap));
        }
        for r in sqlx::query(&format!(
            "SELECT o.name AS label, COUNT(*) AS n {} GROUP BY o.name ORDER BY o.name",
            active.replace(
                "FROM casework_workers w",
                "FROM casework_workers w JOIN organisations o ON o.id = w.organisation_id"
            )
        ))
        .fetch_all(&self.pool)
        .await?
        {
            report.by_employer.push((r.try_get("label")?, count(&r)?));
        }
        for r in sqlx::query(&format!(
            "SELECT COALESCE(st.funding, 'unknown') AS label, COUNT(*) AS n {} GROUP BY COALESCE(st.funding, 'unknown') ORDER BY 1",
            active.replace(
                "FROM casework_workers w",
                "FROM casework_workers w LEFT JOIN staff st ON st.user_id = w.user_id"
            )
        ))
        .fetch_all(&self.pool)
        .await?
        {
            let code: String = r.try_get("label")?;
            let label = careweave_domain::FundingStream::from_code(&code)
                .map_or_else(|| "Not recorded".to_owned(), |f| f.label().to_owned());
            report.by_funding.push((label, count(&r)?));
        }
        let mut waiting_days = Vec::new();
        for r in sqlx::query(&format!(
            "SELECT received_on FROM casework_referrals WHERE status = 'waiting' AND service_id IN ({ids})"
        ))
        .fetch_all(&self.pool)
        .await?
        {
            waiting_days.push((today - get_date(&r, "received_on")?).num_days());
        }
        waiting_days.sort_unstable();
        report.waiting = waiting_days.len() as u64;
        report.waiting_days = waiting_days;
        for r in sqlx::query(&format!(
            "SELECT source, status, COUNT(*) AS n FROM casework_referrals WHERE service_id IN ({ids}) \
             GROUP BY source, status"
        ))
        .fetch_all(&self.pool)
        .await?
        {
            let source = get_code(&r, "source", ReferralSource::from_code)?;
            let n = count(&r)?;
            match report.sources.iter_mut().find(|(s, _)| *s == source) {
                Some((_, total)) => *total += n,
                None => report.sources.push((source, n)),
            }
            match r.try_get::<String, _>("status")?.as_str() {
                "redirected" => report.redirected += n,
                "declined" => report.declined += n,
                _ => {}
            }
        }
        report.sources.sort();
        for r in sqlx::query(&format!(
            "SELECT episode_started_on, discharged_on, reopen_count FROM casework_cases \
             WHERE service_id IN ({ids}) AND (status = 'discharged' OR reopen_count > 0)"
        ))
        .fetch_all(&self.pool)
        .await?
        {
            if get_i64(&r, "reopen_count")? > 0 {
                report.reopened += 1;
            }
            if let Some(end) = opt_date(&r, "discharged_on")? {
                let days = (end - get_date(&r, "episode_started_on")?).num_days();
                report.durations[careweave_domain::casework::duration_bucket(days)] += 1;
            }
        }
        Ok(report)
    }
}

async fn add_worker(
    tx: &mut Transaction<'_, Any>,
    case: CaseId,
    person: PersonId,
    user: UserId,
    org: OrganisationId,
    role: CaseRole,
    today: NaiveDate,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO casework_workers (case_id, user_id, organisation_id, role, started_on) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (case_id, user_id, role, started_on) DO UPDATE SET ended_on = NULL",
    )
    .bind(case.get())
    .bind(user.get())
    .bind(org.get())
    .bind(role.code())
    .bind(today.to_string())
    .execute(&mut **tx)
    .await?;
    recount_workers(tx, case).await?;
    // The case's workers are the person's care team for every module (see the module docs).
    let already = sqlx::query(
        "SELECT 1 AS x FROM care_team WHERE person_id = $1 AND user_id = $2 AND ended_on IS NULL",
    )
    .bind(person.get())
    .bind(user.get())
    .fetch_optional(&mut **tx)
    .await?;
    if already.is_none() {
        sqlx::query(
            // Rejoining on the day one left reuses that row rather than colliding with its key.
            "INSERT INTO care_team (person_id, user_id, organisation_id, started_on) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (person_id, user_id, started_on) DO UPDATE SET ended_on = NULL",
        )
        .bind(person.get())
        .bind(user.get())
        .bind(org.get())
        .bind(today.to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Ends a worker's part in a case, and their care-team membership unless another active case of the
/// same person still has them.
async fn end_worker(
    tx: &mut Transaction<'_, Any>,
    case: CaseId,
    person: PersonId,
    user: UserId,
    role: Option<CaseRole>,
    on: NaiveDate,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE casework_workers SET ended_on = $1 WHERE case_id = $2 AND user_id = $3 AND ended_on IS NULL \
         AND ($4 = '' OR role = $4)",
    )
    .bind(on.to_string())
    .bind(case.get())
    .bind(user.get())
    .bind(role.map_or("", CaseRole::code))
    .execute(&mut **tx)
    .await?;
    recount_workers(tx, case).await?;
    let still = sqlx::query(
        "SELECT 1 AS x FROM casework_workers w JOIN casework_cases c ON c.id = w.case_id \
         WHERE c.person_id = $1 AND w.user_id = $2 AND w.ended_on IS NULL AND c.status <> 'discharged' \
         AND c.id <> $3",
    )
    .bind(person.get())
    .bind(user.get())
    .bind(case.get())
    .fetch_optional(&mut **tx)
    .await?;
    let still_on_this = sqlx::query(
        "SELECT 1 AS x FROM casework_workers WHERE case_id = $1 AND user_id = $2 AND ended_on IS NULL",
    )
    .bind(case.get())
    .bind(user.get())
    .fetch_optional(&mut **tx)
    .await?;
    if still.is_none() && still_on_this.is_none() {
        sqlx::query(
            "UPDATE care_team SET ended_on = $1 WHERE person_id = $2 AND user_id = $3 AND ended_on IS NULL",
        )
        .bind(on.to_string())
        .bind(person.get())
        .bind(user.get())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Recounts a case's current workers after a change to them (see migration
/// `0008_case_current_workers`): counted, not incremented, so the column always equals the rows.
impl Store {
    /// Whether `user` is one of the case's current workers.
    async fn works_on_case(&self, user: UserId, case: CaseId) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 AS x FROM casework_workers WHERE case_id = $1 AND user_id = $2 AND ended_on IS NULL",
        )
        .bind(case.get())
        .bind(user.get())
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }
}

/// Sets the case's worker count and current lead from its worker rows (migrations 0008 and 0015),
/// inside the transaction that changed them.
async fn recount_workers(tx: &mut Transaction<'_, Any>, case: CaseId) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE casework_cases SET current_workers = (SELECT COUNT(*) FROM casework_workers w \
         WHERE w.case_id = casework_cases.id AND w.ended_on IS NULL), \
         lead_user_id = (SELECT MIN(w.user_id) FROM casework_workers w \
         WHERE w.case_id = casework_cases.id AND w.ended_on IS NULL AND w.role = 'lead') WHERE id = $1",
    )
    .bind(case.get())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn summary_from_row(r: &AnyRow) -> Result<CaseSummary, StoreError> {
    Ok(CaseSummary {
        case: CaseId::new(get_i64(r, "id")?),
        name: display_name(
            &r.try_get::<String, _>("family_name")?,
            &r.try_get::<String, _>("given_name")?,
        ),
        service: r.try_get("service_name")?,
        status: get_code(r, "status", CaseStatus::from_code)?,
        role: get_code(r, "role", CaseRole::from_code)?,
        intensity: get_code(r, "intensity", Intensity::from_code)?,
        review_due_on: get_date(r, "review_due_on")?,
    })
}

fn discharge_from_row(c: &AnyRow) -> Result<Option<Discharge>, StoreError> {
    let Some(on) = opt_date(c, "discharged_on")? else {
        return Ok(None);
    };
    Ok(Some(Discharge {
        on,
        reason: get_code(c, "discharge_reason", DischargeReason::from_code)?,
        destination: get_code(c, "discharge_destination", DischargeDestination::from_code)?,
        gp: get_code(c, "gp_agreement", GpAgreement::from_code)?,
        summary: c
            .try_get::<Option<String>, _>("discharge_summary")?
            .unwrap_or_default(),
    }))
}

fn referral_from_row(r: &AnyRow, service: CaseworkService) -> Result<ReferralView, StoreError> {
    let need_domains = parse_codes(
        &r.try_get::<String, _>("need_domains")?,
        NeedDomain::from_code,
    )
    .map_err(|detail| StoreError::Corrupt {
        column: "casework_referrals.need_domains",
        detail,
    })?;
    let advice = service.settings.rule.advise(&need_domains);
    Ok(ReferralView {
        id: ReferralId::new(get_i64(r, "id")?),
        person: r.try_get::<Option<i64>, _>("person_id")?.map(PersonId::new),
        referred: ReferredPerson {
            given_name: r.try_get("given_name")?,
            family_name: r.try_get("family_name")?,
            date_of_birth: get_date(r, "date_of_birth")?,
            nhs_number: r
                .try_get::<Option<String>, _>("nhs_number")?
                .map(|n| parse_column("casework_referrals.nhs_number", &n))
                .transpose()?,
            practice: r
                .try_get::<Option<i64>, _>("practice_id")?
                .map(OrganisationId::new),
            contact: r.try_get("contact")?,
        },
        practice_name: r.try_get("practice_name")?,
        source: get_code(r, "source", ReferralSource::from_code)?,
        route: get_code(r, "route", ReferralRoute::from_code)?,
        reason: r.try_get("reason")?,
        needs: r.try_get("needs")?,
        concerns: r.try_get("concerns")?,
        need_domains,
        risk_flags: parse_codes(&r.try_get::<String, _>("risk_flags")?, RiskFlag::from_code)
            .map_err(|detail| StoreError::Corrupt {
                column: "casework_referrals.risk_flags",
                detail,
            })?,
        cohort: r.try_get("cohort")?,
        urgency: get_code(r, "urgency", Urgency::from_code)?,
        consent_share_detail: get_i64(r, "consent_share_detail")? == 1,
        referrer: Referrer {
            user: r
                .try_get::<Option<i64>, _>("referrer_user_id")?
                .map(UserId::new),
            name: r.try_get("referrer_name")?,
            contact: r.try_get("referrer_contact")?,
        },
        received_on: get_date(r, "received_on")?,
        status: get_code(r, "status", ReferralStatus::from_code)?,
        triage_reason: r.try_get("triage_reason")?,
        override_reason: r.try_get("override_reason")?,
        case: r.try_get::<Option<i64>, _>("case_id")?.map(CaseId::new),
        advice,
        candidates: Vec::new(),
        can_triage: false,
        can_open_case: false,
        case_status: None,
        service,
    })
}

/// Whether the outcome of triage was an acceptance, for callers that only have the decision.
#[must_use]
pub fn outcome_of(decision: &TriageDecision) -> TriageOutcome {
    match decision {
        TriageDecision::Accept { .. } => TriageOutcome::Accept,
        TriageDecision::Decline { .. } => TriageOutcome::Decline,
        TriageDecision::Redirect { .. } => TriageOutcome::Redirect,
    }
}
