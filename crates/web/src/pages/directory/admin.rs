//! Administrators: importing directory data and the directory's settings.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_directory::Format;
use careweave_domain::access::Role;
use careweave_domain::OrganisationId;
use careweave_store::directory::DirectorySettings;
use serde::Deserialize;

use super::require;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ImportForm {
    format: String,
    owner: String,
    content: String,
}

/// What the last import did, for the page.
pub struct ImportSummary {
    read: usize,
    added: usize,
    updated: usize,
    rejected: usize,
    diagnostics: Vec<String>,
}

#[derive(Template)]
#[template(path = "directory/import.html")]
struct ImportPage {
    chrome: Chrome,
    form: ImportForm,
    errors: FormErrors,
    organisations: Vec<(i64, String)>,
    summary: Option<ImportSummary>,
    settings: DirectorySettings,
    services: usize,
}

async fn import_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    form: ImportForm,
    errors: FormErrors,
    summary: Option<ImportSummary>,
) -> Result<ImportPage, AppError> {
    Ok(ImportPage {
        chrome: Chrome::signed_in("Directory data", csrf, user, "/directory/import"),
        form,
        errors,
        organisations: importing_organisations(state, user)
            .await?
            .into_iter()
            .map(|o| (o.id.get(), o.name))
            .collect(),
        summary,
        settings: state.store.directory_settings().await?,
        services: state.store.directory_services().await?.len(),
    })
}

/// The organisations an admin may import for: only those they administer, so that the owner a
/// form sends can never be another organisation's.
async fn importing_organisations(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<careweave_domain::Organisation>, AppError> {
    Ok(state
        .store
        .organisations()
        .await?
        .into_iter()
        .filter(|o| user.principal.has_role_in(Role::Admin, o.id))
        .collect())
}

pub(super) async fn import_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require(user.principal.has_role(Role::Admin))?;
    html(
        &import_page(
            &state,
            &csrf,
            &user,
            ImportForm {
                format: "csv".into(),
                ..ImportForm::default()
            },
            FormErrors::default(),
            None,
        )
        .await?,
    )
}

pub(super) async fn import(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(f): Form<ImportForm>,
) -> Result<Response, AppError> {
    require(user.principal.has_role(Role::Admin))?;
    let mut errors = FormErrors::default();
    let format = match f.format.as_str() {
        "json" => Some(Format::Json),
        "csv" => Some(Format::Csv),
        _ => {
            errors.add("format", "Select the file's format");
            None
        }
    };
    let orgs = importing_organisations(&state, &user).await?;
    let owner = f
        .owner
        .parse::<i64>()
        .ok()
        .filter(|id| orgs.iter().any(|o| o.id.get() == *id));
    if owner.is_none() {
        errors.add("owner", "Select the organisation that keeps these entries");
    }
    if f.content.trim().is_empty() {
        errors.add("content", "Paste the contents of the file");
    }
    let (Some(format), Some(owner), true) = (format, owner, errors.is_empty()) else {
        return invalid(&import_page(&state, &csrf, &user, f, errors, None).await?);
    };
    let (report, outcome) = state
        .store
        .import_directory_file(
            Some(user.principal.user),
            OrganisationId::new(owner),
            format,
            &f.content,
            "the import page",
        )
        .await?;
    let summary = ImportSummary {
        read: report.read,
        added: outcome.added,
        updated: outcome.updated,
        rejected: report.rejected,
        diagnostics: report.diagnostics.iter().map(ToString::to_string).collect(),
    };
    let form = ImportForm {
        content: String::new(),
        ..f
    };
    html(
        &import_page(
            &state,
            &csrf,
            &user,
            form,
            FormErrors::default(),
            Some(summary),
        )
        .await?,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    referral_flag_days: String,
    stale_after_days: String,
}

pub(super) async fn settings(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(f): Form<SettingsForm>,
) -> Result<Response, AppError> {
    require(user.principal.has_role(Role::Admin))?;
    let mut errors = FormErrors::default();
    let days = |field: &str, text: &str, max: i64, errors: &mut FormErrors| match text
        .trim()
        .parse::<i64>()
    {
        Ok(n) if (1..=max).contains(&n) => Some(n),
        _ => {
            errors.add(
                field,
                format!("Enter a whole number of days from 1 to {max}"),
            );
            None
        }
    };
    let flag = days(
        "referral_flag_days",
        &f.referral_flag_days,
        365,
        &mut errors,
    );
    let stale = days("stale_after_days", &f.stale_after_days, 3650, &mut errors);
    match (flag, stale) {
        (Some(referral_flag_days), Some(stale_after_days)) => {
            state
                .store
                .set_directory_settings(
                    user.principal.user,
                    DirectorySettings {
                        referral_flag_days,
                        stale_after_days,
                    },
                )
                .await?;
            Ok(Redirect::to("/directory/import").into_response())
        }
        _ => invalid(
            &import_page(
                &state,
                &csrf,
                &user,
                ImportForm {
                    format: "csv".into(),
                    ..ImportForm::default()
                },
                errors,
                None,
            )
            .await?,
        ),
    }
}
