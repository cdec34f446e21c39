//! The FHIR R4 API at `/fhir` (issue 17): the CapabilityStatement, read and search of the
//! resources `careweave-fhir` builds, and referrals in (`POST /fhir/ServiceRequest`).
//!
//! Every request but `/fhir/metadata` carries an API token (`Authorization: Bearer`, issued on the
//! admin pages; `store::api_tokens`). The token acts for one account within one organisation, and
//! each read goes through the same store doors as the pages (`read_person`, `referral_for`,
//! `case_for`, `person_casework`), so the access policy and the audit rows are the pages' own: a
//! FHIR read is a read. A record the policy refuses and one that does not exist get the same
//! `404` OperationOutcome, and a search never includes what the reader may not open. The routes
//! sit outside the CSRF layer: a bearer token is not sent by a browser on its own, so a forged
//! cross-site request cannot carry one.

mod create;
mod read;

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use careweave_fhir::{operation_outcome, Issue, IssueCode};
use careweave_store::api_tokens::ApiClient;
use secrecy::SecretString;
use serde_json::Value;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/fhir/metadata", get(read::metadata))
        .route("/fhir/{kind}", get(read::search).post(create::create))
        .route("/fhir/{kind}/{id}", get(read::read))
}

/// A FHIR JSON response.
pub(crate) fn fhir(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+json"),
        )],
        body.to_string(),
    )
        .into_response()
}

/// Why a FHIR request failed: an OperationOutcome with its HTTP status.
#[derive(Debug)]
pub(crate) struct Outcome {
    status: StatusCode,
    issues: Vec<Issue>,
}

impl Outcome {
    pub(crate) fn new(status: StatusCode, issues: Vec<Issue>) -> Self {
        Self { status, issues }
    }

    /// One answer for a record that does not exist and one the reader may not open.
    pub(crate) fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            vec![Issue::general(
                IssueCode::NotFound,
                format!("{kind}/{id} is not known, or you may not read it"),
            )],
        )
    }

    pub(crate) fn bad_request(code: IssueCode, element: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            vec![Issue::at(code, element, message)],
        )
    }
}

impl IntoResponse for Outcome {
    fn into_response(self) -> Response {
        let mut response = fhir(self.status, &operation_outcome(&self.issues));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"careweave\""),
            );
        }
        response
    }
}

impl From<careweave_store::StoreError> for Outcome {
    fn from(error: careweave_store::StoreError) -> Self {
        // The cause is logged (store errors carry ids at most) and the client told nothing more.
        tracing::error!(%error, "a FHIR request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            vec![Issue::general(
                IssueCode::Exception,
                "the request could not be completed",
            )],
        )
    }
}

/// The API client behind the request's bearer token; every request with a token is audited,
/// refusals too (see `Store::authenticate_api_token`).
#[derive(Debug)]
pub(crate) struct Client(pub ApiClient);

impl FromRequestParts<AppState> for Client {
    type Rejection = Outcome;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Outcome> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            Outcome::new(
                StatusCode::UNAUTHORIZED,
                vec![Issue::general(
                    IssueCode::Login,
                    "an API token is required (Authorization: Bearer)",
                )],
            )
        })?;
        // The audit row names the route template, never the concrete path or query.
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map_or("/fhir", MatchedPath::as_str);
        let purpose = format!("{} {route}", parts.method);
        match state.store.authenticate_api_token(&token, &purpose).await? {
            Some(client) => Ok(Self(client)),
            None => Err(Outcome::new(
                StatusCode::UNAUTHORIZED,
                vec![Issue::general(
                    IssueCode::Login,
                    "the API token is not valid or has been revoked",
                )],
            )),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<SecretString> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .then(|| SecretString::from(token.to_owned()))
}

/// The absolute base of this server's FHIR API (`http://host/fhir`), for links and `fullUrl`s.
/// Behind a proxy that ends TLS the request arrives as plain HTTP; the secure-cookies setting says
/// whether clients reach the service over HTTPS.
pub(crate) fn base_url(headers: &HeaderMap, state: &AppState) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.settings.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}/fhir")
}
