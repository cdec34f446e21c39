//! The place partnership workspace (issue 20): one workspace per place for the organisations that
//! plan its care together. Only partners open it (`domain::place::place_access`, asked by the
//! store's `open_workspace`); anyone else gets 403 in the same words whether or not it exists.
//!
//! - `workspace`: the list, starting a workspace, and the workspace page (population profile
//!   with charts, cohort sizes, links to workforce and evaluation results, partners, open actions).
//! - `community`: survey imports (CSV pasted in, refused when a column identifies people, rejected
//!   rows listed with line and field), themes by group through disclosure control, notes.
//! - `questions`: the clinical group's four answers with their evidence, and the good-practice
//!   catalogue (shipped entries and the partnership's own).
//! - `solutions`: solution-building events with proposals, decisions and actions followed up
//!   until done.
//! - `assessment`: the integration self-assessment by ICS tier, compared over time, its action
//!   plan, the CSV export and the printable page.

mod assessment;
mod community;
mod questions;
mod solutions;
mod workspace;

use axum::routing::{get, post};
use axum::Router;
use careweave_domain::access::Principal;
use careweave_store::place::Workspace;

use crate::error::AppError;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/place", get(workspace::list))
        .route(
            "/place/new",
            get(workspace::new_form).post(workspace::create),
        )
        .route("/place/{id}", get(workspace::show))
        .route("/place/{id}/partners", post(workspace::add_partner))
        .route("/place/{id}/community", get(community::page))
        .route("/place/{id}/surveys", post(community::import))
        .route("/place/{id}/notes", post(community::add_note))
        .route("/place/{id}/themes", post(community::add_theme))
        .route("/place/{id}/questions", get(questions::page))
        .route("/place/{id}/questions/{question}", post(questions::save))
        .route(
            "/place/{id}/catalogue",
            get(questions::catalogue).post(questions::add_practice),
        )
        .route(
            "/place/{id}/events",
            get(solutions::page).post(solutions::add_event),
        )
        .route("/place/{id}/actions/{action}/done", post(solutions::done))
        .route("/place/{id}/assessment", get(assessment::page))
        .route(
            "/place/{id}/assessment/new",
            get(assessment::new_form).post(assessment::create),
        )
        .route("/place/{id}/assessment.csv", get(assessment::csv))
        .route(
            "/place/{id}/assessment/{assessment}/print",
            get(assessment::print),
        )
}

/// Who sees the Place link: the roles that take part in partnerships.
pub fn can_see(who: &Principal) -> bool {
    careweave_domain::place::takes_part_in_places(who)
}

/// Opens the workspace in the address for the signed-in user, or refuses (403) when they are not a
/// partner.
async fn open(state: &AppState, user: &CurrentUser, id: i64) -> Result<Workspace, AppError> {
    Ok(state.store.open_workspace(&user.principal, id).await?)
}

/// The sub-pages of a workspace, for the secondary navigation every workspace page shows.
const SECTIONS: [(&str, &str); 6] = [
    ("", "Overview"),
    ("/community", "Community views"),
    ("/questions", "Four questions"),
    ("/catalogue", "Good practice"),
    ("/events", "Solution building"),
    ("/assessment", "Self-assessment"),
];

/// One link of the workspace's navigation.
struct SectionLink {
    href: String,
    label: &'static str,
    current: bool,
}

fn sections(ws: &Workspace, current: &str) -> Vec<SectionLink> {
    SECTIONS
        .iter()
        .map(|&(path, label)| SectionLink {
            href: format!("/place/{}{path}", ws.id),
            label,
            current: path == current,
        })
        .collect()
}
