//! Supervision and training in the store, run identically on SQLite and PostgreSQL: who may record
//! and read a supervision session (per role), the supervisor losing access on leaving, agreed
//! actions, the supervisor's list of supervisees, training records with computed expiry and status,
//! who may record training (per role), the team view, and the audit of every step.

use careweave_domain::access::{Principal, Role};
use careweave_domain::supervision::{
    expiry_date, CpdHours, SessionGrant, TrainingKind, TrainingStatus,
};
use careweave_store::audit::{AuditEntry, AuditFilter};
use careweave_store::change::ActionError;
use careweave_store::supervision::{
    NewSession, NewSupervisionAction, NewTraining, SESSION_ENTITY, TRAINING_ENTITY,
};
use careweave_store::testing::{cross_employer_case, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{Days, NaiveDate};

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

/// The shared cross-employer accounts and a holder of every other role.
struct World {
    store: Store,
    /// The charity's link worker: the supervisee.
    worker: Principal,
    /// The PCN's caseworker.
    pcn_worker: Principal,
    /// A supervisor of the charity, who supervises `worker`.
    supervisor: Principal,
    /// Another supervisor of the charity.
    other_supervisor: Principal,
    /// A supervisor of the PCN.
    partner_supervisor: Principal,
    admin: Principal,
    pcn_admin: Principal,
    analyst: Principal,
    commissioner: Principal,
    referrer: Principal,
}

async fn world(store: &Store) -> World {
    let shared = cross_employer_case(store, PASSWORD).await;
    let user = |name: &'static str, role, org| test_user(store, name, role, org, PASSWORD);
    World {
        supervisor: user("supervisor", Role::Supervisor, shared.charity).await,
        other_supervisor: user("other", Role::Supervisor, shared.charity).await,
        partner_supervisor: user("partner", Role::Supervisor, shared.pcn).await,
        admin: user("admin", Role::Admin, shared.charity).await,
        pcn_admin: user("pcnadmin", Role::Admin, shared.pcn).await,
        analyst: user("analyst", Role::Analyst, shared.charity).await,
        commissioner: user("commissioner", Role::Commissioner, shared.charity).await,
        referrer: user("referrer", Role::Referrer, shared.practice).await,
        worker: shared.lead,
        pcn_worker: shared.coworker,
        store: store.clone(),
    }
}

fn session() -> NewSession {
    NewSession {
        held_on: today() - Days::new(7),
        caseload: "Twelve open cases; one waiting for housing".into(),
        wellbeing: "Feeling stretched by the evening visits".into(),
        development: "Wants Mental Health First Aid".into(),
        actions: vec![NewSupervisionAction {
            text: "Book MHFA course".into(),
            due_on: today() + Days::new(30),
        }],
        next_on: Some(today() + Days::new(21)),
    }
}

async fn entries(store: &Store, entity: &str) -> Vec<AuditEntry> {
    store
        .audit_entries(&AuditFilter {
            entity: Some(entity.into()),
            entity_id: None,
            limit: 500,
        })
        .await
        .unwrap()
}

impl World {
    fn everyone_else(&self) -> [&Principal; 8] {
        [
            &self.pcn_worker,
            &self.other_supervisor,
            &self.partner_supervisor,
            &self.admin,
            &self.pcn_admin,
            &self.analyst,
            &self.commissioner,
            &self.referrer,
        ]
    }
}

on_both_backends!(
    a_session_is_recorded_by_the_supervisor_and_seen_by_the_two_of_them_only,
    |w| {
        let id = w
            .store
            .record_supervision(&w.supervisor, w.worker.user, &session())
            .await
            .unwrap();
        let theirs = w.store.supervision_session(&w.worker, id).await.unwrap();
        assert_eq!(theirs.grant, SessionGrant::Supervisee);
        assert_eq!(theirs.wellbeing, "Feeling stretched by the evening visits");
        assert_eq!(theirs.actions.len(), 1);
        assert_eq!(theirs.next_on, Some(today() + Days::new(21)));
        assert_eq!(
            w.store
                .supervision_session(&w.supervisor, id)
                .await
                .unwrap()
                .grant,
            SessionGrant::Supervisor
        );
        for who in w.everyone_else() {
            assert!(
                matches!(
                    w.store.supervision_session(who, id).await,
                    Err(ActionError::Denied)
                ),
                "{who:?} must not read the session"
            );
        }
        // Nobody but a supervisor of the worker's organisation records a session for them.
        for who in w
            .everyone_else()
            .into_iter()
            .filter(|p| p.user != w.other_supervisor.user)
            .chain([&w.worker])
        {
            assert!(
                matches!(
                    w.store
                        .record_supervision(who, w.worker.user, &session())
                        .await,
                    Err(ActionError::Denied)
                ),
                "{who:?} must not record a session"
            );
        }
        let audit = entries(&w.store, SESSION_ENTITY).await;
        assert_eq!(
            audit.iter().filter(|e| e.action == "create").count(),
            1,
            "one write"
        );
        assert_eq!(audit.iter().filter(|e| e.action == "read").count(), 2);
        assert_eq!(
            audit.iter().filter(|e| e.action == "denied").count(),
            16,
            "every refusal is audited: eight reads and eight attempts to record"
        );
        assert!(audit
            .iter()
            .filter(|e| e.action == "read")
            .all(|e| e.entity_id == Some(id)
                && ["supervisee", "supervisor_of_session"].contains(&e.reason.as_str())));
        // The reasons name ids and grants, never what was said.
        assert!(audit.iter().all(|e| !e.reason.contains("stretched")));
    }
);

on_both_backends!(
    a_supervisor_who_stops_supervising_there_loses_access_and_the_worker_keeps_it,
    |w| {
        let id = w
            .store
            .record_supervision(&w.supervisor, w.worker.user, &session())
            .await
            .unwrap();
        sqlx::query("DELETE FROM memberships WHERE user_id = $1")
            .bind(w.supervisor.user.get())
            .execute(w.store.pool())
            .await
            .unwrap();
        let left = w.store.principal(w.supervisor.user).await.unwrap();
        assert!(matches!(
            w.store.supervision_session(&left, id).await,
            Err(ActionError::Denied)
        ));
        assert!(w.store.supervisees(&left).await.unwrap().is_empty());
        assert!(w.store.supervision_session(&w.worker, id).await.is_ok());
        assert_eq!(w.store.my_supervision(&w.worker).await.unwrap().len(), 1);
    }
);

on_both_backends!(
    the_supervisor_lists_supervisees_with_last_and_next_sessions,
    |w| {
        let none_yet = w.store.supervisees(&w.supervisor).await.unwrap();
        let names: Vec<_> = none_yet.iter().map(|s| s.name.as_str()).collect();
        // Workers and supervisors of the charity, not the supervisor, the admin or the analyst.
        assert_eq!(names, ["Test lead", "Test other"]);
        assert!(none_yet.iter().all(|s| s.last_on.is_none()));
        let older = NewSession {
            held_on: today() - Days::new(40),
            next_on: Some(today() - Days::new(7)),
            ..session()
        };
        w.store
            .record_supervision(&w.supervisor, w.worker.user, &older)
            .await
            .unwrap();
        w.store
            .record_supervision(&w.supervisor, w.worker.user, &session())
            .await
            .unwrap();
        let lead = w
            .store
            .supervisees(&w.supervisor)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.user == w.worker.user)
            .unwrap();
        assert_eq!(lead.last_on, Some(today() - Days::new(7)));
        assert_eq!(lead.next_on, Some(today() + Days::new(21)));
        // Another supervisor of the charity lists the worker but not the sessions they did not hold.
        let other = w.store.supervisees(&w.other_supervisor).await.unwrap();
        assert!(other
            .iter()
            .any(|s| s.user == w.worker.user && s.last_on.is_none()));
        assert!(w
            .store
            .sessions_with(&w.other_supervisor, w.worker.user)
            .await
            .unwrap()
            .sessions
            .is_empty());
        assert_eq!(
            w.store
                .sessions_with(&w.supervisor, w.worker.user)
                .await
                .unwrap()
                .sessions
                .len(),
            2
        );
        for who in [&w.partner_supervisor, &w.admin, &w.worker] {
            assert!(matches!(
                w.store.sessions_with(who, w.worker.user).await,
                Err(ActionError::Denied)
            ));
        }
        for who in [&w.admin, &w.analyst, &w.worker, &w.referrer] {
            assert!(w.store.supervisees(who).await.unwrap().is_empty());
        }
        let mine = w.store.my_supervision(&w.worker).await.unwrap();
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].held_on, today() - Days::new(7));
        assert_eq!(mine[0].open_actions, 1);
        assert!(w
            .store
            .my_supervision(&w.pcn_worker)
            .await
            .unwrap()
            .is_empty());
        // A next session on or before the session itself is refused.
        let backwards = NewSession {
            next_on: Some(today() - Days::new(7)),
            ..session()
        };
        assert!(matches!(
            w.store
                .record_supervision(&w.supervisor, w.worker.user, &backwards)
                .await,
            Err(ActionError::Refused { .. })
        ));
    }
);

on_both_backends!(
    either_of_the_two_marks_an_agreed_action_done_and_nobody_else,
    |w| {
        let id = w
            .store
            .record_supervision(&w.supervisor, w.worker.user, &session())
            .await
            .unwrap();
        let action = w
            .store
            .supervision_session(&w.worker, id)
            .await
            .unwrap()
            .actions[0]
            .id;
        for who in w.everyone_else() {
            assert!(matches!(
                w.store
                    .supervision_action_done(who, id, action, today())
                    .await,
                Err(ActionError::Denied)
            ));
        }
        w.store
            .supervision_action_done(&w.worker, id, action, today())
            .await
            .unwrap();
        assert!(matches!(
            w.store
                .supervision_action_done(&w.supervisor, id, action, today())
                .await,
            Err(ActionError::Refused { .. })
        ));
        let done = w
            .store
            .supervision_session(&w.supervisor, id)
            .await
            .unwrap();
        assert_eq!(done.actions[0].done_on, Some(today()));
        assert!(entries(&w.store, SESSION_ENTITY)
            .await
            .iter()
            .any(|e| e.action == "update" && e.entity_id == Some(id)));
    }
);

fn mhfa(completed: NaiveDate) -> NewTraining {
    NewTraining {
        kind: TrainingKind::MentalHealthFirstAid,
        title: String::new(),
        completed_on: completed,
        expires_on: expiry_date(TrainingKind::MentalHealthFirstAid, completed, None).unwrap(),
        cpd_hours: None,
    }
}

on_both_backends!(
    training_is_recorded_by_the_person_their_supervisor_or_their_admin_only,
    |w| {
        let three_years_ago = today() - chrono::Months::new(36);
        for who in [&w.worker, &w.supervisor, &w.admin] {
            w.store
                .record_training(who, w.worker.user, &mhfa(three_years_ago))
                .await
                .unwrap();
        }
        for who in [
            &w.pcn_worker,
            &w.partner_supervisor,
            &w.pcn_admin,
            &w.analyst,
            &w.commissioner,
            &w.referrer,
        ] {
            assert!(matches!(
                w.store
                    .record_training(who, w.worker.user, &mhfa(today()))
                    .await,
                Err(ActionError::Denied)
            ));
            assert!(matches!(
                w.store.training_for(who, w.worker.user, today()).await,
                Err(ActionError::Denied)
            ));
        }
        let t = w
            .store
            .training_for(&w.worker, w.worker.user, today())
            .await
            .unwrap();
        assert_eq!(t.records.len(), 3);
        // Three records of the same course: only the latest counts, and it expired today.
        assert_eq!(
            t.records.iter().map(|r| r.superseded).collect::<Vec<_>>(),
            [false, true, true]
        );
        assert_eq!(t.records[0].status, TrainingStatus::Expired);
        assert_eq!(t.records[0].recorded_by, "Test admin");
        let audit = entries(&w.store, TRAINING_ENTITY).await;
        assert_eq!(audit.iter().filter(|e| e.action == "create").count(), 3);
        assert_eq!(audit.iter().filter(|e| e.action == "denied").count(), 12);
        assert!(audit
            .iter()
            .all(|e| e.entity_id == Some(w.worker.user.get())));
    }
);

on_both_backends!(
    the_team_view_shows_expired_and_soon_due_training_to_supervisors_and_admins,
    |w| {
        let cpd = NewTraining {
            kind: TrainingKind::Cpd,
            title: "Motivational interviewing".into(),
            completed_on: today() - Days::new(10),
            expires_on: None,
            cpd_hours: Some(CpdHours::parse("3.5").unwrap()),
        };
        w.store
            .record_training(&w.worker, w.worker.user, &cpd)
            .await
            .unwrap();
        let safeguarding = NewTraining {
            kind: TrainingKind::SafeguardingAdults2,
            title: String::new(),
            completed_on: today() - Days::new(1000),
            expires_on: Some(today() + Days::new(20)),
            cpd_hours: None,
        };
        w.store
            .record_training(&w.supervisor, w.worker.user, &safeguarding)
            .await
            .unwrap();
        w.store
            .record_training(
                &w.admin,
                w.other_supervisor.user,
                &mhfa(today() - Days::new(1200)),
            )
            .await
            .unwrap();
        w.store
            .record_training(
                &w.pcn_worker,
                w.pcn_worker.user,
                &mhfa(today() - Days::new(1200)),
            )
            .await
            .unwrap();
        for who in [&w.supervisor, &w.admin] {
            let team = w.store.team_training(who, today()).await.unwrap();
            let lead = team.iter().find(|m| m.user == w.worker.user).unwrap();
            assert_eq!(lead.current, 1, "the CPD");
            assert_eq!(lead.attention.len(), 1);
            assert_eq!(lead.attention[0].status, TrainingStatus::DueSoon);
            let other = team
                .iter()
                .find(|m| m.user == w.other_supervisor.user)
                .unwrap();
            assert_eq!(other.attention[0].status, TrainingStatus::Expired);
            assert!(
                team.iter().all(|m| m.user != w.pcn_worker.user),
                "another employer's staff are not in the team"
            );
        }
        let pcn = w.store.team_training(&w.pcn_admin, today()).await.unwrap();
        assert!(pcn.iter().any(|m| m.user == w.pcn_worker.user));
        assert!(pcn.iter().all(|m| m.user != w.worker.user));
        for who in [&w.worker, &w.analyst, &w.commissioner, &w.referrer] {
            assert!(matches!(
                w.store.team_training(who, today()).await,
                Err(ActionError::Denied)
            ));
        }
        let t = w
            .store
            .training_for(&w.supervisor, w.worker.user, today())
            .await
            .unwrap();
        assert_eq!(
            t.records[0].cpd_hours.map(|h| h.to_string()),
            Some("3.5".into())
        );
    }
);
