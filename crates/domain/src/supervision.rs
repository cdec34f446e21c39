//! Supervision and training for staff: who may see a one-to-one supervision session
//! ([`can_see_session`]) and who may hold one ([`supervising_organisation`]); training records by
//! [`TrainingKind`], their expiry ([`expiry_date`], from a standard renewal period where the kind
//! has one) and [`TrainingStatus`]; and who may read or record someone's training
//! ([`can_manage_training`]).
//!
//! Supervision notes are staff personal data and often more sensitive than a case note: a worker
//! talks about their own wellbeing, stress at home or a complaint against them. So a session is
//! seen by two people only, the worker and the supervisor who held it, and by the supervisor only
//! while they are still a supervisor of the organisation the session was held for. A supervisor
//! who leaves (or stops supervising) loses access; the worker keeps it, since the notes are about
//! them. Admins, other supervisors, analysts and commissioners never see a session.
//!
//! Training records are less sensitive and are needed to run a safe team, so the person, any
//! supervisor of an organisation they belong to and that organisation's admins may read and record
//! them. Everything here is pure: no IO, no wire format.

use chrono::{Months, NaiveDate};

use crate::access::{Principal, Role};
use crate::entities::text_enum;
use crate::{OrganisationId, UserId};

/// How close an expiry date must be for training to show as "due".
pub const DUE_SOON_DAYS: i64 = 60;

/// What the store knows about one supervision session, gathered before asking [`can_see_session`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFacts {
    /// The worker who was supervised.
    pub worker: UserId,
    /// The supervisor who held the session and wrote the notes.
    pub supervisor: UserId,
    /// The organisation the supervisor supervised for when the session was held.
    pub organisation: OrganisationId,
}

/// Why someone may see a session; recorded as the audit row's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionGrant {
    /// The session is about them.
    Supervisee,
    /// They held it and still supervise for its organisation.
    Supervisor,
}

impl SessionGrant {
    /// The reason as stored in the audit log.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Supervisee => "supervisee",
            Self::Supervisor => "supervisor_of_session",
        }
    }
}

/// Decides whether `who` may see a session: the worker always, the supervisor who held it while
/// they remain a supervisor of the session's organisation, and nobody else.
#[must_use]
pub fn can_see_session(who: &Principal, facts: &SessionFacts) -> Option<SessionGrant> {
    if who.user == facts.worker {
        return Some(SessionGrant::Supervisee);
    }
    if who.user == facts.supervisor && who.has_role_in(Role::Supervisor, facts.organisation) {
        return Some(SessionGrant::Supervisor);
    }
    None
}

/// The organisation for which `who` may supervise `worker`: one where `who` is a supervisor and
/// `worker` is a worker or a supervisor. Nobody supervises themselves. `None` means `who` may not
/// hold a session with `worker`, nor see the list of their sessions.
#[must_use]
pub fn supervising_organisation(who: &Principal, worker: &Principal) -> Option<OrganisationId> {
    if who.user == worker.user {
        return None;
    }
    worker
        .memberships
        .iter()
        .filter(|m| matches!(m.role, Role::Worker | Role::Supervisor))
        .map(|m| m.organisation)
        .find(|&o| who.has_role_in(Role::Supervisor, o))
}

text_enum!(
    /// A kind of training. Safeguarding levels follow the intercollegiate documents for adults
    /// (2018) and children (2019).
    TrainingKind {
        Induction => "induction", "Induction";
        MentalHealthFirstAid => "mhfa", "Mental Health First Aid";
        SafeguardingAdults1 => "safeguarding_adults_1", "Safeguarding adults level 1";
        SafeguardingAdults2 => "safeguarding_adults_2", "Safeguarding adults level 2";
        SafeguardingAdults3 => "safeguarding_adults_3", "Safeguarding adults level 3";
        SafeguardingChildren1 => "safeguarding_children_1", "Safeguarding children level 1";
        SafeguardingChildren2 => "safeguarding_children_2", "Safeguarding children level 2";
        SafeguardingChildren3 => "safeguarding_children_3", "Safeguarding children level 3";
        Cpd => "cpd", "Continuing professional development (CPD)";
        Other => "other", "Other training";
    }
);

impl TrainingKind {
    /// The standard renewal period in years, where the kind has one: a Mental Health First Aid
    /// certificate lasts three years (MHFA England), and the intercollegiate documents ask for
    /// safeguarding training to be refreshed over three years. Induction happens once; CPD and
    /// other training expire only when the person recording them says so.
    #[must_use]
    pub fn renewal_years(self) -> Option<u32> {
        match self {
            Self::Induction | Self::Cpd | Self::Other => None,
            _ => Some(3),
        }
    }

    /// Whether the record must say what the course was (the kind alone does not).
    #[must_use]
    pub fn needs_title(self) -> bool {
        matches!(self, Self::Cpd | Self::Other)
    }
}

text_enum!(
    /// Where a training record stands on a given day.
    TrainingStatus {
        Current => "current", "Current";
        DueSoon => "due_soon", "Due within 60 days";
        Expired => "expired", "Expired";
    }
);

/// Why an expiry date was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("The expiry date must be after the date the training was completed")]
    NotAfterCompletion,
    #[error("The expiry date is too far in the future")]
    OutOfRange,
}

/// The expiry date of training completed on `completed`: the date entered when there is one (an
/// employer may ask for a shorter renewal than the standard), otherwise the standard renewal
/// period of the kind, otherwise none.
pub fn expiry_date(
    kind: TrainingKind,
    completed: NaiveDate,
    entered: Option<NaiveDate>,
) -> Result<Option<NaiveDate>, ExpiryError> {
    if let Some(date) = entered {
        return if date > completed {
            Ok(Some(date))
        } else {
            Err(ExpiryError::NotAfterCompletion)
        };
    }
    kind.renewal_years()
        .map(|years| {
            completed
                .checked_add_months(Months::new(12 * years))
                .ok_or(ExpiryError::OutOfRange)
        })
        .transpose()
}

/// The status on `today` of training that expires on `expires` (the first day it is no longer
/// valid): expired from that day, due within [`DUE_SOON_DAYS`] before it, otherwise current.
/// Training without an expiry date stays current.
#[must_use]
pub fn training_status(expires: Option<NaiveDate>, today: NaiveDate) -> TrainingStatus {
    match expires {
        Some(e) if e <= today => TrainingStatus::Expired,
        Some(e) if (e - today).num_days() <= DUE_SOON_DAYS => TrainingStatus::DueSoon,
        _ => TrainingStatus::Current,
    }
}

/// One training record as [`superseded`] compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CourseDone<'a> {
    pub kind: TrainingKind,
    pub title: &'a str,
    pub completed: NaiveDate,
}

/// For each record, whether a later record of the same course replaces it, so that an expired
/// certificate renewed since no longer shows as expired. A course is its kind and, for kinds that
/// need one, its title (ignoring case and spaces around it). CPD records never replace each other:
/// each is a separate piece of learning. Of two records completed the same day, the later in the
/// list wins.
#[must_use]
pub fn superseded(records: &[CourseDone<'_>]) -> Vec<bool> {
    let same = |a: &CourseDone<'_>, b: &CourseDone<'_>| {
        a.kind == b.kind
            && a.kind != TrainingKind::Cpd
            && (!a.kind.needs_title() || a.title.trim().eq_ignore_ascii_case(b.title.trim()))
    };
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            records.iter().enumerate().any(|(j, o)| {
                j != i
                    && same(r, o)
                    && (o.completed > r.completed || (o.completed == r.completed && j > i))
            })
        })
        .collect()
}

/// Why someone may read or record a staff member's training; recorded as the audit reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainingGrant {
    Own,
    SupervisesTheirOrganisation,
    AdminOfTheirOrganisation,
}

impl TrainingGrant {
    /// The reason as stored in the audit log.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Own => "own_training",
            Self::SupervisesTheirOrganisation => "supervises_their_organisation",
            Self::AdminOfTheirOrganisation => "admin_of_their_organisation",
        }
    }
}

/// Decides whether `who` may read and record `staff`'s training: the person themselves, a
/// supervisor of an organisation they belong to, or an admin of one.
#[must_use]
pub fn can_manage_training(who: &Principal, staff: &Principal) -> Option<TrainingGrant> {
    if who.user == staff.user {
        return Some(TrainingGrant::Own);
    }
    let theirs = |role| {
        staff
            .memberships
            .iter()
            .any(|m| who.has_role_in(role, m.organisation))
    };
    if theirs(Role::Supervisor) {
        return Some(TrainingGrant::SupervisesTheirOrganisation);
    }
    if theirs(Role::Admin) {
        return Some(TrainingGrant::AdminOfTheirOrganisation);
    }
    None
}

/// The organisations whose staff's training `who` sees in the team view: those where they are a
/// supervisor or an admin. Empty for everyone else, who has no team view.
#[must_use]
pub fn training_team_organisations(who: &Principal) -> Vec<OrganisationId> {
    let mut orgs: Vec<OrganisationId> = who
        .memberships
        .iter()
        .filter(|m| matches!(m.role, Role::Supervisor | Role::Admin))
        .map(|m| m.organisation)
        .collect();
    orgs.sort_unstable();
    orgs.dedup();
    orgs
}

/// Hours of continuing professional development, to the tenth of an hour (six minutes), as
/// people record them ("1.5"). Stored as tenths so that sums are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CpdHours(u32);

/// Why a number of CPD hours was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CpdHoursError {
    #[error("Enter the hours as a number, for example 1.5")]
    NotANumber,
    #[error("Enter hours between 0.1 and 500")]
    OutOfRange,
}

impl CpdHours {
    /// The most one record may claim: a long course, not a year's work typed by mistake.
    const MAX_TENTHS: u32 = 5000;

    /// Parses hours typed as a whole number or with one decimal place.
    pub fn parse(text: &str) -> Result<Self, CpdHoursError> {
        let t = text.trim();
        let (whole, tenth) = match t.split_once('.') {
            Some((w, f)) if f.len() == 1 => (w, f),
            Some(_) => return Err(CpdHoursError::NotANumber),
            None => (t, "0"),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(tenth) || whole.len() > 4 {
            return Err(CpdHoursError::NotANumber);
        }
        let tenths = whole
            .parse::<u32>()
            .map_err(|_| CpdHoursError::NotANumber)?
            * 10
            + tenth
                .parse::<u32>()
                .map_err(|_| CpdHoursError::NotANumber)?;
        Self::from_tenths(tenths)
    }

    /// Builds the value from stored tenths of an hour, refusing zero and more than 500 hours.
    pub fn from_tenths(tenths: u32) -> Result<Self, CpdHoursError> {
        if tenths == 0 || tenths > Self::MAX_TENTHS {
            return Err(CpdHoursError::OutOfRange);
        }
        Ok(Self(tenths))
    }

    /// Tenths of an hour.
    #[must_use]
    pub fn tenths(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for CpdHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_multiple_of(10) {
            write!(f, "{}", self.0 / 10)
        } else {
            write!(f, "{}.{}", self.0 / 10, self.0 % 10)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Membership;

    const CHARITY: OrganisationId = OrganisationId::new(1);
    const PCN: OrganisationId = OrganisationId::new(2);

    fn who(user: i64, roles: &[(Role, OrganisationId)]) -> Principal {
        Principal {
            user: UserId::new(user),
            memberships: roles
                .iter()
                .map(|&(role, organisation)| Membership { organisation, role })
                .collect(),
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    /// Worker 10 of the charity, supervised by 20 for the charity.
    fn session() -> SessionFacts {
        SessionFacts {
            worker: UserId::new(10),
            supervisor: UserId::new(20),
            organisation: CHARITY,
        }
    }

    #[test]
    fn the_worker_sees_their_own_session() {
        assert_eq!(
            can_see_session(&who(10, &[(Role::Worker, CHARITY)]), &session()),
            Some(SessionGrant::Supervisee)
        );
        // Even after leaving the organisation: the notes are about them.
        assert_eq!(
            can_see_session(&who(10, &[]), &session()),
            Some(SessionGrant::Supervisee)
        );
    }

    #[test]
    fn the_supervisor_who_held_it_sees_it_while_still_supervising_there() {
        let sup = who(20, &[(Role::Supervisor, CHARITY)]);
        assert_eq!(
            can_see_session(&sup, &session()),
            Some(SessionGrant::Supervisor)
        );
        // Moved to another employer, or now only a worker: no longer.
        assert_eq!(
            can_see_session(&who(20, &[(Role::Supervisor, PCN)]), &session()),
            None
        );
        assert_eq!(
            can_see_session(&who(20, &[(Role::Worker, CHARITY)]), &session()),
            None
        );
    }

    #[test]
    fn nobody_else_sees_a_session_whatever_their_role() {
        for role in Role::ALL {
            for org in [CHARITY, PCN] {
                assert_eq!(
                    can_see_session(&who(30, &[(*role, org)]), &session()),
                    None,
                    "{role:?} of {org:?}"
                );
            }
        }
    }

    #[test]
    fn a_supervisor_supervises_workers_and_supervisors_of_their_organisation_only() {
        let sup = who(20, &[(Role::Supervisor, CHARITY)]);
        assert_eq!(
            supervising_organisation(&sup, &who(10, &[(Role::Worker, CHARITY)])),
            Some(CHARITY)
        );
        assert_eq!(
            supervising_organisation(&sup, &who(11, &[(Role::Supervisor, CHARITY)])),
            Some(CHARITY)
        );
        assert_eq!(
            supervising_organisation(&sup, &who(12, &[(Role::Worker, PCN)])),
            None
        );
        for role in [
            Role::Admin,
            Role::Referrer,
            Role::Analyst,
            Role::Commissioner,
        ] {
            assert_eq!(
                supervising_organisation(&sup, &who(13, &[(role, CHARITY)])),
                None,
                "{role:?}"
            );
        }
        assert_eq!(supervising_organisation(&sup, &sup), None, "not oneself");
        for role in Role::ALL.iter().filter(|r| **r != Role::Supervisor) {
            assert_eq!(
                supervising_organisation(
                    &who(21, &[(*role, CHARITY)]),
                    &who(10, &[(Role::Worker, CHARITY)])
                ),
                None,
                "{role:?}"
            );
        }
    }

    #[test]
    fn training_is_managed_by_the_person_their_supervisors_and_their_admins() {
        let staff = who(10, &[(Role::Worker, CHARITY)]);
        let cases = [
            (
                who(10, &[(Role::Worker, CHARITY)]),
                Some(TrainingGrant::Own),
            ),
            (
                who(20, &[(Role::Supervisor, CHARITY)]),
                Some(TrainingGrant::SupervisesTheirOrganisation),
            ),
            (
                who(21, &[(Role::Admin, CHARITY)]),
                Some(TrainingGrant::AdminOfTheirOrganisation),
            ),
            (who(22, &[(Role::Supervisor, PCN)]), None),
            (who(23, &[(Role::Admin, PCN)]), None),
            (who(24, &[(Role::Worker, CHARITY)]), None),
            (who(25, &[(Role::Analyst, CHARITY)]), None),
            (who(26, &[(Role::Commissioner, CHARITY)]), None),
            (who(27, &[(Role::Referrer, CHARITY)]), None),
        ];
        for (viewer, expected) in cases {
            assert_eq!(can_manage_training(&viewer, &staff), expected, "{viewer:?}");
        }
    }

    #[test]
    fn the_team_view_belongs_to_supervisors_and_admins() {
        assert_eq!(
            training_team_organisations(&who(
                1,
                &[(Role::Supervisor, CHARITY), (Role::Admin, PCN)]
            )),
            vec![CHARITY, PCN]
        );
        for role in [
            Role::Worker,
            Role::Referrer,
            Role::Analyst,
            Role::Commissioner,
        ] {
            assert!(training_team_organisations(&who(1, &[(role, CHARITY)])).is_empty());
        }
    }

    #[test]
    fn expiry_is_computed_for_kinds_with_a_renewal_period_and_entered_otherwise() {
        let done = date(2024, 2, 29);
        assert_eq!(
            expiry_date(TrainingKind::MentalHealthFirstAid, done, None),
            Ok(Some(date(2027, 2, 28)))
        );
        assert_eq!(
            expiry_date(TrainingKind::SafeguardingChildren3, done, None),
            Ok(Some(date(2027, 2, 28)))
        );
        assert_eq!(expiry_date(TrainingKind::Induction, done, None), Ok(None));
        assert_eq!(expiry_date(TrainingKind::Cpd, done, None), Ok(None));
        // An employer's shorter renewal wins over the standard one.
        assert_eq!(
            expiry_date(
                TrainingKind::SafeguardingAdults2,
                done,
                Some(date(2025, 2, 28))
            ),
            Ok(Some(date(2025, 2, 28)))
        );
        assert_eq!(
            expiry_date(TrainingKind::Other, done, Some(done)),
            Err(ExpiryError::NotAfterCompletion)
        );
    }

    #[test]
    fn status_is_expired_due_soon_or_current() {
        let today = date(2026, 11, 23);
        assert_eq!(training_status(Some(today), today), TrainingStatus::Expired);
        assert_eq!(
            training_status(Some(date(2026, 1, 1)), today),
            TrainingStatus::Expired
        );
        assert_eq!(
            training_status(Some(date(2026, 11, 24)), today),
            TrainingStatus::DueSoon
        );
        assert_eq!(
            training_status(Some(today + chrono::Days::new(60)), today),
            TrainingStatus::DueSoon
        );
        assert_eq!(
            training_status(Some(today + chrono::Days::new(61)), today),
            TrainingStatus::Current
        );
        assert_eq!(training_status(None, today), TrainingStatus::Current);
    }

    #[test]
    fn a_renewed_course_supersedes_the_older_record_but_cpd_never_does() {
        let mhfa = |y| CourseDone {
            kind: TrainingKind::MentalHealthFirstAid,
            title: "",
            completed: date(y, 1, 1),
        };
        let other = |title, y| CourseDone {
            kind: TrainingKind::Other,
            title,
            completed: date(y, 1, 1),
        };
        let cpd = |y| CourseDone {
            kind: TrainingKind::Cpd,
            title: "Motivational interviewing",
            completed: date(y, 1, 1),
        };
        assert_eq!(
            superseded(&[
                mhfa(2020),
                mhfa(2023),
                other("Fire safety", 2021),
                other(" fire SAFETY", 2022),
                other("Manual handling", 2020),
                cpd(2020),
                cpd(2021),
            ]),
            vec![true, false, true, false, false, false, false]
        );
    }

    #[test]
    fn cpd_hours_parse_as_people_type_them() {
        assert_eq!(CpdHours::parse("1.5").map(CpdHours::tenths), Ok(15));
        assert_eq!(CpdHours::parse(" 7 ").map(CpdHours::tenths), Ok(70));
        assert_eq!(CpdHours::parse("7").map(|h| h.to_string()), Ok("7".into()));
        assert_eq!(
            CpdHours::parse("0.5").map(|h| h.to_string()),
            Ok("0.5".into())
        );
        for bad in ["", "abc", "1.25", "-1", "1,5", ".5"] {
            assert_eq!(
                CpdHours::parse(bad),
                Err(CpdHoursError::NotANumber),
                "{bad}"
            );
        }
        assert_eq!(CpdHours::parse("0"), Err(CpdHoursError::OutOfRange));
        assert_eq!(CpdHours::parse("500.1"), Err(CpdHoursError::OutOfRange));
    }
}
