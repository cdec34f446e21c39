//! The population pages.
//!
//! - `/population`: the dashboard for analysts, commissioners and supervisors. Aggregates only:
//!   registered list sizes per practice and, once the population engine has been run and loaded,
//!   a place picker with the age/sex pyramid, Bridges to Health segments, risk tiers and equity
//!   breakdowns (segments by deprivation quintile and by ethnic group). Every count was suppressed
//!   and rounded by the engine; a hidden count reads "7 or fewer", never 0.
//! - `/population/worklists` and `/population/worklists/{cohort}`: case-finding worklists for
//!   workers and supervisors. They name people, so they are read through the audited
//!   `store::population::worklist` door, and each row links to the person's record, which is
//!   opened through `store::records` with its own access check.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use careweave_charts::{bar_chart, pyramid, shown};
use careweave_domain::access;
use careweave_domain::disclosure::SafeCount;
use careweave_store::population::{can_read_worklists, PlaceChoice, ProfileCell, WorklistEntry};
use serde::Deserialize;

use super::{html, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/population", get(overview))
        .route("/population/worklists", get(worklists))
        .route("/population/worklists/{cohort}", get(worklist))
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
            let bars = by_dim.get(dim)?;
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
                    })
                    .collect(),
            })
        })
        .collect()
}

fn place_value(p: &PlaceChoice) -> String {
    format!("{}:{}", p.level, p.place)
}

async fn overview(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<PlaceQuery>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if !access::can_read_aggregates(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let sizes = state.store.practice_list_sizes().await?;
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
        breakdowns: Vec::new(),
    };
    if let Some(run) = state.store.latest_population_run().await? {
        let places = state.store.population_places(run.id).await?;
        // The PCN is the natural first view; practices, LSOAs and localities are a choice away.
        let chosen = query
            .place
            .as_deref()
            .and_then(|q| places.iter().find(|p| place_value(p) == q))
            .or_else(|| places.iter().find(|p| p.level == "pcn"))
            .or_else(|| places.first());
        if let Some(chosen) = chosen {
            let cells = state
                .store
                .population_profile(run.id, &chosen.level, &chosen.place)
                .await?;
            page.place_title = format!(
                "{} {}",
                chosen.level.to_uppercase(),
                chosen
                    .place_name
                    .clone()
                    .unwrap_or_else(|| chosen.place.clone())
            );
            page.breakdowns = breakdowns(&cells);
        }
        page.places = places
            .iter()
            .map(|p| PlaceOption {
                value: place_value(p),
                label: format!(
                    "{}: {}",
                    p.level.to_uppercase(),
                    p.place_name.clone().unwrap_or_else(|| p.place.clone())
                ),
                selected: chosen.is_some_and(|c| c == p),
            })
            .collect();
        page.run_date = Some(run.index_date.to_string());
    }
    html(&page)
}

struct CohortLink {
    name: String,
    title: String,
}

#[derive(Template)]
#[template(path = "population_worklists.html")]
struct WorklistsPage {
    chrome: Chrome,
    cohorts: Vec<CohortLink>,
}

async fn worklists(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if !can_read_worklists(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let cohorts = match state.store.latest_population_run().await? {
        Some(run) => state.store.population_cohorts(run.id).await?,
        None => Vec::new(),
    };
    html(&WorklistsPage {
        chrome: Chrome::signed_in("Worklists", &csrf, &user, "/population/worklists"),
        cohorts: cohorts
            .into_iter()
            .map(|(name, title)| CohortLink { name, title })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "population_worklist.html")]
struct WorklistPage {
    chrome: Chrome,
    title: String,
    /// The cohort's name, carried into a referral started from a row.
    cohort: String,
    entries: Vec<WorklistEntry>,
}

async fn worklist(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(cohort): Path<String>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let run = state
        .store
        .latest_population_run()
        .await?
        .ok_or(AppError::NotFound)?;
    let cohorts = state.store.population_cohorts(run.id).await?;
    let (name, title) = cohorts
        .into_iter()
        .find(|(n, _)| *n == cohort)
        .ok_or(AppError::NotFound)?;
    let entries = state
        .store
        .worklist(&user.principal, run.id, &name)
        .await?
        .ok_or(AppError::Forbidden)?;
    html(&WorklistPage {
        chrome: Chrome::signed_in(&title, &csrf, &user, "/population/worklists"),
        title,
        cohort: name,
        entries,
    })
}
