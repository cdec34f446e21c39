//! Commissioners: the gaps report (unmet needs by area, disclosure-controlled).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use careweave_directory::Need;
use careweave_domain::access::{self};
use careweave_domain::disclosure::SafeCount;
use chrono::NaiveDate;

use super::require;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

/// One row of the gaps report.
pub struct GapRow {
    need: String,
    cells: Vec<SafeCount>,
    total: SafeCount,
}

#[derive(Template)]
#[template(path = "directory/gaps.html")]
struct GapsPage {
    chrome: Chrome,
    areas: Vec<String>,
    rows: Vec<GapRow>,
    area_totals: Vec<SafeCount>,
    total: SafeCount,
    since: NaiveDate,
}

pub(super) async fn gaps(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require(access::can_read_aggregates(&user.principal))?;
    let since = state.clock.today() - chrono::Duration::days(365);
    let counts = state.store.unmet_need_counts(since).await?;
    let areas: Vec<String> = {
        let mut a: Vec<String> = counts.iter().map(|c| c.area.clone()).collect();
        a.sort();
        a.dedup();
        a
    };
    let mut raw: BTreeMap<(String, String), u64> = BTreeMap::new();
    for c in &counts {
        raw.insert((c.need.clone(), c.area.clone()), c.count);
    }
    // Totals are added up from the raw counts and suppressed afterwards, never from rounded cells.
    let rows = Need::all()
        .map(|n| {
            let cell = |a: &String| {
                raw.get(&(n.id().to_owned(), a.clone()))
                    .copied()
                    .unwrap_or(0)
            };
            GapRow {
                need: n.name().to_owned(),
                cells: areas.iter().map(|a| SafeCount::from_raw(cell(a))).collect(),
                total: SafeCount::from_raw(areas.iter().map(cell).sum()),
            }
        })
        .collect();
    let area_totals = areas
        .iter()
        .map(|a| {
            SafeCount::from_raw(
                counts
                    .iter()
                    .filter(|c| &c.area == a)
                    .map(|c| c.count)
                    .sum(),
            )
        })
        .collect();
    let total = SafeCount::from_raw(counts.iter().map(|c| c.count).sum());
    html(&GapsPage {
        chrome: Chrome::signed_in("Service gaps", &csrf, &user, "/directory/gaps"),
        areas,
        rows,
        area_totals,
        total,
        since,
    })
}
