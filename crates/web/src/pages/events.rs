//! Significant events and good news, and the team and board report: the events list (with the
//! escalations waiting for the board, for supervisors), recording an event from a case or on its
//! own, an event's page where a supervisor marks an escalation as taken to the board, and
//! `/casework/board`, the themes, safeguarding, MDT and outcome tables with a CSV download each.
//! Every page has its JSON twin under `/api/v1`.
//!
//! The store decides who reads an event (see `domain::events`) and audits it. The board report is
//! counts only: a supervisor sees raw counts for their own services, analysts and commissioners
//! see every service through `SafeCount` (7 or fewer hidden, the rest rounded to 5), on the page,
//! in the CSV (hidden cells read "suppressed") and in the JSON (hidden cells are null).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use careweave_domain::access::{self, Principal};
use careweave_domain::casework::CaseId;
use careweave_domain::events::EventKind;
use careweave_domain::{OrganisationId, OrganisationKind, ServiceId};
use careweave_store::casework::CaseworkService;
use careweave_store::change::ActionError;
use careweave_store::events::{EventTheme, EventView, NewEvent};
use chrono::NaiveDate;

use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{body_pairs, choice, date_from, errors_json, FormErrors, Pairs};
use crate::reporting::{
    csv_download, csv_of, outcome_change_table, period_from, period_query, report_scope, Cell,
    ChartKind, ChartSpec, ShownTable, Table,
};
use crate::session::CurrentUser;
use crate::AppState;

/// The longest description the form takes: a few sentences, not a case note.
const DESCRIPTION_MAX: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", get(list))
        .route("/events/new", get(new_form).post(create))
        .route("/events/{id}", get(show))
        .route("/events/{id}/board", post(board_mark))
        .route("/casework/board", get(board))
        .route("/casework/board.csv", get(board_csv))
        .route("/api/v1/events", get(api_list).post(api_create))
        .route("/api/v1/events/themes", get(api_themes).post(api_theme_add))
        .route("/api/v1/events/{id}", get(api_show))
        .route("/api/v1/events/{id}/board", post(api_board_mark))
        .route("/api/v1/board", get(api_board))
}

fn require_caseload(who: &Principal) -> Result<(), AppError> {
    if access::has_caseload(who) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

// ----- Recording ------------------------------------------------------------------------------------

/// Reads the "Record a significant event or good news" form (and its JSON twin, with the same
/// names; the JSON API sends `themes` as an array and `occurred` as an ISO date).
fn parse_event(
    p: &Pairs,
    services: &[CaseworkService],
    today: NaiveDate,
) -> Result<NewEvent, FormErrors> {
    let mut e = FormErrors::default();
    let kind = choice(
        &mut e,
        p,
        "kind",
        EventKind::from_code,
        "Select whether this is a significant event or good news",
    );
    let service = p
        .get("service")
        .trim()
        .parse::<i64>()
        .ok()
        .map(ServiceId::new)
        .filter(|s| services.iter().any(|x| x.id == *s));
    if service.is_none() {
        e.add("service", "Select the service you recorded this for");
    }
    let case = match p.get("case").trim() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(id) => Some(CaseId::new(id)),
            Err(_) => {
                e.add("case", "The case must be a case number");
                None
            }
        },
    };
    let practice = match p.get("practice").trim() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(id) => Some(OrganisationId::new(id)),
            Err(_) => {
                e.add("practice", "Select the area from the list");
                None
            }
        },
    };
    let occurred_on = date_from(&mut e, p, "occurred", "The date of the event", Some(today));
    let themes: Vec<String> = p.all("themes").iter().map(|t| (*t).to_owned()).collect();
    if themes.is_empty() {
        e.add("themes", "Select at least one theme");
    }
    let description = p.trimmed("description");
    if description.is_empty() {
        e.add(
            "description",
            "Enter what happened, without names or other identifying details",
        );
    } else if description.chars().count() > DESCRIPTION_MAX {
        e.add(
            "description",
            format!("The description must be {DESCRIPTION_MAX} characters or fewer"),
        );
    }
    let escalate = matches!(p.get("escalate").trim(), "yes" | "true");
    let reason = p.trimmed("escalation_reason");
    if escalate && reason.is_empty() {
        e.add(
            "escalation_reason",
            "Enter why the board should hear about this",
        );
    }
    match (kind, service, occurred_on) {
        (Some(kind), Some(service), Some(occurred_on)) if e.is_empty() => Ok(NewEvent {
            kind,
            service,
            case,
            practice,
            occurred_on,
            description,
            themes,
            escalation: escalate.then_some(reason),
        }),
        _ => Err(e),
    }
}

#[derive(Template)]
#[template(path = "events/new.html")]
struct NewEventPage {
    chrome: Chrome,
    kinds: &'static [EventKind],
    services: Vec<CaseworkService>,
    practices: Vec<(i64, String)>,
    themes: Vec<EventTheme>,
    form: Pairs,
    errors: FormErrors,
}

async fn new_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    mut form: Pairs,
    errors: FormErrors,
) -> Result<NewEventPage, AppError> {
    let services = state.store.services_worked_by(&user.principal).await?;
    if form.get("service").is_empty() && services.len() == 1 {
        form.0
            .push(("service".into(), services[0].id.get().to_string()));
    }
    let practices = state
        .store
        .organisations()
        .await?
        .into_iter()
        .filter(|o| o.kind == OrganisationKind::GpPractice)
        .map(|o| (o.id.get(), o.name))
        .collect();
    Ok(NewEventPage {
        chrome: Chrome::signed_in(
            "Record a significant event or good news",
            csrf,
            user,
            "/casework",
        ),
        kinds: EventKind::ALL,
        services,
        practices,
        themes: state.store.event_themes(false).await?,
        form,
        errors,
    })
}

/// `GET /events/new` (`?case=` when opened from a case): the form.
async fn new_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    require_caseload(&user.principal)?;
    let form = Pairs(query.into_iter().filter(|(k, _)| k == "case").collect());
    html(&new_page(&state, &csrf, &user, form, FormErrors::default()).await?)
}

async fn run_create(
    state: &AppState,
    user: &CurrentUser,
    p: &Pairs,
) -> Result<Result<i64, FormErrors>, AppError> {
    require_caseload(&user.principal)?;
    let services = state.store.services_worked_by(&user.principal).await?;
    let new = match parse_event(p, &services, state.clock.today()) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    match state.store.record_event(&user.principal, &new).await {
        Ok(id) => Ok(Ok(id)),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut e = FormErrors::default();
            e.add("themes", m);
            Ok(Err(e))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /events/new`: records the event and opens it, or shows the form again with the errors.
async fn create(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    match run_create(&state, &user, &form).await? {
        Ok(id) => Ok(Redirect::to(&format!("/events/{id}")).into_response()),
        Err(errors) => invalid(&new_page(&state, &csrf, &user, form, errors).await?),
    }
}

// ----- Reading ---------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "events/list.html")]
struct ListPage {
    chrome: Chrome,
    events: Vec<EventView>,
    /// Escalations a supervisor has still to take to the board.
    waiting: Vec<EventView>,
}

/// `GET /events`: the events the viewer may read, with the escalations they review.
async fn list(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user.principal)?;
    let events = state.store.events_for(&user.principal).await?;
    let waiting = events
        .iter()
        .filter(|e| e.escalate && e.board_on.is_none() && e.grant.may_review())
        .cloned()
        .collect();
    html(&ListPage {
        chrome: Chrome::signed_in(
            "Significant events and good news",
            &csrf,
            &user,
            "/casework",
        ),
        events,
        waiting,
    })
}

#[derive(Template)]
#[template(path = "events/show.html")]
struct ShowPage {
    chrome: Chrome,
    e: EventView,
    form: Pairs,
    errors: FormErrors,
}

async fn show_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: i64,
    form: Pairs,
    errors: FormErrors,
) -> Result<ShowPage, AppError> {
    let e = state.store.event_for(&user.principal, id).await?;
    let title = format!(
        "{} on {}",
        e.kind.label(),
        e.occurred_on.format("%-d %B %Y")
    );
    Ok(ShowPage {
        chrome: Chrome::signed_in(&title, csrf, user, "/casework"),
        e,
        form,
        errors,
    })
}

/// `GET /events/{id}`: one event, for the people allowed to read it.
async fn show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    html(
        &show_page(
            &state,
            &csrf,
            &user,
            id,
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

async fn run_board_mark(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    p: &Pairs,
) -> Result<Result<(), FormErrors>, AppError> {
    let mut e = FormErrors::default();
    let today = state.clock.today();
    let Some(on) = date_from(
        &mut e,
        p,
        "board",
        "The date of the board meeting",
        Some(today),
    ) else {
        return Ok(Err(e));
    };
    match state
        .store
        .mark_taken_to_board(&user.principal, id, on)
        .await
    {
        Ok(()) => Ok(Ok(())),
        Err(ActionError::Refused { reason: m, .. }) => {
            e.add("board-day", m);
            Ok(Err(e))
        }
        Err(err) => Err(err.into()),
    }
}

/// `POST /events/{id}/board`: a supervisor marks the escalation as taken to the board.
async fn board_mark(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    match run_board_mark(&state, &user, id, &form).await? {
        Ok(()) => Ok(Redirect::to(&format!("/events/{id}")).into_response()),
        Err(errors) => invalid(&show_page(&state, &csrf, &user, id, form, errors).await?),
    }
}

// ----- The board report -----------------------------------------------------------------------------

/// A month chart of a board table's count column (the first column is the month).
fn by_month(title: &'static str, value: usize) -> ChartSpec {
    ChartSpec {
        title,
        kind: ChartKind::Months,
        label: 0,
        value,
    }
}

/// Builds the board report's tables for the services `who` may see, and whether they are
/// suppressed. The tables by month keep the months of `period`; the tables by area and of
/// outcome change cover all time (their counts are not kept by month).
async fn board_tables(
    state: &AppState,
    who: &Principal,
    period: &careweave_store::casework::ReportPeriod,
) -> Result<(Vec<Table>, bool), AppError> {
    let (services, suppress) = report_scope(state, who).await?;
    let themes = state.store.event_theme_counts(&services).await?;
    let counts = state
        .store
        .board_counts(&services, state.clock.today())
        .await?;
    let ids: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    let change = super::outcomes::change_rows(state, &ids).await?;
    let tables = vec![
        Table {
            name: "themes",
            title: "Significant events and good news by month and theme",
            headers: &["Month", "Theme", "Kind", "Events"],
            charts: vec![
                by_month("Significant events and good news by month", 3),
                ChartSpec {
                    title: "Significant events and good news by theme",
                    kind: ChartKind::Bars,
                    label: 1,
                    value: 3,
                },
            ],
            rows: themes
                .by_month
                .into_iter()
                .map(|(m, t, k, n)| {
                    vec![
                        Cell::Month(m),
                        Cell::Text(t),
                        Cell::Text(k.label().into()),
                        Cell::Count(n),
                    ]
                })
                .collect(),
        },
        Table {
            name: "areas",
            title: "Significant events and good news by area and theme",
            headers: &["Area", "Theme", "Events"],
            charts: vec![ChartSpec {
                title: "Significant events and good news by area",
                kind: ChartKind::Bars,
                label: 0,
                value: 2,
            }],
            rows: themes
                .by_area
                .into_iter()
                .map(|(a, t, n)| vec![Cell::Text(a), Cell::Text(t), Cell::Count(n)])
                .collect(),
        },
        Table {
            name: "safeguarding",
            title: "Safeguarding concerns by month",
            headers: &[
                "Month",
                "Concerns raised",
                "Referred to the local authority",
            ],
            charts: vec![by_month("Safeguarding concerns raised by month", 1)],
            rows: counts
                .safeguarding
                .into_iter()
                .map(|(m, r, l)| vec![Cell::Month(m), Cell::Count(r), Cell::Count(l)])
                .collect(),
        },
        Table {
            name: "mdt",
            title: "MDT meetings by month",
            headers: &["Month", "Meetings held", "Cases discussed"],
            charts: vec![by_month("Cases discussed at MDT meetings by month", 2)],
            rows: counts
                .mdt
                .into_iter()
                .map(|(m, h, d)| vec![Cell::Month(m), Cell::Count(h), Cell::Count(d)])
                .collect(),
        },
        outcome_change_table("Outcome change since the baseline", &change, suppress),
    ];
    let tables = tables
        .into_iter()
        .map(|mut t| {
            t.keep_months(period);
            t
        })
        .collect();
    Ok((tables, suppress))
}

#[derive(Template)]
#[template(path = "events/board.html")]
struct BoardPage {
    chrome: Chrome,
    suppressed: bool,
    tables: Vec<ShownTable>,
    /// The date range's boxes as typed, and their errors.
    form: Pairs,
    errors: FormErrors,
    /// What the CSV links add to keep the date range.
    period_query: String,
    csv_path: &'static str,
}

/// `GET /casework/board?from…&to…`: the team and board report, its tables by month within the
/// date range when one is given.
async fn board(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(query);
    let (period, errors) = period_from(&form);
    let (tables, suppress) = board_tables(&state, &user.principal, &period).await?;
    html(&BoardPage {
        chrome: Chrome::signed_in("Team and board report", &csrf, &user, "/casework"),
        suppressed: suppress,
        tables: tables.iter().map(|t| t.shown(suppress)).collect(),
        form,
        errors,
        period_query: period_query(&period),
        csv_path: "/casework/board.csv",
    })
}

/// `GET /casework/board.csv?table=…&from=…&to=…`: one table as CSV, with the same disclosure
/// control and date range as the page.
async fn board_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(query);
    let (period, _) = period_from(&form);
    let (tables, suppress) = board_tables(&state, &user.principal, &period).await?;
    let Some(t) = tables.iter().find(|t| t.name == form.get("table")) else {
        return Err(AppError::NotFound);
    };
    Ok(csv_download(
        &format!("careweave-board-{}.csv", t.name),
        csv_of(t, suppress),
    ))
}

// ----- JSON API --------------------------------------------------------------------------------------

fn event_json(e: &EventView) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "kind": e.kind.code(),
        "service": e.service,
        "case_id": e.case.map(CaseId::get),
        "area": e.area,
        "occurred_on": e.occurred_on.to_string(),
        "description": e.description,
        "themes": e.themes,
        "escalate": e.escalate,
        "escalation_reason": e.escalation_reason,
        "board_on": e.board_on.map(|d| d.to_string()),
        "recorded_by": e.recorded_by,
        "access": e.grant.code(),
    })
}

/// `GET /api/v1/events`: the events the caller may read.
async fn api_list(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    require_caseload(&user.principal)?;
    let events = state.store.events_for(&user.principal).await?;
    Ok(Json(serde_json::json!({
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/events`: records an event.
async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_create(&state, &user, &p).await? {
        Ok(id) => Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response()),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `GET /api/v1/events/themes`: the themes offered for new events.
async fn api_themes(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<Response, AppError> {
    let themes = state.store.event_themes(false).await?;
    Ok(Json(serde_json::json!({
        "themes": themes.iter().map(|t| serde_json::json!({ "code": t.code, "label": t.label })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/events/themes`: an admin adds a theme (`label`), or brings back a retired one.
async fn api_theme_add(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match state
        .store
        .add_event_theme(&user.principal, &p.trimmed("label"))
        .await
    {
        Ok(code) => Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({ "code": code })),
        )
            .into_response()),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut e = FormErrors::default();
            e.add("label", m);
            Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &e))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/v1/events/{id}`: one event.
async fn api_show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let e = state.store.event_for(&user.principal, id).await?;
    Ok(Json(event_json(&e)).into_response())
}

/// `POST /api/v1/events/{id}/board`: marks an escalation as taken to the board (`board`, an ISO
/// date).
async fn api_board_mark(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_board_mark(&state, &user, id, &p).await? {
        Ok(()) => Ok(Json(serde_json::json!({ "ok": true })).into_response()),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `GET /api/v1/board`: every table of the board report.
async fn api_board(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (period, _) = period_from(&Pairs(query));
    let (tables, suppress) = board_tables(&state, &user.principal, &period).await?;
    let mut out = serde_json::Map::new();
    out.insert("disclosure_controlled".into(), suppress.into());
    for t in &tables {
        let rows: Vec<serde_json::Value> = t
            .rows
            .iter()
            .map(|r| {
                serde_json::Value::Object(
                    t.headers
                        .iter()
                        .zip(r)
                        .map(|(h, c)| (h.to_lowercase().replace(' ', "_"), c.json(suppress)))
                        .collect(),
                )
            })
            .collect();
        out.insert(t.name.into(), rows.into());
    }
    Ok(Json(serde_json::Value::Object(out)).into_response())
}
