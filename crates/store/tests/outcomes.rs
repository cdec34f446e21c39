//! Outcome measures in the store, run identically on SQLite and PostgreSQL: a measure taken twice
//! and read back with its scores and bands, an answer out of range refused with nothing written,
//! who may record a measure and who may set a service's schedule (per role), and the audit.

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::{CaseId, OutcomePoint};
use careweave_domain::ServiceId;
use careweave_instruments::{load, Answers, Catalogue, Instrument, Source};
use careweave_store::audit::AuditFilter;
use careweave_store::change::ActionError;
use careweave_store::outcomes::NewOutcome;
use careweave_store::testing::{cross_employer_case, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{Duration, NaiveDate};

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

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

struct World {
    store: Store,
    case: CaseId,
    service: ServiceId,
    catalogue: Catalogue,
    lead: Principal,
    coworker: Principal,
    supervisor: Principal,
    partner_supervisor: Principal,
    admin: Principal,
    analyst: Principal,
    referrer: Principal,
}

async fn world(store: &Store) -> World {
    let shared = cross_employer_case(store, PASSWORD).await;
    let user = |name: &'static str, role, org| test_user(store, name, role, org, PASSWORD);
    let service = store
        .case_for(&shared.lead, shared.case)
        .await
        .unwrap()
        .service
        .id;
    World {
        case: shared.case,
        service,
        catalogue: load(&[Source::Shipped]),
        supervisor: user("supervisor", Role::Supervisor, shared.charity).await,
        partner_supervisor: user("partner", Role::Supervisor, shared.pcn).await,
        admin: user("admin", Role::Admin, shared.charity).await,
        analyst: user("analyst", Role::Analyst, shared.charity).await,
        referrer: user("referrer", Role::Referrer, shared.practice).await,
        lead: shared.lead,
        coworker: shared.coworker,
        store: store.clone(),
    }
}

impl World {
    fn ons4(&self) -> &Instrument {
        self.catalogue
            .get("ons4")
            .expect("ONS4 ships with careweave")
    }
}

fn ons4_answers(satisfied: i64, worthwhile: i64, happy: i64, anxious: i64) -> Answers {
    let mut a = Answers::new();
    a.answer("satisfied", satisfied)
        .answer("worthwhile", worthwhile)
        .answer("happy", happy)
        .answer("anxious", anxious);
    a
}

on_both_backends!(
    a_measure_taken_twice_is_read_back_with_scores_and_bands,
    |w| {
        let baseline = NewOutcome {
            instrument: w.ons4(),
            answers: ons4_answers(4, 5, 5, 7),
            taken_on: today() - Duration::days(90),
            point: OutcomePoint::Baseline,
        };
        w.store
            .record_outcome(
                &w.store.open_case(&w.lead, w.case, true).await.unwrap(),
                &baseline,
            )
            .await
            .unwrap();
        let follow_up = NewOutcome {
            answers: ons4_answers(7, 6, 5, 3),
            taken_on: today(),
            point: OutcomePoint::FollowUp,
            ..baseline
        };
        w.store
            .record_outcome(
                &w.store.open_case(&w.coworker, w.case, true).await.unwrap(),
                &follow_up,
            )
            .await
            .unwrap();
        let case = w.store.case_for(&w.lead, w.case).await.unwrap();
        assert_eq!(case.outcomes.len(), 2);
        let (first, last) = (&case.outcomes[0], &case.outcomes[1]);
        assert_eq!(first.point, OutcomePoint::Baseline);
        assert_eq!(first.reported("life_satisfaction"), Some(4.0));
        assert_eq!(last.reported("anxiety"), Some(3.0));
        let anxiety = last.scores.iter().find(|s| s.scale == "anxiety").unwrap();
        assert_eq!(anxiety.band.as_deref(), Some("Low"));
        assert_eq!(last.by, "Test coworker");
        assert!(case
            .timeline
            .iter()
            .any(|e| e.summary == "ONS personal wellbeing (ONS4) recorded (follow-up)"));
        // The service's paired change: one pair, baseline then follow-up.
        let pairs = w.store.outcome_pairs(&[w.service]).await.unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].0.point, OutcomePoint::Baseline);
        assert_eq!(pairs[0].1.point, OutcomePoint::FollowUp);
    }
);

on_both_backends!(
    an_answer_out_of_range_is_refused_and_nothing_is_written,
    |w| {
        let refused = w
            .store
            .record_outcome(
                &w.store.open_case(&w.lead, w.case, true).await.unwrap(),
                &NewOutcome {
                    instrument: w.ons4(),
                    answers: ons4_answers(11, 5, 5, 5),
                    taken_on: today(),
                    point: OutcomePoint::Baseline,
                },
            )
            .await;
        match refused {
            Err(ActionError::Refused { reason: m, .. }) => {
                assert!(m.contains("satisfied"), "{m}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(w
            .store
            .case_for(&w.lead, w.case)
            .await
            .unwrap()
            .outcomes
            .is_empty());
    }
);

on_both_backends!(only_those_who_may_change_the_case_record_a_measure, |w| {
    let new = NewOutcome {
        instrument: w.ons4(),
        answers: ons4_answers(5, 5, 5, 5),
        taken_on: today(),
        point: OutcomePoint::Baseline,
    };
    // Referrers follow but do not change a case; analysts and admins never open one. (A
    // supervisor of a care-team member's employer may act on the case like any supervisor.)
    for who in [&w.analyst, &w.admin, &w.referrer] {
        assert!(matches!(
            w.store.open_case(who, w.case, true).await,
            Err(ActionError::Denied)
        ));
    }
    let id = w
        .store
        .record_outcome(
            &w.store.open_case(&w.lead, w.case, true).await.unwrap(),
            &new,
        )
        .await
        .unwrap();
    assert!(id > 0);
    let person = w.store.case_for(&w.lead, w.case).await.unwrap().person;
    let audit = w
        .store
        .audit_entries(&AuditFilter {
            entity: Some("person".into()),
            entity_id: Some(person.get()),
            limit: 200,
        })
        .await
        .unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "create" && e.reason.contains("outcome measure ons4 recorded")));
});

on_both_backends!(
    a_services_schedule_is_set_by_its_providers_supervisors_and_admins,
    |w| {
        for who in [
            &w.lead,
            &w.coworker,
            &w.partner_supervisor,
            &w.analyst,
            &w.referrer,
        ] {
            assert!(matches!(
                w.store
                    .set_outcome_schedule(who, w.service, w.ons4(), Some(91), true)
                    .await,
                Err(ActionError::Denied)
            ));
        }
        assert!(matches!(
            w.store
                .set_outcome_schedule(&w.supervisor, w.service, w.ons4(), Some(0), true)
                .await,
            Err(ActionError::Refused { .. })
        ));
        w.store
            .set_outcome_schedule(&w.supervisor, w.service, w.ons4(), Some(91), true)
            .await
            .unwrap();
        // Changing it replaces the row, and the cached schedules show the change at once.
        w.store
            .set_outcome_schedule(&w.admin, w.service, w.ons4(), Some(84), false)
            .await
            .unwrap();
        let schedules = w.store.outcome_schedules().await.unwrap();
        assert_eq!(schedules.len(), 1);
        assert_eq!(schedules[0].follow_up_days, Some(84));
        assert!(!schedules[0].at_discharge);
    }
);

on_both_backends!(a_goal_attainment_record_keeps_every_rating_in_order, |w| {
    use careweave_domain::casework::GoalAttainment;
    use careweave_store::casework::PlanItem;
    let version = w
        .store
        .change_plan(
            &w.store.open_case(&w.lead, w.case, true).await.unwrap(),
            0,
            &PlanItem::Goal {
                text: "Go to the walking group every week".into(),
                target_on: None,
            },
            today(),
        )
        .await
        .unwrap();
    let goal = w.store.case_for(&w.lead, w.case).await.unwrap().plan.goals[0].id;
    let mut version = version;
    for (rating, days_ago) in [(GoalAttainment::Less, 60), (GoalAttainment::More, 0)] {
        version = w
            .store
            .change_plan(
                &w.store.open_case(&w.coworker, w.case, true).await.unwrap(),
                version,
                &PlanItem::Attainment {
                    goal,
                    rating,
                    on: today() - Duration::days(days_ago),
                },
                today(),
            )
            .await
            .unwrap();
    }
    let goals = w.store.case_for(&w.lead, w.case).await.unwrap().plan.goals;
    let ratings: Vec<GoalAttainment> = goals[0].attainment.iter().map(|(_, r)| *r).collect();
    assert_eq!(ratings, [GoalAttainment::Less, GoalAttainment::More]);
    // A goal of another case cannot be rated from this one.
    assert!(matches!(
        w.store
            .change_plan(
                &w.store.open_case(&w.lead, w.case, true).await.unwrap(),
                version,
                &PlanItem::Attainment {
                    goal: goal + 1000,
                    rating: GoalAttainment::Expected,
                    on: today(),
                },
                today(),
            )
            .await,
        Err(ActionError::NotFound(_))
    ));
    // Referrers follow but do not rate: they cannot open the case for change.
    assert!(matches!(
        w.store.open_case(&w.referrer, w.case, true).await,
        Err(ActionError::Denied)
    ));
});
