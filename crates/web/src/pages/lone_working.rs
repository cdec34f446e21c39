//! Lone working: checking in and out of visits (from "my day"), the supervisors' board with the
//! overdue alert and "confirm safe", and each employer's visit rules. Planning a visit and raising
//! a safety flag are case actions (see `pages::casework`), so they share the case page's form
//! handling and JSON API.
//!
//! Times are wall-clock times in the deployment's time zone (the `timezone` setting, read through
//! `AppState::clock`), so that "back by 15:30" means what the worker meant.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use careweave_domain::lone_working::{
    can_manage_visit_rules, watched_organisations, PolicyRule, PolicyRuleKind,
};
use careweave_domain::OrganisationId;
use careweave_store::change::ActionError;
use careweave_store::lone_working::{LoneWorkingBoard, PlannedVisit, VisitRule, VisitStep};
use chrono::NaiveDateTime;

use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{body_pairs, choice, errors_json, required, time_from, FormErrors, Pairs};
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/lone-working", get(board))
        .route("/visits/{id}/{step}", post(step))
        .route("/visit-rules", get(rules).post(add_rule))
        .route("/visit-rules/{id}/end", post(end_rule))
        .route("/api/v1/lone-working", get(api_board))
        .route("/api/v1/visits/{id}/{step}", post(api_step))
        .route("/api/v1/visit-rules", get(api_rules).post(api_add_rule))
        .route("/api/v1/visit-rules/{id}/end", post(api_end_rule))
}

/// A visit as the JSON API shows it.
pub(super) fn visit_json(v: &PlannedVisit, now: NaiveDateTime) -> serde_json::Value {
    serde_json::json!({
        "id": v.id,
        "case_id": v.case.get(),
        "name": v.name,
        "worker": v.worker,
        "companion": v.companion,
        "on": v.on.to_string(),
        "type": v.contact_type.code(),
        "starts_at": v.starts_at.map(|t| t.format("%H:%M").to_string()),
        "back_by": v.back_by.map(|t| t.format("%H:%M").to_string()),
        "place": v.place,
        "status": v.status.code(),
        "overdue": v.is_overdue(&now),
        "note": v.note,
        "closed_note": v.closed_note,
    })
}

#[derive(Template)]
#[template(path = "lone_working/board.html")]
struct BoardPage {
    chrome: Chrome,
    board: LoneWorkingBoard,
    now: NaiveDateTime,
    form: Pairs,
    errors: FormErrors,
    /// The visit whose "confirm safe" form failed, so its errors show beside it.
    failed: i64,
}

async fn board_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    form: Pairs,
    errors: FormErrors,
    failed: i64,
) -> Result<BoardPage, AppError> {
    let now = state.clock.local_now();
    Ok(BoardPage {
        chrome: Chrome::signed_in("Lone working", csrf, user, "/casework"),
        board: state.store.lone_working_board(&user.principal, now).await?,
        now,
        form,
        errors,
        failed,
    })
}

/// `GET /lone-working`: the supervisors' board.
async fn board(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    html(
        &board_page(
            &state,
            &csrf,
            &user,
            Pairs::default(),
            FormErrors::default(),
            0,
        )
        .await?,
    )
}

/// Runs a step of a visit: the worker's check-in or check-out, or a supervisor's "confirm safe".
async fn run_step(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    step: &str,
    p: &Pairs,
) -> Result<Result<(), FormErrors>, AppError> {
    let now = state.clock.local_now();
    let s = &state.store;
    let result = match step {
        "check-in" => {
            s.visit_step(&user.principal, id, VisitStep::CheckIn, now)
                .await
        }
        "check-out" => {
            s.visit_step(&user.principal, id, VisitStep::CheckOut, now)
                .await
        }
        "confirm-safe" => {
            s.confirm_safe(&user.principal, id, &p.trimmed("safe_note"), now)
                .await
        }
        _ => return Err(AppError::NotFound),
    };
    match result {
        Ok(()) => Ok(Ok(())),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut errors = FormErrors::default();
            errors.add(
                if step == "confirm-safe" {
                    "safe_note"
                } else {
                    "visit"
                },
                m,
            );
            Ok(Err(errors))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /visits/{id}/{step}`: back to "my day" (or the board, for a supervisor), or the board
/// again with the error and what was typed.
async fn step(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, step)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    match run_step(&state, &user, id, &step, &form).await? {
        Ok(()) if step == "confirm-safe" => Ok(Redirect::to("/lone-working").into_response()),
        Ok(()) => Ok(Redirect::to("/my-day").into_response()),
        Err(errors) if step == "confirm-safe" => {
            invalid(&board_page(&state, &csrf, &user, form, errors, id).await?)
        }
        // A worker's check-in or check-out refused only because the visit already moved on:
        // "my day" shows where it stands.
        Err(_) => Ok(Redirect::to("/my-day").into_response()),
    }
}

#[derive(Template)]
#[template(path = "lone_working/rules.html")]
struct RulesPage {
    chrome: Chrome,
    rules: Vec<VisitRule>,
    /// The employers whose rules the viewer may change, with their names.
    employers: Vec<(OrganisationId, String)>,
    kinds: &'static [PolicyRuleKind],
    form: Pairs,
    errors: FormErrors,
}

async fn rules_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    form: Pairs,
    errors: FormErrors,
) -> Result<RulesPage, AppError> {
    let employers = state
        .store
        .organisations()
        .await?
        .into_iter()
        .filter(|o| can_manage_visit_rules(&user.principal, o.id))
        .map(|o| (o.id, o.name))
        .collect();
    Ok(RulesPage {
        chrome: Chrome::signed_in("Visit rules", csrf, user, "/casework"),
        rules: state.store.visit_rules().await?,
        employers,
        kinds: PolicyRuleKind::ALL,
        form,
        errors,
    })
}

/// Who may read the rules: everyone who works with people or manages an employer, since the rules
/// bind them; they are policy, not personal data.
fn may_read_rules(user: &CurrentUser) -> bool {
    careweave_domain::access::has_caseload(&user.principal)
        || user
            .principal
            .has_role(careweave_domain::access::Role::Admin)
}

/// `GET /visit-rules`: every employer's rules, and a form for the employers the viewer manages.
async fn rules(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if !may_read_rules(&user) {
        return Err(AppError::Forbidden);
    }
    html(
        &rules_page(
            &state,
            &csrf,
            &user,
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

/// Reads the "Add a rule" form.
fn parse_rule(p: &Pairs) -> Result<(OrganisationId, PolicyRule), FormErrors> {
    let mut e = FormErrors::default();
    let employer = p.get("employer").trim().parse::<i64>().ok();
    if employer.is_none() {
        e.add("employer", "Select the employer the rule belongs to");
    }
    let name = required(
        &mut e,
        p,
        "rule_name",
        "Enter the name staff know the rule by",
    );
    let kind = choice(
        &mut e,
        p,
        "rule_kind",
        PolicyRuleKind::from_code,
        "Select what the rule requires",
    );
    let after = if kind == Some(PolicyRuleKind::NoLoneVisitsAfter) {
        time_from(
            &mut e,
            p,
            "rule_after",
            "the time by which lone visits must end",
        )
    } else {
        None
    };
    match (employer, kind) {
        (Some(employer), Some(kind)) if e.is_empty() => Ok((
            OrganisationId::new(employer),
            PolicyRule { name, kind, after },
        )),
        _ => Err(e),
    }
}

async fn run_add_rule(
    state: &AppState,
    user: &CurrentUser,
    p: &Pairs,
) -> Result<Result<i64, FormErrors>, AppError> {
    let (employer, rule) = match parse_rule(p) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    match state
        .store
        .add_visit_rule(&user.principal, employer, &rule, state.clock.today())
        .await
    {
        Ok(id) => Ok(Ok(id)),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut e = FormErrors::default();
            e.add("rule_name", m);
            Ok(Err(e))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /visit-rules`: adds a rule, or shows the page again with the errors and what was typed.
async fn add_rule(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    match run_add_rule(&state, &user, &form).await? {
        Ok(_) => Ok(Redirect::to("/visit-rules").into_response()),
        Err(errors) => invalid(&rules_page(&state, &csrf, &user, form, errors).await?),
    }
}

/// `POST /visit-rules/{id}/end`: ends a rule.
async fn end_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    state
        .store
        .end_visit_rule(&user.principal, id, state.clock.today())
        .await?;
    Ok(Redirect::to("/visit-rules").into_response())
}

/// `GET /api/v1/lone-working`: the board as JSON, for a supervisor or an alerting system acting
/// for one (for example one that sends a text message when a visit becomes overdue).
async fn api_board(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let now = state.clock.local_now();
    let b = state.store.lone_working_board(&user.principal, now).await?;
    Ok(Json(serde_json::json!({
        "now": now.format("%Y-%m-%dT%H:%M").to_string(),
        "overdue": b.overdue.iter().map(|v| visit_json(v, now)).collect::<Vec<_>>(),
        "today": b.today.iter().map(|v| visit_json(v, now)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/visits/{id}/{step}`: check-in, check-out or confirm-safe (with `safe_note`).
async fn api_step(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, step)): Path<(i64, String)>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_step(&state, &user, id, &step, &p).await? {
        Ok(()) => Ok(Json(serde_json::json!({ "ok": true })).into_response()),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `GET /api/v1/visit-rules`: every employer's rules in force.
async fn api_rules(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    if !may_read_rules(&user) {
        return Err(AppError::Forbidden);
    }
    let rules = state.store.visit_rules().await?;
    Ok(Json(serde_json::json!({
        "rules": rules.iter().map(|r| serde_json::json!({
            "id": r.id,
            "organisation_id": r.organisation.get(),
            "organisation": r.organisation_name,
            "name": r.rule.name,
            "kind": r.rule.kind.code(),
            "after": r.rule.after.map(|t| t.format("%H:%M").to_string()),
            "added_on": r.added_on.to_string(),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/visit-rules`: adds a rule (`employer`, `rule_name`, `rule_kind`, `rule_after`).
async fn api_add_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_add_rule(&state, &user, &p).await? {
        Ok(id) => Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response()),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `POST /api/v1/visit-rules/{id}/end`: ends a rule.
async fn api_end_rule(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    state
        .store
        .end_visit_rule(&user.principal, id, state.clock.today())
        .await?;
    Ok(Json(serde_json::json!({ "ok": true })).into_response())
}

/// Whether `user` watches over anyone's visits (for links to the board).
#[must_use]
pub(super) fn supervises(user: &CurrentUser) -> bool {
    !watched_organisations(&user.principal).is_empty()
}
