//! `/admin/api-tokens`: an organisation's admin issues and revokes the tokens other systems use
//! for the FHIR API (`store::api_tokens`). A new token is shown once, on the page that issued it;
//! only its fingerprint is kept.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use careweave_domain::access::{self, Role};
use careweave_domain::{OrganisationId, UserId};
use careweave_store::api_tokens::{ApiScope, ApiTokenError, ApiTokenSummary, NewApiToken};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api-tokens", get(page).post(issue))
        .route("/admin/api-tokens/{id}/revoke", post(revoke))
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    client_name: String,
    /// `{user}:{organisation}`: an account and the organisation whose role the token carries.
    acts_for: String,
    scope: String,
}

#[derive(Template)]
#[template(path = "admin/api_tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<ApiTokenSummary>,
    /// (value, label) of each account and organisation a token may act for.
    accounts: Vec<(String, String)>,
    form: TokenForm,
    errors: FormErrors,
    done: Option<&'static str>,
    /// The system's name and the token just issued, shown once.
    issued: Option<(String, String)>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TokensQuery {
    done: Option<String>,
}

fn require_admin(user: &CurrentUser) -> Result<(), AppError> {
    if user.principal.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The accounts with a role other than admin in an organisation this admin administers.
async fn accounts(state: &AppState, user: &CurrentUser) -> Result<Vec<(String, String)>, AppError> {
    let mut out = Vec::new();
    for u in state.store.list_users().await? {
        if !u.active {
            continue;
        }
        for (org, org_name, role) in &u.memberships {
            if *role != Role::Admin && access::can_manage_users(&user.principal, *org) {
                out.push((
                    format!("{}:{}", u.id.get(), org.get()),
                    format!("{} ({}, {org_name})", u.display_name, role.label()),
                ));
            }
        }
    }
    Ok(out)
}

async fn render(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    form: TokenForm,
    errors: FormErrors,
    done: Option<&'static str>,
    issued: Option<(String, String)>,
) -> Result<Response, AppError> {
    let failed = !errors.is_empty();
    let page = TokensPage {
        chrome: Chrome::signed_in("API tokens", csrf, user, "/admin/api-tokens"),
        tokens: state.store.api_tokens_for_admin(&user.principal).await?,
        accounts: accounts(state, user).await?,
        form,
        errors,
        done,
        issued,
    };
    if failed {
        invalid(&page)
    } else {
        html(&page)
    }
}

/// `GET /admin/api-tokens`.
async fn page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(q): Query<TokensQuery>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let done = match q.done.as_deref() {
        Some("revoked") => Some("Token revoked: the system can no longer use it"),
        _ => None,
    };
    render(
        &state,
        &csrf,
        &user,
        TokenForm::default(),
        FormErrors::default(),
        done,
        None,
    )
    .await
}

fn validate(form: &TokenForm, accounts: &[(String, String)]) -> Result<NewApiToken, FormErrors> {
    let mut errors = FormErrors::default();
    if form.client_name.trim().is_empty() {
        errors.add(
            "client_name",
            "Enter the name of the system that will use the token",
        );
    }
    let acts_for = accounts
        .iter()
        .any(|(v, _)| v == &form.acts_for)
        .then(|| form.acts_for.split_once(':'))
        .flatten()
        .and_then(|(u, o)| Some((u.parse::<i64>().ok()?, o.parse::<i64>().ok()?)));
    if acts_for.is_none() {
        errors.add("acts_for", "Select the account the token acts for");
    }
    let scope = ApiScope::from_code(&form.scope);
    if scope.is_none() {
        errors.add("scope", "Select what the system may do");
    }
    match (acts_for, scope) {
        (Some((user, org)), Some(scope)) if errors.is_empty() => Ok(NewApiToken {
            client_name: form.client_name.trim().to_owned(),
            organisation: OrganisationId::new(org),
            acts_for: UserId::new(user),
            scope,
        }),
        _ => Err(errors),
    }
}

/// `POST /admin/api-tokens`: issues a token and shows it once.
async fn issue(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let choices = accounts(&state, &user).await?;
    let new = match validate(&form, &choices) {
        Ok(new) => new,
        Err(errors) => return render(&state, &csrf, &user, form, errors, None, None).await,
    };
    match state.store.issue_api_token(&user.principal, &new).await {
        Ok(issued) => {
            let shown = (
                new.client_name.clone(),
                issued.token.expose_secret().to_owned(),
            );
            render(
                &state,
                &csrf,
                &user,
                TokenForm::default(),
                FormErrors::default(),
                Some("Token issued"),
                Some(shown),
            )
            .await
        }
        Err(ApiTokenError::NoRole | ApiTokenError::Denied) => {
            let mut errors = FormErrors::default();
            errors.add(
                "acts_for",
                "Select an account with a role in an organisation you administer",
            );
            render(&state, &csrf, &user, form, errors, None, None).await
        }
        Err(ApiTokenError::NotFound) => Err(AppError::NotFound),
        Err(ApiTokenError::Store(e)) => Err(e.into()),
    }
}

/// `POST /admin/api-tokens/{id}/revoke`.
async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    match state.store.revoke_api_token(&user.principal, id).await {
        Ok(()) => Ok(Redirect::to("/admin/api-tokens?done=revoked").into_response()),
        Err(ApiTokenError::Denied) => Err(AppError::Forbidden),
        Err(ApiTokenError::NotFound | ApiTokenError::NoRole) => Err(AppError::NotFound),
        Err(ApiTokenError::Store(e)) => Err(e.into()),
    }
}
