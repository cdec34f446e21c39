//! Safeguarding concerns in the store, run identically on SQLite and PostgreSQL: who may raise and
//! who may see a concern (per role), its actions, the referral to the local authority, closing, and
//! the audit of every read, list, write and refusal.

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::CaseId;
use careweave_domain::safeguarding::{
    ConcernCategory, ConcernGrant, ConcernId, ConcernStatus, RiskLevel,
};
use careweave_store::audit::{AuditEntry, AuditFilter};
use careweave_store::change::ActionError;
use careweave_store::safeguarding::{LaReferral, NewConcern, NewConcernAction, ENTITY};
use careweave_store::testing::{cross_employer_case, denied_rows, test_user, TestDatabase};
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

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The shared cross-employer case (the charity's worker leads, the PCN's is a co-worker) and the
/// other roles around it.
struct World {
    store: Store,
    case: CaseId,
    /// The charity's link worker, lead on the case.
    lead: Principal,
    /// The PCN's caseworker, co-worker on the case from another employer.
    coworker: Principal,
    /// A supervisor of the charity, which runs the service.
    supervisor: Principal,
    /// A supervisor of the PCN, the partner employer.
    partner_supervisor: Principal,
    admin: Principal,
    analyst: Principal,
    referrer: Principal,
}

async fn world(store: &Store) -> World {
    let shared = cross_employer_case(store, PASSWORD).await;
    World {
        case: shared.case,
        referrer: test_user(store, "referrer", Role::Referrer, shared.practice, PASSWORD).await,
        supervisor: test_user(
            store,
            "supervisor",
            Role::Supervisor,
            shared.charity,
            PASSWORD,
        )
        .await,
        partner_supervisor: test_user(store, "partner", Role::Supervisor, shared.pcn, PASSWORD)
            .await,
        admin: test_user(store, "admin", Role::Admin, shared.charity, PASSWORD).await,
        analyst: test_user(store, "analyst", Role::Analyst, shared.charity, PASSWORD).await,
        lead: shared.lead,
        coworker: shared.coworker,
        store: store.clone(),
    }
}

fn concern(description: &str) -> NewConcern {
    NewConcern {
        category: ConcernCategory::AdultFinancial,
        risk: RiskLevel::High,
        noticed_on: today(),
        description: description.into(),
    }
}

async fn audit_of(store: &Store, id: Option<ConcernId>) -> Vec<AuditEntry> {
    store
        .audit_entries(&AuditFilter {
            entity: Some(ENTITY.into()),
            entity_id: Some(id.map_or(-1, ConcernId::get)),
            limit: 100,
        })
        .await
        .unwrap()
}

on_both_backends!(
    only_the_raiser_the_lead_and_the_providers_supervisors_see_a_concern,
    |w| {
        let by_coworker = w
            .store
            .raise_concern(
                &w.store.open_case(&w.coworker, w.case, false).await.unwrap(),
                &concern("Son takes her pension"),
            )
            .await
            .unwrap();
        let by_lead = w
            .store
            .raise_concern(
                &w.store.open_case(&w.lead, w.case, false).await.unwrap(),
                &concern("Bruises on her arms"),
            )
            .await
            .unwrap();
        for (who, grant) in [
            (&w.coworker, ConcernGrant::RaisedIt),
            (&w.lead, ConcernGrant::LeadWorker),
            (&w.supervisor, ConcernGrant::SupervisesService),
        ] {
            let seen = w.store.concern_for(who, by_coworker).await.unwrap();
            assert_eq!(seen.grant, grant);
            assert_eq!(seen.description, "Son takes her pension");
            assert_eq!(seen.status, ConcernStatus::Open);
        }
        // The co-worker from the partner employer sees the concern they raised, not the lead's.
        for who in [
            &w.coworker,
            &w.partner_supervisor,
            &w.admin,
            &w.analyst,
            &w.referrer,
        ] {
            assert!(matches!(
                w.store.concern_for(who, by_lead).await,
                Err(ActionError::Denied)
            ));
        }
        let count = |who: &Principal| {
            let store = w.store.clone();
            let who = who.clone();
            let case = w.case;
            // Someone the door does not let open the case sees no concerns on it.
            async move {
                match store.open_case(&who, case, false).await {
                    Ok(access) => store.concerns_on_case(&who, &access).await.unwrap().len(),
                    Err(_) => 0,
                }
            }
        };
        assert_eq!(count(&w.lead).await, 2);
        assert_eq!(count(&w.supervisor).await, 2);
        assert_eq!(count(&w.coworker).await, 1);
        assert_eq!(count(&w.partner_supervisor).await, 0);
        assert_eq!(count(&w.admin).await, 0);
        // A concern that does not exist is refused in the same words as one that is not yours.
        assert!(matches!(
            w.store.concern_for(&w.lead, ConcernId::new(9999)).await,
            Err(ActionError::Denied)
        ));
    }
);

on_both_backends!(
    referrers_and_admins_may_not_raise_a_concern_and_the_refusal_is_audited,
    |w| {
        // A concern is raised through a capability, so those the policy refuses never get one:
        // the door refuses them and audits it against the person.
        let person = w.store.case_for(&w.lead, w.case).await.unwrap().person;
        let before = denied_rows(&w.store, person).await;
        for who in [&w.referrer, &w.admin, &w.analyst] {
            assert!(matches!(
                w.store.open_case(who, w.case, false).await,
                Err(ActionError::Denied)
            ));
        }
        assert_eq!(denied_rows(&w.store, person).await, before + 3);
        let lead = w.store.open_case(&w.lead, w.case, false).await.unwrap();
        assert!(w
            .store
            .concerns_on_case(&w.lead, &lead)
            .await
            .unwrap()
            .is_empty());
    }
);

on_both_backends!(
    actions_a_local_authority_referral_and_closing_are_recorded_and_audited,
    |w| {
        let id = w
            .store
            .raise_concern(
                &w.store.open_case(&w.lead, w.case, false).await.unwrap(),
                &concern("Son takes her pension"),
            )
            .await
            .unwrap();
        w.store
            .add_concern_action(
                &w.lead,
                id,
                &NewConcernAction {
                    text: "Call adult social care duty team".into(),
                    owner: "Lead worker".into(),
                    due_on: today(),
                },
            )
            .await
            .unwrap();
        let action = w.store.concern_for(&w.lead, id).await.unwrap().actions[0].id;
        w.store
            .complete_concern_action(&w.supervisor, id, action, today())
            .await
            .unwrap();
        assert!(matches!(
            w.store
                .complete_concern_action(&w.lead, id, action, today())
                .await,
            Err(ActionError::Refused { .. })
        ));
        let referral = LaReferral {
            referred_on: today(),
            reference: "ASC-12345".into(),
        };
        w.store
            .record_la_referral(&w.lead, id, &referral)
            .await
            .unwrap();
        assert!(matches!(
            w.store.record_la_referral(&w.lead, id, &referral).await,
            Err(ActionError::Refused { .. })
        ));
        // The co-worker did not raise it and does not lead, so cannot change it either.
        assert!(matches!(
            w.store
                .close_concern(&w.coworker, id, "Done", today())
                .await,
            Err(ActionError::Denied)
        ));
        let seen = w.store.concern_for(&w.supervisor, id).await.unwrap();
        assert_eq!(seen.status, ConcernStatus::Referred);
        assert_eq!(seen.actions[0].done_on, Some(today()));
        let la = seen.la_referral.unwrap();
        assert_eq!(
            (la.reference.as_str(), la.by.as_str()),
            ("ASC-12345", "Test lead")
        );
        w.store
            .close_concern(&w.lead, id, "Council took it on", today())
            .await
            .unwrap();
        assert!(matches!(
            w.store
                .add_concern_action(
                    &w.lead,
                    id,
                    &NewConcernAction {
                        text: "More".into(),
                        owner: "Me".into(),
                        due_on: today(),
                    },
                )
                .await,
            Err(ActionError::Refused { .. })
        ));
        let closed = w.store.concern_for(&w.lead, id).await.unwrap();
        assert_eq!(closed.status, ConcernStatus::Closed);
        assert_eq!(closed.close_reason.as_deref(), Some("Council took it on"));
        // Newest first: every write and read, and the co-worker's refusal, with its reason.
        let log = audit_of(&w.store, Some(id)).await;
        let actions: Vec<&str> = log.iter().rev().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["create", "update", "read", "update", "update", "denied", "read", "update", "read"]
        );
        assert!(log.iter().any(|e| e.reason == "supervises_service"));
        assert!(log.iter().all(|e| e.entity == ENTITY));
    }
);
