//! Team reports: caseload, waits, sources and durations, disclosure-controlled outside the team.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use careweave_domain::casework::DURATION_BUCKETS;
use careweave_domain::disclosure::SafeCount;
use careweave_domain::ServiceId;
use careweave_store::casework::CaseworkReport;

use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::reporting::{count_text, report_scope};
use crate::session::CurrentUser;
use crate::AppState;

/// One row of a report table: a label and a count already disclosure-controlled when needed.
struct ReportRow {
    label: String,
    count: String,
    note: String,
}

#[derive(Template)]
#[template(path = "casework/reports.html")]
struct ReportsPage {
    chrome: Chrome,
    suppressed: bool,
    /// Outcome change per instrument scale: (instrument, scale, people, improved, share improved).
    outcome_change: Vec<(String, String, String, String, String)>,
    status: Vec<ReportRow>,
    workers: Vec<ReportRow>,
    practices: Vec<ReportRow>,
    employers: Vec<ReportRow>,
    funding: Vec<ReportRow>,
    sources: Vec<ReportRow>,
    durations: Vec<ReportRow>,
    waiting: String,
    median_wait: String,
    p90_wait: String,
    redirected: String,
    declined: String,
    reopened: String,
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

fn reports_page(chrome: Chrome, r: &CaseworkReport, suppress: bool) -> ReportsPage {
    let rows = |items: Vec<(String, u64, String)>| {
        items
            .into_iter()
            .map(|(label, n, note)| ReportRow {
                label,
                count: count_text(n, suppress),
                note,
            })
            .collect::<Vec<_>>()
    };
    let cap_note = |n: u64, cap: Option<u32>| match cap {
        Some(c) if n >= u64::from(c) && !suppress => format!("At or over the cap of {c}"),
        Some(c) => format!("Cap {c}"),
        None => String::new(),
    };
    // A wait shown to people outside the team would identify a person when few are waiting.
    let small = suppress && r.waiting <= careweave_domain::disclosure::SUPPRESS_AT_OR_BELOW;
    let wait = |q| match centile(&r.waiting_days, q) {
        _ if small => "Not shown for 7 or fewer".to_owned(),
        Some(d) => format!("{d} days"),
        None => "No one is waiting".to_owned(),
    };
    ReportsPage {
        chrome,
        suppressed: suppress,
        outcome_change: Vec::new(),
        status: rows(
            r.by_status
                .iter()
                .map(|(s, n)| (s.label().to_owned(), *n, String::new()))
                .collect(),
        ),
        workers: if suppress {
            Vec::new()
        } else {
            rows(
                r.caseload_by_worker
                    .iter()
                    .map(|(w, n, c)| (w.clone(), *n, cap_note(*n, *c)))
                    .collect(),
            )
        },
        practices: rows(
            r.by_practice
                .iter()
                .map(|(p, n, c)| (p.clone(), *n, cap_note(*n, *c)))
                .collect(),
        ),
        employers: rows(
            r.by_employer
                .iter()
                .map(|(e, n)| (e.clone(), *n, String::new()))
                .collect(),
        ),
        funding: rows(
            r.by_funding
                .iter()
                .map(|(f, n)| (f.clone(), *n, String::new()))
                .collect(),
        ),
        sources: rows(
            r.sources
                .iter()
                .map(|(s, n)| (s.label().to_owned(), *n, String::new()))
                .collect(),
        ),
        durations: rows(
            DURATION_BUCKETS
                .iter()
                .zip(&r.durations)
                .map(|((_, label), n)| ((*label).to_owned(), *n, String::new()))
                .collect(),
        ),
        waiting: count_text(r.waiting, suppress),
        median_wait: wait(0.5),
        p90_wait: wait(0.9),
        redirected: count_text(r.redirected, suppress),
        declined: count_text(r.declined, suppress),
        reopened: count_text(r.reopened, suppress),
    }
}

pub(super) async fn reports(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let (services, suppress) = report_scope(&state, &user.principal).await?;
    let report = state
        .store
        .casework_report(&services, state.clock.today())
        .await?;
    let ids: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    let mut page = reports_page(
        Chrome::signed_in("Casework reports", &csrf, &user, "/casework/reports"),
        &report,
        suppress,
    );
    page.outcome_change = crate::pages::outcomes::change_rows(&state, &ids)
        .await?
        .into_iter()
        .map(|r| {
            let share = r.share_text(suppress);
            (
                r.instrument,
                r.scale,
                count_text(r.pairs, suppress),
                count_text(r.improved, suppress),
                share,
            )
        })
        .collect();
    html(&page)
}

pub(super) async fn api_reports(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let (services, suppress) = report_scope(&state, &user.principal).await?;
    let r = state
        .store
        .casework_report(&services, state.clock.today())
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
        "duration_of_support": DURATION_BUCKETS.iter().zip(&r.durations).map(|((_, l), c)| serde_json::json!({ "bucket": l, "count": n(*c) })).collect::<Vec<_>>(),
        "outcome_change": change.iter().map(|c| serde_json::json!({
            "instrument": c.instrument, "scale": c.scale, "people_paired": n(c.pairs),
            "improved": n(c.improved), "stayed": n(c.stayed), "worsened": n(c.worsened),
            "share_improved": c.share_text(suppress),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}
