//! MDT (multidisciplinary team) meetings: who holds one ([`MeetingHost`]), the lists its agenda is
//! built from ([`AgendaList`]), the flags a worker sets on a case that feed two of those lists
//! ([`CaseFlagKind`]), how a decision was told to the person ([`ToldHow`]), and who may see a
//! meeting ([`can_see_meeting`]).
//!
//! A meeting is not a window onto every case on its agenda: seeing the meeting (its date, members
//! and how many cases it discusses) is decided here, but each case's details are shown only to a
//! viewer whom [`crate::access::can_read_person`] allows for that person. Everything here is pure:
//! no IO, no wire format.

use crate::access::{Principal, Role};
use crate::entities::text_enum;
pub use crate::ids::MeetingId;
use crate::{OrganisationId, ServiceId, UserId};

text_enum!(
    /// The lists a team may choose to build a meeting's agenda from (seed 003 l.447–475).
    AgendaList {
        HighRisk => "high_risk", "High risk";
        HospitalDischarge => "hospital_discharge", "Recently discharged from hospital";
        WorriedAbout => "worried_about", "Workers are worried about them";
        ReviewDue => "review_due", "Review due";
        Worklist => "worklist", "On a population worklist";
    }
);

/// Why an agenda item is there: a chosen list, or a worker added the case by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgendaReason {
    List(AgendaList),
    ByHand,
}

impl AgendaReason {
    /// The stored code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::List(l) => l.code(),
            Self::ByHand => "by_hand",
        }
    }

    /// The words shown to people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::List(l) => l.label(),
            Self::ByHand => "Added by hand",
        }
    }

    /// Parses a stored code; `None` for anything unknown.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        if code == "by_hand" {
            Some(Self::ByHand)
        } else {
            AgendaList::from_code(code).map(Self::List)
        }
    }
}

text_enum!(
    /// A flag a worker sets on a case so that the next MDT discusses it.
    CaseFlagKind {
        WorriedAbout => "worried_about", "Worried about";
        HospitalDischarge => "hospital_discharge", "Discharged from hospital";
    }
);

text_enum!(
    /// How the MDT's decision was told to the person (seed 003 l.730: decisions are told, and
    /// how is recorded).
    ToldHow {
        InPerson => "in_person", "In person";
        Phone => "phone", "By phone";
        Video => "video", "By video call";
        Letter => "letter", "By letter or email";
        ThroughCarer => "through_carer", "Through their carer, as they asked";
    }
);

/// How many days after a discharge from hospital a case stays on the "recently discharged" list:
/// four weeks, the window in which readmission is most likely and follow-up matters most.
pub const RECENT_HOSPITAL_DISCHARGE_DAYS: i64 = 28;

/// Who holds a meeting: the team that works a casework service (its staff may come from several
/// employers), or a GP practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingHost {
    Team(ServiceId),
    Practice(OrganisationId),
}

/// What the store knows about a meeting, gathered before asking [`can_see_meeting`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeetingFacts {
    /// The organisations that hold the meeting: a team's service provider and partner employers,
    /// or the practice.
    pub organisations: Vec<OrganisationId>,
    /// The meeting's core members (accounts).
    pub core_members: Vec<UserId>,
}

/// Why a meeting may be seen; recorded as the audit row's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingGrant {
    HostOrganisation,
    CoreMember,
}

impl MeetingGrant {
    /// The reason as stored in the audit log.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::HostOrganisation => "mdt_host_organisation",
            Self::CoreMember => "mdt_core_member",
        }
    }
}

fn clinical(who: &Principal) -> bool {
    who.has_role(Role::Worker) || who.has_role(Role::Supervisor)
}

/// Decides whether `who` may see (and work on) the meeting `facts` describes; `None` refuses.
///
/// Workers and supervisors of a host organisation see it, and so do core members from other
/// organisations (a district nurse with an account, say). Referrers, analysts, commissioners and
/// admins never do, even as listed members: a meeting discusses people by name.
#[must_use]
pub fn can_see_meeting(who: &Principal, facts: &MeetingFacts) -> Option<MeetingGrant> {
    if !clinical(who) {
        return None;
    }
    let member_of_host = who.memberships.iter().any(|m| {
        matches!(m.role, Role::Worker | Role::Supervisor)
            && facts.organisations.contains(&m.organisation)
    });
    if member_of_host {
        return Some(MeetingGrant::HostOrganisation);
    }
    if facts.core_members.contains(&who.user) {
        return Some(MeetingGrant::CoreMember);
    }
    None
}

/// Whether `who` may plan a meeting for a host whose organisations are `organisations`: workers
/// and supervisors of one of them.
#[must_use]
pub fn can_plan_meeting(who: &Principal, organisations: &[OrganisationId]) -> bool {
    can_see_meeting(
        who,
        &MeetingFacts {
            organisations: organisations.to_vec(),
            core_members: Vec::new(),
        },
    )
    .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Membership;

    const HOST: OrganisationId = OrganisationId::new(1);
    const OTHER: OrganisationId = OrganisationId::new(2);

    fn who(user: i64, role: Role, org: OrganisationId) -> Principal {
        Principal {
            user: UserId::new(user),
            memberships: vec![Membership {
                organisation: org,
                role,
            }],
        }
    }

    fn facts() -> MeetingFacts {
        MeetingFacts {
            organisations: vec![HOST],
            core_members: vec![UserId::new(30), UserId::new(40)],
        }
    }

    #[test]
    fn workers_and_supervisors_of_a_host_organisation_see_the_meeting() {
        for role in [Role::Worker, Role::Supervisor] {
            assert_eq!(
                can_see_meeting(&who(10, role, HOST), &facts()),
                Some(MeetingGrant::HostOrganisation)
            );
            assert_eq!(can_see_meeting(&who(11, role, OTHER), &facts()), None);
        }
    }

    #[test]
    fn core_members_from_elsewhere_see_it_only_with_a_clinical_role() {
        assert_eq!(
            can_see_meeting(&who(30, Role::Worker, OTHER), &facts()),
            Some(MeetingGrant::CoreMember)
        );
        // User 40 is listed as a core member but holds only an admin role now.
        assert_eq!(can_see_meeting(&who(40, Role::Admin, HOST), &facts()), None);
    }

    #[test]
    fn referrers_analysts_commissioners_and_admins_never_see_or_plan_one() {
        for role in [
            Role::Referrer,
            Role::Analyst,
            Role::Commissioner,
            Role::Admin,
        ] {
            assert_eq!(
                can_see_meeting(&who(50, role, HOST), &facts()),
                None,
                "{role:?}"
            );
            assert!(!can_plan_meeting(&who(50, role, HOST), &[HOST]), "{role:?}");
        }
        assert!(can_plan_meeting(&who(10, Role::Worker, HOST), &[HOST]));
        assert!(!can_plan_meeting(&who(10, Role::Worker, OTHER), &[HOST]));
    }

    #[test]
    fn reasons_round_trip_through_their_codes() {
        for l in AgendaList::ALL {
            let r = AgendaReason::List(*l);
            assert_eq!(AgendaReason::from_code(r.code()), Some(r));
        }
        assert_eq!(
            AgendaReason::from_code("by_hand"),
            Some(AgendaReason::ByHand)
        );
        assert_eq!(AgendaReason::from_code("gossip"), None);
    }
}
