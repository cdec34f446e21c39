//! The access policy through the store, on SQLite and PostgreSQL, for generated neighbourhoods.
//!
//! Each case builds organisations, accounts with memberships in any role, a person and a care team
//! in the database, then asks the store to open the person's record for every account and checks:
//!
//! - the store lets in exactly whom the policy lets in for the relationships the case built
//!   (nobody outside the person's care relationships reads the record);
//! - every refusal is audited as `denied`;
//! - ending a membership through account administration ends the access it gave;
//! - naming another person's id, one the account has no relationship with, never opens it.
//!
//! The pure policy's own properties (crates/domain/tests/access_properties.rs) run many more cases;
//! here each case costs real database writes, so the sample is small (`CAREWEAVE_FUZZ_CASES`
//! raises it).

use std::sync::atomic::{AtomicU32, Ordering};

use careweave_domain::access::{can_read_person, CareFacts, Decision, Membership, Principal, Role};
use careweave_domain::{OrganisationKind, PersonId, Sex, UserId};
use careweave_store::account_admin::AccountActor;
use careweave_store::accounts::NewUser;
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::testing::{test_nhs_number, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use secrecy::SecretString;
use sqlx::Row;

/// One generated neighbourhood: accounts as (memberships by organisation index and role), and
/// which accounts are in the person's care team (for the employer of their first membership).
#[derive(Debug, Clone)]
struct Scenario {
    accounts: Vec<Vec<(usize, Role)>>,
    care_team: Vec<bool>,
    /// An account whose first membership is ended after the first round of checks.
    ends_membership: usize,
}

const ORGANISATIONS: usize = 3;

fn scenario() -> impl Strategy<Value = Scenario> {
    let membership = (0..ORGANISATIONS, proptest::sample::select(Role::ALL));
    (
        proptest::collection::vec(proptest::collection::vec(membership, 1..3), 1..5),
        proptest::collection::vec(any::<bool>(), 5),
        0usize..5,
    )
        .prop_map(|(accounts, care_team, ends)| Scenario {
            ends_membership: ends % accounts.len(),
            accounts,
            care_team,
        })
}

static NEXT: AtomicU32 = AtomicU32::new(1);

async fn denied_count(store: &Store, user: UserId, person: PersonId) -> i64 {
    sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_log WHERE user_id = $1 AND action = 'denied' \
         AND entity = 'person' AND entity_id = $2",
    )
    .bind(user.get())
    .bind(person.get())
    .fetch_one(store.pool())
    .await
    .unwrap()
    .get::<i64, _>("n")
}

/// Opens the person for `who` and checks the answer against the policy and the audit log.
async fn opens_as_the_policy_says(
    store: &Store,
    who: &Principal,
    person: PersonId,
    facts: &CareFacts,
) -> Result<(), TestCaseError> {
    let expected = matches!(can_read_person(who, facts), Decision::Allow(_));
    let denied_before = denied_count(store, who.user, person).await;
    let opened = store.open_person(who, person).await.is_ok();
    prop_assert_eq!(
        opened,
        expected,
        "user {:?} with {:?}",
        who.user,
        who.memberships
    );
    let denied_after = denied_count(store, who.user, person).await;
    prop_assert_eq!(
        denied_after - denied_before,
        i64::from(!opened),
        "a refusal must be audited once, an opening never as denied"
    );
    Ok(())
}

async fn check(store: &Store, s: Scenario) -> Result<(), TestCaseError> {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut orgs = Vec::new();
    for (i, kind) in [
        OrganisationKind::GpPractice,
        OrganisationKind::Vcse,
        OrganisationKind::Pcn,
    ]
    .into_iter()
    .enumerate()
    {
        let id = store
            .insert_organisation(&NewOrganisation {
                name: format!("Organisation {n}-{i}"),
                kind,
                ods_code: None,
                place: None,
            })
            .await
            .unwrap();
        orgs.push(id);
    }
    let born = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap();
    // Test numbers ten apart: the nearest valid number at or above each is never the same.
    let new_person = |k: u32| NewPerson {
        nhs_number: test_nhs_number(k),
        given_name: "Generated".into(),
        family_name: format!("Person{k}"),
        date_of_birth: born,
        sex: Sex::Female,
        postcode: None,
        lsoa: None,
        imd_decile: None,
        registered_practice: orgs[0],
        household: None,
        date_of_death: None,
    };
    let person = store
        .register_person(None, &new_person(n * 20), "generated")
        .await
        .unwrap();
    // A second person nobody here has any relationship with: an id an account might send.
    let stranger = store
        .register_person(None, &new_person(n * 20 + 10), "generated")
        .await
        .unwrap();

    let mut users = Vec::new();
    for (a, memberships) in s.accounts.iter().enumerate() {
        let mut unique: Vec<Membership> = Vec::new();
        for &(o, role) in memberships {
            let m = Membership {
                organisation: orgs[o],
                role,
            };
            if !unique.contains(&m) {
                unique.push(m);
            }
        }
        let id = store
            .create_user(NewUser {
                username: format!("u{n}-{a}@test"),
                display_name: format!("Generated {n}-{a}"),
                password: SecretString::from("a long generated passphrase".to_owned()),
                memberships: unique,
            })
            .await
            .unwrap();
        users.push(id);
    }

    let mut facts = CareFacts::default();
    for (a, &user) in users.iter().enumerate() {
        if s.care_team[a] {
            let employer = orgs[s.accounts[a][0].0];
            store
                .add_to_care_team(None, person, user, employer, born)
                .await
                .unwrap();
            facts.care_team.push(user);
            facts.care_team_employers.push(employer);
        }
    }

    for &user in &users {
        let who = store.principal(user).await.unwrap();
        opens_as_the_policy_says(store, &who, person, &facts).await?;
        opens_as_the_policy_says(store, &who, stranger, &CareFacts::default()).await?;
    }

    // Ending a membership (an account keeps at least one role, so only where it holds two; an
    // organisation keeps its last administrator, so not an admin role).
    let user = users[s.ends_membership];
    let before = store.principal(user).await.unwrap();
    let endable = before
        .memberships
        .iter()
        .find(|m| m.role != Role::Admin)
        .copied();
    if let (true, Some(ended)) = (before.memberships.len() > 1, endable) {
        store
            .remove_membership(AccountActor::CommandLine, user, ended)
            .await
            .unwrap();
        let after = store.principal(user).await.unwrap();
        prop_assert!(!after.memberships.contains(&ended));
        opens_as_the_policy_says(store, &after, person, &facts).await?;
    }
    Ok(())
}

fn run_on(backend: Backend) {
    let cases = std::env::var("CAREWEAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDatabase::new(backend));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // A fixed seed in the test suite, so a run is repeatable; scripts/fuzz picks a new one.
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("CAREWEAVE_FUZZ_SEED")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2026),
        ),
        ..Config::default()
    });
    let result = runner.run(&scenario(), |s| rt.block_on(check(&db.store, s)));
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn sqlite_store_opens_records_as_the_policy_says() {
    run_on(Backend::Sqlite);
}

#[test]
fn postgres_store_opens_records_as_the_policy_says() {
    run_on(Backend::Postgres);
}
