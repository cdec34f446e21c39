//! The audit log's hash chain, its reader per organisation, and registration in one transaction,
//! on SQLite and PostgreSQL. Tampering is done as a database owner would: dropping or disabling
//! the append-only triggers first.

use std::collections::BTreeMap;

use careweave_domain::access::{Principal, Role};
use careweave_domain::{OrganisationId, OrganisationKind, Sex, UserId};
use careweave_store::audit::BrokenLink;
use careweave_store::audit::{AuditAction, AuditEvent, AuditFilter};
use careweave_store::people::{CareTeamMember, NewOrganisation, NewPerson};
use careweave_store::testing::{test_nhs_number, test_user, TestDatabase};
use careweave_store::{Backend, Store, StoreError};
use chrono::NaiveDate;

macro_rules! on_both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($store: Store) $body

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

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

async fn organisation(store: &Store, name: &str, kind: OrganisationKind) -> OrganisationId {
    store
        .insert_organisation(&NewOrganisation {
            name: name.into(),
            kind,
            ods_code: None,
            place: None,
        })
        .await
        .unwrap()
}

async fn user(store: &Store, name: &str, role: Role, org: OrganisationId) -> Principal {
    test_user(store, name, role, org, "correct horse battery staple").await
}

fn person(n: u32, practice: OrganisationId) -> NewPerson {
    NewPerson {
        nhs_number: test_nhs_number(n),
        given_name: "Ada".into(),
        family_name: format!("Example{n}"),
        date_of_birth: NaiveDate::from_ymd_opt(1950, 5, 17).unwrap(),
        sex: Sex::Female,
        postcode: None,
        lsoa: None,
        imd_decile: None,
        registered_practice: practice,
        household: None,
        date_of_death: None,
    }
}

fn event(user: Option<UserId>, n: i64) -> AuditEvent {
    AuditEvent {
        user,
        action: AuditAction::Read,
        entity: "chain_test",
        entity_id: Some(n),
        reason: format!("test read {n}\nwith a second line"),
    }
}

/// Ten rows in the log, written through the group commit.
async fn ten_rows(store: &Store) {
    for n in 0..10 {
        store.audit(event(None, n)).await.unwrap();
    }
    let report = store.verify_audit_chain(&BTreeMap::new()).await.unwrap();
    assert_eq!(report.broken, None);
    assert_eq!(report.rows, 10);
    assert_eq!(report.head.last_id, 10);
}

/// Lets the owner change rows: drops (SQLite) or disables (PostgreSQL) every append-only trigger.
async fn as_owner_without_triggers(store: &Store) {
    let statements: &[&str] = match store.backend() {
        Backend::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
            "DROP TRIGGER audit_log_no_replace",
            "DROP TRIGGER audit_chain_head_no_delete",
        ],
        Backend::Postgres => &[
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            "ALTER TABLE audit_chain_head DISABLE TRIGGER USER",
        ],
    };
    for sql in statements {
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    }
}

async fn sql(store: &Store, statement: &str) {
    sqlx::query(statement)
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

/// Where the chain breaks, with no recorded heads to check.
async fn broken_link(store: &Store) -> Option<BrokenLink> {
    store
        .verify_audit_chain(&BTreeMap::new())
        .await
        .unwrap()
        .broken
}

async fn first_broken(store: &Store) -> i64 {
    broken_link(store)
        .await
        .expect("the chain must be broken")
        .id
}

on_both_backends!(the_database_refuses_to_rewrite_the_log, |store| {
    ten_rows(&store).await;
    let replace = match store.backend() {
        // The statement that used to rewrite a row past the delete trigger.
        Backend::Sqlite => {
            "INSERT OR REPLACE INTO audit_log (id, at, action, entity, reason) \
             VALUES (3, '2026-01-01T00:00:00.000000Z', 'read', 'x', 'replaced')"
        }
        Backend::Postgres => {
            "INSERT INTO audit_log (id, at, action, entity, reason) \
             VALUES (3, '2026-01-01T00:00:00.000000Z', 'read', 'x', 'replaced') \
             ON CONFLICT (id) DO UPDATE SET reason = 'replaced'"
        }
    };
    for statement in [
        "UPDATE audit_log SET reason = 'tampered' WHERE id = 3",
        "DELETE FROM audit_log WHERE id = 3",
        replace,
        "DELETE FROM audit_chain_head",
    ] {
        let refused = sqlx::query(statement).execute(store.pool()).await;
        assert!(refused.is_err(), "{statement} must be refused");
    }
    if store.backend() == Backend::Postgres {
        assert!(sqlx::query("TRUNCATE audit_log")
            .execute(store.pool())
            .await
            .is_err());
    }
    assert_eq!(broken_link(&store).await, None);
});

on_both_backends!(a_changed_row_is_named, |store| {
    ten_rows(&store).await;
    as_owner_without_triggers(&store).await;
    sql(
        &store,
        "UPDATE audit_log SET reason = 'nothing to see' WHERE id = 4",
    )
    .await;
    let broken = broken_link(&store).await.unwrap();
    assert_eq!(broken.id, 4);
    assert!(broken.problem.contains("row 4"), "{}", broken.problem);
});

on_both_backends!(a_removed_row_is_named, |store| {
    ten_rows(&store).await;
    as_owner_without_triggers(&store).await;
    sql(&store, "DELETE FROM audit_log WHERE id = 6").await;
    assert_eq!(first_broken(&store).await, 6);
});

on_both_backends!(rows_cut_from_the_end_are_named, |store| {
    ten_rows(&store).await;
    as_owner_without_triggers(&store).await;
    sql(&store, "DELETE FROM audit_log WHERE id >= 9").await;
    assert_eq!(first_broken(&store).await, 9);
});

on_both_backends!(an_emptied_log_is_found, |store| {
    ten_rows(&store).await;
    as_owner_without_triggers(&store).await;
    let empty = match store.backend() {
        Backend::Sqlite => "DELETE FROM audit_log",
        Backend::Postgres => "TRUNCATE audit_log",
    };
    sql(&store, empty).await;
    assert_eq!(first_broken(&store).await, 1);
});

on_both_backends!(a_replaced_row_is_named, |store| {
    ten_rows(&store).await;
    as_owner_without_triggers(&store).await;
    // The row comes back with a plausible hash of its own: the next row no longer follows it.
    let replace = match store.backend() {
        Backend::Sqlite => {
            "INSERT OR REPLACE INTO audit_log (id, at, action, entity, reason, prev_hash, hash) \
             SELECT id, at, action, entity, 'replaced', prev_hash, hash FROM audit_log WHERE id = 5"
        }
        Backend::Postgres => {
            "INSERT INTO audit_log (id, at, action, entity, reason) \
             VALUES (5, '2026-01-01T00:00:00.000000Z', 'read', 'x', 'replaced') \
             ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason"
        }
    };
    sql(&store, replace).await;
    assert_eq!(first_broken(&store).await, 5);
});

on_both_backends!(a_rewritten_tail_is_caught_by_a_recorded_head, |store| {
    ten_rows(&store).await;
    let recorded = store.audit_chain_head().await.unwrap();
    assert_eq!(recorded.last_id, 10);
    // The owner removes the last row and moves the head back, so the chain alone still holds.
    as_owner_without_triggers(&store).await;
    sql(&store, "DELETE FROM audit_log WHERE id = 10").await;
    let previous: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE id = 9")
        .fetch_one(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE audit_chain_head SET last_id = 9, last_hash = $1")
        .bind(previous)
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(broken_link(&store).await, None);
    let known = BTreeMap::from([(recorded.last_id, recorded.last_hash)]);
    let report = store.verify_audit_chain(&known).await.unwrap();
    assert_eq!(report.broken.unwrap().id, 10);
});

on_both_backends!(the_chain_holds_under_concurrent_writers, |store| {
    let practice = organisation(&store, "Riverside Surgery", OrganisationKind::GpPractice).await;
    let worker = user(&store, "worker@example.org", Role::Worker, practice).await;
    // Reads through the group commit and writes that carry their own audit row in their own
    // transaction, all at once.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..60_u32 {
        let store = store.clone();
        let worker = worker.user;
        tasks.spawn(async move {
            if n % 3 == 0 {
                store
                    .register_person_with_care_team(
                        Some(worker),
                        &person(100 + n, practice),
                        "test",
                        &CareTeamMember {
                            user: worker,
                            employer: practice,
                            started_on: today(),
                        },
                    )
                    .await
                    .map(|_| ())
            } else {
                store.audit(event(Some(worker), i64::from(n))).await
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("the task ran").expect("the write is committed");
    }
    let report = store.verify_audit_chain(&BTreeMap::new()).await.unwrap();
    assert_eq!(report.broken, None);
    // Sixty rows at least (creating the accounts may be audited too), with no gap.
    assert!(report.rows >= 60, "{report:?}");
    assert_eq!(report.head.last_id, report.rows);
});

on_both_backends!(an_admin_sees_only_their_own_organisations_rows, |store| {
    let a = organisation(&store, "Riverside Trust", OrganisationKind::Vcse).await;
    let b = organisation(&store, "Hillside Trust", OrganisationKind::Vcse).await;
    let admin_a = user(&store, "admin@a.example", Role::Admin, a).await;
    let worker_a = user(&store, "worker@a.example", Role::Worker, a).await;
    let admin_b = user(&store, "admin@b.example", Role::Admin, b).await;
    let worker_b = user(&store, "worker@b.example", Role::Worker, b).await;
    store.audit(event(Some(worker_a.user), 1)).await.unwrap();
    store.audit(event(Some(worker_b.user), 2)).await.unwrap();
    store.audit(event(None, 3)).await.unwrap();
    // Rows about an account: B's admin changed B's worker.
    store
        .audit(AuditEvent {
            user: Some(admin_b.user),
            action: AuditAction::Update,
            entity: "user",
            entity_id: Some(worker_b.user.get()),
            reason: "test".into(),
        })
        .await
        .unwrap();
    let all = AuditFilter {
        entity: None,
        entity_id: None,
        limit: 100,
    };
    let seen = |entries: Vec<careweave_store::audit::AuditEntry>| -> Vec<(Option<UserId>, String)> {
        // Only this test's rows: creating the accounts may be audited as well.
        entries
            .into_iter()
            .filter(|e| e.reason.starts_with("test"))
            .map(|e| (e.user, e.entity))
            .collect()
    };
    let by_a = seen(
        store
            .audit_entries_for_admin(admin_a.user, &all)
            .await
            .unwrap(),
    );
    assert_eq!(by_a, [(Some(worker_a.user), "chain_test".to_owned())]);
    let by_b = seen(
        store
            .audit_entries_for_admin(admin_b.user, &all)
            .await
            .unwrap(),
    );
    assert_eq!(
        by_b,
        [
            (Some(admin_b.user), "user".to_owned()),
            (Some(worker_b.user), "chain_test".to_owned())
        ]
    );
    // A worker administers nothing, so sees nothing even if a page forgot to check the role.
    assert!(seen(
        store
            .audit_entries_for_admin(worker_a.user, &all)
            .await
            .unwrap()
    )
    .is_empty());
    // The operator's reader still has the whole log.
    assert_eq!(seen(store.audit_entries(&all).await.unwrap()).len(), 4);
});

on_both_backends!(
    registration_with_its_care_team_is_one_transaction,
    |store| {
        let practice =
            organisation(&store, "Riverside Surgery", OrganisationKind::GpPractice).await;
        let worker = user(&store, "worker@example.org", Role::Worker, practice).await;
        // The care-team insert fails (no such user): nothing of the person may remain.
        let nobody = CareTeamMember {
            user: UserId::new(999_999),
            employer: practice,
            started_on: today(),
        };
        let failed = store
            .register_person_with_care_team(
                Some(worker.user),
                &person(1, practice),
                "test",
                &nobody,
            )
            .await;
        assert!(matches!(failed, Err(StoreError::Database(_))), "{failed:?}");
        let people: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(people, 0);
        // So the NHS number is free, and the person is readable by the worker who registers them.
        let member = CareTeamMember {
            user: worker.user,
            ..nobody
        };
        let id = store
            .register_person_with_care_team(
                Some(worker.user),
                &person(1, practice),
                "test",
                &member,
            )
            .await
            .unwrap();
        assert!(store.read_person(&worker, id).await.is_ok());
        assert_eq!(broken_link(&store).await, None);
    }
);
