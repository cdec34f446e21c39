//! The place partnership workspace in the store, run identically on SQLite and PostgreSQL: who may
//! start and open a workspace (partners by role, nobody else, refusals audited), partners added
//! by a lead only, survey answers kept with their groups and themes and counted raw, notes, the
//! four answers with their evidence, the partnership's own good practice, events with actions
//! followed up until done, self-assessments kept over time, and cohort sizes for the place.

use careweave_domain::access::{Principal, Role};
use careweave_domain::place::{
    EventItemKind, EvidenceKind, EvidenceStrength, NoteKind, PlaceAccess, Question, Score,
};
use careweave_domain::{OrganisationId, OrganisationKind, PlaceId, PlaceLevel};
use careweave_place::survey;
use careweave_store::audit::AuditFilter;
use careweave_store::change::ActionError;
use careweave_store::people::{NewOrganisation, NewPlace};
use careweave_store::place::{NewAction, NewPractice, NewWorkspace, ENTITY};
use careweave_store::population::{PopulationLoad, WorklistRow};
use careweave_store::testing::{test_nhs_number, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::NaiveDate;

const PASSWORD: &str = "correct horse battery staple";

macro_rules! on_both_backends {
    ($name:ident, |$w:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($w: World) $body

            #[tokio::test]
            async fn sqlite() {
                let db = TestDatabase::new(Backend::Sqlite).await;
                run(world(&db.store).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = TestDatabase::new(Backend::Postgres).await;
                run(world(&db.store).await).await;
            }
        }
    };
}

/// A PCN place with one practice, the PCN and a charity as organisations, and people in each role.
struct World {
    store: Store,
    place: PlaceId,
    pcn: OrganisationId,
    charity: OrganisationId,
    /// A commissioner of the PCN: leads the partnership.
    lead: Principal,
    /// An analyst of the PCN: a partner.
    analyst: Principal,
    /// A worker of the PCN: no part in the partnership.
    worker: Principal,
    /// A commissioner of the charity, which is not a partner until added.
    outsider: Principal,
}

async fn world(store: &Store) -> World {
    let place = store
        .insert_place(&NewPlace {
            level: PlaceLevel::Pcn,
            code: "U12345".into(),
            name: "Riverside PCN".into(),
            parent: None,
            imd_decile: None,
        })
        .await
        .expect("place");
    let org = |name: &str, kind, ods: Option<&str>| NewOrganisation {
        name: name.into(),
        kind,
        ods_code: ods.map(|c| c.parse().expect("ods")),
        place: Some(place),
    };
    store
        .insert_organisation(&org(
            "Riverside Surgery",
            OrganisationKind::GpPractice,
            Some("Y00001"),
        ))
        .await
        .expect("practice");
    let pcn = store
        .insert_organisation(&org("Riverside PCN", OrganisationKind::Pcn, None))
        .await
        .expect("pcn");
    let charity = store
        .insert_organisation(&org("Riverside Trust", OrganisationKind::Vcse, None))
        .await
        .expect("charity");
    let user = |name: &'static str, role, at| test_user(store, name, role, at, PASSWORD);
    World {
        store: store.clone(),
        place,
        pcn,
        charity,
        lead: user("lead", Role::Commissioner, pcn).await,
        analyst: user("analyst", Role::Analyst, pcn).await,
        worker: user("worker", Role::Worker, pcn).await,
        outsider: user("outsider", Role::Commissioner, charity).await,
    }
}

fn new_workspace(w: &World, organisation: OrganisationId) -> NewWorkspace {
    NewWorkspace {
        name: "Riverside partnership".into(),
        place: w.place,
        description: "Planning care for Riverside".into(),
        organisation,
    }
}

async fn denied(store: &Store) -> usize {
    store
        .audit_entries(&AuditFilter {
            entity: Some(ENTITY.into()),
            entity_id: None,
            limit: 1000,
        })
        .await
        .expect("audit")
        .iter()
        .filter(|e| e.action == "denied")
        .count()
}

on_both_backends!(partners_open_the_workspace_and_nobody_else_does, |w| {
    // Only a lead of the organisation named may start it.
    for (who, org) in [
        (&w.analyst, w.pcn),
        (&w.worker, w.pcn),
        (&w.outsider, w.pcn),
    ] {
        assert!(matches!(
            w.store.create_workspace(who, &new_workspace(&w, org)).await,
            Err(ActionError::Denied)
        ));
    }
    assert_eq!(denied(&w.store).await, 3);
    let ws = w
        .store
        .create_workspace(&w.lead, &new_workspace(&w, w.pcn))
        .await
        .expect("create");
    assert_eq!(ws.access, PlaceAccess::Lead);
    assert_eq!(ws.partners.len(), 1);
    assert_eq!(ws.place.code, "U12345");

    let analyst = w
        .store
        .open_workspace(&w.analyst, ws.id)
        .await
        .expect("analyst");
    assert_eq!(analyst.access, PlaceAccess::Partner);
    for who in [&w.worker, &w.outsider] {
        assert!(matches!(
            w.store.open_workspace(who, ws.id).await,
            Err(ActionError::Denied)
        ));
    }
    // A workspace that does not exist is refused in the same words.
    assert!(matches!(
        w.store.open_workspace(&w.lead, ws.id + 100).await,
        Err(ActionError::Denied)
    ));
    assert_eq!(denied(&w.store).await, 6);
    assert_eq!(w.store.workspaces_for(&w.analyst).await.unwrap().len(), 1);
    assert!(w
        .store
        .workspaces_for(&w.outsider)
        .await
        .unwrap()
        .is_empty());
    assert!(w.store.workspaces_for(&w.worker).await.unwrap().is_empty());

    // A partner may not add partners; the lead may, and the outsider's organisation is then in.
    assert!(matches!(
        w.store.add_partner(&analyst, w.charity).await,
        Err(ActionError::Denied)
    ));
    w.store.add_partner(&ws, w.charity).await.expect("add");
    assert!(matches!(
        w.store.add_partner(&ws, w.charity).await,
        Err(ActionError::Refused { .. })
    ));
    let outsider = w
        .store
        .open_workspace(&w.outsider, ws.id)
        .await
        .expect("now a partner");
    assert_eq!(outsider.partners.len(), 2);
    assert_eq!(w.store.workspaces_for(&w.outsider).await.unwrap().len(), 1);
});

on_both_backends!(survey_answers_keep_groups_and_themes_and_count_raw, |w| {
    let ws = w
        .store
        .create_workspace(&w.lead, &new_workspace(&w, w.pcn))
        .await
        .unwrap();
    let themes = w.store.survey_themes().await.unwrap();
    assert!(themes.iter().any(|t| t.code == "transport"));
    let mut csv = String::from("question,answer,Age band\n");
    for i in 0..9 {
        csv.push_str(&format!(
            "What would help?,The bus is always late {i},75+\n"
        ));
    }
    csv.push_str("What would help?,I feel lonely since the bus stopped,18-64\n");
    csv.push_str("What would help?,,18-64\n");
    let parsed = survey::read("s.csv", &csv, &themes).unwrap();
    assert_eq!((parsed.responses.len(), parsed.rejected.len()), (10, 1));
    let analyst = w.store.open_workspace(&w.analyst, ws.id).await.unwrap();
    w.store
        .import_survey(&analyst, "Spring survey", "s.csv", &parsed)
        .await
        .expect("import");
    let surveys = w.store.surveys(&ws).await.unwrap();
    assert_eq!((surveys[0].accepted, surveys[0].rejected), (10, 1));
    let counts = w.store.survey_theme_counts(&ws).await.unwrap();
    let transport = counts
        .overall
        .iter()
        .find(|(t, _)| t.contains("Transport"))
        .unwrap();
    assert_eq!(transport.1, 10);
    assert!(counts
        .by_group
        .contains(&("Age band".into(), "75+".into(), transport.0.clone(), 9)));
    assert!(counts
        .groups
        .contains(&("Age band".into(), "18-64".into(), 1)));

    // A lead adds a theme; a partner may not.
    assert!(matches!(
        w.store
            .add_place_theme(&analyst, "Parks", &["park".to_owned()])
            .await,
        Err(ActionError::Denied)
    ));
    w.store
        .add_place_theme(&ws, "Parks and green space", &["park".to_owned()])
        .await
        .expect("theme");
    assert!(w
        .store
        .survey_themes()
        .await
        .unwrap()
        .iter()
        .any(|t| t.code == "parks_and_green_space"));

    let held = NaiveDate::from_ymd_opt(2026, 5, 2).unwrap();
    w.store
        .add_place_note(
            &ws,
            NoteKind::Roadshow,
            held,
            "Market square",
            "Buses came up often",
        )
        .await
        .unwrap();
    let notes = w.store.place_notes(&ws).await.unwrap();
    assert_eq!(
        (notes[0].kind, notes[0].held_on),
        (NoteKind::Roadshow, held)
    );
});

on_both_backends!(
    answers_practice_events_actions_and_assessments_are_kept,
    |w| {
        let ws = w
            .store
            .create_workspace(&w.lead, &new_workspace(&w, w.pcn))
            .await
            .unwrap();
        let evidence = vec![
            (EvidenceKind::Practice, "wokingham-mdt-triggers".to_owned()),
            (EvidenceKind::Chart, "segment".to_owned()),
        ];
        w.store
            .save_place_answer(
                &ws,
                Question::Integration,
                "One MDT for the place",
                &evidence,
            )
            .await
            .unwrap();
        w.store
            .save_place_answer(
                &ws,
                Question::Integration,
                "One MDT, weekly",
                &evidence[..1],
            )
            .await
            .unwrap();
        let answers = w.store.place_answers(&ws).await.unwrap();
        assert_eq!(answers.len(), 1, "a second save replaces the first");
        assert_eq!(answers[0].answer, "One MDT, weekly");
        assert_eq!(answers[0].evidence, evidence[..1]);

        let reference = w
            .store
            .add_place_practice(
                &ws,
                &NewPractice {
                    title: "Our own".into(),
                    area: "Riverside".into(),
                    what: "A thing".into(),
                    for_whom: "Everyone".into(),
                    result: "Went well".into(),
                    strength: EvidenceStrength::Reported,
                    source: "Our report".into(),
                },
            )
            .await
            .unwrap();
        let own = w.store.place_practices(&ws).await.unwrap();
        assert_eq!(own[0].reference, reference);

        let held = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let action = |d: &str, due| NewAction {
            description: d.into(),
            owner: "PCN manager".into(),
            due_on: NaiveDate::from_ymd_opt(2026, due, 1).unwrap(),
            link: "Frailty cohort".into(),
        };
        w.store
            .add_place_event(
                &ws,
                "Solution-building event",
                held,
                &[
                    (EventItemKind::Proposal, "Weekly MDT".into()),
                    (EventItemKind::Decision, "Pilot it".into()),
                ],
                &[
                    action("Start the MDT", 9),
                    action("Review in three months", 7),
                ],
            )
            .await
            .unwrap();
        let events = w.store.place_events(&ws).await.unwrap();
        assert_eq!(events[0].items.len(), 2);
        let actions = w.store.place_actions(&ws).await.unwrap();
        assert_eq!(actions[0].action.description, "Review in three months");
        w.store
            .complete_place_action(&ws, actions[0].id, held)
            .await
            .unwrap();
        assert!(matches!(
            w.store
                .complete_place_action(&ws, actions[0].id, held)
                .await,
            Err(ActionError::Refused { .. })
        ));
        let actions = w.store.place_actions(&ws).await.unwrap();
        assert_eq!(
            actions[0].action.description, "Start the MDT",
            "open ones first"
        );
        assert_eq!(actions[1].done_on, Some(held));
        assert_eq!(
            w.store.workspaces_for(&w.lead).await.unwrap()[0].open_actions,
            1
        );

        let first = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        w.store
            .record_self_assessment(
                &ws,
                first,
                &[("governance".into(), Score::NotStarted, String::new())],
            )
            .await
            .unwrap();
        w.store
            .record_self_assessment(
                &ws,
                held,
                &[(
                    "governance".into(),
                    Score::Developing,
                    "Board formed".into(),
                )],
            )
            .await
            .unwrap();
        let kept = w.store.self_assessments(&ws).await.unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].assessed_on, held, "newest first");
        assert_eq!(
            kept[0].scores["governance"],
            (Score::Developing, "Board formed".into())
        );
        assert_eq!(kept[1].scores["governance"].0, Score::NotStarted);
    }
);

on_both_backends!(
    cohort_sizes_count_the_place_practices_on_the_latest_run,
    |w| {
        let ws = w
            .store
            .create_workspace(&w.lead, &new_workspace(&w, w.pcn))
            .await
            .unwrap();
        let mut worklist: Vec<WorklistRow> = (0..12)
            .map(|i| {
                let mut r = WorklistRow::found("frailty", test_nhs_number(i * 10), "eFI");
                r.practice = Some("Y00001".into());
                r
            })
            .collect();
        // Someone registered elsewhere is not the place's.
        let mut elsewhere = WorklistRow::found("frailty", test_nhs_number(500), "eFI");
        elsewhere.practice = Some("Y99999".into());
        worklist.push(elsewhere);
        w.store
            .load_population(
                None,
                &PopulationLoad {
                    index_date: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                    disclosure_control: true,
                    cohorts: vec![
                        ("frailty".into(), "Moderate or severe frailty".into()),
                        ("carers".into(), "Carers".into()),
                    ],
                    criteria: Vec::new(),
                    profiles: Vec::new(),
                    worklist,
                },
            )
            .await
            .unwrap();
        let sizes = w.store.place_cohort_sizes(&ws).await.unwrap();
        assert_eq!(
            sizes,
            [
                ("carers".to_owned(), "Carers".to_owned(), 0),
                (
                    "frailty".to_owned(),
                    "Moderate or severe frailty".to_owned(),
                    12
                )
            ]
        );
    }
);
