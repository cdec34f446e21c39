//! Casework: the words and rules of a personalised care team's daily work, from referral to discharge.
//!
//! A [`ReferralSource`] and [`ReferralRoute`] say who referred and how; an [`Urgency`] and risk flags
//! feed the one waiting list's [`Prioritisation`], whose score shows its parts so that everyone can
//! see why a referral sits where it does. Triage ends in a [`TriageOutcome`]; eligibility rules
//! ([`EligibilityRule`]) are advice with a recorded override, never a gate. A case moves through
//! [`CaseStatus`]; support is recorded as contacts of a [`ContactType`]; reviews fall due by
//! [`review_due`]; a discharge carries a [`DischargeReason`] and a [`DischargeDestination`].
//!
//! Assessments cover configurable life domains ([`LifeDomain`] gives the defaults); Focused Care's
//! eligibility counts needs across its eight [`NeedDomain`]s (seed 000 l.1073–1102).
//!
//! Everything here is pure: no IO, no wire format.

use chrono::{Days, NaiveDate};

use crate::entities::text_enum;
pub use crate::ids::{CaseId, ReferralId};

text_enum!(
    /// The kinds of casework service, which decide the codes in the message back to the GP.
    ServiceKind {
        FocusedCare => "focused_care", "Focused Care";
        SocialPrescribing => "social_prescribing", "Social prescribing";
        Other => "other", "Other personalised care service";
    }
);

text_enum!(
    /// Who made a referral ("no wrong door": anyone may).
    ReferralSource {
        Gp => "gp", "GP";
        PracticeNurse => "practice_nurse", "Practice nurse";
        Reception => "reception", "GP practice reception or admin";
        OtherProfessional => "other_professional", "Another professional";
        AnotherTeam => "another_team", "Another team or service";
        Housing => "housing", "Housing officer";
        School => "school", "School";
        Family => "family", "Family, friend or carer";
        SelfReferral => "self", "The person themselves";
        CaseFinding => "case_finding", "Case-finding worklist";
    }
);

text_enum!(
    /// How the referral reached the team.
    ReferralRoute {
        App => "app", "careweave referral form";
        PublicForm => "public_form", "Public self-referral form";
        Worklist => "worklist", "Population worklist";
        Phone => "phone", "Telephone";
        Letter => "letter", "Letter or email";
        Conversation => "conversation", "In conversation";
        Api => "api", "Another system (API)";
    }
);

text_enum!(
    /// How soon the person should be seen, as the referrer judged it.
    Urgency {
        Urgent => "urgent", "Urgent";
        Soon => "soon", "Soon";
        Routine => "routine", "Routine";
    }
);

text_enum!(
    /// Risks the referrer or triager flagged; each raises the referral's priority.
    RiskFlag {
        Safeguarding => "safeguarding", "Safeguarding concern";
        LivesAlone => "lives_alone", "Lives alone";
        RecentCrisis => "recent_crisis", "Recent crisis or admission";
        MissedAppointments => "missed_appointments", "Often misses appointments";
        CarerStrain => "carer_strain", "Carer under strain";
    }
);

text_enum!(
    /// What triage decided.
    TriageOutcome {
        Accept => "accept", "Accept";
        Decline => "decline", "Decline";
        Redirect => "redirect", "Redirect to another service";
    }
);

text_enum!(
    /// Where a referral stands.
    ReferralStatus {
        Waiting => "waiting", "Waiting";
        Accepted => "accepted", "Accepted";
        Declined => "declined", "Declined";
        Redirected => "redirected", "Redirected";
    }
);

text_enum!(
    /// Where a case stands. A referral that is still waiting is not yet a case; see [`ReferralStatus`].
    CaseStatus {
        Open => "open", "Open";
        OnHold => "on_hold", "On hold";
        Discharged => "discharged", "Discharged";
        Reopened => "reopened", "Reopened";
    }
);

impl CaseStatus {
    /// Whether the case is being worked (it counts against capacity and needs reviews).
    #[must_use]
    pub fn is_active(self) -> bool {
        !matches!(self, Self::Discharged)
    }
}

text_enum!(
    /// How intensely a case is being supported.
    Intensity {
        High => "high", "High intensity";
        Low => "low", "Low intensity";
    }
);

text_enum!(
    /// The kinds of contact a worker records (seed 000 l.1548–1592).
    ContactType {
        HomeVisit => "home_visit", "Home visit";
        Practice => "practice", "At the practice";
        Phone => "phone", "Phone call";
        Video => "video", "Video call";
        DropIn => "drop_in", "Drop-in";
        AccompaniedAppointment => "accompanied", "Accompanied appointment";
        JointVisit => "joint_visit", "Joint visit";
        UnannouncedVisit => "unannounced", "Unannounced visit";
        Group => "group", "Group session";
    }
);

text_enum!(
    /// A rating of one plan goal on the five-point goal attainment scale (GAS), agreed with the
    /// person: how the outcome compares with what was expected when the goal was set.
    GoalAttainment {
        MuchLess => "-2", "Much less than expected (-2)";
        Less => "-1", "Somewhat less than expected (-1)";
        Expected => "0", "As expected (0)";
        More => "+1", "Somewhat more than expected (+1)";
        MuchMore => "+2", "Much more than expected (+2)";
    }
);

impl GoalAttainment {
    /// The scale's number, from -2 to +2.
    #[must_use]
    pub fn level(self) -> i64 {
        match self {
            Self::MuchLess => -2,
            Self::Less => -1,
            Self::Expected => 0,
            Self::More => 1,
            Self::MuchMore => 2,
        }
    }

    /// The rating with this number.
    #[must_use]
    pub fn from_level(level: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|g| g.level() == level)
    }
}

text_enum!(
    /// When in an episode of support an outcome measure was taken.
    OutcomePoint {
        Baseline => "baseline", "Baseline";
        FollowUp => "follow_up", "Follow-up";
        Discharge => "discharge", "At discharge";
    }
);

text_enum!(
    /// Why a case closed.
    DischargeReason {
        GoalsMet => "goals_met", "Goals met";
        SteppedDown => "stepped_down", "Needs now met by another service";
        Declined => "declined", "Person chose to stop";
        Disengaged => "disengaged", "Disengaged";
        MovedAway => "moved_away", "Moved away";
        Died => "died", "Died";
    }
);

text_enum!(
    /// Where the person went on discharge.
    DischargeDestination {
        SocialPrescribing => "social_prescribing", "To social prescribing";
        ClinicalService => "clinical_service", "To a clinical service";
        CommunityGroup => "community_group", "To community groups and support";
        SelfManaging => "self_managing", "Managing independently";
        GpCare => "gp_care", "Back to usual GP care";
        OutOfArea => "out_of_area", "Out of the area";
        None => "none", "No onward destination";
    }
);

text_enum!(
    /// Whether the GP agreed to the discharge.
    GpAgreement {
        Agreed => "agreed", "The GP agreed";
        NotAgreed => "not_agreed", "The GP did not agree";
        NotAsked => "not_asked", "The GP was not asked";
    }
);

text_enum!(
    /// The life domains of the default holistic assessment; a deployment may configure others.
    LifeDomain {
        Personal => "personal", "Personal wellbeing";
        MentalHealth => "mental_health", "Mental health";
        PhysicalHealth => "physical_health", "Physical health";
        Social => "social", "Social connection";
        Spiritual => "spiritual", "Spiritual and cultural";
        Finances => "finances", "Money and finances";
        Housing => "housing", "Housing";
        Relationships => "relationships", "Relationships";
        Parenting => "parenting", "Parenting";
        Employment => "employment", "Work, learning and volunteering";
    }
);

text_enum!(
    /// Focused Care's eight need domains; needs in two or more suggest eligibility (seed 000 l.1073).
    NeedDomain {
        Parenting => "parenting", "Parenting";
        Relationships => "relationships", "Relationships";
        Finances => "finances", "Finances";
        Housing => "housing", "Housing";
        ManagingHealth => "managing_health", "Managing health";
        AccessingServices => "accessing_services", "Accessing services";
        ManagementPlan => "management_plan", "Following a management plan";
        MentalHealth => "mental_health", "Mental health";
    }
);

text_enum!(
    /// The role someone holds on a case.
    CaseRole {
        Lead => "lead", "Lead worker";
        CoWorker => "co_worker", "Co-worker";
        Cover => "cover", "Covering while the lead is away";
    }
);

/// An assessment score for one life domain: 1 (struggling) to 5 (thriving).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DomainScore(u8);

/// Why a number is not a domain score.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} must be a score from 1 (struggling) to 5 (thriving)")]
pub struct DomainScoreError(pub String);

impl DomainScore {
    /// The lowest score.
    pub const MIN: u8 = 1;
    /// The highest score.
    pub const MAX: u8 = 5;

    /// Checks the range.
    pub fn new(what: &str, score: u8) -> Result<Self, DomainScoreError> {
        if (Self::MIN..=Self::MAX).contains(&score) {
            Ok(Self(score))
        } else {
            Err(DomainScoreError(what.to_owned()))
        }
    }

    /// The score.
    #[must_use]
    pub fn get(self) -> u8 {
        self.0
    }
}

/// How one domain changed between the baseline and the latest assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Better(u8),
    Same,
    Worse(u8),
}

impl Change {
    /// Compares a later score with an earlier one.
    #[must_use]
    pub fn between(earlier: DomainScore, later: DomainScore) -> Self {
        match later.0.cmp(&earlier.0) {
            std::cmp::Ordering::Greater => Self::Better(later.0 - earlier.0),
            std::cmp::Ordering::Equal => Self::Same,
            std::cmp::Ordering::Less => Self::Worse(earlier.0 - later.0),
        }
    }

    /// The words shown beside a domain.
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            Self::Better(n) => format!("Better by {n}"),
            Self::Same => "No change".to_owned(),
            Self::Worse(n) => format!("Worse by {n}"),
        }
    }
}

/// A service's eligibility rule. It gives advice to the triager; it never blocks a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EligibilityRule {
    /// Anyone referred may be accepted.
    Open,
    /// Needs in at least this many of the eight Focused Care domains.
    NeedsInDomains(u8),
}

/// The advice triage shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EligibilityAdvice {
    /// The rule is met; the text says how.
    Meets(String),
    /// The rule is not met; accepting needs an override with a reason.
    DoesNotMeet(String),
}

impl EligibilityAdvice {
    /// Whether accepting this referral would be an override of the service's rule.
    #[must_use]
    pub fn needs_override(&self) -> bool {
        matches!(self, Self::DoesNotMeet(_))
    }

    /// The sentence shown to the triager.
    #[must_use]
    pub fn text(&self) -> &str {
        match self {
            Self::Meets(t) | Self::DoesNotMeet(t) => t,
        }
    }
}

impl EligibilityRule {
    /// Advises on a referral with needs in `domains` (duplicates count once).
    #[must_use]
    pub fn advise(self, domains: &[NeedDomain]) -> EligibilityAdvice {
        match self {
            Self::Open => {
                EligibilityAdvice::Meets("This service takes anyone referred.".to_owned())
            }
            Self::NeedsInDomains(min) => {
                let mut distinct = domains.to_vec();
                distinct.sort();
                distinct.dedup();
                let n = distinct.len();
                let text =
                    format!("Needs in {n} of 8 domains; this service suggests {min} or more.");
                if n >= usize::from(min) {
                    EligibilityAdvice::Meets(text)
                } else {
                    EligibilityAdvice::DoesNotMeet(text)
                }
            }
        }
    }
}

/// The weights of the one waiting list's order. They are shown on the waiting list, so the order is
/// never a mystery, and a supervisor can change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prioritisation {
    pub urgent: u32,
    pub soon: u32,
    pub routine: u32,
    /// Points for each whole week waited.
    pub per_week_waiting: u32,
    /// Points for each risk flag.
    pub per_risk_flag: u32,
    /// Points when the person came from a case-finding cohort.
    pub cohort: u32,
}

impl Default for Prioritisation {
    fn default() -> Self {
        Self {
            urgent: 100,
            soon: 40,
            routine: 0,
            per_week_waiting: 5,
            per_risk_flag: 15,
            cohort: 10,
        }
    }
}

/// What the prioritisation looks at for one waiting referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingFacts {
    pub urgency: Urgency,
    pub received_on: NaiveDate,
    pub risk_flags: Vec<RiskFlag>,
    pub from_cohort: bool,
}

/// A referral's priority: the total and the parts it is made of, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priority {
    pub total: u32,
    pub parts: Vec<(String, u32)>,
}

impl Prioritisation {
    /// Scores one referral on `today`.
    #[must_use]
    pub fn score(&self, facts: &WaitingFacts, today: NaiveDate) -> Priority {
        let mut parts = Vec::new();
        let urgency = match facts.urgency {
            Urgency::Urgent => self.urgent,
            Urgency::Soon => self.soon,
            Urgency::Routine => self.routine,
        };
        parts.push((facts.urgency.label().to_owned(), urgency));
        let weeks = u32::try_from((today - facts.received_on).num_days().max(0) / 7).unwrap_or(0);
        parts.push((
            format!("{weeks} weeks waiting"),
            weeks.saturating_mul(self.per_week_waiting),
        ));
        let mut flags = facts.risk_flags.clone();
        flags.sort();
        flags.dedup();
        for f in flags {
            parts.push((f.label().to_owned(), self.per_risk_flag));
        }
        if facts.from_cohort {
            parts.push(("Found by case finding".to_owned(), self.cohort));
        }
        Priority {
            total: parts.iter().map(|(_, p)| *p).fold(0, u32::saturating_add),
            parts,
        }
    }

    /// Orders waiting referrals: highest priority first, then the longest waiting, then by key so
    /// that the order is stable between page loads.
    pub fn order<K: Ord + Copy>(&self, items: &mut [(K, WaitingFacts)], today: NaiveDate) {
        items.sort_by_cached_key(|(key, f)| {
            (
                std::cmp::Reverse(self.score(f, today).total),
                f.received_on,
                *key,
            )
        });
    }
}

/// The longest a service may set between reviews: every case is reviewed at least every 3 months.
pub const MAX_REVIEW_INTERVAL_DAYS: u32 = 92;

/// Why a review interval was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Reviews must be at least every 3 months: choose between 7 and 92 days")]
pub struct ReviewIntervalError;

/// A service's review interval in days, from 7 to 92.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewInterval(u32);

impl ReviewInterval {
    /// Checks the interval is between a week and three months.
    pub fn days(days: u32) -> Result<Self, ReviewIntervalError> {
        if (7..=MAX_REVIEW_INTERVAL_DAYS).contains(&days) {
            Ok(Self(days))
        } else {
            Err(ReviewIntervalError)
        }
    }

    /// The number of days.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

/// When the next review falls due: the interval after the last review, or after the case opened
/// (or reopened) when it has not been reviewed since.
#[must_use]
pub fn review_due(
    opened_on: NaiveDate,
    last_review: Option<NaiveDate>,
    interval: ReviewInterval,
) -> NaiveDate {
    let from = last_review.map_or(opened_on, |r| r.max(opened_on));
    from.checked_add_days(Days::new(u64::from(interval.0)))
        .unwrap_or(NaiveDate::MAX)
}

/// Whether a capacity cap would be exceeded by one more open case.
#[must_use]
pub fn over_capacity(open_now: u32, cap: Option<u32>) -> bool {
    cap.is_some_and(|c| open_now >= c)
}

/// Buckets for the duration of support, so reports show a distribution and not only a mean.
pub const DURATION_BUCKETS: &[(i64, &str)] = &[
    (31, "Up to 1 month"),
    (92, "1 to 3 months"),
    (183, "3 to 6 months"),
    (274, "6 to 9 months"),
    (365, "9 to 12 months"),
    (i64::MAX, "More than 12 months"),
];

/// The bucket of [`DURATION_BUCKETS`] a duration in days falls in.
#[must_use]
pub fn duration_bucket(days: i64) -> usize {
    DURATION_BUCKETS
        .iter()
        .position(|(max, _)| days <= *max)
        .unwrap_or(DURATION_BUCKETS.len() - 1)
}

/// Parses a comma-separated list of codes of one kind, refusing unknown codes by name.
pub fn parse_codes<T>(text: &str, from_code: fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| from_code(c).ok_or_else(|| c.to_owned()))
        .collect()
}

/// SNOMED CT concepts the message back to the GP uses (national social prescribing codes).
pub mod snomed {
    /// "Referral to social prescribing service".
    pub const REFERRAL_TO_SOCIAL_PRESCRIBING: &str = "871731000000106";
    /// "Social prescribing declined".
    pub const SOCIAL_PRESCRIBING_DECLINED: &str = "871711000000103";
    /// "Patient discharge" (a procedure): the discharge code of a Focused Care or other
    /// personalised care service, which has no concept of its own.
    pub const PATIENT_DISCHARGE: &str = "58000006";
}

/// What a discharge should make the worker look at twice before it is recorded: warnings, never a
/// block (issue 16, item 8). The worker confirms a discharge with warnings by giving a reason, and
/// the store records the warnings and the reason with the discharge.
///
/// "Goals met" with goals on the plan that all stand at 0% progress contradicts itself (a plan
/// with no goals is not warned about: there is nothing that contradicts the reason). An outcome
/// measure the service's schedule asks for at discharge and not yet recorded in this episode is
/// warned about whatever the reason, except a death, when nobody can be asked.
/// `measures_missing` names those measures (their instrument names).
#[must_use]
pub fn discharge_warnings(
    reason: DischargeReason,
    goal_progress: &[u8],
    measures_missing: &[String],
) -> Vec<String> {
    let mut warnings = Vec::new();
    if reason == DischargeReason::GoalsMet
        && !goal_progress.is_empty()
        && goal_progress.iter().all(|&p| p == 0)
    {
        warnings.push(format!(
            "The reason is \"Goals met\" but {} at 0% progress",
            if goal_progress.len() == 1 {
                "the plan's one goal is".to_owned()
            } else {
                format!("all {} goals on the plan are", goal_progress.len())
            }
        ));
    }
    if reason != DischargeReason::Died {
        for name in measures_missing {
            warnings.push(format!(
                "The service's schedule asks for {name} at discharge and it has not been recorded"
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_met_with_every_goal_at_nought_is_warned_about() {
        let none: &[String] = &[];
        assert_eq!(
            discharge_warnings(DischargeReason::GoalsMet, &[0, 0], none),
            ["The reason is \"Goals met\" but all 2 goals on the plan are at 0% progress"]
        );
        assert_eq!(
            discharge_warnings(DischargeReason::GoalsMet, &[0], none),
            ["The reason is \"Goals met\" but the plan's one goal is at 0% progress"]
        );
        assert!(discharge_warnings(DischargeReason::GoalsMet, &[0, 10], none).is_empty());
        assert!(discharge_warnings(DischargeReason::GoalsMet, &[], none).is_empty());
        assert!(discharge_warnings(DischargeReason::Declined, &[0, 0], none).is_empty());
    }

    #[test]
    fn a_measure_due_at_discharge_is_warned_about_unless_the_person_died() {
        let due = ["ONS4".to_owned()];
        assert_eq!(
            discharge_warnings(DischargeReason::Declined, &[], &due),
            ["The service's schedule asks for ONS4 at discharge and it has not been recorded"]
        );
        assert_eq!(
            discharge_warnings(DischargeReason::GoalsMet, &[0], &due).len(),
            2
        );
        assert!(discharge_warnings(DischargeReason::Died, &[0], &due).is_empty());
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn waiting(urgency: Urgency, received_on: NaiveDate, flags: &[RiskFlag]) -> WaitingFacts {
        WaitingFacts {
            urgency,
            received_on,
            risk_flags: flags.to_vec(),
            from_cohort: false,
        }
    }

    #[test]
    fn urgency_outranks_a_short_wait_but_a_long_wait_catches_up() {
        let p = Prioritisation::default();
        let today = d(2026, 6, 1);
        let mut items = vec![
            (1, waiting(Urgency::Routine, d(2026, 5, 25), &[])),
            (2, waiting(Urgency::Urgent, d(2026, 5, 31), &[])),
            // 25 weeks waiting at 5 points a week is 125, more than urgent's 100.
            (3, waiting(Urgency::Routine, d(2025, 12, 1), &[])),
            (
                4,
                waiting(Urgency::Routine, d(2026, 5, 25), &[RiskFlag::Safeguarding]),
            ),
        ];
        p.order(&mut items, today);
        let keys: Vec<i32> = items.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, [3, 2, 4, 1]);
    }

    #[test]
    fn the_score_shows_its_parts() {
        let p = Prioritisation::default();
        let mut f = waiting(
            Urgency::Soon,
            d(2026, 5, 4),
            &[RiskFlag::LivesAlone, RiskFlag::LivesAlone],
        );
        f.from_cohort = true;
        let s = p.score(&f, d(2026, 6, 1));
        assert_eq!(s.total, 40 + 4 * 5 + 15 + 10);
        assert_eq!(
            s.parts.len(),
            4,
            "a repeated flag counts once: {:?}",
            s.parts
        );
        assert_eq!(s.parts[1], ("4 weeks waiting".to_owned(), 20));
    }

    #[test]
    fn ties_keep_the_longest_waiting_first() {
        let p = Prioritisation {
            per_week_waiting: 0,
            ..Prioritisation::default()
        };
        let mut items = vec![
            (9, waiting(Urgency::Soon, d(2026, 5, 30), &[])),
            (8, waiting(Urgency::Soon, d(2026, 5, 1), &[])),
        ];
        p.order(&mut items, d(2026, 6, 1));
        assert_eq!(items[0].0, 8);
    }

    #[test]
    fn focused_care_eligibility_is_advice_about_two_or_more_of_eight_domains() {
        let rule = EligibilityRule::NeedsInDomains(2);
        let one = rule.advise(&[NeedDomain::Housing, NeedDomain::Housing]);
        assert!(one.needs_override(), "one distinct domain is not enough");
        assert_eq!(
            one.text(),
            "Needs in 1 of 8 domains; this service suggests 2 or more."
        );
        let two = rule.advise(&[NeedDomain::Housing, NeedDomain::Finances]);
        assert!(!two.needs_override());
        assert!(!EligibilityRule::Open.advise(&[]).needs_override());
        assert_eq!(NeedDomain::ALL.len(), 8);
    }

    #[test]
    fn reviews_fall_due_an_interval_after_the_last_review_or_the_opening() {
        let every_3_months = ReviewInterval::days(92).unwrap();
        assert_eq!(
            review_due(d(2026, 1, 10), None, every_3_months),
            d(2026, 4, 12)
        );
        assert_eq!(
            review_due(d(2026, 1, 10), Some(d(2026, 3, 1)), every_3_months),
            d(2026, 6, 1)
        );
        // A review recorded before a reopening does not count: the clock starts at the reopening.
        assert_eq!(
            review_due(
                d(2026, 5, 1),
                Some(d(2026, 3, 1)),
                ReviewInterval::days(30).unwrap()
            ),
            d(2026, 5, 31)
        );
        assert!(ReviewInterval::days(93).is_err());
        assert!(ReviewInterval::days(0).is_err());
    }

    #[test]
    fn capacity_and_durations() {
        assert!(over_capacity(20, Some(20)));
        assert!(!over_capacity(19, Some(20)));
        assert!(!over_capacity(500, None));
        assert_eq!(duration_bucket(0), 0);
        assert_eq!(duration_bucket(92), 1);
        assert_eq!(duration_bucket(200), 3);
        assert_eq!(duration_bucket(4000), 5);
    }

    #[test]
    fn scores_changes_and_codes() {
        let two = DomainScore::new("Housing", 2).unwrap();
        let four = DomainScore::new("Housing", 4).unwrap();
        assert_eq!(Change::between(two, four), Change::Better(2));
        assert_eq!(Change::between(four, two).describe(), "Worse by 2");
        assert!(DomainScore::new("Housing", 6).is_err());
        assert_eq!(
            parse_codes("housing, finances", NeedDomain::from_code),
            Ok(vec![NeedDomain::Housing, NeedDomain::Finances])
        );
        assert_eq!(
            parse_codes("housing,nope", NeedDomain::from_code),
            Err("nope".to_owned())
        );
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::from_code(s.code()), Some(*s));
        }
        assert!(!CaseStatus::Discharged.is_active());
        assert!(CaseStatus::OnHold.is_active());
    }
}
