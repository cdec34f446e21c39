//! Significant events in the store, run identically on SQLite and PostgreSQL: who may record and
//! who may read an event (per role), escalation to the board, the theme list, the raw report
//! counts, and the audit of every read, list, write and refusal.

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::CaseId;
use careweave_domain::events::{EventGrant, EventKind};
use careweave_domain::safeguarding::{ConcernCategory, RiskLevel};
use careweave_domain::ServiceId;
use careweave_store::audit::AuditFilter;
use careweave_store::casework::CaseworkService;
use careweave_store::change::ActionError;
use careweave_store::events::{NewEvent, ENTITY};
use careweave_store::safeguarding::{LaReferral, NewConcern};
use careweave_store::testing::{cross_employer_case, test_user, TestDatabase};
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

/// The shared cross-employer case and the roles around it.
struct World {
    store: Store,
    service: CaseworkService,
    case: CaseId,
    /// The charity's link worker, lead on the case; records the events.
    lead: Principal,
    /// The PCN's caseworker, co-worker on the case.
    coworker: Principal,
    /// Another charity worker who does not work the case.
    colleague: Principal,
    supervisor: Principal,
    partner_supervisor: Principal,
    referrer: Principal,
    analyst: Principal,
    commissioner: Principal,
    admin: Principal,
}

async fn world(store: &Store) -> World {
    let shared = cross_employer_case(store, PASSWORD).await;
    let service = store.casework_services().await.expect("services").remove(0);
    let user = |name: &'static str, role, org| test_user(store, name, role, org, PASSWORD);
    World {
        service,
        case: shared.case,
        colleague: user("colleague", Role::Worker, shared.charity).await,
        supervisor: user("supervisor", Role::Supervisor, shared.charity).await,
        partner_supervisor: user("partner", Role::Supervisor, shared.pcn).await,
        referrer: user("referrer", Role::Referrer, shared.practice).await,
        analyst: user("analyst", Role::Analyst, shared.charity).await,
        commissioner: user("commissioner", Role::Commissioner, shared.charity).await,
        admin: user("admin", Role::Admin, shared.charity).await,
        lead: shared.lead,
        coworker: shared.coworker,
        store: store.clone(),
    }
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).expect("a date")
}

fn event(w: &World, case: Option<CaseId>, escalate: bool) -> NewEvent {
    NewEvent {
        kind: EventKind::Significant,
        service: w.service.id,
        case,
        practice: None,
        occurred_on: day(10),
        description: "Waited 14 weeks for a housing assessment".into(),
        themes: vec!["housing_delays".into(), "service_failed".into()],
        escalation: escalate.then(|| "Third case this month".to_owned()),
    }
}

async fn denials(store: &Store, id: Option<i64>) -> usize {
    store
        .audit_entries(&AuditFilter {
            entity: Some(ENTITY.into()),
            entity_id: id,
            limit: 1000,
        })
        .await
        .expect("audit")
        .iter()
        .filter(|e| e.action == "denied")
        .count()
}

on_both_backends!(read_access_per_role, |w| {
    let id = w
        .store
        .record_event(&w.lead, &event(&w, Some(w.case), true))
        .await
        .expect("the lead records an event from their case");
    let expected = [
        (&w.lead, Some(EventGrant::Recorder)),
        (&w.supervisor, Some(EventGrant::Supervisor)),
        (&w.coworker, Some(EventGrant::CareTeam)),
        (&w.colleague, None),
        (&w.partner_supervisor, None),
        (&w.referrer, None),
        (&w.analyst, None),
        (&w.commissioner, None),
        (&w.admin, None),
    ];
    for (who, grant) in expected {
        match (w.store.event_for(who, id).await, grant) {
            (Ok(v), Some(g)) => {
                assert_eq!(v.grant, g);
                assert_eq!(
                    v.area.as_deref(),
                    Some("Riverside Surgery"),
                    "the person's practice"
                );
                assert_eq!(
                    v.themes,
                    ["Housing delays", "A service that failed someone"]
                );
            }
            (Err(ActionError::Denied), None) => {}
            (other, g) => panic!("user {}: expected {g:?}, got {other:?}", who.user),
        }
        let listed = w.store.events_for(who).await.expect("list");
        assert_eq!(listed.iter().any(|e| e.id == id), grant.is_some());
    }
    assert_eq!(
        denials(&w.store, Some(id)).await,
        6,
        "each refusal is audited"
    );
});

on_both_backends!(recording_is_for_people_who_work_the_service_and_case, |w| {
    for who in [&w.analyst, &w.admin, &w.referrer, &w.commissioner] {
        assert!(matches!(
            w.store.record_event(who, &event(&w, None, false)).await,
            Err(ActionError::Denied)
        ));
    }
    // A colleague of the charity may record on their own, but not from a case they do not work.
    w.store
        .record_event(&w.colleague, &event(&w, None, false))
        .await
        .expect("recorded without a case");
    assert!(matches!(
        w.store
            .record_event(&w.colleague, &event(&w, Some(w.case), false))
            .await,
        Err(ActionError::Denied)
    ));
    let mut wrong = event(&w, None, false);
    wrong.service = ServiceId::new(w.service.id.get() + 100);
    assert!(matches!(
        w.store.record_event(&w.lead, &wrong).await,
        Err(ActionError::Denied)
    ));
    let mut themeless = event(&w, None, false);
    themeless.themes = vec!["not_a_theme".into()];
    assert!(matches!(
        w.store.record_event(&w.lead, &themeless).await,
        Err(ActionError::Refused { .. })
    ));
    assert_eq!(denials(&w.store, None).await, 6);
});

on_both_backends!(
    only_the_supervisor_marks_an_escalation_taken_to_the_board,
    |w| {
        let escalated = w
            .store
            .record_event(&w.lead, &event(&w, Some(w.case), true))
            .await
            .expect("recorded");
        let plain = w
            .store
            .record_event(&w.lead, &event(&w, None, false))
            .await
            .expect("recorded");
        for who in [&w.lead, &w.coworker, &w.analyst] {
            assert!(matches!(
                w.store.mark_taken_to_board(who, escalated, day(20)).await,
                Err(ActionError::Denied)
            ));
        }
        assert!(matches!(
            w.store
                .mark_taken_to_board(&w.supervisor, plain, day(20))
                .await,
            Err(ActionError::Refused { .. })
        ));
        assert!(matches!(
            w.store
                .mark_taken_to_board(&w.supervisor, escalated, day(1))
                .await,
            Err(ActionError::Refused { .. })
        ));
        w.store
            .mark_taken_to_board(&w.supervisor, escalated, day(20))
            .await
            .expect("marked");
        let v = w.store.event_for(&w.lead, escalated).await.expect("read");
        assert_eq!(v.board_on, Some(day(20)));
        assert_eq!(v.escalation_reason, "Third case this month");
    }
);

on_both_backends!(counts_by_month_theme_and_area, |w| {
    for _ in 0..3 {
        w.store
            .record_event(&w.lead, &event(&w, Some(w.case), false))
            .await
            .expect("recorded");
    }
    let mut good = event(&w, None, false);
    good.kind = EventKind::GoodNews;
    good.themes = vec!["partnership_working".into()];
    good.occurred_on = NaiveDate::from_ymd_opt(2026, 4, 2).expect("a date");
    w.store
        .record_event(&w.lead, &good)
        .await
        .expect("recorded");
    let counts = w
        .store
        .event_theme_counts(std::slice::from_ref(&w.service))
        .await
        .expect("counts");
    assert_eq!(
        counts.by_month,
        [
            (
                "2026-04".into(),
                "Good partnership working".into(),
                EventKind::GoodNews,
                1
            ),
            (
                "2026-03".into(),
                "Housing delays".into(),
                EventKind::Significant,
                3
            ),
            (
                "2026-03".into(),
                "A service that failed someone".into(),
                EventKind::Significant,
                3
            ),
        ]
    );
    assert_eq!(
        counts.by_area,
        [
            (
                "Area not recorded".into(),
                "Good partnership working".into(),
                1
            ),
            ("Riverside Surgery".into(), "Housing delays".into(), 3),
            (
                "Riverside Surgery".into(),
                "A service that failed someone".into(),
                3
            ),
        ]
    );
    assert_eq!(
        w.store.event_theme_counts(&[]).await.expect("none"),
        Default::default()
    );
    let board = w
        .store
        .board_counts(std::slice::from_ref(&w.service), day(31))
        .await
        .expect("board");
    assert!(board.safeguarding.is_empty() && board.mdt.is_empty());
});

on_both_backends!(only_admins_configure_themes, |w| {
    assert!(matches!(
        w.store.add_event_theme(&w.supervisor, "Fuel poverty").await,
        Err(ActionError::Denied)
    ));
    let code = w
        .store
        .add_event_theme(&w.admin, "Fuel poverty")
        .await
        .expect("added");
    assert_eq!(code, "fuel_poverty");
    let themes = w.store.event_themes(false).await.expect("themes");
    assert_eq!(
        themes.last().map(|t| t.label.as_str()),
        Some("Fuel poverty")
    );
    assert!(themes.iter().any(|t| t.label == "Benefit sanctions"));
});

on_both_backends!(
    board_counts_safeguarding_by_month_raised_and_referred,
    |w| {
        let today = chrono::Utc::now().date_naive();
        let concern = NewConcern {
            category: ConcernCategory::AdultFinancial,
            risk: RiskLevel::High,
            noticed_on: today,
            description: "Not counted by what it says".into(),
        };
        let first = w
            .store
            .raise_concern(
                &w.store.open_case(&w.lead, w.case, false).await.unwrap(),
                &concern,
            )
            .await
            .expect("raised");
        w.store
            .raise_concern(
                &w.store.open_case(&w.lead, w.case, false).await.unwrap(),
                &concern,
            )
            .await
            .expect("raised");
        w.store
            .record_la_referral(
                &w.lead,
                first,
                &LaReferral {
                    referred_on: today,
                    reference: "ASC-1".into(),
                },
            )
            .await
            .expect("referred");
        let board = w
            .store
            .board_counts(std::slice::from_ref(&w.service), today)
            .await
            .expect("board");
        assert_eq!(
            board.safeguarding,
            [(today.format("%Y-%m").to_string(), 2, 1)]
        );
        // Another team's report does not see them.
        assert_eq!(
            w.store.board_counts(&[], today).await.expect("none"),
            Default::default()
        );
    }
);
