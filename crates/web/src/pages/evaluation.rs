//! The Evaluation section (issue 15), for PCN managers (supervisors), commissioners and analysts:
//! the latest impact evaluation stored by `careweave evaluation run --database` or the demo.
//!
//! - `GET /evaluation`: the estimates in plain English with the naive before/after beside each,
//!   value marked notional and not cashable, the month-by-month (event-study) charts with their
//!   tables, the balance table and the RE-AIM tables.
//! - `GET /evaluation/csv/{table}`: every table on the page as CSV through the one CSV writer.
//! - `GET /evaluation/board-pack`: the board pack (the offline HTML report) stored with the latest
//!   evaluation, to view or, with `?download=1`, to save.
//!
//! The page runs no evaluation: the evaluation needs the population engine and DataFusion, which
//! the web process does not carry. It shows what the store holds, which is aggregate and was
//! disclosure-controlled by the evaluation before it was stored.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use careweave_domain::access;
use careweave_store::evaluation::{Interval, OutcomeResult, StoredEvaluation, Summary, Table};
use serde::Deserialize;

use super::{html, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::reporting::csv_download;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/evaluation", get(page))
        .route("/evaluation/csv/{table}", get(csv))
        .route("/evaluation/board-pack", get(board_pack))
}

/// Who may see the page: the people who commission and run services and their analysts.
pub fn can_see(who: &access::Principal) -> bool {
    access::can_read_aggregates(who)
}

fn allowed(user: &CurrentUser) -> Result<(), AppError> {
    if can_see(&user.principal) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The outcomes with a month-by-month chart, in the order a reader cares about them.
const CHARTED: [&str; 3] = ["emergency_admissions", "ae_attendances", "gp_appointments"];

/// The outcomes with a sentence at the top of the page.
const HEADLINE: [&str; 4] = [
    "emergency_admissions",
    "ae_attendances",
    "gp_appointments",
    "cost",
];

fn figure(x: Option<f64>, money: bool) -> String {
    match x {
        Some(v) if money => {
            let sign = if v < 0.0 { "−" } else { "" };
            format!("{sign}£{:.0}", v.abs())
        }
        Some(v) => format!("{v:.2}").replace('-', "−"),
        None => "not estimable".to_owned(),
    }
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(
        || "not estimable".to_owned(),
        |v| format!("{:+.0}%", v * 100.0).replace('-', "−"),
    )
}

fn with_interval(i: &Interval, show: impl Fn(Option<f64>) -> String) -> String {
    format!("{} ({} to {})", show(i.estimate), show(i.low), show(i.high))
}

/// One row of the estimates table, formatted.
struct EstimateRow {
    label: String,
    supported_before: String,
    supported_after: String,
    naive: String,
    comparison_before: String,
    comparison_after: String,
    effect: String,
    relative: String,
}

impl EstimateRow {
    fn of(o: &OutcomeResult) -> Self {
        let money = o.outcome == "cost";
        Self {
            label: o.label.clone(),
            supported_before: figure(o.supported_rate_before, money),
            supported_after: figure(o.supported_rate_after, money),
            naive: format!(
                "{} ({})",
                figure(o.naive.estimate, money),
                percent(o.naive_relative.estimate)
            ),
            comparison_before: figure(o.comparison_rate_before, money),
            comparison_after: figure(o.comparison_rate_after, money),
            effect: with_interval(&o.did, |x| figure(x, money)),
            relative: with_interval(&o.relative, percent),
        }
    }
}

/// One outcome's month-by-month chart and the table of the same figures.
struct EventStudy {
    label: String,
    chart: String,
    rows: Vec<[String; 3]>,
}

fn event_study(s: &Summary, o: &OutcomeResult) -> EventStudy {
    let month = |k: usize| format!("{:+}", k as i64 - i64::from(s.months_before));
    let points = o
        .event_study
        .iter()
        .enumerate()
        .map(|(k, p)| careweave_charts::Point {
            x: month(k),
            y: p.estimate.unwrap_or(f64::NAN),
            interval: p.low.zip(p.high),
        })
        .collect();
    let chart = careweave_charts::line_chart(
        &format!(
            "{}: difference from comparators by month from the start, with its 95% confidence interval",
            o.label
        ),
        &[careweave_charts::Series {
            name: "Difference per person-year".to_owned(),
            points,
        }],
        Some("+0"),
    );
    let rows = o
        .event_study
        .iter()
        .enumerate()
        .map(|(k, p)| {
            [
                month(k),
                figure(p.estimate, false),
                format!("{} to {}", figure(p.low, false), figure(p.high, false)),
            ]
        })
        .collect();
    EventStudy {
        label: o.label.clone(),
        chart,
        rows,
    }
}

/// The value section, formatted.
struct ValueView {
    avoided: String,
    service_cost: String,
    return_per_pound: String,
}

#[derive(Template)]
#[template(path = "evaluation/page.html")]
struct Page {
    chrome: Chrome,
    stored: Option<StoredView>,
    /// Whether the latest evaluation was stored with its board pack.
    board_pack: bool,
}

struct StoredView {
    service: String,
    extract_date: String,
    method: String,
    months_before: u32,
    months_after: u32,
    disclosure_control: bool,
    sentences: Vec<String>,
    estimates: Vec<EstimateRow>,
    value: Option<ValueView>,
    studies: Vec<EventStudy>,
    /// The balance table, as a one-table list so that the page draws it like the others.
    balance: Vec<Table>,
    tables: Vec<Table>,
}

/// The balance table as published cells.
fn balance(s: &Summary) -> Table {
    let n = |x: Option<f64>| x.map_or_else(|| "not estimable".to_owned(), |v| format!("{v:.2}"));
    Table {
        key: "balance".to_owned(),
        caption: "Balance: standardised mean differences before and after matching (target below 0.1 in size)".to_owned(),
        columns: [
            "Variable",
            "Supported mean",
            "Others, before matching",
            "Comparators",
            "SMD before",
            "SMD after",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows: s
            .balance
            .iter()
            .map(|b| {
                vec![
                    b.variable.replace('_', " "),
                    n(b.supported_mean),
                    n(b.comparison_mean_before),
                    n(b.comparison_mean_after),
                    n(b.smd_before),
                    n(b.smd_after),
                ]
            })
            .collect(),
    }
}

/// The estimates as a table of published cells, for the CSV.
fn estimates_table(s: &Summary) -> Table {
    Table {
        key: "estimates".to_owned(),
        caption: "Use per person-year, naive change and estimated effect".to_owned(),
        columns: [
            "Outcome",
            "Supported before",
            "Supported after",
            "Naive change (relative)",
            "Comparison before",
            "Comparison after",
            "Estimated effect (95% CI)",
            "Relative effect (95% CI)",
            "In words",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows: s
            .outcomes
            .iter()
            .map(|o| {
                let r = EstimateRow::of(o);
                vec![
                    r.label,
                    r.supported_before,
                    r.supported_after,
                    r.naive,
                    r.comparison_before,
                    r.comparison_after,
                    r.effect,
                    r.relative,
                    o.sentence.clone(),
                ]
            })
            .collect(),
    }
}

/// The event studies as one long table, for the CSV.
fn event_study_table(s: &Summary) -> Table {
    let mut rows = Vec::new();
    for o in s
        .outcomes
        .iter()
        .filter(|o| CHARTED.contains(&o.outcome.as_str()))
    {
        for r in event_study(s, o).rows {
            let [month, estimate, interval] = r;
            rows.push(vec![o.label.clone(), month, estimate, interval]);
        }
    }
    Table {
        key: "event_study".to_owned(),
        caption: "Difference from comparators by month from the start".to_owned(),
        columns: [
            "Outcome",
            "Month from the start",
            "Difference per person-year",
            "95% CI",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
    }
}

fn view(stored: &StoredEvaluation) -> StoredView {
    let s = &stored.summary;
    let by_key = |k: &str| s.outcomes.iter().find(|o| o.outcome == k);
    StoredView {
        service: s.service.clone(),
        extract_date: s.extract_date.clone(),
        method: s.method.clone(),
        months_before: s.months_before,
        months_after: s.months_after,
        disclosure_control: s.disclosure_control,
        sentences: HEADLINE
            .iter()
            .filter_map(|k| by_key(k))
            .map(|o| o.sentence.clone())
            .collect(),
        estimates: s.outcomes.iter().map(EstimateRow::of).collect(),
        value: s.value.as_ref().map(|v| ValueView {
            avoided: with_interval(&v.avoided_cost, |x| figure(x, true)),
            service_cost: figure(v.service_cost, true),
            return_per_pound: with_interval(&v.return_per_pound, |x| {
                x.map_or_else(|| "not estimable".to_owned(), |r| format!("£{r:.2}"))
            }),
        }),
        studies: CHARTED
            .iter()
            .filter_map(|k| by_key(k))
            .map(|o| event_study(s, o))
            .collect(),
        balance: vec![balance(s)],
        tables: s.tables.clone(),
    }
}

/// `GET /evaluation`.
async fn page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    allowed(&user)?;
    let stored = state.store.latest_evaluation().await?;
    let board_pack = state.store.latest_board_pack().await?.is_some();
    html(&Page {
        chrome: Chrome::signed_in("Impact evaluation", &csrf, &user, "/evaluation"),
        stored: stored.as_ref().map(view),
        board_pack,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct BoardPackQuery {
    download: Option<String>,
}

/// The policy the board pack is served under: the application's own, except that the pack's
/// inline stylesheets (it is one self-contained file, so its style is inside it) are allowed by
/// their hashes, and nothing else may load or run. The pack has no script.
fn board_pack_policy(html: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let mut hashes = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<style>") {
        let after = &rest[start + "<style>".len()..];
        let Some(end) = after.find("</style>") else {
            break;
        };
        let digest = sha2::Sha256::digest(&after.as_bytes()[..end]);
        hashes.push_str(&format!(
            " 'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ));
        rest = &after[end..];
    }
    format!(
        "default-src 'none'; img-src data:; style-src{}; script-src 'none'; form-action 'none'; \
         frame-ancestors 'none'; base-uri 'none'",
        if hashes.is_empty() {
            " 'none'"
        } else {
            &hashes
        }
    )
}

/// `GET /evaluation/board-pack`: the latest evaluation's board pack as it was written, for the same
/// readers as the page. It is aggregate and was disclosure-controlled when it was written.
async fn board_pack(
    State(state): State<AppState>,
    Query(q): Query<BoardPackQuery>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    allowed(&user)?;
    let html = state
        .store
        .latest_board_pack()
        .await?
        .ok_or(AppError::NotFound)?;
    let mut headers = vec![
        (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
        (header::CONTENT_SECURITY_POLICY, board_pack_policy(&html)),
    ];
    if q.download.is_some() {
        headers.push((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"careweave-board-pack.html\"".to_owned(),
        ));
    }
    let mut response = html.into_response();
    for (name, value) in headers {
        response.headers_mut().insert(
            name,
            HeaderValue::from_str(&value).map_err(|e| AppError::Unexpected(e.into()))?,
        );
    }
    Ok(response)
}

/// `GET /evaluation/csv/{table}`: one table of the latest evaluation.
async fn csv(
    State(state): State<AppState>,
    Path(key): Path<String>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    allowed(&user)?;
    let stored = state
        .store
        .latest_evaluation()
        .await?
        .ok_or(AppError::NotFound)?;
    let s = &stored.summary;
    let table = match key.as_str() {
        "estimates" => estimates_table(s),
        "event_study" => event_study_table(s),
        "balance" => balance(s),
        other => s
            .tables
            .iter()
            .find(|t| t.key == other)
            .cloned()
            .ok_or(AppError::NotFound)?,
    };
    let mut w = careweave_csv::Writer::with_header(table.columns.iter().map(String::as_str));
    for row in &table.rows {
        w.record(row.iter().map(String::as_str));
    }
    Ok(csv_download(
        &format!("careweave-evaluation-{}.csv", table.key),
        w.finish(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_board_pack_policy_allows_its_own_styles_and_nothing_else() {
        let policy = board_pack_policy("<style>a{}</style><p>x</p><style>b{}</style>");
        assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
        assert!(policy.contains("script-src 'none'"));
        assert!(board_pack_policy("<p>no style</p>").contains("style-src 'none'"));
    }

    #[test]
    fn figures_show_signs_as_a_reader_writes_them_and_never_a_raw_nan() {
        assert_eq!(figure(Some(-0.214), false), "−0.21");
        assert_eq!(figure(Some(-1234.4), true), "−£1234");
        assert_eq!(figure(None, false), "not estimable");
        assert_eq!(percent(Some(-0.2)), "−20%");
        assert_eq!(percent(Some(0.05)), "+5%");
    }
}
