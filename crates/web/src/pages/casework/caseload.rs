//! A worker's view of their work: the casework hub, their cases, "my day", and the casework lines on a person's record.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use careweave_domain::access::{Principal, Role};
use careweave_domain::PersonId;
use careweave_store::casework::{CaseListFilter, CaseSummary, MyDay, WaitingFilter};
use careweave_store::change::ActionError;
use chrono::NaiveDate;

use super::require_caseload;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "casework/hub.html")]
struct HubPage {
    chrome: Chrome,
    cases: Vec<CaseSummary>,
    waiting: usize,
    supervisor: bool,
}

pub(super) async fn hub(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let cases = state.store.my_cases(&user.principal).await?;
    let waiting = state
        .store
        .waiting_list(
            &user.principal,
            &WaitingFilter::default(),
            state.clock.today(),
        )
        .await?
        .referrals
        .len();
    html(&HubPage {
        chrome: Chrome::signed_in("Casework", &csrf, &user, "/casework"),
        cases,
        waiting,
        supervisor: user.principal.has_role(Role::Supervisor),
    })
}

#[derive(Template)]
#[template(path = "casework/caseload.html")]
struct CaseloadPage {
    chrome: Chrome,
    cases: Vec<CaseSummary>,
    today: NaiveDate,
    chosen: CaseListFilter,
    filters: [CaseListFilter; 3],
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct CaseloadQuery {
    status: String,
}

/// `GET /cases?status=open|discharged|all`: the worker's cases, open ones by default; a
/// discharged case stays findable (and reopenable) for as long as it stays open to its last workers.
pub(super) async fn caseload(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    axum::extract::Query(query): axum::extract::Query<CaseloadQuery>,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let filter = CaseListFilter::from_code(&query.status);
    let today = state.clock.today();
    html(&CaseloadPage {
        chrome: Chrome::signed_in("My cases", &csrf, &user, "/casework"),
        cases: state
            .store
            .my_cases_by_status(&user.principal, filter, today)
            .await?,
        today,
        chosen: filter,
        filters: CaseListFilter::ALL,
    })
}

#[derive(Template)]
#[template(path = "casework/my_day.html")]
struct MyDayPage {
    chrome: Chrome,
    day: MyDay,
    today: NaiveDate,
    now: chrono::NaiveDateTime,
    /// For supervisors: their staff's visits not checked out in time.
    overdue_visits: usize,
    supervises: bool,
}

pub(super) async fn my_day(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let now = state.clock.local_now();
    html(&MyDayPage {
        chrome: Chrome::signed_in("My day", &csrf, &user, "/casework"),
        day: state.store.my_day(&user.principal, now.date()).await?,
        today: now.date(),
        now,
        overdue_visits: state
            .store
            .overdue_visit_count(&user.principal, now)
            .await?,
        supervises: crate::pages::lone_working::supervises(&user),
    })
}

fn summary_json(c: &CaseSummary) -> serde_json::Value {
    serde_json::json!({
        "id": c.case.get(),
        "name": c.name,
        "service": c.service,
        "status": c.status.code(),
        "role": c.role.code(),
        "intensity": c.intensity.code(),
        "review_due_on": c.review_due_on.to_string(),
    })
}

pub(super) async fn api_caseload(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let cases = state.store.my_cases(&user.principal).await?;
    Ok(Json(cases.iter().map(summary_json).collect::<Vec<_>>()).into_response())
}

pub(super) async fn api_my_day(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let now = state.clock.local_now();
    let d = state.store.my_day(&user.principal, now.date()).await?;
    Ok(Json(serde_json::json!({
        "visits": d.visits.iter().map(|v| crate::pages::lone_working::visit_json(v, now)).collect::<Vec<_>>(),
        "reviews_due": d.reviews_due.iter().map(summary_json).collect::<Vec<_>>(),
        "overdue_actions": d.overdue_actions.iter().map(|a| serde_json::json!({
            "case_id": a.case.get(), "name": a.name, "action": a.text, "owner": a.owner, "due_on": a.due_on.to_string(),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// Casework lines shown on a person's record page, for those allowed to read it.
pub async fn person_section(
    state: &AppState,
    who: &Principal,
    person: PersonId,
) -> Result<Vec<(String, String)>, AppError> {
    let (cases, referrals) = match state.store.person_casework(who, person).await {
        Ok(x) => x,
        Err(ActionError::Denied) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut lines: Vec<(String, String)> = cases
        .into_iter()
        .map(|(id, service, status)| {
            (
                format!("/cases/{id}"),
                format!("{service}: case {}", status.label().to_lowercase()),
            )
        })
        .collect();
    lines.extend(
        referrals
            .into_iter()
            .filter(|(_, _, s)| *s == careweave_domain::casework::ReferralStatus::Waiting)
            .map(|(id, service, _)| {
                (
                    format!("/referrals/{id}"),
                    format!("{service}: referral waiting"),
                )
            }),
    );
    Ok(lines)
}
