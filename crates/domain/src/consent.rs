//! Consent and sharing preferences, sensitive items and break-glass: the words and the pure rules.
//!
//! A person tells a worker what they agree to share and with whom: their GP (the full detail of
//! the support, or the codes only), each organisation in or joining their care team (share or
//! decline), their carers, and whether sensitive items may be shared with the whole care team.
//! Each change is a new version (who took it, when and how); the latest version decides.
//!
//! Enforcement lives with the rules it changes: a declined organisation is in
//! [`crate::access::CareFacts::declined_organisations`] and [`crate::access::can_read_person`]
//! refuses its staff every grant except break-glass; the GP message reads [`GpSharing`]; and
//! [`can_see_sensitive`] decides who reads the text of a sensitive item.

use crate::access::{Principal, Role};
use crate::entities::text_enum;
use crate::{OrganisationId, UserId};

text_enum!(
    /// What the person's GP may receive about the support.
    GpSharing {
        Detail => "detail", "The details of the support (reasons, needs, goals and outcomes)";
        CodesOnly => "codes_only", "Codes only (that the person was supported, and when)";
    }
);

text_enum!(
    /// How the person's preferences were taken.
    ConsentMethod {
        InPerson => "in_person", "In person";
        Phone => "phone", "By phone";
        Written => "written", "In writing";
    }
);

text_enum!(
    /// Categories of sensitive information, restricted by default.
    ///
    /// Safeguarding concerns have their own rule (`safeguarding::can_see_concern`); the others are
    /// marked on a contact note by the worker who writes it.
    SensitiveCategory {
        Safeguarding => "safeguarding", "Safeguarding";
        SexualHealth => "sexual_health", "Sexual health";
        DomesticAbuse => "domestic_abuse", "Domestic abuse";
    }
);

impl SensitiveCategory {
    /// The categories a worker marks on a note; safeguarding is recorded as a concern instead.
    pub const MARKABLE: &'static [Self] = &[Self::SexualHealth, Self::DomesticAbuse];
}

text_enum!(
    /// Why someone broke glass, chosen with a free-text reason.
    BreakGlassCategory {
        RiskToLife => "risk_to_life", "Immediate risk to life";
        SeriousHarm => "serious_harm", "Risk of serious harm to the person or others";
        UrgentCare => "urgent_care", "Urgent care that cannot wait for the care team";
    }
);

/// The person's current preferences as the rules need them. The default, when nothing was
/// recorded, is what careweave did before preferences existed: every organisation in the care team
/// reads, the GP gets the referral's choice, carers and sensitive items are not shared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharingPreferences {
    /// `None` until the person says: the referral's own consent snapshot then decides.
    pub gp: Option<GpSharing>,
    pub declined_organisations: Vec<OrganisationId>,
    pub share_with_carers: bool,
    pub sensitive_with_care_team: bool,
}

/// What the rule about a sensitive item needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensitiveFacts {
    /// Who wrote the item.
    pub author: UserId,
    /// The case's current lead worker, if any.
    pub lead_worker: Option<UserId>,
    /// The organisations that run the case's service.
    pub service_providers: Vec<OrganisationId>,
    /// Whether the person agreed to share sensitive items with their care team.
    pub shared_with_care_team: bool,
    /// Whether the viewer is in the person's care team (or otherwise allowed to read the case).
    pub viewer_in_care_team: bool,
}

/// Whether `who` reads the text of a sensitive item: its author, the case's lead worker and
/// supervisors of the service's organisations always; the rest of the care team only when the
/// person agreed to share sensitive items with them. Everyone else sees that an item exists.
#[must_use]
pub fn can_see_sensitive(who: &Principal, facts: &SensitiveFacts) -> bool {
    let clinical = who.has_role(Role::Worker) || who.has_role(Role::Supervisor);
    if !clinical {
        return false;
    }
    who.user == facts.author
        || facts.lead_worker == Some(who.user)
        || facts
            .service_providers
            .iter()
            .any(|o| who.has_role_in(Role::Supervisor, *o))
        || (facts.shared_with_care_team && facts.viewer_in_care_team)
}

/// Whether `who` may break glass at all: workers and supervisors, who give care. Analysts,
/// commissioners, referrers and admins never do, whatever else they hold.
#[must_use]
pub fn can_break_glass(who: &Principal) -> bool {
    who.has_role(Role::Worker) || who.has_role(Role::Supervisor)
}

/// The organisation a break-glass access is reported to: the first organisation (lowest id) in
/// which `who` is a worker or supervisor. Its admins are the information governance lead who
/// reviews it. `None` when `who` may not break glass.
#[must_use]
pub fn break_glass_organisation(who: &Principal) -> Option<OrganisationId> {
    who.memberships
        .iter()
        .filter(|m| matches!(m.role, Role::Worker | Role::Supervisor))
        .map(|m| m.organisation)
        .min()
}

/// Whether `who` reviews break-glass accesses reported to `organisation`: its admins, who manage
/// its accounts and read its audit log.
#[must_use]
pub fn can_review_break_glass(who: &Principal, organisation: OrganisationId) -> bool {
    who.has_role_in(Role::Admin, organisation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Membership;

    const CHARITY: OrganisationId = OrganisationId::new(1);
    const PCN: OrganisationId = OrganisationId::new(2);

    fn who(user: i64, role: Role, organisation: OrganisationId) -> Principal {
        Principal {
            user: UserId::new(user),
            memberships: vec![Membership { organisation, role }],
        }
    }

    fn facts(shared: bool, in_team: bool) -> SensitiveFacts {
        SensitiveFacts {
            author: UserId::new(1),
            lead_worker: Some(UserId::new(2)),
            service_providers: vec![CHARITY],
            shared_with_care_team: shared,
            viewer_in_care_team: in_team,
        }
    }

    #[test]
    fn sensitive_text_is_for_author_lead_and_the_service_s_supervisors() {
        let f = facts(false, true);
        assert!(can_see_sensitive(&who(1, Role::Worker, PCN), &f));
        assert!(can_see_sensitive(&who(2, Role::Worker, CHARITY), &f));
        assert!(can_see_sensitive(&who(3, Role::Supervisor, CHARITY), &f));
        // A co-worker in the care team does not, until the person agrees.
        assert!(!can_see_sensitive(&who(4, Role::Worker, PCN), &f));
        assert!(can_see_sensitive(
            &who(4, Role::Worker, PCN),
            &facts(true, true)
        ));
        // A supervisor of a partner employer is not the service's supervisor.
        assert!(!can_see_sensitive(&who(5, Role::Supervisor, PCN), &f));
        // Non-clinical roles never read it, even when named as author by mistake.
        for role in [
            Role::Admin,
            Role::Analyst,
            Role::Commissioner,
            Role::Referrer,
        ] {
            assert!(!can_see_sensitive(
                &who(1, role, CHARITY),
                &facts(true, true)
            ));
        }
    }

    #[test]
    fn only_workers_and_supervisors_break_glass() {
        for role in [Role::Worker, Role::Supervisor] {
            assert!(can_break_glass(&who(1, role, CHARITY)));
            assert_eq!(
                break_glass_organisation(&who(1, role, CHARITY)),
                Some(CHARITY)
            );
        }
        for role in [
            Role::Admin,
            Role::Analyst,
            Role::Commissioner,
            Role::Referrer,
        ] {
            assert!(!can_break_glass(&who(1, role, CHARITY)));
            assert_eq!(break_glass_organisation(&who(1, role, CHARITY)), None);
        }
    }

    #[test]
    fn the_accessing_worker_s_organisation_s_admins_review() {
        assert!(can_review_break_glass(
            &who(9, Role::Admin, CHARITY),
            CHARITY
        ));
        assert!(!can_review_break_glass(&who(9, Role::Admin, PCN), CHARITY));
        assert!(!can_review_break_glass(
            &who(9, Role::Supervisor, CHARITY),
            CHARITY
        ));
    }

    #[test]
    fn safeguarding_is_not_marked_on_a_note() {
        assert!(!SensitiveCategory::MARKABLE.contains(&SensitiveCategory::Safeguarding));
        assert_eq!(SensitiveCategory::ALL.len(), 3);
    }
}
