//! Safeguarding concerns raised from a case: what kind of harm ([`ConcernCategory`], the Care Act
//! 2014 adult categories and the child categories of Working Together to Safeguard Children), how
//! urgent ([`RiskLevel`]), where the concern stands ([`ConcernStatus`]), and who may see it
//! ([`can_see_concern`]).
//!
//! A concern is more sensitive than the case it came from: it may name a suspected abuser who is a
//! carer or a co-worker's colleague. So visibility is narrower than the case's care team: the worker
//! who raised it, the case's current lead worker, and supervisors of the organisation that runs the
//! case's service. Co-workers from other employers, admins, analysts, commissioners and referrers do
//! not see it. Everything here is pure: no IO, no wire format.

use crate::access::{Principal, Role};
use crate::entities::text_enum;
pub use crate::ids::ConcernId;
use crate::{OrganisationId, UserId};

text_enum!(
    /// The kind of harm suspected: the ten adult categories of the Care Act 2014 statutory
    /// guidance (14.17) and the four child categories of Working Together to Safeguard Children.
    ConcernCategory {
        AdultPhysical => "adult_physical", "Adult: physical abuse";
        AdultDomestic => "adult_domestic", "Adult: domestic abuse";
        AdultSexual => "adult_sexual", "Adult: sexual abuse";
        AdultPsychological => "adult_psychological", "Adult: psychological or emotional abuse";
        AdultFinancial => "adult_financial", "Adult: financial or material abuse";
        AdultModernSlavery => "adult_modern_slavery", "Adult: modern slavery";
        AdultDiscriminatory => "adult_discriminatory", "Adult: discriminatory abuse";
        AdultOrganisational => "adult_organisational", "Adult: organisational abuse";
        AdultNeglect => "adult_neglect", "Adult: neglect and acts of omission";
        AdultSelfNeglect => "adult_self_neglect", "Adult: self-neglect";
        ChildPhysical => "child_physical", "Child: physical abuse";
        ChildEmotional => "child_emotional", "Child: emotional abuse";
        ChildSexual => "child_sexual", "Child: sexual abuse, including exploitation";
        ChildNeglect => "child_neglect", "Child: neglect";
    }
);

impl ConcernCategory {
    /// Whether the concern is about a child, which decides the local authority team it goes to
    /// (children's services rather than adult social care).
    #[must_use]
    pub fn is_child(self) -> bool {
        self.code().starts_with("child_")
    }
}

text_enum!(
    /// How soon someone must act. "Immediate" means danger now: call 999 first, record after.
    RiskLevel {
        Low => "low", "Low";
        Medium => "medium", "Medium";
        High => "high", "High";
        Immediate => "immediate", "Immediate danger";
    }
);

text_enum!(
    /// Where a concern stands.
    ConcernStatus {
        Open => "open", "Open";
        Referred => "referred", "Referred to the local authority";
        Closed => "closed", "Closed";
    }
);

impl ConcernStatus {
    /// Whether the concern still needs attention (it counts as open on the case page).
    #[must_use]
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed)
    }
}

/// What the store knows about a concern, gathered before asking [`can_see_concern`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcernFacts {
    /// The worker who raised the concern.
    pub raised_by: UserId,
    /// The case's current lead worker, if it has one.
    pub lead_worker: Option<UserId>,
    /// The organisation that runs the case's service (not its partner employers).
    pub service_provider: OrganisationId,
}

/// Why a concern may be seen; recorded as the audit row's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcernGrant {
    RaisedIt,
    LeadWorker,
    SupervisesService,
}

impl ConcernGrant {
    /// The reason as stored in the audit log.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::RaisedIt => "raised_concern",
            Self::LeadWorker => "lead_worker",
            Self::SupervisesService => "supervises_service",
        }
    }
}

/// Decides whether `who` may see (and act on) the concern described by `facts`; `None` refuses.
///
/// Only clinical roles qualify, so an account that was a worker and is now only an admin loses the
/// concerns it raised. Supervisors qualify through the service's provider alone: a supervisor of a
/// partner employer oversees their own staff, not another organisation's safeguarding duty.
#[must_use]
pub fn can_see_concern(who: &Principal, facts: &ConcernFacts) -> Option<ConcernGrant> {
    let clinical = who.has_role(Role::Worker) || who.has_role(Role::Supervisor);
    if clinical && who.user == facts.raised_by {
        return Some(ConcernGrant::RaisedIt);
    }
    if clinical && facts.lead_worker == Some(who.user) {
        return Some(ConcernGrant::LeadWorker);
    }
    if who.has_role_in(Role::Supervisor, facts.service_provider) {
        return Some(ConcernGrant::SupervisesService);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Membership;

    const PROVIDER: OrganisationId = OrganisationId::new(1);
    const PARTNER: OrganisationId = OrganisationId::new(2);
    const RAISER: UserId = UserId::new(10);
    const LEAD: UserId = UserId::new(11);

    fn facts() -> ConcernFacts {
        ConcernFacts {
            raised_by: RAISER,
            lead_worker: Some(LEAD),
            service_provider: PROVIDER,
        }
    }

    fn who(user: i64, role: Role, org: OrganisationId) -> Principal {
        Principal {
            user: UserId::new(user),
            memberships: vec![Membership {
                organisation: org,
                role,
            }],
        }
    }

    #[test]
    fn the_worker_who_raised_it_sees_it_even_from_a_partner_employer() {
        assert_eq!(
            can_see_concern(&who(10, Role::Worker, PARTNER), &facts()),
            Some(ConcernGrant::RaisedIt)
        );
    }

    #[test]
    fn the_current_lead_worker_sees_it() {
        assert_eq!(
            can_see_concern(&who(11, Role::Worker, PROVIDER), &facts()),
            Some(ConcernGrant::LeadWorker)
        );
        let no_lead = ConcernFacts {
            lead_worker: None,
            ..facts()
        };
        assert_eq!(
            can_see_concern(&who(11, Role::Worker, PROVIDER), &no_lead),
            None
        );
    }

    #[test]
    fn supervisors_of_the_provider_see_it_but_not_those_of_a_partner() {
        assert_eq!(
            can_see_concern(&who(20, Role::Supervisor, PROVIDER), &facts()),
            Some(ConcernGrant::SupervisesService)
        );
        assert_eq!(
            can_see_concern(&who(21, Role::Supervisor, PARTNER), &facts()),
            None
        );
    }

    #[test]
    fn co_workers_and_other_workers_do_not_see_it() {
        assert_eq!(
            can_see_concern(&who(30, Role::Worker, PARTNER), &facts()),
            None
        );
        assert_eq!(
            can_see_concern(&who(31, Role::Worker, PROVIDER), &facts()),
            None
        );
    }

    #[test]
    fn admins_analysts_commissioners_and_referrers_never_see_it() {
        for role in [
            Role::Admin,
            Role::Analyst,
            Role::Commissioner,
            Role::Referrer,
        ] {
            assert_eq!(
                can_see_concern(&who(40, role, PROVIDER), &facts()),
                None,
                "{role:?}"
            );
        }
        // Holding the raiser's or the lead's account id is not enough without a clinical role.
        assert_eq!(
            can_see_concern(&who(10, Role::Admin, PROVIDER), &facts()),
            None
        );
        assert_eq!(
            can_see_concern(&who(11, Role::Referrer, PROVIDER), &facts()),
            None
        );
    }

    #[test]
    fn categories_are_adult_or_child_and_codes_round_trip() {
        assert_eq!(ConcernCategory::ALL.len(), 14);
        assert_eq!(
            ConcernCategory::ALL.iter().filter(|c| c.is_child()).count(),
            4
        );
        for c in ConcernCategory::ALL {
            assert_eq!(ConcernCategory::from_code(c.code()), Some(*c));
        }
        assert!(ConcernStatus::Referred.is_open());
        assert!(!ConcernStatus::Closed.is_open());
    }
}
