//! Changes to a case: one parser per action (in the feature modules), run through the store.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use careweave_domain::access::Principal;
use careweave_domain::casework::{CaseId, CaseRole, Intensity};
use careweave_store::access::CaseAccess;
use careweave_store::casework::{Carer, Discharge, NewAssessment, NewContact, PlanItem, PlanText};
use careweave_store::change::ActionError;
use careweave_store::lone_working::NewVisit;
use chrono::NaiveDate;

use super::case_view::case_page;

use super::{contacts, plan, reviews, team};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{body_pairs, errors_json, FormErrors, Pairs};
use crate::pages::{html, invalid};
use crate::session::CurrentUser;
use crate::AppState;

/// One change to a case, parsed from a form or a JSON body.
pub(super) enum CaseAction {
    Allocate {
        user: careweave_domain::UserId,
        role: CaseRole,
        confirm: bool,
    },
    Contact(NewContact),
    Visit(NewVisit),
    Flag {
        on_address: bool,
        reason: String,
    },
    Assessment(NewAssessment),
    Plan {
        version: i64,
        text: PlanText,
    },
    PlanItem {
        version: i64,
        item: PlanItem,
    },
    Review {
        on: NaiveDate,
        intensity: Intensity,
        summary: String,
    },
    Hold {
        hold: bool,
        reason: String,
    },
    Discharge(Discharge),
    Reopen(String),
    Carer(Carer),
}

/// What an action's parser needs besides the submitted fields.
pub(super) struct ParseContext<'a> {
    /// The life domains an assessment scores, as (code, label).
    pub domains: &'a [(String, String)],
    /// Today in the deployment's time zone, for dates that may not be in the past or future.
    pub today: NaiveDate,
}

/// A parser for one action: it records every problem it finds in the errors and returns the
/// action when it could build one (the action runs only when no problem was recorded).
type Parser = fn(&mut FormErrors, &Pairs, &ParseContext) -> Option<CaseAction>;

/// The parser for the action named in the address, from the feature module that owns it.
fn parser(action: &str) -> Option<Parser> {
    Some(match action {
        "allocate" => team::allocate,
        "carers" => team::carers,
        "flags" => team::flags,
        "contacts" => contacts::contacts,
        "visits" => contacts::visits,
        "assessments" => contacts::assessments,
        "plan" => plan::plan,
        "goals" => plan::goals,
        "progress" => plan::progress,
        "attainment" => plan::attainment,
        "actions" => plan::actions,
        "action-done" => plan::action_done,
        "steps" => plan::steps,
        "reviews" => reviews::reviews,
        "hold" => reviews::hold,
        "resume" => reviews::resume,
        "discharge" => reviews::discharge,
        "reopen" => reviews::reopen,
        _ => return None,
    })
}

/// `Ok(None)` when no such action exists (the address is wrong: 404).
fn parse_case_action(
    action: &str,
    p: &Pairs,
    ctx: &ParseContext,
) -> Result<Option<CaseAction>, FormErrors> {
    let Some(parse) = parser(action) else {
        return Ok(None);
    };
    let mut e = FormErrors::default();
    match parse(&mut e, p, ctx) {
        Some(a) if e.is_empty() => Ok(Some(a)),
        _ => Err(e),
    }
}

/// The outcome of a case action that did not succeed but is not a failure of the service.
enum Refusal {
    Invalid(FormErrors),
    Conflict(FormErrors),
}

async fn run_case_action(
    state: &AppState,
    who: &Principal,
    id: CaseId,
    action: &str,
    p: &Pairs,
) -> Result<Result<(), Refusal>, AppError> {
    let domains = state.store.life_domains().await?;
    let ctx = ParseContext {
        domains: &domains,
        today: state.clock.today(),
    };
    let parsed = match parse_case_action(action, p, &ctx) {
        Ok(Some(a)) => a,
        Ok(None) => return Err(AppError::NotFound),
        Err(errors) => return Ok(Err(Refusal::Invalid(errors))),
    };
    let s = &state.store;
    // Reopening has its own rule (the triage team may reopen a case they do not work), and a
    // discharged case cannot be opened for change, so it asks the policy itself; every other
    // action opens the case for change first, which audits a refusal.
    let (result, field) = match parsed {
        CaseAction::Reopen(reason) => (
            s.reopen(who, id, &reason, state.clock.today()).await,
            "reopen_reason",
        ),
        action => match s.open_case(who, id, true).await {
            Ok(access) => change_case(state, who, &access, action).await,
            Err(e) => (Err(e), ""),
        },
    };
    let mut errors = FormErrors::default();
    match result {
        Ok(()) => Ok(Ok(())),
        Err(ActionError::Conflict) => {
            errors.add(field, ActionError::Conflict.to_string());
            Ok(Err(Refusal::Conflict(errors)))
        }
        Err(ActionError::OverCapacity(m)) => {
            errors.add(field, m);
            Ok(Err(Refusal::Invalid(errors)))
        }
        // The store names the field a refusal is about when it is not the action's own.
        Err(ActionError::Refused {
            field: named,
            reason,
        }) => {
            errors.add(named.unwrap_or(field), reason);
            Ok(Err(Refusal::Invalid(errors)))
        }
        Err(ActionError::NotAllowed(rules)) => {
            for m in rules {
                errors.add(field, m);
            }
            Ok(Err(Refusal::Invalid(errors)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs an action that changes a case the policy let the user change, returning the store's
/// answer and the form field a refusal belongs to.
async fn change_case(
    state: &AppState,
    who: &Principal,
    access: &CaseAccess,
    action: CaseAction,
) -> (Result<(), ActionError>, &'static str) {
    let s = &state.store;
    match action {
        CaseAction::Allocate {
            user,
            role,
            confirm,
        } => (
            s.allocate(access, user, role, confirm, state.clock.today())
                .await,
            "confirm_over_capacity",
        ),
        CaseAction::Contact(c) => (s.record_contact(access, &c).await, "contact_type"),
        // A refused visit is put right by choosing a colleague to go too, so the errors point there.
        CaseAction::Visit(v) => (s.plan_visit(who, access, &v).await.map(|_| ()), "companion"),
        CaseAction::Flag { on_address, reason } => (
            s.raise_safety_flag(access, on_address, &reason, state.clock.today())
                .await,
            "safety_reason",
        ),
        CaseAction::Assessment(a) => (s.record_assessment(access, &a).await, "assessed-day"),
        CaseAction::Plan { version, text } => (
            s.save_plan(access, version, &text, state.clock.today())
                .await
                .map(|_| ()),
            "what_matters",
        ),
        CaseAction::PlanItem { version, item } => (
            s.change_plan(access, version, &item, state.clock.today())
                .await
                .map(|_| ()),
            "what_matters",
        ),
        CaseAction::Review {
            on,
            intensity,
            summary,
        } => (
            s.record_review(access, on, intensity, &summary)
                .await
                .map(|_| ()),
            "review_summary",
        ),
        CaseAction::Hold { hold, reason } => (
            s.set_on_hold(access, hold, &reason, state.clock.today())
                .await,
            "hold_reason",
        ),
        CaseAction::Discharge(d) => (s.discharge(access, &d).await, "discharge_reason"),
        // Reopening is decided before a case is opened for change (a discharged case cannot
        // be), so it never arrives here.
        CaseAction::Reopen(_) => (Err(ActionError::Denied), "reopen_reason"),
        CaseAction::Carer(c) => (
            s.add_carer(access, &c, state.clock.today()).await,
            "carer_name",
        ),
    }
}

fn section_of(action: &str) -> &'static str {
    match action {
        "allocate" => "team",
        "contacts" | "visits" => "contacts",
        "flags" => "household",
        "assessments" => "assessment",
        "reviews" | "hold" | "resume" => "reviews",
        "carers" => "household",
        "discharge" | "reopen" => "discharge",
        _ => "plan",
    }
}

pub(super) async fn case_action(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = CaseId::new(id);
    let form = Pairs(pairs);
    match run_case_action(&state, &user.principal, id, &action, &form).await? {
        Ok(()) => Ok(Redirect::to(&format!("/cases/{id}#{}", section_of(&action))).into_response()),
        Err(Refusal::Invalid(errors)) => {
            invalid(&case_page(&state, &csrf, &user, id, form, errors, false).await?)
        }
        Err(Refusal::Conflict(errors)) => {
            let mut r = html(&case_page(&state, &csrf, &user, id, form, errors, true).await?)?;
            *r.status_mut() = StatusCode::CONFLICT;
            Ok(r)
        }
    }
}

pub(super) async fn api_case_action(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_case_action(&state, &user.principal, CaseId::new(id), &action, &p).await? {
        Ok(()) => Ok(Json(
            serde_json::json!({ "ok": true, "href": format!("/api/v1/cases/{id}") }),
        )
        .into_response()),
        Err(Refusal::Invalid(errors)) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
        Err(Refusal::Conflict(errors)) => Ok(errors_json(StatusCode::CONFLICT, &errors)),
    }
}
