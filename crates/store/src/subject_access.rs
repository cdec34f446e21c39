//! The right of access (UK GDPR Article 15): everything careweave holds about one person, gathered
//! for a subject access request.
//!
//! This is an information-governance function, not a record read: the organisation's staff run it
//! (from the command line, `careweave person export`) when the person asks, and review the result
//! before it is released. So it does not go through the access door (`crate::access`); instead it is
//! audited against the person as an `export`, with who ran it and why, before anything is
//! returned, and the audit rows about the person (who read their record, when and why) are part of
//! what they receive.
//!
//! The bundle is a list of [`Section`]s, one per record type, each a plain table of named columns.
//! Sections whose contents a controller may have to withhold (information about third parties, or
//! likely to cause serious harm: safeguarding concerns above all) carry a [`Section::review`] note;
//! the bundle marks them for review before release rather than leaving them out, because the
//! decision to withhold belongs to a person, not to software.
//!
//! [`SECTIONS`] names the tables each section reads; a test checks that every table holding a
//! person's rows (by `person_id`, a case, or an NHS number) is covered, so a new table cannot be
//! forgotten silently.

use careweave_domain::{NhsNumber, PersonId, UserId};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Column, Row};

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::{get_i64, Store, StoreError};

/// One value of a bundle's table, as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl Value {
    /// The value as a person reads it: empty for nothing, numbers and text as they are.
    #[must_use]
    pub fn display(&self) -> String {
        match self {
            Self::Null => String::new(),
            Self::Integer(i) => i.to_string(),
            Self::Real(r) => r.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

/// One record type of the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// A stable file-name-safe key (`cases`), used for the section's JSON file.
    pub key: &'static str,
    /// The heading a person reads ("Cases").
    pub title: &'static str,
    /// What the rows are, in a sentence.
    pub about: &'static str,
    /// Why the section must be reviewed before release, when it must.
    pub review: Option<&'static str>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Everything held about one person.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectAccessBundle {
    pub person: PersonId,
    pub nhs_number: NhsNumber,
    /// "Given Family", for the summary's heading.
    pub name: String,
    pub generated_at: DateTime<Utc>,
    /// Who ran the export (an account), when it was given.
    pub requested_by: Option<String>,
    pub reason: String,
    pub sections: Vec<Section>,
}

/// Why no bundle was produced.
#[derive(Debug, thiserror::Error)]
pub enum SubjectAccessError {
    #[error("no person with that NHS number is registered")]
    NotFound,
    #[error("the reason for the export must be given (for example the request's reference)")]
    NoReason,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SubjectAccessError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

/// How one section is read. In every query `$1` is the person's id (records that name the person
/// by NHS number alone, before they were matched to the registry, and the population worklist,
/// are found through the number the registry holds for them).
#[derive(Debug)]
pub struct SectionQuery {
    pub key: &'static str,
    pub title: &'static str,
    pub about: &'static str,
    pub review: Option<&'static str>,
    /// The tables whose rows the section shows (for the coverage test).
    pub tables: &'static [&'static str],
    sql: &'static str,
}

const THIRD_PARTY: &str = "May name other people (third parties). Check each entry and withhold \
     or redact what identifies someone else unless they consented or it is reasonable to disclose \
     it without their consent.";

/// Every section of the bundle, in the order the summary shows them.
pub const SECTIONS: &[SectionQuery] = &[
    SectionQuery {
        key: "registry",
        title: "Registry details",
        about: "Who the person is, as registered: name, NHS number, date of birth, address area and GP practice.",
        review: None,
        tables: &["people", "households"],
        sql: "SELECT p.nhs_number, p.given_name, p.family_name, p.date_of_birth, p.sex, p.postcode, \
              p.lsoa_code, p.imd_decile, o.name AS registered_practice, h.postcode AS household_postcode, \
              p.date_of_death FROM people p JOIN organisations o ON o.id = p.registered_practice_id \
              LEFT JOIN households h ON h.id = p.household_id WHERE p.id = $1",
    },
    SectionQuery {
        key: "care_team",
        title: "Care team history",
        about: "Staff who were in the person's care team, with their organisation and the dates.",
        review: None,
        tables: &["care_team"],
        sql: "SELECT u.display_name AS member, o.name AS organisation, c.started_on, c.ended_on \
              FROM care_team c JOIN users u ON u.id = c.user_id \
              JOIN organisations o ON o.id = c.organisation_id \
              WHERE c.person_id = $1 ORDER BY c.started_on, u.display_name",
    },
    SectionQuery {
        key: "sharing_preferences",
        title: "Consent and sharing preferences",
        about: "What the person agreed to share with their GP, their carers and the care team, each \
                version with who recorded it, how and when.",
        review: None,
        tables: &["consent_preferences"],
        sql: "SELECT c.version, c.gp_sharing, c.share_with_carers, c.sensitive_with_care_team, \
              c.method, u.display_name AS recorded_by, c.recorded_at FROM consent_preferences c \
              JOIN users u ON u.id = c.recorded_by WHERE c.person_id = $1 ORDER BY c.version",
    },
    SectionQuery {
        key: "sharing_with_organisations",
        title: "Sharing with organisations",
        about: "For each version of the preferences, the organisations the person agreed or declined \
                to share their record with.",
        review: None,
        tables: &["consent_organisations"],
        sql: "SELECT c.version, o.name AS organisation, co.shares FROM consent_organisations co \
              JOIN consent_preferences c ON c.id = co.preference_id \
              JOIN organisations o ON o.id = co.organisation_id \
              WHERE c.person_id = $1 ORDER BY c.version, o.name",
    },
    SectionQuery {
        key: "emergency_access",
        title: "Emergency (break-glass) access",
        about: "Staff who opened the record in an emergency without a care relationship: who, from \
                which organisation, why, for how long, and the information governance review.",
        review: None,
        tables: &["break_glass"],
        sql: "SELECT u.display_name AS opened_by, o.name AS organisation, b.category, b.reason, \
              b.opened_at, b.expires_at, r.display_name AS reviewed_by, b.reviewed_at, b.review_note \
              FROM break_glass b JOIN users u ON u.id = b.user_id \
              JOIN organisations o ON o.id = b.organisation_id \
              LEFT JOIN users r ON r.id = b.reviewed_by WHERE b.person_id = $1 ORDER BY b.id",
    },
    SectionQuery {
        key: "referrals",
        title: "Referrals",
        about: "Referrals to casework services about the person, as they were made, including ones \
                that named the person's NHS number before they were matched to the registry.",
        review: Some(THIRD_PARTY),
        tables: &["casework_referrals"],
        sql: "SELECT r.id, s.name AS service, r.received_on, r.source, r.route, r.given_name, \
              r.family_name, r.date_of_birth, r.nhs_number, r.contact, r.reason, r.needs, r.concerns, \
              r.need_domains, r.risk_flags, r.cohort, r.urgency, r.consent_share_detail, \
              r.referrer_name, r.referrer_contact, r.status, r.triaged_on, r.triage_reason, \
              r.override_reason, r.redirected_to, r.case_id \
              FROM casework_referrals r JOIN services s ON s.id = r.service_id \
              WHERE r.person_id = $1 OR (r.person_id IS NULL AND r.nhs_number = (SELECT nhs_number FROM people WHERE id = $1)) ORDER BY r.id",
    },
    SectionQuery {
        key: "cases",
        title: "Cases",
        about: "Each episode of support: the service, its state, what matters to the person and \
                their priorities, reviews due and the discharge.",
        review: None,
        tables: &["casework_cases"],
        sql: "SELECT c.id, s.name AS service, c.referral_id, c.status, c.opened_on, \
              c.episode_started_on, c.intensity, c.reopen_count, c.last_review_on, c.review_due_on, \
              c.what_matters, c.priorities, c.escalation, c.discharged_on, c.discharge_reason, \
              c.discharge_destination FROM casework_cases c JOIN services s ON s.id = c.service_id \
              WHERE c.person_id = $1 ORDER BY c.id",
    },
    SectionQuery {
        key: "case_workers",
        title: "Case workers",
        about: "Who worked each case (lead, co-worker or cover), for whom and when.",
        review: None,
        tables: &["casework_workers"],
        sql: "SELECT w.case_id, u.display_name AS worker, o.name AS organisation, w.role, \
              w.started_on, w.ended_on FROM casework_workers w JOIN users u ON u.id = w.user_id \
              JOIN organisations o ON o.id = w.organisation_id \
              WHERE w.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) \
              ORDER BY w.case_id, w.started_on",
    },
    SectionQuery {
        key: "case_timeline",
        title: "Case timeline",
        about: "Everything that happened on each case, in the order it happened.",
        review: None,
        tables: &["casework_events"],
        sql: "SELECT e.case_id, e.at, e.on_date, u.display_name AS by_whom, e.kind, e.summary \
              FROM casework_events e LEFT JOIN users u ON u.id = e.user_id \
              WHERE e.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY e.id",
    },
    SectionQuery {
        key: "contacts",
        title: "Contacts",
        about: "Each contact with the person: when, how, how long, who was there and the note.",
        review: Some(THIRD_PARTY),
        tables: &["casework_contacts"],
        sql: "SELECT c.case_id, c.contact_on, c.contact_type, c.minutes, c.present, c.note, \
              u.display_name AS recorded_by, c.recorded_at FROM casework_contacts c \
              JOIN users u ON u.id = c.recorded_by \
              WHERE c.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY c.id",
    },
    SectionQuery {
        key: "visits",
        title: "Visits (lone working)",
        about: "Planned and made visits: where, when, who went, check-in and check-out.",
        review: None,
        tables: &["casework_visits"],
        sql: "SELECT v.case_id, v.visit_on, v.contact_type, v.place, v.starts_at, v.back_by, \
              u.display_name AS worker, cu.display_name AS companion, v.status, v.checked_in_at, \
              v.checked_out_at, v.note, v.closed_note FROM casework_visits v \
              JOIN users u ON u.id = v.user_id LEFT JOIN users cu ON cu.id = v.companion_user_id \
              WHERE v.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY v.id",
    },
    SectionQuery {
        key: "assessments",
        title: "Assessments",
        about: "Holistic assessments: when, by whom, and the person's strengths.",
        review: None,
        tables: &["casework_assessments"],
        sql: "SELECT a.id, a.case_id, a.assessed_on, u.display_name AS assessed_by, a.strengths \
              FROM casework_assessments a JOIN users u ON u.id = a.user_id \
              WHERE a.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY a.id",
    },
    SectionQuery {
        key: "assessment_scores",
        title: "Assessment scores",
        about: "Each assessment's score (1 to 5) in each life domain.",
        review: None,
        tables: &["casework_assessment_scores"],
        sql: "SELECT s.assessment_id, d.label AS life_domain, s.score \
              FROM casework_assessment_scores s JOIN casework_assessments a ON a.id = s.assessment_id \
              JOIN casework_life_domains d ON d.code = s.domain_code \
              WHERE a.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) \
              ORDER BY s.assessment_id, d.position",
    },
    SectionQuery {
        key: "plan_goals",
        title: "Care and support plan: goals",
        about: "The goals of the person's plan, their target dates and progress.",
        review: None,
        tables: &["casework_goals"],
        sql: "SELECT g.id, g.case_id, g.text, g.target_on, g.progress FROM casework_goals g \
              WHERE g.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY g.id",
    },
    SectionQuery {
        key: "goal_attainment",
        title: "Care and support plan: goal ratings",
        about: "Each rating of a goal on the five-point goal attainment scale (-2 to +2).",
        review: None,
        tables: &["casework_goal_attainment"],
        sql: "SELECT a.goal_id, a.rated_on, a.level, u.display_name AS rated_by \
              FROM casework_goal_attainment a JOIN casework_goals g ON g.id = a.goal_id \
              JOIN users u ON u.id = a.rated_by \
              WHERE g.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY a.id",
    },
    SectionQuery {
        key: "plan_actions",
        title: "Care and support plan: actions",
        about: "Actions agreed in the plan, who owns them, when they are due and when done.",
        review: None,
        tables: &["casework_actions"],
        sql: "SELECT a.case_id, a.text, a.owner, a.due_on, a.done_on FROM casework_actions a \
              WHERE a.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY a.id",
    },
    SectionQuery {
        key: "plan_steps",
        title: "Care and support plan: graded steps",
        about: "The plan's week-by-week steps.",
        review: None,
        tables: &["casework_steps"],
        sql: "SELECT s.case_id, s.week, s.text FROM casework_steps s \
              WHERE s.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) \
              ORDER BY s.case_id, s.week",
    },
    SectionQuery {
        key: "reviews",
        title: "Reviews",
        about: "Each review of a case: when, by whom, the intensity decided and the summary.",
        review: None,
        tables: &["casework_reviews"],
        sql: "SELECT r.case_id, r.reviewed_on, u.display_name AS reviewed_by, r.intensity, r.summary \
              FROM casework_reviews r JOIN users u ON u.id = r.user_id \
              WHERE r.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY r.id",
    },
    SectionQuery {
        key: "discharges",
        title: "Discharges and messages to the GP",
        about: "Each discharge: reason, destination, what the GP agreed and the summary. The \
                message to the GP is built from these rows and the referral when it is sent; it \
                is not stored separately.",
        review: None,
        tables: &["casework_cases"],
        sql: "SELECT c.id AS case_id, s.name AS service, c.discharged_on, c.discharge_reason, \
              c.discharge_destination, c.gp_agreement, c.discharge_summary \
              FROM casework_cases c JOIN services s ON s.id = c.service_id \
              WHERE c.person_id = $1 AND c.discharged_on IS NOT NULL ORDER BY c.id",
    },
    SectionQuery {
        key: "outcome_measures",
        title: "Outcome measures",
        about: "Each questionnaire taken: instrument, when, at which point of the support, and the \
                answers as given.",
        review: None,
        tables: &["outcome_records"],
        sql: "SELECT r.id, r.case_id, r.instrument_name, r.instrument_version, r.taken_on, r.point, \
              r.answers, u.display_name AS recorded_by, r.recorded_at FROM outcome_records r \
              JOIN users u ON u.id = r.recorded_by \
              WHERE r.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY r.id",
    },
    SectionQuery {
        key: "outcome_scores",
        title: "Outcome scores",
        about: "The scores each outcome measure produced when it was recorded.",
        review: None,
        tables: &["outcome_scores"],
        sql: "SELECT s.record_id, s.scale_name, s.reported, s.raw, s.band, s.level \
              FROM outcome_scores s JOIN outcome_records r ON r.id = s.record_id \
              WHERE r.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) \
              ORDER BY s.record_id, s.scale_id",
    },
    SectionQuery {
        key: "safeguarding_concerns",
        title: "Safeguarding concerns",
        about: "Safeguarding concerns raised about the person, their risk, status and the referral \
                to the local authority.",
        review: Some(
            "REVIEW BEFORE RELEASE. UK GDPR and the Data Protection Act 2018 (Schedule 3) let the \
             controller withhold information likely to cause serious harm to the physical or \
             mental health of the person or anyone else, and information about third parties. A \
             safeguarding lead must read every concern and action, and the local authority be \
             consulted where it made enquiries, before any of this section is released.",
        ),
        tables: &["safeguarding_concerns"],
        sql: "SELECT c.id, c.case_id, c.category, c.risk, c.status, c.noticed_on, c.description, \
              u.display_name AS raised_by, c.raised_at, c.la_referred_on, c.la_reference, \
              c.closed_on, c.close_reason FROM safeguarding_concerns c \
              JOIN users u ON u.id = c.raised_by WHERE c.person_id = $1 ORDER BY c.id",
    },
    SectionQuery {
        key: "safeguarding_actions",
        title: "Safeguarding actions",
        about: "Actions agreed on each safeguarding concern.",
        review: Some("REVIEW BEFORE RELEASE, with the safeguarding concerns they belong to."),
        tables: &["safeguarding_actions"],
        sql: "SELECT a.concern_id, a.text, a.owner, a.due_on, a.done_on, a.added_at \
              FROM safeguarding_actions a JOIN safeguarding_concerns c ON c.id = a.concern_id \
              WHERE c.person_id = $1 ORDER BY a.id",
    },
    SectionQuery {
        key: "mdt_discussions",
        title: "MDT discussions",
        about: "Each multidisciplinary team meeting that discussed the person: why they were on \
                the agenda, the discussion, the decision and how they were told.",
        review: Some(THIRD_PARTY),
        tables: &["mdt_items", "mdt_meetings"],
        sql: "SELECT i.id, i.case_id, m.title AS meeting, m.held_on, i.reasons, i.discussion, \
              i.decision, i.told_how, i.told_on FROM mdt_items i \
              JOIN mdt_meetings m ON m.id = i.meeting_id \
              WHERE i.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY i.id",
    },
    SectionQuery {
        key: "mdt_actions",
        title: "MDT actions",
        about: "Actions an MDT meeting agreed for the person.",
        review: None,
        tables: &["mdt_actions"],
        sql: "SELECT a.item_id, a.text, a.owner, a.due_on, a.done_on FROM mdt_actions a \
              JOIN mdt_items i ON i.id = a.item_id \
              WHERE i.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY a.id",
    },
    SectionQuery {
        key: "mdt_case_flags",
        title: "MDT flags",
        about: "Flags that put a case on an MDT agenda: a worker's worry (with the reason) or a \
                discharge from hospital.",
        review: None,
        tables: &["mdt_case_flags"],
        sql: "SELECT f.case_id, f.kind, f.noted_on, f.reason, u.display_name AS set_by, f.set_at, \
              f.cleared_on FROM mdt_case_flags f JOIN users u ON u.id = f.set_by \
              WHERE f.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY f.id",
    },
    SectionQuery {
        key: "safety_flags",
        title: "Safety flags",
        about: "Safety flags for staff visiting the person or their address.",
        review: Some(
            "A flag on the address (household) may be about someone else who lives there, and a \
             flag may be withheld if disclosing it would put a member of staff at risk.",
        ),
        tables: &["safety_flags"],
        sql: "SELECT CASE WHEN f.person_id IS NULL THEN 'address' ELSE 'person' END AS applies_to, \
              f.reason, u.display_name AS raised_by, f.raised_on, f.ended_on FROM safety_flags f \
              JOIN users u ON u.id = f.raised_by WHERE f.person_id = $1 \
              OR f.household_id = (SELECT household_id FROM people WHERE id = $1) ORDER BY f.id",
    },
    SectionQuery {
        key: "directory_signposts",
        title: "Community services: signposts",
        about: "Community services the person was told about.",
        review: None,
        tables: &["directory_signposts"],
        sql: "SELECT s.created_at, d.name AS service, d.organization_name AS organisation, s.note, \
              u.display_name AS signposted_by FROM directory_signposts s \
              JOIN directory_services d ON d.id = s.service_id JOIN users u ON u.id = s.user_id \
              WHERE s.person_id = $1 ORDER BY s.id",
    },
    SectionQuery {
        key: "directory_referrals",
        title: "Community services: referrals",
        about: "Referrals to community services and their answers.",
        review: None,
        tables: &["directory_referrals"],
        sql: "SELECT r.created_at, d.name AS service, o.name AS provider, r.reason, r.status, \
              u.display_name AS referred_by, r.answered_at, r.answer_note FROM directory_referrals r \
              JOIN directory_services d ON d.id = r.service_id \
              JOIN organisations o ON o.id = r.provider_id JOIN users u ON u.id = r.referred_by \
              WHERE r.person_id = $1 ORDER BY r.id",
    },
    SectionQuery {
        key: "carers",
        title: "Carers",
        about: "The person's carers and their wishes about involving them.",
        review: Some(THIRD_PARTY),
        tables: &["casework_carers"],
        sql: "SELECT c.name, c.relationship, c.contact, c.involve FROM casework_carers c \
              WHERE c.person_id = $1 ORDER BY c.id",
    },
    SectionQuery {
        key: "case_finding",
        title: "Population case finding",
        about: "Times the population analysis put the person on a case-finding worklist, with \
                the criteria they met.",
        review: None,
        tables: &["population_worklist"],
        sql: "SELECT r.index_date, r.loaded_at, w.cohort, w.practice, w.segment, w.criteria_met, \
              w.age, w.sex, w.efi, w.charlson, w.hfrs, w.emergency_admissions \
              FROM population_worklist w JOIN population_runs r ON r.id = w.run_id \
              WHERE w.nhs_number = (SELECT nhs_number FROM people WHERE id = $1) ORDER BY w.run_id, w.cohort",
    },
    SectionQuery {
        key: "worklist_decisions",
        title: "Decisions on case-finding worklists",
        about: "Times a practice or PCN team set the person aside on a worklist (snoozed or not \
                suitable), with the reason and the date to look again.",
        review: None,
        tables: &["worklist_decisions"],
        sql: "SELECT d.cohort, d.decision, d.reason, d.review_on, d.decided_at FROM worklist_decisions d \
              WHERE d.nhs_number = (SELECT nhs_number FROM people WHERE id = $1) ORDER BY d.id",
    },
    SectionQuery {
        key: "significant_events",
        title: "Significant events linked to the person's cases",
        about: "Events a team recorded from one of the person's cases (they are written without \
                identifying details, but are linked to the case).",
        review: Some(THIRD_PARTY),
        tables: &["significant_events", "significant_event_themes"],
        sql: "SELECT e.id, e.case_id, e.kind, e.occurred_on, e.description, e.escalate, \
              e.escalation_reason, e.board_on FROM significant_events e \
              WHERE e.case_id IN (SELECT id FROM casework_cases WHERE person_id = $1) ORDER BY e.id",
    },
    SectionQuery {
        key: "messages_sent",
        title: "Messages sent to the GP practice",
        about: "Each message sent to the person's GP practice about their referrals and cases \
                (on acceptance, decline and discharge): the letter as sent, to whom, when and \
                whether it was delivered.",
        review: None,
        tables: &["outbox_messages"],
        sql: "SELECT m.id, m.kind, m.case_id, m.referral_id, m.recipient, m.created_at, m.status, \
              m.sent_at, m.acknowledged_at, m.letter FROM outbox_messages m \
              WHERE m.person_id = $1 ORDER BY m.id",
    },
    SectionQuery {
        key: "access_log",
        title: "Who read or changed the record",
        about: "Every audited read, change, refusal and export of the person's record, their \
                referrals, safeguarding concerns, MDT flags and events: when, who and why. This \
                export itself is the last entry.",
        review: None,
        tables: &["audit_log"],
        sql: "SELECT a.at, u.display_name AS who, a.action, a.entity, a.reason FROM audit_log a \
              LEFT JOIN users u ON u.id = a.user_id WHERE (a.entity = 'person' AND a.entity_id = $1) \
              OR (a.entity = 'casework_referral' AND a.entity_id IN (SELECT id FROM casework_referrals \
              WHERE person_id = $1 OR (person_id IS NULL AND nhs_number = (SELECT nhs_number FROM people WHERE id = $1)))) \
              OR (a.entity = 'safeguarding_concern' AND a.entity_id IN \
              (SELECT id FROM safeguarding_concerns WHERE person_id = $1)) \
              OR (a.entity = 'mdt_case_flag' AND a.entity_id IN (SELECT id FROM mdt_case_flags \
              WHERE case_id IN (SELECT id FROM casework_cases WHERE person_id = $1))) \
              OR (a.entity = 'significant_event' AND a.entity_id IN (SELECT id FROM significant_events \
              WHERE case_id IN (SELECT id FROM casework_cases WHERE person_id = $1))) ORDER BY a.id",
    },
];

impl Store {
    /// Gathers everything held about the person with `nhs_number`, for a subject access request.
    ///
    /// `by` is the account running the export, when known (the command line may run without
    /// one); `reason` says why (the request's reference) and is required. The export is audited
    /// against the person as `export` before anything is read; a number that matches nobody is
    /// audited too (without the number), so that probing is visible.
    pub async fn subject_access_export(
        &self,
        nhs_number: NhsNumber,
        by: Option<UserId>,
        reason: &str,
    ) -> Result<SubjectAccessBundle, SubjectAccessError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(SubjectAccessError::NoReason);
        }
        let person =
            sqlx::query("SELECT id, given_name, family_name FROM people WHERE nhs_number = $1")
                .bind(nhs_number.as_digits())
                .fetch_optional(&self.pool)
                .await?;
        let mut tx = self.pool.begin().await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: by,
                action: AuditAction::Export,
                entity: "person",
                entity_id: person.as_ref().map(|p| get_i64(p, "id")).transpose()?,
                reason: match &person {
                    Some(_) => format!("subject access request: {reason}"),
                    None => format!("subject access request, no person matched: {reason}"),
                },
            },
        )
        .await?;
        tx.commit().await?;
        let Some(person) = person else {
            return Err(SubjectAccessError::NotFound);
        };
        let id = get_i64(&person, "id")?;
        let name = format!(
            "{} {}",
            person.try_get::<String, _>("given_name")?,
            person.try_get::<String, _>("family_name")?
        );
        let mut sections = Vec::with_capacity(SECTIONS.len());
        for q in SECTIONS {
            let rows = sqlx::query(q.sql).bind(id).fetch_all(&self.pool).await?;
            let columns = match rows.first() {
                Some(r) => r.columns().iter().map(|c| c.name().to_owned()).collect(),
                None => column_names(q.sql),
            };
            let rows = rows
                .iter()
                .map(row_values)
                .collect::<Result<Vec<_>, StoreError>>()?;
            sections.push(Section {
                key: q.key,
                title: q.title,
                about: q.about,
                review: q.review,
                columns,
                rows,
            });
        }
        let requested_by = match by {
            Some(user) => Some(self.display_name(user).await?),
            None => None,
        };
        Ok(SubjectAccessBundle {
            person: PersonId::new(id),
            nhs_number,
            name,
            generated_at: Utc::now(),
            requested_by,
            reason: reason.to_owned(),
            sections,
        })
    }
}

/// Reads every column of a row without knowing its type: the `Any` driver carries integers,
/// reals and text, and a NULL decodes as any of them.
fn row_values(row: &AnyRow) -> Result<Vec<Value>, StoreError> {
    (0..row.columns().len())
        .map(|i| {
            if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                return Ok(v.map_or(Value::Null, Value::Text));
            }
            if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                return Ok(v.map_or(Value::Null, Value::Integer));
            }
            if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                return Ok(v.map_or(Value::Null, Value::Real));
            }
            if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                return Ok(v.map_or(Value::Null, |b| Value::Integer(i64::from(b))));
            }
            Err(StoreError::Corrupt {
                column: "subject access export",
                detail: format!("column {i} has a type the export cannot read"),
            })
        })
        .collect()
}

/// The column names of a query's select list, for a section with no rows (so that its JSON file
/// and the summary still say what would have been there). Each is the alias after `AS` or the
/// column after the last dot.
fn column_names(sql: &str) -> Vec<String> {
    let select = sql
        .split_once("SELECT ")
        .map_or("", |(_, rest)| rest.split(" FROM ").next().unwrap_or(""));
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in select.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                names.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    names.push(current);
    names
        .iter()
        .map(|expr| {
            let expr = expr.trim();
            match expr.rsplit_once(" AS ") {
                Some((_, alias)) => alias.trim().to_owned(),
                None => expr.rsplit('.').next().unwrap_or(expr).trim().to_owned(),
            }
        })
        .collect()
}

/// The tables that hold rows about a person: by `person_id`, through one of their cases (or a
/// row of a case), or by NHS number. The coverage test compares this with the schema.
#[must_use]
pub fn covered_tables() -> Vec<&'static str> {
    let mut tables: Vec<&'static str> = SECTIONS
        .iter()
        .flat_map(|s| s.tables.iter().copied())
        .collect();
    tables.sort_unstable();
    tables.dedup();
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_come_from_the_select_list() {
        assert_eq!(
            column_names(SECTIONS[0].sql),
            [
                "nhs_number",
                "given_name",
                "family_name",
                "date_of_birth",
                "sex",
                "postcode",
                "lsoa_code",
                "imd_decile",
                "registered_practice",
                "household_postcode",
                "date_of_death"
            ]
        );
        let flags = SECTIONS.iter().find(|s| s.key == "safety_flags").unwrap();
        assert_eq!(column_names(flags.sql)[0], "applies_to");
    }

    #[test]
    fn keys_are_unique_and_safe_as_file_names() {
        let mut keys: Vec<&str> = SECTIONS.iter().map(|s| s.key).collect();
        assert!(keys
            .iter()
            .all(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), SECTIONS.len());
    }

    #[test]
    fn safeguarding_is_always_marked_for_review() {
        for s in SECTIONS
            .iter()
            .filter(|s| s.key.starts_with("safeguarding"))
        {
            assert!(s
                .review
                .is_some_and(|r| r.starts_with("REVIEW BEFORE RELEASE")));
        }
    }
}
