//! Outcome measures: the instruments page (what is loaded, what was refused, each service's
//! schedule), recording a measure on a case, the case page's "Outcome measures" section with
//! change since the baseline, and the JSON API.
//!
//! Instruments come from `AppState::instruments`, loaded at start from the shipped definitions
//! and the deployment's folder; the store scores and keeps the measures (see
//! `store::outcomes`). Answers are checked here against the definition first, so that each wrong
//! or missing answer is shown beside its question; the store's scoring is the second line.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use careweave_domain::access::{self, Role};
use careweave_domain::casework::{CaseId, OutcomePoint};
use careweave_domain::ServiceId;
use careweave_instruments::{Answers, Instrument, Outcome, ScaleKind};
use careweave_store::casework::CaseView;
use careweave_store::change::ActionError;
use careweave_store::outcomes::{NewOutcome, OutcomeRecord, OutcomeSchedule};
use chrono::NaiveDate;
use serde::Deserialize;

use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{body_pairs, choice, date_from, errors_json, FormErrors, Pairs};
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/outcomes", get(instruments_page))
        .route("/outcomes/schedules", post(schedule))
        .route("/cases/{id}/outcomes/new", get(new_form))
        .route("/cases/{id}/outcomes", post(record))
        .route("/api/v1/instruments", get(api_instruments))
        .route(
            "/api/v1/outcome-schedules",
            get(api_schedules).post(api_schedule),
        )
        .route(
            "/api/v1/cases/{id}/outcomes",
            get(api_case_outcomes).post(api_record),
        )
}

// ----- The case page's section -----------------------------------------------------------------------

/// One row of an instrument's table on the case page.
#[derive(Debug, Clone)]
pub struct OutcomeRow {
    pub taken_on: NaiveDate,
    pub point: &'static str,
    pub by: String,
    /// Per scale, the reported score and its band, as shown.
    pub cells: Vec<String>,
}

/// The change of one scale from the baseline to the latest measure.
#[derive(Debug, Clone)]
pub struct ChangeCell {
    pub text: String,
    pub outcome: &'static str,
    /// The design system's tag colour for the outcome.
    pub tag: &'static str,
}

/// An instrument's measures on a case.
#[derive(Debug, Clone)]
pub struct InstrumentOutcomes {
    pub name: String,
    pub scales: Vec<String>,
    pub rows: Vec<OutcomeRow>,
    /// Empty until there is a baseline and a later measure.
    pub change: Vec<ChangeCell>,
}

/// Everything the case page shows about outcome measures.
#[derive(Debug, Clone, Default)]
pub struct CaseOutcomes {
    pub instruments: Vec<InstrumentOutcomes>,
    /// What the service's schedule says is due, in words.
    pub due: Vec<String>,
    /// The instruments that can be recorded: (id, name), scheduled ones first.
    pub choices: Vec<(String, String)>,
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn outcome_words(o: Outcome) -> (&'static str, &'static str) {
    match o {
        Outcome::Improved => ("Improved", "nhsuk-tag--green"),
        Outcome::Stayed => ("No meaningful change", "nhsuk-tag--grey"),
        Outcome::Worsened => ("Worse", "nhsuk-tag--orange"),
    }
}

/// Change since the baseline, per scale, for a baseline and the latest later measure.
fn change_cells(
    instrument: Option<&Instrument>,
    scales: &[(String, String)],
    baseline: &OutcomeRecord,
    latest: &OutcomeRecord,
) -> Vec<ChangeCell> {
    scales
        .iter()
        .map(|(id, _)| {
            let (Some(b), Some(l)) = (baseline.reported(id), latest.reported(id)) else {
                return ChangeCell {
                    text: "–".to_owned(),
                    outcome: "",
                    tag: "",
                };
            };
            let delta = l - b;
            let sign = if delta > 0.0 { "+" } else { "" };
            let (outcome, tag) = instrument
                .and_then(|i| i.scale(id))
                .map_or(("", ""), |s| outcome_words(s.outcome(b, l)));
            ChangeCell {
                text: format!("{sign}{}", number(delta)),
                outcome,
                tag,
            }
        })
        .collect()
}

/// Builds the case page's outcome section from the case (read through the policy) and the
/// service's schedule.
pub(super) async fn case_outcomes(
    state: &AppState,
    c: &CaseView,
) -> Result<CaseOutcomes, AppError> {
    let catalogue = &state.instruments;
    let schedules: Vec<OutcomeSchedule> = state
        .store
        .outcome_schedules()
        .await?
        .into_iter()
        .filter(|s| s.service == c.service.id)
        .collect();
    let mut ids: Vec<&str> = Vec::new();
    for r in &c.outcomes {
        if !ids.contains(&r.instrument.as_str()) {
            ids.push(&r.instrument);
        }
    }
    let mut instruments = Vec::new();
    for id in ids {
        let records: Vec<&OutcomeRecord> =
            c.outcomes.iter().filter(|r| r.instrument == id).collect();
        let scales: Vec<(String, String)> = records
            .first()
            .map(|r| {
                r.scores
                    .iter()
                    .map(|s| (s.scale.clone(), s.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let rows = records
            .iter()
            .map(|r| OutcomeRow {
                taken_on: r.taken_on,
                point: r.point.label(),
                by: r.by.clone(),
                cells: scales
                    .iter()
                    .map(|(sid, _)| {
                        r.scores.iter().find(|s| &s.scale == sid).map_or_else(
                            || "–".to_owned(),
                            |s| match &s.band {
                                Some(b) => format!("{} ({b})", number(s.reported)),
                                None => number(s.reported),
                            },
                        )
                    })
                    .collect(),
            })
            .collect();
        let baseline = records
            .iter()
            .find(|r| r.point == OutcomePoint::Baseline)
            .copied();
        let latest = records
            .iter()
            .rev()
            .find(|r| r.point != OutcomePoint::Baseline)
            .copied();
        let change = match (baseline, latest) {
            (Some(b), Some(l)) if l.taken_on >= b.taken_on => {
                change_cells(catalogue.get(id), &scales, b, l)
            }
            _ => Vec::new(),
        };
        instruments.push(InstrumentOutcomes {
            name: records
                .first()
                .map(|r| r.instrument_name.clone())
                .unwrap_or_default(),
            scales: scales.into_iter().map(|(_, n)| n).collect(),
            rows,
            change,
        });
    }
    let mut due = Vec::new();
    let mut choices = Vec::new();
    for s in &schedules {
        let Some(instrument) = catalogue.get(&s.instrument) else {
            continue;
        };
        choices.push((s.instrument.clone(), instrument.name().to_owned()));
        if !c.status.is_active() {
            continue;
        }
        let this_episode: Vec<&OutcomeRecord> = c
            .outcomes
            .iter()
            .filter(|r| r.instrument == s.instrument && r.taken_on >= c.episode_started_on)
            .collect();
        let name = instrument.name();
        if !this_episode
            .iter()
            .any(|r| r.point == OutcomePoint::Baseline)
        {
            due.push(format!("{name}: the baseline is due now"));
        } else if let Some(days) = s.follow_up_days {
            let on = c.episode_started_on + chrono::Duration::days(i64::from(days));
            let done = this_episode
                .iter()
                .any(|r| r.point == OutcomePoint::FollowUp && r.taken_on >= on);
            if !done {
                due.push(format!(
                    "{name}: the follow-up is due {}{}",
                    if on <= state.clock.today() {
                        "since "
                    } else {
                        "on "
                    },
                    on.format("%-d %B %Y")
                ));
            }
        }
        if s.at_discharge {
            due.push(format!("{name}: again at discharge"));
        }
    }
    for loaded in catalogue.instruments() {
        let i = loaded.instrument();
        if !choices.iter().any(|(id, _)| id == i.id().as_str()) {
            choices.push((i.id().as_str().to_owned(), i.name().to_owned()));
        }
    }
    Ok(CaseOutcomes {
        instruments,
        due,
        choices,
    })
}

// ----- Recording a measure -------------------------------------------------------------------------

/// A question as the form shows it.
#[derive(Debug, Clone)]
pub struct ItemView {
    pub id: String,
    pub text: String,
    pub options: Vec<(i64, String)>,
}

/// A scale whose score an external (licensed) tool produced, as the form asks for it.
#[derive(Debug, Clone)]
pub struct ExternalView {
    pub id: String,
    pub name: String,
    pub range: String,
    pub levels: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "outcomes/record.html")]
struct RecordPage {
    chrome: Chrome,
    case: CaseId,
    person: String,
    instrument: String,
    instrument_name: String,
    about: String,
    items: Vec<ItemView>,
    externals: Vec<ExternalView>,
    points: &'static [OutcomePoint],
    form: Pairs,
    errors: FormErrors,
}

fn views(instrument: &Instrument) -> (Vec<ItemView>, Vec<ExternalView>) {
    let items = instrument
        .items()
        .iter()
        .map(|i| ItemView {
            id: i.id().as_str().to_owned(),
            text: i.text().to_owned(),
            options: i
                .options()
                .iter()
                .map(|o| (o.value(), o.label().to_owned()))
                .collect(),
        })
        .collect();
    let externals = instrument
        .scales()
        .iter()
        .filter_map(|s| match s.kind() {
            ScaleKind::External(e) => Some(ExternalView {
                id: s.id().as_str().to_owned(),
                name: s.name().to_owned(),
                range: format!("from {} to {}", number(e.min()), number(e.max())),
                levels: e
                    .levels()
                    .iter()
                    .map(|l| (l.value(), l.label().to_owned()))
                    .collect(),
            }),
            ScaleKind::Computed { .. } => None,
        })
        .collect();
    (items, externals)
}

async fn record_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    case: CaseId,
    instrument: &Instrument,
    form: Pairs,
    errors: FormErrors,
) -> Result<RecordPage, AppError> {
    // Reading the case goes through the policy and is audited; it also names the person.
    let c = state.store.case_for(&user.principal, case).await?;
    if !c.can_edit {
        return Err(AppError::Forbidden);
    }
    let (items, externals) = views(instrument);
    Ok(RecordPage {
        chrome: Chrome::signed_in(
            &format!("{} – {}", instrument.name(), c.person_name),
            csrf,
            user,
            "/casework",
        ),
        case,
        person: c.person_name,
        instrument: instrument.id().as_str().to_owned(),
        instrument_name: instrument.name().to_owned(),
        about: instrument.about().to_owned(),
        items,
        externals,
        points: OutcomePoint::ALL,
        form,
        errors,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InstrumentQuery {
    instrument: String,
}

fn instrument_of<'a>(state: &'a AppState, id: &str) -> Result<&'a Instrument, AppError> {
    state.instruments.get(id.trim()).ok_or(AppError::NotFound)
}

/// `GET /cases/{id}/outcomes/new?instrument=ID`: the questions of one instrument.
async fn new_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<InstrumentQuery>,
) -> Result<Response, AppError> {
    let instrument = instrument_of(&state, &q.instrument)?;
    html(
        &record_page(
            &state,
            &csrf,
            &user,
            CaseId::new(id),
            instrument,
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

/// Reads the answers of `instrument` from a form or JSON body, checking each against the
/// definition so that every problem is reported beside its question at once.
fn parse_outcome<'a>(
    instrument: &'a Instrument,
    p: &Pairs,
    today: NaiveDate,
) -> Result<NewOutcome<'a>, FormErrors> {
    let mut e = FormErrors::default();
    let mut answers = Answers::new();
    for (n, item) in instrument.items().iter().enumerate() {
        let field = format!("item_{}", item.id().as_str());
        let raw = p.get(&field).trim();
        let value = raw.parse::<i64>().ok();
        match value {
            Some(v) if item.options().iter().any(|o| o.value() == v) => {
                answers.answer(item.id().as_str(), v);
            }
            _ => e.add(
                &field,
                if raw.is_empty() {
                    format!("Answer question {}: {}", n + 1, item.text())
                } else {
                    format!(
                        "Question {} needs one of its answers ({} is not one)",
                        n + 1,
                        raw
                    )
                },
            ),
        }
    }
    for scale in instrument.scales() {
        let ScaleKind::External(ext) = scale.kind() else {
            continue;
        };
        let field = format!("external_{}", scale.id().as_str());
        let raw = p.get(&field).trim();
        let score = raw
            .parse::<f64>()
            .ok()
            .filter(|s| (ext.min()..=ext.max()).contains(s));
        let level_field = format!("level_{}", scale.id().as_str());
        let level = if ext.levels().is_empty() {
            None
        } else {
            let l = p.get(&level_field).trim().parse::<i64>().ok();
            if l.is_none_or(|l| !ext.levels().iter().any(|o| o.value() == l)) {
                e.add(
                    &level_field,
                    format!("Select the level the tool gave for {}", scale.name()),
                );
            }
            l
        };
        match score {
            Some(s) => {
                answers.record(scale.id().as_str(), s, level);
            }
            None => e.add(
                &field,
                format!(
                    "Enter the score the tool gave for {}, from {} to {}",
                    scale.name(),
                    number(ext.min()),
                    number(ext.max())
                ),
            ),
        }
    }
    let taken_on = date_from(
        &mut e,
        p,
        "taken",
        "The date the measure was taken",
        Some(today),
    );
    let point = choice(
        &mut e,
        p,
        "point",
        OutcomePoint::from_code,
        "Select when in the support this measure was taken",
    );
    match (taken_on, point) {
        (Some(taken_on), Some(point)) if e.is_empty() => Ok(NewOutcome {
            instrument,
            answers,
            taken_on,
            point,
        }),
        _ => Err(e),
    }
}

async fn run_record(
    state: &AppState,
    user: &CurrentUser,
    case: CaseId,
    instrument: &Instrument,
    p: &Pairs,
) -> Result<Result<i64, FormErrors>, AppError> {
    let new = match parse_outcome(instrument, p, state.clock.today()) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    let access = state.store.open_case(&user.principal, case, true).await?;
    match state.store.record_outcome(&access, &new).await {
        Ok(id) => Ok(Ok(id)),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut e = FormErrors::default();
            e.add("point", m);
            Ok(Err(e))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /cases/{id}/outcomes`: records a measure, or shows the questions again with the errors
/// and the answers given.
async fn record(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let instrument = instrument_of(&state, form.get("instrument"))?;
    let case = CaseId::new(id);
    match run_record(&state, &user, case, instrument, &form).await? {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{id}#outcome-measures")).into_response()),
        Err(errors) => {
            invalid(&record_page(&state, &csrf, &user, case, instrument, form, errors).await?)
        }
    }
}

// ----- The instruments page and schedules -------------------------------------------------------------

/// An instrument as the instruments page lists it.
#[derive(Debug, Clone)]
pub struct InstrumentRow {
    pub id: String,
    pub name: String,
    pub version: String,
    pub origin: String,
    pub licence: String,
    pub scales: String,
}

#[derive(Template)]
#[template(path = "outcomes/instruments.html")]
struct InstrumentsPage {
    chrome: Chrome,
    instruments: Vec<InstrumentRow>,
    refused: Vec<String>,
    overrides: Vec<String>,
    schedules: Vec<(OutcomeSchedule, String)>,
    /// The services whose schedule the viewer may set.
    services: Vec<(ServiceId, String)>,
    form: Pairs,
    errors: FormErrors,
}

fn may_view_instruments(user: &CurrentUser) -> bool {
    access::has_caseload(&user.principal) || user.principal.has_role(Role::Admin)
}

async fn instruments_view(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    form: Pairs,
    errors: FormErrors,
) -> Result<InstrumentsPage, AppError> {
    if !may_view_instruments(user) {
        return Err(AppError::Forbidden);
    }
    let catalogue = &state.instruments;
    let name_of = |id: &str| {
        catalogue
            .get(id)
            .map_or_else(|| format!("{id} (not loaded)"), |i| i.name().to_owned())
    };
    let services = state
        .store
        .casework_services()
        .await?
        .into_iter()
        .filter(|s| {
            user.principal.has_role_in(Role::Supervisor, s.provider)
                || user.principal.has_role_in(Role::Admin, s.provider)
        })
        .map(|s| (s.id, s.name))
        .collect();
    Ok(InstrumentsPage {
        chrome: Chrome::signed_in("Outcome measures", csrf, user, "/casework"),
        instruments: catalogue
            .instruments()
            .map(|l| {
                let i = l.instrument();
                InstrumentRow {
                    id: i.id().as_str().to_owned(),
                    name: i.name().to_owned(),
                    version: i.version().to_owned(),
                    origin: l.origin().to_string(),
                    licence: i.licence().to_owned(),
                    scales: i
                        .scales()
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })
            .collect(),
        refused: catalogue.errors().iter().map(ToString::to_string).collect(),
        overrides: catalogue
            .overrides()
            .iter()
            .map(ToString::to_string)
            .collect(),
        schedules: state
            .store
            .outcome_schedules()
            .await?
            .into_iter()
            .map(|s| {
                let name = name_of(&s.instrument);
                (s, name)
            })
            .collect(),
        services,
        form,
        errors,
    })
}

/// `GET /outcomes`: the instruments loaded, any refused definition files, and the schedules.
async fn instruments_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    html(
        &instruments_view(
            &state,
            &csrf,
            &user,
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

async fn run_schedule(
    state: &AppState,
    user: &CurrentUser,
    p: &Pairs,
) -> Result<Result<(), FormErrors>, AppError> {
    let mut e = FormErrors::default();
    let service = p
        .get("service")
        .trim()
        .parse::<i64>()
        .ok()
        .map(ServiceId::new);
    if service.is_none() {
        e.add("service", "Select the service");
    }
    let instrument = state.instruments.get(p.get("schedule_instrument").trim());
    if instrument.is_none() {
        e.add("schedule_instrument", "Select an instrument");
    }
    let days = match p.get("follow_up_days").trim() {
        "" => None,
        d => match d.parse::<u32>() {
            Ok(n) if (1..=730).contains(&n) => Some(n),
            _ => {
                e.add(
                    "follow_up_days",
                    "Enter the follow-up as a number of days from 1 to 730, or leave it empty",
                );
                None
            }
        },
    };
    let (Some(service), Some(instrument)) = (service, instrument) else {
        return Ok(Err(e));
    };
    if !e.is_empty() {
        return Ok(Err(e));
    }
    match state
        .store
        .set_outcome_schedule(
            &user.principal,
            service,
            instrument,
            days,
            p.has("at_discharge", "yes"),
        )
        .await
    {
        Ok(()) => Ok(Ok(())),
        Err(ActionError::Refused { reason: m, .. }) => {
            e.add("follow_up_days", m);
            Ok(Err(e))
        }
        Err(err) => Err(err.into()),
    }
}

/// `POST /outcomes/schedules`: sets a service's schedule for one instrument.
async fn schedule(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    match run_schedule(&state, &user, &form).await? {
        Ok(()) => Ok(Redirect::to("/outcomes#schedules").into_response()),
        Err(errors) => invalid(&instruments_view(&state, &csrf, &user, form, errors).await?),
    }
}

// ----- JSON API -------------------------------------------------------------------------------------

fn instrument_json(i: &Instrument) -> serde_json::Value {
    serde_json::json!({
        "id": i.id().as_str(),
        "name": i.name(),
        "version": i.version(),
        "source": i.source(),
        "licence": i.licence(),
        "items": i.items().iter().map(|it| serde_json::json!({
            "id": it.id().as_str(),
            "field": format!("item_{}", it.id().as_str()),
            "text": it.text(),
            "options": it.options().iter().map(|o| serde_json::json!({ "value": o.value(), "label": o.label() })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "scales": i.scales().iter().map(|s| serde_json::json!({
            "id": s.id().as_str(),
            "name": s.name(),
            "external": matches!(s.kind(), ScaleKind::External(_)),
        })).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/instruments`: the loaded instruments with their questions, and refused files.
async fn api_instruments(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if !may_view_instruments(&user) {
        return Err(AppError::Forbidden);
    }
    Ok(Json(serde_json::json!({
        "instruments": state.instruments.instruments().map(|l| instrument_json(l.instrument())).collect::<Vec<_>>(),
        "refused": state.instruments.errors().iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/v1/outcome-schedules`.
async fn api_schedules(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if !may_view_instruments(&user) {
        return Err(AppError::Forbidden);
    }
    let schedules = state.store.outcome_schedules().await?;
    Ok(Json(serde_json::json!({
        "schedules": schedules.iter().map(|s| serde_json::json!({
            "service_id": s.service.get(),
            "service": s.service_name,
            "instrument": s.instrument,
            "follow_up_days": s.follow_up_days,
            "at_discharge": s.at_discharge,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/outcome-schedules`: `service`, `schedule_instrument`, `follow_up_days`,
/// `at_discharge` ("yes").
async fn api_schedule(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_schedule(&state, &user, &p).await? {
        Ok(()) => Ok(Json(serde_json::json!({ "ok": true })).into_response()),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

fn record_json(r: &OutcomeRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "instrument": r.instrument,
        "version": r.version,
        "taken_on": r.taken_on.to_string(),
        "point": r.point.code(),
        "recorded_by": r.by,
        "scores": r.scores.iter().map(|s| serde_json::json!({
            "scale": s.scale,
            "name": s.name,
            "reported": s.reported,
            "raw": s.raw,
            "band": s.band,
            "level": s.level,
        })).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/cases/{id}/outcomes`: the measures on a case, through the access policy.
async fn api_case_outcomes(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let c = state
        .store
        .case_for(&user.principal, CaseId::new(id))
        .await?;
    Ok(Json(serde_json::json!({
        "outcomes": c.outcomes.iter().map(record_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/cases/{id}/outcomes`: `instrument`, `taken` (ISO date), `point`, and
/// `item_{id}` per question (`external_{scale}` and `level_{scale}` for external scales).
async fn api_record(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    let instrument = instrument_of(&state, p.get("instrument"))?;
    match run_record(&state, &user, CaseId::new(id), instrument, &p).await? {
        Ok(record) => Ok((
            StatusCode::CREATED,
            Json(
                serde_json::json!({ "id": record, "href": format!("/api/v1/cases/{id}/outcomes") }),
            ),
        )
            .into_response()),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

// ----- The service's paired change, for team and board reports ------------------------------------------

pub use careweave_store::outcomes::ChangeRow;

/// The paired change per instrument scale for `services`: each case's baseline against its latest
/// later measure, judged by the instrument's direction and meaningful change.
pub(super) async fn change_rows(
    state: &AppState,
    services: &[ServiceId],
) -> Result<Vec<ChangeRow>, AppError> {
    let pairs = state.store.outcome_pairs(services).await?;
    Ok(careweave_store::outcomes::paired_change(
        &pairs,
        &state.instruments,
    ))
}
