//! The population engine's results in the store, on SQLite and PostgreSQL: a run loads, the
//! dashboard reads aggregates, and worklists are for workers and supervisors of the person's own
//! practice or PCN only, audited on every read whether allowed or refused.

use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, Sex};
use careweave_store::accounts::NewUser;
use careweave_store::audit::AuditFilter;
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::population::{PopulationLoad, ProfileCell, WorklistRow};
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use chrono::NaiveDate;
use secrecy::SecretString;

macro_rules! on_both_backends {
    ($name:ident, |$s:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($s: Store) $body

            #[tokio::test]
            async fn sqlite() {
                run(TestDatabase::new(Backend::Sqlite).await.store).await;
            }

            #[tokio::test]
            async fn postgres() {
                run(TestDatabase::new(Backend::Postgres).await.store).await;
            }
        }
    };
}

fn nhs(n: u32) -> NhsNumber {
    (n..)
        .find_map(|k| {
            let s = format!("{k:06}");
            let d: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
            NhsNumber::from_first_nine([9, 9, 9, d[0], d[1], d[2], d[3], d[4], d[5]])
        })
        .expect("a test number")
}

async fn user(store: &Store, name: &str, role: Role, org: OrganisationId) -> Principal {
    let id = store
        .create_user(NewUser {
            username: name.to_owned(),
            display_name: name.to_owned(),
            password: SecretString::from("correct horse battery staple".to_owned()),
            memberships: vec![Membership {
                organisation: org,
                role,
            }],
        })
        .await
        .expect("user");
    store.principal(id).await.expect("principal")
}

fn cell(dimension: &str, category: &str, people: Option<i64>) -> ProfileCell {
    ProfileCell {
        level: "pcn".into(),
        place: "U1".into(),
        place_name: Some("PCN One".into()),
        dimension: dimension.into(),
        category: category.into(),
        people,
        emergency_admissions: None,
        ae_attendances: None,
        gp_appointments: None,
        bed_days: None,
        cost: None,
    }
}

on_both_backends!(
    worklists_are_audited_and_only_for_workers_and_supervisors,
    |store| {
        let practice = store
            .insert_organisation(&NewOrganisation {
                name: "Riverside Surgery".into(),
                kind: OrganisationKind::GpPractice,
                ods_code: Some("Y00001".parse().expect("ods")),
                place: None,
            })
            .await
            .expect("practice");
        let registered = store
            .register_person(
                None,
                &NewPerson {
                    nhs_number: nhs(1),
                    given_name: "Ada".into(),
                    family_name: "Example".into(),
                    date_of_birth: NaiveDate::from_ymd_opt(1940, 1, 1).expect("date"),
                    sex: Sex::Female,
                    postcode: None,
                    lsoa: None,
                    imd_decile: None,
                    registered_practice: practice,
                    household: None,
                    date_of_death: None,
                },
                "test",
            )
            .await
            .expect("person");
        let other_practice = store
            .insert_organisation(&NewOrganisation {
                name: "Hilltop Medical Centre".into(),
                kind: OrganisationKind::GpPractice,
                ods_code: Some("Y00002".parse().expect("ods")),
                place: None,
            })
            .await
            .expect("practice");
        let charity = store
            .insert_organisation(&NewOrganisation {
                name: "Riverside Community Trust".into(),
                kind: OrganisationKind::Vcse,
                ods_code: None,
                place: None,
            })
            .await
            .expect("charity");
        let worker = user(&store, "worker", Role::Worker, practice).await;
        let other_worker = user(&store, "other", Role::Worker, other_practice).await;
        let charity_worker = user(&store, "charity", Role::Worker, charity).await;
        let analyst = user(&store, "analyst", Role::Analyst, practice).await;

        let run = store
            .load_population(
                None,
                &PopulationLoad {
                    index_date: NaiveDate::from_ymd_opt(2025, 3, 31).expect("date"),
                    disclosure_control: true,
                    cohorts: vec![("frailty".into(), "Moderate or severe frailty".into())],
                    profiles: vec![
                        cell("segment", "Healthy", Some(1200)),
                        cell("segment", "Long-term frailty", None),
                    ],
                    worklist: vec![
                        WorklistRow {
                            cohort: "frailty".into(),
                            nhs_number: nhs(1),
                            practice: Some("Y00001".into()),
                            segment: Some("Long-term frailty".into()),
                            criteria_met: "severe_frailty".into(),
                        },
                        WorklistRow {
                            cohort: "frailty".into(),
                            nhs_number: nhs(500),
                            practice: Some("Y00001".into()),
                            segment: None,
                            criteria_met: "moderate_frailty".into(),
                        },
                        WorklistRow {
                            cohort: "frailty".into(),
                            nhs_number: nhs(600),
                            practice: Some("Y00002".into()),
                            segment: None,
                            criteria_met: "moderate_frailty".into(),
                        },
                    ],
                },
            )
            .await
            .expect("load");

        let latest = store
            .latest_population_run()
            .await
            .expect("latest")
            .expect("a run");
        assert_eq!(latest.id, run);
        let places = store.population_places(run).await.expect("places");
        assert_eq!(places.len(), 1);
        let profile = store
            .population_profile(run, "pcn", "U1")
            .await
            .expect("profile");
        assert_eq!(
            profile.iter().map(|c| c.people).collect::<Vec<_>>(),
            [Some(1200), None],
            "a hidden count stays hidden"
        );

        assert_eq!(
            store
                .worklist(&analyst, run, "frailty")
                .await
                .expect("read"),
            None
        );
        let list = store
            .worklist(&worker, run, "frailty")
            .await
            .expect("read")
            .expect("allowed");
        assert_eq!(list.len(), 2);
        let ada = list.iter().find(|e| e.nhs_number == nhs(1)).expect("Ada");
        assert_eq!(ada.person, Some(registered));
        assert_eq!(ada.display_name.as_deref(), Some("EXAMPLE, Ada"));
        assert_eq!(
            list.iter()
                .find(|e| e.nhs_number == nhs(500))
                .expect("unregistered")
                .person,
            None
        );

        // Each practice sees its own patients; an organisation with no practice sees nobody.
        let other = store
            .worklist(&other_worker, run, "frailty")
            .await
            .expect("read")
            .expect("allowed");
        assert_eq!(
            other.iter().map(|e| e.nhs_number).collect::<Vec<_>>(),
            [nhs(600)]
        );
        assert_eq!(
            store
                .worklist(&charity_worker, run, "frailty")
                .await
                .expect("read")
                .expect("allowed")
                .len(),
            0
        );

        // Being found by case finding gives Ada's practice, and only it, a need to know.
        let record = store
            .read_person(&worker, registered)
            .await
            .expect("the practice's worker may open Ada's record");
        assert_eq!(record.person.given_name, "Ada");
        for outsider in [&other_worker, &charity_worker, &analyst] {
            assert!(matches!(
                store.read_person(outsider, registered).await,
                Err(careweave_store::records::RecordError::Denied)
            ));
        }
        let reads = store
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(registered.get()),
                limit: 20,
            })
            .await
            .expect("audit");
        assert!(
            reads
                .iter()
                .any(|a| a.reason.contains("case_finding_worklist")),
            "the grant is recorded: {reads:?}"
        );

        let audit = store
            .audit_entries(&AuditFilter {
                entity: Some("population_worklist".into()),
                entity_id: None,
                limit: 10,
            })
            .await
            .expect("audit");
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        for expected in ["create", "denied", "list"] {
            assert!(
                actions.contains(&expected),
                "{expected} missing from {actions:?}"
            );
        }
    }
);
