//! Lone working: the plan for a visit in the community, check-in and check-out, the safety flags on
//! people and addresses, and each employer's visit rules.
//!
//! A worker going to someone's home says where, when and when they expect to be back
//! ([`VisitPlan`]); the visit then moves from [`VisitStatus::Planned`] to checked in and checked
//! out. A visit not checked out by its expected return is overdue ([`Visit::is_overdue`]), and the
//! worker's supervisors are alerted. Before a visit is planned, [`check_visit`] applies the
//! employer's [`PolicyRule`]s (data, not code: "home visits by our staff only with an NHS
//! colleague", as one employer in the SAPA 5 case study required) and the [`SafetyFlag`]s on the
//! person and their address; every refusal names the rule or flag that refused it.
//!
//! Times are wall-clock times of the place the service runs in (see `ARCHITECTURE.md`), so a plan
//! reads the way the worker wrote it. Everything here is pure.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::access::{Principal, Role};
use crate::casework::ContactType;
use crate::entities::text_enum;
use crate::{OrganisationId, OrganisationKind};

text_enum!(
    /// Where a planned visit has got to.
    VisitStatus {
        Planned => "planned", "Planned";
        CheckedIn => "checked_in", "Checked in";
        CheckedOut => "checked_out", "Checked out safely";
        Cancelled => "cancelled", "Cancelled";
    }
);

text_enum!(
    /// The kinds of employer rule about visits. Each is a check careweave knows how to make; an
    /// employer's rules are rows naming a kind (and its time, for the evening rule).
    PolicyRuleKind {
        CompanionRequired => "companion_required", "Home visits only with a colleague";
        NhsCompanionRequired => "nhs_companion_required", "Home visits only with an NHS colleague";
        NoLoneVisitsAfter => "no_lone_visits_after", "No lone home visits after a set time";
        NoUnannouncedVisits => "no_unannounced_visits", "No unannounced visits";
    }
);

/// Whether a contact type takes the worker into someone's home or the community, where the lone
/// working rules apply. Visits at the practice, calls and groups are not lone working.
pub fn is_community_visit(t: ContactType) -> bool {
    matches!(
        t,
        ContactType::HomeVisit | ContactType::JointVisit | ContactType::UnannouncedVisit
    )
}

/// Whether an organisation kind is part of the NHS, for rules that ask for an NHS colleague.
pub fn is_nhs(kind: OrganisationKind) -> bool {
    matches!(
        kind,
        OrganisationKind::GpPractice
            | OrganisationKind::Pcn
            | OrganisationKind::NhsTrust
            | OrganisationKind::Icb
    )
}

/// Whether `who` may set or end the visit rules of `employer`: its admins, who manage its accounts,
/// and its supervisors, who own its lone working procedure.
#[must_use]
pub fn can_manage_visit_rules(who: &Principal, employer: OrganisationId) -> bool {
    who.has_role_in(Role::Admin, employer) || who.has_role_in(Role::Supervisor, employer)
}

/// The organisations whose staff's visits `who` watches over: those they supervise. A supervisor
/// sees where a colleague went and when they were due back, because that is what keeps the
/// colleague safe; nobody else does.
#[must_use]
pub fn watched_organisations(who: &Principal) -> Vec<OrganisationId> {
    who.memberships
        .iter()
        .filter(|m| m.role == Role::Supervisor)
        .map(|m| m.organisation)
        .collect()
}

/// A colleague going on the visit too, with the kind of their employer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Companion {
    pub name: String,
    pub employer_kind: OrganisationKind,
}

/// What a worker plans before going out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitPlan {
    pub contact_type: ContactType,
    pub on: NaiveDate,
    pub starts_at: NaiveTime,
    /// When the worker expects to have left; a visit not checked out by then is overdue.
    pub back_by: NaiveTime,
    pub companion: Option<Companion>,
}

/// Why a plan cannot be made, as the form shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("The expected return must be after the start of the visit")]
    BackBeforeStart,
}

impl VisitPlan {
    /// Checks the plan's own shape; the rules are applied by [`check_visit`].
    pub fn validate(&self) -> Result<(), PlanError> {
        if self.back_by <= self.starts_at {
            return Err(PlanError::BackBeforeStart);
        }
        Ok(())
    }

    fn is_lone(&self) -> bool {
        self.companion.is_none()
    }
}

/// One employer rule, as stored: its kind, the name staff know it by and, for the evening rule,
/// the time after which lone visits may not start or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    pub name: String,
    pub kind: PolicyRuleKind,
    pub after: Option<NaiveTime>,
}

/// A safety flag on a person or on their address (everyone in the household), such as a dog or a
/// history of aggression, that requires two workers at every visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyFlag {
    pub reason: String,
    /// True when the flag is on the address rather than the person.
    pub on_address: bool,
}

/// Why a visit may not go ahead as planned, naming the rule or flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
}

/// Applies the employer's rules and the safety flags to a plan. An empty list means the visit may
/// go ahead; otherwise every rule and flag that refuses it is listed, so the worker can fix the
/// plan once. Rules and flags apply to visits in the community only.
pub fn check_visit(
    plan: &VisitPlan,
    employer: &str,
    rules: &[PolicyRule],
    flags: &[SafetyFlag],
) -> Vec<Refusal> {
    if !is_community_visit(plan.contact_type) {
        return Vec::new();
    }
    let mut refusals = Vec::new();
    for rule in rules {
        let broken = match rule.kind {
            PolicyRuleKind::CompanionRequired => plan.is_lone(),
            PolicyRuleKind::NhsCompanionRequired => !plan
                .companion
                .as_ref()
                .is_some_and(|c| is_nhs(c.employer_kind)),
            PolicyRuleKind::NoLoneVisitsAfter => {
                plan.is_lone() && rule.after.is_some_and(|after| plan.back_by > after)
            }
            PolicyRuleKind::NoUnannouncedVisits => {
                plan.contact_type == ContactType::UnannouncedVisit
            }
        };
        if broken {
            refusals.push(Refusal {
                message: format!(
                    "{employer}'s rule \"{}\" does not allow this visit: {}",
                    rule.name,
                    rule_advice(rule)
                ),
            });
        }
    }
    for flag in flags.iter().filter(|_| plan.is_lone()) {
        refusals.push(Refusal {
            message: format!(
                "A safety flag on the {} requires a joint visit: {}",
                if flag.on_address { "address" } else { "person" },
                flag.reason
            ),
        });
    }
    refusals
}

fn rule_advice(rule: &PolicyRule) -> String {
    match rule.kind {
        PolicyRuleKind::CompanionRequired => "go with a colleague".to_owned(),
        PolicyRuleKind::NhsCompanionRequired => {
            "go with a colleague employed by an NHS organisation".to_owned()
        }
        PolicyRuleKind::NoLoneVisitsAfter => format!(
            "lone visits must end by {}; go with a colleague or plan an earlier time",
            rule.after
                .map(|t| t.format("%H:%M").to_string())
                .unwrap_or_default()
        ),
        PolicyRuleKind::NoUnannouncedVisits => "arrange the visit with the person first".to_owned(),
    }
}

/// A visit as stored, enough to tell whether it is overdue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub on: NaiveDate,
    pub back_by: NaiveTime,
    pub status: VisitStatus,
}

impl Visit {
    /// True when the worker has not checked out by the time they expected to be back.
    pub fn is_overdue(&self, now: NaiveDateTime) -> bool {
        matches!(self.status, VisitStatus::Planned | VisitStatus::CheckedIn)
            && now > self.on.and_time(self.back_by)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("a valid time")
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).expect("a valid date")
    }

    fn plan(contact_type: ContactType, companion: Option<OrganisationKind>) -> VisitPlan {
        VisitPlan {
            contact_type,
            on: day(),
            starts_at: time(14, 0),
            back_by: time(15, 30),
            companion: companion.map(|employer_kind| Companion {
                name: "Sam Colleague".to_owned(),
                employer_kind,
            }),
        }
    }

    fn rule(kind: PolicyRuleKind, after: Option<NaiveTime>) -> PolicyRule {
        PolicyRule {
            name: "Accompanied home visits".to_owned(),
            kind,
            after,
        }
    }

    #[test]
    fn an_nhs_companion_rule_refuses_a_lone_visit_and_a_charity_companion() {
        let rules = [rule(PolicyRuleKind::NhsCompanionRequired, None)];
        let lone = check_visit(&plan(ContactType::HomeVisit, None), "Age UK", &rules, &[]);
        assert_eq!(lone.len(), 1);
        assert!(lone[0]
            .message
            .contains("Age UK's rule \"Accompanied home visits\""));
        let with_charity = plan(ContactType::HomeVisit, Some(OrganisationKind::Vcse));
        assert_eq!(check_visit(&with_charity, "Age UK", &rules, &[]).len(), 1);
        let with_nhs = plan(ContactType::HomeVisit, Some(OrganisationKind::Pcn));
        assert!(check_visit(&with_nhs, "Age UK", &rules, &[]).is_empty());
    }

    #[test]
    fn rules_apply_to_community_visits_only() {
        let rules = [rule(PolicyRuleKind::CompanionRequired, None)];
        assert!(check_visit(&plan(ContactType::Phone, None), "X", &rules, &[]).is_empty());
        assert_eq!(
            check_visit(&plan(ContactType::JointVisit, None), "X", &rules, &[]).len(),
            1
        );
    }

    #[test]
    fn the_evening_rule_refuses_lone_visits_running_past_its_time() {
        let rules = [rule(PolicyRuleKind::NoLoneVisitsAfter, Some(time(15, 0)))];
        let refused = check_visit(&plan(ContactType::HomeVisit, None), "X", &rules, &[]);
        assert!(refused[0].message.contains("must end by 15:00"));
        let mut early = plan(ContactType::HomeVisit, None);
        early.back_by = time(14, 45);
        assert!(check_visit(&early, "X", &rules, &[]).is_empty());
        let accompanied = plan(ContactType::HomeVisit, Some(OrganisationKind::Vcse));
        assert!(check_visit(&accompanied, "X", &rules, &[]).is_empty());
    }

    #[test]
    fn unannounced_visits_can_be_ruled_out() {
        let rules = [rule(PolicyRuleKind::NoUnannouncedVisits, None)];
        assert_eq!(
            check_visit(
                &plan(ContactType::UnannouncedVisit, Some(OrganisationKind::Pcn)),
                "X",
                &rules,
                &[]
            )
            .len(),
            1
        );
        assert!(check_visit(&plan(ContactType::HomeVisit, None), "X", &rules, &[]).is_empty());
    }

    #[test]
    fn a_safety_flag_needs_a_joint_visit_and_every_refusal_is_listed() {
        let flags = [SafetyFlag {
            reason: "Dog not kept in another room".to_owned(),
            on_address: true,
        }];
        let rules = [rule(PolicyRuleKind::CompanionRequired, None)];
        let refused = check_visit(&plan(ContactType::HomeVisit, None), "X", &rules, &flags);
        assert_eq!(refused.len(), 2);
        assert!(refused[1].message.contains("flag on the address"));
        let joint = plan(ContactType::HomeVisit, Some(OrganisationKind::Vcse));
        assert!(check_visit(&joint, "X", &[], &flags).is_empty());
    }

    #[test]
    fn a_visit_is_overdue_once_past_its_return_until_checked_out() {
        let visit = |status| Visit {
            on: day(),
            back_by: time(15, 30),
            status,
        };
        let before = day().and_time(time(15, 29));
        let after = day().and_time(time(15, 31));
        assert!(!visit(VisitStatus::CheckedIn).is_overdue(before));
        assert!(visit(VisitStatus::CheckedIn).is_overdue(after));
        assert!(visit(VisitStatus::Planned).is_overdue(after));
        assert!(!visit(VisitStatus::CheckedOut).is_overdue(after));
        assert!(!visit(VisitStatus::Cancelled).is_overdue(after));
    }

    #[test]
    fn rules_are_managed_by_the_employers_admins_and_supervisors_only() {
        use crate::access::Membership;
        let employer = OrganisationId::new(1);
        let other = OrganisationId::new(2);
        let with = |role, organisation| Principal {
            user: crate::UserId::new(9),
            memberships: vec![Membership { organisation, role }],
        };
        assert!(can_manage_visit_rules(
            &with(Role::Admin, employer),
            employer
        ));
        assert!(can_manage_visit_rules(
            &with(Role::Supervisor, employer),
            employer
        ));
        assert!(!can_manage_visit_rules(
            &with(Role::Supervisor, other),
            employer
        ));
        for role in [
            Role::Worker,
            Role::Referrer,
            Role::Analyst,
            Role::Commissioner,
        ] {
            assert!(!can_manage_visit_rules(&with(role, employer), employer));
            assert!(watched_organisations(&with(role, employer)).is_empty());
        }
        assert_eq!(
            watched_organisations(&with(Role::Supervisor, employer)),
            vec![employer]
        );
    }

    #[test]
    fn a_return_before_the_start_is_refused() {
        let mut p = plan(ContactType::HomeVisit, None);
        p.back_by = time(13, 0);
        assert_eq!(p.validate(), Err(PlanError::BackBeforeStart));
    }
}
