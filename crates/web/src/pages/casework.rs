//! Casework pages and their JSON API: referral from anyone (including a public self-referral form),
//! the one waiting list, triage, the case page (team, timeline, assessment, plan, contacts, reviews,
//! carers, discharge), "my day", the message back to the GP, and team reports.
//!
//! Forms and the JSON API share one parser per action: a form arrives as name/value pairs and a
//! JSON body as an object of strings, both become [`Pairs`], and the same validation turns them
//! into store types or into [`FormErrors`] (the page re-renders with the error summary and what was
//! typed; the API answers 422 with the same messages). The store applies the access policy and
//! audits; this module only converts and renders.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use careweave_domain::access::{self, Principal, Role};
use careweave_domain::casework::{
    parse_codes, CaseId, CaseRole, ContactType, DischargeDestination, DischargeReason, DomainScore,
    GpAgreement, Intensity, NeedDomain, ReferralId, ReferralRoute, ReferralSource, RiskFlag,
    Urgency, DURATION_BUCKETS,
};
use careweave_domain::consent::SensitiveCategory;
use careweave_domain::dates::{not_in_future, parse_date_parts};
use careweave_domain::disclosure::SafeCount;
use careweave_domain::safeguarding::{ConcernCategory, RiskLevel};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, ServiceId, TeamId};
use careweave_store::casework::{
    Carer, CaseSummary, CaseView, CaseworkError, CaseworkReport, CaseworkService, Discharge,
    GpMessage, MyDay, NewAssessment, NewContact, NewReferral, PlanItem, PlanText, ReferralView,
    ReferredPerson, Referrer, TriageDecision, WaitingFilter, WaitingList, WorkerLoad,
};
use careweave_store::lone_working::{FlagRow, NewVisit};
use careweave_store::records::{PersonAccess, RecordError};
use careweave_store::safeguarding::ConcernSummary;
use chrono::NaiveDate;
use serde::Deserialize;

use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::session::CurrentUser;
use crate::AppState;

/// The casework API's OpenAPI document, served at `/api/v1/casework/openapi.json`.
const OPENAPI: &str = include_str!("../../templates/casework/openapi.json");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/casework", get(hub))
        .route("/referrals/new", get(referral_form).post(referral_create))
        .route("/refer", get(public_form).post(public_create))
        .route("/waiting-list", get(waiting))
        .route("/referrals/{id}", get(referral_show))
        .route("/referrals/{id}/{action}", post(referral_action))
        .route("/cases", get(caseload))
        .route("/my-day", get(my_day))
        .route("/cases/{id}", get(case_show))
        .route("/cases/{id}/gp-message", get(gp_message_page))
        .route("/cases/{id}/gp-message.json", get(gp_message_json))
        .route("/cases/{id}/{action}", post(case_action))
        .route("/casework/reports", get(reports))
        .route("/api/v1/referrals", post(api_referral_create))
        .route("/api/v1/referrals/{id}", get(api_referral))
        .route("/api/v1/referrals/{id}/{action}", post(api_referral_action))
        .route("/api/v1/waiting-list", get(api_waiting))
        .route("/api/v1/cases", get(api_caseload))
        .route("/api/v1/my-day", get(api_my_day))
        .route("/api/v1/cases/{id}", get(api_case))
        .route("/api/v1/cases/{id}/gp-message", get(gp_message_json))
        .route("/api/v1/cases/{id}/{action}", post(api_case_action))
        .route("/api/v1/casework/reports", get(api_reports))
        .route("/api/v1/casework/openapi.json", get(openapi))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
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

impl From<CaseworkError> for AppError {
    fn from(e: CaseworkError) -> Self {
        match e {
            CaseworkError::Denied => Self::Forbidden,
            CaseworkError::NotFound(_) => Self::NotFound,
            CaseworkError::Store(e) => e.into(),
            other => Self::Unexpected(anyhow::anyhow!("{other}")),
        }
    }
}

/// Name/value pairs from a form or a JSON object, with the repeated names checkboxes produce.
#[derive(Debug, Clone, Default)]
pub struct Pairs(pub(super) Vec<(String, String)>);

impl Pairs {
    /// The first value of `name`, or "" when absent (so templates can show it as typed).
    #[must_use]
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    #[must_use]
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a checkbox or radio had `value`.
    #[must_use]
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.all(name).contains(&value)
    }

    pub(super) fn trimmed(&self, name: &str) -> String {
        self.get(name).trim().to_owned()
    }

    fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_owned(), value.into()));
    }

    /// Converts a JSON object whose values are strings, numbers, booleans or arrays of those.
    fn from_json(v: &serde_json::Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("The body must be a JSON object")?;
        let mut out = Vec::new();
        let scalar = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_owned()),
            _ => None,
        };
        for (k, v) in obj {
            match v {
                serde_json::Value::Array(items) => {
                    for i in items {
                        out.push((
                            k.clone(),
                            scalar(i).ok_or_else(|| format!("{k} must hold plain values"))?,
                        ));
                    }
                }
                serde_json::Value::Null => {}
                other => out.push((
                    k.clone(),
                    scalar(other).ok_or_else(|| format!("{k} must be a plain value"))?,
                )),
            }
        }
        Ok(Self(out))
    }
}

pub(super) fn date_from(
    errors: &mut FormErrors,
    p: &Pairs,
    prefix: &str,
    what: &'static str,
    past_only: bool,
) -> Option<NaiveDate> {
    // The JSON API may send one ISO date instead of the three boxes.
    let iso = p.get(prefix);
    let parsed = if iso.is_empty() {
        parse_date_parts(
            what,
            p.get(&format!("{prefix}-day")),
            p.get(&format!("{prefix}-month")),
            p.get(&format!("{prefix}-year")),
        )
    } else {
        careweave_domain::dates::parse_iso_date(what, iso)
    };
    let checked = parsed.and_then(|d| {
        if past_only {
            not_in_future(what, d, today())
        } else {
            Ok(d)
        }
    });
    errors.parse(&format!("{prefix}-day"), checked)
}

/// Reads a time of day typed as HH:MM (24-hour clock), recording an error naming `what` when it
/// is missing or not a time.
pub(super) fn time_from(
    errors: &mut FormErrors,
    p: &Pairs,
    name: &str,
    what: &str,
) -> Option<chrono::NaiveTime> {
    let v = p.get(name).trim();
    let parsed = chrono::NaiveTime::parse_from_str(v, "%H:%M").ok();
    if parsed.is_none() {
        errors.add(
            name,
            if v.is_empty() {
                format!("Enter {what}")
            } else {
                format!("Enter {what} as hours and minutes on the 24-hour clock, for example 14:30")
            },
        );
    }
    parsed
}

pub(super) fn required(errors: &mut FormErrors, p: &Pairs, name: &str, message: &str) -> String {
    let v = p.trimmed(name);
    if v.is_empty() {
        errors.add(name, message);
    }
    v
}

pub(super) fn choice<T>(
    errors: &mut FormErrors,
    p: &Pairs,
    name: &str,
    from_code: fn(&str) -> Option<T>,
    message: &str,
) -> Option<T> {
    let v = from_code(p.get(name).trim());
    if v.is_none() {
        errors.add(name, message);
    }
    v
}

fn yes_no(errors: &mut FormErrors, p: &Pairs, name: &str, message: &str) -> Option<bool> {
    match p.get(name).trim() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => {
            errors.add(name, message);
            None
        }
    }
}

// ----- Referrals ---------------------------------------------------------------------------------

/// What the referral form offers.
struct ReferralChoices {
    services: Vec<CaseworkService>,
    practices: Vec<(i64, String)>,
}

async fn referral_choices(state: &AppState) -> Result<ReferralChoices, AppError> {
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
) -> Result<NewReferral, FormErrors> {
    let mut errors = FormErrors::default();
    let service = p
        .get("service")
        .trim()
        .parse::<i64>()
        .ok()
        .map(ServiceId::new)
        .filter(|s| choices.services.iter().any(|c| c.id == *s));
    if service.is_none() {
        errors.add("service", "Select the service to refer to");
    }
    let nhs_text = p.trimmed("nhs_number");
    let nhs_number = if nhs_text.is_empty() && public {
        None
    } else {
        errors.parse("nhs_number", nhs_text.parse::<NhsNumber>())
    };
    let given = required(&mut errors, p, "given_name", "Enter a first name");
    let family = required(&mut errors, p, "family_name", "Enter a last name");
    let dob = date_from(&mut errors, p, "dob", "Date of birth", true);
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
        "Enter how to contact the person, such as a phone number",
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
        "Select whether the person agreed to share details with their GP",
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
                received_on: today(),
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
    match parse_referral(p, choices, false, referrer, named.unwrap_or(None)) {
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
        }
    }
}

/// The query of `GET /referrals/new`: a worklist row or a record page can pre-fill the person.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReferralQuery {
    person: Option<i64>,
    source: Option<String>,
    cohort: Option<String>,
    service: Option<i64>,
}

async fn referral_form(
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
    }
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
    }
    form.set("urgency", Urgency::Routine.code());
    html(&ReferralPage::new(
        Chrome::signed_in("Refer someone", &csrf, &user, "/referrals/new"),
        form,
        FormErrors::default(),
        referral_choices(&state).await?,
        false,
    ))
}

async fn referral_create(
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

async fn public_form(
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

async fn public_create(
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
    match parse_referral(&form, &choices, true, referrer, None) {
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

// ----- The waiting list and triage ----------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WaitingQuery {
    service: String,
    practice: String,
    team: String,
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
    pager: super::Pagination,
    services: Vec<CaseworkService>,
    practices: Vec<(i64, String)>,
    teams: Vec<(i64, String)>,
    query: WaitingQuery,
    decided: Option<&'static str>,
}

async fn waiting(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(query): Query<WaitingQuery>,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let mut list = state
        .store
        .waiting_list(&user.principal, &query.filter(), today())
        .await?;
    let pager = super::Pagination::new(
        list.referrals.len(),
        WAITING_PER_PAGE,
        &query.page,
        "/waiting-list",
        &[
            ("service", &query.service),
            ("practice", &query.practice),
            ("team", &query.team),
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
    html(&WaitingPage {
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
    })
}

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
struct SentQuery {
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

async fn referral_show(
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
                .triage(who, id, &d, today())
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
        Err(CaseworkError::OverCapacity(m)) => {
            let mut errors = FormErrors::default();
            errors.add("confirm_over_capacity", m);
            Ok(Err(errors))
        }
        Err(CaseworkError::Refused(m)) => {
            let mut errors = FormErrors::default();
            let field = if action == "link" {
                "person"
            } else if m.contains("reason for accepting") {
                "override_reason"
            } else {
                "outcome"
            };
            errors.add(field, m);
            Ok(Err(errors))
        }
        Err(e) => Err(e.into()),
    }
}

async fn referral_action(
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

// ----- Cases -------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "casework/hub.html")]
struct HubPage {
    chrome: Chrome,
    cases: Vec<CaseSummary>,
    waiting: usize,
    supervisor: bool,
}

async fn hub(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let cases = state.store.my_cases(&user.principal).await?;
    let waiting = state
        .store
        .waiting_list(&user.principal, &WaitingFilter::default(), today())
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
}

async fn caseload(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    html(&CaseloadPage {
        chrome: Chrome::signed_in("My cases", &csrf, &user, "/casework"),
        cases: state.store.my_cases(&user.principal).await?,
        today: today(),
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

async fn my_day(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let now = super::lone_working::now();
    html(&MyDayPage {
        chrome: Chrome::signed_in("My day", &csrf, &user, "/casework"),
        day: state.store.my_day(&user.principal, now.date()).await?,
        today: now.date(),
        now,
        overdue_visits: state
            .store
            .overdue_visit_count(&user.principal, now)
            .await?,
        supervises: super::lone_working::supervises(&user),
    })
}

#[derive(Template)]
#[template(path = "casework/case.html")]
pub(super) struct CasePage {
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
    outcomes: super::outcomes::CaseOutcomes,
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
}

pub(super) async fn case_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: CaseId,
    form: Pairs,
    errors: FormErrors,
    conflict: bool,
) -> Result<CasePage, AppError> {
    let c = state.store.case_for(&user.principal, id).await?;
    let workers = if c.can_edit {
        state.store.worker_loads(&c.service).await?
    } else {
        Vec::new()
    };
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
    let score_rows = state
        .store
        .life_domains()
        .await?
        .into_iter()
        .map(|(code, label)| {
            let key = format!("score_{code}");
            let value = form.get(&key).to_owned();
            let error = errors.get(&key).map(str::to_owned);
            (code, label, value, error)
        })
        .collect();
    let open_actions = c.plan.actions.iter().any(|a| a.done_on.is_none());
    let concerns = state.store.concerns_on_case(&user.principal, id).await?;
    let open_concerns = concerns.iter().filter(|k| k.status.is_open()).count();
    // The record was opened (and audited) by `case_for` above; the flags are part of it.
    let flags = state.store.safety_flags(c.person).await?;
    let outcomes = super::outcomes::case_outcomes(state, &c).await?;
    let mdt = state.store.case_mdt_of(&user.principal, &c).await?;
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
        today: today(),
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
    })
}

async fn case_show(
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

/// One change to a case, parsed from a form or a JSON body.
enum CaseAction {
    Allocate {
        user: careweave_domain::UserId,
        role: CaseRole,
        confirm: bool,
    },
    Contact(NewContact),
    Visit(NewVisit),
    Flag {
        on_address: bool,
        reason: String,
    },
    Assessment(NewAssessment),
    Plan {
        version: i64,
        text: PlanText,
    },
    PlanItem {
        version: i64,
        item: PlanItem,
    },
    Review {
        on: NaiveDate,
        intensity: Intensity,
        summary: String,
    },
    Hold {
        hold: bool,
        reason: String,
    },
    Discharge(Discharge),
    Reopen(String),
    Carer(Carer),
}

fn parse_version(errors: &mut FormErrors, p: &Pairs) -> i64 {
    p.get("version").trim().parse().unwrap_or_else(|_| {
        errors.add("version", "Reload the page: the plan's version is missing");
        -1
    })
}

fn parse_case_action(
    action: &str,
    p: &Pairs,
    domains: &[(String, String)],
) -> Result<Option<CaseAction>, FormErrors> {
    let mut e = FormErrors::default();
    let a = match action {
        "allocate" => {
            let user = p.get("worker").trim().parse::<i64>().ok();
            if user.is_none() {
                e.add("worker", "Select a worker");
            }
            let role = choice(
                &mut e,
                p,
                "role",
                CaseRole::from_code,
                "Select the worker's role on the case",
            );
            user.zip(role).map(|(u, role)| CaseAction::Allocate {
                user: careweave_domain::UserId::new(u),
                role,
                confirm: p.has("confirm_over_capacity", "yes"),
            })
        }
        "contacts" => {
            let contact_type = choice(
                &mut e,
                p,
                "contact_type",
                ContactType::from_code,
                "Select the type of contact",
            );
            let on = date_from(&mut e, p, "contact", "Contact date", true);
            let minutes = match p.get("minutes").trim().parse::<u32>() {
                Ok(m) if (1..=1440).contains(&m) => Some(m),
                _ => {
                    e.add(
                        "minutes",
                        "Enter the length of the contact in minutes, from 1 to 1440",
                    );
                    None
                }
            };
            // A note about sexual health or domestic abuse is read only by its author, the lead
            // worker and the service's supervisors unless the person agreed to share more.
            let sensitive = match p.get("sensitive").trim() {
                "" | "none" => Ok(None),
                code => SensitiveCategory::from_code(code)
                    .filter(|c| SensitiveCategory::MARKABLE.contains(c))
                    .map(Some)
                    .ok_or(()),
            };
            if sensitive.is_err() {
                e.add("sensitive", "Select whether the note is sensitive");
            }
            match (contact_type, on, minutes, sensitive) {
                (Some(contact_type), Some(on), Some(minutes), Ok(sensitive)) => {
                    Some(CaseAction::Contact(NewContact {
                        contact_type,
                        on,
                        minutes,
                        present: p.trimmed("present"),
                        note: p.trimmed("note"),
                        sensitive,
                    }))
                }
                _ => None,
            }
        }
        "visits" => {
            let contact_type = choice(
                &mut e,
                p,
                "visit_type",
                ContactType::from_code,
                "Select the type of visit",
            );
            let on = date_from(&mut e, p, "visit", "Visit date", false);
            if on.is_some_and(|d| d < today()) {
                e.add("visit-day", "Visit date must be today or in the future");
            }
            let starts_at = time_from(&mut e, p, "visit_start", "the time the visit starts");
            let back_by = time_from(&mut e, p, "visit_back", "the time you expect to be back");
            if let (Some(s), Some(b)) = (starts_at, back_by) {
                if b <= s {
                    e.add(
                        "visit_back",
                        "The time you expect to be back must be after the start",
                    );
                }
            }
            let place = required(
                &mut e,
                p,
                "visit_place",
                "Enter where the visit is, so a colleague could find you",
            );
            let companion = match p.get("companion").trim() {
                "" => None,
                c => match c.parse::<i64>() {
                    Ok(id) => Some(careweave_domain::UserId::new(id)),
                    Err(_) => {
                        e.add("companion", "Choose a colleague from the list");
                        None
                    }
                },
            };
            match (contact_type, on, starts_at, back_by) {
                (Some(contact_type), Some(on), Some(starts_at), Some(back_by)) => {
                    Some(CaseAction::Visit(NewVisit {
                        contact_type,
                        on,
                        starts_at,
                        back_by,
                        place,
                        companion,
                        note: p.trimmed("visit_note"),
                    }))
                }
                _ => None,
            }
        }
        "flags" => {
            let reason = required(
                &mut e,
                p,
                "safety_reason",
                "Enter what colleagues need to know before visiting",
            );
            let on = p.trimmed("safety_on");
            if !["person", "address"].contains(&on.as_str()) {
                e.add(
                    "safety_on",
                    "Select whether the flag is on the person or their address",
                );
            }
            Some(CaseAction::Flag {
                on_address: on == "address",
                reason,
            })
        }
        "assessments" => {
            let on = date_from(&mut e, p, "assessed", "Assessment date", true);
            let mut scores = Vec::new();
            for (code, label) in domains {
                let v = p.get(&format!("score_{code}")).trim();
                if v.is_empty() {
                    continue;
                }
                match v
                    .parse::<u8>()
                    .map_err(|_| ())
                    .and_then(|n| DomainScore::new(label, n).map_err(|_| ()))
                {
                    Ok(s) => scores.push((code.clone(), s)),
                    Err(()) => e.add(
                        &format!("score_{code}"),
                        format!("{label} must be a score from 1 (struggling) to 5 (thriving)"),
                    ),
                }
            }
            if scores.is_empty() && e.is_empty() {
                if let Some((code, _)) = domains.first() {
                    e.add(&format!("score_{code}"), "Score at least one life domain");
                }
            }
            on.map(|on| {
                CaseAction::Assessment(NewAssessment {
                    on,
                    scores,
                    strengths: p.trimmed("strengths"),
                })
            })
        }
        "plan" => {
            let version = parse_version(&mut e, p);
            let what_matters = required(
                &mut e,
                p,
                "what_matters",
                "Enter what matters to the person, in their words",
            );
            Some(CaseAction::Plan {
                version,
                text: PlanText {
                    what_matters,
                    priorities: p
                        .get("priorities")
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    escalation: p.trimmed("escalation"),
                },
            })
        }
        "goals" => {
            let version = parse_version(&mut e, p);
            let text = required(&mut e, p, "goal", "Enter the goal");
            let target = if p.get("target-day").is_empty()
                && p.get("target-month").is_empty()
                && p.get("target-year").is_empty()
                && p.get("target").is_empty()
            {
                None
            } else {
                date_from(&mut e, p, "target", "Target date", false)
            };
            Some(CaseAction::PlanItem {
                version,
                item: PlanItem::Goal {
                    text,
                    target_on: target,
                },
            })
        }
        "progress" => {
            let version = parse_version(&mut e, p);
            let goal = p.get("goal_id").trim().parse::<i64>().ok();
            let progress = p
                .get("progress")
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= 100);
            if goal.is_none() {
                e.add("goal_id", "Choose a goal");
            }
            if progress.is_none() {
                e.add("progress", "Enter progress as a percentage from 0 to 100");
            }
            goal.zip(progress)
                .map(|(goal, progress)| CaseAction::PlanItem {
                    version,
                    item: PlanItem::Progress { goal, progress },
                })
        }
        "attainment" => {
            let version = parse_version(&mut e, p);
            let goal = p.get("gas_goal").trim().parse::<i64>().ok();
            if goal.is_none() {
                e.add("gas_goal", "Choose a goal");
            }
            let rating = choice(
                &mut e,
                p,
                "gas_level",
                careweave_domain::casework::GoalAttainment::from_code,
                "Select how the outcome compares with what was expected",
            );
            let on = date_from(&mut e, p, "gas", "The date of the rating", true);
            match (goal, rating, on) {
                (Some(goal), Some(rating), Some(on)) => Some(CaseAction::PlanItem {
                    version,
                    item: PlanItem::Attainment { goal, rating, on },
                }),
                _ => None,
            }
        }
        "actions" => {
            let version = parse_version(&mut e, p);
            let text = required(&mut e, p, "action_text", "Enter the action");
            let owner = required(&mut e, p, "owner", "Enter who will do it");
            let due = date_from(&mut e, p, "due", "Due date", false);
            due.map(|due_on| CaseAction::PlanItem {
                version,
                item: PlanItem::Action {
                    text,
                    owner,
                    due_on,
                },
            })
        }
        "action-done" => {
            let version = parse_version(&mut e, p);
            match p.get("action_id").trim().parse::<i64>() {
                Ok(action) => Some(CaseAction::PlanItem {
                    version,
                    item: PlanItem::ActionDone {
                        action,
                        on: today(),
                    },
                }),
                Err(_) => {
                    e.add("action_id", "Choose an action");
                    None
                }
            }
        }
        "steps" => {
            let version = parse_version(&mut e, p);
            let text = required(&mut e, p, "step", "Enter the step");
            let week = p
                .get("week")
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|w| (1..=104).contains(w));
            if week.is_none() {
                e.add("week", "Enter the week number, from 1 to 104");
            }
            week.map(|week| CaseAction::PlanItem {
                version,
                item: PlanItem::Step { week, text },
            })
        }
        "reviews" => {
            let on = date_from(&mut e, p, "reviewed", "Review date", true);
            let intensity = choice(
                &mut e,
                p,
                "review_intensity",
                Intensity::from_code,
                "Select the intensity of support from now on",
            );
            let summary = required(&mut e, p, "review_summary", "Enter a summary of the review");
            on.zip(intensity).map(|(on, intensity)| CaseAction::Review {
                on,
                intensity,
                summary,
            })
        }
        "hold" | "resume" => {
            let reason = required(&mut e, p, "hold_reason", "Enter the reason");
            Some(CaseAction::Hold {
                hold: action == "hold",
                reason,
            })
        }
        "discharge" => {
            let reason = choice(
                &mut e,
                p,
                "discharge_reason",
                DischargeReason::from_code,
                "Select the reason for discharge",
            );
            let destination = choice(
                &mut e,
                p,
                "destination",
                DischargeDestination::from_code,
                "Select where the person goes next",
            );
            let gp = choice(
                &mut e,
                p,
                "gp_agreement",
                GpAgreement::from_code,
                "Select whether the GP agreed to the discharge",
            );
            let on = date_from(&mut e, p, "discharged", "Discharge date", true);
            match (reason, destination, gp, on) {
                (Some(reason), Some(destination), Some(gp), Some(on)) => {
                    Some(CaseAction::Discharge(Discharge {
                        on,
                        reason,
                        destination,
                        gp,
                        summary: p.trimmed("outcomes"),
                    }))
                }
                _ => None,
            }
        }
        "reopen" => Some(CaseAction::Reopen(required(
            &mut e,
            p,
            "reopen_reason",
            "Enter why the case is being reopened",
        ))),
        "carers" => {
            let name = required(&mut e, p, "carer_name", "Enter the carer's name");
            let relationship = required(
                &mut e,
                p,
                "relationship",
                "Enter the carer's relationship to the person",
            );
            let involve = p.trimmed("involve");
            if !["yes", "no", "ask"].contains(&involve.as_str()) {
                e.add(
                    "involve",
                    "Select whether the person wants the carer involved",
                );
            }
            Some(CaseAction::Carer(Carer {
                name,
                relationship,
                contact: p.trimmed("carer_contact"),
                involve,
            }))
        }
        _ => return Ok(None),
    };
    match a {
        Some(a) if e.is_empty() => Ok(Some(a)),
        _ => Err(e),
    }
}

/// The outcome of a case action that did not succeed but is not a failure of the service.
enum Refusal {
    Invalid(FormErrors),
    Conflict(FormErrors),
}

async fn run_case_action(
    state: &AppState,
    who: &Principal,
    id: CaseId,
    action: &str,
    p: &Pairs,
) -> Result<Result<(), Refusal>, AppError> {
    let domains = state.store.life_domains().await?;
    let parsed = match parse_case_action(action, p, &domains) {
        Ok(Some(a)) => a,
        Ok(None) => return Err(AppError::NotFound),
        Err(errors) => return Ok(Err(Refusal::Invalid(errors))),
    };
    let s = &state.store;
    let (result, field) = match parsed {
        CaseAction::Allocate {
            user,
            role,
            confirm,
        } => (
            s.allocate(who, id, user, role, confirm, today()).await,
            "confirm_over_capacity",
        ),
        CaseAction::Contact(c) => (s.record_contact(who, id, &c).await, "contact_type"),
        // A refused visit is put right by choosing a colleague to go too, so the errors point there.
        CaseAction::Visit(v) => (s.plan_visit(who, id, &v).await.map(|_| ()), "companion"),
        CaseAction::Flag { on_address, reason } => (
            s.raise_safety_flag(who, id, on_address, &reason, today())
                .await,
            "safety_reason",
        ),
        CaseAction::Assessment(a) => (s.record_assessment(who, id, &a).await, "assessed-day"),
        CaseAction::Plan { version, text } => (
            s.save_plan(who, id, version, &text, today())
                .await
                .map(|_| ()),
            "what_matters",
        ),
        CaseAction::PlanItem { version, item } => (
            s.change_plan(who, id, version, &item, today())
                .await
                .map(|_| ()),
            "what_matters",
        ),
        CaseAction::Review {
            on,
            intensity,
            summary,
        } => (
            s.record_review(who, id, on, intensity, &summary)
                .await
                .map(|_| ()),
            "review_summary",
        ),
        CaseAction::Hold { hold, reason } => (
            s.set_on_hold(who, id, hold, &reason, today()).await,
            "hold_reason",
        ),
        CaseAction::Discharge(d) => (s.discharge(who, id, &d).await, "discharge_reason"),
        CaseAction::Reopen(reason) => (s.reopen(who, id, &reason, today()).await, "reopen_reason"),
        CaseAction::Carer(c) => (s.add_carer(who, id, &c, today()).await, "carer_name"),
    };
    let mut errors = FormErrors::default();
    match result {
        Ok(()) => Ok(Ok(())),
        Err(CaseworkError::Conflict) => {
            errors.add(field, CaseworkError::Conflict.to_string());
            Ok(Err(Refusal::Conflict(errors)))
        }
        Err(CaseworkError::OverCapacity(m) | CaseworkError::Refused(m)) => {
            errors.add(field, m);
            Ok(Err(Refusal::Invalid(errors)))
        }
        Err(CaseworkError::NotAllowed(rules)) => {
            for m in rules {
                errors.add(field, m);
            }
            Ok(Err(Refusal::Invalid(errors)))
        }
        Err(e) => Err(e.into()),
    }
}

fn section_of(action: &str) -> &'static str {
    match action {
        "allocate" => "team",
        "contacts" | "visits" => "contacts",
        "flags" => "household",
        "assessments" => "assessment",
        "reviews" | "hold" | "resume" => "reviews",
        "carers" => "household",
        "discharge" | "reopen" => "discharge",
        _ => "plan",
    }
}

async fn case_action(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = CaseId::new(id);
    let form = Pairs(pairs);
    match run_case_action(&state, &user.principal, id, &action, &form).await? {
        Ok(()) => Ok(Redirect::to(&format!("/cases/{id}#{}", section_of(&action))).into_response()),
        Err(Refusal::Invalid(errors)) => {
            invalid(&case_page(&state, &csrf, &user, id, form, errors, false).await?)
        }
        Err(Refusal::Conflict(errors)) => {
            let mut r = html(&case_page(&state, &csrf, &user, id, form, errors, true).await?)?;
            *r.status_mut() = StatusCode::CONFLICT;
            Ok(r)
        }
    }
}

// ----- The message back to the GP ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "casework/gp_message.html")]
struct GpMessagePage {
    chrome: Chrome,
    m: GpMessage,
}

async fn gp_message_page(
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

async fn gp_message_json(
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

// ----- Team reports ---------------------------------------------------------------------------------

/// One row of a report table: a label and a count already disclosure-controlled when needed.
struct ReportRow {
    label: String,
    count: String,
    note: String,
}

#[derive(Template)]
#[template(path = "casework/reports.html")]
struct ReportsPage {
    chrome: Chrome,
    suppressed: bool,
    /// Outcome change per instrument scale: (instrument, scale, people, improved, share improved).
    outcome_change: Vec<(String, String, String, String, String)>,
    status: Vec<ReportRow>,
    workers: Vec<ReportRow>,
    practices: Vec<ReportRow>,
    employers: Vec<ReportRow>,
    funding: Vec<ReportRow>,
    sources: Vec<ReportRow>,
    durations: Vec<ReportRow>,
    waiting: String,
    median_wait: String,
    p90_wait: String,
    redirected: String,
    declined: String,
    reopened: String,
}

/// Which services' figures `who` sees, and whether they leave the team (so need suppression).
pub(super) async fn report_scope(
    state: &AppState,
    who: &Principal,
) -> Result<(Vec<CaseworkService>, bool), AppError> {
    if who.has_role(Role::Supervisor) {
        Ok((state.store.services_worked_by(who).await?, false))
    } else if access::can_read_aggregates(who) {
        Ok((state.store.casework_services().await?, true))
    } else {
        Err(AppError::Forbidden)
    }
}

pub(super) fn count_text(n: u64, suppress: bool) -> String {
    if suppress {
        SafeCount::from_raw(n).to_string()
    } else {
        n.to_string()
    }
}

fn centile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    // Nearest-rank centile: the smallest value with at least q of the values at or below it.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn reports_page(chrome: Chrome, r: &CaseworkReport, suppress: bool) -> ReportsPage {
    let rows = |items: Vec<(String, u64, String)>| {
        items
            .into_iter()
            .map(|(label, n, note)| ReportRow {
                label,
                count: count_text(n, suppress),
                note,
            })
            .collect::<Vec<_>>()
    };
    let cap_note = |n: u64, cap: Option<u32>| match cap {
        Some(c) if n >= u64::from(c) && !suppress => format!("At or over the cap of {c}"),
        Some(c) => format!("Cap {c}"),
        None => String::new(),
    };
    // A wait shown to people outside the team would identify a person when few are waiting.
    let small = suppress && r.waiting <= careweave_domain::disclosure::SUPPRESS_AT_OR_BELOW;
    let wait = |q| match centile(&r.waiting_days, q) {
        _ if small => "Not shown for 7 or fewer".to_owned(),
        Some(d) => format!("{d} days"),
        None => "No one is waiting".to_owned(),
    };
    ReportsPage {
        chrome,
        suppressed: suppress,
        outcome_change: Vec::new(),
        status: rows(
            r.by_status
                .iter()
                .map(|(s, n)| (s.label().to_owned(), *n, String::new()))
                .collect(),
        ),
        workers: if suppress {
            Vec::new()
        } else {
            rows(
                r.caseload_by_worker
                    .iter()
                    .map(|(w, n, c)| (w.clone(), *n, cap_note(*n, *c)))
                    .collect(),
            )
        },
        practices: rows(
            r.by_practice
                .iter()
                .map(|(p, n, c)| (p.clone(), *n, cap_note(*n, *c)))
                .collect(),
        ),
        employers: rows(
            r.by_employer
                .iter()
                .map(|(e, n)| (e.clone(), *n, String::new()))
                .collect(),
        ),
        funding: rows(
            r.by_funding
                .iter()
                .map(|(f, n)| (f.clone(), *n, String::new()))
                .collect(),
        ),
        sources: rows(
            r.sources
                .iter()
                .map(|(s, n)| (s.label().to_owned(), *n, String::new()))
                .collect(),
        ),
        durations: rows(
            DURATION_BUCKETS
                .iter()
                .zip(&r.durations)
                .map(|((_, label), n)| ((*label).to_owned(), *n, String::new()))
                .collect(),
        ),
        waiting: count_text(r.waiting, suppress),
        median_wait: wait(0.5),
        p90_wait: wait(0.9),
        redirected: count_text(r.redirected, suppress),
        declined: count_text(r.declined, suppress),
        reopened: count_text(r.reopened, suppress),
    }
}

async fn reports(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let (services, suppress) = report_scope(&state, &user.principal).await?;
    let report = state.store.casework_report(&services, today()).await?;
    let ids: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    let mut page = reports_page(
        Chrome::signed_in("Casework reports", &csrf, &user, "/casework/reports"),
        &report,
        suppress,
    );
    page.outcome_change = super::outcomes::change_rows(&state, &ids)
        .await?
        .into_iter()
        .map(|r| {
            let share = r.share_text(suppress);
            (
                r.instrument,
                r.scale,
                count_text(r.pairs, suppress),
                count_text(r.improved, suppress),
                share,
            )
        })
        .collect();
    html(&page)
}

// ----- JSON API -------------------------------------------------------------------------------------

pub(super) fn errors_json(status: StatusCode, errors: &FormErrors) -> Response {
    let list: Vec<_> = errors
        .entries()
        .iter()
        .map(|(field, message)| serde_json::json!({ "field": field, "message": message }))
        .collect();
    (status, Json(serde_json::json!({ "errors": list }))).into_response()
}

pub(super) fn body_pairs(body: &serde_json::Value) -> Result<Pairs, Box<Response>> {
    Pairs::from_json(body).map_err(|m| {
        Box::new(
            (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": m })),
            )
                .into_response(),
        )
    })
}

async fn api_referral_create(
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

async fn api_referral(
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

async fn api_referral_action(
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

async fn api_waiting(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<WaitingQuery>,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let list = state
        .store
        .waiting_list(&user.principal, &query.filter(), today())
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

async fn api_caseload(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let cases = state.store.my_cases(&user.principal).await?;
    Ok(Json(cases.iter().map(summary_json).collect::<Vec<_>>()).into_response())
}

async fn api_my_day(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let now = super::lone_working::now();
    let d = state.store.my_day(&user.principal, now.date()).await?;
    Ok(Json(serde_json::json!({
        "visits": d.visits.iter().map(|v| super::lone_working::visit_json(v, now)).collect::<Vec<_>>(),
        "reviews_due": d.reviews_due.iter().map(summary_json).collect::<Vec<_>>(),
        "overdue_actions": d.overdue_actions.iter().map(|a| serde_json::json!({
            "case_id": a.case.get(), "name": a.name, "action": a.text, "owner": a.owner, "due_on": a.due_on.to_string(),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
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
        "discharge": c.discharge.as_ref().map(|d| json!({ "on": d.on.to_string(), "reason": d.reason.code(), "destination": d.destination.code(), "gp_agreement": d.gp.code() })),
    })
}

async fn api_case(
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

async fn api_case_action(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_case_action(&state, &user.principal, CaseId::new(id), &action, &p).await? {
        Ok(()) => Ok(Json(
            serde_json::json!({ "ok": true, "href": format!("/api/v1/cases/{id}") }),
        )
        .into_response()),
        Err(Refusal::Invalid(errors)) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
        Err(Refusal::Conflict(errors)) => Ok(errors_json(StatusCode::CONFLICT, &errors)),
    }
}

async fn api_reports(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let (services, suppress) = report_scope(&state, &user.principal).await?;
    let r = state.store.casework_report(&services, today()).await?;
    let ids: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    let change = super::outcomes::change_rows(&state, &ids).await?;
    let n = |v: u64| -> serde_json::Value {
        if suppress {
            SafeCount::from_raw(v)
                .value()
                .map_or(serde_json::Value::Null, Into::into)
        } else {
            v.into()
        }
    };
    Ok(Json(serde_json::json!({
        "disclosure_controlled": suppress,
        "cases_by_status": r.by_status.iter().map(|(s, c)| serde_json::json!({ "status": s.code(), "count": n(*c) })).collect::<Vec<_>>(),
        "open_cases_by_practice": r.by_practice.iter().map(|(p, c, _)| serde_json::json!({ "practice": p, "count": n(*c) })).collect::<Vec<_>>(),
        "open_cases_by_employer": r.by_employer.iter().map(|(p, c)| serde_json::json!({ "employer": p, "count": n(*c) })).collect::<Vec<_>>(),
        "open_cases_by_funding_stream": r.by_funding.iter().map(|(p, c)| serde_json::json!({ "funding_stream": p, "count": n(*c) })).collect::<Vec<_>>(),
        "waiting": n(r.waiting),
        "referral_sources": r.sources.iter().map(|(s, c)| serde_json::json!({ "source": s.code(), "count": n(*c) })).collect::<Vec<_>>(),
        "redirected": n(r.redirected),
        "declined": n(r.declined),
        "reopened": n(r.reopened),
        "duration_of_support": DURATION_BUCKETS.iter().zip(&r.durations).map(|((_, l), c)| serde_json::json!({ "bucket": l, "count": n(*c) })).collect::<Vec<_>>(),
        "outcome_change": change.iter().map(|c| serde_json::json!({
            "instrument": c.instrument, "scale": c.scale, "people_paired": n(c.pairs),
            "improved": n(c.improved), "stayed": n(c.stayed), "worsened": n(c.worsened),
            "share_improved": c.share_text(suppress),
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
        Err(CaseworkError::Denied) => return Ok(Vec::new()),
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
