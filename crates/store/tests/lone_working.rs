//! Lone working in the store, run identically on SQLite and PostgreSQL: who may set an employer's
//! visit rules (per role), rules and safety flags refusing a plan with a message naming them,
//! check-in and check-out, the overdue alert and who may see it or close it, and the audit.

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::{CaseId, ContactType};
use careweave_domain::lone_working::{PolicyRule, PolicyRuleKind, VisitStatus};
use careweave_domain::OrganisationId;
use careweave_store::audit::AuditFilter;
use careweave_store::change::ActionError;
use careweave_store::lone_working::{NewVisit, VisitStep};
use careweave_store::testing::{cross_employer_case, denied_rows, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

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

fn day() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn at(h: u32, m: u32) -> NaiveDateTime {
    day().and_time(time(h, m))
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("a valid time")
}

/// The shared cross-employer case (the charity's worker leads, the PCN's is a co-worker) and a
/// holder of every other role.
struct World {
    store: Store,
    case: CaseId,
    charity: OrganisationId,
    /// The charity's link worker, lead on the case.
    lead: Principal,
    /// The PCN's caseworker (an NHS employer), co-worker on the case.
    coworker: Principal,
    /// A supervisor of the charity, the lead's employer.
    supervisor: Principal,
    /// A supervisor of the PCN.
    partner_supervisor: Principal,
    admin: Principal,
    analyst: Principal,
    commissioner: Principal,
    referrer: Principal,
}

async fn world(store: &Store) -> World {
    let shared = cross_employer_case(store, PASSWORD).await;
    let user = |name: &'static str, role, org| test_user(store, name, role, org, PASSWORD);
    World {
        case: shared.case,
        charity: shared.charity,
        supervisor: user("supervisor", Role::Supervisor, shared.charity).await,
        partner_supervisor: user("partner", Role::Supervisor, shared.pcn).await,
        admin: user("admin", Role::Admin, shared.charity).await,
        analyst: user("analyst", Role::Analyst, shared.charity).await,
        commissioner: user("commissioner", Role::Commissioner, shared.charity).await,
        referrer: user("referrer", Role::Referrer, shared.practice).await,
        lead: shared.lead,
        coworker: shared.coworker,
        store: store.clone(),
    }
}

/// Opens the case for change as `who` (the door refuses anyone outside it) and plans the visit.
async fn plan(w: &World, who: &Principal, visit: &NewVisit) -> Result<i64, ActionError> {
    let access = w.store.open_case(who, w.case, true).await?;
    w.store.plan_visit(who, &access, visit).await
}

fn home_visit(companion: Option<&Principal>) -> NewVisit {
    NewVisit {
        contact_type: ContactType::HomeVisit,
        on: day(),
        starts_at: time(9, 0),
        back_by: time(10, 0),
        place: "12 Example Road".into(),
        companion: companion.map(|p| p.user),
        note: String::new(),
    }
}

fn nhs_rule() -> PolicyRule {
    PolicyRule {
        name: "Accompanied home visits".into(),
        kind: PolicyRuleKind::NhsCompanionRequired,
        after: None,
    }
}

on_both_backends!(
    an_employers_rules_are_set_by_its_admins_and_supervisors_only,
    |w| {
        for who in [
            &w.lead,
            &w.coworker,
            &w.partner_supervisor,
            &w.analyst,
            &w.commissioner,
            &w.referrer,
        ] {
            assert!(matches!(
                w.store
                    .add_visit_rule(who, w.charity, &nhs_rule(), day())
                    .await,
                Err(ActionError::Denied)
            ));
        }
        let by_admin = w
            .store
            .add_visit_rule(&w.admin, w.charity, &nhs_rule(), day())
            .await
            .unwrap();
        let by_supervisor = w
            .store
            .add_visit_rule(&w.supervisor, w.charity, &nhs_rule(), day())
            .await
            .unwrap();
        // The evening rule needs its time, and only it takes one.
        let mut evening = nhs_rule();
        evening.kind = PolicyRuleKind::NoLoneVisitsAfter;
        assert!(matches!(
            w.store
                .add_visit_rule(&w.supervisor, w.charity, &evening, day())
                .await,
            Err(ActionError::Refused { .. })
        ));
        assert_eq!(w.store.visit_rules().await.unwrap().len(), 2);
        for who in [&w.lead, &w.partner_supervisor, &w.analyst] {
            assert!(matches!(
                w.store.end_visit_rule(who, by_admin, day()).await,
                Err(ActionError::Denied)
            ));
        }
        w.store
            .end_visit_rule(&w.supervisor, by_admin, day())
            .await
            .unwrap();
        let left = w.store.visit_rules().await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, by_supervisor);
        let audit = w
            .store
            .audit_entries(&AuditFilter {
                entity: Some("visit_rule".into()),
                entity_id: Some(by_admin),
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(audit.len(), 2, "added and ended");
    }
);

on_both_backends!(
    an_nhs_companion_rule_refuses_the_charitys_lone_visit_naming_the_rule,
    |w| {
        w.store
            .add_visit_rule(&w.supervisor, w.charity, &nhs_rule(), day())
            .await
            .unwrap();
        match plan(&w, &w.lead, &home_visit(None)).await {
            Err(ActionError::NotAllowed(messages)) => {
                assert_eq!(messages.len(), 1);
                assert!(messages[0]
                    .contains("Riverside Community Trust's rule \"Accompanied home visits\""));
            }
            other => panic!("expected the rule to refuse the visit, got {other:?}"),
        }
        // Nothing was stored for the refused plan.
        assert!(w
            .store
            .visits_on(w.lead.user, day())
            .await
            .unwrap()
            .is_empty());
        // With the PCN's caseworker (an NHS employer) it may go ahead.
        plan(&w, &w.lead, &home_visit(Some(&w.coworker)))
            .await
            .unwrap();
        // The rule is the charity's: the PCN's own staff may still visit alone, and calls are
        // not visits in the community.
        plan(&w, &w.coworker, &home_visit(None)).await.unwrap();
        let mut call = home_visit(None);
        call.contact_type = ContactType::Phone;
        plan(&w, &w.lead, &call).await.unwrap();
        // No one outside the case may plan a visit to the person.
        for who in [&w.referrer, &w.analyst, &w.admin] {
            assert!(plan(&w, who, &home_visit(Some(&w.coworker))).await.is_err());
        }
    }
);

on_both_backends!(
    a_safety_flag_on_the_person_or_address_requires_a_joint_visit,
    |w| {
        let person = w.store.case_for(&w.lead, w.case).await.unwrap().person;
        // Without a recorded address there is nothing to flag but the person.
        assert!(matches!(
            w.store
                .raise_safety_flag(
                    &w.store.open_case(&w.coworker, w.case, true).await.unwrap(),
                    true,
                    "Dog loose in the garden",
                    day()
                )
                .await,
            Err(ActionError::Refused { .. })
        ));
        for who in [&w.referrer, &w.analyst, &w.commissioner, &w.admin] {
            // None of them may open the case for change, so none can raise a flag on it.
            assert!(matches!(
                w.store.open_case(who, w.case, true).await,
                Err(ActionError::Denied)
            ));
        }
        let household = w.store.insert_household(None, None).await.unwrap();
        sqlx::query("UPDATE people SET household_id = $1 WHERE id = $2")
            .bind(household.get())
            .bind(person.get())
            .execute(w.store.pool())
            .await
            .unwrap();
        w.store
            .raise_safety_flag(
                &w.store.open_case(&w.coworker, w.case, true).await.unwrap(),
                true,
                "Dog loose in the garden",
                day(),
            )
            .await
            .unwrap();
        let access = w.store.open_case(&w.coworker, w.case, false).await.unwrap();
        let flags = w.store.safety_flags(&access).await.unwrap();
        assert_eq!(flags.len(), 1);
        assert!(flags[0].flag.on_address);
        match plan(&w, &w.lead, &home_visit(None)).await {
            Err(ActionError::NotAllowed(messages)) => {
                assert!(messages[0].contains("flag on the address"));
                assert!(messages[0].contains("Dog loose in the garden"));
            }
            other => panic!("expected the flag to refuse the visit, got {other:?}"),
        }
        plan(&w, &w.lead, &home_visit(Some(&w.supervisor)))
            .await
            .unwrap();
    }
);

on_both_backends!(
    an_overdue_visit_alerts_the_workers_supervisors_only_until_closed,
    |w| {
        let visit = plan(&w, &w.lead, &home_visit(None)).await.unwrap();
        // Only the worker checks themselves in.
        assert!(matches!(
            w.store
                .visit_step(&w.coworker, visit, VisitStep::CheckIn, at(9, 5))
                .await,
            Err(ActionError::Denied)
        ));
        w.store
            .visit_step(&w.lead, visit, VisitStep::CheckIn, at(9, 5))
            .await
            .unwrap();
        let board = w
            .store
            .lone_working_board(&w.supervisor, at(9, 30))
            .await
            .unwrap();
        assert!(board.overdue.is_empty());
        assert_eq!(board.today[0].status, VisitStatus::CheckedIn);
        // Past the expected return without a check-out: overdue, for the lead's supervisor only.
        assert_eq!(
            w.store
                .overdue_visit_count(&w.supervisor, at(10, 5))
                .await
                .unwrap(),
            1
        );
        for who in [&w.partner_supervisor, &w.lead, &w.admin, &w.referrer] {
            assert_eq!(
                w.store.overdue_visit_count(who, at(10, 5)).await.unwrap(),
                0
            );
        }
        let board = w
            .store
            .lone_working_board(&w.supervisor, at(10, 5))
            .await
            .unwrap();
        assert_eq!(board.overdue.len(), 1);
        assert_eq!(board.overdue[0].place, "12 Example Road");
        for who in [
            &w.lead,
            &w.coworker,
            &w.admin,
            &w.analyst,
            &w.commissioner,
            &w.referrer,
        ] {
            assert!(matches!(
                w.store.lone_working_board(who, at(10, 5)).await,
                Err(ActionError::Denied)
            ));
        }
        // A supervisor closes it by saying how they know the worker is safe; another employer's
        // supervisor cannot.
        assert!(matches!(
            w.store
                .confirm_safe(&w.partner_supervisor, visit, "Phoned", at(10, 6))
                .await,
            Err(ActionError::Denied)
        ));
        assert!(matches!(
            w.store
                .confirm_safe(&w.supervisor, visit, "  ", at(10, 6))
                .await,
            Err(ActionError::Refused { .. })
        ));
        w.store
            .confirm_safe(
                &w.supervisor,
                visit,
                "Phoned at 10:06, running late",
                at(10, 6),
            )
            .await
            .unwrap();
        assert_eq!(
            w.store
                .overdue_visit_count(&w.supervisor, at(10, 7))
                .await
                .unwrap(),
            0
        );
        let closed = &w.store.visits_on(w.lead.user, day()).await.unwrap()[0];
        assert_eq!(closed.status, VisitStatus::CheckedOut);
        assert_eq!(closed.closed_note, "Phoned at 10:06, running late");
        // A visit checked out by the worker is never overdue, and cannot be checked out twice.
        let second = plan(&w, &w.lead, &home_visit(None)).await.unwrap();
        w.store
            .visit_step(&w.lead, second, VisitStep::CheckOut, at(9, 50))
            .await
            .unwrap();
        assert!(matches!(
            w.store
                .visit_step(&w.lead, second, VisitStep::CheckOut, at(9, 51))
                .await,
            Err(ActionError::Refused { .. })
        ));
        assert_eq!(
            w.store
                .overdue_visit_count(&w.supervisor, at(11, 0))
                .await
                .unwrap(),
            0
        );
        let audit = w
            .store
            .audit_entries(&AuditFilter {
                entity: Some("lone_working".into()),
                entity_id: None,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(
            audit.len(),
            2,
            "each board read by the supervisor is audited"
        );
    }
);

on_both_backends!(
    safety_flags_are_read_only_through_an_opened_case_and_every_refusal_is_audited,
    |w| {
        let person = w.store.case_for(&w.lead, w.case).await.unwrap().person;
        w.store
            .raise_safety_flag(
                &w.store.open_case(&w.coworker, w.case, true).await.unwrap(),
                false,
                "Aggression towards staff",
                day(),
            )
            .await
            .unwrap();
        // Before the fix the flags' free-text reasons came back for a bare person id, with no
        // principal at all. Now they need the capability the access door gives, and the door
        // refuses (and audits) everyone without a care relationship.
        for who in [&w.analyst, &w.commissioner, &w.admin] {
            let before = denied_rows(&w.store, person).await;
            assert!(matches!(
                w.store.open_case(who, w.case, false).await,
                Err(ActionError::Denied)
            ));
            assert_eq!(
                denied_rows(&w.store, person).await,
                before + 1,
                "the refusal is audited"
            );
        }
        // The case view carries the capability it was read with; the flag read is audited too.
        let view = w.store.case_for(&w.lead, w.case).await.unwrap();
        assert_eq!(view.access.person(), person);
        assert_eq!(view.access.user(), w.lead.user);
        let flags = w.store.safety_flags(&view.access).await.unwrap();
        assert_eq!(flags.len(), 1);
        let audit = w
            .store
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(person.get()),
                limit: 50,
            })
            .await
            .unwrap();
        assert!(audit
            .iter()
            .any(|e| e.action == "read" && e.reason.starts_with("safety flags of case")));
    }
);
