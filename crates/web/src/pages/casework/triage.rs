//! A referral's page and its actions: link it to a person, or triage it (accept, decline, redirect).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use careweave_domain::access::Principal;
use careweave_domain::casework::{CaseId, Intensity, ReferralId};
use careweave_domain::{PersonId, ServiceId};
use careweave_store::casework::{CaseworkService, ReferralView, TriageDecision, WorkerLoad};
use careweave_store::change::ActionError;
use serde::Deserialize;

use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{body_pairs, choice, errors_json, required, FormErrors, Pairs};
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "casework/referral_show.html")]
struct ReferralShowPage {
    chrome: Chrome,
    r: ReferralView,
    workers: Vec<WorkerLoad>,
    services: Vec<CaseworkService>,
    form: Pairs,
    errors: FormErrors,
    sent: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct SentQuery {
    sent: Option<String>,
}

async fn referral_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: ReferralId,
    form: Pairs,
    errors: FormErrors,
    sent: bool,
) -> Result<ReferralShowPage, AppError> {
    let r = state.store.referral_for(&user.principal, id).await?;
    let workers = if r.can_triage {
        state.store.worker_loads(&r.service).await?
    } else {
        Vec::new()
    };
    let services = state.store.casework_services().await?;
    Ok(ReferralShowPage {
        chrome: Chrome::signed_in("Referral", csrf, user, "/casework"),
        r,
        workers,
        services,
        form,
        errors,
        sent,
    })
}

pub(super) async fn referral_show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<SentQuery>,
) -> Result<Response, AppError> {
    let mut form = Pairs::default();
    form.set("intensity", Intensity::High.code());
    html(
        &referral_page(
            &state,
            &csrf,
            &user,
            ReferralId::new(id),
            form,
            FormErrors::default(),
            q.sent.is_some(),
        )
        .await?,
    )
}

/// A referral action: link it to a person (merge a duplicate) or triage it.
enum ReferralAction {
    Link(PersonId),
    Triage(TriageDecision),
}

fn parse_referral_action(action: &str, p: &Pairs) -> Result<Option<ReferralAction>, FormErrors> {
    let mut errors = FormErrors::default();
    match action {
        "link" => match p.get("person").trim().parse::<i64>() {
            Ok(id) => Ok(Some(ReferralAction::Link(PersonId::new(id)))),
            Err(_) => {
                errors.add("person", "Choose the person this referral is about");
                Err(errors)
            }
        },
        "triage" => {
            let outcome = p.get("outcome").trim();
            let reason = required(
                &mut errors,
                p,
                "reason",
                "Enter the reason for your decision",
            );
            let decision = match outcome {
                "accept" => {
                    let lead = match p.get("lead").trim() {
                        "" | "later" => None,
                        l => match l.parse::<i64>() {
                            Ok(l) => Some(careweave_domain::UserId::new(l)),
                            Err(_) => {
                                errors.add(
                                    "lead",
                                    "Select a lead worker, or choose to allocate later",
                                );
                                None
                            }
                        },
                    };
                    let intensity = choice(
                        &mut errors,
                        p,
                        "intensity",
                        Intensity::from_code,
                        "Select the intensity of support",
                    );
                    intensity.map(|intensity| TriageDecision::Accept {
                        lead,
                        reason: reason.clone(),
                        override_reason: Some(p.trimmed("override_reason"))
                            .filter(|o| !o.is_empty()),
                        intensity,
                        confirm_over_capacity: p.has("confirm_over_capacity", "yes"),
                    })
                }
                "decline" => Some(TriageDecision::Decline {
                    reason: reason.clone(),
                }),
                "redirect" => match p.get("redirect_to").trim().parse::<i64>() {
                    Ok(s) => Some(TriageDecision::Redirect {
                        to: ServiceId::new(s),
                        reason: reason.clone(),
                    }),
                    Err(_) => {
                        errors.add("redirect_to", "Select the service to redirect to");
                        None
                    }
                },
                _ => {
                    errors.add("outcome", "Select accept, decline or redirect");
                    None
                }
            };
            match decision {
                Some(d) if errors.is_empty() => Ok(Some(ReferralAction::Triage(d))),
                _ => Err(errors),
            }
        }
        _ => Ok(None),
    }
}

/// What a referral action led to.
enum Done {
    Case(CaseId),
    Referral,
    /// Declined or redirected: the referral has left the waiting list, so the page goes back to
    /// the list and says what was done.
    Closed(&'static str),
}

async fn run_referral_action(
    state: &AppState,
    who: &Principal,
    id: ReferralId,
    action: &str,
    p: &Pairs,
) -> Result<Result<Done, FormErrors>, AppError> {
    let parsed = match parse_referral_action(action, p) {
        Ok(Some(a)) => a,
        Ok(None) => return Err(AppError::NotFound),
        Err(errors) => return Ok(Err(errors)),
    };
    let result = match parsed {
        ReferralAction::Link(person) => state
            .store
            .link_referral(who, id, person)
            .await
            .map(|()| Done::Referral),
        ReferralAction::Triage(d) => {
            let closed = match d {
                TriageDecision::Accept { .. } => None,
                TriageDecision::Decline { .. } => Some("declined"),
                TriageDecision::Redirect { .. } => Some("redirected"),
            };
            state
                .store
                .triage(who, id, &d, state.clock.today())
                .await
                .map(|c| match (c, closed) {
                    (Some(case), _) => Done::Case(case),
                    (None, Some(outcome)) => Done::Closed(outcome),
                    (None, None) => Done::Referral,
                })
        }
    };
    match result {
        Ok(done) => Ok(Ok(done)),
        Err(ActionError::OverCapacity(m)) => {
            let mut errors = FormErrors::default();
            errors.add("confirm_over_capacity", m);
            Ok(Err(errors))
        }
        Err(ActionError::Refused { field, reason }) => {
            let mut errors = FormErrors::default();
            // The store names the field (the override reason, the person to link); a refusal of
            // the decision as a whole shows at the decision.
            let field = field.unwrap_or(if action == "link" {
                "person"
            } else {
                "outcome"
            });
            errors.add(field, reason);
            Ok(Err(errors))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn referral_action(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = ReferralId::new(id);
    let form = Pairs(pairs);
    match run_referral_action(&state, &user.principal, id, &action, &form).await? {
        Ok(Done::Case(case)) => Ok(Redirect::to(&format!("/cases/{case}")).into_response()),
        Ok(Done::Referral) => Ok(Redirect::to(&format!("/referrals/{id}")).into_response()),
        Ok(Done::Closed(outcome)) => {
            Ok(Redirect::to(&format!("/waiting-list?decided={outcome}")).into_response())
        }
        Err(errors) => {
            invalid(&referral_page(&state, &csrf, &user, id, form, errors, false).await?)
        }
    }
}

pub(super) async fn api_referral_action(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_referral_action(&state, &user.principal, ReferralId::new(id), &action, &p).await? {
        Ok(Done::Case(case)) => Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({ "case_id": case.get(), "href": format!("/api/v1/cases/{case}") })),
        )
            .into_response()),
        Ok(Done::Referral | Done::Closed(_)) => {
            Ok(Json(serde_json::json!({ "ok": true })).into_response())
        }
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}
