//! One service's page, and what a worker does from it: signpost a person or refer them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_directory::Service;
use careweave_domain::PersonId;
use careweave_store::directory::{DirectoryError, Signpost};
use serde::Deserialize;

use super::{can_use_directory, clinical_orgs, message_page, require};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PersonParam {
    person: String,
}

#[derive(Template)]
#[template(path = "directory/service.html")]
struct ServicePage {
    chrome: Chrome,
    s: Service,
    owner_name: String,
    needs: String,
    stale: bool,
    can_refer: bool,
    can_propose: bool,
    can_mark_reviewed: bool,
    person: Option<(i64, String)>,
    languages: String,
}

pub(super) async fn service_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<PersonParam>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let published = state
        .store
        .directory_service(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    let person = match q.person.trim().parse::<i64>() {
        Ok(pid) => {
            let record = state
                .store
                .read_person(&user.principal, PersonId::new(pid))
                .await?;
            Some((pid, record.person.display_name()))
        }
        Err(_) => None,
    };
    let settings = state.store.directory_settings().await?;
    let today = state.clock.today();
    let orgs = clinical_orgs(&user.principal);
    let s = published.service;
    html(&ServicePage {
        chrome: Chrome::signed_in(&s.name, &csrf, &user, "/directory"),
        owner_name: published.owner_name,
        needs: s
            .needs
            .iter()
            .map(|n| n.name())
            .collect::<Vec<_>>()
            .join(", "),
        stale: s.is_stale(today, settings.stale_after_days),
        can_refer: s.accepts_referrals && published.provider.is_some(),
        can_propose: published.provider.is_some_and(|p| orgs.contains(&p)),
        can_mark_reviewed: orgs.contains(&published.owner),
        languages: s
            .languages
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        person,
        s,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActForm {
    person: String,
    note: String,
}

pub(super) async fn signpost(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let person = PersonId::new(f.person.trim().parse().map_err(|_| AppError::NotFound)?);
    // The signpost takes the proof that its author may read the person, not the id the form sent.
    let access = state
        .store
        .person_for(&user.principal, person, "directory: ")
        .await?;
    let sid = state.store.signpost(&access, &id, f.note.trim()).await?;
    Ok(Redirect::to(&format!("/directory/signposts/{sid}")).into_response())
}

pub(super) async fn refer(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let pid: i64 = f.person.trim().parse().map_err(|_| AppError::NotFound)?;
    // A referral is made from a record its author may read: the store checks and audits that,
    // and the referral takes the proof rather than the id the form sent.
    let access = state
        .store
        .open_person(&user.principal, PersonId::new(pid))
        .await?;
    match state
        .store
        .refer(&user.principal, &access, &id, f.note.trim())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/people/{pid}/directory")).into_response()),
        Err(DirectoryError::Refused(message)) => message_page(
            &csrf,
            &user,
            "Referral not sent",
            message,
            &format!("/directory/services/{id}?person={pid}"),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "directory/signpost.html")]
struct SignpostPage {
    chrome: Chrome,
    signpost: Signpost,
    s: Option<Service>,
}

pub(super) async fn signpost_summary(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let signpost = state.store.signpost_for(&user.principal, id).await?;
    let s = state
        .store
        .directory_service(&signpost.service_id)
        .await?
        .map(|p| p.service);
    html(&SignpostPage {
        chrome: Chrome::signed_in("Details given", &csrf, &user, "/directory"),
        signpost,
        s,
    })
}
