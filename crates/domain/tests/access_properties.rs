//! Properties of the access policy over generated principals and care relationships.
//!
//! The example tests in `access.rs` show each rule once; these check that the rules hold for every
//! combination the generator can make: organisations, memberships in any role, care teams,
//! accepted cases and referrals, worklists, declined sharing and break-glass. The store's own
//! property test (crates/store/tests/access_properties.rs) checks the same properties through the
//! database on both backends for a smaller sample.

use careweave_domain::access::{
    can_change_case, can_read_aggregates, can_read_person, CareFacts, Decision, Grant, Membership,
    Principal, Role,
};
use careweave_domain::{OrganisationId, UserId};
use proptest::prelude::*;

/// Many cases: the policy is pure and fast.
fn config() -> ProptestConfig {
    let cases = std::env::var("CAREWEAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        // A fixed seed in the test suite, so a run is repeatable; scripts/fuzz picks a new one.
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("CAREWEAVE_FUZZ_SEED")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2026),
        ),
        ..ProptestConfig::default()
    }
}

const ORGANISATIONS: i64 = 5;
const USERS: i64 = 6;

fn organisation() -> impl Strategy<Value = OrganisationId> {
    (1..=ORGANISATIONS).prop_map(OrganisationId::new)
}

fn user() -> impl Strategy<Value = UserId> {
    (1..=USERS).prop_map(UserId::new)
}

fn role() -> impl Strategy<Value = Role> {
    proptest::sample::select(Role::ALL)
}

fn principal() -> impl Strategy<Value = Principal> {
    (
        user(),
        proptest::collection::vec(
            (organisation(), role())
                .prop_map(|(organisation, role)| Membership { organisation, role }),
            0..4,
        ),
    )
        .prop_map(|(user, memberships)| Principal { user, memberships })
}

fn organisations() -> impl Strategy<Value = Vec<OrganisationId>> {
    proptest::collection::vec(organisation(), 0..3)
}

fn facts() -> impl Strategy<Value = CareFacts> {
    (
        proptest::collection::vec(user(), 0..3),
        organisations(),
        organisations(),
        organisations(),
        organisations(),
        organisations(),
        proptest::collection::vec(user(), 0..2),
    )
        .prop_map(
            |(care_team, employers, awaits, accepted, finding, declined, break_glass)| CareFacts {
                care_team,
                care_team_employers: employers,
                case_awaits_worker_with: awaits,
                accepted_by: accepted,
                case_finding_with: finding,
                declined_organisations: declined,
                break_glass,
            },
        )
}

/// The organisations through which `who` holds a clinical role (worker or supervisor).
fn clinical_organisations(who: &Principal) -> Vec<OrganisationId> {
    who.memberships
        .iter()
        .filter(|m| matches!(m.role, Role::Worker | Role::Supervisor))
        .map(|m| m.organisation)
        .collect()
}

/// Whether `who` has any care relationship the facts record, the only things that may open a
/// record. Written independently of the policy, from its documented rules.
fn has_relationship(who: &Principal, facts: &CareFacts) -> bool {
    let clinical = clinical_organisations(who);
    let shares = |list: &[OrganisationId]| list.iter().any(|o| clinical.contains(o));
    let supervises = who
        .memberships
        .iter()
        .any(|m| m.role == Role::Supervisor && facts.care_team_employers.contains(&m.organisation));
    (!clinical.is_empty()
        && (facts.care_team.contains(&who.user) || facts.break_glass.contains(&who.user)))
        || shares(&facts.case_awaits_worker_with)
        || shares(&facts.accepted_by)
        || shares(&facts.case_finding_with)
        || supervises
}

proptest! {
    #![proptest_config(config())]

    /// Nobody outside the person's care relationships reads the record.
    #[test]
    fn nobody_without_a_relationship_reads(who in principal(), facts in facts()) {
        if !has_relationship(&who, &facts) {
            prop_assert_eq!(can_read_person(&who, &facts), Decision::Deny);
        }
    }

    /// Analysts, commissioners, admins and referrers never read a person, whatever facts name them.
    #[test]
    fn non_clinical_roles_never_read(who in principal(), facts in facts()) {
        if clinical_organisations(&who).is_empty() {
            prop_assert_eq!(can_read_person(&who, &facts), Decision::Deny);
        }
    }

    /// Ending every membership ends access, break-glass included.
    #[test]
    fn ending_memberships_ends_access(who in principal(), facts in facts()) {
        let left = Principal { user: who.user, memberships: Vec::new() };
        prop_assert_eq!(can_read_person(&left, &facts), Decision::Deny);
    }

    /// Ending one membership never widens access: whatever is allowed afterwards was allowed
    /// before. The one exception is by design: a membership of an organisation the person declined
    /// makes its holder that organisation's staff under every hat, so ending it lifts that refusal
    /// (the first run of this property found the case, an admin of the declined organisation who
    /// is also a worker elsewhere; the policy's documentation says so).
    #[test]
    fn ending_one_membership_never_widens(who in principal(), facts in facts(), index in any::<proptest::sample::Index>()) {
        if who.memberships.is_empty() {
            return Ok(());
        }
        let ended = index.index(who.memberships.len());
        if facts.declined_organisations.contains(&who.memberships[ended].organisation) {
            return Ok(());
        }
        let mut fewer = who.clone();
        fewer.memberships.remove(ended);
        if matches!(can_read_person(&fewer, &facts), Decision::Allow(_)) {
            prop_assert!(matches!(can_read_person(&who, &facts), Decision::Allow(_)),
                "dropping a membership opened the record");
        }
    }

    /// A person who declined sharing with an organisation is read by none of its staff except by
    /// break-glass, and then the grant says so.
    #[test]
    fn declined_sharing_holds_except_break_glass(who in principal(), facts in facts()) {
        let staff_of_declined = who
            .memberships
            .iter()
            .any(|m| facts.declined_organisations.contains(&m.organisation));
        if staff_of_declined {
            let decision = can_read_person(&who, &facts);
            prop_assert!(matches!(decision, Decision::Deny | Decision::Allow(Grant::BreakGlass)),
                "declined organisation's staff read with {:?}", decision);
        }
    }

    /// Recording one more declined organisation, or removing a relationship, never opens a record
    /// that was closed (the facts a client could influence only ever narrow access).
    #[test]
    fn narrowing_the_facts_never_widens(who in principal(), facts in facts(), extra in organisation()) {
        let before = can_read_person(&who, &facts);
        let mut declined = facts.clone();
        declined.declined_organisations.push(extra);
        let mut no_team = facts.clone();
        no_team.care_team.clear();
        no_team.accepted_by.clear();
        for narrowed in [declined, no_team] {
            if before == Decision::Deny {
                prop_assert_eq!(can_read_person(&who, &narrowed), Decision::Deny);
            }
        }
    }

    /// Changing a case needs a worker or supervisor role in an organisation that runs the service,
    /// or being one of the case's own workers.
    #[test]
    fn changing_a_case_needs_the_service_or_the_case(who in principal(), runs in organisations(), works in any::<bool>()) {
        let runs_it = clinical_organisations(&who).iter().any(|o| runs.contains(o));
        prop_assert_eq!(can_change_case(&who, &runs, works), works || runs_it);
    }

    /// Aggregate figures are for analysts, commissioners, supervisors and managers only.
    #[test]
    fn aggregates_only_for_their_roles(who in principal()) {
        let expected = who
            .memberships
            .iter()
            .any(|m| matches!(m.role, Role::Analyst | Role::Commissioner | Role::Supervisor | Role::Manager));
        prop_assert_eq!(can_read_aggregates(&who), expected);
    }
}
