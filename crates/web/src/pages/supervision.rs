//! Supervision and training: the supervision page (a worker's own sessions, a supervisor's
//! supervisees with their last and next session), recording a session, a session's page with its
//! agreed actions, each staff member's training records with the form to add one, and the team
//! view of expired and soon-to-expire training. Every page has its JSON twin under `/api/v1`.
//!
//! The store decides who may see what (see `domain::supervision`) and audits every read, write and
//! refusal; this module parses forms with the casework parsers, so dates read the same everywhere,
//! and renders. A refusal is the usual 403 page, which says nothing about whether a session exists.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use careweave_domain::supervision::{
    expiry_date, training_team_organisations, CpdHours, TrainingKind, TrainingStatus, DUE_SOON_DAYS,
};
use careweave_domain::UserId;
use careweave_store::change::ActionError;
use careweave_store::supervision::{
    NewSession, NewSupervisionAction, NewTraining, SessionSummary, SessionView, StaffTraining,
    Supervisee, SuperviseeSessions, TeamMemberTraining, TrainingRecord,
};
use chrono::NaiveDate;

use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{body_pairs, choice, date_from, errors_json, FormErrors, Pairs};
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/supervision", get(hub))
        .route("/supervision/staff/{user}", get(supervisee))
        .route(
            "/supervision/staff/{user}/new",
            get(session_form).post(session_create),
        )
        .route("/supervision/sessions/{id}", get(session_show))
        .route(
            "/supervision/sessions/{id}/actions/{action}/done",
            post(action_done),
        )
        .route("/training", get(my_training))
        .route("/training/staff/{user}", get(training).post(training_add))
        .route("/training/team", get(team))
        .route("/api/v1/supervision", get(api_hub))
        .route("/api/v1/supervision/staff/{user}", get(api_supervisee))
        .route(
            "/api/v1/supervision/staff/{user}/sessions",
            post(api_session_create),
        )
        .route("/api/v1/supervision/sessions/{id}", get(api_session))
        .route(
            "/api/v1/supervision/sessions/{id}/actions/{action}/done",
            post(api_action_done),
        )
        .route(
            "/api/v1/training/staff/{user}",
            get(api_training).post(api_training_add),
        )
        .route("/api/v1/training/team", get(api_team))
        .route("/api/v1/supervision/openapi.json", get(openapi))
}

/// This API's OpenAPI document, kept beside the templates so that it is reviewed with them.
const OPENAPI: &str = include_str!("../../templates/supervision/openapi.json");

/// `GET /api/v1/supervision/openapi.json`: the document, for anyone (it holds no personal data).
async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// Whether a signed-in user has anything here: everyone who belongs to an organisation has
/// training records, and may have supervision.
pub(super) fn has_supervision(p: &careweave_domain::access::Principal) -> bool {
    !p.memberships.is_empty()
}

/// A date that may be left blank: `None` when every box (and the JSON API's ISO field) is empty,
/// otherwise the date, or an error against the day box.
fn optional_date(
    errors: &mut FormErrors,
    p: &Pairs,
    prefix: &str,
    what: &'static str,
) -> Option<NaiveDate> {
    let blank = [
        prefix.to_owned(),
        format!("{prefix}-day"),
        format!("{prefix}-month"),
        format!("{prefix}-year"),
    ]
    .iter()
    .all(|k| p.get(k).trim().is_empty());
    if blank {
        None
    } else {
        date_from(errors, p, prefix, what, None)
    }
}

/// How many agreed actions the form offers; more can wait for the next session.
const ACTION_ROWS: usize = 3;

/// Reads the "Record a supervision session" form (and its JSON twin, with the same names).
fn parse_session(p: &Pairs, today: NaiveDate) -> Result<NewSession, FormErrors> {
    let mut e = FormErrors::default();
    let held_on = date_from(
        &mut e,
        p,
        "session_held",
        "The date of the session",
        Some(today),
    );
    let caseload = p.trimmed("caseload");
    let wellbeing = p.trimmed("wellbeing");
    let development = p.trimmed("development");
    if caseload.is_empty() && wellbeing.is_empty() && development.is_empty() {
        e.add(
            "caseload",
            "Enter notes for at least one section: caseload, wellbeing or development",
        );
    }
    let mut actions = Vec::new();
    for n in 1..=ACTION_ROWS {
        let text_field = format!("action_{n}");
        let due_field = format!("action_{n}_due");
        let text = p.trimmed(&text_field);
        let due = optional_date(&mut e, p, &due_field, "The action's due date");
        match (text.is_empty(), due) {
            (false, Some(due_on)) => actions.push(NewSupervisionAction { text, due_on }),
            (false, None) if !e.has(&format!("{due_field}-day")) => {
                e.add(
                    &format!("{due_field}-day"),
                    "Enter the date the action is due",
                );
            }
            (true, Some(_)) => e.add(&text_field, "Enter the action, or clear its due date"),
            _ => {}
        }
    }
    let next_on = optional_date(&mut e, p, "next_session", "The date of the next session");
    if let (Some(held), Some(next)) = (held_on, next_on) {
        if next <= held {
            e.add(
                "next_session-day",
                "The next session must be after this one",
            );
        }
    }
    match held_on {
        Some(held_on) if e.is_empty() => Ok(NewSession {
            held_on,
            caseload,
            wellbeing,
            development,
            actions,
            next_on,
        }),
        _ => Err(e),
    }
}

/// Reads the "Add a training record" form (and its JSON twin).
fn parse_training(p: &Pairs, today: NaiveDate) -> Result<NewTraining, FormErrors> {
    let mut e = FormErrors::default();
    let kind = choice(
        &mut e,
        p,
        "training_kind",
        TrainingKind::from_code,
        "Select the kind of training",
    );
    let title = p.trimmed("training_title");
    if kind.is_some_and(TrainingKind::needs_title) && title.is_empty() {
        e.add("training_title", "Enter the name of the course");
    }
    let completed_on = date_from(
        &mut e,
        p,
        "training_completed",
        "The date the training was completed",
        Some(today),
    );
    let entered = optional_date(&mut e, p, "training_expires", "The expiry date");
    let hours = p.trimmed("training_hours");
    let cpd_hours = match kind {
        Some(TrainingKind::Cpd) if hours.is_empty() => {
            e.add("training_hours", "Enter how many hours of CPD this was");
            None
        }
        Some(TrainingKind::Cpd) => e.parse("training_hours", CpdHours::parse(&hours)),
        _ if !hours.is_empty() => {
            e.add(
                "training_hours",
                "Leave the hours blank unless the training is CPD",
            );
            None
        }
        _ => None,
    };
    let expires_on = match (kind, completed_on) {
        (Some(kind), Some(completed)) if !e.has("training_expires-day") => e
            .parse(
                "training_expires-day",
                expiry_date(kind, completed, entered),
            )
            .flatten(),
        _ => None,
    };
    match (kind, completed_on) {
        (Some(kind), Some(completed_on)) if e.is_empty() => Ok(NewTraining {
            kind,
            title,
            completed_on,
            expires_on,
            cpd_hours,
        }),
        _ => Err(e),
    }
}

// ----- Supervision pages ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "supervision/hub.html")]
struct HubPage {
    chrome: Chrome,
    me: UserId,
    mine: Vec<SessionSummary>,
    supervisees: Vec<Supervisee>,
    team_view: bool,
}

/// `GET /supervision`: the signed-in user's own sessions and, for a supervisor, their supervisees.
async fn hub(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let p = &user.principal;
    html(&HubPage {
        chrome: Chrome::signed_in("Supervision and training", &csrf, &user, "/supervision"),
        me: p.user,
        mine: state.store.my_supervision(p).await?,
        supervisees: state.store.supervisees(p).await?,
        team_view: !training_team_organisations(p).is_empty(),
    })
}

#[derive(Template)]
#[template(path = "supervision/supervisee.html")]
struct SuperviseePage {
    chrome: Chrome,
    s: SuperviseeSessions,
}

/// `GET /supervision/staff/{user}`: a supervisor's sessions with one supervisee.
async fn supervisee(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(worker): Path<i64>,
) -> Result<Response, AppError> {
    let s = state
        .store
        .sessions_with(&user.principal, UserId::new(worker))
        .await?;
    html(&SuperviseePage {
        chrome: Chrome::signed_in(
            &format!("Supervision with {}", s.name),
            &csrf,
            &user,
            "/supervision",
        ),
        s,
    })
}

/// The field names of one agreed-action row of the session form.
struct ActionRow {
    n: usize,
    text: String,
    due: String,
    due_day: String,
    due_month: String,
    due_year: String,
}

impl ActionRow {
    fn new(n: usize) -> Self {
        let due = format!("action_{n}_due");
        Self {
            n,
            text: format!("action_{n}"),
            due_day: format!("{due}-day"),
            due_month: format!("{due}-month"),
            due_year: format!("{due}-year"),
            due,
        }
    }
}

#[derive(Template)]
#[template(path = "supervision/new_session.html")]
struct SessionFormPage {
    chrome: Chrome,
    worker: UserId,
    name: String,
    rows: Vec<ActionRow>,
    form: Pairs,
    errors: FormErrors,
}

async fn session_form_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    worker: UserId,
    form: Pairs,
    errors: FormErrors,
) -> Result<SessionFormPage, AppError> {
    // Listing the sessions checks (and audits) that the viewer supervises this worker.
    let s = state.store.sessions_with(&user.principal, worker).await?;
    Ok(SessionFormPage {
        chrome: Chrome::signed_in("Record a supervision session", csrf, user, "/supervision"),
        worker,
        name: s.name,
        rows: (1..=ACTION_ROWS).map(ActionRow::new).collect(),
        form,
        errors,
    })
}

/// `GET /supervision/staff/{user}/new`: the form to record a session.
async fn session_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(worker): Path<i64>,
) -> Result<Response, AppError> {
    html(
        &session_form_page(
            &state,
            &csrf,
            &user,
            UserId::new(worker),
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

async fn run_session_create(
    state: &AppState,
    user: &CurrentUser,
    worker: UserId,
    p: &Pairs,
) -> Result<Result<i64, FormErrors>, AppError> {
    let new = match parse_session(p, state.clock.today()) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    match state
        .store
        .record_supervision(&user.principal, worker, &new)
        .await
    {
        Ok(id) => Ok(Ok(id)),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut e = FormErrors::default();
            e.add("next_session-day", m);
            Ok(Err(e))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /supervision/staff/{user}/new`: records the session and opens it, or shows the form again
/// with the errors and everything typed.
async fn session_create(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(worker): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let worker = UserId::new(worker);
    let form = Pairs(pairs);
    match run_session_create(&state, &user, worker, &form).await? {
        Ok(id) => Ok(Redirect::to(&format!("/supervision/sessions/{id}")).into_response()),
        Err(errors) => {
            invalid(&session_form_page(&state, &csrf, &user, worker, form, errors).await?)
        }
    }
}

#[derive(Template)]
#[template(path = "supervision/session.html")]
struct SessionPage {
    chrome: Chrome,
    s: SessionView,
    /// Whether the viewer is the supervisor (for the back link).
    as_supervisor: bool,
    today: NaiveDate,
}

/// `GET /supervision/sessions/{id}`: one session, for its worker and its supervisor only.
async fn session_show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let s = state.store.supervision_session(&user.principal, id).await?;
    html(&SessionPage {
        chrome: Chrome::signed_in("Supervision session", &csrf, &user, "/supervision"),
        as_supervisor: s.worker_id != user.principal.user,
        s,
        today: state.clock.today(),
    })
}

/// Marks an action done; an action already done is no error (someone else got there first).
async fn run_action_done(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    action: i64,
) -> Result<(), AppError> {
    match state
        .store
        .supervision_action_done(&user.principal, id, action, state.clock.today())
        .await
    {
        Ok(()) | Err(ActionError::Refused { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `POST /supervision/sessions/{id}/actions/{action}/done`: back to the session.
async fn action_done(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    run_action_done(&state, &user, id, action).await?;
    Ok(Redirect::to(&format!("/supervision/sessions/{id}#actions")).into_response())
}

// ----- Training pages ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "supervision/training.html")]
struct TrainingPage {
    chrome: Chrome,
    t: StaffTraining,
    own: bool,
    kinds: &'static [TrainingKind],
    form: Pairs,
    errors: FormErrors,
}

async fn training_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    staff: UserId,
    form: Pairs,
    errors: FormErrors,
) -> Result<TrainingPage, AppError> {
    let t = state
        .store
        .training_for(&user.principal, staff, state.clock.today())
        .await?;
    let own = staff == user.principal.user;
    Ok(TrainingPage {
        chrome: Chrome::signed_in(
            &if own {
                "Your training".to_owned()
            } else {
                format!("Training of {}", t.name)
            },
            csrf,
            user,
            "/supervision",
        ),
        t,
        own,
        kinds: TrainingKind::ALL,
        form,
        errors,
    })
}

/// `GET /training`: the signed-in user's own training.
async fn my_training(user: CurrentUser) -> Response {
    Redirect::to(&format!("/training/staff/{}", user.principal.user)).into_response()
}

/// `GET /training/staff/{user}`: a staff member's training, with the form to add a record.
async fn training(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(staff): Path<i64>,
) -> Result<Response, AppError> {
    html(
        &training_page(
            &state,
            &csrf,
            &user,
            UserId::new(staff),
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

async fn run_training_add(
    state: &AppState,
    user: &CurrentUser,
    staff: UserId,
    p: &Pairs,
) -> Result<Result<i64, FormErrors>, AppError> {
    let new = match parse_training(p, state.clock.today()) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(state
        .store
        .record_training(&user.principal, staff, &new)
        .await?))
}

/// `POST /training/staff/{user}`: adds a record, or shows the page again with the errors and
/// everything typed.
async fn training_add(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(staff): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let staff = UserId::new(staff);
    let form = Pairs(pairs);
    match run_training_add(&state, &user, staff, &form).await? {
        Ok(_) => Ok(Redirect::to(&format!("/training/staff/{staff}")).into_response()),
        Err(errors) => invalid(&training_page(&state, &csrf, &user, staff, form, errors).await?),
    }
}

#[derive(Template)]
#[template(path = "supervision/team.html")]
struct TeamPage {
    chrome: Chrome,
    team: Vec<TeamMemberTraining>,
    due_soon_days: i64,
}

/// `GET /training/team`: expired and soon-to-expire training across the viewer's organisations.
async fn team(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    html(&TeamPage {
        chrome: Chrome::signed_in("Team training", &csrf, &user, "/supervision"),
        team: state
            .store
            .team_training(&user.principal, state.clock.today())
            .await?,
        due_soon_days: DUE_SOON_DAYS,
    })
}

// ----- JSON API ------------------------------------------------------------------------------------

fn date_json(d: Option<NaiveDate>) -> serde_json::Value {
    d.map_or(serde_json::Value::Null, |d| d.to_string().into())
}

fn summary_json(s: &SessionSummary) -> serde_json::Value {
    serde_json::json!({
        "id": s.id,
        "held_on": s.held_on.to_string(),
        "worker": s.worker,
        "supervisor": s.supervisor,
        "next_on": date_json(s.next_on),
        "open_actions": s.open_actions,
    })
}

fn training_json(r: &TrainingRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "kind": r.kind.code(),
        "title": r.title,
        "completed_on": r.completed_on.to_string(),
        "expires_on": date_json(r.expires_on),
        "cpd_hours": r.cpd_hours.map(|h| h.to_string()),
        "status": r.status.code(),
        "superseded": r.superseded,
        "recorded_by": r.recorded_by,
    })
}

/// `GET /api/v1/supervision`: the user's own sessions and their supervisees.
async fn api_hub(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let p = &user.principal;
    let mine = state.store.my_supervision(p).await?;
    let supervisees = state.store.supervisees(p).await?;
    Ok(Json(serde_json::json!({
        "sessions": mine.iter().map(summary_json).collect::<Vec<_>>(),
        "supervisees": supervisees.iter().map(|s| serde_json::json!({
            "user_id": s.user.get(),
            "name": s.name,
            "last_on": date_json(s.last_on),
            "next_on": date_json(s.next_on),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/v1/supervision/staff/{user}`: a supervisor's sessions with one supervisee.
async fn api_supervisee(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(worker): Path<i64>,
) -> Result<Response, AppError> {
    let s = state
        .store
        .sessions_with(&user.principal, UserId::new(worker))
        .await?;
    Ok(Json(serde_json::json!({
        "user_id": s.user.get(),
        "name": s.name,
        "sessions": s.sessions.iter().map(summary_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/supervision/staff/{user}/sessions`: records a session.
async fn api_session_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(worker): Path<i64>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_session_create(&state, &user, UserId::new(worker), &p).await? {
        Ok(id) => Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response()),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `GET /api/v1/supervision/sessions/{id}`: one session with its notes and actions.
async fn api_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let s = state.store.supervision_session(&user.principal, id).await?;
    Ok(Json(serde_json::json!({
        "id": s.id,
        "worker_id": s.worker_id.get(),
        "worker": s.worker,
        "supervisor": s.supervisor,
        "organisation": s.organisation,
        "held_on": s.held_on.to_string(),
        "caseload": s.caseload,
        "wellbeing": s.wellbeing,
        "development": s.development,
        "next_on": date_json(s.next_on),
        "actions": s.actions.iter().map(|a| serde_json::json!({
            "id": a.id,
            "text": a.text,
            "due_on": a.due_on.to_string(),
            "done_on": date_json(a.done_on),
        })).collect::<Vec<_>>(),
        "access": s.grant.code(),
    }))
    .into_response())
}

/// `POST /api/v1/supervision/sessions/{id}/actions/{action}/done`: marks an action done.
async fn api_action_done(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    run_action_done(&state, &user, id, action).await?;
    Ok(Json(serde_json::json!({ "ok": true })).into_response())
}

/// `GET /api/v1/training/staff/{user}`: a staff member's training records.
async fn api_training(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(staff): Path<i64>,
) -> Result<Response, AppError> {
    let t = state
        .store
        .training_for(&user.principal, UserId::new(staff), state.clock.today())
        .await?;
    Ok(Json(serde_json::json!({
        "user_id": t.user.get(),
        "name": t.name,
        "records": t.records.iter().map(training_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/training/staff/{user}`: adds a training record.
async fn api_training_add(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(staff): Path<i64>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_training_add(&state, &user, UserId::new(staff), &p).await? {
        Ok(id) => Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response()),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `GET /api/v1/training/team`: the team view. It names staff, so it stays with the supervisors
/// and admins of their own organisations and is not an aggregate.
async fn api_team(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let team = state
        .store
        .team_training(&user.principal, state.clock.today())
        .await?;
    Ok(Json(serde_json::json!({
        "due_soon_days": DUE_SOON_DAYS,
        "staff": team.iter().map(|m| serde_json::json!({
            "user_id": m.user.get(),
            "name": m.name,
            "current": m.current,
            "expired": m.attention.iter().filter(|r| r.status == TrainingStatus::Expired)
                .map(training_json).collect::<Vec<_>>(),
            "due_soon": m.attention.iter().filter(|r| r.status == TrainingStatus::DueSoon)
                .map(training_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}
