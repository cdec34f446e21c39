//! People: a worker's caseload, a person's record, and registering a person the worker will support.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use careweave_domain::access::{self, Role};
use careweave_domain::consent::{can_break_glass, BreakGlassCategory, ConsentMethod, GpSharing};
use careweave_domain::dates::{age_on, not_in_future, parse_date_parts};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, Postcode, Sex};
use careweave_store::consent::{BreakGlassError, ConsentError, ConsentVersion, NewConsent};
use careweave_store::people::{CareTeamMember, NewPerson};
use careweave_store::records::RecordError;
use careweave_store::records::{PersonRecord, PersonSummary};
use careweave_store::StoreError;
use serde::Deserialize;

use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/people", get(list))
        .route("/people/new", get(new_form).post(create))
        .route("/people/{id}", get(show))
        .route("/people/{id}/consent", axum::routing::post(record_consent))
        .route("/people/{id}/break-glass", axum::routing::post(break_glass))
}

fn require_caseload(user: &CurrentUser) -> Result<(), AppError> {
    if access::has_caseload(&user.principal) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[derive(Template)]
#[template(path = "people/list.html")]
struct ListPage {
    chrome: Chrome,
    people: Vec<PersonSummary>,
    /// How many are in the caseload before the filter.
    all: usize,
    q: String,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    q: String,
}

/// `GET /people`: the caseload, filtered by name, NHS number or date of birth when `q` is given
/// (read the way every search box reads it, `domain::search`).
async fn list(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let mut people = state.store.my_people(&user.principal).await?;
    let all = people.len();
    let mut errors = FormErrors::default();
    if !query.q.trim().is_empty() {
        match careweave_domain::search::PersonQuery::parse(&query.q) {
            Ok(q) => people.retain(|p| {
                let (family, given) = p.display_name.split_once(", ").unwrap_or(("", ""));
                q.matches(given, family, Some(&p.nhs_number), Some(p.date_of_birth))
            }),
            Err(e) => errors.add("q", e.to_string()),
        }
    }
    let page = ListPage {
        chrome: Chrome::signed_in("My people", &csrf, &user, "/people"),
        people,
        all,
        q: query.q,
        errors,
    };
    if page.errors.is_empty() {
        html(&page)
    } else {
        invalid(&page)
    }
}

#[derive(Template)]
#[template(path = "people/show.html")]
struct ShowPage {
    chrome: Chrome,
    record: PersonRecord,
    age: i32,
    /// Links to the person's cases and waiting referrals (href, words).
    casework: Vec<(String, String)>,
    /// The person's sharing preferences, newest version first.
    consent: Vec<ConsentVersion>,
    /// The organisations the consent form asks about (id, name).
    organisations: Vec<(i64, String)>,
    form: ConsentForm,
    errors: FormErrors,
    gp_choices: &'static [GpSharing],
    methods: &'static [ConsentMethod],
}

impl ShowPage {
    /// The two yes-or-no questions of the consent form: (field, question, answer so far).
    fn yes_no_questions(&self) -> Vec<(&'static str, &'static str, String)> {
        vec![
            (
                "carers",
                "May their carers be told about their care?",
                self.form.carers.clone(),
            ),
            (
                "sensitive",
                "May sensitive items (sexual health, domestic abuse) be shared with the whole care team?",
                self.form.sensitive.clone(),
            ),
        ]
    }

    /// What the form shows for organisation `id`: "share", "decline" or nothing chosen yet.
    fn organisation_answer(&self, id: &i64) -> &str {
        self.form
            .organisations
            .iter()
            .find(|(o, _)| o == id)
            .map_or("", |(_, a)| a.as_str())
    }
}

/// What was typed into the consent form, kept verbatim.
#[derive(Debug, Default, Clone)]
pub struct ConsentForm {
    gp: String,
    carers: String,
    sensitive: String,
    method: String,
    version: String,
    /// (organisation id, "share" or "decline") for each organisation asked about.
    organisations: Vec<(i64, String)>,
}

impl ConsentForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut form = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "gp" => form.gp.clone_from(v),
                "carers" => form.carers.clone_from(v),
                "sensitive" => form.sensitive.clone_from(v),
                "method" => form.method.clone_from(v),
                "version" => form.version.clone_from(v),
                other => {
                    if let Some(id) = other.strip_prefix("org-").and_then(|i| i.parse().ok()) {
                        form.organisations.push((id, v.clone()));
                    }
                }
            }
        }
        form
    }

    /// The form as the current version left it, for changing it.
    fn from_current(current: Option<&ConsentVersion>) -> Self {
        let Some(v) = current else {
            return Self {
                version: "0".into(),
                ..Self::default()
            };
        };
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
        Self {
            gp: v.gp.code().into(),
            carers: yes_no(v.share_with_carers),
            sensitive: yes_no(v.sensitive_with_care_team),
            method: String::new(),
            version: v.version.to_string(),
            organisations: v
                .organisations
                .iter()
                .map(|o| {
                    let answer = if o.shares { "share" } else { "decline" };
                    (o.organisation.get(), answer.to_owned())
                })
                .collect(),
        }
    }
}

/// Checks every answer of the consent form, reporting every problem at once.
fn validate_consent(
    form: &ConsentForm,
    organisations: &[(i64, String)],
) -> Result<(NewConsent, i64), FormErrors> {
    let mut errors = FormErrors::default();
    let gp = GpSharing::from_code(&form.gp);
    if gp.is_none() {
        errors.add("gp", "Select what the person agreed to share with their GP");
    }
    let yes_no = |v: &str| match v {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let carers = yes_no(&form.carers);
    if carers.is_none() {
        errors.add(
            "carers",
            "Select whether the person agreed to share with their carers",
        );
    }
    let sensitive = yes_no(&form.sensitive);
    if sensitive.is_none() {
        errors.add(
            "sensitive",
            "Select whether sensitive items may be shared with the care team",
        );
    }
    let mut choices = Vec::new();
    for (id, name) in organisations {
        let answer = form
            .organisations
            .iter()
            .find(|(o, _)| o == id)
            .map(|(_, a)| a.as_str());
        match answer {
            Some("share") => choices.push((OrganisationId::new(*id), true)),
            Some("decline") => choices.push((OrganisationId::new(*id), false)),
            _ => errors.add(
                &format!("org-{id}"),
                format!("Select whether the person agreed to share with {name}"),
            ),
        }
    }
    let method = ConsentMethod::from_code(&form.method);
    if method.is_none() {
        errors.add("method", "Select how the person told you");
    }
    let version = form.version.parse::<i64>().unwrap_or(-1);
    match (gp, carers, sensitive, method) {
        (Some(gp), Some(carers), Some(sensitive), Some(method)) if errors.is_empty() => Ok((
            NewConsent {
                gp,
                share_with_carers: carers,
                sensitive_with_care_team: sensitive,
                organisations: choices,
                method,
            },
            version,
        )),
        _ => Err(errors),
    }
}

/// Builds the record page, with the consent form as given (or as the current version left it);
/// `None` when the policy refuses the record.
async fn record_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: PersonId,
    form: Option<ConsentForm>,
    errors: FormErrors,
) -> Result<Option<ShowPage>, AppError> {
    let record = match state.store.read_person(&user.principal, id).await {
        Ok(record) => record,
        Err(RecordError::Denied) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    // The record was read through the door above; the consent functions take the person's
    // capability, which a refusal here (only if the record was closed meanwhile) audits.
    let access = state
        .store
        .person_for(&user.principal, id, "consent: ")
        .await?;
    let consent = state.store.consent_history(&access).await?;
    let organisations = state
        .store
        .consent_organisations(&access)
        .await?
        .into_iter()
        .map(|(o, name)| (o.get(), name))
        .collect();
    let age = age_on(record.person.date_of_birth, state.clock.today());
    let title = record.person.display_name();
    let casework = super::casework::person_section(state, &user.principal, id).await?;
    let form = form.unwrap_or_else(|| ConsentForm::from_current(consent.first()));
    Ok(Some(ShowPage {
        chrome: Chrome::signed_in(&title, csrf, user, "/people"),
        record,
        age,
        casework,
        consent,
        organisations,
        form,
        errors,
        gp_choices: GpSharing::ALL,
        methods: ConsentMethod::ALL,
    }))
}

async fn show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let id = PersonId::new(id);
    match record_page(&state, &csrf, &user, id, None, FormErrors::default()).await? {
        Some(page) => html(&page),
        None => refused(
            &csrf,
            &user,
            id,
            BreakGlassForm::default(),
            FormErrors::default(),
        ),
    }
}

async fn record_consent(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = PersonId::new(id);
    let form = ConsentForm::from_pairs(&pairs);
    let access = state
        .store
        .person_for(&user.principal, id, "recording consent: ")
        .await?;
    let organisations: Vec<(i64, String)> = state
        .store
        .consent_organisations(&access)
        .await?
        .into_iter()
        .map(|(o, name)| (o.get(), name))
        .collect();
    let errors = match validate_consent(&form, &organisations) {
        Ok((consent, version)) => {
            match state.store.record_consent(&access, &consent, version).await {
                Ok(_) => return Ok(Redirect::to(&format!("/people/{id}#consent")).into_response()),
                Err(ConsentError::Stale) => {
                    let mut errors = FormErrors::default();
                    errors.add("gp", ConsentError::Stale.to_string());
                    errors
                }
                Err(ConsentError::Record(e)) => return Err(e.into()),
                Err(ConsentError::Store(e)) => return Err(e.into()),
            }
        }
        Err(errors) => errors,
    };
    // A stale form shows the newest version, so that the worker sees what changed.
    let form = if errors.get("gp") == Some(&ConsentError::Stale.to_string()) {
        None
    } else {
        Some(form)
    };
    match record_page(&state, &csrf, &user, id, form, errors).await? {
        Some(page) => invalid(&page),
        None => Err(AppError::Forbidden),
    }
}

#[derive(Template)]
#[template(path = "people/break_glass.html")]
struct RefusedPage {
    chrome: Chrome,
    person: i64,
    form: BreakGlassForm,
    errors: FormErrors,
    categories: &'static [BreakGlassCategory],
}

/// What was typed into the break-glass form.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct BreakGlassForm {
    category: String,
    reason: String,
}

/// The 403 page for a refused record: workers and supervisors are offered break-glass, every other
/// role gets the plain refusal.
fn refused(
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: PersonId,
    form: BreakGlassForm,
    errors: FormErrors,
) -> Result<Response, AppError> {
    if !can_break_glass(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let status = if errors.is_empty() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = html(&RefusedPage {
        chrome: Chrome::signed_in(
            "You do not have access to this record",
            csrf,
            user,
            "/people",
        ),
        person: id.get(),
        form,
        errors,
        categories: BreakGlassCategory::ALL,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

async fn break_glass(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<BreakGlassForm>,
) -> Result<Response, AppError> {
    let id = PersonId::new(id);
    if !can_break_glass(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let mut errors = FormErrors::default();
    let category = BreakGlassCategory::from_code(&form.category);
    if category.is_none() {
        errors.add("category", "Select why you need this record now");
    }
    if form.reason.trim().is_empty() {
        errors.add("reason", "Enter the reason you need this record now");
    }
    let Some(category) = category.filter(|_| errors.is_empty()) else {
        return refused(&csrf, &user, id, form, errors);
    };
    let limit = chrono::Duration::hours(state.settings.break_glass_hours.max(1));
    match state
        .store
        .break_glass(
            &user.principal,
            id,
            category,
            &form.reason,
            chrono::Utc::now(),
            limit,
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/people/{id}")).into_response()),
        Err(BreakGlassError::Refused) => Err(AppError::Forbidden),
        Err(BreakGlassError::NoReason) => {
            errors.add("reason", BreakGlassError::NoReason.to_string());
            refused(&csrf, &user, id, form, errors)
        }
        Err(BreakGlassError::Store(e)) => Err(e.into()),
    }
}

/// What was typed into the form, kept verbatim so that nothing is lost when it comes back with errors.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct PersonForm {
    nhs_number: String,
    given_name: String,
    family_name: String,
    #[serde(rename = "dob-day")]
    dob_day: String,
    #[serde(rename = "dob-month")]
    dob_month: String,
    #[serde(rename = "dob-year")]
    dob_year: String,
    sex: String,
    postcode: String,
    practice: String,
}

#[derive(Template)]
#[template(path = "people/new.html")]
struct NewPage {
    chrome: Chrome,
    form: PersonForm,
    errors: FormErrors,
    practices: Vec<(i64, String)>,
    sexes: &'static [Sex],
}

async fn practices(state: &AppState) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(state
        .store
        .organisations()
        .await?
        .into_iter()
        .filter(|o| o.kind == OrganisationKind::GpPractice)
        .map(|o| (o.id.get(), o.name))
        .collect())
}

async fn new_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    html(&NewPage {
        chrome: Chrome::signed_in("Add a person", &csrf, &user, "/people"),
        form: PersonForm::default(),
        errors: FormErrors::default(),
        practices: practices(&state).await?,
        sexes: Sex::ALL,
    })
}

/// Checks every field and reports every problem at once, as the design system asks.
/// `today` is the deployment clock's date (a date of birth cannot be after it).
fn validate(
    form: &PersonForm,
    practices: &[(i64, String)],
    today: chrono::NaiveDate,
) -> Result<NewPerson, FormErrors> {
    let mut errors = FormErrors::default();
    let nhs_number = errors.parse("nhs_number", form.nhs_number.parse::<NhsNumber>());
    if form.given_name.trim().is_empty() {
        errors.add("given_name", "Enter a first name");
    }
    if form.family_name.trim().is_empty() {
        errors.add("family_name", "Enter a last name");
    }
    let dob = errors.parse(
        "dob-day",
        parse_date_parts(
            "Date of birth",
            &form.dob_day,
            &form.dob_month,
            &form.dob_year,
        )
        .and_then(|d| not_in_future("Date of birth", d, today)),
    );
    let sex = Sex::from_code(&form.sex);
    if sex.is_none() {
        errors.add("sex", "Select the sex recorded in the GP record");
    }
    let postcode = if form.postcode.trim().is_empty() {
        None
    } else {
        errors.parse("postcode", form.postcode.parse::<Postcode>())
    };
    let practice = form
        .practice
        .parse::<i64>()
        .ok()
        .filter(|id| practices.iter().any(|(p, _)| p == id));
    if practice.is_none() {
        errors.add(
            "practice",
            "Select the GP practice the person is registered with",
        );
    }
    match (nhs_number, dob, sex, practice) {
        (Some(nhs_number), Some(date_of_birth), Some(sex), Some(practice)) if errors.is_empty() => {
            Ok(NewPerson {
                nhs_number,
                given_name: form.given_name.trim().to_owned(),
                family_name: form.family_name.trim().to_owned(),
                date_of_birth,
                sex,
                postcode,
                lsoa: None,
                imd_decile: None,
                registered_practice: careweave_domain::OrganisationId::new(practice),
                household: None,
                date_of_death: None,
            })
        }
        _ => Err(errors),
    }
}

async fn create(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(form): Form<PersonForm>,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let practices = practices(&state).await?;
    let page = |form: PersonForm, errors: FormErrors, practices: Vec<(i64, String)>| NewPage {
        chrome: Chrome::signed_in("Add a person", &csrf, &user, "/people"),
        form,
        errors,
        practices,
        sexes: Sex::ALL,
    };
    let person = match validate(&form, &practices, state.clock.today()) {
        Ok(p) => p,
        Err(errors) => return invalid(&page(form, errors, practices)),
    };
    // The worker takes the person into their own care, on behalf of the employer they work for.
    let employer = user
        .principal
        .memberships
        .iter()
        .find(|m| matches!(m.role, Role::Worker | Role::Supervisor))
        .map(|m| m.organisation)
        .ok_or(AppError::Forbidden)?;
    let actor = Some(user.principal.user);
    let first_member = CareTeamMember {
        user: user.principal.user,
        employer,
        started_on: state.clock.today(),
    };
    let id = match state
        .store
        .register_person_with_care_team(actor, &person, "registered by worker", &first_member)
        .await
    {
        Ok(id) => id,
        Err(StoreError::Duplicate(_)) => {
            let mut errors = FormErrors::default();
            errors.add(
                "nhs_number",
                "A person with this NHS number is already registered: ask their care team to add you",
            );
            return invalid(&page(form, errors, practices));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Redirect::to(&format!("/people/{id}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed "today" for the form checks.
    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 6, 16).unwrap()
    }

    fn good() -> PersonForm {
        PersonForm {
            nhs_number: "943 476 5919".into(),
            given_name: "Ada".into(),
            family_name: "Example".into(),
            dob_day: "17".into(),
            dob_month: "5".into(),
            dob_year: "1950".into(),
            sex: "female".into(),
            postcode: "ls1 4ap".into(),
            practice: "1".into(),
        }
    }

    #[test]
    fn a_good_form_becomes_a_person() {
        let p = validate(&good(), &[(1, "Riverside".into())], today()).unwrap();
        assert_eq!(p.postcode.unwrap().as_str(), "LS1 4AP");
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let form = PersonForm {
            nhs_number: "9434765918".into(),
            dob_day: "31".into(),
            dob_month: "2".into(),
            postcode: "nowhere".into(),
            ..good()
        };
        let errors = validate(&form, &[(1, "Riverside".into())], today()).unwrap_err();
        let fields: Vec<&str> = errors.entries().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["nhs_number", "dob-day", "postcode"]);
        assert!(errors.get("nhs_number").unwrap().contains("check digit"));
        assert_eq!(
            errors.get("dob-day"),
            Some("Date of birth must be a real date")
        );
    }

    #[test]
    fn unknown_practices_are_refused() {
        let form = PersonForm {
            practice: "99".into(),
            ..good()
        };
        assert!(validate(&form, &[(1, "Riverside".into())], today())
            .unwrap_err()
            .has("practice"));
    }
}
