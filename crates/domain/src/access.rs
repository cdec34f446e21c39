//! The access policy: every read of personal data asks this module first.
//!
//! careweave is shared by several employers, so access is need-to-know rather than by organisation:
//!
//! - a **worker** sees a person when they are in that person's care team, when a casework service
//!   their organisation runs has accepted the person's case and it waits for a worker to be
//!   allocated, for a while after their organisation accepted a directory referral for the person,
//!   or when a case-finding worklist of their practice or PCN found the person;
//! - a **supervisor** also sees people cared for by staff of the organisations they supervise;
//! - a **referral grants no record**: the referrer sees what they sent and its outcome on the
//!   referral itself, and the receiving team sees the referral (what was sent) until it is triaged;
//!   the record opens to the team only once the case is theirs (accepted), so naming someone in a
//!   referral can never be a way into their record;
//! - **analysts** and **commissioners** see aggregates only, never a person;
//! - a **manager** (of a primary care network or a practice) sees the aggregate reports, the
//!   workforce and the evaluation, and the population profile and worklists of their own practices
//!   (`store::population`), but opens no person's record unless they also hold a care role;
//! - an **admin** manages accounts and reads the audit log, but never a person's record;
//! - a person who **declined sharing** with an organisation is read by none of its staff, under
//!   any grant, except break-glass;
//! - **break-glass**: a worker or supervisor who gave a reason reads the record until the access
//!   they opened expires (the store keeps it, time-limited, and reports it for review).
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
        Manager => "manager", "Manager";
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
    /// Organisations running a casework service that accepted the person's case, while that case
    /// has no worker yet: the case is theirs, and someone there must read the record to allocate it.
    /// A referral still waiting for triage is not here: it opens the referral, never the record.
    pub case_awaits_worker_with: Vec<OrganisationId>,
    /// Organisations that accepted a directory referral for the person recently (the store's
    /// window is 90 days from the acceptance): they are giving the support and need the person's
    /// contact details to arrange it.
    pub accepted_by: Vec<OrganisationId>,
    /// Organisations that may act on a case-finding worklist the person is on: their registered
    /// practice and the PCN it belongs to, which hold the direct-care relationship that case
    /// finding is part of. Empty when the person is on no current worklist.
    pub case_finding_with: Vec<OrganisationId>,
    /// Organisations the person declined to share their record with (their latest recorded
    /// preferences): staff of these read nothing except by breaking glass.
    pub declined_organisations: Vec<OrganisationId>,
    /// Users holding an unexpired break-glass access to the person.
    pub break_glass: Vec<UserId>,
}

/// Why a read was allowed; recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    CareTeamMember,
    CaseAwaitsWorkerWithMyOrganisation,
    ReferralAcceptedByMyOrganisation,
    SupervisesCareTeam,
    CaseFindingWorklist,
    /// An emergency access with a recorded reason, time-limited and reviewed.
    BreakGlass,
}

impl Grant {
    /// The reason as stored in the audit log.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::CareTeamMember => "care_team_member",
            Self::CaseAwaitsWorkerWithMyOrganisation => "case_awaits_worker_with_my_organisation",
            Self::ReferralAcceptedByMyOrganisation => "referral_accepted_by_my_organisation",
            Self::SupervisesCareTeam => "supervises_care_team",
            Self::CaseFindingWorklist => "case_finding_worklist",
            Self::BreakGlass => "break_glass",
        }
    }

    /// Every grant, for readers of the audit log that turn stored codes back into words.
    pub const ALL: [Self; 6] = [
        Self::CareTeamMember,
        Self::CaseAwaitsWorkerWithMyOrganisation,
        Self::ReferralAcceptedByMyOrganisation,
        Self::SupervisesCareTeam,
        Self::CaseFindingWorklist,
        Self::BreakGlass,
    ];

    /// The reason in words, as an administrator reads it in the audit log.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::CareTeamMember => "Member of the care team",
            Self::CaseAwaitsWorkerWithMyOrganisation => {
                "Case waiting for a worker in their organisation"
            }
            Self::ReferralAcceptedByMyOrganisation => "Referral accepted by their organisation",
            Self::SupervisesCareTeam => "Supervises the care team",
            Self::CaseFindingWorklist => "On a case-finding worklist they may use",
            Self::BreakGlass => "Emergency access (break glass)",
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
    let broke_glass = who.memberships.iter().any(|m| clinical.contains(&m.role))
        && facts.break_glass.contains(&who.user);
    // Someone who holds any role in an organisation the person declined is that organisation's
    // staff, whichever hat they would read under: only break-glass, which is reviewed, opens it.
    if who
        .memberships
        .iter()
        .any(|m| facts.declined_organisations.contains(&m.organisation))
    {
        return if broke_glass {
            Decision::Allow(Grant::BreakGlass)
        } else {
            Decision::Deny
        };
    }
    match ordinary_grant(who, facts) {
        Some(grant) => Decision::Allow(grant),
        None if broke_glass => Decision::Allow(Grant::BreakGlass),
        None => Decision::Deny,
    }
}

/// The care relationship that lets `who` read, before preferences and break-glass are applied.
fn ordinary_grant(who: &Principal, facts: &CareFacts) -> Option<Grant> {
    let clinical = [Role::Worker, Role::Supervisor];
    if who.memberships.iter().any(|m| clinical.contains(&m.role))
        && facts.care_team.contains(&who.user)
    {
        return Some(Grant::CareTeamMember);
    }
    if who.belongs_to_any(&clinical, &facts.case_awaits_worker_with) {
        return Some(Grant::CaseAwaitsWorkerWithMyOrganisation);
    }
    if who.belongs_to_any(&clinical, &facts.accepted_by) {
        return Some(Grant::ReferralAcceptedByMyOrganisation);
    }
    if who.belongs_to_any(&[Role::Supervisor], &facts.care_team_employers) {
        return Some(Grant::SupervisesCareTeam);
    }
    // Case finding is direct care by the person's own practice and PCN: their workers may open
    // the record of someone a current worklist found, to decide whether to offer support. Other
    // organisations wait for a referral.
    if who.belongs_to_any(&clinical, &facts.case_finding_with) {
        return Some(Grant::CaseFindingWorklist);
    }
    None
}

/// Whether `who`, whom [`can_read_person`] let read the person, may change one of the person's
/// casework cases: workers and supervisors of the organisations that run the case's service
/// (`runs_service`), and the case's own current workers (`works_on_case`, a co-worker from another
/// employer). Reading is wider than changing: a worklist, an accepted directory referral or another
/// case opens the record so that its holder can decide and follow up, never so that they can write
/// in a case another service runs.
#[must_use]
pub fn can_change_case(
    who: &Principal,
    runs_service: &[OrganisationId],
    works_on_case: bool,
) -> bool {
    works_on_case || who.belongs_to_any(&[Role::Worker, Role::Supervisor], runs_service)
}

/// Whether `who` may see aggregate (disclosure-controlled) figures: reports, the workforce plan
/// and the evaluation. Which places' population profiles they see is decided by where they work
/// (`store::population::population_scope`).
#[must_use]
pub fn can_read_aggregates(who: &Principal) -> bool {
    who.memberships.iter().any(|m| {
        matches!(
            m.role,
            Role::Analyst | Role::Commissioner | Role::Supervisor | Role::Manager
        )
    })
}

/// Whether `who` may look people up by name, NHS number or date of birth (`/find`): those who
/// read records (workers, supervisors) and referrers, who find the referrals they sent. What a
/// search returns is still only what the policy lets each of them read.
#[must_use]
pub fn can_search_people(who: &Principal) -> bool {
    has_caseload(who) || who.has_role(Role::Referrer)
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
            case_awaits_worker_with: vec![],
            accepted_by: vec![],
            case_finding_with: vec![],
            declined_organisations: vec![],
            break_glass: vec![],
        }
    }

    #[test]
    fn only_the_service_and_the_case_s_workers_change_a_case() {
        let pcn_service = [TRUST];
        let charity_worker = principal(10, Role::Worker, CHARITY);
        assert!(!can_change_case(&charity_worker, &pcn_service, false));
        assert!(can_change_case(&charity_worker, &pcn_service, true));
        assert!(can_change_case(
            &principal(11, Role::Supervisor, TRUST),
            &pcn_service,
            false
        ));
        // A referrer of the service's own organisation is not one of its caseworkers.
        assert!(!can_change_case(
            &principal(12, Role::Referrer, TRUST),
            &pcn_service,
            false
        ));
        // Analysts and admins of the service's organisation are not its caseworkers.
        for (user, role) in [(13, Role::Analyst), (14, Role::Admin)] {
            assert!(!can_change_case(
                &principal(user, role, TRUST),
                &pcn_service,
                false
            ));
        }
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
    fn an_accepted_case_awaiting_a_worker_opens_the_record_to_the_service_s_organisations() {
        let facts = CareFacts {
            case_awaits_worker_with: vec![TRUST],
            ..CareFacts::default()
        };
        for role in [Role::Worker, Role::Supervisor] {
            assert_eq!(
                can_read_person(&principal(40, role, TRUST), &facts),
                Decision::Allow(Grant::CaseAwaitsWorkerWithMyOrganisation)
            );
        }
        for (user, role, org) in [
            (41, Role::Worker, PRACTICE),
            (42, Role::Referrer, TRUST),
            (43, Role::Analyst, TRUST),
            (44, Role::Admin, TRUST),
            (45, Role::Commissioner, TRUST),
        ] {
            assert_eq!(
                can_read_person(&principal(user, role, org), &facts),
                Decision::Deny
            );
        }
    }

    #[test]
    fn a_referral_grants_no_record_to_anyone() {
        // The facts of someone about whom referrals were sent and are waiting: nothing in them
        // names the referrer or the receiving organisation, so no role of either may read.
        let facts = CareFacts::default();
        for (user, role, org) in [
            (30, Role::Referrer, PRACTICE),
            (31, Role::Worker, TRUST),
            (32, Role::Supervisor, TRUST),
            (33, Role::Worker, CHARITY),
            (34, Role::Supervisor, CHARITY),
        ] {
            assert_eq!(
                can_read_person(&principal(user, role, org), &facts),
                Decision::Deny
            );
        }
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
    fn referrers_never_read_a_record_they_are_not_in_the_care_team_of() {
        // A referrer who is not a worker or supervisor does not open records, even one whose care
        // team lists them by mistake.
        let mut facts = cared_for_by_user_10_of_charity();
        facts.care_team.push(UserId::new(30));
        facts.case_finding_with.push(PRACTICE);
        facts.accepted_by.push(PRACTICE);
        facts.case_awaits_worker_with.push(PRACTICE);
        assert_eq!(
            can_read_person(&principal(30, Role::Referrer, PRACTICE), &facts),
            Decision::Deny
        );
    }

    #[test]
    fn admins_analysts_commissioners_and_managers_never_read_a_person() {
        // Even when listed in the care team by mistake, these roles do not open records: a
        // manager sees their practices' figures and worklists, never a record.
        let mut facts = cared_for_by_user_10_of_charity();
        for (user, role) in [
            (50, Role::Admin),
            (51, Role::Analyst),
            (52, Role::Commissioner),
            (53, Role::Manager),
        ] {
            facts.case_finding_with.push(CHARITY);
            facts.care_team.push(UserId::new(user));
            facts.case_awaits_worker_with.push(CHARITY);
            assert_eq!(
                can_read_person(&principal(user, role, CHARITY), &facts),
                Decision::Deny
            );
        }
        assert!(can_read_aggregates(&principal(51, Role::Analyst, PRACTICE)));
        assert!(can_read_aggregates(&principal(53, Role::Manager, PRACTICE)));
        assert!(!can_read_aggregates(&principal(50, Role::Admin, PRACTICE)));
        assert!(!can_search_people(&principal(53, Role::Manager, PRACTICE)));
        assert!(can_search_people(&principal(54, Role::Referrer, PRACTICE)));
        assert!(can_read_audit(&principal(50, Role::Admin, PRACTICE)));
        assert!(!can_read_audit(&principal(10, Role::Worker, PRACTICE)));
    }

    #[test]
    fn a_declined_organisation_s_staff_read_under_no_grant() {
        // Every ordinary grant names the charity, and the person declined the charity.
        let facts = CareFacts {
            care_team: vec![UserId::new(10)],
            care_team_employers: vec![CHARITY],
            case_awaits_worker_with: vec![CHARITY],
            accepted_by: vec![CHARITY],
            case_finding_with: vec![CHARITY],
            declined_organisations: vec![CHARITY],
            break_glass: vec![],
        };
        for (user, role) in [
            (10, Role::Worker),
            (11, Role::Worker),
            (12, Role::Supervisor),
            (13, Role::Admin),
            (14, Role::Referrer),
            (15, Role::Analyst),
            (16, Role::Commissioner),
        ] {
            assert_eq!(
                can_read_person(&principal(user, role, CHARITY), &facts),
                Decision::Deny,
                "{role:?}"
            );
        }
        // A care-team member who also holds a role at the declined organisation is its staff.
        let two_hats = Principal {
            user: UserId::new(10),
            memberships: vec![
                Membership {
                    organisation: TRUST,
                    role: Role::Worker,
                },
                Membership {
                    organisation: CHARITY,
                    role: Role::Referrer,
                },
            ],
        };
        assert_eq!(can_read_person(&two_hats, &facts), Decision::Deny);
        // Staff of an organisation the person did not decline keep their grants.
        let mut trust = facts.clone();
        trust.care_team_employers.push(TRUST);
        assert_eq!(
            can_read_person(&principal(20, Role::Supervisor, TRUST), &trust),
            Decision::Allow(Grant::SupervisesCareTeam)
        );
    }

    #[test]
    fn break_glass_opens_to_workers_and_supervisors_only_even_when_declined() {
        let mut facts = CareFacts {
            declined_organisations: vec![CHARITY],
            ..CareFacts::default()
        };
        for (user, role) in [
            (70, Role::Worker),
            (71, Role::Supervisor),
            (72, Role::Admin),
            (73, Role::Analyst),
            (74, Role::Commissioner),
            (75, Role::Referrer),
        ] {
            facts.break_glass.push(UserId::new(user));
            let expected = if matches!(role, Role::Worker | Role::Supervisor) {
                Decision::Allow(Grant::BreakGlass)
            } else {
                Decision::Deny
            };
            for org in [CHARITY, TRUST] {
                assert_eq!(
                    can_read_person(&principal(user, role, org), &facts),
                    expected,
                    "{role:?}"
                );
            }
        }
        // An ordinary grant is named as itself, not as break-glass.
        let facts = CareFacts {
            care_team: vec![UserId::new(10)],
            break_glass: vec![UserId::new(10)],
            ..CareFacts::default()
        };
        assert_eq!(
            can_read_person(&principal(10, Role::Worker, TRUST), &facts),
            Decision::Allow(Grant::CareTeamMember)
        );
    }
}
