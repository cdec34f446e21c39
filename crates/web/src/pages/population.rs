//! The population pages.
//!
//! - `/population`: the dashboard for analysts, commissioners and supervisors (every place), and
//!   for practice staff and managers (their own practices, and their PCN: `store::population_scope`,
//!   so a GP sees their practice's profile, never another's). Aggregates only:
//!   registered list sizes per practice and, once the population engine has been run and loaded,
//!   a place picker with the age/sex pyramid, Bridges to Health segments, risk tiers and equity
//!   breakdowns (segments by deprivation quintile and by ethnic group). Every count was suppressed
//!   and rounded by the engine; a hidden count reads "7 or fewer", never 0.
//!
//! The case-finding worklists, which name people, are in `pages::worklists`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use careweave_charts::{bar_chart, pyramid, shown};
use careweave_domain::disclosure::SafeCount;
use careweave_store::population::{PlaceChoice, PopulationScope, ProfileCell};
use serde::Deserialize;

use super::{html, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::reporting::csv_download;
use crate::session::CurrentUser;
use crate::AppState;

/// Whether the menu offers the page to `user` (the page itself asks the store for the scope).
pub fn can_see(user: &CurrentUser) -> bool {
    careweave_store::population::sees_population(&user.principal, &user.organisation_kinds)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/population", get(overview))
        .route("/population.csv", get(overview_csv))
}

/// A level of place in words.
fn level_words(level: &str) -> &str {
    match level {
        "practice" => "GP practice",
        "pcn" => "Primary care network",
        "lsoa" => "Small area",
        "locality" => "Locality",
        other => other,
    }
}

/// A place as people read it: its name, and for a small area (whose name is not unique enough to
/// find it in other data) its name with its LSOA code.
fn place_words(p: &PlaceChoice) -> String {
    let name = p.place_name.clone().unwrap_or_else(|| p.place.clone());
    if p.level == "lsoa" && name != p.place {
        format!("{name} ({})", p.place)
    } else {
        name
    }
}

/// A long-term condition's name in words, from the engine's condition flag (the rule file's key,
/// such as `copd`); a deployment's own condition reads as its key in words.
fn condition_words(key: &str) -> String {
    let known = match key {
        "hypertension" => "High blood pressure",
        "diabetes" => "Diabetes",
        "asthma" => "Asthma",
        "copd" => "Chronic obstructive pulmonary disease (COPD)",
        "chd" => "Coronary heart disease",
        "heart_failure" => "Heart failure",
        "atrial_fibrillation" => "Atrial fibrillation",
        "stroke" => "Stroke or transient ischaemic attack",
        "ckd" => "Chronic kidney disease",
        "cancer" => "Cancer",
        "dementia" => "Dementia",
        "depression" => "Depression",
        "anxiety" => "Anxiety",
        "severe_mental_illness" => "Severe mental illness",
        "learning_disability" => "Learning disability",
        "chronic_pain" => "Chronic pain",
        "obesity" => "Obesity",
        "substance_misuse" => "Drug or alcohol misuse",
        "osteoarthritis" => "Osteoarthritis",
        "epilepsy" => "Epilepsy",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let spaced = key.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().collect::<String>() + chars.as_str()
    })
}

struct Row {
    practice: String,
    ods_code: String,
    people: SafeCount,
}

/// One row of a breakdown table with its published count.
struct Cell {
    label: String,
    people: String,
    /// The published count, `None` when hidden, for the CSV.
    count: Option<i64>,
}

/// One breakdown: a heading, a chart (inline SVG built here from numbers and escaped labels) and
/// the same figures as a table for screen readers and copying.
struct Breakdown {
    id: &'static str,
    heading: &'static str,
    chart: String,
    cells: Vec<Cell>,
}

struct PlaceOption {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "population.html")]
struct OverviewPage {
    chrome: Chrome,
    rows: Vec<Row>,
    total: SafeCount,
    run_date: Option<String>,
    places: Vec<PlaceOption>,
    place_title: String,
    /// The chosen place as the picker's value, for the CSV links.
    place_value: String,
    breakdowns: Vec<Breakdown>,
}

#[derive(Debug, Deserialize)]
struct PlaceQuery {
    place: Option<String>,
}

fn breakdowns(cells: &[ProfileCell]) -> Vec<Breakdown> {
    let mut by_dim: BTreeMap<&str, Vec<(String, Option<i64>)>> = BTreeMap::new();
    for c in cells {
        by_dim
            .entry(c.dimension.as_str())
            .or_default()
            .push((c.category.clone(), c.people));
    }
    let sections: [(&str, &str, &str); 8] = [
        ("age-sex", "age_band_sex", "Age and sex"),
        ("segments", "segment", "Bridges to Health segments"),
        ("tiers", "tier", "Risk tiers"),
        (
            "imd",
            "imd_quintile",
            "People by deprivation quintile (1 = most deprived)",
        ),
        ("ethnicity", "ethnic_group", "People by ethnic group"),
        ("prevalence", "prevalence", "Long-term conditions"),
        (
            "segments-imd",
            "segment_by_imd_quintile",
            "Equity: segments by deprivation quintile",
        ),
        (
            "segments-ethnicity",
            "segment_by_ethnic_group",
            "Equity: segments by ethnic group",
        ),
    ];
    sections
        .iter()
        .filter_map(|&(id, dim, heading)| {
            let mut bars = by_dim.get(dim)?.clone();
            if dim == "prevalence" {
                for (label, _) in &mut bars {
                    *label = condition_words(label);
                }
            }
            let bars = &bars;
            let chart = if dim == "age_band_sex" {
                pyramid(heading, bars)
            } else {
                bar_chart(heading, bars)
            };
            Some(Breakdown {
                id,
                heading,
                chart,
                cells: bars
                    .iter()
                    .map(|(l, v)| Cell {
                        label: l.clone(),
                        people: shown(*v),
                        count: *v,
                    })
                    .collect(),
            })
        })
        .collect()
}

fn place_value(p: &PlaceChoice) -> String {
    format!("{}:{}", p.level, p.place)
}

/// The place asked for, or the PCN, the natural first view (practices, LSOAs and localities
/// are a choice away).
fn choose<'a>(places: &'a [PlaceChoice], asked: Option<&str>) -> Option<&'a PlaceChoice> {
    asked
        .and_then(|q| places.iter().find(|p| place_value(p) == q))
        .or_else(|| places.iter().find(|p| p.level == "pcn"))
        .or_else(|| places.iter().find(|p| p.level == "practice"))
        .or_else(|| places.first())
}

#[derive(Debug, Deserialize)]
struct CsvQuery {
    place: Option<String>,
    table: String,
}

/// `GET /population.csv?place=…&table=…`: one of the page's tables as CSV through the one CSV
/// writer: `practices` (registered people by practice) or a breakdown of the place's profile by
/// its id. Counts are the published ones: a hidden count is "suppressed", never a number.
async fn overview_csv(
    State(state): State<AppState>,
    Query(query): Query<CsvQuery>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    // The same scope as the page: a practice's staff download their own practice's figures only.
    let Some(scope) = state.store.population_scope(&user.principal).await? else {
        return Err(AppError::Forbidden);
    };
    let published = |n: Option<i64>| n.map_or_else(|| "suppressed".to_owned(), |n| n.to_string());
    if query.table == "practices" {
        let mut w = careweave_csv::Writer::with_header(["Practice", "ODS code", "People"]);
        for s in state
            .store
            .practice_list_sizes()
            .await?
            .into_iter()
            .filter(|s| {
                s.ods_code
                    .as_deref()
                    .is_some_and(|c| scope.includes("practice", c))
                    || scope == PopulationScope::Everywhere
            })
        {
            w.record([
                s.practice,
                s.ods_code.unwrap_or_default(),
                published(
                    SafeCount::from_raw(s.people)
                        .value()
                        .and_then(|n| i64::try_from(n).ok()),
                ),
            ]);
        }
        return Ok(csv_download(
            "careweave-population-practices.csv",
            w.finish(),
        ));
    }
    let run = state
        .store
        .latest_population_run()
        .await?
        .ok_or(AppError::NotFound)?;
    let places: Vec<PlaceChoice> = state
        .store
        .population_places(run.id)
        .await?
        .into_iter()
        .filter(|p| scope.includes(&p.level, &p.place))
        .collect();
    let chosen = choose(&places, query.place.as_deref()).ok_or(AppError::NotFound)?;
    let cells = state
        .store
        .population_profile(run.id, &chosen.level, &chosen.place)
        .await?;
    let b = breakdowns(&cells)
        .into_iter()
        .find(|b| b.id == query.table)
        .ok_or(AppError::NotFound)?;
    let mut w = careweave_csv::Writer::with_header(["Place", "Group", "People"]);
    let place = place_words(chosen);
    for c in b.cells {
        w.record([place.clone(), c.label, published(c.count)]);
    }
    Ok(csv_download(
        &format!("careweave-population-{}.csv", b.id),
        w.finish(),
    ))
}

async fn overview(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<PlaceQuery>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let Some(scope) = state.store.population_scope(&user.principal).await? else {
        return Err(AppError::Forbidden);
    };
    let sizes: Vec<_> = state
        .store
        .practice_list_sizes()
        .await?
        .into_iter()
        .filter(|s| {
            s.ods_code
                .as_deref()
                .is_some_and(|c| scope.includes("practice", c))
                || scope == PopulationScope::Everywhere
        })
        .collect();
    // The total is suppressed and rounded on its own, from the raw sum, never from rounded cells.
    let total = SafeCount::from_raw(sizes.iter().map(|s| s.people).sum());
    let rows = sizes
        .into_iter()
        .map(|s| Row {
            practice: s.practice,
            ods_code: s.ods_code.unwrap_or_default(),
            people: SafeCount::from_raw(s.people),
        })
        .collect();
    let mut page = OverviewPage {
        chrome: Chrome::signed_in("Population", &csrf, &user, "/population"),
        rows,
        total,
        run_date: None,
        places: Vec::new(),
        place_title: String::new(),
        place_value: String::new(),
        breakdowns: Vec::new(),
    };
    if let Some(run) = state.store.latest_population_run().await? {
        let places: Vec<PlaceChoice> = state
            .store
            .population_places(run.id)
            .await?
            .into_iter()
            .filter(|p| scope.includes(&p.level, &p.place))
            .collect();
        // The PCN is the natural first view; practices, LSOAs and localities are a choice away.
        let chosen = choose(&places, query.place.as_deref());
        if let Some(chosen) = chosen {
            let cells = state
                .store
                .population_profile(run.id, &chosen.level, &chosen.place)
                .await?;
            page.place_title = format!("{}: {}", level_words(&chosen.level), place_words(chosen));
            page.place_value = place_value(chosen);
            page.breakdowns = breakdowns(&cells);
        }
        page.places = places
            .iter()
            .map(|p| PlaceOption {
                value: place_value(p),
                label: format!("{}: {}", level_words(&p.level), place_words(p)),
                selected: chosen.is_some_and(|c| c == p),
            })
            .collect();
        page.run_date = Some(run.index_date.to_string());
    }
    html(&page)
}
