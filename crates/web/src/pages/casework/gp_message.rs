//! The message back to the GP, as a page and as structured JSON.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use careweave_domain::casework::{CaseId, DomainScore};
use careweave_store::casework::GpMessage;

use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "casework/gp_message.html")]
struct GpMessagePage {
    chrome: Chrome,
    m: GpMessage,
}

pub(super) async fn gp_message_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let m = state
        .store
        .gp_message(&user.principal, CaseId::new(id))
        .await?;
    html(&GpMessagePage {
        chrome: Chrome::signed_in("Message to the GP", &csrf, &user, "/casework"),
        m,
    })
}

/// The message as structured data under the PRSB Social Prescribing Information Standard's
/// headings, with SNOMED CT codes. Detail appears only when the person agreed to share it.
fn gp_message_value(m: &GpMessage) -> serde_json::Value {
    use serde_json::json;
    let coding: Vec<_> = m
        .codes
        .iter()
        .map(|(code, term)| json!({ "system": "http://snomed.info/sct", "code": code, "display": term }))
        .collect();
    json!({
        "standard": "PRSB Social Prescribing Information Standard (aligned headings)",
        "person_demographics": {
            "name": m.person_name,
            "nhs_number": m.nhs_number.as_digits(),
            "date_of_birth": m.date_of_birth.to_string(),
        },
        "gp_practice": { "name": m.practice },
        "referral_details": {
            "service": m.service,
            "service_type": m.service_kind.label(),
            "provider": m.provider,
            "date_received": m.referral_received_on.to_string(),
            "referral_source": m.referral_source.label(),
            "referrer": m.referrer,
            "reason_for_referral": m.reason,
        },
        "consent": {
            "share_detail_with_gp": m.share_detail,
            "note": if m.share_detail { "The person agreed to share details with their GP." } else { "The person did not agree to share details: codes and dates only." },
        },
        "coded_entries": coding,
        "needs_and_concerns": m.needs,
        "what_matters_to_me": m.what_matters,
        "support_offered": {
            "lead_worker": m.lead_worker,
            "support_started": m.episode_started_on.to_string(),
            "total_contacts": m.total_contacts,
            "contacts_by_type": m.contacts.iter().map(|(t, n)| json!({ "type": t.label(), "count": n })).collect::<Vec<_>>(),
        },
        "outcomes": {
            "life_domains": m.outcomes.iter().filter(|d| d.baseline.is_some()).map(|d| json!({
                "domain": d.label,
                "baseline": d.baseline.map(DomainScore::get),
                "latest": d.latest.map(DomainScore::get),
                "change": d.change.map(|c| c.describe()),
            })).collect::<Vec<_>>(),
            "goals": m.goals.iter().map(|g| json!({ "goal": g.text, "progress_percent": g.progress })).collect::<Vec<_>>(),
        },
        "discharge": m.discharge.as_ref().map(|d| json!({
            "date": d.on.to_string(),
            "reason": d.reason.label(),
            "destination": d.destination.label(),
            "gp_agreement": d.gp.label(),
            "summary": if d.summary.is_empty() { None } else { Some(&d.summary) },
        })),
    })
}

pub(super) async fn gp_message_json(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let m = state
        .store
        .gp_message(&user.principal, CaseId::new(id))
        .await?;
    let mut r = Json(gp_message_value(&m)).into_response();
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_str(&format!(
            "attachment; filename=\"gp-message-case-{id}.json\""
        ))
        .map_err(|e| AppError::Unexpected(e.into()))?,
    );
    Ok(r)
}
