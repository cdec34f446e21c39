//! Significant events and good news: what a worker saw that the system should know about (a
//! housing delay, a benefit sanction, a long mental health wait, a service that failed someone) or
//! that went well, tagged by theme so that the board sees patterns, not people.
//!
//! An event is recorded by a worker, from a case or on its own, for one casework service.
//! [`EventKind`] says which it is; themes are a configurable list held in the store. When it is
//! linked to a case the description may say things about a person even though the form asks it not
//! to, so [`can_see_event`] keeps the description to the recorder, supervisors of the recorder's
//! organisation (who also review escalations to the board) and the case's current care team.
//! Everyone else, including analysts and commissioners, sees counts only, through
//! [`crate::disclosure::SafeCount`]. Everything here is pure: no IO, no wire format.

use crate::access::{Principal, Role};
use crate::entities::text_enum;
use crate::{OrganisationId, UserId};

text_enum!(
    /// Whether an event is a concern for the system or something that went well.
    EventKind {
        Significant => "significant_event", "Significant event";
        GoodNews => "good_news", "Good news";
    }
);

/// What the store knows about one event, gathered before asking [`can_see_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    /// The worker who recorded it.
    pub recorded_by: UserId,
    /// The organisation the recorder worked for when they recorded it.
    pub organisation: OrganisationId,
    /// The current workers of the linked case; empty when the event has no case.
    pub case_team: Vec<UserId>,
}

/// Why someone may read an event; recorded as the audit row's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventGrant {
    /// They recorded it.
    Recorder,
    /// They supervise for the recorder's organisation, and so review its escalations.
    Supervisor,
    /// They work the linked case now.
    CareTeam,
}

impl EventGrant {
    /// The reason as stored in the audit log.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Recorder => "recorder",
            Self::Supervisor => "supervisor_of_recorder",
            Self::CareTeam => "case_care_team",
        }
    }

    /// Whether the grant lets them mark an escalation as taken to the board.
    #[must_use]
    pub fn may_review(self) -> bool {
        self == Self::Supervisor
    }
}

/// Decides whether `who` may read an event's description: its recorder, a supervisor of the
/// organisation it was recorded for, and the linked case's current workers. Admins, analysts,
/// commissioners and referrers never do; they see counts.
#[must_use]
pub fn can_see_event(who: &Principal, facts: &EventFacts) -> Option<EventGrant> {
    let clinical = who.has_role(Role::Worker) || who.has_role(Role::Supervisor);
    if clinical && who.user == facts.recorded_by {
        return Some(EventGrant::Recorder);
    }
    if who.has_role_in(Role::Supervisor, facts.organisation) {
        return Some(EventGrant::Supervisor);
    }
    if clinical && facts.case_team.contains(&who.user) {
        return Some(EventGrant::CareTeam);
    }
    None
}

/// Whether `who` may record events at all: workers and supervisors, who meet people.
#[must_use]
pub fn can_record_events(who: &Principal) -> bool {
    who.has_role(Role::Worker) || who.has_role(Role::Supervisor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Membership;

    const ORG: OrganisationId = OrganisationId::new(1);
    const OTHER: OrganisationId = OrganisationId::new(2);

    fn person(user: i64, role: Role, organisation: OrganisationId) -> Principal {
        Principal {
            user: UserId::new(user),
            memberships: vec![Membership { organisation, role }],
        }
    }

    fn facts() -> EventFacts {
        EventFacts {
            recorded_by: UserId::new(10),
            organisation: ORG,
            case_team: vec![UserId::new(11)],
        }
    }

    #[test]
    fn recorder_supervisor_and_care_team_read_and_nobody_else() {
        let f = facts();
        let cases = [
            (person(10, Role::Worker, ORG), Some(EventGrant::Recorder)),
            (
                person(20, Role::Supervisor, ORG),
                Some(EventGrant::Supervisor),
            ),
            (person(11, Role::Worker, OTHER), Some(EventGrant::CareTeam)),
            (person(21, Role::Supervisor, OTHER), None),
            (person(22, Role::Worker, ORG), None),
            (person(23, Role::Admin, ORG), None),
            (person(24, Role::Analyst, ORG), None),
            (person(25, Role::Commissioner, ORG), None),
            (person(26, Role::Referrer, ORG), None),
        ];
        for (who, expected) in cases {
            assert_eq!(can_see_event(&who, &f), expected, "user {}", who.user);
        }
        // A care-team member who is now only an admin has no clinical reason to read it.
        assert_eq!(can_see_event(&person(11, Role::Admin, ORG), &f), None);
    }

    #[test]
    fn only_supervisors_review_and_only_clinical_staff_record() {
        assert!(EventGrant::Supervisor.may_review());
        assert!(!EventGrant::Recorder.may_review());
        assert!(!EventGrant::CareTeam.may_review());
        assert!(can_record_events(&person(1, Role::Worker, ORG)));
        assert!(!can_record_events(&person(1, Role::Analyst, ORG)));
    }
}
