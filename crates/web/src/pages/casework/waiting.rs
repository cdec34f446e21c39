//! The one waiting list, in priority order, as a page and as JSON.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use careweave_domain::{OrganisationId, PersonId, ServiceId, TeamId};
use careweave_store::casework::{CaseworkService, WaitingFilter, WaitingList};
use serde::Deserialize;

use super::referrals::referral_choices;
use super::require_caseload;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WaitingQuery {
    service: String,
    practice: String,
    team: String,
    /// A name or NHS number to narrow the list to (read as every search box reads it).
    q: String,
    /// Set after a decline or redirect, to confirm the decision.
    decided: String,
    /// The page of the list to show, from 1.
    page: String,
}

/// Referrals on one page of the waiting list. A team's list can run to hundreds; a page of 50
/// is quicker to scan and keeps each page light for the server and for a tablet on poor signal.
const WAITING_PER_PAGE: usize = 50;

impl WaitingQuery {
    fn filter(&self) -> WaitingFilter {
        WaitingFilter {
            service: self.service.parse().ok().map(ServiceId::new),
            practice: self.practice.parse().ok().map(OrganisationId::new),
            team: self.team.parse().ok().map(TeamId::new),
        }
    }
}

#[derive(Template)]
#[template(path = "casework/waiting.html")]
struct WaitingPage {
    chrome: Chrome,
    list: WaitingList,
    /// This page's referrals, in priority order (the list's others are taken out).
    shown: Vec<careweave_store::casework::WaitingItem>,
    pager: crate::pages::Pagination,
    services: Vec<CaseworkService>,
    practices: Vec<(i64, String)>,
    teams: Vec<(i64, String)>,
    query: WaitingQuery,
    decided: Option<&'static str>,
    errors: crate::forms::FormErrors,
}

/// Keeps the referrals whose person matches `q` by name or NHS number; a problem with `q` (or a
/// date, which the list does not hold) is an error for the form.
fn narrow(
    referrals: &mut Vec<careweave_store::casework::WaitingItem>,
    q: &str,
    errors: &mut crate::forms::FormErrors,
) {
    use careweave_domain::search::PersonQuery;
    if q.trim().is_empty() {
        return;
    }
    match PersonQuery::parse(q) {
        Ok(PersonQuery::DateOfBirth(_)) => {
            errors.add("q", "Search the waiting list by name or NHS number");
        }
        Ok(query) => {
            referrals.retain(|r| query.matches(&r.name, "", r.nhs_number.as_ref(), None));
        }
        Err(e) => errors.add("q", e.to_string()),
    }
}

pub(super) async fn waiting(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(query): Query<WaitingQuery>,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let mut list = state
        .store
        .waiting_list(&user.principal, &query.filter(), state.clock.today())
        .await?;
    let mut errors = crate::forms::FormErrors::default();
    narrow(&mut list.referrals, &query.q, &mut errors);
    let pager = crate::pages::Pagination::new(
        list.referrals.len(),
        WAITING_PER_PAGE,
        &query.page,
        "/waiting-list",
        &[
            ("service", &query.service),
            ("practice", &query.practice),
            ("team", &query.team),
            ("q", &query.q),
        ],
    );
    let shown = list.referrals.drain(pager.range()).collect();
    let services = state.store.services_worked_by(&user.principal).await?;
    let mut teams: Vec<(i64, String)> = services
        .iter()
        .filter_map(|s| s.team.zip(s.team_name.clone()))
        .map(|(t, n)| (t.get(), n))
        .collect();
    teams.sort();
    teams.dedup();
    let page = WaitingPage {
        chrome: Chrome::signed_in("Waiting list", &csrf, &user, "/casework"),
        list,
        shown,
        pager,
        services,
        practices: referral_choices(&state).await?.practices,
        teams,
        decided: ["declined", "redirected"]
            .into_iter()
            .find(|d| *d == query.decided),
        query,
        errors,
    };
    if page.errors.is_empty() {
        html(&page)
    } else {
        crate::pages::invalid(&page)
    }
}

pub(super) async fn api_waiting(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<WaitingQuery>,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let list = state
        .store
        .waiting_list(&user.principal, &query.filter(), state.clock.today())
        .await?;
    let p = list.prioritisation;
    Ok(Json(serde_json::json!({
        "prioritisation": {
            "urgent": p.urgent, "soon": p.soon, "routine": p.routine,
            "per_week_waiting": p.per_week_waiting, "per_risk_flag": p.per_risk_flag, "cohort": p.cohort,
        },
        "referrals": list.referrals.iter().map(|r| serde_json::json!({
            "id": r.referral.get(),
            "person_id": r.person.map(PersonId::get),
            "name": r.name,
            "service": r.service,
            "practice": r.practice,
            "urgency": r.urgency.code(),
            "received_on": r.received_on.to_string(),
            "days_waiting": r.days_waiting,
            "priority": r.priority.total,
            "priority_parts": r.priority.parts.iter().map(|(l, n)| serde_json::json!({ "reason": l, "points": n })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "awaiting_worker": list.awaiting_worker.iter().map(|c| serde_json::json!({
            "case_id": c.case.get(), "name": c.name, "service": c.service, "opened_on": c.opened_on.to_string(),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}
