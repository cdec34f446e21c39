//! Multi-factor sign-in pages: the code asked for after the password, enrolment (the secret as text
//! and as a QR code, confirmed with a code, then ten recovery codes shown once), and the
//! organisation setting that requires it. The rules and the audit are in `store::mfa`.
//!
//! A session waiting for its second factor (see `session::sign_in`) reaches only these pages; the
//! code page counts every attempt in the sign-in throttle like a password, and a right code
//! replaces the waiting session by a full one with a new token.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use base64::Engine;
use careweave_domain::access::Role;
use careweave_domain::account::ThrottlePolicy;
use careweave_domain::OrganisationId;
use careweave_store::account_admin::{AccountActor, AccountError};
use careweave_store::accounts::SessionStage;
use careweave_store::mfa::{MfaError, OrganisationMfa};
use careweave_store::throttle::SignInGate;
use serde::Deserialize;

use crate::client::ClientAddress;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::pages::{html, invalid, Chrome};
use crate::session::{safe_next, signed_in_response, CurrentUser, SignInInProgress};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-in/code", get(code_page).post(check_code))
        .route("/account/mfa", get(enrol_page).post(confirm))
        .route("/admin/security", get(security_page).post(set_required))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    next: String,
}

#[derive(Template)]
#[template(path = "mfa/code.html")]
struct CodePage {
    chrome: Chrome,
    errors: FormErrors,
    next: String,
}

/// The frame of a page seen before sign-in is complete: no navigation, since nothing else may be
/// reached yet.
fn unfinished_chrome(title: &str, csrf: &CsrfToken, progress: &SignInInProgress) -> Chrome {
    if progress.signed_in.stage == SessionStage::Full {
        let user = CurrentUser::from_signed_in(progress.signed_in.clone());
        Chrome::signed_in(title, csrf, &user, "")
    } else {
        Chrome::anonymous(title, csrf)
    }
}

/// `GET /sign-in/code`: the second step of signing in.
async fn code_page(
    Extension(csrf): Extension<CsrfToken>,
    progress: SignInInProgress,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    if progress.signed_in.stage != SessionStage::Code {
        return Ok(Redirect::to("/").into_response());
    }
    html(&CodePage {
        chrome: unfinished_chrome("Enter your security code", &csrf, &progress),
        errors: FormErrors::default(),
        next: safe_next(&q.next),
    })
}

/// `POST /sign-in/code`: checks the code (or a recovery code) through the throttle.
async fn check_code(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddress(address): ClientAddress,
    progress: SignInInProgress,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    if progress.signed_in.stage != SessionStage::Code {
        return Ok(Redirect::to("/").into_response());
    }
    let user = progress.signed_in.principal.user;
    let next = safe_next(&form.next);
    let page = |errors| CodePage {
        chrome: unfinished_chrome("Enter your security code", &csrf, &progress),
        errors,
        next: next.clone(),
    };
    let mut errors = FormErrors::default();
    if form.code.trim().is_empty() {
        errors.add("code", "Enter the 6-digit code from your authenticator app");
        return invalid(&page(errors));
    }
    // The throttle counts codes under the account's username, the same counters as passwords.
    let username = state
        .store
        .user_summary(user)
        .await?
        .ok_or(AppError::NotFound)?
        .username;
    let policy = ThrottlePolicy::with_cap(chrono::Duration::seconds(
        state.settings.sign_in_backoff_cap_seconds.max(1),
    ));
    let now = chrono::Utc::now();
    if let SignInGate::Wait(wait) = state
        .store
        .begin_sign_in(&username, &address, &policy, now)
        .await?
    {
        let seconds = crate::session::wait_message(&mut errors, "code", wait);
        return Ok(crate::session::too_many(html(&page(errors))?, seconds));
    }
    let key = state.mfa_key.as_deref();
    match state
        .store
        .verify_second_factor(user, &form.code, key, now)
        .await
    {
        Ok(()) => {
            state
                .store
                .finish_sign_in(&username, &address, true, now)
                .await?;
            finish(&state, &progress, &next).await
        }
        Err(MfaError::WrongCode) => {
            errors.add(
                "code",
                "Enter a correct code. A code works once; wait for the next one if you have just used it",
            );
            invalid(&page(errors))
        }
        Err(e) => Err(mfa_error(e)),
    }
}

/// Replaces the waiting session by a full one and goes on to `next`.
async fn finish(
    state: &AppState,
    progress: &SignInInProgress,
    next: &str,
) -> Result<Response, AppError> {
    let hours = state.settings.session_hours;
    let Some(token) = state
        .store
        .complete_session(&progress.token, chrono::Duration::hours(hours))
        .await?
    else {
        // The waiting session was used by a parallel request or ended: start again.
        return Ok(Redirect::to("/sign-in").into_response());
    };
    tracing::info!(
        user = progress.signed_in.principal.user.get(),
        "signed in with a second factor"
    );
    Ok(signed_in_response(state, &token, next))
}

fn mfa_error(e: MfaError) -> AppError {
    match e {
        MfaError::Store(e) => e.into(),
        other => AppError::Unexpected(other.into()),
    }
}

#[derive(Template)]
#[template(path = "mfa/enrol.html")]
struct EnrolPage {
    chrome: Chrome,
    errors: FormErrors,
    /// Set up already: shows the standing instead of a secret.
    active: bool,
    recovery_codes_left: i64,
    /// An organisation requires it (and the account must enrol before going on).
    required: bool,
    secret: String,
    /// The QR code as an SVG data URI.
    qr: String,
    next: String,
}

/// The QR code of an `otpauth://` address as an SVG image in a data URI (the Content-Security-Policy
/// allows `data:` images), drawn on the server.
fn qr_data_uri(uri: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| AppError::Unexpected(e.into()))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

async fn enrol_view(
    state: &AppState,
    csrf: &CsrfToken,
    progress: &SignInInProgress,
    next: String,
    errors: FormErrors,
) -> Result<EnrolPage, AppError> {
    let user = progress.signed_in.principal.user;
    let status = state.store.mfa_status(user).await?;
    let mut page = EnrolPage {
        chrome: unfinished_chrome("Set up multi-factor sign-in", csrf, progress),
        errors,
        active: status.active,
        recovery_codes_left: status.recovery_codes_left,
        required: status.required,
        secret: String::new(),
        qr: String::new(),
        next,
    };
    if !status.active {
        let enrolment = state
            .store
            .begin_mfa_enrolment(user, &state.settings.mfa_issuer, state.mfa_key.as_deref())
            .await
            .map_err(mfa_error)?;
        page.qr = qr_data_uri(&enrolment.uri)?;
        page.secret = enrolment
            .secret
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
    }
    Ok(page)
}

/// `GET /account/mfa`: set up multi-factor sign-in, or see that it is on.
async fn enrol_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    progress: SignInInProgress,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    if progress.signed_in.stage == SessionStage::Code {
        return Ok(Redirect::to("/sign-in/code").into_response());
    }
    let page = enrol_view(
        &state,
        &csrf,
        &progress,
        safe_next(&q.next),
        FormErrors::default(),
    )
    .await?;
    no_store(html(&page)?)
}

#[derive(Template)]
#[template(path = "mfa/recovery.html")]
struct RecoveryPage {
    chrome: Chrome,
    codes: Vec<String>,
    next: String,
}

/// `POST /account/mfa`: confirms the secret with a code, turns multi-factor sign-in on and shows
/// the recovery codes once. A session that had to enrol becomes a full one here.
async fn confirm(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddress(address): ClientAddress,
    progress: SignInInProgress,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    if progress.signed_in.stage == SessionStage::Code {
        return Ok(Redirect::to("/sign-in/code").into_response());
    }
    let user = progress.signed_in.principal.user;
    let next = safe_next(&form.next);
    let now = chrono::Utc::now();
    let mut errors = FormErrors::default();
    let outcome = if form.code.trim().is_empty() {
        Err(MfaError::WrongCode)
    } else {
        state
            .store
            .confirm_mfa_enrolment(user, &form.code, state.mfa_key.as_deref(), now)
            .await
    };
    let codes = match outcome {
        Ok(codes) => codes,
        Err(MfaError::WrongCode) => {
            errors.add(
                "code",
                "Enter the 6-digit code your authenticator app shows for careweave",
            );
            let page = enrol_view(&state, &csrf, &progress, next, errors).await?;
            return no_store(invalid(&page)?);
        }
        Err(MfaError::AlreadyActive) => return Ok(Redirect::to("/account/mfa").into_response()),
        Err(e) => return Err(mfa_error(e)),
    };
    let page = RecoveryPage {
        chrome: unfinished_chrome("Your recovery codes", &csrf, &progress),
        codes,
        next: next.clone(),
    };
    if progress.signed_in.stage == SessionStage::Full {
        return no_store(html(&page)?);
    }
    // Enrolment was this sign-in's second factor: the password's throttle count is given back and
    // the session becomes a full one, whose cookie this page sets.
    let username = state
        .store
        .user_summary(user)
        .await?
        .ok_or(AppError::NotFound)?
        .username;
    state
        .store
        .finish_sign_in(&username, &address, true, now)
        .await?;
    let redirect = finish(&state, &progress, &next).await?;
    if redirect.headers().get(header::SET_COOKIE).is_none() {
        // The waiting session had gone: `finish` sends the person back to sign in.
        return Ok(redirect);
    }
    let mut response = no_store(html(&page)?)?;
    for cookie in redirect.headers().get_all(header::SET_COOKIE) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    Ok(response)
}

/// Secrets and recovery codes are shown once: no cache may keep the page.
fn no_store(mut response: Response) -> Result<Response, AppError> {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Template)]
#[template(path = "admin/security.html")]
struct SecurityPage {
    chrome: Chrome,
    organisations: Vec<OrganisationMfa>,
    done: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

/// `GET /admin/security`: whether each organisation this admin administers requires multi-factor
/// sign-in.
async fn security_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    if !user.principal.has_role(Role::Admin) {
        return Err(AppError::Forbidden);
    }
    html(&SecurityPage {
        chrome: Chrome::signed_in("Sign-in security", &csrf, &user, "/admin/security"),
        organisations: state.store.organisations_mfa(&user.principal).await?,
        done: q.done == "saved",
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequiredForm {
    organisation: String,
    required: String,
}

/// `POST /admin/security`: sets one organisation's requirement (the store checks this admin
/// administers it and audits the change or the refusal).
async fn set_required(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<RequiredForm>,
) -> Result<Response, AppError> {
    if !user.principal.has_role(Role::Admin) {
        return Err(AppError::Forbidden);
    }
    let organisation = form
        .organisation
        .parse::<i64>()
        .map(OrganisationId::new)
        .map_err(|_| AppError::NotFound)?;
    match state
        .store
        .set_mfa_required(
            AccountActor::Admin(&user.principal),
            organisation,
            form.required == "yes",
        )
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/security?done=saved").into_response()),
        Err(AccountError::Denied) => Err(AppError::Forbidden),
        Err(AccountError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Unexpected(e.into())),
    }
}
