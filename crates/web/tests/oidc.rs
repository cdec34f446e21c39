//! Sign-in through an OpenID Connect provider, end to end against a local provider this test
//! starts (discovery document, JWKS, authorize and token endpoints, ID tokens signed with a fixed
//! test RSA key): an administrator links an account by email, the person signs in through the
//! provider (PKCE, state and nonce checked), and refusals for a bad signature, the wrong audience,
//! an expired token, the wrong nonce, an unknown subject and a replayed answer, on SQLite and
//! PostgreSQL.

#[macro_use]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use careweave_domain::access::{Membership, Role};
use careweave_domain::{OrganisationKind, UserId};
use careweave_store::accounts::NewUser;
use careweave_store::audit::AuditFilter;
use careweave_store::people::NewOrganisation;
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use careweave_web::settings::{OidcProvider, Secret};
use reqwest::StatusCode;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use support::{new_client, Server, PASSWORD};

const PROVIDER_KEY: &str = include_str!("data/oidc/provider-key.pem");
const IMPOSTOR_KEY: &str = include_str!("data/oidc/impostor-key.pem");
const CLIENT_ID: &str = "careweave-test";
const CLIENT_SECRET: &str = "test-client-secret";
/// The callback address registered with the provider. The test follows the provider's redirect
/// to the app's own address, so the port here does not matter; the provider checks that the
/// token request names the same address as the authorization request.
const REDIRECT: &str = "http://127.0.0.1:9/sign-in/oidc/test/callback";

/// What the next ID token the provider issues looks like.
#[derive(Debug, Clone)]
struct Next {
    sub: String,
    email: Option<String>,
    audience: String,
    expired: bool,
    wrong_nonce: bool,
    impostor: bool,
}

impl Default for Next {
    fn default() -> Self {
        Self {
            sub: "cis2-subject-1".into(),
            email: Some("Worker@NHS.test".into()),
            audience: CLIENT_ID.into(),
            expired: false,
            wrong_nonce: false,
            impostor: false,
        }
    }
}

/// A code given out by the authorize endpoint: what the token endpoint checks it against.
struct Grant {
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

struct Provider {
    issuer: String,
    next: Mutex<Next>,
    grants: Mutex<HashMap<String, Grant>>,
}

type Shared = Arc<Provider>;

async fn discovery(State(p): State<Shared>) -> impl IntoResponse {
    Json(serde_json::json!({
        "issuer": p.issuer,
        "authorization_endpoint": format!("{}/authorize", p.issuer),
        "token_endpoint": format!("{}/token", p.issuer),
        "jwks_uri": format!("{}/jwks", p.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks() -> impl IntoResponse {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(PROVIDER_KEY).unwrap();
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Json(serde_json::json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "test-key",
        "n": b64(key.n().to_bytes_be()), "e": b64(key.e().to_bytes_be()),
    }]}))
}

async fn authorize(
    State(p): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    let code = format!("code-{}", p.grants.lock().unwrap().len());
    p.grants.lock().unwrap().insert(
        code.clone(),
        Grant {
            nonce: q["nonce"].clone(),
            challenge: q["code_challenge"].clone(),
            redirect_uri: q["redirect_uri"].clone(),
        },
    );
    let query =
        serde_urlencoded::to_string([("code", code.as_str()), ("state", &q["state"])]).unwrap();
    Redirect::to(&format!("{}?{query}", q["redirect_uri"]))
}

async fn token(
    State(p): State<Shared>,
    Form(f): Form<HashMap<String, String>>,
) -> axum::response::Response {
    let Some(grant) = p.grants.lock().unwrap().remove(&f["code"]) else {
        return (StatusCode::BAD_REQUEST, "unknown code").into_response();
    };
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(f["code_verifier"].as_bytes()));
    if f["grant_type"] != "authorization_code"
        || f["client_id"] != CLIENT_ID
        || f["client_secret"] != CLIENT_SECRET
        || f["redirect_uri"] != grant.redirect_uri
        || challenge != grant.challenge
    {
        return (StatusCode::BAD_REQUEST, "invalid_grant").into_response();
    }
    let next = p.next.lock().unwrap().clone();
    let now = chrono::Utc::now().timestamp();
    let exp = if next.expired { now - 3600 } else { now + 300 };
    let claims = serde_json::json!({
        "iss": p.issuer, "aud": next.audience, "sub": next.sub, "email": next.email,
        "iat": now - 10, "exp": exp,
        "nonce": if next.wrong_nonce { "another-nonce".to_owned() } else { grant.nonce },
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("test-key".into());
    let pem = if next.impostor {
        IMPOSTOR_KEY
    } else {
        PROVIDER_KEY
    };
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let id_token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    Json(
        serde_json::json!({"access_token": "unused", "token_type": "Bearer", "id_token": id_token}),
    )
    .into_response()
}

/// Starts the provider on a free port and returns it with its issuer URL.
async fn start_provider() -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider = Arc::new(Provider {
        issuer: format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port()),
        next: Mutex::new(Next::default()),
        grants: Mutex::new(HashMap::new()),
    });
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    provider
}

struct TestApp {
    server: Server,
    store: Store,
    provider: Shared,
    worker: UserId,
    _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

impl TestApp {
    async fn spawn(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let charity = store
            .insert_organisation(&NewOrganisation {
                name: "Riverside Community Trust".into(),
                kind: OrganisationKind::Vcse,
                ods_code: None,
                place: None,
            })
            .await
            .unwrap();
        let mut ids = Vec::new();
        for (name, role) in [("worker", Role::Worker), ("admin", Role::Admin)] {
            ids.push(
                store
                    .create_user(NewUser {
                        username: format!("{name}@test"),
                        display_name: format!("Test {name}"),
                        password: SecretString::from(PASSWORD.to_owned()),
                        memberships: vec![Membership {
                            organisation: charity,
                            role,
                        }],
                    })
                    .await
                    .unwrap(),
            );
        }
        let provider = start_provider().await;
        let issuer = provider.issuer.clone();
        let server = Server::start_with(&db, store.clone(), |s| {
            s.oidc_providers = vec![OidcProvider {
                key: "test".into(),
                name: "Test NHS CIS2".into(),
                issuer,
                client_id: CLIENT_ID.into(),
                client_secret: Secret(CLIENT_SECRET.into()),
                redirect_url: REDIRECT.into(),
            }];
        })
        .await;
        Self {
            server,
            store,
            provider,
            worker: ids[0],
            _db: db,
        }
    }

    /// Goes through the provider as a browser would: to the app's start address, to the
    /// provider's authorize endpoint, and back to the app's callback. Returns the client, the
    /// callback's status and Location, and the callback address (to replay it).
    async fn through_provider(&self, next: Next) -> (reqwest::Client, StatusCode, String, String) {
        *self.provider.next.lock().unwrap() = next;
        let client = new_client();
        let r = client
            .get(format!("{}/sign-in/oidc/test?next=%2Fpeople", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let authorize = location(&r);
        assert!(authorize.starts_with(&format!("{}/authorize?", self.provider.issuer)));
        let r = client.get(&authorize).send().await.unwrap();
        let back = location(&r);
        let callback = format!(
            "{}{}",
            self.base,
            back.strip_prefix("http://127.0.0.1:9").unwrap()
        );
        let r = client.get(&callback).send().await.unwrap();
        let status = r.status();
        let to = location(&r);
        if status == StatusCode::FORBIDDEN {
            assert!(r
                .text()
                .await
                .unwrap()
                .contains("You could not be signed in"));
        }
        (client, status, to, callback)
    }

    /// Whether the client has a session: signed out, `/` is the public home page (also 200), so
    /// the header's name of the signed-in user is what tells.
    async fn signed_in(&self, client: &reqwest::Client) -> bool {
        let (status, body) = self.get(client, "/").await;
        status == StatusCode::OK && body.contains("data-testid=\"signed-in-user\"")
    }

    async fn refusals(&self) -> Vec<String> {
        self.store
            .audit_entries(&AuditFilter {
                entity: Some("user".into()),
                entity_id: None,
                limit: 200,
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "denied")
            .map(|e| e.reason)
            .collect()
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

on_both_backends!(sign_in_through_a_linked_provider_account, |app| {
    let (status, page) = app.get(&new_client(), "/sign-in").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Sign in with Test NHS CIS2"));

    // Before any link, the provider's word lets nobody in and creates no account.
    let users_before = app.store.list_users().await.unwrap().len();
    let (client, status, _, _) = app.through_provider(Next::default()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!app.signed_in(&client).await);
    assert_eq!(app.store.list_users().await.unwrap().len(), users_before);

    // The admin links the worker's account by email address on the account page.
    let admin = app.sign_in("admin").await;
    let account = format!("/admin/users/{}", app.worker);
    let (status, _, page) = app
        .post(
            &admin,
            &account,
            &format!("{account}/link-oidc"),
            &[
                ("provider", "test"),
                ("claim", "email"),
                ("value", "not an address"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("not an address"), "typed value kept");
    let (status, location, _) = app
        .post(
            &admin,
            &account,
            &format!("{account}/link-oidc"),
            &[
                ("provider", "test"),
                ("claim", "email"),
                ("value", "worker@nhs.test"),
            ],
        )
        .await;
    assert_eq!(
        (status, location),
        (StatusCode::SEE_OTHER, format!("{account}?done=linked"))
    );

    let principal = app.store.principal(app.worker).await.unwrap();
    let (client, status, to, callback) = app.through_provider(Next::default()).await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/people"));
    assert!(app.signed_in(&client).await);
    // Signing in grants no role.
    assert_eq!(app.store.principal(app.worker).await.unwrap(), principal);
    // The subject is linked now, so a changed address still signs in.
    let (_, page) = app.get(&admin, &account).await;
    assert!(page.contains("cis2-subject-1"));
    let (client, status, _, _) = app
        .through_provider(Next {
            email: Some("renamed@nhs.test".into()),
            ..Next::default()
        })
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(app.signed_in(&client).await);

    // The provider's answer is used once: replaying the callback address is refused.
    let r = new_client().get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Refusals: an unknown subject, a token signed by another key, for another audience,
    // expired, or with another nonce. None signs in, each is audited.
    for (what, next) in [
        (
            "unknown subject",
            Next {
                sub: "someone-else".into(),
                email: None,
                ..Next::default()
            },
        ),
        (
            "bad signature",
            Next {
                impostor: true,
                ..Next::default()
            },
        ),
        (
            "wrong audience",
            Next {
                audience: "another-client".into(),
                ..Next::default()
            },
        ),
        (
            "expired",
            Next {
                expired: true,
                ..Next::default()
            },
        ),
        (
            "wrong nonce",
            Next {
                wrong_nonce: true,
                ..Next::default()
            },
        ),
    ] {
        let (client, status, _, _) = app.through_provider(next).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
        assert!(!app.signed_in(&client).await, "{what}");
    }
    let refusals = app.refusals().await;
    for expected in [
        "no active account is linked to that identity",
        "the sign-in is unknown, used already or too old",
        "InvalidSignature",
        "InvalidAudience",
        "ExpiredSignature",
        "the ID token's nonce is not the one sent",
    ] {
        assert!(
            refusals.iter().any(|r| r.contains(expected)),
            "{expected} in {refusals:?}"
        );
    }
});
