//! People: a worker's caseload, a person's record, and registering a person the worker will support.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use careweave_domain::access::{self, Role};
use careweave_domain::dates::{age_on, not_in_future, parse_date_parts};
use careweave_domain::{NhsNumber, OrganisationKind, PersonId, Postcode, Sex};
use careweave_store::people::{CareTeamMember, NewPerson};
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
}

async fn list(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require_caseload(&user)?;
    let people = state.store.my_people(&user.principal).await?;
    html(&ListPage {
        chrome: Chrome::signed_in("My people", &csrf, &user, "/people"),
        people,
    })
}

#[derive(Template)]
#[template(path = "people/show.html")]
struct ShowPage {
    chrome: Chrome,
    record: PersonRecord,
    age: i32,
    /// Links to the person's cases and waiting referrals (href, words).
    casework: Vec<(String, String)>,
}

async fn show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let record = state
        .store
        .read_person(&user.principal, PersonId::new(id))
        .await?;
    let age = age_on(record.person.date_of_birth, chrono::Utc::now().date_naive());
    let title = record.person.display_name();
    let casework =
        super::casework::person_section(&state, &user.principal, PersonId::new(id)).await?;
    html(&ShowPage {
        chrome: Chrome::signed_in(&title, &csrf, &user, "/people"),
        record,
        age,
        casework,
    })
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
fn validate(form: &PersonForm, practices: &[(i64, String)]) -> Result<NewPerson, FormErrors> {
    let mut errors = FormErrors::default();
    let nhs_number = errors.parse("nhs_number", form.nhs_number.parse::<NhsNumber>());
    if form.given_name.trim().is_empty() {
        errors.add("given_name", "Enter a first name");
    }
    if form.family_name.trim().is_empty() {
        errors.add("family_name", "Enter a last name");
    }
    let today = chrono::Utc::now().date_naive();
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
    let person = match validate(&form, &practices) {
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
        started_on: chrono::Utc::now().date_naive(),
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
        let p = validate(&good(), &[(1, "Riverside".into())]).unwrap();
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
        let errors = validate(&form, &[(1, "Riverside".into())]).unwrap_err();
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
        assert!(validate(&form, &[(1, "Riverside".into())])
            .unwrap_err()
            .has("practice"));
    }
}
