//! Accounts: sign-in throttling with injected time, the public form's limit, and taking access
//! away (disable, roles, password reset, sessions), on SQLite and PostgreSQL.

use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::account::ThrottlePolicy;
use careweave_domain::{OrganisationId, OrganisationKind, UserId};
use careweave_store::account_admin::{AccountActor, AccountError};
use careweave_store::audit::AuditFilter;
use careweave_store::people::NewOrganisation;
use careweave_store::testing::TestDatabase;
use careweave_store::throttle::SignInGate;
use careweave_store::{accounts::NewUser, Backend, Store};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use secrecy::SecretString;

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

const PASSWORD: &str = "correct horse battery staple";

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

async fn org(store: &Store, name: &str) -> OrganisationId {
    store
        .insert_organisation(&NewOrganisation {
            name: name.into(),
            kind: OrganisationKind::Vcse,
            ods_code: None,
            place: None,
        })
        .await
        .unwrap()
}

async fn account(store: &Store, name: &str, roles: &[(Role, OrganisationId)]) -> UserId {
    store
        .create_user(NewUser {
            username: format!("{name}@test"),
            display_name: name.into(),
            password: secret(PASSWORD),
            memberships: roles
                .iter()
                .map(|&(role, organisation)| Membership { organisation, role })
                .collect(),
        })
        .await
        .unwrap()
}

/// One sign-in attempt as the web layer makes it: the gate, then the password, then the outcome.
async fn attempt(
    store: &Store,
    username: &str,
    password: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<bool, Duration> {
    let policy = ThrottlePolicy::default();
    match store
        .begin_sign_in(username, address, &policy, now)
        .await
        .unwrap()
    {
        SignInGate::Wait(wait) => Err(wait),
        SignInGate::Proceed => {
            let ok = store
                .verify_password(username, &secret(password))
                .await
                .unwrap()
                .is_some();
            store
                .finish_sign_in(username, address, ok, now)
                .await
                .unwrap();
            Ok(ok)
        }
    }
}

on_both_backends!(
    fifty_wrong_passwords_slow_the_pair_down_until_the_backoff_passes,
    |store| {
        let charity = org(&store, "Riverside Community Trust").await;
        account(&store, "ada", &[(Role::Worker, charity)]).await;
        let mut now = Utc::now().trunc_subsecs(0);
        // The usual address signs in once, so it is known to the account.
        assert_eq!(
            attempt(&store, "ada@test", PASSWORD, "10.0.0.1", now).await,
            Ok(true)
        );

        // 50 wrong passwords from another address, each as soon as it is allowed.
        let mut checked = 0;
        let mut last_wait = Duration::zero();
        for _ in 0..50 {
            match attempt(&store, "ada@test", "wrong guess", "192.0.2.9", now).await {
                Ok(ok) => {
                    assert!(!ok);
                    checked += 1;
                }
                Err(wait) => {
                    assert!(wait >= last_wait || wait <= Duration::minutes(15));
                    last_wait = wait;
                    now += wait;
                }
            }
        }
        assert!(checked < 50, "every guess was checked");
        assert!(
            last_wait > Duration::seconds(60),
            "the wait grew: {last_wait:?}"
        );
        assert!(last_wait <= Duration::minutes(15), "the wait is capped");

        // The right password from the attacker's address is refused while throttled (right after
        // one more failure, if the loop ended on a wait)...
        let _ = attempt(&store, "ada@test", "wrong guess", "192.0.2.9", now).await;
        let Err(wait) = attempt(&store, "ada@test", PASSWORD, "192.0.2.9", now).await else {
            panic!("a throttled attempt was checked");
        };
        // ...and accepted once the backoff has passed.
        now += wait;
        assert_eq!(
            attempt(&store, "ada@test", PASSWORD, "192.0.2.9", now).await,
            Ok(true)
        );

        // Meanwhile Ada's usual address was never held up by the attacker's failures.
        assert_eq!(
            attempt(&store, "ada@test", PASSWORD, "10.0.0.1", now).await,
            Ok(true)
        );
    }
);

on_both_backends!(
    an_unknown_account_is_throttled_exactly_like_a_real_one,
    |store| {
        let charity = org(&store, "Riverside Community Trust").await;
        account(&store, "ada", &[(Role::Worker, charity)]).await;
        let now = Utc::now().trunc_subsecs(0);
        let mut answers = Vec::new();
        for name in ["ada@test", "nobody@test"] {
            let mut seen = Vec::new();
            for _ in 0..7 {
                seen.push(attempt(&store, name, "wrong guess", "192.0.2.9", now).await);
            }
            answers.push(seen);
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(answers[0][5], Err(Duration::seconds(1)));
    }
);

on_both_backends!(
    failures_from_many_addresses_delay_a_new_address_a_minute_at_most,
    |store| {
        let charity = org(&store, "Riverside Community Trust").await;
        account(&store, "ada", &[(Role::Worker, charity)]).await;
        let now = Utc::now().trunc_subsecs(0);
        for i in 0..40 {
            let _ = attempt(
                &store,
                "ada@test",
                "wrong guess",
                &format!("198.51.100.{i}"),
                now,
            )
            .await;
        }
        let wait = attempt(&store, "ada@test", PASSWORD, "203.0.113.5", now)
            .await
            .unwrap_err();
        assert!(wait <= Duration::minutes(1), "{wait:?}");
        assert_eq!(
            attempt(&store, "ada@test", PASSWORD, "203.0.113.5", now + wait).await,
            Ok(true)
        );
    }
);

on_both_backends!(the_public_form_is_limited_per_address_per_window, |store| {
    let now = Utc::now().trunc_subsecs(0);
    let hour = Duration::hours(1);
    for _ in 0..3 {
        assert_eq!(
            store
                .count_public_submission("refer", "192.0.2.1", 3, hour, now)
                .await
                .unwrap(),
            None
        );
    }
    let again = store
        .count_public_submission("refer", "192.0.2.1", 3, hour, now)
        .await
        .unwrap();
    assert_eq!(again.map(|at| (at - now).num_minutes()), Some(60));
    // Another address is not affected, and the first may send again once the window is over.
    assert_eq!(
        store
            .count_public_submission("refer", "192.0.2.2", 3, hour, now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .count_public_submission("refer", "192.0.2.1", 3, hour, now + hour)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .purge_stale_throttles(now + Duration::days(2))
            .await
            .unwrap(),
        2
    );
});

struct Admins {
    charity: OrganisationId,
    practice: OrganisationId,
    admin: Principal,
    other_admin: Principal,
    worker: UserId,
}

async fn admins(store: &Store) -> Admins {
    let charity = org(store, "Riverside Community Trust").await;
    let practice = org(store, "Riverside Surgery").await;
    let admin = account(store, "admin", &[(Role::Admin, charity)]).await;
    let other_admin = account(store, "practice-admin", &[(Role::Admin, practice)]).await;
    let worker = account(
        store,
        "ada",
        &[(Role::Worker, charity), (Role::Supervisor, charity)],
    )
    .await;
    Admins {
        charity,
        practice,
        admin: store.principal(admin).await.unwrap(),
        other_admin: store.principal(other_admin).await.unwrap(),
        worker,
    }
}

on_both_backends!(disabling_ends_every_session_and_sign_in, |store| {
    let a = admins(&store).await;
    let hours = Duration::hours(8);
    let first = store.create_session(a.worker, hours).await.unwrap();
    let _second = store.create_session(a.worker, hours).await.unwrap();
    let by = AccountActor::Admin(&a.admin);
    let sessions = store
        .account_sessions(by, a.worker, Utc::now())
        .await
        .unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0].reference.len(), 12);

    assert_eq!(
        store.set_account_active(by, a.worker, false).await.unwrap(),
        2
    );
    assert_eq!(store.signed_in(&first, Utc::now()).await.unwrap(), None);
    assert_eq!(
        store
            .verify_password("ada@test", &secret(PASSWORD))
            .await
            .unwrap(),
        None
    );
    assert!(!store.user_summary(a.worker).await.unwrap().unwrap().active);

    store.set_account_active(by, a.worker, true).await.unwrap();
    assert_eq!(
        store
            .verify_password("ada@test", &secret(PASSWORD))
            .await
            .unwrap(),
        Some(a.worker)
    );
    let reasons: Vec<String> = store
        .audit_entries(&AuditFilter {
            entity: Some("user".into()),
            entity_id: Some(a.worker.get()),
            limit: 10,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.reason)
        .collect();
    assert!(reasons
        .iter()
        .any(|r| r.contains("disabled") && r.contains("2 sessions ended")));
    assert!(reasons.iter().any(|r| r.contains("enabled")));
    assert!(reasons.iter().all(|r| !r.contains(PASSWORD)));
});

on_both_backends!(
    an_admin_of_another_organisation_is_refused_and_audited,
    |store| {
        let a = admins(&store).await;
        let by = AccountActor::Admin(&a.other_admin);
        assert!(matches!(
            store.set_account_active(by, a.worker, false).await,
            Err(AccountError::Denied)
        ));
        assert!(matches!(
            store
                .reset_password(by, a.worker, &secret("a new long passphrase"))
                .await,
            Err(AccountError::Denied)
        ));
        assert!(matches!(
            store.end_sessions(by, a.worker, None).await,
            Err(AccountError::Denied)
        ));
        assert!(matches!(
            store.account_sessions(by, a.worker, Utc::now()).await,
            Err(AccountError::Denied)
        ));
        assert!(matches!(
            store
                .remove_membership(
                    by,
                    a.worker,
                    Membership {
                        organisation: a.charity,
                        role: Role::Worker
                    }
                )
                .await,
            Err(AccountError::Denied)
        ));
        let denied = store
            .audit_entries(&AuditFilter {
                entity: Some("user".into()),
                entity_id: Some(a.worker.get()),
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(denied.iter().filter(|e| e.action == "denied").count(), 5);
        assert!(store.user_summary(a.worker).await.unwrap().unwrap().active);
    }
);

on_both_backends!(
    roles_are_removed_but_never_the_last_one_or_the_last_admin,
    |store| {
        let a = admins(&store).await;
        let by = AccountActor::Admin(&a.admin);
        let supervisor = Membership {
            organisation: a.charity,
            role: Role::Supervisor,
        };
        store
            .remove_membership(by, a.worker, supervisor)
            .await
            .unwrap();
        assert!(matches!(
            store.remove_membership(by, a.worker, supervisor).await,
            Err(AccountError::NoSuchRole)
        ));
        assert!(matches!(
            store
                .remove_membership(
                    by,
                    a.worker,
                    Membership {
                        organisation: a.charity,
                        role: Role::Worker
                    }
                )
                .await,
            Err(AccountError::OnlyRole)
        ));
        // The charity's only admin cannot disable themselves into an organisation with no admin.
        assert!(matches!(
            store.set_account_active(by, a.admin.user, false).await,
            Err(AccountError::LastAdmin)
        ));
        let _ = a.practice;
    }
);

on_both_backends!(
    a_password_reset_ends_sessions_and_the_old_password,
    |store| {
        let a = admins(&store).await;
        let session = store
            .create_session(a.worker, Duration::hours(8))
            .await
            .unwrap();
        let new = secret("copper kettle marching north");
        assert_eq!(
            store
                .reset_password(AccountActor::CommandLine, a.worker, &new)
                .await
                .unwrap(),
            1
        );
        assert_eq!(store.signed_in(&session, Utc::now()).await.unwrap(), None);
        assert_eq!(
            store
                .verify_password("ada@test", &secret(PASSWORD))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store.verify_password("ada@test", &new).await.unwrap(),
            Some(a.worker)
        );

        // One session ends by its reference, the other stays.
        let keep = store
            .create_session(a.worker, Duration::hours(8))
            .await
            .unwrap();
        store
            .create_session(a.worker, Duration::hours(8))
            .await
            .unwrap();
        let by = AccountActor::Admin(&a.admin);
        let sessions = store
            .account_sessions(by, a.worker, Utc::now())
            .await
            .unwrap();
        assert!(store.signed_in(&keep, Utc::now()).await.unwrap().is_some());
        let other = &sessions[0];
        assert_eq!(store.end_sessions(by, a.worker, Some("")).await.unwrap(), 0);
        assert_eq!(
            store
                .end_sessions(by, a.worker, Some(&other.reference))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .account_sessions(by, a.worker, Utc::now())
                .await
                .unwrap()
                .len(),
            1
        );
    }
);
