//! Administration: accounts and roles, and the audit log. Administrators manage access but never
//! read a person's record: the audit log shows record ids and reasons, not contents.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use careweave_domain::access::{self, Membership, Role};
use careweave_domain::OrganisationId;
use careweave_store::accounts::{NewUser, UserSummary};
use careweave_store::audit::{AuditEntry, AuditFilter};
use careweave_store::consent::{BreakGlassError, BreakGlassReview};
use careweave_store::StoreError;
use secrecy::SecretString;
use serde::Deserialize;

use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users))
        .route("/admin/users/new", get(new_user_form).post(create_user))
        .route("/admin/audit", get(audit))
        .route("/admin/break-glass", get(break_glass_queue))
        .route(
            "/admin/break-glass/{id}/review",
            axum::routing::post(review_break_glass),
        )
}

/// The minimum password length; NCSC guidance favours length over composition rules.
const MIN_PASSWORD: usize = 12;

fn require_admin(user: &CurrentUser) -> Result<(), AppError> {
    if user.principal.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserSummary>,
}

async fn users(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let users = state.store.list_users().await?;
    html(&UsersPage {
        chrome: Chrome::signed_in("Users", &csrf, &user, "/admin/users"),
        users,
    })
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct UserForm {
    username: String,
    display_name: String,
    password: String,
    organisation: String,
    role: String,
}

#[derive(Template)]
#[template(path = "admin/new_user.html")]
struct NewUserPage {
    chrome: Chrome,
    form: UserForm,
    errors: FormErrors,
    organisations: Vec<(i64, String)>,
    roles: &'static [Role],
}

/// The organisations in which this admin may grant roles.
async fn administered(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(state
        .store
        .organisations()
        .await?
        .into_iter()
        .filter(|o| access::can_manage_users(&user.principal, o.id))
        .map(|o| (o.id.get(), o.name))
        .collect())
}

async fn new_user_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    html(&NewUserPage {
        chrome: Chrome::signed_in("Add a user", &csrf, &user, "/admin/users"),
        form: UserForm::default(),
        errors: FormErrors::default(),
        organisations: administered(&state, &user).await?,
        roles: Role::ALL,
    })
}

fn validate(form: &UserForm, organisations: &[(i64, String)]) -> Result<NewUser, FormErrors> {
    let mut errors = FormErrors::default();
    let username = form.username.trim();
    if username.is_empty() {
        errors.add("username", "Enter an email address");
    } else if !username.contains('@') || username.contains(char::is_whitespace) {
        errors.add(
            "username",
            "Enter an email address in the correct format, like name@example.org",
        );
    }
    if form.display_name.trim().is_empty() {
        errors.add("display_name", "Enter the person's full name");
    }
    if form.password.chars().count() < MIN_PASSWORD {
        errors.add(
            "password",
            format!("Password must be {MIN_PASSWORD} characters or more"),
        );
    }
    let organisation = form
        .organisation
        .parse::<i64>()
        .ok()
        .filter(|id| organisations.iter().any(|(o, _)| o == id));
    if organisation.is_none() {
        errors.add("organisation", "Select an organisation you administer");
    }
    let role = Role::from_code(&form.role);
    if role.is_none() {
        errors.add("role", "Select a role");
    }
    match (organisation, role) {
        (Some(org), Some(role)) if errors.is_empty() => Ok(NewUser {
            username: username.to_owned(),
            display_name: form.display_name.trim().to_owned(),
            password: SecretString::from(form.password.clone()),
            memberships: vec![Membership {
                organisation: OrganisationId::new(org),
                role,
            }],
        }),
        _ => Err(errors),
    }
}

async fn create_user(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(form): Form<UserForm>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let organisations = administered(&state, &user).await?;
    let outcome = match validate(&form, &organisations) {
        Ok(new) => match state.store.create_user(new).await {
            Ok(_) => return Ok(Redirect::to("/admin/users").into_response()),
            Err(StoreError::Duplicate(_)) => {
                let mut errors = FormErrors::default();
                errors.add(
                    "username",
                    "An account with this email address already exists",
                );
                errors
            }
            Err(e) => return Err(e.into()),
        },
        Err(errors) => errors,
    };
    // The password is never sent back to the browser, even on a validation error.
    let form = UserForm {
        password: String::new(),
        ..form
    };
    invalid(&NewUserPage {
        chrome: Chrome::signed_in("Add a user", &csrf, &user, "/admin/users"),
        form,
        errors: outcome,
        organisations,
        roles: Role::ALL,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    person: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditEntry>,
    person: String,
    error: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    if !access::can_read_audit(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let person = q.person.unwrap_or_default();
    let (filter, error) = if person.trim().is_empty() {
        (
            AuditFilter {
                limit: 200,
                ..AuditFilter::default()
            },
            None,
        )
    } else {
        match person.trim().parse::<i64>() {
            Ok(id) => (
                AuditFilter {
                    entity: Some("person".into()),
                    entity_id: Some(id),
                    limit: 500,
                },
                None,
            ),
            Err(_) => (
                AuditFilter {
                    limit: 200,
                    ..AuditFilter::default()
                },
                Some("Person record number must be a number, like 42".to_owned()),
            ),
        }
    };
    let entries = state.store.audit_entries(&filter).await?;
    html(&AuditPage {
        chrome: Chrome::signed_in("Audit log", &csrf, &user, "/admin/audit"),
        entries,
        person,
        error,
    })
}

#[derive(Template)]
#[template(path = "admin/break_glass.html")]
struct BreakGlassPage {
    chrome: Chrome,
    accesses: Vec<BreakGlassReview>,
    /// The access whose review note failed validation, with what was typed.
    failed: Option<(i64, String)>,
    errors: FormErrors,
}

impl BreakGlassPage {
    /// The note typed for access `id` when its review came back with an error.
    fn note_for(&self, id: &i64) -> &str {
        self.failed
            .as_ref()
            .filter(|(f, _)| f == id)
            .map_or("", |(_, n)| n.as_str())
    }
}

async fn queue_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    failed: Option<(i64, String)>,
    errors: FormErrors,
) -> Result<BreakGlassPage, AppError> {
    require_admin(user)?;
    let accesses = state.store.break_glass_queue(&user.principal).await?;
    Ok(BreakGlassPage {
        chrome: Chrome::signed_in("Emergency access reviews", csrf, user, "/admin/break-glass"),
        accesses,
        failed,
        errors,
    })
}

/// `GET /admin/break-glass`: the information governance lead's review queue. It names who opened
/// which record id, when and why, never the record's contents.
async fn break_glass_queue(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    html(&queue_page(&state, &csrf, &user, None, FormErrors::default()).await?)
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ReviewForm {
    note: String,
}

async fn review_break_glass(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    axum::extract::Path(id): axum::extract::Path<i64>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    if form.note.trim().is_empty() {
        let mut errors = FormErrors::default();
        errors.add(
            &format!("note-{id}"),
            "Enter a note on what you checked and decided",
        );
        return invalid(&queue_page(&state, &csrf, &user, Some((id, form.note)), errors).await?);
    }
    match state
        .store
        .review_break_glass(&user.principal, id, &form.note)
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/break-glass").into_response()),
        Err(BreakGlassError::Store(e)) => Err(e.into()),
        Err(_) => Err(AppError::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_accounts_need_a_long_password_and_a_real_role() {
        let orgs = [(1, "Riverside".to_owned())];
        let form = UserForm {
            username: "a@b.org".into(),
            display_name: "A B".into(),
            password: "short".into(),
            organisation: "1".into(),
            role: "emperor".into(),
        };
        let errors = validate(&form, &orgs).unwrap_err();
        assert!(errors.has("password"));
        assert!(errors.has("role"));
        let ok = UserForm {
            password: "a long enough passphrase".into(),
            role: "worker".into(),
            ..form
        };
        assert!(validate(&ok, &orgs).is_ok());
    }
}
