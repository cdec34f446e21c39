//! The message back to the GP, as a page and as structured JSON.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use careweave_domain::casework::{CaseId, DomainScore};
use careweave_domain::clock::Tz;
use careweave_store::casework::GpMessage;
use careweave_store::outbox::letter::sections;
use careweave_store::outbox::{MessageKind, MessageStatus, SentMessage, StoredMessage};
use chrono::{DateTime, Utc};

use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "casework/message.html")]
struct MessagePage {
    chrome: Chrome,
    case: i64,
    title: String,
    /// How the message went, for a stored message; `None` on a preview of one not yet sent.
    sent: Option<MessageLine>,
    via: Option<String>,
    attempts: u32,
    bundle: Option<String>,
    blocks: Vec<LetterBlock>,
}

/// A heading of the letter and its paragraphs.
struct LetterBlock {
    heading: String,
    lines: Vec<String>,
}

/// A message as the case page lists it, in words.
pub(super) struct MessageLine {
    pub id: i64,
    pub title: &'static str,
    pub recipient: String,
    pub written: String,
    pub status: &'static str,
    pub colour: &'static str,
    pub note: Option<String>,
}

fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%-d %B %Y at %H:%M")
        .to_string()
}

/// Each message's line for the case page: what, to whom, when and by whom it was written, and
/// how its delivery stands.
pub(super) fn message_lines(messages: &[SentMessage], zone: Tz) -> Vec<MessageLine> {
    messages
        .iter()
        .map(|m| {
            let error = m.last_error.as_deref().unwrap_or("no reason given");
            let (colour, note) = match m.status {
                MessageStatus::Sent | MessageStatus::Acknowledged => (
                    "nhsuk-tag--green",
                    m.acknowledged_at
                        .or(m.sent_at)
                        .map(|at| format!("on {}", local(at, zone))),
                ),
                MessageStatus::Queued if m.attempts == 0 => ("nhsuk-tag--grey", None),
                MessageStatus::Queued => (
                    "nhsuk-tag--yellow",
                    Some(format!(
                        "Tried {} time{} ({error}); trying again{}.",
                        m.attempts,
                        if m.attempts == 1 { "" } else { "s" },
                        m.next_attempt_at
                            .map(|at| format!(" after {}", local(at, zone)))
                            .unwrap_or_default()
                    )),
                ),
                MessageStatus::Failed => (
                    "nhsuk-tag--red",
                    Some(format!(
                        "Tried {} times ({error}). Send it to the practice another way.",
                        m.attempts
                    )),
                ),
            };
            MessageLine {
                id: m.id,
                title: m.kind.label(),
                recipient: m.recipient.clone(),
                written: match &m.created_by {
                    Some(by) => format!("{} by {by}", local(m.created_at, zone)),
                    None => local(m.created_at, zone),
                },
                status: m.status.label(),
                colour,
                note,
            }
        })
        .collect()
}

/// The letter's headings as stored: blocks apart by a blank line, each a heading line and its
/// paragraphs, after the title line.
fn stored_blocks(letter: &str) -> Vec<LetterBlock> {
    letter
        .trim_end()
        .split("\n\n")
        .skip(1)
        .map(|block| {
            let mut lines = block.lines().map(str::to_owned);
            LetterBlock {
                heading: lines.next().unwrap_or_default(),
                lines: lines.collect(),
            }
        })
        .collect()
}

fn stored_page(chrome: Chrome, case: CaseId, m: StoredMessage, zone: Tz) -> MessagePage {
    let sent = message_lines(std::slice::from_ref(&m.summary), zone).pop();
    MessagePage {
        chrome,
        case: case.get(),
        title: m.summary.kind.label().to_owned(),
        via: m.summary.delivered_via.clone(),
        attempts: m.summary.attempts,
        bundle: Some(format!(
            "/cases/{case}/messages/{}/bundle.json",
            m.summary.id
        )),
        blocks: stored_blocks(&m.letter),
        sent,
    }
}

/// The message to the GP: on a discharged case the discharge message as it was stored and sent,
/// otherwise a preview of what the record would send now.
pub(super) async fn gp_message_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let case = CaseId::new(id);
    let chrome = Chrome::signed_in("Message to the GP", &csrf, &user, "/casework");
    let access = state.store.open_case(&user.principal, case, false).await?;
    let stored = state
        .store
        .case_messages(&access)
        .await?
        .into_iter()
        .find(|m| m.kind == MessageKind::Discharge);
    if let Some(sent) = stored {
        let m = state
            .store
            .case_message(&user.principal, case, sent.id)
            .await?;
        return html(&stored_page(chrome, case, m, state.clock.zone()));
    }
    let m = state.store.gp_message(&user.principal, case).await?;
    html(&MessagePage {
        chrome,
        case: id,
        title: "Preview: not sent yet".to_owned(),
        sent: None,
        via: None,
        attempts: 0,
        bundle: None,
        blocks: sections(&m)
            .into_iter()
            .map(|s| LetterBlock {
                heading: s.heading.to_owned(),
                lines: s.lines,
            })
            .collect(),
    })
}

/// A stored message of a case, as it was sent.
pub(super) async fn message_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, message)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let case = CaseId::new(id);
    let m = state
        .store
        .case_message(&user.principal, case, message)
        .await?;
    let chrome = Chrome::signed_in(m.summary.kind.label(), &csrf, &user, "/casework");
    html(&stored_page(chrome, case, m, state.clock.zone()))
}

/// A stored message's FHIR Bundle, byte for byte as it was sent.
pub(super) async fn message_bundle(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, message)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let m = state
        .store
        .case_message(&user.principal, CaseId::new(id), message)
        .await?;
    let mut r = (
        [(header::CONTENT_TYPE, careweave_fhir::MEDIA_TYPE)],
        m.bundle,
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_str(&format!(
            "attachment; filename=\"gp-message-{message}.json\""
        ))
        .map_err(|e| AppError::Unexpected(e.into()))?,
    );
    Ok(r)
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
            "gender": m.sex.code(),
            "postcode": m.postcode,
        },
        "gp_practice": { "name": m.practice, "ods_code": m.practice_ods },
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
            "support_started": m.episode_started_on.map(|d| d.to_string()),
            "services_connected_to": m.connected_services,
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
        "outcome_measures": m.measures.iter().map(|x| json!({
            "measure": x.instrument,
            "taken_on": x.taken_on.to_string(),
            "point": x.point,
            "scores": x.scores.iter().map(|(s, v)| json!({ "scale": s, "score": v })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "actions_for_gp": m.gp_actions,
        "completed_by": m.author.as_ref().map(|a| json!({
            "name": a.name,
            "role": a.role,
            "organisation": a.organisation,
            "contact": a.contact,
        })),
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
