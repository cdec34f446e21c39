//! Who is signed in: session cookies, the [`CurrentUser`] extractor, and the sign-in and sign-out
//! pages.
//!
//! A wrong password, an unknown username and an expired session all produce the same words, so the
//! sign-in page never reveals whether an account exists.

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_domain::access::Principal;
use careweave_domain::account::ThrottlePolicy;
use careweave_domain::{OrganisationId, OrganisationKind};
use careweave_store::accounts::{SessionStage, SessionToken, SignedIn};
use careweave_store::throttle::SignInGate;
use secrecy::SecretString;
use serde::Deserialize;

use crate::client::ClientAddress;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::pages::{html, Chrome};
use crate::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "careweave_session";

/// Reads one cookie from the request headers.
#[must_use]
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Appends a `Set-Cookie` header. `max_age` of `Some(0)` deletes the cookie; `None` lasts for the
/// browser session.
pub fn set_cookie(
    headers: &mut HeaderMap,
    name: &str,
    value: &str,
    same_site: &str,
    max_age: Option<i64>,
    secure: bool,
) {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; {same_site}");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// The signed-in user, loaded once per request. Handlers that take this are for signed-in users
/// only; anyone else is sent to the sign-in page and brought back afterwards.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub principal: Principal,
    pub display_name: String,
    /// "Worker, Riverside Community Trust" for each membership, for the header.
    pub roles: Vec<String>,
    /// The kind of each organisation the user belongs to (see `SignedIn::organisation_kinds`).
    pub organisation_kinds: Vec<(OrganisationId, OrganisationKind)>,
    /// The unread notifications and tasks due, for the header's count (read with the session,
    /// so every signed-in page shows it).
    pub notices: careweave_store::notifications::NoticeCounts,
}

/// Why a request has no signed-in user.
#[derive(Debug)]
pub enum NotSignedIn {
    Redirect(String),
    /// Signed in with a password, but the second factor is still to come (or to be set up).
    Unfinished(SessionStage),
    Failed(AppError),
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            Self::Redirect(next) => {
                let target = format!("/sign-in?next={}", urlencode(&next));
                Redirect::to(&target).into_response()
            }
            Self::Unfinished(SessionStage::Enrol) => Redirect::to("/account/mfa").into_response(),
            Self::Unfinished(_) => Redirect::to("/sign-in/code").into_response(),
            Self::Failed(e) => e.into_response(),
        }
    }
}

impl CurrentUser {
    /// The signed-in user of a session, whatever its stage: callers check the stage.
    #[must_use]
    pub fn from_signed_in(signed_in: SignedIn) -> Self {
        let roles = signed_in
            .labels
            .into_iter()
            .map(|(org, role)| format!("{}, {org}", role.label()))
            .collect();
        Self {
            principal: signed_in.principal,
            display_name: signed_in.display_name,
            roles,
            organisation_kinds: signed_in.organisation_kinds,
            notices: careweave_store::notifications::NoticeCounts::default(),
        }
    }
}

/// A session at any stage of sign-in, with its token: for the pages that finish signing in (the
/// second-factor code and enrolment), which a session waiting for them may reach.
#[derive(Debug)]
pub struct SignInInProgress {
    pub token: SessionToken,
    pub signed_in: SignedIn,
}

impl FromRequestParts<AppState> for SignInInProgress {
    type Rejection = NotSignedIn;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let next = parts.uri.path().to_owned();
        let Some(token) = cookie_value(&parts.headers, COOKIE) else {
            return Err(NotSignedIn::Redirect(next));
        };
        let token = SessionToken::from_cookie(&token);
        let signed_in = state
            .store
            .signed_in(&token, chrono::Utc::now())
            .await
            .map_err(|e| NotSignedIn::Failed(e.into()))?
            .ok_or(NotSignedIn::Redirect(next))?;
        Ok(Self { token, signed_in })
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e[1..].to_owned())
        .unwrap_or_default()
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = NotSignedIn;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SignInInProgress { signed_in, .. } =
            SignInInProgress::from_request_parts(parts, state).await?;
        // A session still waiting for its second factor reaches nothing but the pages that
        // finish signing in.
        if signed_in.stage != SessionStage::Full {
            return Err(NotSignedIn::Unfinished(signed_in.stage));
        }
        let mut user = Self::from_signed_in(signed_in);
        user.notices = state
            .store
            .notice_counts(user.principal.user, state.clock.today())
            .await
            .map_err(|e| NotSignedIn::Failed(e.into()))?;
        Ok(user)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    errors: FormErrors,
    username: String,
    next: String,
    /// The OpenID Connect providers to offer: (key, name).
    providers: Vec<(String, String)>,
}

fn providers(state: &AppState) -> Vec<(String, String)> {
    state
        .settings
        .oidc_providers
        .iter()
        .map(|p| (p.key.clone(), p.name.clone()))
        .collect()
}

/// Only same-site absolute paths are followed after sign-in, so the form cannot be used to bounce a
/// user to another site. Browsers drop tabs and line breaks from a URL (so `/<TAB>/evil.example`
/// would become `//evil.example`) and treat `\` as `/`, and a line break cannot go in a header, so
/// a path with any control character, space or backslash is refused too.
pub(crate) fn safe_next(next: &str) -> String {
    let same_site = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains(|c: char| c == '\\' || c.is_control() || c.is_whitespace());
    if same_site {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

/// `GET /sign-in`.
pub async fn sign_in_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<SignInQuery>,
) -> Result<Response, AppError> {
    html(&SignInPage {
        chrome: Chrome::anonymous("Sign in", &csrf),
        errors: FormErrors::default(),
        username: String::new(),
        next: safe_next(q.next.as_deref().unwrap_or("/")),
        providers: providers(&state),
    })
}

/// `POST /sign-in`. Every attempt first passes the throttle (`store::throttle`), which answers for
/// the username as typed whether or not the account exists, so a throttled answer is the same for
/// every username; a refused attempt is not checked at all.
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddress(address): ClientAddress,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    if form.username.trim().is_empty() {
        errors.add("username", "Enter your username");
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password");
    }
    let mut user = None;
    if errors.is_empty() {
        let policy = ThrottlePolicy::with_cap(chrono::Duration::seconds(
            state.settings.sign_in_backoff_cap_seconds.max(1),
        ));
        let now = chrono::Utc::now();
        match state
            .store
            .begin_sign_in(&form.username, &address, &policy, now)
            .await?
        {
            SignInGate::Wait(wait) => return throttled(&csrf, form, wait, providers(&state)),
            SignInGate::Proceed => {
                let password = SecretString::from(form.password.clone());
                user = state
                    .store
                    .verify_password(&form.username, &password)
                    .await?;
                if user.is_none() {
                    state
                        .store
                        .finish_sign_in(&form.username, &address, false, now)
                        .await?;
                }
            }
        }
    }
    let Some(user) = user else {
        if errors.is_empty() {
            // One message for an unknown account and a wrong password alike.
            errors.add("username", "Enter a correct username and password");
        }
        let mut response = html(&SignInPage {
            chrome: Chrome::anonymous("Sign in", &csrf),
            errors,
            username: form.username,
            next: safe_next(&form.next),
            providers: providers(&state),
        })?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    };
    // With a second factor to come (or to set up), the password opens only a short session that
    // reaches the code or enrolment page; the throttle's count stays until the second factor is
    // right, so alternating a known password with guessed codes keeps slowing down.
    let status = state.store.mfa_status(user).await?;
    let stage = if status.active {
        SessionStage::Code
    } else if status.required {
        SessionStage::Enrol
    } else {
        state
            .store
            .finish_sign_in(&form.username, &address, true, chrono::Utc::now())
            .await?;
        SessionStage::Full
    };
    if stage == SessionStage::Full {
        let hours = state.settings.session_hours;
        let token = state
            .store
            .create_session(user, chrono::Duration::hours(hours))
            .await?;
        tracing::info!(user = user.get(), "signed in");
        return Ok(signed_in_response(&state, &token, &safe_next(&form.next)));
    }
    let token = state
        .store
        .create_session_at(
            user,
            chrono::Duration::minutes(SECOND_FACTOR_MINUTES),
            stage,
        )
        .await?;
    tracing::info!(
        user = user.get(),
        "password accepted; second factor to come"
    );
    let page = if stage == SessionStage::Code {
        "/sign-in/code"
    } else {
        "/account/mfa"
    };
    let target = format!("{page}?next={}", urlencode(&safe_next(&form.next)));
    let mut response = Redirect::to(&target).into_response();
    set_cookie(
        response.headers_mut(),
        COOKIE,
        token.expose(),
        "SameSite=Lax",
        Some(SECOND_FACTOR_MINUTES * 60),
        state.settings.secure_cookies,
    );
    crate::csrf::renew(response.headers_mut(), state.settings.secure_cookies);
    Ok(response)
}

/// How long a session waiting for its second factor lasts.
const SECOND_FACTOR_MINUTES: i64 = 10;

/// The answer that completes a sign-in: the session cookie and a redirect to `next` (already
/// checked with [`safe_next`]). The CSRF token is renewed for the new session, so a token planted
/// or read before sign-in is useless.
pub(crate) fn signed_in_response(state: &AppState, token: &SessionToken, next: &str) -> Response {
    let hours = state.settings.session_hours;
    let mut response = Redirect::to(next).into_response();
    set_cookie(
        response.headers_mut(),
        COOKIE,
        token.expose(),
        "SameSite=Lax",
        Some(hours * 3600),
        state.settings.secure_cookies,
    );
    crate::csrf::renew(response.headers_mut(), state.settings.secure_cookies);
    response
}

/// The sign-in page refusing an attempt without checking it: 429 with when to try again, in the
/// same words for every username.
fn throttled(
    csrf: &CsrfToken,
    form: SignInForm,
    wait: chrono::Duration,
    providers: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    let seconds = wait_message(&mut errors, "username", wait);
    let response = html(&SignInPage {
        chrome: Chrome::anonymous("Sign in", csrf),
        errors,
        username: form.username,
        next: safe_next(&form.next),
        providers,
    })?;
    Ok(too_many(response, seconds))
}

/// Adds the "too many attempts" message for `wait` to `field` and returns the wait in seconds.
pub(crate) fn wait_message(errors: &mut FormErrors, field: &str, wait: chrono::Duration) -> i64 {
    let seconds = (wait.num_milliseconds() + 999) / 1000;
    let when = if seconds <= 90 {
        format!("{seconds} seconds")
    } else {
        format!("{} minutes", (seconds + 59) / 60)
    };
    errors.add(
        field,
        format!("There have been too many attempts to sign in. Wait {when}, then try again"),
    );
    seconds
}

/// Marks a page as a throttled answer: 429 with `Retry-After`.
pub(crate) fn too_many(mut response: Response, seconds: i64) -> Response {
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// `POST /sign-out`.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(token) = cookie_value(&headers, COOKIE) {
        state
            .store
            .delete_session(&SessionToken::from_cookie(&token))
            .await?;
    }
    let mut response = Redirect::to("/sign-in").into_response();
    set_cookie(
        response.headers_mut(),
        COOKIE,
        "",
        "SameSite=Lax",
        Some(0),
        state.settings.secure_cookies,
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_kept_on_site() {
        assert_eq!(safe_next("/people/3"), "/people/3");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/\t/evil.example"), "/");
        assert_eq!(safe_next("/people\r\nSet-Cookie: a=b"), "/");
        assert_eq!(safe_next("/ /evil.example"), "/");
        assert_eq!(safe_next("/casework?page=2"), "/casework?page=2");
    }

    #[test]
    fn reads_cookies_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; careweave_session=xyz; b=2"),
        );
        assert_eq!(cookie_value(&h, COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie_value(&h, "missing"), None);
    }
}
