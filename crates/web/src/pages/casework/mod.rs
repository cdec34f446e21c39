//! Casework pages and their JSON API: referral from anyone (including a public self-referral form),
//! the one waiting list, triage, the case page (team, timeline, assessment, plan, contacts, reviews,
//! carers, discharge), "my day", the message back to the GP, and team reports.
//!
//! One module per feature: [`referrals`], [`waiting`], [`triage`], [`caseload`] (hub, my cases,
//! my day), [`case_view`], the case's changes in [`actions`] with one parser per action in the
//! module of the section it changes ([`team`], [`contacts`], [`plan`], [`reviews`]),
//! [`gp_message`], the person's printable plan ([`letters`]) and [`reports`].
//!
//! Forms and the JSON API share one parser per action: a form arrives as name/value pairs and a
//! JSON body as an object of strings, both become [`Pairs`](crate::forms::Pairs), and the same
//! validation turns them into store types or into [`FormErrors`](crate::forms::FormErrors) (the
//! page re-renders with the error summary and what was typed; the API answers 422 with the same
//! messages). The store applies the access policy and audits; these modules only convert and
//! render.

mod actions;
mod case_view;
mod caseload;
mod contacts;
mod gp_message;
mod letters;
mod plan;
mod referrals;
mod reports;
mod reviews;
mod team;
mod triage;
mod waiting;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use careweave_domain::access::{self, Principal, Role};

use crate::error::AppError;
use crate::session::CurrentUser;
use crate::AppState;

/// The case page, which other features' forms on it (safeguarding, MDT) re-render with their
/// errors: composing a page, not borrowing a helper.
pub(super) use case_view::case_page;
pub use caseload::person_section;

/// The casework API's OpenAPI document, served at `/api/v1/casework/openapi.json`.
const OPENAPI: &str = include_str!("../../../templates/casework/openapi.json");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/casework", get(caseload::hub))
        .route(
            "/referrals/new",
            get(referrals::referral_form).post(referrals::referral_create),
        )
        .route(
            "/refer",
            get(referrals::public_form).post(referrals::public_create),
        )
        .route("/waiting-list", get(waiting::waiting))
        .route("/referrals/{id}", get(triage::referral_show))
        .route("/referrals/{id}/{action}", post(triage::referral_action))
        .route("/cases", get(caseload::caseload))
        .route("/my-day", get(caseload::my_day))
        .route("/cases/{id}", get(case_view::case_show))
        .route("/cases/{id}/gp-message", get(gp_message::gp_message_page))
        .route("/cases/{id}/plan-letter", get(letters::plan_letter))
        .route(
            "/cases/{id}/gp-message.json",
            get(gp_message::gp_message_json),
        )
        .route(
            "/cases/{id}/messages/{message}",
            get(gp_message::message_page),
        )
        .route(
            "/cases/{id}/messages/{message}/bundle.json",
            get(gp_message::message_bundle),
        )
        .route("/cases/{id}/{action}", post(actions::case_action))
        .route("/casework/reports", get(reports::reports))
        .route("/casework/reports.csv", get(reports::reports_csv))
        .route("/api/v1/referrals", post(referrals::api_referral_create))
        .route("/api/v1/referrals/{id}", get(referrals::api_referral))
        .route(
            "/api/v1/referrals/{id}/{action}",
            post(triage::api_referral_action),
        )
        .route("/api/v1/waiting-list", get(waiting::api_waiting))
        .route("/api/v1/cases", get(caseload::api_caseload))
        .route("/api/v1/my-day", get(caseload::api_my_day))
        .route("/api/v1/cases/{id}", get(case_view::api_case))
        .route(
            "/api/v1/cases/{id}/gp-message",
            get(gp_message::gp_message_json),
        )
        .route(
            "/api/v1/cases/{id}/{action}",
            post(actions::api_case_action),
        )
        .route("/api/v1/casework/reports", get(reports::api_reports))
        .route("/api/v1/casework/openapi.json", get(openapi))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

fn require_caseload(user: &CurrentUser) -> Result<(), AppError> {
    if access::has_caseload(&user.principal) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn may_refer(p: &Principal) -> bool {
    access::has_caseload(p) || p.has_role(Role::Referrer)
}
