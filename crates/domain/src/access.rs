//! The access policy: every read of personal data asks this module first.
//!
//! careweave is shared by several employers, so access is need-to-know rather than by organisation:
//!
//! - a **worker** sees a person when they are in that person's care team, or when a referral for the
//!   person waits with an organisation the worker belongs to (so it can be triaged);
//! - a **supervisor** also sees people cared for by staff of the organisations they supervise;
//! - a **referrer** sees the people they referred, so they can follow the outcome;
//! - **analysts** and **commissioners** see aggregates only, never a person;
//! - an **admin** manages accounts and reads the audit log, but never a person's record.
//!
//! A decision carries the reason it was allowed, which the audit log records as the "why".

use crate::entities::text_enum;
use crate::{OrganisationId, UserId};

text_enum!(
    /// A sign-in role, held within one organisation.
    Role {
        Admin => "admin", "Administrator";
        Worker => "worker", "Worker";
        Supervisor => "supervisor", "Supervisor";
        Referrer => "referrer", "Referrer";
        Analyst => "analyst", "Analyst";
        Commissioner => "commissioner", "Commissioner";
    }
);

/// One role held in one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub organisation: OrganisationId,
    pub role: Role,
}

/// The signed-in user as the policy sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    pub memberships: Vec<Membership>,
}

impl Principal {
    /// Whether the user holds `role` in any organisation.
    #[must_use]
    pub fn has_role(&self, role: Role) -> bool {
        self.memberships.iter().any(|m| m.role == role)
    }

    /// Whether the user holds `role` in `organisation`.
    #[must_use]
    pub fn has_role_in(&self, role: Role, organisation: OrganisationId) -> bool {
        self.memberships
            .iter()
            .any(|m| m.role == role && m.organisation == organisation)
    }

    fn belongs_to_any(&self, roles: &[Role], organisations: &[OrganisationId]) -> bool {
        self.memberships
            .iter()
            .any(|m| roles.contains(&m.role) && organisations.contains(&m.organisation))
    }
}

/// What the store knows about a person's care relationships, gathered before asking the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CareFacts {
    /// Users in the person's care team.
    pub care_team: Vec<UserId>,
    /// The employers of the care team's members.
    pub care_team_employers: Vec<OrganisationId>,
    /// Organisations with which a referral for the person is waiting.
    pub pending_with: Vec<OrganisationId>,
    /// Organisations that accepted a directory referral for the person recently (the store's
    /// window is 90 days from the acceptance): they are giving the support and need the person's
    /// contact details to arrange it.
    pub accepted_by: Vec<OrganisationId>,
    /// Users who referred the person.
    pub referred_by: Vec<UserId>,
    /// Organisations that may act on a case-finding worklist the person is on: their registered
    /// practice and the PCN it belongs to, which hold the direct-care relationship that case
    /// finding is part of. Empty when the person is on no current worklist.
    pub case_finding_with: Vec<OrganisationId>,
}

/// Why a read was allowed; recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    CareTeamMember,
    ReferralWaitsWithMyOrganisation,
    ReferralAcceptedByMyOrganisation,
    SupervisesCareTeam,
    Referrer,
    CaseFindingWorklist,
}

impl Grant {
    /// The reason as stored in the audit log.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::CareTeamMember => "care_team_member",
            Self::ReferralWaitsWithMyOrganisation => "referral_waits_with_my_organisation",
            Self::ReferralAcceptedByMyOrganisation => "referral_accepted_by_my_organisation",
            Self::SupervisesCareTeam => "supervises_care_team",
            Self::Referrer => "referrer",
            Self::CaseFindingWorklist => "case_finding_worklist",
        }
    }
}

/// The outcome of asking whether a principal may read a person's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow(Grant),
    Deny,
}

/// Decides whether `who` may read the personal record described by `facts`.
#[must_use]
pub fn can_read_person(who: &Principal, facts: &CareFacts) -> Decision {
    let clinical = [Role::Worker, Role::Supervisor];
    if who.memberships.iter().any(|m| clinical.contains(&m.role))
        && facts.care_team.contains(&who.user)
    {
        return Decision::Allow(Grant::CareTeamMember);
    }
    if who.belongs_to_any(&clinical, &facts.pending_with) {
        return Decision::Allow(Grant::ReferralWaitsWithMyOrganisation);
    }
    if who.belongs_to_any(&clinical, &facts.accepted_by) {
        return Decision::Allow(Grant::ReferralAcceptedByMyOrganisation);
    }
    if who.belongs_to_any(&[Role::Supervisor], &facts.care_team_employers) {
        return Decision::Allow(Grant::SupervisesCareTeam);
    }
    if who.has_role(Role::Referrer) && facts.referred_by.contains(&who.user) {
        return Decision::Allow(Grant::Referrer);
    }
    // Case finding is direct care by the person's own practice and PCN: their workers may open
    // the record of someone a current worklist found, to decide whether to offer support. Other
    // organisations wait for a referral.
    if who.belongs_to_any(&clinical, &facts.case_finding_with) {
        return Decision::Allow(Grant::CaseFindingWorklist);
    }
    Decision::Deny
}

/// Whether `who`, whom [`can_read_person`] let read the person with `grant`, may change one of
/// the person's casework cases: workers and supervisors of the organisations that run the case's
/// service (`runs_service`), and the case's own current workers (`works_on_case`, a co-worker from
/// another employer). Reading is wider than changing: a referral waiting with an organisation, a
/// worklist or another case opens the record so that its holder can decide and follow up, never so
/// that they can write in a case another service runs.
#[must_use]
pub fn can_change_case(
    who: &Principal,
    grant: Grant,
    runs_service: &[OrganisationId],
    works_on_case: bool,
) -> bool {
    grant != Grant::Referrer
        && (works_on_case || who.belongs_to_any(&[Role::Worker, Role::Supervisor], runs_service))
}

/// Whether `who` may see aggregate (disclosure-controlled) population figures.
#[must_use]
pub fn can_read_aggregates(who: &Principal) -> bool {
    who.memberships.iter().any(|m| {
        matches!(
            m.role,
            Role::Analyst | Role::Commissioner | Role::Supervisor
        )
    })
}

/// Whether `who` may manage accounts and memberships of `organisation`.
#[must_use]
pub fn can_manage_users(who: &Principal, organisation: OrganisationId) -> bool {
    who.has_role_in(Role::Admin, organisation)
}

/// Whether `who` may read the audit log (who looked at which record, and why).
#[must_use]
pub fn can_read_audit(who: &Principal) -> bool {
    who.has_role(Role::Admin)
}

/// Whether `who` works with people directly and so has a caseload page.
#[must_use]
pub fn has_caseload(who: &Principal) -> bool {
    who.has_role(Role::Worker) || who.has_role(Role::Supervisor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRACTICE: OrganisationId = OrganisationId::new(1);
    const CHARITY: OrganisationId = OrganisationId::new(2);
    const TRUST: OrganisationId = OrganisationId::new(3);

    fn principal(user: i64, role: Role, organisation: OrganisationId) -> Principal {
        Principal {
            user: UserId::new(user),
            memberships: vec![Membership { organisation, role }],
        }
    }

    fn cared_for_by_user_10_of_charity() -> CareFacts {
        CareFacts {
            care_team: vec![UserId::new(10)],
            care_team_employers: vec![CHARITY],
            pending_with: vec![],
            accepted_by: vec![],
            referred_by: vec![UserId::new(30)],
            case_finding_with: vec![],
        }
    }

    #[test]
    fn only_the_service_and_the_case_s_workers_change_a_case() {
        let pcn_service = [TRUST];
        let charity_worker = principal(10, Role::Worker, CHARITY);
        let grant = Grant::ReferralWaitsWithMyOrganisation;
        assert!(!can_change_case(
            &charity_worker,
            grant,
            &pcn_service,
            false
        ));
        assert!(can_change_case(
            &charity_worker,
            Grant::CareTeamMember,
            &pcn_service,
            true
        ));
        assert!(can_change_case(
            &principal(11, Role::Supervisor, TRUST),
            Grant::SupervisesCareTeam,
            &pcn_service,
            false
        ));
        // A referrer follows a case but never changes it, even one they work on.
        assert!(!can_change_case(
            &principal(12, Role::Referrer, TRUST),
            Grant::Referrer,
            &pcn_service,
            true
        ));
        // Analysts and admins of the service's organisation are not its caseworkers.
        assert!(!can_change_case(
            &principal(13, Role::Analyst, TRUST),
            Grant::CaseFindingWorklist,
            &pcn_service,
            false
        ));
    }

    #[test]
    fn care_team_worker_may_read_and_others_may_not() {
        let facts = cared_for_by_user_10_of_charity();
        assert_eq!(
            can_read_person(&principal(10, Role::Worker, CHARITY), &facts),
            Decision::Allow(Grant::CareTeamMember)
        );
        // A colleague at the same employer who is not in the care team has no need to know.
        assert_eq!(
            can_read_person(&principal(11, Role::Worker, CHARITY), &facts),
            Decision::Deny
        );
    }

    #[test]
    fn supervisors_see_their_organisations_caseload_only() {
        let facts = cared_for_by_user_10_of_charity();
        assert_eq!(
            can_read_person(&principal(20, Role::Supervisor, CHARITY), &facts),
            Decision::Allow(Grant::SupervisesCareTeam)
        );
        assert_eq!(
            can_read_person(&principal(21, Role::Supervisor, TRUST), &facts),
            Decision::Deny
        );
    }

    #[test]
    fn a_waiting_referral_opens_the_record_to_the_receiving_organisation() {
        let facts = CareFacts {
            pending_with: vec![TRUST],
            ..CareFacts::default()
        };
        assert_eq!(
            can_read_person(&principal(40, Role::Worker, TRUST), &facts),
            Decision::Allow(Grant::ReferralWaitsWithMyOrganisation)
        );
        assert_eq!(
            can_read_person(&principal(41, Role::Worker, PRACTICE), &facts),
            Decision::Deny
        );
    }

    #[test]
    fn an_accepted_referral_keeps_the_record_open_to_the_providing_organisation() {
        let facts = CareFacts {
            accepted_by: vec![CHARITY],
            ..CareFacts::default()
        };
        assert_eq!(
            can_read_person(&principal(50, Role::Worker, CHARITY), &facts),
            Decision::Allow(Grant::ReferralAcceptedByMyOrganisation)
        );
        for (user, role, org) in [
            (51, Role::Analyst, CHARITY),
            (52, Role::Admin, CHARITY),
            (53, Role::Worker, TRUST),
        ] {
            assert_eq!(
                can_read_person(&principal(user, role, org), &facts),
                Decision::Deny
            );
        }
    }

    #[test]
    fn a_worklist_opens_the_record_to_the_practice_and_pcn_workers_only() {
        let facts = CareFacts {
            case_finding_with: vec![PRACTICE],
            ..CareFacts::default()
        };
        assert_eq!(
            can_read_person(&principal(60, Role::Supervisor, PRACTICE), &facts),
            Decision::Allow(Grant::CaseFindingWorklist)
        );
        assert_eq!(
            can_read_person(&principal(61, Role::Worker, CHARITY), &facts),
            Decision::Deny
        );
        // Analysts see the worklist's aggregates, never the people on it.
        assert_eq!(
            can_read_person(&principal(62, Role::Analyst, PRACTICE), &facts),
            Decision::Deny
        );
    }

    #[test]
    fn referrers_follow_only_their_own_referrals() {
        let facts = cared_for_by_user_10_of_charity();
        assert_eq!(
            can_read_person(&principal(30, Role::Referrer, PRACTICE), &facts),
            Decision::Allow(Grant::Referrer)
        );
        assert_eq!(
            can_read_person(&principal(31, Role::Referrer, PRACTICE), &facts),
            Decision::Deny
        );
    }

    #[test]
    fn admins_analysts_and_commissioners_never_read_a_person() {
        // Even when listed in the care team by mistake, these roles do not open records.
        let mut facts = cared_for_by_user_10_of_charity();
        for (user, role) in [
            (50, Role::Admin),
            (51, Role::Analyst),
            (52, Role::Commissioner),
        ] {
            facts.care_team.push(UserId::new(user));
            facts.pending_with.push(CHARITY);
            assert_eq!(
                can_read_person(&principal(user, role, CHARITY), &facts),
                Decision::Deny
            );
        }
        assert!(can_read_aggregates(&principal(51, Role::Analyst, PRACTICE)));
        assert!(!can_read_aggregates(&principal(50, Role::Admin, PRACTICE)));
        assert!(can_read_audit(&principal(50, Role::Admin, PRACTICE)));
        assert!(!can_read_audit(&principal(10, Role::Worker, PRACTICE)));
    }
}
