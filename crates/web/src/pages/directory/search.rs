//! The worker's search page: need, place, day and distance, optionally for a person.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use careweave_directory::geo::METRES_PER_MILE;
use careweave_directory::schedule::{day_name, parse_day, WEEK};
use careweave_directory::search::{Index, Query as SearchQuery};
use careweave_directory::{Need, Service};
use careweave_domain::access::{self};
use careweave_domain::dates::age_on;
use careweave_domain::{PersonId, Postcode};
use chrono::NaiveDate;
use serde::Deserialize;

use super::{can_use_directory, require, DirectoryCache};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

/// The distances a worker can choose, in miles.
const MILES: &[u32] = &[1, 2, 5, 10];

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct SearchForm {
    need: String,
    q: String,
    postcode: String,
    miles: String,
    day: String,
    person: String,
}

/// A result line.
pub struct ResultRow {
    id: String,
    name: String,
    organization: String,
    description: String,
    needs: String,
    distance: String,
    when: Vec<String>,
    place: String,
    status: &'static str,
    closed: bool,
    accepts_referrals: bool,
}

fn result_row(s: &Service, distance_m: Option<f64>) -> ResultRow {
    ResultRow {
        id: s.id.to_string(),
        name: s.name.clone(),
        organization: s.organization.name.clone(),
        description: s.description.clone(),
        needs: s
            .needs
            .iter()
            .map(|n| n.name())
            .collect::<Vec<_>>()
            .join(", "),
        distance: distance_m
            .map(|m| format!("{:.1} miles", m / METRES_PER_MILE))
            .unwrap_or_default(),
        when: s
            .schedules
            .iter()
            .map(careweave_directory::Schedule::in_words)
            .collect(),
        place: s
            .locations
            .first()
            .map(|l| l.location.one_line())
            .unwrap_or_default(),
        status: s.status.label(),
        closed: s.status != careweave_directory::ServiceStatus::Active,
        accepts_referrals: s.accepts_referrals,
    }
}

#[derive(Template)]
#[template(path = "directory/search.html")]
struct SearchPage {
    chrome: Chrome,
    form: SearchForm,
    errors: FormErrors,
    needs: Vec<(&'static str, &'static str)>,
    days: Vec<(&'static str, &'static str)>,
    miles: &'static [u32],
    searched: bool,
    results: Vec<ResultRow>,
    person_name: Option<String>,
    area: String,
    areas: Vec<String>,
    overdue: usize,
    flag_days: i64,
}

fn outward_areas(index: &Index) -> Vec<String> {
    let mut areas: Vec<String> = index
        .services()
        .flat_map(|s| {
            s.locations
                .iter()
                .filter_map(|l| l.location.postcode().map(|p| p.outward().to_owned()))
        })
        .collect();
    areas.sort();
    areas.dedup();
    areas
}

/// The next date that falls on `day`, from `today` (today itself when it matches).
fn next_on(today: NaiveDate, day: chrono::Weekday) -> NaiveDate {
    use chrono::Datelike;
    let ahead = (7 + day.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    today + chrono::Duration::days(i64::from(ahead))
}

pub(super) async fn search_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Extension(cache): Extension<DirectoryCache>,
    user: CurrentUser,
    Query(mut form): Query<SearchForm>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let today = state.clock.today();
    let mut person_name = None;
    let mut age = None;
    if let Ok(pid) = form.person.trim().parse::<i64>() {
        // Coming from a person's record: their postcode and age start the search (an audited read).
        let record = state
            .store
            .read_person(&user.principal, PersonId::new(pid))
            .await?;
        person_name = Some(record.person.display_name());
        age = u8::try_from(age_on(record.person.date_of_birth, today)).ok();
        let searched_before =
            !form.q.is_empty() || !form.need.is_empty() || !form.postcode.is_empty();
        if !searched_before {
            if let Some(p) = &record.person.postcode {
                form.postcode = p.to_string();
            }
        }
    }
    let searched = !(form.q.trim().is_empty()
        && form.need.is_empty()
        && form.postcode.trim().is_empty()
        && form.day.is_empty());
    let mut errors = FormErrors::default();
    let mut query = SearchQuery {
        text: Some(form.q.trim().to_owned()).filter(|t| !t.is_empty()),
        running_only: true,
        age,
        ..SearchQuery::default()
    };
    if !form.need.is_empty() {
        match Need::find(&form.need) {
            Some(n) => query.taxonomy_term_id = Some(n.id().to_owned()),
            None => errors.add("need", "Select a need from the list"),
        }
    }
    let mut area = String::new();
    if !form.postcode.trim().is_empty() {
        match form.postcode.parse::<Postcode>() {
            Err(e) => errors.add("postcode", e.to_string()),
            Ok(p) => match state.store.locate_postcode(&p).await? {
                None => errors.add("postcode", format!("{p} is not in the postcode table: check it, or search by words and need only")),
                Some(at) => {
                    area = p.outward().to_owned();
                    query.near = Some(at);
                    let miles: u32 = form.miles.parse().unwrap_or(2);
                    query.proximity_m = Some(f64::from(miles) * METRES_PER_MILE);
                }
            },
        }
    }
    if !form.day.is_empty() {
        match parse_day(&form.day) {
            Some(d) => query.open_on = Some(next_on(today, d)),
            None => errors.add("day", "Select a day from the list"),
        }
    }
    let index = cache.index(&state.store).await?;
    let results = if searched && errors.is_empty() {
        index
            .search(&query)
            .into_iter()
            .take(100)
            .map(|h| result_row(h.service, h.distance_m))
            .collect()
    } else {
        Vec::new()
    };
    let settings = state.store.directory_settings().await?;
    let overdue = if access::has_caseload(&user.principal) {
        state
            .store
            .incoming_referrals(&user.principal)
            .await?
            .iter()
            .filter(|r| r.days_waiting(state.clock.now_utc()) > settings.referral_flag_days)
            .count()
    } else {
        0
    };
    let page = SearchPage {
        chrome: Chrome::signed_in("Community services directory", &csrf, &user, "/directory"),
        needs: Need::all().map(|n| (n.id(), n.name())).collect(),
        days: WEEK
            .iter()
            .map(|d| (careweave_directory::schedule::day_code(*d), day_name(*d)))
            .collect(),
        miles: MILES,
        searched,
        results,
        person_name,
        area,
        areas: outward_areas(&index),
        overdue,
        flag_days: settings.referral_flag_days,
        form,
        errors,
    };
    if page.errors.is_empty() {
        html(&page)
    } else {
        invalid(&page)
    }
}
