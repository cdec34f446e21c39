//! The case page (team, timeline, assessment, plan, contacts, reviews, carers, discharge) and its JSON.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use careweave_domain::casework::{
    CaseId, CaseRole, ContactType, DischargeDestination, DischargeReason, DomainScore, GpAgreement,
    Intensity,
};
use careweave_domain::consent::SensitiveCategory;
use careweave_domain::safeguarding::{ConcernCategory, RiskLevel};
use careweave_store::casework::{CaseView, WorkerLoad};
use careweave_store::lone_working::FlagRow;
use careweave_store::safeguarding::ConcernSummary;
use chrono::NaiveDate;

use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::forms::Pairs;
use crate::pages::{html, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "casework/case.html")]
pub(in crate::pages) struct CasePage {
    chrome: Chrome,
    c: CaseView,
    workers: Vec<WorkerLoad>,
    form: Pairs,
    errors: FormErrors,
    conflict: bool,
    today: NaiveDate,
    /// The plan's words as the form shows them: what was typed, or else what is saved.
    plan_what: String,
    plan_priorities: String,
    plan_escalation: String,
    /// One assessment input per life domain: code, label, typed value, error.
    score_rows: Vec<(String, String, String, Option<String>)>,
    open_actions: bool,
    /// The safeguarding concerns on this case that the viewer may see (see `pages::safeguarding`).
    concerns: Vec<ConcernSummary>,
    open_concerns: usize,
    /// Safety flags on the person and their address: every visit to them must be a joint one.
    flags: Vec<FlagRow>,
    /// The viewer, left out of the colleagues who could go on a visit with them.
    me: i64,
    /// Outcome measures taken and due (see `pages::outcomes`).
    outcomes: crate::pages::outcomes::CaseOutcomes,
    /// The meetings this case went to and its flags (see `pages::mdt`).
    mdt: careweave_store::mdt::CaseMdt,
    flag_kinds: &'static [careweave_domain::mdt::CaseFlagKind],
    concern_categories: &'static [ConcernCategory],
    risk_levels: &'static [RiskLevel],
    contact_types: &'static [ContactType],
    sensitive_categories: &'static [SensitiveCategory],
    intensities: &'static [Intensity],
    reasons: &'static [DischargeReason],
    destinations: &'static [DischargeDestination],
    gp_agreements: &'static [GpAgreement],
    roles: &'static [CaseRole],
    attainment_levels: &'static [careweave_domain::casework::GoalAttainment],
    /// The messages the case sent to the GP practice, with their delivery.
    messages: Vec<super::gp_message::MessageLine>,
}

pub(in crate::pages) async fn case_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: CaseId,
    mut form: Pairs,
    errors: FormErrors,
    conflict: bool,
) -> Result<CasePage, AppError> {
    // A contact, a review and a discharge are nearly always recorded on the day (issue 16): their
    // date boxes start at today on the deployment's clock unless the form brought a date back.
    let today = state.clock.today();
    for prefix in ["contact", "reviewed", "discharged"] {
        let day = format!("{prefix}-day");
        if !form.0.iter().any(|(k, _)| *k == day) {
            form.0.push((day, today.format("%-d").to_string()));
            form.0
                .push((format!("{prefix}-month"), today.format("%-m").to_string()));
            form.0
                .push((format!("{prefix}-year"), today.format("%Y").to_string()));
        }
    }
    let c = state.store.case_for(&user.principal, id).await?;
    // The rest of the page is read side by side, each read on its own pooled connection, so that
    // the page waits for the slowest read rather than for the sum of them (see `Store::case_for`).
    // Each read still checks its own access and writes its own audit row.
    let (workers, domains, concerns, flags, outcomes, mdt, messages) = tokio::try_join!(
        async {
            if c.can_edit {
                Ok(state.store.worker_loads(&c.service).await?)
            } else {
                Ok::<_, AppError>(Vec::new())
            }
        },
        async { Ok::<_, AppError>(state.store.life_domains().await?) },
        async {
            Ok::<_, AppError>(
                state
                    .store
                    .concerns_on_case(&user.principal, &c.access)
                    .await?,
            )
        },
        // The flags need the capability `case_for` returned with the case (and their read is
        // audited).
        async { Ok::<_, AppError>(state.store.safety_flags(&c.access).await?) },
        crate::pages::outcomes::case_outcomes(state, &c),
        async { Ok::<_, AppError>(state.store.case_mdt_of(&user.principal, &c).await?) },
        async { Ok::<_, AppError>(state.store.case_messages(&c.access).await?) },
    )?;
    let typed_or = |name: &str, saved: String| {
        if form.0.iter().any(|(k, _)| k == name) {
            form.get(name).to_owned()
        } else {
            saved
        }
    };
    let plan_what = typed_or("what_matters", c.plan.what_matters.clone());
    let plan_priorities = typed_or("priorities", c.plan.priorities.join("\n"));
    let plan_escalation = typed_or("escalation", c.plan.escalation.clone());
    let score_rows = domains
        .into_iter()
        .map(|(code, label)| {
            let key = format!("score_{code}");
            let value = form.get(&key).to_owned();
            let error = errors.get(&key).map(str::to_owned);
            (code, label, value, error)
        })
        .collect();
    let open_actions = c.plan.actions.iter().any(|a| a.done_on.is_none());
    let open_concerns = concerns.iter().filter(|k| k.status.is_open()).count();
    let messages = super::gp_message::message_lines(&messages, state.clock.zone());
    Ok(CasePage {
        chrome: Chrome::signed_in(
            &format!("{} – case", c.person_name),
            csrf,
            user,
            "/casework",
        ),
        c,
        workers,
        form,
        errors,
        conflict,
        today,
        plan_what,
        plan_priorities,
        plan_escalation,
        score_rows,
        open_actions,
        concerns,
        open_concerns,
        flags,
        me: user.principal.user.get(),
        outcomes,
        mdt,
        flag_kinds: careweave_domain::mdt::CaseFlagKind::ALL,
        concern_categories: ConcernCategory::ALL,
        risk_levels: RiskLevel::ALL,
        contact_types: ContactType::ALL,
        sensitive_categories: SensitiveCategory::MARKABLE,
        intensities: Intensity::ALL,
        reasons: DischargeReason::ALL,
        destinations: DischargeDestination::ALL,
        gp_agreements: GpAgreement::ALL,
        roles: CaseRole::ALL,
        attainment_levels: careweave_domain::casework::GoalAttainment::ALL,
        messages,
    })
}

pub(super) async fn case_show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    html(
        &case_page(
            &state,
            &csrf,
            &user,
            CaseId::new(id),
            Pairs::default(),
            FormErrors::default(),
            false,
        )
        .await?,
    )
}

fn case_json(c: &CaseView) -> serde_json::Value {
    use serde_json::json;
    json!({
        "id": c.id.get(),
        "person_id": c.person.get(),
        "name": c.person_name,
        "nhs_number": c.nhs_number.as_digits(),
        "service": { "id": c.service.id.get(), "name": c.service.name, "kind": c.service.settings.kind.code() },
        "referral_id": c.referral.get(),
        "status": c.status.code(),
        "opened_on": c.opened_on.to_string(),
        "intensity": c.intensity.code(),
        "reopen_count": c.reopen_count,
        "review_due_on": c.review_due_on.to_string(),
        "workers": c.workers.iter().map(|w| json!({ "user_id": w.user.get(), "name": w.name, "organisation": w.organisation, "role": w.role.code(), "since": w.since.to_string() })).collect::<Vec<_>>(),
        "timeline": c.timeline.iter().map(|t| json!({ "on": t.on.to_string(), "by": t.by, "kind": t.kind, "summary": t.summary })).collect::<Vec<_>>(),
        "contacts": c.contacts.iter().map(|k| json!({ "type": k.contact_type.code(), "on": k.on.to_string(), "minutes": k.minutes, "present": k.present, "note": (!k.restricted).then_some(&k.note), "sensitive": k.sensitive.map(SensitiveCategory::code), "restricted": k.restricted, "by": k.by })).collect::<Vec<_>>(),
        "assessment": {
            "count": c.assessment.count,
            "domains": c.assessment.domains.iter().map(|d| json!({ "code": d.code, "baseline": d.baseline.map(DomainScore::get), "latest": d.latest.map(DomainScore::get) })).collect::<Vec<_>>(),
        },
        "plan": {
            "version": c.plan.version,
            "what_matters": c.plan.what_matters,
            "priorities": c.plan.priorities,
            "escalation": c.plan.escalation,
            "goals": c.plan.goals.iter().map(|g| json!({ "id": g.id, "text": g.text, "target_on": g.target_on.map(|d| d.to_string()), "progress": g.progress })).collect::<Vec<_>>(),
            "actions": c.plan.actions.iter().map(|a| json!({ "id": a.id, "text": a.text, "owner": a.owner, "due_on": a.due_on.to_string(), "done_on": a.done_on.map(|d| d.to_string()) })).collect::<Vec<_>>(),
            "steps": c.plan.steps.iter().map(|s| json!({ "week": s.week, "text": s.text })).collect::<Vec<_>>(),
        },
        "reviews": c.reviews.iter().map(|r| json!({ "on": r.on.to_string(), "by": r.by, "intensity": r.intensity.code(), "summary": r.summary })).collect::<Vec<_>>(),
        "carers": c.carers.iter().map(|k| json!({ "name": k.name, "relationship": k.relationship, "involve": k.involve })).collect::<Vec<_>>(),
        "discharge": c.discharge.as_ref().map(|d| json!({ "on": d.on.to_string(), "reason": d.reason.code(), "destination": d.destination.code(), "gp_agreement": d.gp.code(), "override": d.override_reason.as_ref().map(|why| json!({ "reason": why, "warnings": c.discharge_warnings })) })),
    })
}

pub(super) async fn api_case(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let c = state
        .store
        .case_for(&user.principal, CaseId::new(id))
        .await?;
    Ok(Json(case_json(&c)).into_response())
}
