//! Keeping entries right: reports of wrong details, proposed edits, reviews and the owner's queue.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_directory::Service;
use careweave_domain::access::{self, Role};
use careweave_store::directory::{
    reviews_directory_changes, DirectoryError, EntryReport, Proposal, PublishedService,
};
use serde::Deserialize;

use super::{can_use_directory, clinical_orgs, message_page, require, DecisionForm, MessagePage};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "directory/report.html")]
struct ReportPage {
    chrome: Chrome,
    id: String,
    name: String,
    reason: String,
    errors: FormErrors,
}

pub(super) async fn report_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let p = state
        .store
        .directory_service(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    html(&ReportPage {
        chrome: Chrome::signed_in(
            "Report a problem with this entry",
            &csrf,
            &user,
            "/directory",
        ),
        id,
        name: p.service.name,
        reason: String::new(),
        errors: FormErrors::default(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportForm {
    reason: String,
}

pub(super) async fn report(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<ReportForm>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let p = state
        .store
        .directory_service(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    if f.reason.trim().is_empty() {
        let mut errors = FormErrors::default();
        errors.add("reason", "Say what is wrong with the entry");
        return invalid(&ReportPage {
            chrome: Chrome::signed_in(
                "Report a problem with this entry",
                &csrf,
                &user,
                "/directory",
            ),
            id,
            name: p.service.name,
            reason: f.reason,
            errors,
        });
    }
    state
        .store
        .report_entry(user.principal.user, &id, f.reason.trim())
        .await?;
    html(&MessagePage {
        chrome: Chrome::signed_in("Problem reported", &csrf, &user, "/directory"),
        heading: "Problem reported".to_owned(),
        message: format!(
            "Thank you. {} will check the entry for {}.",
            p.owner_name, p.service.name
        ),
        back: format!("/directory/services/{id}"),
    })
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct EditForm {
    name: String,
    description: String,
    phone: String,
    email: String,
    url: String,
    minimum_age: String,
    maximum_age: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "directory/edit.html")]
struct EditPage {
    chrome: Chrome,
    id: String,
    form: EditForm,
    errors: FormErrors,
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let p = state
        .store
        .directory_service(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(
        p.provider
            .is_some_and(|o| clinical_orgs(&user.principal).contains(&o)),
    )?;
    let s = p.service;
    html(&EditPage {
        chrome: Chrome::signed_in("Propose a change", &csrf, &user, "/directory"),
        form: EditForm {
            name: s.name.clone(),
            description: s.description.clone(),
            phone: s.phone().unwrap_or_default().to_owned(),
            email: s.email.clone().unwrap_or_default(),
            url: s.url.clone().unwrap_or_default(),
            minimum_age: s.minimum_age.map(|a| a.to_string()).unwrap_or_default(),
            maximum_age: s.maximum_age.map(|a| a.to_string()).unwrap_or_default(),
            summary: String::new(),
        },
        id,
        errors: FormErrors::default(),
    })
}

/// Applies the form to the current entry, checking each field as an import would.
fn edited(current: &Service, f: &EditForm) -> Result<Service, FormErrors> {
    let mut errors = FormErrors::default();
    let mut s = current.clone();
    if f.name.trim().is_empty() {
        errors.add("name", "Enter the service's name");
    }
    s.name = f.name.trim().to_owned();
    s.description = f.description.trim().to_owned();
    let age = |field: &str, text: &str, errors: &mut FormErrors| -> Option<u8> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        match t.parse::<u8>() {
            Ok(a) if a <= 130 => Some(a),
            _ => {
                errors.add(field, "Enter an age in whole years, from 0 to 130");
                None
            }
        }
    };
    s.minimum_age = age("minimum_age", &f.minimum_age, &mut errors);
    s.maximum_age = age("maximum_age", &f.maximum_age, &mut errors);
    if let (Some(a), Some(b)) = (s.minimum_age, s.maximum_age) {
        if a > b {
            errors.add(
                "maximum_age",
                "The maximum age must be at least the minimum age",
            );
        }
    }
    let email = f.email.trim();
    if !email.is_empty() && !email.contains('@') {
        errors.add(
            "email",
            "Enter an email address in the correct format, like name@example.org",
        );
    }
    s.email = Some(email.to_owned()).filter(|e| !e.is_empty());
    let url = f.url.trim();
    if !url.is_empty() && !url.starts_with("https://") && !url.starts_with("http://") {
        errors.add("url", "Enter a web address starting https://");
    }
    s.url = Some(url.to_owned()).filter(|u| !u.is_empty());
    let phone = f.phone.trim();
    match (
        s.contacts
            .iter_mut()
            .flat_map(|c| c.phones.iter_mut())
            .next(),
        phone.is_empty(),
    ) {
        (Some(p), false) => p.number = phone.to_owned(),
        (Some(_), true) => {
            for c in &mut s.contacts {
                c.phones.clear();
            }
        }
        (None, false) => {
            let contact = s.id.child("contact-1");
            s.contacts.push(careweave_directory::model::Contact {
                phones: vec![careweave_directory::model::Phone {
                    id: contact.child("phone-1"),
                    number: phone.to_owned(),
                    description: None,
                }],
                id: contact,
                name: None,
                title: None,
            });
        }
        (None, true) => {}
    }
    if f.summary.trim().is_empty() {
        errors.add("summary", "Say briefly what changed, for the reviewer");
    }
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(errors)
    }
}

pub(super) async fn propose(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<EditForm>,
) -> Result<Response, AppError> {
    let p = state
        .store
        .directory_service(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(
        p.provider
            .is_some_and(|o| clinical_orgs(&user.principal).contains(&o)),
    )?;
    match edited(&p.service, &f) {
        Err(errors) => invalid(&EditPage {
            chrome: Chrome::signed_in("Propose a change", &csrf, &user, "/directory"),
            id,
            form: f,
            errors,
        }),
        Ok(s) => {
            state
                .store
                .propose_edit(&user.principal, &s, f.summary.trim())
                .await?;
            html(&MessagePage {
                chrome: Chrome::signed_in("Change proposed", &csrf, &user, "/directory"),
                heading: "Change proposed".to_owned(),
                message: "A supervisor will review the change before it is published. Until then the directory shows the entry as it was.".to_owned(),
                back: format!("/directory/services/{id}"),
            })
        }
    }
}

pub(super) async fn mark_reviewed(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    match state
        .store
        .mark_reviewed(&user.principal, &id, state.clock.today())
        .await
    {
        Ok(()) => Ok(Redirect::to("/directory/review").into_response()),
        Err(DirectoryError::Refused(m)) => message_page(
            &csrf,
            &user,
            "Not marked as reviewed",
            m,
            "/directory/review",
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "directory/review.html")]
struct ReviewPage {
    chrome: Chrome,
    stale: Vec<PublishedService>,
    reports: Vec<EntryReport>,
    proposals: Vec<Proposal>,
    reviewer: bool,
    stale_days: i64,
    /// The back link: (address, words).
    back: (&'static str, &'static str),
}

pub(super) async fn review_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    // Administrators import the directory's data, so they keep it true and review changes too.
    let admin = user.principal.has_role(Role::Admin);
    require(access::has_caseload(&user.principal) || admin)?;
    let settings = state.store.directory_settings().await?;
    let reviewer = reviews_directory_changes(&user.principal);
    // An administrator reaches the page from the directory's data, not from the search they
    // cannot use.
    let (section, back) = if can_use_directory(&user.principal) {
        ("/directory", ("/directory", "Back to the directory"))
    } else {
        (
            "/directory/import",
            ("/directory/import", "Back to directory data"),
        )
    };
    html(&ReviewPage {
        chrome: Chrome::signed_in("Keeping the directory true", &csrf, &user, section),
        back,
        stale: state
            .store
            .stale_entries(&user.principal, state.clock.today())
            .await?,
        reports: state.store.open_reports(&user.principal).await?,
        proposals: if reviewer {
            state.store.pending_proposals().await?
        } else {
            Vec::new()
        },
        reviewer,
        stale_days: settings.stale_after_days,
    })
}

pub(super) async fn resolve_report(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    match state.store.resolve_report(&user.principal, id).await {
        Ok(()) => Ok(Redirect::to("/directory/review").into_response()),
        Err(DirectoryError::Refused(m)) => {
            message_page(&csrf, &user, "Report not closed", m, "/directory/review")
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn decide(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let approve = f.decision == "approve";
    match state
        .store
        .decide_proposal(&user.principal, id, approve, state.clock.today())
        .await
    {
        Ok(()) => Ok(Redirect::to("/directory/review").into_response()),
        Err(DirectoryError::Refused(m)) => message_page(
            &csrf,
            &user,
            "Proposal not reviewed",
            m,
            "/directory/review",
        ),
        Err(e) => Err(e.into()),
    }
}
