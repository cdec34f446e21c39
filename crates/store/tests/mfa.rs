//! Multi-factor sign-in and provider links in the store: enrolment confirmed by a code, a code
//! accepted once, recovery codes used once, secrets encrypted at rest when a key is set, the
//! organisation requirement and an administrator's reset (policy and audit), and links that let
//! only linked, active accounts in, on SQLite and PostgreSQL.

use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::{OrganisationId, OrganisationKind, UserId};
use careweave_store::account_admin::{AccountActor, AccountError};
use careweave_store::accounts::{NewUser, SessionStage};
use careweave_store::audit::AuditFilter;
use careweave_store::mfa::totp::{code_at, from_base32, step_of};
use careweave_store::mfa::{MfaError, SecretKey};
use careweave_store::oidc::{LinkClaim, PendingLogin};
use careweave_store::people::NewOrganisation;
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use chrono::{Duration, Utc};
use secrecy::SecretString;
use sqlx::Row;

macro_rules! on_both_backends {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($db: TestDatabase) $body

            #[tokio::test]
            async fn sqlite() {
                run(TestDatabase::new(Backend::Sqlite).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                run(TestDatabase::new(Backend::Postgres).await).await;
            }
        }
    };
}

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

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
            password: SecretString::from("correct horse battery staple".to_owned()),
            memberships: roles
                .iter()
                .map(|&(role, organisation)| Membership { organisation, role })
                .collect(),
        })
        .await
        .unwrap()
}

fn code(secret: &str, at: chrono::DateTime<Utc>) -> String {
    format!(
        "{:06}",
        code_at(&from_base32(secret).unwrap(), step_of(at.timestamp()))
    )
}

async fn reasons(store: &Store, user: UserId) -> Vec<String> {
    store
        .audit_entries(&AuditFilter {
            entity: Some("user".into()),
            entity_id: Some(user.get()),
            limit: 100,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{}: {}", e.action, e.reason))
        .collect()
}

on_both_backends!(enrolment_codes_and_recovery, |db| {
    let store = db.store.clone();
    let charity = org(&store, "Riverside Community Trust").await;
    let worker = account(&store, "worker", &[(Role::Worker, charity)]).await;
    let key = SecretKey::from_base64(KEY).unwrap();
    let now = Utc::now();

    let status = store.mfa_status(worker).await.unwrap();
    assert!(!status.active && !status.required);
    let enrolment = store
        .begin_mfa_enrolment(worker, "careweave", Some(&key))
        .await
        .unwrap();
    assert!(enrolment
        .uri
        .starts_with("otpauth://totp/careweave%3Aworker%40test?secret="));
    // Reloading the page shows the same secret.
    let again = store
        .begin_mfa_enrolment(worker, "careweave", Some(&key))
        .await
        .unwrap();
    assert_eq!(again.secret, enrolment.secret);

    // At rest the secret is encrypted: the stored text does not contain it.
    let stored: String = sqlx::query("SELECT secret FROM user_mfa WHERE user_id = $1")
        .bind(worker.get())
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get("secret")
        .unwrap();
    assert!(stored.starts_with("aes-gcm:"), "{stored}");
    assert!(!stored.contains(&enrolment.secret));

    // A wrong code does not turn it on; the right one does and gives ten recovery codes.
    assert!(matches!(
        store
            .confirm_mfa_enrolment(worker, "000000", Some(&key), now - Duration::hours(1))
            .await,
        Err(MfaError::WrongCode)
    ));
    assert!(!store.mfa_status(worker).await.unwrap().active);
    let enrolled_at = now - Duration::seconds(60);
    let recovery = store
        .confirm_mfa_enrolment(
            worker,
            &code(&enrolment.secret, enrolled_at),
            Some(&key),
            enrolled_at,
        )
        .await
        .unwrap();
    assert_eq!(recovery.len(), 10);
    let status = store.mfa_status(worker).await.unwrap();
    assert!(status.active);
    assert_eq!(status.recovery_codes_left, 10);
    assert!(matches!(
        store
            .begin_mfa_enrolment(worker, "careweave", Some(&key))
            .await,
        Err(MfaError::AlreadyActive)
    ));

    // A code is accepted once: the same code again (a replay within its window) is refused.
    let current = code(&enrolment.secret, now);
    store
        .verify_second_factor(worker, &current, Some(&key), now)
        .await
        .unwrap();
    assert!(matches!(
        store
            .verify_second_factor(worker, &current, Some(&key), now + Duration::seconds(5))
            .await,
        Err(MfaError::WrongCode)
    ));
    // An earlier step's code, still within drift, is refused once a later one was used.
    let earlier = code(&enrolment.secret, now - Duration::seconds(30));
    assert!(store
        .verify_second_factor(worker, &earlier, Some(&key), now)
        .await
        .is_err());
    // Without the key an encrypted secret cannot be read.
    assert!(matches!(
        store
            .verify_second_factor(
                worker,
                &code(&enrolment.secret, now + Duration::seconds(30)),
                None,
                now + Duration::seconds(30)
            )
            .await,
        Err(MfaError::Store(_))
    ));

    // A recovery code works once, typed in any case.
    store
        .verify_second_factor(worker, &recovery[3].to_uppercase(), Some(&key), now)
        .await
        .unwrap();
    assert!(store
        .verify_second_factor(worker, &recovery[3], Some(&key), now)
        .await
        .is_err());
    assert_eq!(
        store.mfa_status(worker).await.unwrap().recovery_codes_left,
        9
    );
    // Only hashes are stored.
    let hashes: Vec<String> =
        sqlx::query("SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1")
            .bind(worker.get())
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get("code_hash").unwrap())
            .collect();
    assert!(hashes.iter().all(|h| h.starts_with("$argon2id$")));
    assert!(!hashes
        .iter()
        .any(|h| recovery.iter().any(|c| h.contains(c.as_str()))));

    let audit = reasons(&store, worker).await;
    for expected in [
        "create: multi-factor sign-in: enrolment started",
        "denied: multi-factor sign-in: enrolment code refused",
        "update: multi-factor sign-in: turned on with 10 recovery codes issued",
        "read: multi-factor sign-in: authenticator code accepted",
        "denied: multi-factor sign-in: code refused",
        "read: multi-factor sign-in: recovery code accepted",
    ] {
        assert!(
            audit.iter().any(|r| r == expected),
            "{expected} in {audit:?}"
        );
    }
});

on_both_backends!(requirement_reset_and_sessions, |db| {
    let store = db.store.clone();
    let charity = org(&store, "Riverside Community Trust").await;
    let practice = org(&store, "Riverside Surgery").await;
    let admin = account(&store, "admin", &[(Role::Admin, charity)]).await;
    let worker = account(&store, "worker", &[(Role::Worker, charity)]).await;
    let other = account(&store, "other", &[(Role::Worker, practice)]).await;
    let admin_p = store.principal(admin).await.unwrap();
    let by = AccountActor::Admin(&admin_p);

    // Only the organisation's admin sets its requirement; a refusal is audited.
    assert!(matches!(
        store.set_mfa_required(by, practice, true).await,
        Err(AccountError::Denied)
    ));
    store.set_mfa_required(by, charity, true).await.unwrap();
    assert!(store.mfa_status(worker).await.unwrap().required);
    assert!(!store.mfa_status(other).await.unwrap().required);
    let listed = store.organisations_mfa(&admin_p).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].required);
    let org_audit = store
        .audit_entries(&AuditFilter {
            entity: Some("organisation".into()),
            entity_id: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(org_audit.iter().any(|e| e.action == "denied"));
    assert!(org_audit.iter().any(|e| e
        .reason
        .starts_with("multi-factor sign-in required for organisation")));

    // A session waiting for its second factor is not a signed-in user, and finishing it gives a
    // new token while the old one stops working.
    let waiting = store
        .create_session_at(worker, Duration::minutes(10), SessionStage::Code)
        .await
        .unwrap();
    assert_eq!(
        store.session_user(&waiting, Utc::now()).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .signed_in(&waiting, Utc::now())
            .await
            .unwrap()
            .unwrap()
            .stage,
        SessionStage::Code
    );
    let full = store
        .complete_session(&waiting, Duration::hours(8))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.signed_in(&waiting, Utc::now()).await.unwrap(), None);
    assert_eq!(
        store.session_user(&full, Utc::now()).await.unwrap(),
        Some(worker)
    );
    assert!(store
        .complete_session(&waiting, Duration::hours(8))
        .await
        .unwrap()
        .is_none());

    // The admin resets the worker's MFA: gone, sessions ended, audited; not another org's account.
    let enrolment = store
        .begin_mfa_enrolment(worker, "careweave", None)
        .await
        .unwrap();
    store
        .confirm_mfa_enrolment(
            worker,
            &code(&enrolment.secret, Utc::now()),
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    store.reset_mfa(by, worker).await.unwrap();
    let status = store.mfa_status(worker).await.unwrap();
    assert!(!status.active);
    assert_eq!(status.recovery_codes_left, 0);
    assert_eq!(store.session_user(&full, Utc::now()).await.unwrap(), None);
    assert!(matches!(
        store.reset_mfa(by, other).await,
        Err(AccountError::Denied)
    ));
    let audit = reasons(&store, worker).await;
    assert!(audit.iter().any(|r| r.starts_with(&format!(
        "update: multi-factor sign-in of account {worker} reset by an administrator (it was set up); 1 sessions ended"
    ))), "{audit:?}");
    assert!(reasons(&store, other)
        .await
        .iter()
        .any(|r| r.starts_with("denied: refused to reset multi-factor sign-in")));
});

on_both_backends!(provider_links_let_in_only_linked_active_accounts, |db| {
    let store = db.store.clone();
    let charity = org(&store, "Riverside Community Trust").await;
    let practice = org(&store, "Riverside Surgery").await;
    let admin = account(&store, "admin", &[(Role::Admin, charity)]).await;
    let worker = account(&store, "worker", &[(Role::Worker, charity)]).await;
    let other = account(&store, "other", &[(Role::Worker, practice)]).await;
    let admin_p: Principal = store.principal(admin).await.unwrap();
    let by = AccountActor::Admin(&admin_p);

    assert_eq!(
        store.oidc_account("cis2", "sub-1", None).await.unwrap(),
        None
    );
    store
        .link_oidc(by, worker, "cis2", LinkClaim::Email, " Worker@NHS.net ")
        .await
        .unwrap();
    assert!(matches!(
        store
            .link_oidc(by, other, "cis2", LinkClaim::Subject, "x")
            .await,
        Err(AccountError::Denied)
    ));
    // The same identity cannot be linked twice.
    assert!(matches!(
        store
            .link_oidc(by, admin, "cis2", LinkClaim::Email, "worker@nhs.net")
            .await,
        Err(AccountError::Store(careweave_store::StoreError::Duplicate(
            _
        )))
    ));
    // Another provider's identity with the same address is not this link.
    assert_eq!(
        store
            .oidc_account("entra", "sub-1", Some("worker@nhs.net"))
            .await
            .unwrap(),
        None
    );
    // First sign-in by email links the subject too; later ones match on the subject alone.
    assert_eq!(
        store
            .oidc_account("cis2", "sub-1", Some("WORKER@nhs.net"))
            .await
            .unwrap(),
        Some(worker)
    );
    assert_eq!(
        store.oidc_account("cis2", "sub-1", None).await.unwrap(),
        Some(worker)
    );
    let links = store.oidc_links(worker).await.unwrap();
    assert_eq!(links.len(), 2);
    // A disabled account is not let in.
    store.set_account_active(by, worker, false).await.unwrap();
    assert_eq!(
        store.oidc_account("cis2", "sub-1", None).await.unwrap(),
        None
    );
    store
        .unlink_oidc(by, worker, "cis2", LinkClaim::Email, "worker@nhs.net")
        .await
        .unwrap();
    assert_eq!(store.oidc_links(worker).await.unwrap().len(), 1);
    let audit = reasons(&store, worker).await;
    assert!(audit.iter().any(
        |r| r.starts_with("update: account") && r.contains("linked to provider cis2 by email")
    ));
    assert!(audit
        .iter()
        .any(|r| r == "read: signed in through provider cis2, matched by email address"));

    // A sign-in in flight is taken once, and not after it expired.
    let login = PendingLogin {
        provider: "cis2".into(),
        nonce: "n".into(),
        verifier: "v".into(),
        next: "/".into(),
    };
    let now = Utc::now();
    store
        .start_oidc_login("state-1", &login, now)
        .await
        .unwrap();
    assert_eq!(
        store.take_oidc_login("state-1", now).await.unwrap(),
        Some(login.clone())
    );
    assert_eq!(store.take_oidc_login("state-1", now).await.unwrap(), None);
    store
        .start_oidc_login("state-2", &login, now)
        .await
        .unwrap();
    assert_eq!(
        store
            .take_oidc_login("state-2", now + Duration::minutes(11))
            .await
            .unwrap(),
        None
    );
});
