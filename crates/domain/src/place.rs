//! The place partnership: the organisations that plan care together for one place (a PCN, a
//! locality or any set of practices and LSOAs), the words of their shared workspace, and who may
//! open it.
//!
//! A workspace holds only aggregate and partnership material (population figures already through
//! disclosure control, survey answers stripped of identifiers, notes, the clinical group's answers,
//! actions, self-assessments), never a person's record. Access is still need-to-know by
//! partnership: [`place_access`] is the one function that decides it, so that adding a role (such
//! as a PCN manager) is one line here. Everything here is pure: no IO, no wire format.

use crate::access::{Principal, Role};
use crate::entities::text_enum;
use crate::OrganisationId;

/// What a partner may do in a place's workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlaceAccess {
    /// Reads the workspace and contributes to it: survey imports, notes, answers, catalogue
    /// entries, events, actions and self-assessments.
    Partner,
    /// Also changes who the partners are: an admin or a commissioner of a partner organisation.
    Lead,
}

impl PlaceAccess {
    /// The reason as stored in the audit log.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Partner => "place_partner",
            Self::Lead => "place_lead",
        }
    }

    /// Whether they may add or remove partner organisations.
    #[must_use]
    pub fn may_manage_partners(self) -> bool {
        self == Self::Lead
    }
}

/// The roles that take part in a place partnership, and what each may do there. A PCN or practice
/// manager leads: they are the ones who convene the partnership and bring their organisation to
/// it. Workers and referrers meet people rather than plan for a place, so they have no part here.
fn role_access(role: Role) -> Option<PlaceAccess> {
    match role {
        Role::Admin | Role::Commissioner | Role::Manager => Some(PlaceAccess::Lead),
        Role::Supervisor | Role::Analyst => Some(PlaceAccess::Partner),
        Role::Worker | Role::Referrer => None,
    }
}

/// Decides what `who` may do in the workspace of a place whose partners are `partners`: the most
/// a role of theirs in a partner organisation gives, or `None` when they hold no such role (the
/// workspace then does not exist for them).
#[must_use]
pub fn place_access(who: &Principal, partners: &[OrganisationId]) -> Option<PlaceAccess> {
    who.memberships
        .iter()
        .filter(|m| partners.contains(&m.organisation))
        .filter_map(|m| role_access(m.role))
        .max()
}

/// Whether `who` may start a workspace: anyone whose role would lead one, with their own
/// organisation as its first partner.
#[must_use]
pub fn can_start_workspace(who: &Principal) -> bool {
    who.memberships
        .iter()
        .any(|m| role_access(m.role) == Some(PlaceAccess::Lead))
}

/// Whether `who` may see the place section at all (the navigation link): anyone whose role takes
/// part in partnerships. Which workspaces they see is [`place_access`]'s decision.
#[must_use]
pub fn takes_part_in_places(who: &Principal) -> bool {
    who.memberships
        .iter()
        .any(|m| role_access(m.role).is_some())
}

text_enum!(
    /// The four questions the place's clinical group answers before the solution-building event.
    Question {
        BestPractice => "best_practice", "What emerging clinical and professional good practice fits this population?";
        Innovation => "innovation", "Which innovations and new models of care should we consider?";
        Integration => "integration", "How would a less fragmented, more joined-up approach help here?";
        LongTerm => "long_term", "Which longer-term approach to health and wellbeing would work in this place?";
    }
);

text_enum!(
    /// What an answer to one of the four questions rests on.
    EvidenceKind {
        Chart => "chart", "A chart of the population profile";
        Cohort => "cohort", "A cohort";
        Practice => "practice", "A good-practice catalogue entry";
    }
);

text_enum!(
    /// How strong the evidence behind a good-practice entry is, weakest first.
    EvidenceStrength {
        Reported => "reported", "Reported figures or views, no before-and-after measure";
        BeforeAfter => "before_after", "Before and after only";
        ComparisonGroup => "comparison_group", "Compared with a similar group";
        Trial => "trial", "Randomised trial";
    }
);

text_enum!(
    /// The tier of an integrated care system an approach belongs to.
    Tier {
        System => "system", "System";
        Place => "place", "Place";
        Neighbourhood => "neighbourhood", "Neighbourhood";
    }
);

text_enum!(
    /// How far an approach is in place, as a partnership scores it, lowest first.
    Score {
        NotStarted => "not_started", "Not started";
        Developing => "developing", "Developing";
        Established => "established", "Established";
        Embedded => "embedded", "Embedded";
    }
);

text_enum!(
    /// What was said at a solution-building event.
    EventItemKind {
        Proposal => "proposal", "Proposal";
        Decision => "decision", "Decision";
    }
);

text_enum!(
    /// Notes from listening to the community.
    NoteKind {
        Roadshow => "roadshow", "Roadshow";
        Engagement => "engagement", "Engagement event";
    }
);

impl Score {
    /// The score as a number from 0 (not started) to 3 (embedded), for comparing assessments.
    #[must_use]
    pub fn rank(self) -> u8 {
        match self {
            Self::NotStarted => 0,
            Self::Developing => 1,
            Self::Established => 2,
            Self::Embedded => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Membership;
    use crate::UserId;

    const PARTNER: OrganisationId = OrganisationId::new(1);
    const OTHER: OrganisationId = OrganisationId::new(2);

    fn holding(roles: &[(Role, OrganisationId)]) -> Principal {
        Principal {
            user: UserId::new(1),
            memberships: roles
                .iter()
                .map(|&(role, organisation)| Membership { organisation, role })
                .collect(),
        }
    }

    #[test]
    fn partners_take_part_by_role_and_others_do_not() {
        let partners = [PARTNER];
        let cases = [
            (Role::Admin, PARTNER, Some(PlaceAccess::Lead)),
            (Role::Commissioner, PARTNER, Some(PlaceAccess::Lead)),
            (Role::Manager, PARTNER, Some(PlaceAccess::Lead)),
            (Role::Supervisor, PARTNER, Some(PlaceAccess::Partner)),
            (Role::Analyst, PARTNER, Some(PlaceAccess::Partner)),
            (Role::Worker, PARTNER, None),
            (Role::Referrer, PARTNER, None),
            (Role::Commissioner, OTHER, None),
            (Role::Admin, OTHER, None),
            (Role::Manager, OTHER, None),
        ];
        for (role, at, expected) in cases {
            assert_eq!(
                place_access(&holding(&[(role, at)]), &partners),
                expected,
                "{role:?} at {at}"
            );
        }
    }

    #[test]
    fn the_strongest_role_in_a_partner_counts() {
        let who = holding(&[(Role::Analyst, PARTNER), (Role::Commissioner, OTHER)]);
        assert_eq!(place_access(&who, &[PARTNER]), Some(PlaceAccess::Partner));
        assert_eq!(
            place_access(&who, &[PARTNER, OTHER]),
            Some(PlaceAccess::Lead)
        );
        assert!(can_start_workspace(&who));
        assert!(!can_start_workspace(&holding(&[(Role::Analyst, PARTNER)])));
        assert!(!takes_part_in_places(&holding(&[(Role::Worker, PARTNER)])));
        assert!(PlaceAccess::Lead.may_manage_partners());
        assert!(!PlaceAccess::Partner.may_manage_partners());
    }

    #[test]
    fn scores_rank_from_not_started_to_embedded() {
        let ranks: Vec<u8> = Score::ALL.iter().map(|s| s.rank()).collect();
        assert_eq!(ranks, [0, 1, 2, 3]);
    }
}
