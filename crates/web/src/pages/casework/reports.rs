//! Team reports: trends by month, caseload, waits, sources and durations, with charts, a CSV of
//! every table and a date range; disclosure-controlled outside the team (see `web::reporting`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use careweave_domain::casework::DURATION_BUCKETS;
use careweave_domain::disclosure::SafeCount;
use careweave_domain::ServiceId;
use careweave_store::casework::{CaseworkReport, ReportPeriod};
use careweave_store::outcomes::ChangeRow;

use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{errors_json, FormErrors, Pairs};
use crate::pages::{html, Chrome};
use crate::reporting::{
    count_text, csv_download, csv_of, outcome_change_table, period_from, period_query,
    report_scope, Cell, ChartKind, ChartSpec, ShownTable, Table,
};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "casework/reports.html")]
struct ReportsPage {
    chrome: Chrome,
    suppressed: bool,
    tables: Vec<ShownTable>,
    waiting: String,
    median_wait: String,
    p90_wait: String,
    redirected: String,
    declined: String,
    reopened: String,
    /// The date range's boxes as typed, and their errors.
    form: Pairs,
    errors: FormErrors,
    period_query: String,
    csv_path: &'static str,
}

fn centile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    // Nearest-rank centile: the smallest value with at least q of the values at or below it.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn bars(title: &'static str) -> Vec<ChartSpec> {
    vec![ChartSpec {
        title,
        kind: ChartKind::Bars,
        label: 0,
        value: 1,
    }]
}

fn months(title: &'static str, value: usize) -> ChartSpec {
    ChartSpec {
        title,
        kind: ChartKind::Months,
        label: 0,
        value,
    }
}

/// The report's tables, each shown with its charts, downloadable as CSV and disclosure-controlled
/// at each of those edges when the report leaves the team.
fn report_tables(r: &CaseworkReport, change: &[ChangeRow], suppress: bool) -> Vec<Table> {
    let labelled = |items: Vec<(String, u64)>| {
        items
            .into_iter()
            .map(|(label, n)| vec![Cell::Text(label), Cell::Count(n)])
            .collect::<Vec<_>>()
    };
    let cap_note = |n: u64, cap: Option<u32>| match cap {
        Some(c) if n >= u64::from(c) && !suppress => format!("At or over the cap of {c}"),
        Some(c) => format!("Cap {c}"),
        None => String::new(),
    };
    let mut tables = vec![
        Table {
            name: "months",
            title: "Referrals, new cases and discharges by month",
            headers: &["Month", "Referrals received", "Cases opened", "Discharges"],
            charts: vec![
                months("Referrals received by month", 1),
                months("Discharges by month", 3),
            ],
            rows: r
                .by_month
                .iter()
                .map(|(m, [received, opened, discharged])| {
                    vec![
                        Cell::Month(m.clone()),
                        Cell::Count(*received),
                        Cell::Count(*opened),
                        Cell::Count(*discharged),
                    ]
                })
                .collect(),
        },
        Table {
            name: "status",
            title: "Cases opened in these dates, by status now",
            headers: &["Status", "Cases"],
            charts: bars("Cases by status"),
            rows: labelled(
                r.by_status
                    .iter()
                    .map(|(s, n)| (s.label().to_owned(), *n))
                    .collect(),
            ),
        },
    ];
    if !suppress {
        tables.push(Table {
            name: "workers",
            title: "Caseload by lead worker, now",
            headers: &["Worker", "Open cases", "Capacity"],
            charts: bars("Open cases by lead worker"),
            rows: r
                .caseload_by_worker
                .iter()
                .map(|(w, n, c)| {
                    vec![
                        Cell::Text(w.clone()),
                        Cell::Count(*n),
                        Cell::Text(cap_note(*n, *c)),
                    ]
                })
                .collect(),
        });
    }
    tables.extend([
        Table {
            name: "practices",
            title: "Open cases by GP practice, now",
            headers: &["Practice", "Open cases", "Capacity"],
            charts: bars("Open cases by GP practice"),
            rows: r
                .by_practice
                .iter()
                .map(|(p, n, c)| {
                    vec![
                        Cell::Text(p.clone()),
                        Cell::Count(*n),
                        Cell::Text(cap_note(*n, *c)),
                    ]
                })
                .collect(),
        },
        Table {
            name: "employers",
            title: "Open cases by employer, now",
            headers: &["Employer", "Open cases"],
            charts: Vec::new(),
            rows: labelled(r.by_employer.clone()),
        },
        Table {
            name: "funding",
            title: "Open cases by funding stream, now",
            headers: &["Funding stream", "Open cases"],
            charts: Vec::new(),
            rows: labelled(r.by_funding.clone()),
        },
        outcome_change_table(
            "Outcome measures: change since the baseline",
            change,
            suppress,
        ),
        Table {
            name: "sources",
            title: "Referrals received in these dates, by source",
            headers: &["Source", "Referrals"],
            charts: bars("Referrals by source"),
            rows: labelled(
                r.sources
                    .iter()
                    .map(|(s, n)| (s.label().to_owned(), *n))
                    .collect(),
            ),
        },
        Table {
            name: "durations",
            title: "Duration of support of cases discharged in these dates",
            headers: &["Duration", "Cases"],
            charts: bars("Duration of support"),
            rows: labelled(
                DURATION_BUCKETS
                    .iter()
                    .zip(&r.durations)
                    .map(|((_, label), n)| ((*label).to_owned(), *n))
                    .collect(),
            ),
        },
    ]);
    tables
}

/// The report for one reader over the period in the address.
struct Report {
    tables: Vec<Table>,
    raw: CaseworkReport,
    /// Whether it leaves the team, so every count is disclosure-controlled.
    suppress: bool,
    period: ReportPeriod,
    /// Problems with the dates typed (the report then leaves that end open).
    errors: FormErrors,
}

async fn report_for(
    state: &AppState,
    who: &careweave_domain::access::Principal,
    form: &Pairs,
) -> Result<Report, AppError> {
    let (services, suppress) = report_scope(state, who).await?;
    let (period, errors) = period_from(form);
    let raw = state
        .store
        .casework_report_for(&services, state.clock.today(), &period)
        .await?;
    let ids: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    let change = crate::pages::outcomes::change_rows(state, &ids).await?;
    Ok(Report {
        tables: report_tables(&raw, &change, suppress),
        raw,
        suppress,
        period,
        errors,
    })
}

/// `GET /casework/reports?from…&to…`: the casework reports with their charts.
pub(super) async fn reports(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(query);
    let Report {
        tables,
        raw: r,
        suppress,
        period,
        errors,
    } = report_for(&state, &user.principal, &form).await?;
    // A wait shown to people outside the team would identify a person when few are waiting.
    let small = suppress && r.waiting <= careweave_domain::disclosure::SUPPRESS_AT_OR_BELOW;
    let wait = |q| match centile(&r.waiting_days, q) {
        _ if small => "Not shown for 7 or fewer".to_owned(),
        Some(d) => format!("{d} days"),
        None => "No one is waiting".to_owned(),
    };
    html(&ReportsPage {
        chrome: Chrome::signed_in("Casework reports", &csrf, &user, "/casework/reports"),
        suppressed: suppress,
        tables: tables.iter().map(|t| t.shown(suppress)).collect(),
        waiting: count_text(r.waiting, suppress),
        median_wait: wait(0.5),
        p90_wait: wait(0.9),
        redirected: count_text(r.redirected, suppress),
        declined: count_text(r.declined, suppress),
        reopened: count_text(r.reopened, suppress),
        form,
        errors,
        period_query: period_query(&period),
        csv_path: "/casework/reports.csv",
    })
}

/// `GET /casework/reports.csv?table=…&from=…&to=…`: one table as CSV, through the one CSV
/// writer, with the page's disclosure control and dates.
pub(super) async fn reports_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(query);
    let report = report_for(&state, &user.principal, &form).await?;
    let Some(t) = report.tables.iter().find(|t| t.name == form.get("table")) else {
        return Err(AppError::NotFound);
    };
    Ok(csv_download(
        &format!("careweave-casework-{}.csv", t.name),
        csv_of(t, report.suppress),
    ))
}

/// `GET /api/v1/casework/reports?from=…&to=…` (ISO dates, both optional).
pub(super) async fn api_reports(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (services, suppress) = report_scope(&state, &user.principal).await?;
    let (period, errors) = period_from(&Pairs(query));
    if !errors.is_empty() {
        return Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors));
    }
    let r = state
        .store
        .casework_report_for(&services, state.clock.today(), &period)
        .await?;
    let ids: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    let change = crate::pages::outcomes::change_rows(&state, &ids).await?;
    let n = |v: u64| -> serde_json::Value {
        if suppress {
            SafeCount::from_raw(v)
                .value()
                .map_or(serde_json::Value::Null, Into::into)
        } else {
            v.into()
        }
    };
    Ok(Json(serde_json::json!({
        "disclosure_controlled": suppress,
        "cases_by_status": r.by_status.iter().map(|(s, c)| serde_json::json!({ "status": s.code(), "count": n(*c) })).collect::<Vec<_>>(),
        "open_cases_by_practice": r.by_practice.iter().map(|(p, c, _)| serde_json::json!({ "practice": p, "count": n(*c) })).collect::<Vec<_>>(),
        "open_cases_by_employer": r.by_employer.iter().map(|(p, c)| serde_json::json!({ "employer": p, "count": n(*c) })).collect::<Vec<_>>(),
        "open_cases_by_funding_stream": r.by_funding.iter().map(|(p, c)| serde_json::json!({ "funding_stream": p, "count": n(*c) })).collect::<Vec<_>>(),
        "waiting": n(r.waiting),
        "referral_sources": r.sources.iter().map(|(s, c)| serde_json::json!({ "source": s.code(), "count": n(*c) })).collect::<Vec<_>>(),
        "redirected": n(r.redirected),
        "declined": n(r.declined),
        "reopened": n(r.reopened),
        "by_month": r.by_month.iter().map(|(m, [received, opened, discharged])| serde_json::json!({ "month": m, "referrals_received": n(*received), "cases_opened": n(*opened), "discharges": n(*discharged) })).collect::<Vec<_>>(),
        "duration_of_support": DURATION_BUCKETS.iter().zip(&r.durations).map(|((_, l), c)| serde_json::json!({ "bucket": l, "count": n(*c) })).collect::<Vec<_>>(),
        "outcome_change": change.iter().map(|c| serde_json::json!({
            "instrument": c.instrument, "scale": c.scale, "people_paired": n(c.pairs),
            "improved": n(c.improved), "stayed": n(c.stayed), "worsened": n(c.worsened),
            "share_improved": c.share_text(suppress),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}
