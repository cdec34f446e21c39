//! The person's copy of their plan: a page written to them ("you") to print and hand over or
//! post, from the same case read as the case page (so the read is audited the same way). Sending
//! it by email waits for the outbox another piece of work is building.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use careweave_domain::casework::CaseId;
use careweave_store::casework::{CaseView, PlanAction};
use chrono::NaiveDate;

use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "casework/plan_letter.html")]
struct PlanLetter {
    chrome: Chrome,
    c: CaseView,
    /// Actions not yet done, soonest first: what the person and the team will do next.
    open_actions: Vec<PlanAction>,
    today: NaiveDate,
}

/// `GET /cases/{id}/plan-letter`: for those who may change the case, who are the ones who give
/// the person their plan; anyone else who may read the case is refused (403).
pub(super) async fn plan_letter(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let c = state
        .store
        .case_for(&user.principal, CaseId::new(id))
        .await?;
    if !c.can_edit {
        return Err(AppError::Forbidden);
    }
    let mut open_actions: Vec<PlanAction> = c
        .plan
        .actions
        .iter()
        .filter(|a| a.done_on.is_none())
        .cloned()
        .collect();
    open_actions.sort_by_key(|a| a.due_on);
    html(&PlanLetter {
        chrome: Chrome::signed_in(
            &format!("{} – plan to print", c.person_name),
            &csrf,
            &user,
            "/casework",
        ),
        c,
        open_actions,
        today: state.clock.today(),
    })
}
