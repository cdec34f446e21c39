//! Safeguarding concerns: the "Raise a safeguarding concern" form on the case page, and a page per
//! concern with its actions, the referral to the local authority and closing.
//!
//! The store decides who may raise and who may see a concern (see `domain::safeguarding`) and
//! audits every read, write and refusal; this module parses forms with the casework parsers (so
//! dates and choices read the same everywhere) and renders. A refusal is the usual 403 page, which
//! says nothing about whether the concern exists.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use careweave_domain::casework::CaseId;
use careweave_domain::safeguarding::{ConcernCategory, ConcernId, RiskLevel};
use careweave_store::change::ActionError;
use careweave_store::safeguarding::{
    ConcernSummary, ConcernView, LaReferral, NewConcern, NewConcernAction,
};
use chrono::NaiveDate;

use super::casework::case_page;
use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{body_pairs, choice, date_from, errors_json, required, FormErrors, Pairs};
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases/{id}/safeguarding", post(raise))
        .route("/safeguarding/{id}", get(show))
        .route("/safeguarding/{id}/{action}", post(act))
        .route(
            "/api/v1/cases/{id}/safeguarding",
            get(api_list).post(api_raise),
        )
        .route("/api/v1/safeguarding/{id}", get(api_show))
        .route("/api/v1/safeguarding/{id}/{action}", post(api_act))
}

/// Reads the case page's "Raise a safeguarding concern" form.
fn parse_concern(p: &Pairs, today: NaiveDate) -> Result<NewConcern, FormErrors> {
    let mut errors = FormErrors::default();
    let category = choice(
        &mut errors,
        p,
        "sg_category",
        ConcernCategory::from_code,
        "Select the kind of harm you are worried about",
    );
    let risk = choice(
        &mut errors,
        p,
        "sg_risk",
        RiskLevel::from_code,
        "Select how serious the risk is",
    );
    let noticed_on = date_from(
        &mut errors,
        p,
        "sg_noticed",
        "The date you saw or heard it",
        Some(today),
    );
    let description = required(
        &mut errors,
        p,
        "sg_description",
        "Describe what you saw or heard",
    );
    match (category, risk, noticed_on) {
        (Some(category), Some(risk), Some(noticed_on)) if errors.is_empty() => Ok(NewConcern {
            category,
            risk,
            noticed_on,
            description,
        }),
        _ => Err(errors),
    }
}

/// `POST /cases/{id}/safeguarding`: raises a concern, or shows the case page again with the errors
/// and what was typed.
async fn raise(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let case = CaseId::new(id);
    let form = Pairs(pairs);
    match parse_concern(&form, state.clock.today()) {
        Ok(new) => {
            let access = state.store.open_case(&user.principal, case, false).await?;
            let concern = state.store.raise_concern(&access, &new).await?;
            Ok(Redirect::to(&format!("/safeguarding/{concern}")).into_response())
        }
        Err(errors) => invalid(&case_page(&state, &csrf, &user, case, form, errors, false).await?),
    }
}

#[derive(Template)]
#[template(path = "safeguarding/concern.html")]
struct ConcernPage {
    chrome: Chrome,
    k: ConcernView,
    form: Pairs,
    errors: FormErrors,
    today: NaiveDate,
}

async fn concern_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: ConcernId,
    form: Pairs,
    errors: FormErrors,
) -> Result<ConcernPage, AppError> {
    let k = state.store.concern_for(&user.principal, id).await?;
    Ok(ConcernPage {
        chrome: Chrome::signed_in(
            &format!("Safeguarding concern – {}", k.person_name),
            csrf,
            user,
            "/casework",
        ),
        k,
        form,
        errors,
        today: state.clock.today(),
    })
}

/// `GET /safeguarding/{id}`: one concern, for the people allowed to see it.
async fn show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let page = concern_page(
        &state,
        &csrf,
        &user,
        ConcernId::new(id),
        Pairs::default(),
        FormErrors::default(),
    )
    .await?;
    html(&page)
}

/// One change to a concern, parsed from its form.
enum ConcernChange {
    AddAction(NewConcernAction),
    Done(i64),
    Referral(LaReferral),
    Close(String),
}

/// Parses the form of `action`; `Ok(None)` for an action that does not exist. The error field of
/// each form is also where a refusal from the store is shown.
fn parse_change(
    action: &str,
    p: &Pairs,
    today: NaiveDate,
) -> Result<Option<(ConcernChange, &'static str)>, FormErrors> {
    let mut errors = FormErrors::default();
    let change = match action {
        "actions" => {
            let text = required(&mut errors, p, "sg_action_text", "Describe the action");
            let owner = required(&mut errors, p, "sg_action_owner", "Enter who will do it");
            let due = date_from(&mut errors, p, "sg_action_due", "The due date", None);
            due.map(|due_on| {
                (
                    ConcernChange::AddAction(NewConcernAction {
                        text,
                        owner,
                        due_on,
                    }),
                    "sg_action_text",
                )
            })
        }
        "done" => match p.get("action_id").trim().parse::<i64>() {
            Ok(a) => Some((ConcernChange::Done(a), "actions")),
            Err(_) => return Ok(None),
        },
        "la-referral" => {
            let on = date_from(
                &mut errors,
                p,
                "sg_la_on",
                "The date of the referral",
                Some(today),
            );
            let reference = required(
                &mut errors,
                p,
                "sg_la_reference",
                "Enter the reference the local authority gave",
            );
            on.map(|referred_on| {
                (
                    ConcernChange::Referral(LaReferral {
                        referred_on,
                        reference,
                    }),
                    "sg_la_on-day",
                )
            })
        }
        "close" => {
            let reason = required(
                &mut errors,
                p,
                "sg_close_reason",
                "Say why the concern can close",
            );
            Some((ConcernChange::Close(reason), "sg_close_reason"))
        }
        _ => return Ok(None),
    };
    if errors.is_empty() {
        Ok(change)
    } else {
        Err(errors)
    }
}

/// `POST /safeguarding/{id}/{action}`: adds an action, marks one done, records the referral to
/// the local authority or closes the concern.
async fn act(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = ConcernId::new(id);
    let form = Pairs(pairs);
    match run_change(&state, &user, id, &action, &form).await? {
        Ok(()) => Ok(Redirect::to(&format!("/safeguarding/{id}")).into_response()),
        Err(errors) => invalid(&concern_page(&state, &csrf, &user, id, form, errors).await?),
    }
}

/// Parses and applies one change to a concern; the form's errors (or the store's refusal, shown
/// at the form's field) come back as `Err`.
async fn run_change(
    state: &AppState,
    user: &CurrentUser,
    id: ConcernId,
    action: &str,
    form: &Pairs,
) -> Result<Result<(), FormErrors>, AppError> {
    let who = &user.principal;
    let s = &state.store;
    let (change, field) = match parse_change(action, form, state.clock.today()) {
        Ok(None) => return Err(AppError::NotFound),
        Err(errors) => return Ok(Err(errors)),
        Ok(Some(c)) => c,
    };
    let result = match change {
        ConcernChange::AddAction(a) => s.add_concern_action(who, id, &a).await,
        ConcernChange::Done(a) => {
            s.complete_concern_action(who, id, a, state.clock.today())
                .await
        }
        ConcernChange::Referral(r) => s.record_la_referral(who, id, &r).await,
        ConcernChange::Close(reason) => {
            s.close_concern(who, id, &reason, state.clock.today()).await
        }
    };
    match result {
        Ok(()) => Ok(Ok(())),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut errors = FormErrors::default();
            errors.add(field, m);
            Ok(Err(errors))
        }
        Err(e) => Err(e.into()),
    }
}

// ----- JSON API -------------------------------------------------------------------------------------

fn summary_json(k: &ConcernSummary) -> serde_json::Value {
    serde_json::json!({
        "id": k.id.get(),
        "category": k.category.code(),
        "risk": k.risk.code(),
        "status": k.status.code(),
        "noticed_on": k.noticed_on.to_string(),
        "raised_by": k.raised_by,
        "href": format!("/api/v1/safeguarding/{}", k.id),
    })
}

/// `GET /api/v1/cases/{id}/safeguarding`: the concerns on a case that the caller may see (others
/// are left out without a trace); audited as a list when there are any. Someone who may not open
/// the case is refused (403) and the refusal audited.
async fn api_list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let concerns = state
        .store
        .concerns_on_case_checked(&user.principal, CaseId::new(id))
        .await?;
    Ok(Json(serde_json::json!({
        "concerns": concerns.iter().map(summary_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/cases/{id}/safeguarding`: raises a concern from the case's form fields.
async fn api_raise(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match parse_concern(&p, state.clock.today()) {
        Ok(new) => {
            let access = state
                .store
                .open_case(&user.principal, CaseId::new(id), false)
                .await?;
            let concern = state.store.raise_concern(&access, &new).await?;
            Ok((
                StatusCode::CREATED,
                Json(serde_json::json!({ "id": concern.get(), "href": format!("/api/v1/safeguarding/{concern}") })),
            )
                .into_response())
        }
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `GET /api/v1/safeguarding/{id}`: one concern, for the people allowed to see it (403 for
/// everyone else, whether or not it exists); audited as a read.
async fn api_show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let k = state
        .store
        .concern_for(&user.principal, ConcernId::new(id))
        .await?;
    Ok(Json(serde_json::json!({
        "id": k.id.get(),
        "case_id": k.case.get(),
        "category": k.category.code(),
        "risk": k.risk.code(),
        "status": k.status.code(),
        "noticed_on": k.noticed_on.to_string(),
        "description": k.description,
        "raised_by": k.raised_by,
        "local_authority_referral": k.la_referral.as_ref().map(|r| serde_json::json!({
            "referred_on": r.referred_on.to_string(), "reference": r.reference, "by": r.by,
        })),
        "closed_on": k.closed_on.map(|d| d.to_string()),
        "close_reason": k.close_reason,
        "actions": k.actions.iter().map(|a| serde_json::json!({
            "id": a.id, "text": a.text, "owner": a.owner, "due_on": a.due_on.to_string(),
            "done_on": a.done_on.map(|d| d.to_string()),
        })).collect::<Vec<_>>(),
        "grant": k.grant.code(),
    }))
    .into_response())
}

/// `POST /api/v1/safeguarding/{id}/{action}`: actions, done (`action_id`), la-referral, close.
async fn api_act(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_change(&state, &user, ConcernId::new(id), &action, &p).await? {
        Ok(()) => Ok(Json(serde_json::json!({ "ok": true })).into_response()),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}
