//! The population engine's results in the store, on SQLite and PostgreSQL: a run loads, the
//! dashboard reads aggregates, and worklists are for workers and supervisors of the person's own
//! practice or PCN only, audited on every read whether allowed or refused.

use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, Sex};
use careweave_store::accounts::NewUser;
use careweave_store::audit::AuditFilter;
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::population::{CriterionRow, PopulationLoad, ProfileCell, WorklistRow};
use careweave_store::testing::TestDatabase;
use careweave_store::worklists::{SetAsideKind, WorklistQuery, WorklistSort, PAGE_SIZE};
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
                    criteria: vec![CriterionRow {
                        cohort: "frailty".into(),
                        name: "moderate_frailty".into(),
                        description: "Moderate frailty (eFI)".into(),
                    }],
                    profiles: vec![
                        cell("segment", "Healthy", Some(1200)),
                        cell("segment", "Long-term frailty", None),
                    ],
                    worklist: vec![
                        WorklistRow {
                            practice: Some("Y00001".into()),
                            segment: Some("Long-term frailty".into()),
                            ..WorklistRow::found("frailty", nhs(1), "severe_frailty")
                        },
                        WorklistRow {
                            practice: Some("Y00001".into()),
                            ..WorklistRow::found("frailty", nhs(500), "moderate_frailty")
                        },
                        WorklistRow {
                            practice: Some("Y00002".into()),
                            ..WorklistRow::found("frailty", nhs(600), "moderate_frailty")
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

        let today = NaiveDate::from_ymd_opt(2025, 4, 1).expect("date");
        let all = WorklistQuery::default();
        assert_eq!(
            store
                .worklist_page(&analyst, run, "frailty", &all, today)
                .await
                .expect("read"),
            None
        );
        let page = store
            .worklist_page(&worker, run, "frailty", &all, today)
            .await
            .expect("read")
            .expect("allowed");
        assert_eq!(
            page.criteria,
            [(
                "moderate_frailty".to_owned(),
                "Moderate frailty (eFI)".to_owned()
            )]
        );
        assert_eq!(
            page.practices,
            [("Y00001".to_owned(), "Riverside Surgery".to_owned())]
        );
        let list = page.entries;
        assert_eq!((list.len(), page.total), (2, 2));
        assert_eq!(list[0].practice_name.as_deref(), Some("Riverside Surgery"));
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
            .worklist_page(&other_worker, run, "frailty", &all, today)
            .await
            .expect("read")
            .expect("allowed")
            .entries;
        assert_eq!(
            other.iter().map(|e| e.nhs_number).collect::<Vec<_>>(),
            [nhs(600)]
        );
        assert_eq!(
            store
                .worklist_page(&charity_worker, run, "frailty", &all, today)
                .await
                .expect("read")
                .expect("allowed")
                .total,
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

/// A practice with `n` people on one cohort's worklist, none registered in careweave.
async fn practice_with_list(store: &Store, n: u32) -> (Principal, i64) {
    let practice = store
        .insert_organisation(&NewOrganisation {
            name: "Riverside Surgery".into(),
            kind: OrganisationKind::GpPractice,
            ods_code: Some("Y00001".parse().expect("ods")),
            place: None,
        })
        .await
        .expect("practice");
    let worker = user(store, "worker", Role::Worker, practice).await;
    let worklist = (0..n)
        .map(|i| {
            let criteria = if i % 3 == 0 {
                "core20, plus_carer"
            } else {
                "core20"
            };
            WorklistRow {
                practice: Some("Y00001".into()),
                segment: Some(
                    if i % 2 == 0 {
                        "Healthy"
                    } else {
                        "Long-term frailty"
                    }
                    .into(),
                ),
                age: Some(i64::from(40 + i % 50)),
                efi: Some(f64::from(i % 10) / 36.0),
                ..WorklistRow::found("core20plus5", nhs(1000 + i * 7), criteria)
            }
        })
        .collect();
    let run = store
        .load_population(
            None,
            &PopulationLoad {
                index_date: NaiveDate::from_ymd_opt(2025, 3, 31).expect("date"),
                disclosure_control: true,
                cohorts: vec![("core20plus5".into(), "Core20PLUS5 groups".into())],
                criteria: vec![],
                profiles: vec![],
                worklist,
            },
        )
        .await
        .expect("load");
    (worker, run)
}

on_both_backends!(
    a_long_worklist_is_paged_sorted_and_filtered_in_the_database,
    |store| {
        let (worker, run) = practice_with_list(&store, 120).await;
        let today = NaiveDate::from_ymd_opt(2025, 4, 1).expect("date");
        let page = |query: WorklistQuery| {
            let store = store.clone();
            let worker = worker.clone();
            async move {
                store
                    .worklist_page(&worker, run, "core20plus5", &query, today)
                    .await
                    .expect("read")
                    .expect("allowed")
            }
        };
        let first = page(WorklistQuery::default()).await;
        assert_eq!(first.total, 120);
        assert_eq!(first.entries.len(), PAGE_SIZE as usize);
        // Most criteria first: the 40 people with two criteria lead the list.
        assert!(first.entries[..40].iter().all(|e| e.criteria.len() == 2));
        let last = page(WorklistQuery {
            page: 3,
            ..WorklistQuery::default()
        })
        .await;
        assert_eq!(last.entries.len(), 20);
        let by_age = page(WorklistQuery {
            sort: WorklistSort::Age,
            ..WorklistQuery::default()
        })
        .await;
        assert_eq!(by_age.entries[0].age, Some(89));
        let carers = page(WorklistQuery {
            criterion: Some("plus_carer".into()),
            ..WorklistQuery::default()
        })
        .await;
        assert_eq!(carers.total, 40);
        // A wildcard in a filter value is a literal, not a pattern.
        let wild = page(WorklistQuery {
            criterion: Some("plus%".into()),
            ..WorklistQuery::default()
        })
        .await;
        assert_eq!(wild.total, 0);
        let frail = page(WorklistQuery {
            segment: Some("Long-term frailty".into()),
            ..WorklistQuery::default()
        })
        .await;
        assert_eq!(frail.total, 60);
    }
);

on_both_backends!(
    a_person_set_aside_leaves_the_list_until_the_review_date,
    |store| {
        let (worker, run) = practice_with_list(&store, 3).await;
        let today = NaiveDate::from_ymd_opt(2025, 4, 1).expect("date");
        let someone = nhs(1000);
        let review = NaiveDate::from_ymd_opt(2025, 6, 1).expect("date");
        let refused = set_aside(
            &store,
            &worker,
            run,
            someone,
            SetAsideKind::Snoozed,
            " ",
            (review, today),
        )
        .await;
        assert_eq!(refused, Err("reason"));
        let refused = set_aside(
            &store,
            &worker,
            run,
            someone,
            SetAsideKind::Snoozed,
            "In hospital",
            (today, today),
        )
        .await;
        assert_eq!(refused, Err("review"));
        set_aside(
            &store,
            &worker,
            run,
            someone,
            SetAsideKind::Snoozed,
            "In hospital",
            (review, today),
        )
        .await
        .expect("set aside");
        let list = store
            .worklist_page(
                &worker,
                run,
                "core20plus5",
                &WorklistQuery::default(),
                today,
            )
            .await
            .expect("read")
            .expect("allowed");
        assert_eq!(list.total, 2);
        assert!(list.entries.iter().all(|e| e.nhs_number != someone));
        let aside = store
            .worklist_page(
                &worker,
                run,
                "core20plus5",
                &WorklistQuery {
                    set_aside: true,
                    ..WorklistQuery::default()
                },
                today,
            )
            .await
            .expect("read")
            .expect("allowed");
        assert_eq!(aside.entries.len(), 1);
        assert_eq!(
            aside.entries[0]
                .set_aside
                .as_ref()
                .map(|s| s.reason.as_str()),
            Some("In hospital")
        );
        // On the review date the person is back on the list.
        let back = store
            .worklist_page(
                &worker,
                run,
                "core20plus5",
                &WorklistQuery::default(),
                review,
            )
            .await
            .expect("read")
            .expect("allowed");
        assert_eq!(back.total, 3);

        // Someone from another organisation cannot set aside a row they cannot see, and is told
        // nothing more than that.
        let charity = store
            .insert_organisation(&NewOrganisation {
                name: "Riverside Community Trust".into(),
                kind: OrganisationKind::Vcse,
                ods_code: None,
                place: None,
            })
            .await
            .expect("charity");
        let outsider = user(&store, "outsider", Role::Worker, charity).await;
        let refused = set_aside(
            &store,
            &outsider,
            run,
            nhs(1007),
            SetAsideKind::NotSuitable,
            "x",
            (review, today),
        )
        .await;
        assert_eq!(refused, Err("person"));
        let decisions = store
            .audit_entries(&AuditFilter {
                entity: Some("worklist_decision".into()),
                entity_id: None,
                limit: 10,
            })
            .await
            .expect("audit");
        assert_eq!(decisions.len(), 1, "one decision recorded: {decisions:?}");
    }
);

on_both_backends!(a_gp_sees_their_own_practices_worklist, |store| {
    let (_, run) = practice_with_list(&store, 5).await;
    let practice = store
        .organisations()
        .await
        .expect("orgs")
        .into_iter()
        .find(|o| o.name == "Riverside Surgery")
        .expect("practice")
        .id;
    let gp = user(&store, "gp", Role::Referrer, practice).await;
    let today = NaiveDate::from_ymd_opt(2025, 4, 1).expect("date");
    let export = store
        .worklist_export(&gp, run, "core20plus5", &WorklistQuery::default(), today)
        .await
        .expect("read")
        .expect("allowed");
    assert_eq!(export.len(), 5);
    let audit = store
        .audit_entries(&AuditFilter {
            entity: Some("population_worklist".into()),
            entity_id: None,
            limit: 10,
        })
        .await
        .expect("audit");
    assert!(audit.iter().any(|a| a.action == "export"), "{audit:?}");
});

/// Sets someone aside on the `core20plus5` list of `run` as the worklist page does, on the
/// `(review, today)` dates, answering with the field a refusal is about.
async fn set_aside(
    store: &Store,
    who: &Principal,
    run: i64,
    person: NhsNumber,
    kind: SetAsideKind,
    reason: &str,
    (review, today): (NaiveDate, NaiveDate),
) -> Result<(), &'static str> {
    store
        .set_aside_on_worklist(who, run, "core20plus5", person, kind, reason, review, today)
        .await
        .expect("store")
        .map_err(|r| r.field)
}
