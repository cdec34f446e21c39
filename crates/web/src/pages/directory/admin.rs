//! Administrators: importing directory data and the directory's settings.
//!
//! An import is two steps: the admin uploads a file (or pastes its text) and sees what it would
//! add, change and refuse; only their confirmation publishes it (`store::directory`'s pending
//! imports keep the previewed file until then).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_directory::Format;
use careweave_domain::access::Role;
use careweave_store::directory::{DirectorySettings, ImportPreview, PreviewedService};
use serde::Deserialize;

use super::require;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

/// The import form as sent. A chosen file is not kept when the form comes back with an error (a
/// browser cannot be given a file back); pasted text is.
#[derive(Debug, Default, Clone)]
pub struct ImportForm {
    format: String,
    owner: String,
    content: String,
}

/// What the confirmed import did, for the page.
pub struct ImportSummary {
    read: usize,
    added: usize,
    updated: usize,
    rejected: usize,
    diagnostics: Vec<String>,
}

/// How many services of each kind a preview lists by name; the counts cover them all.
const PREVIEW_NAMES: usize = 50;

/// What an import would do, for the page: the counts, and the first services and problems.
pub struct PreviewView {
    id: i64,
    file_name: String,
    owner_name: String,
    read: usize,
    added: usize,
    changed: usize,
    refused: usize,
    added_names: Vec<PreviewedService>,
    changed_names: Vec<PreviewedService>,
    refused_reasons: Vec<String>,
    /// Whether there were more problems than are listed.
    more_problems: bool,
}

impl PreviewView {
    fn of(p: ImportPreview, owner_name: String) -> Self {
        let first = |list: &[PreviewedService]| list.iter().take(PREVIEW_NAMES).cloned().collect();
        Self {
            id: p.id,
            file_name: p.file_name,
            owner_name,
            read: p.read,
            added: p.added.len(),
            changed: p.changed.len(),
            refused: p.rejected,
            added_names: first(&p.added),
            changed_names: first(&p.changed),
            more_problems: p.refused.len() > PREVIEW_NAMES,
            refused_reasons: p.refused.into_iter().take(PREVIEW_NAMES).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "directory/import.html")]
struct ImportPage {
    chrome: Chrome,
    form: ImportForm,
    errors: FormErrors,
    organisations: Vec<(i64, String)>,
    summary: Option<ImportSummary>,
    preview: Option<PreviewView>,
    settings: DirectorySettings,
    services: usize,
}

/// What the import page shows besides the form.
#[derive(Default)]
struct ImportOutcomeView {
    summary: Option<ImportSummary>,
    preview: Option<PreviewView>,
}

async fn import_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    form: ImportForm,
    errors: FormErrors,
    shown: ImportOutcomeView,
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
        summary: shown.summary,
        preview: shown.preview,
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

fn blank_form() -> ImportForm {
    ImportForm {
        format: "csv".into(),
        ..ImportForm::default()
    }
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
            blank_form(),
            FormErrors::default(),
            ImportOutcomeView::default(),
        )
        .await?,
    )
}

/// The file's name as the page and the audit log show it: its last path part (some browsers send a
/// whole path), without control characters, and not too long to read.
fn shown_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(100).collect();
    if clean.trim().is_empty() {
        "the uploaded file".to_owned()
    } else {
        clean
    }
}

/// Reads the import form from either encoding: a form with a file (`multipart/form-data`, what
/// the page sends) or a plain form with the file's text pasted in. Returns the form, the text to
/// import and the name to call it by, with any problem reading the file as a form error.
fn read_import_form(
    headers: &HeaderMap,
    body: &[u8],
    errors: &mut FormErrors,
) -> (ImportForm, String, String) {
    let pasted = "the pasted text".to_owned();
    if !crate::multipart::is_multipart(headers) {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let form = ImportForm {
            format: field("format"),
            owner: field("owner"),
            content: field("content"),
        };
        let text = form.content.clone();
        return (form, text, pasted);
    }
    let Some(parts) = crate::multipart::parse(headers, body) else {
        errors.add(
            "file",
            "The file could not be read. Choose it again and preview it",
        );
        return (blank_form(), String::new(), pasted);
    };
    let field = |name: &str| {
        crate::multipart::text(&parts, name)
            .unwrap_or_default()
            .to_owned()
    };
    let form = ImportForm {
        format: field("format"),
        owner: field("owner"),
        content: field("content"),
    };
    let file = parts
        .iter()
        .find(|p| p.name == "file" && !p.data.is_empty());
    match file {
        Some(file) => match std::str::from_utf8(&file.data) {
            // A spreadsheet saved as "CSV UTF-8" starts with a byte order mark, which is not data.
            Ok(text) => (
                form,
                text.trim_start_matches('\u{feff}').to_owned(),
                shown_file_name(file.file_name.as_deref().unwrap_or_default()),
            ),
            Err(_) => {
                errors.add(
                    "file",
                    "The file must be a CSV or ORUK JSON file saved as text (UTF-8). Save a spreadsheet as \"CSV UTF-8\" first",
                );
                (form, String::new(), pasted)
            }
        },
        None => {
            let text = form.content.clone();
            (form, text, pasted)
        }
    }
}

/// `POST /directory/import`: reads the file and shows what importing it would add, change and
/// refuse. Nothing is published until the admin confirms.
pub(super) async fn import(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    require(user.principal.has_role(Role::Admin))?;
    let mut errors = FormErrors::default();
    let (f, text, file_name) = read_import_form(&headers, &body, &mut errors);
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
        .and_then(|id| orgs.iter().find(|o| o.id.get() == id));
    if owner.is_none() {
        errors.add("owner", "Select the organisation that keeps these entries");
    }
    if text.trim().is_empty() && !errors.has("file") {
        errors.add("file", "Choose a file to upload, or paste its contents");
    }
    let (Some(format), Some(owner), true) = (format, owner, errors.is_empty()) else {
        let page = import_page(
            &state,
            &csrf,
            &user,
            f,
            errors,
            ImportOutcomeView::default(),
        );
        return invalid(&page.await?);
    };
    let preview = state
        .store
        .preview_directory_import(user.principal.user, owner.id, format, &file_name, &text)
        .await?;
    let shown = ImportOutcomeView {
        preview: Some(PreviewView::of(preview, owner.name.clone())),
        summary: None,
    };
    // The file waits in the store now; the page need not carry it back.
    let form = ImportForm {
        content: String::new(),
        ..f
    };
    html(&import_page(&state, &csrf, &user, form, FormErrors::default(), shown).await?)
}

/// `POST /directory/import/{id}`: publishes the previewed file. A preview that is no longer
/// waiting (confirmed already, or replaced by a newer one) is said so, and nothing is published.
pub(super) async fn confirm_import(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require(user.principal.has_role(Role::Admin))?;
    let owners: Vec<_> = importing_organisations(&state, &user)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    let Some((report, outcome)) = state
        .store
        .commit_directory_import(user.principal.user, id, &owners)
        .await?
    else {
        let mut errors = FormErrors::default();
        errors.add(
            "file",
            "This import is no longer waiting: it was imported already or replaced by a newer preview. Upload the file again to preview it",
        );
        let page = import_page(
            &state,
            &csrf,
            &user,
            blank_form(),
            errors,
            ImportOutcomeView::default(),
        );
        return invalid(&page.await?);
    };
    let shown = ImportOutcomeView {
        summary: Some(ImportSummary {
            read: report.read,
            added: outcome.added,
            updated: outcome.updated,
            rejected: report.rejected,
            diagnostics: report.diagnostics.iter().map(ToString::to_string).collect(),
        }),
        preview: None,
    };
    html(
        &import_page(
            &state,
            &csrf,
            &user,
            blank_form(),
            FormErrors::default(),
            shown,
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
                blank_form(),
                errors,
                ImportOutcomeView::default(),
            )
            .await?,
        ),
    }
}
