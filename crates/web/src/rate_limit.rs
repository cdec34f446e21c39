//! The rate limit of the public referral form: one address may send `/refer` at most
//! `refer_per_hour` times an hour (counted in the database, so every process shares it); more are
//! answered 429 with a page saying when the form can be sent again.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::client::ClientAddress;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::AppState;

#[derive(Template)]
#[template(path = "too_many_referrals.html")]
struct TooManyPage {
    chrome: Chrome,
    limit: i64,
    again_at: String,
}

/// The middleware: counts each `POST /refer` and refuses those over the limit.
pub async fn public_referrals(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Extension(csrf): Extension<CsrfToken>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST || request.uri().path() != "/refer" {
        return next.run(request).await;
    }
    let limit = state.settings.refer_per_hour;
    // The counter's windows are real instants the store compares with each other: the system
    // clock, like sessions and the sign-in throttle (see `AppState::clock`).
    let now = chrono::Utc::now();
    let counted = state
        .store
        .count_public_submission("refer", &address, limit, chrono::Duration::hours(1), now)
        .await;
    match counted {
        Ok(None) => next.run(request).await,
        Ok(Some(again)) => too_many(&csrf, limit, again, now, state.clock.zone())
            .unwrap_or_else(IntoResponse::into_response),
        Err(e) => AppError::from(e).into_response(),
    }
}

fn too_many(
    csrf: &CsrfToken,
    limit: i64,
    again: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    zone: careweave_domain::clock::Tz,
) -> Result<Response, AppError> {
    // Wall-clock time in the deployment's time zone, as elsewhere, in the NHS style "2:05pm".
    let again_at = again.with_timezone(&zone).format("%-I:%M%P").to_string();
    let mut response = html(&TooManyPage {
        chrome: Chrome::anonymous("Too many referrals sent", csrf),
        limit,
        again_at,
    })?;
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let seconds = (again - now).num_seconds().max(1);
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(response)
}
