//! Sign-in through an organisation's OpenID Connect provider (NHS CIS2, Microsoft Entra ID): the
//! authorization code flow with PKCE (S256), `state` and `nonce`.
//!
//! `GET /sign-in/oidc/{key}` remembers a fresh state, nonce and PKCE verifier (`store::oidc`) and
//! sends the browser to the provider. `GET /sign-in/oidc/{key}/callback` takes that sign-in once by
//! its state, exchanges the code (with the verifier and the client secret) at the token endpoint,
//! and checks the ID token: RS256 only, signed by a key in the provider's JWKS, `iss` the configured
//! issuer, `aud` our client id, not expired, and `nonce` the one we sent. Only then is the account
//! looked up by its link; nothing is created and no role is granted. Every refusal is audited and
//! answered with the same page, which never says which check failed.
//!
//! A sign-in through a provider is a full sign-in: careweave does not ask for its own second
//! factor after it, because the provider authenticates the person (CIS2 with a smartcard or its
//! authenticator; Entra ID with the tenant's conditional access), so the organisation's MFA
//! requirement is met at its provider. A deployment that relies on this must configure the
//! provider to require it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use careweave_store::accounts::random_token;
use careweave_store::audit::{AuditAction, AuditEvent};
use careweave_store::oidc::PendingLogin;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::session::{safe_next, signed_in_response};
use crate::settings::OidcProvider;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-in/oidc/{key}", get(start))
        .route("/sign-in/oidc/{key}/callback", get(callback))
}

/// What a provider's discovery document says, and its keys.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Debug, Clone)]
struct Discovered {
    discovery: Discovery,
    keys: JwkSet,
}

/// The configured providers, with each one's discovery document and keys read when first needed
/// and the keys read again when a token names a key not seen yet (providers rotate keys).
#[derive(Debug)]
pub struct Providers {
    configured: Vec<OidcProvider>,
    client: reqwest::Client,
    discovered: Mutex<HashMap<String, Discovered>>,
}

/// Why a sign-in through a provider was refused, for the audit log (never shown in detail).
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("the provider could not be reached or answered badly: {0}")]
    Provider(String),
    #[error("the ID token was not accepted: {0}")]
    Token(String),
    #[error("the ID token's nonce is not the one sent")]
    Nonce,
    #[error("the sign-in is unknown, used already or too old")]
    State,
    #[error("the provider refused: {0}")]
    Denied(String),
}

impl Providers {
    pub fn new(configured: &[OidcProvider]) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            configured: configured.to_vec(),
            client,
            discovered: Mutex::new(HashMap::new()),
        })
    }

    fn get(&self, key: &str) -> Option<&OidcProvider> {
        self.configured.iter().find(|p| p.key == key)
    }

    async fn discover(&self, provider: &OidcProvider, fresh: bool) -> Result<Discovered, Refusal> {
        if !fresh {
            if let Some(found) = self.discovered.lock().await.get(&provider.key) {
                return Ok(found.clone());
            }
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            provider.issuer.trim_end_matches('/')
        );
        let discovery: Discovery = self.fetch_json(&url).await?;
        if discovery.issuer != provider.issuer {
            return Err(Refusal::Provider(
                "the discovery document names another issuer".into(),
            ));
        }
        let keys: JwkSet = self.fetch_json(&discovery.jwks_uri).await?;
        let found = Discovered { discovery, keys };
        self.discovered
            .lock()
            .await
            .insert(provider.key.clone(), found.clone());
        Ok(found)
    }

    async fn fetch_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, Refusal> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| Refusal::Provider(e.to_string()))?;
        if !response.status().is_success() {
            return Err(Refusal::Provider(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        response
            .json()
            .await
            .map_err(|e| Refusal::Provider(e.to_string()))
    }
}

/// The PKCE challenge for a verifier (RFC 7636, S256).
fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StartQuery {
    next: String,
}

/// `GET /sign-in/oidc/{key}`: sends the browser to the provider.
async fn start(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(key): Path<String>,
    Query(q): Query<StartQuery>,
) -> Result<Response, AppError> {
    let Some(provider) = state.oidc.get(&key) else {
        return Err(AppError::NotFound);
    };
    let discovered = match state.oidc.discover(provider, false).await {
        Ok(d) => d,
        Err(refusal) => return refuse(&state, &csrf, provider, &refusal).await,
    };
    let login = PendingLogin {
        provider: key.clone(),
        nonce: random_token(),
        verifier: random_token(),
        next: safe_next(if q.next.is_empty() { "/" } else { &q.next }),
    };
    let state_token = random_token();
    state
        .store
        .start_oidc_login(&state_token, &login, chrono::Utc::now())
        .await?;
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", provider.client_id.as_str()),
        ("redirect_uri", provider.redirect_url.as_str()),
        ("scope", "openid email profile"),
        ("state", state_token.as_str()),
        ("nonce", login.nonce.as_str()),
        ("code_challenge", challenge(&login.verifier).as_str()),
        ("code_challenge_method", "S256"),
    ])
    .map_err(|e| AppError::Unexpected(e.into()))?;
    let endpoint = &discovered.discovery.authorization_endpoint;
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{endpoint}{separator}{query}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CallbackQuery {
    code: String,
    state: String,
    error: String,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: String,
}

/// The claims careweave reads from an ID token (`iss`, `aud` and `exp` are checked by the
/// validation itself).
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    nonce: Option<String>,
    email: Option<String>,
}

/// `GET /sign-in/oidc/{key}/callback`: the provider's answer.
async fn callback(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(key): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let Some(provider) = state.oidc.get(&key) else {
        return Err(AppError::NotFound);
    };
    // The state is taken (and so used up) even when the provider reports an error.
    let login = state
        .store
        .take_oidc_login(&q.state, chrono::Utc::now())
        .await?
        .filter(|login| login.provider == key);
    let outcome = match login {
        None => Err(Refusal::State),
        Some(_) if !q.error.is_empty() => Err(Refusal::Denied(q.error.chars().take(64).collect())),
        Some(login) => verified_claims(&state, provider, &q.code, &login)
            .await
            .map(|claims| (claims, login)),
    };
    let (claims, login) = match outcome {
        Ok(found) => found,
        Err(refusal) => return refuse(&state, &csrf, provider, &refusal).await,
    };
    let Some(user) = state
        .store
        .oidc_account(&key, &claims.sub, claims.email.as_deref())
        .await?
    else {
        // Audited by the store; the same page as every other refusal.
        return refused_page(&csrf, provider);
    };
    let hours = state.settings.session_hours;
    let token = state
        .store
        .create_session(user, chrono::Duration::hours(hours))
        .await?;
    tracing::info!(user = user.get(), provider = %key, "signed in through a provider");
    Ok(signed_in_response(&state, &token, &login.next))
}

/// Exchanges the code and checks the ID token.
async fn verified_claims(
    state: &AppState,
    provider: &OidcProvider,
    code: &str,
    login: &PendingLogin,
) -> Result<Claims, Refusal> {
    let discovered = state.oidc.discover(provider, false).await?;
    let response = state
        .oidc
        .client
        .post(&discovered.discovery.token_endpoint)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", provider.redirect_url.as_str()),
            ("client_id", provider.client_id.as_str()),
            ("client_secret", provider.client_secret.0.as_str()),
            ("code_verifier", login.verifier.as_str()),
        ])
        .send()
        .await
        .map_err(|e| Refusal::Provider(e.to_string()))?;
    if !response.status().is_success() {
        return Err(Refusal::Provider(format!(
            "the token endpoint answered {}",
            response.status()
        )));
    }
    let tokens: TokenResponse = response
        .json()
        .await
        .map_err(|e| Refusal::Provider(e.to_string()))?;
    let header =
        jsonwebtoken::decode_header(&tokens.id_token).map_err(|e| Refusal::Token(e.to_string()))?;
    // Only RS256: the algorithm is never taken from the token (no `none`, no HMAC with the
    // public key as its secret).
    if header.alg != Algorithm::RS256 {
        return Err(Refusal::Token("not signed with RS256".into()));
    }
    let kid = header.kid.unwrap_or_default();
    let mut keys = discovered.keys;
    if keys.find(&kid).is_none() {
        // A key we have not seen: the provider may have rotated its keys since we read them.
        keys = state.oidc.discover(provider, true).await?.keys;
    }
    let jwk = keys
        .find(&kid)
        .ok_or_else(|| Refusal::Token("signed with a key the provider does not publish".into()))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| Refusal::Token(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[provider.issuer.as_str()]);
    validation.set_audience(&[provider.client_id.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(&tokens.id_token, &key, &validation)
        .map_err(|e| Refusal::Token(e.to_string()))?;
    let nonce_ok = data.claims.nonce.as_deref().is_some_and(|n| {
        subtle::ConstantTimeEq::ct_eq(n.as_bytes(), login.nonce.as_bytes()).into()
    });
    if !nonce_ok {
        return Err(Refusal::Nonce);
    }
    Ok(data.claims)
}

#[derive(Template)]
#[template(path = "oidc_refused.html")]
struct RefusedPage {
    chrome: Chrome,
    provider: String,
}

/// Audits a refused sign-in (why, for the operator) and shows the one refusal page.
async fn refuse(
    state: &AppState,
    csrf: &CsrfToken,
    provider: &OidcProvider,
    refusal: &Refusal,
) -> Result<Response, AppError> {
    tracing::warn!(provider = %provider.key, %refusal, "sign-in through a provider refused");
    state
        .store
        .audit(AuditEvent {
            user: None,
            action: AuditAction::Denied,
            entity: "user",
            entity_id: None,
            reason: format!(
                "sign-in through provider {} refused: {refusal}",
                provider.key
            ),
        })
        .await?;
    refused_page(csrf, provider)
}

fn refused_page(csrf: &CsrfToken, provider: &OidcProvider) -> Result<Response, AppError> {
    let mut response = html(&RefusedPage {
        chrome: Chrome::anonymous("You could not be signed in", csrf),
        provider: provider.name.clone(),
    })?;
    *response.status_mut() = StatusCode::FORBIDDEN;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
