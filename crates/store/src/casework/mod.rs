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
//!
//! This file holds the types every feature shares and the row readers; each feature has its own
//! file: `services` (settings, prioritisation), `referrals` (receiving, the waiting list, linking),
//! `triage`, `allocation`, `case` (the case view and case lists),
//! `contacts` (contacts and assessments), `plan`, `reviews` (reviews, hold, discharge, reopening,
//! carers), `gp_message` and `reports`.

mod allocation;
mod case;
mod contacts;
mod gp_message;
mod plan;
mod referrals;
mod reports;
mod reviews;
mod services;
mod triage;

use std::collections::BTreeMap;

use careweave_domain::access::{Decision, Grant, Principal, Role};
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
use crate::change::ActionError;
use crate::change::{
    audit_tx, codes_text, display_name, event, get_code, opt_date, record_change, text_code,
    u32_of, CaseChange,
};

use crate::access::CaseAccess;
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
    /// Why the worker discharged despite the warnings (see
    /// [`careweave_domain::casework::discharge_warnings`]). A discharge with warnings and no
    /// reason is refused at `discharge_override`; read back, it is the recorded reason, `None`
    /// when there was nothing to confirm.
    pub override_reason: Option<String>,
}

/// Everything the case page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    /// The capability the case was read with: pages pass it on to read more of the case (its
    /// safety flags) without asking by a bare id.
    pub access: crate::access::CaseAccess,
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
    /// The warnings the discharge was confirmed despite, one a line (empty when none).
    pub discharge_warnings: Vec<String>,
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

/// Which of a worker's cases "My cases" lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseListFilter {
    #[default]
    Open,
    /// Discharged recently enough that the worker may still open and reopen them.
    Discharged,
    All,
}

impl CaseListFilter {
    /// Every filter, in the order a page offers them.
    pub const ALL: [Self; 3] = [Self::Open, Self::Discharged, Self::All];

    /// The value in a page's query string.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Discharged => "discharged",
            Self::All => "all",
        }
    }

    /// The words a worker reads.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Discharged => "Discharged",
            Self::All => "All",
        }
    }

    /// Reads a query-string value; anything unknown lists the open cases.
    #[must_use]
    pub fn from_code(code: &str) -> Self {
        match code {
            "discharged" => Self::Discharged,
            "all" => Self::All,
            _ => Self::Open,
        }
    }
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

/// The message back to the GP and the referrer (on discharge, and when a referral is accepted or
/// declined), aligned to the PRSB Social Prescribing Information Standard's headings. When the
/// person did not agree to share detail, only the coded and administrative parts are filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpMessage {
    pub event: crate::outbox::MessageKind,
    /// The case, once there is one (a declined referral has none).
    pub case: Option<CaseId>,
    pub referral: ReferralId,
    pub person: PersonId,
    pub person_name: String,
    pub given_name: String,
    pub family_name: String,
    pub nhs_number: NhsNumber,
    pub date_of_birth: NaiveDate,
    pub sex: careweave_domain::Sex,
    /// The person's address as the registry holds it: a postcode only.
    pub postcode: Option<String>,
    pub practice: String,
    pub practice_id: OrganisationId,
    pub practice_ods: Option<String>,
    pub service: String,
    pub service_kind: ServiceKind,
    pub provider: String,
    pub provider_ods: Option<String>,
    pub referral_received_on: NaiveDate,
    pub referral_source: ReferralSource,
    pub referrer: String,
    pub share_detail: bool,
    /// SNOMED CT concept id and preferred term.
    pub codes: Vec<(&'static str, &'static str)>,
    pub reason: Option<String>,
    pub needs: Option<String>,
    pub what_matters: Option<String>,
    /// The triage decision's reason on an acceptance or decline, when detail is shared.
    pub decision: Option<String>,
    /// Support offered: contacts by type.
    pub contacts: Vec<(ContactType, u32)>,
    pub total_contacts: u32,
    pub outcomes: Vec<DomainResult>,
    /// Outcome measures recorded on the case (ONS4 and others), when detail is shared.
    pub measures: Vec<MeasureLine>,
    pub goals: Vec<Goal>,
    /// Community services the person was signposted or referred to during the episode.
    pub connected_services: Vec<String>,
    /// Actions on the plan that the GP practice was asked to take, not yet done.
    pub gp_actions: Vec<String>,
    pub lead_worker: Option<String>,
    /// Who completed the message: the worker whose change produced it.
    pub author: Option<MessageAuthor>,
    pub discharge: Option<Discharge>,
    pub episode_started_on: Option<NaiveDate>,
}

/// One outcome measure as the message reports it: the measure, when, and each scale's score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureLine {
    pub instrument: String,
    pub taken_on: NaiveDate,
    pub point: String,
    /// Each scale's name and score as text (a score is shown as recorded, e.g. `7`).
    pub scores: Vec<(String, String)>,
}

/// The person who completed a message (PRSB "person completing record").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAuthor {
    pub user: UserId,
    pub name: String,
    pub role: String,
    pub organisation: String,
    /// How to reach them: their account's email address.
    pub contact: String,
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
    /// Per calendar month (`YYYY-MM`, in order, only months with something in them): referrals
    /// received, cases opened and discharges.
    pub by_month: Vec<(String, [u64; 3])>,
}

/// The days a report counts what happened in, both included; an open end reaches as far as the
/// records go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportPeriod {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl ReportPeriod {
    /// Whether `on` falls in the period.
    #[must_use]
    pub fn holds(&self, on: NaiveDate) -> bool {
        self.from.is_none_or(|f| on >= f) && self.to.is_none_or(|t| on <= t)
    }

    /// The first and last day as stored text, an open end as a date before or after any record
    /// (dates are ISO text, so text order is date order on both backends).
    fn bounds(&self) -> (String, String) {
        (
            self.from
                .map_or_else(|| "0000-01-01".to_owned(), |d| d.to_string()),
            self.to
                .map_or_else(|| "9999-12-31".to_owned(), |d| d.to_string()),
        )
    }
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
        override_reason: c.try_get("discharge_override")?,
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
