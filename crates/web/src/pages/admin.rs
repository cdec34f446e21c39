//! Administration: accounts and roles, and the audit log. Administrators manage access but never
//! read a person's record: the audit log shows record ids and reasons, not contents. It is searched
//! by the NHS number of the person the rows are about (matched in the database, not by opening the
//! record), by account and by date, a page at a time, and exported as CSV.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use careweave_domain::access::{self, Membership, Role};
use careweave_domain::account::{self, can_manage_account};
use careweave_domain::{NhsNumber, OrganisationId, UserId};
use careweave_store::account_admin::{AccountActor, AccountError, SessionSummary};
use careweave_store::accounts::{NewUser, UserSummary};
use careweave_store::audit::{AuditEntry, AuditSearch};
use careweave_store::consent::{BreakGlassError, BreakGlassReview};
use careweave_store::oidc::{LinkClaim, OidcLink};
use careweave_store::StoreError;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use secrecy::SecretString;
use serde::Deserialize;

use super::{html, invalid, Chrome, Pagination};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{date_from, FormErrors, Pairs};
use crate::reporting::csv_download;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users))
        .route("/admin/users/new", get(new_user_form).post(create_user))
        .route("/admin/users/{id}", get(account_page))
        .route("/admin/users/{id}/{action}", post(account_action))
        .route("/admin/audit", get(audit))
        .route("/admin/audit/export.csv", get(audit_export))
        .route("/admin/break-glass", get(break_glass_queue))
        .route(
            "/admin/break-glass/{id}/review",
            axum::routing::post(review_break_glass),
        )
}

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
    let users = administered_accounts(&state, &user).await?;
    html(&UsersPage {
        chrome: Chrome::signed_in("Users", &csrf, &user, "/admin/users"),
        users,
    })
}

/// The accounts with a role in an organisation this admin administers: the others are not theirs
/// to see or manage.
async fn administered_accounts(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<UserSummary>, StoreError> {
    Ok(state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| {
            u.memberships
                .iter()
                .any(|(org, _, _)| access::can_manage_users(&user.principal, *org))
        })
        .collect())
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
    let username = account::username(&form.username).unwrap_or_else(|message| {
        errors.add("username", message);
        String::new()
    });
    if form.display_name.trim().is_empty() {
        errors.add("display_name", "Enter the person's full name");
    }
    if let Err(message) = account::password(&form.password, &[&form.username, &form.display_name]) {
        errors.add("password", message);
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
            username,
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

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    chrome: Chrome,
    account: UserSummary,
    /// Whether this admin may act on the whole account (not only their organisation's roles).
    whole: bool,
    /// The account's roles this admin may remove: (organisation id, organisation, role).
    removable: Vec<(i64, String, Role)>,
    sessions: Vec<SessionSummary>,
    done: Option<&'static str>,
    errors: FormErrors,
    /// A generated password, shown once after a reset.
    new_password: Option<String>,
    /// Whether the account has multi-factor sign-in on.
    mfa_active: bool,
    /// The account's links to identities at OpenID Connect providers.
    links: Vec<OidcLink>,
    /// The configured providers: (key, name).
    providers: Vec<(String, String)>,
    /// What was typed into the link form, kept when it comes back with an error.
    link: LinkForm,
}

/// What an account page shows besides the account: a confirmation, errors, a password shown once
/// and the link form as typed.
#[derive(Debug, Default)]
struct Feedback {
    done: Option<&'static str>,
    errors: FormErrors,
    new_password: Option<String>,
    link: LinkForm,
}

#[derive(Debug, Default, Deserialize)]
pub struct AccountQuery {
    done: Option<String>,
}

/// What an action did, for the confirmation banner (the query names it by a fixed word).
fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "disabled" => "Account disabled and its sessions ended",
        "enabled" => "Account enabled",
        "sessions" => "Sessions ended",
        "role" => "Role removed",
        "mfa" => "Multi-factor sign-in reset and sessions ended. The person sets it up again at their next sign-in if their organisation requires it",
        "linked" => "Sign-in provider linked",
        "unlinked" => "Sign-in provider link removed",
        _ => return None,
    })
}

/// `GET /admin/users/{id}`: an account with its roles and live sessions, and what this admin may
/// do to it.
async fn account_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<AccountQuery>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let done = q.done.as_deref().and_then(done_message);
    let feedback = Feedback {
        done,
        ..Feedback::default()
    };
    account_view(&state, &csrf, &user, UserId::new(id), feedback).await
}

async fn account_view(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: UserId,
    feedback: Feedback,
) -> Result<Response, AppError> {
    let Feedback {
        done,
        errors,
        new_password,
        link,
    } = feedback;
    let account = state
        .store
        .user_summary(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let removable: Vec<(i64, String, Role)> = account
        .memberships
        .iter()
        .filter(|(org, _, _)| access::can_manage_users(&user.principal, *org))
        .map(|(org, name, role)| (org.get(), name.clone(), *role))
        .collect();
    if removable.is_empty() {
        // Nothing of this account is in this admin's organisations: refuse, and audit the
        // refusal through the store.
        return match state
            .store
            .account_sessions(AccountActor::Admin(&user.principal), id, chrono::Utc::now())
            .await
        {
            Err(AccountError::Denied) | Ok(_) => Err(AppError::Forbidden),
            Err(e) => Err(account_error(e)),
        };
    }
    let memberships: Vec<Membership> = account
        .memberships
        .iter()
        .map(|(organisation, _, role)| Membership {
            organisation: *organisation,
            role: *role,
        })
        .collect();
    let whole = can_manage_account(&user.principal, &memberships);
    let sessions = if whole {
        state
            .store
            .account_sessions(AccountActor::Admin(&user.principal), id, chrono::Utc::now())
            .await
            .map_err(account_error)?
    } else {
        Vec::new()
    };
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let shows_password = new_password.is_some();
    let mfa_active = state.store.mfa_status(id).await?.active;
    let links = state.store.oidc_links(id).await?;
    let providers = state
        .settings
        .oidc_providers
        .iter()
        .map(|p| (p.key.clone(), p.name.clone()))
        .collect();
    let mut response = html(&AccountPage {
        chrome: Chrome::signed_in(&account.display_name, csrf, user, "/admin/users"),
        account,
        whole,
        removable,
        sessions,
        done,
        errors,
        new_password,
        mfa_active,
        links,
        providers,
        link,
    })?;
    *response.status_mut() = status;
    if shows_password {
        // The generated password is shown once: no cache may keep the page.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

fn account_error(e: AccountError) -> AppError {
    match e {
        AccountError::Denied => AppError::Forbidden,
        AccountError::NotFound => AppError::NotFound,
        other => AppError::Unexpected(other.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AccountActionForm {
    organisation: String,
    role: String,
    session: String,
    provider: String,
    claim: String,
    value: String,
}

/// The form that links an account to an identity at a provider, as typed.
#[derive(Debug, Default, Clone)]
struct LinkForm {
    provider: String,
    claim: String,
    value: String,
}

/// `POST /admin/users/{id}/{action}`: disable, enable, reset-password, end-sessions or
/// remove-role. The store checks that this admin may do it and audits it either way.
async fn account_action(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<AccountActionForm>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let id = UserId::new(id);
    let by = AccountActor::Admin(&user.principal);
    let back =
        |done: &str| Ok(Redirect::to(&format!("/admin/users/{id}?done={done}")).into_response());
    let outcome = match action.as_str() {
        "disable" if id == user.principal.user => Err(AccountError::LastAdmin),
        "disable" => state
            .store
            .set_account_active(by, id, false)
            .await
            .map(|_| "disabled"),
        "enable" => state
            .store
            .set_account_active(by, id, true)
            .await
            .map(|_| "enabled"),
        "end-sessions" => {
            let reference = Some(form.session.trim()).filter(|r| !r.is_empty());
            state
                .store
                .end_sessions(by, id, reference)
                .await
                .map(|_| "sessions")
        }
        "remove-role" => {
            let organisation = form
                .organisation
                .parse::<i64>()
                .ok()
                .map(OrganisationId::new);
            let role = Role::from_code(&form.role);
            let (Some(organisation), Some(role)) = (organisation, role) else {
                return Err(AppError::NotFound);
            };
            state
                .store
                .remove_membership(by, id, Membership { organisation, role })
                .await
                .map(|()| "role")
        }
        "reset-password" => {
            let password = careweave_store::accounts::generated_password();
            return match state
                .store
                .reset_password(by, id, &SecretString::from(password.clone()))
                .await
            {
                Ok(_) => {
                    let feedback = Feedback {
                        new_password: Some(password),
                        ..Feedback::default()
                    };
                    account_view(&state, &csrf, &user, id, feedback).await
                }
                Err(e) => Err(account_error(e)),
            };
        }
        "reset-mfa" => state.store.reset_mfa(by, id).await.map(|()| "mfa"),
        "link-oidc" | "unlink-oidc" => {
            return oidc_link_action(&state, &csrf, &user, id, &action, form).await;
        }
        _ => return Err(AppError::NotFound),
    };
    let message = match outcome {
        Ok(done) => return back(done),
        Err(AccountError::LastAdmin) if id == user.principal.user => {
            "You cannot disable your own account. Ask another administrator"
        }
        Err(AccountError::LastAdmin) => {
            "This would leave an organisation with no active administrator. Add another administrator first"
        }
        Err(AccountError::OnlyRole) => {
            "This is the account's only role. Disable the account instead"
        }
        Err(AccountError::NoSuchRole) => "The account no longer has that role",
        Err(e) => return Err(account_error(e)),
    };
    let mut errors = FormErrors::default();
    errors.add("actions", message);
    let feedback = Feedback {
        errors,
        ..Feedback::default()
    };
    account_view(&state, &csrf, &user, id, feedback).await
}

/// Links an account to an identity at a configured provider, or removes a link. Only an
/// administrator of all the account's organisations may (the store checks and audits).
async fn oidc_link_action(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: UserId,
    action: &str,
    form: AccountActionForm,
) -> Result<Response, AppError> {
    let by = AccountActor::Admin(&user.principal);
    let claim = LinkClaim::from_code(&form.claim);
    let known = state
        .settings
        .oidc_providers
        .iter()
        .any(|p| p.key == form.provider);
    if action == "unlink-oidc" {
        let Some(claim) = claim.filter(|_| known) else {
            return Err(AppError::NotFound);
        };
        return match state
            .store
            .unlink_oidc(by, id, &form.provider, claim, &form.value)
            .await
        {
            Ok(()) => Ok(Redirect::to(&format!("/admin/users/{id}?done=unlinked")).into_response()),
            Err(e) => Err(account_error(e)),
        };
    }
    let mut errors = FormErrors::default();
    if !known {
        errors.add("link-provider", "Select a sign-in provider");
    }
    if claim.is_none() {
        errors.add("link-claim", "Select how the provider names the person");
    }
    let value = form.value.trim();
    if value.is_empty() {
        errors.add(
            "link-value",
            "Enter the subject identifier or email address",
        );
    } else if claim == Some(LinkClaim::Email) && account::username(value).is_err() {
        errors.add(
            "link-value",
            "Enter an email address, like name@example.org",
        );
    }
    if let (Some(claim), true) = (claim, errors.is_empty()) {
        match state
            .store
            .link_oidc(by, id, &form.provider, claim, value)
            .await
        {
            Ok(()) => {
                return Ok(Redirect::to(&format!("/admin/users/{id}?done=linked")).into_response())
            }
            Err(AccountError::Store(StoreError::Duplicate(_))) => errors.add(
                "link-value",
                "That identity is already linked to an account. Remove that link first",
            ),
            Err(e) => return Err(account_error(e)),
        }
    }
    let feedback = Feedback {
        errors,
        link: LinkForm {
            provider: form.provider,
            claim: form.claim,
            value: form.value,
        },
        ..Feedback::default()
    };
    account_view(state, csrf, user, id, feedback).await
}

/// The audit log's rows per page.
const AUDIT_PER_PAGE: usize = 50;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditEntry>,
    /// The filter as typed.
    form: Pairs,
    errors: FormErrors,
    /// The accounts whose rows this admin may see: (id, name, username).
    accounts: Vec<(i64, String, String)>,
    pager: Pagination,
    /// The export link for the same rows.
    export: String,
}

/// The filter's fields kept in every page and export link.
const AUDIT_FIELDS: [&str; 8] = [
    "nhs_number",
    "user",
    "from-day",
    "from-month",
    "from-year",
    "to-day",
    "to-month",
    "to-year",
];

/// A date box group left wholly empty is no filter; a partly filled one is checked.
fn optional_date(
    errors: &mut FormErrors,
    p: &Pairs,
    prefix: &str,
    what: &'static str,
) -> Option<NaiveDate> {
    let parts = ["day", "month", "year"].map(|part| p.trimmed(&format!("{prefix}-{part}")));
    if parts.iter().all(String::is_empty) {
        None
    } else {
        date_from(errors, p, prefix, what, None)
    }
}

/// The start of `day` in the deployment's time zone, as an instant.
fn start_of(state: &AppState, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    state
        .clock
        .zone()
        .from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// Reads the audit filter: an NHS number, an account and a date range (in the deployment's time
/// zone, both days included). The account is a choice, never a grant: the store still shows only
/// this admin's organisations' rows.
fn audit_search(state: &AppState, p: &Pairs) -> Result<AuditSearch, FormErrors> {
    let mut errors = FormErrors::default();
    let nhs_text = p.trimmed("nhs_number");
    let nhs_number = if nhs_text.is_empty() {
        None
    } else {
        errors.parse("nhs_number", nhs_text.parse::<NhsNumber>())
    };
    let user_text = p.trimmed("user");
    let user = if user_text.is_empty() {
        None
    } else {
        let id = user_text.parse::<i64>().ok().map(UserId::new);
        if id.is_none() {
            errors.add("user", "Select an account from the list");
        }
        id
    };
    let from = optional_date(&mut errors, p, "from", "The first day");
    let to = optional_date(&mut errors, p, "to", "The last day");
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            errors.add(
                "to-day",
                "The last day must be the same as or after the first day",
            );
        }
    }
    let upto = p.trimmed("upto").parse::<i64>().ok();
    if errors.is_empty() {
        Ok(AuditSearch {
            nhs_number,
            user,
            since: from.map(|d| start_of(state, d)),
            before: to.and_then(|d| d.succ_opt()).map(|d| start_of(state, d)),
            upto,
        })
    } else {
        Err(errors)
    }
}

/// The filter's fields as query parameters, for the page and export links.
fn audit_keep(p: &Pairs) -> Vec<(&'static str, String)> {
    AUDIT_FIELDS.iter().map(|&f| (f, p.trimmed(f))).collect()
}

/// `GET /admin/audit`: who opened or changed which record, when and why, in words, newest first, a
/// page at a time, filtered by NHS number, account and dates.
async fn audit(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    if !access::can_read_audit(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let form = Pairs(query);
    let accounts = administered_accounts(&state, &user)
        .await?
        .into_iter()
        .map(|u| (u.id.get(), u.display_name, u.username))
        .collect();
    let chrome = Chrome::signed_in("Audit log", &csrf, &user, "/admin/audit");
    let search = match audit_search(&state, &form) {
        Ok(search) => search,
        Err(errors) => {
            return invalid(&AuditPage {
                chrome,
                entries: Vec::new(),
                pager: Pagination::new(0, AUDIT_PER_PAGE, "", "/admin/audit", &[]),
                export: String::new(),
                form,
                errors,
                accounts,
            });
        }
    };
    // The first page of a search fixes the newest row it covers; the page links carry it, so
    // that rows written while the admin pages through do not shift the pages.
    let requested = form.trimmed("page").parse::<usize>().unwrap_or(1).max(1);
    let results = state
        .store
        .search_audit_for_admin(
            user.principal.user,
            &search,
            (requested - 1).saturating_mul(AUDIT_PER_PAGE),
            AUDIT_PER_PAGE,
        )
        .await?;
    let mut keep = audit_keep(&form);
    keep.push(("upto", results.upto.to_string()));
    let kept: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let pager = Pagination::new(
        results.total,
        AUDIT_PER_PAGE,
        &requested.to_string(),
        "/admin/audit",
        &kept,
    );
    let entries = if pager.page == requested {
        results.entries
    } else {
        // A page past the end shows the last page.
        state
            .store
            .search_audit_for_admin(
                user.principal.user,
                &AuditSearch {
                    upto: Some(results.upto),
                    ..search
                },
                pager.range().start,
                AUDIT_PER_PAGE,
            )
            .await?
            .entries
    };
    let export = format!(
        "/admin/audit/export.csv?{}",
        serde_urlencoded::to_string(
            kept.iter()
                .filter(|(_, v)| !v.is_empty())
                .collect::<Vec<_>>()
        )
        .unwrap_or_default()
    );
    html(&AuditPage {
        chrome,
        entries,
        form,
        errors: FormErrors::default(),
        accounts,
        pager,
        export,
    })
}

/// `GET /admin/audit/export.csv`: the rows the same filter shows, every page of them, as CSV
/// through the one CSV writer, in the page's words. The export is audited by the store.
async fn audit_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    if !access::can_read_audit(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let form = Pairs(query);
    // The page never links an export for a filter it refused, so a bad one here was typed.
    let search = audit_search(&state, &form).map_err(|_| AppError::NotFound)?;
    let entries = state
        .store
        .export_audit_for_admin(user.principal.user, &search)
        .await?;
    let mut csv = careweave_csv::Writer::with_header([
        "When (UTC)",
        "Who",
        "What",
        "Record",
        "Record number",
        "Why",
    ]);
    for e in &entries {
        csv.record([
            e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.username.clone().unwrap_or_else(|| "System".to_owned()),
            e.action_words().to_owned(),
            e.entity_words(),
            e.entity_id.map(|id| id.to_string()).unwrap_or_default(),
            e.reason_words(),
        ]);
    }
    Ok(csv_download("careweave-audit-log.csv", csv.finish()))
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
        let weak = UserForm {
            password: "password1234".into(),
            role: "worker".into(),
            ..form.clone()
        };
        assert!(validate(&weak, &orgs).unwrap_err().has("password"));
        let spaces = UserForm {
            password: " ".repeat(12),
            username: "no-at-sign".into(),
            ..weak.clone()
        };
        let errors = validate(&spaces, &orgs).unwrap_err();
        assert!(errors.has("password"));
        assert!(errors.has("username"));
        let ok = UserForm {
            password: "a long enough passphrase".into(),
            role: "worker".into(),
            ..form
        };
        assert!(validate(&ok, &orgs).is_ok());
    }
}
