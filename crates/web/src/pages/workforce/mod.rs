//! The Workforce section (issue 18), for analysts, commissioners and supervisors (the PCN manager's
//! and commissioner's view): demand from the latest population run against the staff in post, by
//! role and competency level, with a to-be scenario beside the as-is, the assumptions register and
//! the waiting-list simulation ([`simulate`]).
//!
//! - `GET /workforce`: a place's demand and supply; with `scenario=1` and the scenario form's
//!   fields, the to-be scenario side by side (a refused form comes back with the error summary and
//!   422, typed values kept). The form uses GET because it changes nothing, so the result has an
//!   address that the CSV export repeats.
//! - `GET /workforce/export.csv`: the same figures as CSV through the one CSV writer.
//! - `GET /workforce/register` and `/workforce/register.csv`: every assumption with its source.
//!
//! Everything here is aggregate: population counts were disclosure-controlled by the engine, staff
//! are counted by role, and measured activity is shown only over more than 7 cases.

mod simulate;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use careweave_domain::access;
use careweave_domain::disclosure::SafeCount;
use careweave_store::population::PlaceChoice;
use careweave_store::workforce::{mean, Activity};
use careweave_workforce::demand::{Plan, Post, RoleLine};
use careweave_workforce::scenario::ScenarioForm;
use careweave_workforce::{
    output, plan, Level, Model, PlaceCounts, ProfileCell, Scenario, Vocabulary,
};
use serde::Deserialize;

use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/workforce", get(overview))
        .route("/workforce/export.csv", get(export))
        .route("/workforce/register", get(register))
        .route("/workforce/register.csv", get(register_csv))
        .merge(simulate::routes())
}

/// The model the pages plan with: the shipped one (a deployment's own file is read by the
/// command line; the web app shows the shipped, illustrative register until that is configured).
fn model() -> Result<Model, AppError> {
    Model::defaults(&Vocabulary::default())
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("the shipped workforce model: {e}")))
}

/// Today's date for the measured-activity window, from the deployment's one clock.
fn today(state: &AppState) -> chrono::NaiveDate {
    state.clock.today()
}

fn allowed(user: &CurrentUser) -> Result<(), AppError> {
    if access::can_read_aggregates(&user.principal) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The query of the overview and its export: the place and the scenario form.
#[derive(Debug, Default, Deserialize)]
struct PlanQuery {
    place: Option<String>,
    scenario: Option<String>,
    #[serde(flatten)]
    form: ScenarioForm,
}

fn place_value(p: &PlaceChoice) -> String {
    format!("{}:{}", p.level, p.place)
}

fn place_label(p: &PlaceChoice) -> String {
    let kind = if p.level == "pcn" { "PCN" } else { "Practice" };
    format!(
        "{kind}: {}",
        p.place_name.clone().unwrap_or_else(|| p.place.clone())
    )
}

/// Everything a plan needs from the store.
struct Planned {
    places: Vec<PlaceChoice>,
    chosen: Option<PlaceChoice>,
    as_is: Option<Plan>,
    to_be: Option<Plan>,
    errors: FormErrors,
    /// Roles in post that the model does not plan for (GPs, managers), by label and WTE.
    other_posts: Vec<(String, f64)>,
}

fn posts_of(
    model: &Model,
    staff: &[careweave_store::workforce::StaffPost],
) -> (Vec<Post>, Vec<(String, f64)>) {
    let mut posts = Vec::new();
    let mut other: Vec<(String, f64)> = Vec::new();
    for s in staff {
        if model.role(&s.role).is_some() {
            posts.push(Post {
                role: s.role.clone(),
                wte: s.wte,
                arrs: s.funding == careweave_domain::FundingStream::Arrs.code(),
                employer: Some(s.employer.clone()),
            });
        } else {
            let label = careweave_domain::StaffRole::from_code(&s.role)
                .map_or_else(|| s.role.clone(), |r| r.label().to_owned());
            match other.iter_mut().find(|(l, _)| *l == label) {
                Some(e) => e.1 += s.wte,
                None => other.push((label, s.wte)),
            }
        }
    }
    (posts, other)
}

async fn planned(state: &AppState, model: &Model, q: &PlanQuery) -> Result<Planned, AppError> {
    let vocab = Vocabulary::default();
    let mut out = Planned {
        places: Vec::new(),
        chosen: None,
        as_is: None,
        to_be: None,
        errors: FormErrors::default(),
        other_posts: Vec::new(),
    };
    let Some(run) = state.store.latest_population_run().await? else {
        return Ok(out);
    };
    out.places = state
        .store
        .population_places(run.id)
        .await?
        .into_iter()
        .filter(|p| p.level == "pcn" || p.level == "practice")
        .collect();
    out.chosen = q
        .place
        .as_deref()
        .and_then(|v| out.places.iter().find(|p| place_value(p) == v))
        .or_else(|| out.places.iter().find(|p| p.level == "pcn"))
        .cloned();
    let Some(chosen) = &out.chosen else {
        return Ok(out);
    };
    let cells: Vec<ProfileCell> = state
        .store
        .population_profile(run.id, &chosen.level, &chosen.place)
        .await?
        .into_iter()
        .map(|c| ProfileCell {
            level: c.level,
            place: c.place,
            place_name: c.place_name,
            dimension: c.dimension,
            category: c.category,
            people: c.people,
        })
        .collect();
    let counts = PlaceCounts::from_cells(&cells, &vocab)
        .into_iter()
        .next()
        .unwrap_or_default();
    // Staff in post serve the whole neighbourhood, so supply is set against the PCN's demand; a
    // practice's view shows its demand alone.
    let (posts, other) = if chosen.level == "pcn" {
        posts_of(model, &state.store.staff_in_post().await?)
    } else {
        (Vec::new(), Vec::new())
    };
    out.other_posts = other;
    out.as_is = Some(plan(model, &counts, &posts, &Scenario::as_is()));
    if q.scenario.is_some() {
        match q.form.parse(model, &vocab) {
            Ok(s) => out.to_be = Some(plan(model, &counts, &posts, &s)),
            Err(errors) => {
                for e in errors {
                    out.errors.add(&e.field, e.message);
                }
            }
        }
    }
    Ok(out)
}

/// A row of the side-by-side table, formatted.
struct RoleRow {
    role: String,
    demand: String,
    supply: String,
    gap: String,
    gap_cost: String,
    to_be_demand: String,
    to_be_supply: String,
    to_be_gap: String,
    to_be_gap_cost: String,
    lines: Vec<usize>,
}

struct LevelRow {
    level: &'static str,
    demand: String,
    supply: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct Check {
    what: &'static str,
    assumed: String,
    line: usize,
    measured: String,
}

#[derive(Template)]
#[template(path = "workforce/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    has_run: bool,
    places: Vec<Choice>,
    place_title: String,
    is_pcn: bool,
    people: String,
    people_core20: String,
    hidden_cells: usize,
    demand_hours: String,
    core20_hours: String,
    core20_share: String,
    demand_wte: String,
    supply_wte: String,
    productive_hours: String,
    productive_lines: Vec<usize>,
    arrs_budget: String,
    arrs_used: String,
    arrs_left: String,
    arrs_line: usize,
    roles: Vec<RoleRow>,
    levels: Vec<LevelRow>,
    role_chart: String,
    level_chart: String,
    other_posts: Vec<(String, String)>,
    checks: Vec<Check>,
    measured_cases: String,
    to_be_name: Option<String>,
    to_be_arrs: String,
    errors: FormErrors,
    form: ScenarioForm,
    needs: Vec<Choice>,
    levels_from: Vec<Choice>,
    levels_to: Vec<Choice>,
    post_roles: Vec<Choice>,
    export_query: String,
    place_value: String,
}

fn wte(v: f64) -> String {
    format!("{v:.2}")
}

fn pounds(v: f64) -> String {
    let n = v.round();
    let sign = if n < 0.0 { "−" } else { "" };
    #[allow(clippy::cast_possible_truncation)]
    let digits = (n.abs() as i64).to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}£{grouped}")
}

fn lines(model: &Model, ids: &[String]) -> Vec<usize> {
    model.register.numbers(ids)
}

fn line(model: &Model, id: &str) -> usize {
    model.register.number(id).unwrap_or(0)
}

fn choices(options: Vec<(String, String)>, selected: &str) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

/// Measured activity shown only over more than 7 cases, like every published count.
fn measured(values: &[f64], unit: &str) -> String {
    match (
        SafeCount::from_raw(values.len() as u64).value(),
        mean(values),
    ) {
        (Some(_), Some(m)) => format!("{m:.1} {unit}"),
        _ => "Not enough cases to show (7 or fewer)".to_owned(),
    }
}

fn role_rows(model: &Model, as_is: &Plan, to_be: Option<&Plan>) -> Vec<RoleRow> {
    as_is
        .roles
        .iter()
        .map(|r| {
            let other: Option<&RoleLine> =
                to_be.and_then(|p| p.roles.iter().find(|x| x.role == r.role));
            let mut ids = r.register.clone();
            if let Some(o) = other {
                ids.extend(o.register.iter().cloned());
            }
            RoleRow {
                role: r.role_name.clone(),
                demand: wte(r.demand_wte),
                supply: wte(r.supply_wte),
                gap: wte(r.gap_wte),
                gap_cost: pounds(r.gap_cost),
                to_be_demand: other.map(|o| wte(o.demand_wte)).unwrap_or_default(),
                to_be_supply: other.map(|o| wte(o.supply_wte)).unwrap_or_default(),
                to_be_gap: other.map(|o| wte(o.gap_wte)).unwrap_or_default(),
                to_be_gap_cost: other.map(|o| pounds(o.gap_cost)).unwrap_or_default(),
                lines: lines(model, &ids),
            }
        })
        .collect()
}

fn query_string(q: &PlanQuery) -> String {
    let f = &q.form;
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(p) = &q.place {
        pairs.push(("place", p));
    }
    if q.scenario.is_some() {
        pairs.push(("scenario", "1"));
        for (k, v) in [
            ("name", &f.name),
            ("need", &f.need),
            ("coverage", &f.coverage),
            ("shift_from", &f.shift_from),
            ("shift_to", &f.shift_to),
            ("shift_percent", &f.shift_percent),
            ("post_role", &f.post_role),
            ("post_wte", &f.post_wte),
            ("post_arrs", &f.post_arrs),
        ] {
            pairs.push((k, v));
        }
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

#[allow(clippy::too_many_lines)]
async fn overview(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<PlanQuery>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    allowed(&user)?;
    let model = model()?;
    let p = planned(&state, &model, &q).await?;
    let today = today(&state);
    let activity: Activity = state
        .store
        .measured_activity(None, today - chrono::Days::new(364), today)
        .await?;
    let s = &model.settings;
    let checks = vec![
        Check {
            what: "Contacts in an episode of support",
            assumed: careweave_workforce::fmt_number(s.contacts_per_case),
            line: line(&model, "settings.contacts_per_case"),
            measured: measured(&activity.contacts_per_case, "contacts"),
        },
        Check {
            what: "Weeks from the start of support to discharge",
            assumed: careweave_workforce::fmt_number(s.episode_weeks),
            line: line(&model, "settings.episode_weeks"),
            measured: measured(&activity.episode_weeks, "weeks"),
        },
        Check {
            what: "Days from referral to the first contact",
            assumed: careweave_workforce::fmt_number(s.days_to_first_contact),
            line: line(&model, "settings.days_to_first_contact"),
            measured: measured(&activity.days_to_first_contact, "days"),
        },
    ];
    let chosen_value = p.chosen.as_ref().map(place_value).unwrap_or_default();
    let needs = std::iter::once((String::new(), "No change".to_owned()))
        .chain(model.needs.iter().map(|n| {
            let name = model
                .function(&n.function)
                .map_or(n.function.as_str(), |f| f.name.as_str());
            (
                format!("{}|{}", n.function, n.group.code()),
                format!(
                    "{name}, {} (now {}%)",
                    n.group.label(),
                    careweave_workforce::fmt_number(n.coverage * 100.0)
                ),
            )
        }))
        .collect();
    let level_options = |none: &str| {
        std::iter::once((String::new(), none.to_owned()))
            .chain(
                Level::ALL
                    .iter()
                    .map(|l| (l.code().to_owned(), l.label().to_owned())),
            )
            .collect::<Vec<_>>()
    };
    let post_roles = std::iter::once((String::new(), "No post added".to_owned()))
        .chain(model.roles.iter().map(|r| (r.id.clone(), r.name.clone())))
        .collect();
    let mut page = OverviewPage {
        chrome: Chrome::signed_in("Workforce", &csrf, &user, "/workforce"),
        has_run: !p.places.is_empty(),
        places: p
            .places
            .iter()
            .map(|c| Choice {
                value: place_value(c),
                label: place_label(c),
                selected: place_value(c) == chosen_value,
            })
            .collect(),
        place_title: p.chosen.as_ref().map(place_label).unwrap_or_default(),
        is_pcn: p.chosen.as_ref().is_some_and(|c| c.level == "pcn"),
        people: String::new(),
        people_core20: String::new(),
        hidden_cells: 0,
        demand_hours: String::new(),
        core20_hours: String::new(),
        core20_share: String::new(),
        demand_wte: String::new(),
        supply_wte: String::new(),
        productive_hours: careweave_workforce::fmt_number(s.productive_hours()),
        productive_lines: lines(
            &model,
            &[
                "settings.contracted_hours",
                "settings.leave",
                "settings.training",
                "settings.travel",
            ]
            .map(str::to_owned),
        ),
        arrs_budget: pounds(s.arrs_budget),
        arrs_used: String::new(),
        arrs_left: String::new(),
        arrs_line: line(&model, "settings.arrs_budget"),
        roles: Vec::new(),
        levels: Vec::new(),
        role_chart: String::new(),
        level_chart: String::new(),
        other_posts: p
            .other_posts
            .iter()
            .map(|(l, w)| (l.clone(), wte(*w)))
            .collect(),
        checks,
        measured_cases: SafeCount::from_raw(activity.discharged).to_string(),
        to_be_name: p.to_be.as_ref().map(|t| t.scenario.clone()),
        to_be_arrs: String::new(),
        errors: FormErrors::default(),
        needs: choices(needs, &q.form.need),
        levels_from: choices(level_options("No change"), &q.form.shift_from),
        levels_to: choices(level_options("Choose a level"), &q.form.shift_to),
        post_roles: choices(post_roles, &q.form.post_role),
        form: q.form.clone(),
        export_query: query_string(&q),
        place_value: chosen_value,
    };
    if let Some(a) = &p.as_is {
        page.people = a.people.to_string();
        page.people_core20 = a.people_core20.to_string();
        page.hidden_cells = a.hidden_cells;
        page.demand_hours = format!("{:.0}", a.total_hours);
        page.core20_hours = format!("{:.0}", a.core20_hours);
        page.core20_share = if a.total_hours > 0.0 {
            format!("{:.0}%", 100.0 * a.core20_hours / a.total_hours)
        } else {
            "0%".to_owned()
        };
        page.demand_wte = wte(a.demand_wte());
        page.supply_wte = wte(a.supply_wte());
        page.arrs_used = pounds(a.arrs.used);
        page.arrs_left = pounds(a.arrs.left);
        page.roles = role_rows(&model, a, p.to_be.as_ref());
        page.levels = Level::ALL
            .iter()
            .map(|l| LevelRow {
                level: l.label(),
                demand: format!("{:.0}", a.hours_by_level.get(l).copied().unwrap_or(0.0)),
                supply: format!("{:.0}", a.supply_by_level.get(l).copied().unwrap_or(0.0)),
            })
            .collect();
        // The to-be's chart when there is one: the as-is is in the table beside it.
        let shown = p.to_be.as_ref().unwrap_or(a);
        page.role_chart = careweave_workforce::html::role_chart(&model, shown);
        page.level_chart = careweave_workforce::html::level_chart(&model, shown);
        if let Some(t) = &p.to_be {
            page.to_be_arrs = format!("{} used, {} left", pounds(t.arrs.used), pounds(t.arrs.left));
        }
    }
    if p.errors.is_empty() {
        html(&page)
    } else {
        page.errors = p.errors;
        invalid(&page)
    }
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /workforce/export.csv`: demand, supply and gap by role for the as-is and, when the query
/// holds a valid scenario, the to-be.
async fn export(
    State(state): State<AppState>,
    Query(q): Query<PlanQuery>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    allowed(&user)?;
    let model = model()?;
    let p = planned(&state, &model, &q).await?;
    let plans: Vec<Plan> = p.as_is.into_iter().chain(p.to_be).collect();
    Ok(csv_response(
        "careweave-workforce.csv",
        output::roles_csv(&plans, &model.register),
    ))
}

struct RegisterRow {
    line: usize,
    what: String,
    value: String,
    unit: &'static str,
    source: String,
    illustrative: bool,
}

#[derive(Template)]
#[template(path = "workforce/register.html")]
struct RegisterPage {
    chrome: Chrome,
    rows: Vec<RegisterRow>,
}

/// `GET /workforce/register`: the assumptions register.
async fn register(
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    allowed(&user)?;
    let model = model()?;
    let rows = model
        .register
        .lines()
        .iter()
        .enumerate()
        .map(|(i, a)| RegisterRow {
            line: i + 1,
            what: a.what.clone(),
            value: careweave_workforce::fmt_number(a.value),
            unit: a.unit,
            source: a.source.clone(),
            illustrative: a.illustrative,
        })
        .collect();
    html(&RegisterPage {
        chrome: Chrome::signed_in("Workforce assumptions", &csrf, &user, "/workforce"),
        rows,
    })
}

/// `GET /workforce/register.csv`.
async fn register_csv(user: CurrentUser) -> Result<Response, AppError> {
    allowed(&user)?;
    Ok(csv_response(
        "careweave-workforce-assumptions.csv",
        model()?.register.to_csv(),
    ))
}
