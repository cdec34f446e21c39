//! Referral from anyone: the signed-in form, the public self-referral form and the API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::{
    parse_codes, CaseId, NeedDomain, ReferralId, ReferralRoute, ReferralSource, RiskFlag, Urgency,
};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, ServiceId};
use careweave_store::casework::{
    CaseworkService, NewReferral, ReferralView, ReferredPerson, Referrer,
};
use careweave_store::records::{PersonAccess, RecordError};
use chrono::NaiveDate;
use serde::Deserialize;

use super::may_refer;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{
    body_pairs, choice, date_from, errors_json, required, yes_no, FormErrors, Pairs,
};
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

/// What the referral form offers.
pub(super) struct ReferralChoices {
    pub services: Vec<CaseworkService>,
    pub practices: Vec<(i64, String)>,
}

pub(super) async fn referral_choices(state: &AppState) -> Result<ReferralChoices, AppError> {
    Ok(ReferralChoices {
        services: state.store.casework_services().await?,
        practices: state
            .store
            .organisations()
            .await?
            .into_iter()
            .filter(|o| o.kind == OrganisationKind::GpPractice)
            .map(|o| (o.id.get(), o.name))
            .collect(),
    })
}

/// Turns a referral form into a [`NewReferral`], reporting every problem at once. The person is
/// named by the typed demographics, or by `known_person`: proof, from [`named_person`], that the
/// signed-in referrer may read the person the form names. The form's own `person` field is never
/// read here, so the anonymous form cannot name anyone by id.
fn parse_referral(
    p: &Pairs,
    choices: &ReferralChoices,
    public: bool,
    referrer: Referrer,
    known_person: Option<PersonAccess>,
    today: NaiveDate,
) -> Result<NewReferral, FormErrors> {
    let mut errors = FormErrors::default();
    let service = p
        .get("service")
        .trim()
        .parse::<i64>()
        .ok()
        .map(ServiceId::new)
        .filter(|s| choices.services.iter().any(|c| c.id == *s));
    // The public form speaks to the person themself; the professional form speaks of them.
    let words =
        |to_them: &'static str, of_them: &'static str| if public { to_them } else { of_them };
    if service.is_none() {
        errors.add(
            "service",
            words(
                "Select the service you would like",
                "Select the service to refer to",
            ),
        );
    }
    let nhs_text = p.trimmed("nhs_number");
    let nhs_number = if nhs_text.is_empty() && public {
        None
    } else {
        errors.parse("nhs_number", nhs_text.parse::<NhsNumber>())
    };
    let given = required(
        &mut errors,
        p,
        "given_name",
        words("Enter your first name", "Enter a first name"),
    );
    let family = required(
        &mut errors,
        p,
        "family_name",
        words("Enter your last name", "Enter a last name"),
    );
    let dob = date_from(
        &mut errors,
        p,
        "dob",
        words("Your date of birth", "Date of birth"),
        Some(today),
    );
    let practice = p
        .get("practice")
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| choices.practices.iter().any(|(p, _)| p == id))
        .map(OrganisationId::new);
    if practice.is_none() && !public {
        errors.add(
            "practice",
            "Select the GP practice the person is registered with",
        );
    }
    let contact = required(
        &mut errors,
        p,
        "contact",
        words(
            "Enter how we can contact you, such as a phone number",
            "Enter how to contact the person, such as a phone number",
        ),
    );
    let reason = required(
        &mut errors,
        p,
        "reason",
        if public {
            "Tell us what you would like help with"
        } else {
            "Enter the reason for the referral"
        },
    );
    let need_domains = match parse_codes(&p.all("need_domains").join(","), NeedDomain::from_code) {
        Ok(d) => d,
        Err(code) => {
            errors.add(
                "need_domains",
                format!("{code} is not one of the eight need domains"),
            );
            Vec::new()
        }
    };
    let risk_flags = match parse_codes(&p.all("risk_flags").join(","), RiskFlag::from_code) {
        Ok(d) => d,
        Err(code) => {
            errors.add("risk_flags", format!("{code} is not a known risk"));
            Vec::new()
        }
    };
    let urgency = if public {
        Some(Urgency::Routine)
    } else {
        choice(
            &mut errors,
            p,
            "urgency",
            Urgency::from_code,
            "Select how urgent the referral is",
        )
    };
    let source = if public {
        Some(ReferralSource::SelfReferral)
    } else {
        choice(
            &mut errors,
            p,
            "source",
            ReferralSource::from_code,
            "Select who is referring",
        )
    };
    if !p.has("consent", "yes") {
        errors.add(
            "consent",
            if public {
                "Confirm that you agree to this referral"
            } else {
                "Confirm that the person agreed to be referred"
            },
        );
    }
    let share = yes_no(
        &mut errors,
        p,
        "share_detail",
        words(
            "Select whether we can share details of your support with your GP",
            "Select whether the person agreed to share details with their GP",
        ),
    );
    let route = if public {
        ReferralRoute::PublicForm
    } else if p.get("route") == "worklist" {
        ReferralRoute::Worklist
    } else if p.get("route") == "api" {
        ReferralRoute::Api
    } else {
        ReferralRoute::App
    };
    let cohort = Some(p.trimmed("cohort")).filter(|c| !c.is_empty());
    match (service, dob, urgency, source, share) {
        (Some(service), Some(date_of_birth), Some(urgency), Some(source), Some(share))
            if errors.is_empty() =>
        {
            Ok(NewReferral {
                service,
                known_person,
                person: ReferredPerson {
                    given_name: given,
                    family_name: family,
                    date_of_birth,
                    nhs_number,
                    practice,
                    contact,
                },
                source,
                route,
                reason,
                needs: p.trimmed("needs"),
                concerns: p.trimmed("concerns"),
                need_domains,
                risk_flags,
                cohort,
                urgency,
                consent_share_detail: share,
                referrer,
                received_on: today,
            })
        }
        _ => Err(errors),
    }
}

/// The words when a signed-in referral names, by id, someone its sender may not read. The same
/// whether or not that person exists, and the typed demographics still work.
const NAMED_PERSON_REFUSED: &str = "You cannot refer this person from a record. Check their NHS \
     number, name and date of birth, and send the referral again: it will be matched from those";

/// Opens the person a signed-in referral form or API call names by id (the `person` field, filled
/// in from a record or worklist row), through the store's policy check, which audits it.
/// `Ok(None)` when no one is named; `Err(())` when the sender may not read who they named.
async fn named_person(
    state: &AppState,
    who: &Principal,
    p: &Pairs,
) -> Result<Result<Option<PersonAccess>, ()>, AppError> {
    let text = p.trimmed("person");
    if text.is_empty() {
        return Ok(Ok(None));
    }
    // A malformed id is refused in the same words as a person the policy refuses.
    let Ok(id) = text.parse::<i64>() else {
        return Ok(Err(()));
    };
    match state.store.open_person(who, PersonId::new(id)).await {
        Ok(access) => Ok(Ok(Some(access))),
        Err(RecordError::Denied) => Ok(Err(())),
        Err(e) => Err(e.into()),
    }
}

/// Builds a signed-in user's referral from a form or JSON body: the typed fields, and the person
/// named by id only when [`named_person`] allowed it. A refused name is one more form error, on
/// `refused_field`; the other problems are reported with it.
async fn referral_from_signed_in(
    state: &AppState,
    user: &CurrentUser,
    p: &Pairs,
    choices: &ReferralChoices,
    refused_field: &str,
) -> Result<Result<NewReferral, FormErrors>, AppError> {
    let referrer = Referrer {
        user: Some(user.principal.user),
        name: user.display_name.clone(),
        contact: user.roles.join("; "),
    };
    let named = named_person(state, &user.principal, p).await?;
    let refused = named.is_err();
    match parse_referral(
        p,
        choices,
        false,
        referrer,
        named.unwrap_or(None),
        state.clock.today(),
    ) {
        Ok(new) if !refused => Ok(Ok(new)),
        result => {
            let mut errors = result.err().unwrap_or_default();
            if refused {
                errors.add(refused_field, NAMED_PERSON_REFUSED);
            }
            Ok(Err(errors))
        }
    }
}

#[derive(Template)]
#[template(path = "casework/referral_new.html")]
struct ReferralPage {
    chrome: Chrome,
    form: Pairs,
    errors: FormErrors,
    services: Vec<CaseworkService>,
    practices: Vec<(i64, String)>,
    public: bool,
    action: &'static str,
    /// Labels that differ between the professional and the public form.
    labels: (&'static str, &'static str, &'static str, &'static str),
    sources: &'static [ReferralSource],
    urgencies: &'static [Urgency],
    domains: &'static [NeedDomain],
    risks: &'static [RiskFlag],
    /// The registry lookup's answer, when the form was sent to look the person up: whether it
    /// found someone with both the NHS number and the date of birth.
    looked_up: Option<bool>,
}

impl ReferralPage {
    fn new(
        chrome: Chrome,
        form: Pairs,
        errors: FormErrors,
        c: ReferralChoices,
        public: bool,
    ) -> Self {
        Self {
            chrome,
            form,
            errors,
            services: c.services,
            practices: c.practices,
            public,
            action: if public { "/refer" } else { "/referrals/new" },
            labels: if public {
                (
                    "NHS number (optional)",
                    "How can we contact you?",
                    "What would you like help with?",
                    "Anything else we should know (optional)",
                )
            } else {
                (
                    "NHS number",
                    "How to contact the person",
                    "Reason for referral",
                    "Needs and strengths (optional)",
                )
            },
            sources: ReferralSource::ALL,
            urgencies: Urgency::ALL,
            domains: NeedDomain::ALL,
            risks: RiskFlag::ALL,
            looked_up: None,
        }
    }
}

/// The query of `GET /referrals/new`: a worklist row or a record page can pre-fill the person.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ReferralQuery {
    person: Option<i64>,
    source: Option<String>,
    cohort: Option<String>,
    service: Option<i64>,
}

pub(super) async fn referral_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(q): Query<ReferralQuery>,
) -> Result<Response, AppError> {
    if !may_refer(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let mut form = Pairs::default();
    if let Some(id) = q.person {
        // Pre-filling reads the person's record, so it goes through the policy and is audited.
        let record = state
            .store
            .read_person(&user.principal, PersonId::new(id))
            .await?;
        let p = &record.person;
        form.set("person", id.to_string());
        form.set("nhs_number", p.nhs_number.formatted());
        form.set("given_name", p.given_name.clone());
        form.set("family_name", p.family_name.clone());
        form.set(
            "dob-day",
            chrono::Datelike::day(&p.date_of_birth).to_string(),
        );
        form.set(
            "dob-month",
            chrono::Datelike::month(&p.date_of_birth).to_string(),
        );
        form.set(
            "dob-year",
            chrono::Datelike::year(&p.date_of_birth).to_string(),
        );
        form.set("practice", p.registered_practice.get().to_string());
        if let (Some("worklist"), Some(cohort)) = (q.source.as_deref(), q.cohort.as_deref()) {
            worklist_prefill(&state, &user, &record, cohort, &mut form).await?;
        }
    }
    let choices = referral_choices(&state).await?;
    if q.source.as_deref() == Some("worklist") {
        form.set("source", ReferralSource::CaseFinding.code());
        form.set("route", "worklist");
    } else if user.principal.has_role(Role::Referrer) {
        form.set("source", ReferralSource::Gp.code());
    }
    if let Some(c) = q.cohort {
        form.set("cohort", c);
    }
    if let Some(s) = q.service {
        form.set("service", s.to_string());
    } else if let Some(only) = own_service(&user.principal, &choices) {
        form.set("service", only.to_string());
    }
    form.set("urgency", Urgency::Routine.code());
    html(&ReferralPage::new(
        Chrome::signed_in("Refer someone", &csrf, &user, "/referrals/new"),
        form,
        FormErrors::default(),
        choices,
        false,
    ))
}

/// The service a referral most likely goes to: the only one offered, or else the only one run by
/// the referrer's own organisation (a partner's service is a real choice). `None` when there is
/// a real choice to make.
fn own_service(who: &Principal, choices: &ReferralChoices) -> Option<i64> {
    if let [only] = choices.services.as_slice() {
        return Some(only.id.get());
    }
    let mine: Vec<&CaseworkService> = choices
        .services
        .iter()
        .filter(|s| {
            who.memberships.iter().any(|m| {
                m.organisation == s.provider && matches!(m.role, Role::Worker | Role::Supervisor)
            })
        })
        .collect();
    match mine.as_slice() {
        [only] => Some(only.id.get()),
        _ => None,
    }
}

/// Fills a referral from a worklist row, so that it can be sent in three clicks (Refer, the
/// person's agreement, Send): the reason in words from the criteria the person met, the contact
/// from their latest referral (or their practice, through which case finding reaches them), and
/// sharing with the GP answered "no" (the GP is then told only dates and national codes), which
/// the worker changes when the person agreed to more.
async fn worklist_prefill(
    state: &AppState,
    user: &CurrentUser,
    record: &careweave_store::records::PersonRecord,
    cohort: &str,
    form: &mut Pairs,
) -> Result<(), AppError> {
    let access = state
        .store
        .open_person(&user.principal, record.person.id)
        .await?;
    let start = state.store.worklist_referral_start(&access, cohort).await?;
    if !start.criteria.is_empty() {
        let list = start.cohort_title.as_deref().unwrap_or("case-finding");
        form.set(
            "reason",
            format!(
                "Found by the {list} worklist: {}.",
                start.criteria.join("; ")
            ),
        );
    }
    form.set(
        "contact",
        start.contact.unwrap_or_else(|| {
            format!(
                "Through their GP practice, {}, which holds their contact details",
                record.practice
            )
        }),
    );
    form.set("share_detail", "no");
    Ok(())
}

/// Fills the name and practice from the registry when both the typed NHS number and date of
/// birth match someone, keeping everything else typed; on no match the form says so and the
/// referrer types the details themself. Only those problems that stop a lookup are errors.
async fn registry_lookup(
    state: &AppState,
    user: &CurrentUser,
    form: &mut Pairs,
) -> Result<(FormErrors, Option<bool>), AppError> {
    let mut errors = FormErrors::default();
    let nhs = errors.parse(
        "nhs_number",
        form.trimmed("nhs_number").parse::<NhsNumber>(),
    );
    let dob = date_from(
        &mut errors,
        form,
        "dob",
        "Date of birth",
        Some(state.clock.today()),
    );
    let (Some(nhs), Some(dob)) = (nhs, dob) else {
        return Ok((errors, None));
    };
    let found = state
        .store
        .registry_lookup(&user.principal, nhs, dob)
        .await?;
    if let Some(m) = &found {
        form.replace("given_name", m.given_name.clone());
        form.replace("family_name", m.family_name.clone());
        form.replace("practice", m.practice.get().to_string());
    }
    Ok((errors, Some(found.is_some())))
}

pub(super) async fn referral_create(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    if !may_refer(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let mut form = Pairs(pairs);
    let choices = referral_choices(&state).await?;
    if form.get("lookup") == "yes" {
        form.0.retain(|(name, _)| name != "lookup");
        let (errors, looked_up) = registry_lookup(&state, &user, &mut form).await?;
        let mut page = ReferralPage::new(
            Chrome::signed_in("Refer someone", &csrf, &user, "/referrals/new"),
            form,
            errors,
            choices,
            false,
        );
        page.looked_up = looked_up;
        return if page.errors.is_empty() {
            html(&page)
        } else {
            invalid(&page)
        };
    }
    match referral_from_signed_in(&state, &user, &form, &choices, "nhs_number").await? {
        Ok(new) => {
            let created = state.store.create_referral(&new).await?;
            Ok(Redirect::to(&format!("/referrals/{}?sent=1", created.id)).into_response())
        }
        Err(errors) => {
            // A refused id is not offered again: sending the form again matches the person from
            // the typed details.
            if errors
                .entries()
                .iter()
                .any(|(_, m)| m == NAMED_PERSON_REFUSED)
            {
                form.0.retain(|(name, _)| name != "person");
            }
            invalid(&ReferralPage::new(
                Chrome::signed_in("Refer someone", &csrf, &user, "/referrals/new"),
                form,
                errors,
                choices,
                false,
            ))
        }
    }
}

pub(super) async fn public_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, AppError> {
    html(&ReferralPage::new(
        Chrome::anonymous("Ask for support", &csrf),
        Pairs::default(),
        FormErrors::default(),
        referral_choices(&state).await?,
        true,
    ))
}

#[derive(Template)]
#[template(path = "casework/public_sent.html")]
struct PublicSentPage {
    chrome: Chrome,
    service: String,
}

pub(super) async fn public_create(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let choices = referral_choices(&state).await?;
    let referrer = Referrer {
        user: None,
        name: format!(
            "{} {}",
            form.trimmed("given_name"),
            form.trimmed("family_name")
        ),
        contact: form.trimmed("contact"),
    };
    // The public form never names a person by id: whatever `person` it carries is ignored, and the
    // request is matched from the typed details only.
    match parse_referral(&form, &choices, true, referrer, None, state.clock.today()) {
        Ok(new) => {
            state.store.create_referral(&new).await?;
            let service = choices
                .services
                .iter()
                .find(|s| s.id == new.service)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            html(&PublicSentPage {
                chrome: Chrome::anonymous("Request sent", &csrf),
                service,
            })
        }
        Err(errors) => invalid(&ReferralPage::new(
            Chrome::anonymous("Ask for support", &csrf),
            form,
            errors,
            choices,
            true,
        )),
    }
}

pub(super) async fn api_referral_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    if !may_refer(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let mut p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    if p.get("route").is_empty() {
        p.set("route", "api");
    }
    let choices = referral_choices(&state).await?;
    match referral_from_signed_in(&state, &user, &p, &choices, "person").await? {
        Ok(new) => {
            let created = state.store.create_referral(&new).await?;
            // Only the referral: whether it matched anyone in the registry is not the
            // referrer's to know.
            Ok((
                StatusCode::CREATED,
                Json(serde_json::json!({
                    "id": created.id.get(),
                    "href": format!("/api/v1/referrals/{}", created.id),
                })),
            )
                .into_response())
        }
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

fn referral_json(r: &ReferralView) -> serde_json::Value {
    serde_json::json!({
        "id": r.id.get(),
        "service": { "id": r.service.id.get(), "name": r.service.name },
        "person_id": r.person.map(PersonId::get),
        "name": format!("{} {}", r.referred.given_name, r.referred.family_name),
        "nhs_number": r.referred.nhs_number.map(|n| n.as_digits()),
        "date_of_birth": r.referred.date_of_birth.to_string(),
        "source": r.source.code(),
        "route": r.route.code(),
        "reason": r.reason,
        "needs": r.needs,
        "concerns": r.concerns,
        "need_domains": r.need_domains.iter().map(|d| d.code()).collect::<Vec<_>>(),
        "risk_flags": r.risk_flags.iter().map(|d| d.code()).collect::<Vec<_>>(),
        "urgency": r.urgency.code(),
        "consent_share_detail": r.consent_share_detail,
        "referrer": r.referrer.name,
        "received_on": r.received_on.to_string(),
        "status": r.status.code(),
        "triage_reason": r.triage_reason,
        "override_reason": r.override_reason,
        "case_id": r.case.map(CaseId::get),
        "eligibility_advice": r.advice.text(),
        "possible_duplicates": r.candidates.iter().map(|c| serde_json::json!({
            "person_id": c.person.get(),
            "name": c.name,
            "nhs_number": c.nhs_number.as_digits(),
            "matched_on": c.matched_on,
        })).collect::<Vec<_>>(),
    })
}

pub(super) async fn api_referral(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let r = state
        .store
        .referral_for(&user.principal, ReferralId::new(id))
        .await?;
    Ok(Json(referral_json(&r)).into_response())
}
