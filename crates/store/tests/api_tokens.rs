//! API tokens on SQLite and PostgreSQL: only an admin of the organisation issues or revokes one
//! (refusals audited), only the hash is stored, a token carries the account's roles in its own
//! organisation only and never admin, and a revoked token or a removed role stops it at once.

use careweave_domain::access::{Membership, Role};
use careweave_domain::{OrganisationId, OrganisationKind};
use careweave_store::account_admin::AccountActor;
use careweave_store::api_tokens::{ApiScope, ApiTokenError, NewApiToken};
use careweave_store::audit::AuditFilter;
use careweave_store::people::NewOrganisation;
use careweave_store::testing::{test_user, TestDatabase};
use careweave_store::{accounts::NewUser, Backend, Store};
use secrecy::{ExposeSecret, SecretString};

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

on_both_backends!(a_token_is_an_accounts_roles_in_one_organisation, |store| {
    let charity = org(&store, "Charity").await;
    let trust = org(&store, "Trust").await;
    let admin = test_user(&store, "admin", Role::Admin, charity, PASSWORD).await;
    let other_admin = test_user(&store, "other", Role::Admin, trust, PASSWORD).await;
    // A worker at the charity who also supervises at the trust.
    let worker = store
        .create_user(NewUser {
            username: "worker@test".into(),
            display_name: "Worker".into(),
            password: SecretString::from(PASSWORD.to_owned()),
            memberships: vec![
                Membership {
                    organisation: charity,
                    role: Role::Worker,
                },
                Membership {
                    organisation: trust,
                    role: Role::Supervisor,
                },
            ],
        })
        .await
        .unwrap();
    let new = NewApiToken {
        client_name: "EMIS".into(),
        organisation: charity,
        acts_for: worker,
        scope: ApiScope::Read,
    };
    assert!(matches!(
        store.issue_api_token(&other_admin, &new).await,
        Err(ApiTokenError::Denied)
    ));
    let admin_only = NewApiToken {
        acts_for: admin.user,
        ..new.clone()
    };
    assert!(matches!(
        store.issue_api_token(&admin, &admin_only).await,
        Err(ApiTokenError::NoRole)
    ));
    let issued = store.issue_api_token(&admin, &new).await.unwrap();
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE id = $1")
        .bind(issued.id)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_ne!(
        stored,
        issued.token.expose_secret(),
        "only the hash is kept"
    );

    let client = store
        .authenticate_api_token(&issued.token, "GET /fhir/{kind}")
        .await
        .unwrap()
        .expect("a valid token");
    assert_eq!(
        client.principal.memberships,
        vec![Membership {
            organisation: charity,
            role: Role::Worker
        }],
        "the trust's supervisor role does not travel with the charity's token"
    );
    assert_eq!(
        store.api_tokens_for_admin(&other_admin).await.unwrap(),
        vec![]
    );

    assert!(matches!(
        store.revoke_api_token(&other_admin, issued.id).await,
        Err(ApiTokenError::Denied)
    ));
    store
        .remove_membership(
            AccountActor::CommandLine,
            worker,
            Membership {
                organisation: charity,
                role: Role::Worker,
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .authenticate_api_token(&issued.token, "GET /fhir/{kind}")
            .await
            .unwrap()
            .is_none(),
        "a removed role stops the token"
    );
    store.revoke_api_token(&admin, issued.id).await.unwrap();
    assert!(store.api_tokens_for_admin(&admin).await.unwrap()[0]
        .revoked_at
        .is_some());

    let audit = store
        .audit_entries(&AuditFilter {
            entity: Some("api_token".into()),
            entity_id: None,
            limit: 50,
        })
        .await
        .unwrap();
    let denied = audit.iter().filter(|e| e.action == "denied").count();
    assert_eq!(
        denied, 3,
        "two refused admins and the stopped token: {audit:?}"
    );
    assert!(audit
        .iter()
        .all(|e| !e.reason.contains(issued.token.expose_secret())));
});
