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
use careweave_store::accounts::SessionToken;
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
}

/// Why a request has no signed-in user.
#[derive(Debug)]
pub enum NotSignedIn {
    Redirect(String),
    Failed(AppError),
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            Self::Redirect(next) => {
                let target = format!("/sign-in?next={}", urlencode(&next));
                Redirect::to(&target).into_response()
            }
            Self::Failed(e) => e.into_response(),
        }
    }
}

fn urlencode(s: &str) -> String {
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
        let principal = signed_in.principal;
        let display_name = signed_in.display_name;
        let roles = signed_in
            .labels
            .into_iter()
            .map(|(org, role)| format!("{}, {org}", role.label()))
            .collect();
        Ok(Self {
            principal,
            display_name,
            roles,
        })
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
}

/// Only same-site absolute paths are followed after sign-in, so the form cannot be used to bounce a
/// user to another site. Browsers drop tabs and line breaks from a URL (so `/<TAB>/evil.example`
/// would become `//evil.example`) and treat `\` as `/`, and a line break cannot go in a header, so
/// a path with any control character, space or backslash is refused too.
fn safe_next(next: &str) -> String {
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
    Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<SignInQuery>,
) -> Result<Response, AppError> {
    html(&SignInPage {
        chrome: Chrome::anonymous("Sign in", &csrf),
        errors: FormErrors::default(),
        username: String::new(),
        next: safe_next(q.next.as_deref().unwrap_or("/")),
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
            SignInGate::Wait(wait) => return throttled(&csrf, form, wait),
            SignInGate::Proceed => {
                let password = SecretString::from(form.password.clone());
                user = state
                    .store
                    .verify_password(&form.username, &password)
                    .await?;
                state
                    .store
                    .finish_sign_in(&form.username, &address, user.is_some(), now)
                    .await?;
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
        })?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    };
    let hours = state.settings.session_hours;
    let token = state
        .store
        .create_session(user, chrono::Duration::hours(hours))
        .await?;
    tracing::info!(user = user.get(), "signed in");
    let mut response = Redirect::to(&safe_next(&form.next)).into_response();
    set_cookie(
        response.headers_mut(),
        COOKIE,
        token.expose(),
        "SameSite=Lax",
        Some(hours * 3600),
        state.settings.secure_cookies,
    );
    // A new CSRF token for the new session, so a token planted or read before sign-in is useless.
    crate::csrf::renew(response.headers_mut(), state.settings.secure_cookies);
    Ok(response)
}

/// The sign-in page refusing an attempt without checking it: 429 with when to try again, in the
/// same words for every username.
fn throttled(
    csrf: &CsrfToken,
    form: SignInForm,
    wait: chrono::Duration,
) -> Result<Response, AppError> {
    let seconds = (wait.num_milliseconds() + 999) / 1000;
    let when = if seconds <= 90 {
        format!("{seconds} seconds")
    } else {
        format!("{} minutes", (seconds + 59) / 60)
    };
    let mut errors = FormErrors::default();
    errors.add(
        "username",
        format!("There have been too many attempts to sign in. Wait {when}, then try again"),
    );
    let mut response = html(&SignInPage {
        chrome: Chrome::anonymous("Sign in", csrf),
        errors,
        username: form.username,
        next: safe_next(&form.next),
    })?;
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(response)
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
