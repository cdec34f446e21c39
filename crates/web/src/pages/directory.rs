//! The community services directory: the Open Referral UK read API (JSON, public, described by
//! `/openapi.json`), and the pages workers, providers, owners and commissioners use.
//!
//! Searches are answered from an in-memory [`Index`] of the published directory, rebuilt when the
//! store's directory revision changes (one cheap query per request checks it). The cache lives in
//! an `Extension` added by [`routes`], so every built application has its own.
//!
//! Personal data (signposts, referrals, the person a search is for) is read and written only
//! through the store, which asks the access policy and audits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use careweave_directory::geo::METRES_PER_MILE;
use careweave_directory::oruk::{self, Page};
use careweave_directory::schedule::{day_name, parse_day, WEEK};
use careweave_directory::search::{Index, Query as SearchQuery};
use careweave_directory::{spreadsheet, Format, Need, Service, TimeOfDay};
use careweave_domain::access::{self, Principal, Role};
use careweave_domain::dates::age_on;
use careweave_domain::disclosure::SafeCount;
use careweave_domain::{OrganisationId, PersonId, Postcode};
use careweave_store::directory::{
    DirectoryError, DirectorySettings, EntryReport, PersonActivity, Proposal, PublishedService,
    Referral, ReferralStatus, Signpost,
};
use careweave_store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::session::CurrentUser;
use crate::AppState;

/// The OpenAPI document of the read API, written by hand and checked by a test that calls every path.
const OPENAPI: &str = include_str!("../../templates/directory/openapi.json");

/// An index and the directory revision it was built from.
type Cached = Option<(i64, Arc<Index>)>;

/// The published directory's search index, shared by the requests of one application.
#[derive(Debug, Clone, Default)]
pub struct DirectoryCache {
    inner: Arc<Mutex<Cached>>,
}

impl DirectoryCache {
    /// The index for the store's current revision, rebuilt when the revision has moved.
    async fn index(&self, store: &Store) -> Result<Arc<Index>, AppError> {
        let revision = store.directory_revision().await?;
        if let Ok(guard) = self.inner.lock() {
            if let Some((r, index)) = guard.as_ref() {
                if *r == revision {
                    return Ok(index.clone());
                }
            }
        }
        // Built outside the lock: two requests may both rebuild after a change, which is harmless.
        let services: Vec<Service> = store
            .directory_services()
            .await?
            .into_iter()
            .map(|p| p.service)
            .collect();
        let index = Index::new(services);
        if let Ok(mut guard) = self.inner.lock() {
            *guard = Some((revision, index.clone()));
        }
        Ok(index)
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/services", get(api_services))
        .route("/services/{id}", get(api_service))
        .route("/service_at_locations", get(api_service_at_locations))
        .route("/service_at_locations/{id}", get(api_service_at_location))
        .route("/taxonomies", get(api_taxonomies))
        .route("/taxonomies/{id}", get(api_taxonomy))
        .route("/taxonomy_terms", get(api_taxonomy_terms))
        .route("/taxonomy_terms/{id}", get(api_taxonomy_term))
        .route("/directory/export.json", get(export_json))
        .route("/directory/export.csv", get(export_csv))
        .route("/directory", get(search_page))
        .route("/directory/services/{id}", get(service_page))
        .route("/directory/services/{id}/signpost", post(signpost))
        .route("/directory/services/{id}/refer", post(refer))
        .route(
            "/directory/services/{id}/report",
            get(report_form).post(report),
        )
        .route(
            "/directory/services/{id}/edit",
            get(edit_form).post(propose),
        )
        .route("/directory/services/{id}/reviewed", post(mark_reviewed))
        .route("/directory/signposts/{id}", get(signpost_summary))
        .route("/people/{id}/directory", get(person_activity))
        .route("/directory/unmet-needs", post(unmet_need))
        .route("/directory/referrals", get(referrals_page))
        .route("/directory/referrals/{id}", post(answer))
        .route("/directory/review", get(review_page))
        .route("/directory/reports/{id}/resolve", post(resolve_report))
        .route("/directory/proposals/{id}", post(decide))
        .route("/directory/gaps", get(gaps))
        .route("/directory/import", get(import_form).post(import))
        .route("/directory/settings", post(settings))
        .layer(Extension(DirectoryCache::default()))
}

/// Who may search the directory and act on it: people who work with people.
#[must_use]
pub fn can_use_directory(p: &Principal) -> bool {
    p.has_role(Role::Worker) || p.has_role(Role::Supervisor) || p.has_role(Role::Referrer)
}

fn require(ok: bool) -> Result<(), AppError> {
    if ok {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

impl From<DirectoryError> for AppError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Denied | DirectoryError::Refused(_) => Self::Forbidden,
            DirectoryError::NotFound(_) => Self::NotFound,
            DirectoryError::Store(s) => s.into(),
            DirectoryError::Demo(e) => Self::Unexpected(e.into()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ORUK read API.

/// A 400 answer with a message a client developer can act on.
fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

fn not_found_json(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": format!("{what} was not found") })),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Whether a request to `/` is an Open Referral UK client's rather than a browser's. The API's
/// description and the home page share the address, so the description answers only requests that
/// accept JSON and not HTML (a browser always asks for HTML).
pub(super) fn wants_api_description(headers: &axum::http::HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    accept.contains("application/json") && !accept.contains("text/html")
}

/// `GET /` for Open Referral UK clients: the profile and version this API follows and the
/// absolute address of its OpenAPI document, as the standard's `getAPIMetaInformation` asks.
pub(super) fn api_description(headers: &axum::http::HeaderMap, secure: bool) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    // Behind a proxy that ends TLS the request arrives as plain HTTP; the deployment's setting for
    // secure cookies says whether people reach it over HTTPS.
    let scheme = if secure { "https" } else { "http" };
    Json(serde_json::json!({
        "version": "3.0",
        "profile": "https://openreferraluk.org/",
        "openapi_url": format!("{scheme}://{host}/openapi.json"),
    }))
    .into_response()
}

/// The query string of `/services` and `/service_at_locations`, as text so that every bad value
/// can be named in the answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApiQuery {
    search: Option<String>,
    text: Option<String>,
    taxonomy_term_id: Option<String>,
    taxonomy_id: Option<String>,
    organization_id: Option<String>,
    minimum_age: Option<String>,
    maximum_age: Option<String>,
    age: Option<String>,
    postcode: Option<String>,
    proximity: Option<String>,
    day: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    modified_after: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

fn filled(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

fn parse_age(name: &str, s: &Option<String>) -> Result<Option<u8>, String> {
    filled(s)
        .map(|t| {
            t.parse::<f64>()
                .ok()
                .filter(|n| n.fract() == 0.0 && (0.0..=130.0).contains(n))
                .and_then(|n| format!("{n}").parse::<u8>().ok())
                .ok_or(format!(
                    "{name} must be a whole number of years from 0 to 130"
                ))
        })
        .transpose()
}

struct ApiRequest {
    query: SearchQuery,
    page: usize,
    per_page: usize,
}

async fn api_request(store: &Store, q: &ApiQuery) -> Result<ApiRequest, String> {
    let mut query = SearchQuery {
        text: filled(&q.search).or(filled(&q.text)).map(str::to_owned),
        taxonomy_term_id: filled(&q.taxonomy_term_id).map(str::to_owned),
        taxonomy_id: filled(&q.taxonomy_id).map(str::to_owned),
        organization_id: filled(&q.organization_id).map(str::to_owned),
        minimum_age: parse_age("minimum_age", &q.minimum_age)?,
        maximum_age: parse_age("maximum_age", &q.maximum_age)?,
        age: parse_age("age", &q.age)?,
        ..SearchQuery::default()
    };
    if let Some(p) = filled(&q.postcode) {
        let postcode: Postcode = p.parse().map_err(|e| format!("postcode: {e}"))?;
        let at = store
            .locate_postcode(&postcode)
            .await
            .map_err(|e| format!("the postcode table could not be read: {e}"))?
            .ok_or(format!("postcode {postcode} is not in the postcode table"))?;
        query.near = Some(at);
    }
    if let Some(p) = filled(&q.proximity) {
        if query.near.is_none() {
            return Err("proximity needs a postcode to measure from".to_owned());
        }
        query.proximity_m = Some(
            p.parse::<f64>()
                .ok()
                .filter(|m| m.is_finite() && *m >= 0.0)
                .ok_or("proximity must be a number of metres")?,
        );
    }
    if let Some(d) = filled(&q.day) {
        query.day = Some(parse_day(d).ok_or(format!(
            "day '{d}' is not a day: use MO to SU or a day's name"
        ))?);
    }
    let time = |name: &str, s: &Option<String>| {
        filled(s)
            .map(|t| t.parse::<TimeOfDay>().map_err(|e| format!("{name}: {e}")))
            .transpose()
    };
    query.start_time = time("start_time", &q.start_time)?;
    query.end_time = time("end_time", &q.end_time)?;
    if let Some(t) = filled(&q.modified_after) {
        query.modified_after = Some(
            DateTime::parse_from_rfc3339(t)
                .map(|d| d.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDate::parse_from_str(t, "%Y-%m-%d")
                        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                })
                .map_err(|_| {
                    "modified_after must be a date (2026-03-01) or an RFC 3339 date and time"
                        .to_owned()
                })?,
        );
    }
    let number = |name: &str, s: &Option<String>, default: usize| {
        filled(s)
            .map(|t| {
                t.parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or(format!("{name} must be a whole number from 1"))
            })
            .transpose()
            .map(|n| n.unwrap_or(default))
    };
    Ok(ApiRequest {
        query,
        page: number("page", &q.page, 1)?,
        per_page: number("per_page", &q.per_page, 50)?.min(500),
    })
}

async fn api_services(
    State(state): State<AppState>,
    Extension(cache): Extension<DirectoryCache>,
    Query(q): Query<ApiQuery>,
) -> Result<Response, AppError> {
    let r = match api_request(&state.store, &q).await {
        Ok(r) => r,
        Err(message) => return Ok(bad_request(message)),
    };
    let index = cache.index(&state.store).await?;
    let hits: Vec<&Service> = index
        .search(&r.query)
        .into_iter()
        .map(|h| h.service)
        .collect();
    let page = Page::of(hits, r.page, r.per_page);
    let page = Page {
        contents: page
            .contents
            .into_iter()
            .map(oruk::service_list_json)
            .collect(),
        total_items: page.total_items,
        total_pages: page.total_pages,
        page_number: page.page_number,
        size: page.size,
        first_page: page.first_page,
        last_page: page.last_page,
        empty: page.empty,
    };
    Ok(Json(page).into_response())
}

async fn api_service(
    State(state): State<AppState>,
    Extension(cache): Extension<DirectoryCache>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let index = cache.index(&state.store).await?;
    Ok(match index.get(&id) {
        Some(s) => Json(oruk::service_json(s)).into_response(),
        None => not_found_json("The service"),
    })
}

async fn api_service_at_locations(
    State(state): State<AppState>,
    Extension(cache): Extension<DirectoryCache>,
    Query(q): Query<ApiQuery>,
) -> Result<Response, AppError> {
    let r = match api_request(&state.store, &q).await {
        Ok(r) => r,
        Err(message) => return Ok(bad_request(message)),
    };
    let index = cache.index(&state.store).await?;
    let mut all = Vec::new();
    for hit in index.search(&r.query) {
        for sal in &hit.service.locations {
            // With a proximity, each place must itself be in range, not just the service's nearest.
            let in_range = match (r.query.near, r.query.proximity_m) {
                (Some(from), Some(limit)) => sal
                    .location
                    .coordinates()
                    .is_some_and(|at| from.metres_to(at) <= limit),
                _ => true,
            };
            if in_range {
                all.push(oruk::service_at_location_json(hit.service, sal));
            }
        }
    }
    Ok(Json(Page::of(all, r.page, r.per_page)).into_response())
}

async fn api_service_at_location(
    State(state): State<AppState>,
    Extension(cache): Extension<DirectoryCache>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let index = cache.index(&state.store).await?;
    let found = index.services().find_map(|s| {
        s.locations
            .iter()
            .find(|l| l.id.as_str() == id)
            .map(|l| oruk::service_at_location_json(s, l))
    });
    Ok(match found {
        Some(j) => Json(j).into_response(),
        None => not_found_json("The service at location"),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    page: Option<String>,
    per_page: Option<String>,
    taxonomy_id: Option<String>,
}

fn paging(q: &PageQuery) -> Result<(usize, usize), String> {
    let n = |name: &str, s: &Option<String>, d: usize| {
        filled(s)
            .map(|t| {
                t.parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or(format!("{name} must be a whole number from 1"))
            })
            .transpose()
            .map(|v| v.unwrap_or(d))
    };
    Ok((
        n("page", &q.page, 1)?,
        n("per_page", &q.per_page, 50)?.min(500),
    ))
}

async fn api_taxonomies(Query(q): Query<PageQuery>) -> Response {
    match paging(&q) {
        Ok((page, per)) => Json(Page::of(oruk::taxonomies(), page, per)).into_response(),
        Err(m) => bad_request(m),
    }
}

async fn api_taxonomy(Path(id): Path<String>) -> Response {
    match oruk::taxonomies().into_iter().find(|t| t.id == id) {
        Some(t) => {
            let terms: Vec<_> = oruk::taxonomy_terms()
                .into_iter()
                .filter(|term| term.taxonomy_id.as_deref() == Some(id.as_str()))
                .collect();
            let mut value = serde_json::to_value(t).unwrap_or_default();
            value["taxonomy_terms"] = serde_json::to_value(terms).unwrap_or_default();
            Json(value).into_response()
        }
        None => not_found_json("The taxonomy"),
    }
}

async fn api_taxonomy_terms(Query(q): Query<PageQuery>) -> Response {
    match paging(&q) {
        Ok((page, per)) => {
            let terms: Vec<_> = oruk::taxonomy_terms()
                .into_iter()
                .filter(|t| {
                    filled(&q.taxonomy_id).is_none_or(|tax| t.taxonomy_id.as_deref() == Some(tax))
                })
                .collect();
            Json(Page::of(terms, page, per)).into_response()
        }
        Err(m) => bad_request(m),
    }
}

async fn api_taxonomy_term(Path(id): Path<String>) -> Response {
    match oruk::taxonomy_terms()
        .into_iter()
        .find(|t| t.id.as_deref() == Some(id.as_str()))
    {
        Some(t) => Json(t).into_response(),
        None => not_found_json("The taxonomy term"),
    }
}

async fn export_json(
    State(state): State<AppState>,
    Extension(cache): Extension<DirectoryCache>,
) -> Result<Response, AppError> {
    let index = cache.index(&state.store).await?;
    let services: Vec<Service> = index.services().cloned().collect();
    let body = oruk::export_feed(&services).map_err(|e| AppError::Unexpected(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"directory.json\"",
            ),
        ],
        body,
    )
        .into_response())
}

async fn export_csv(
    State(state): State<AppState>,
    Extension(cache): Extension<DirectoryCache>,
) -> Result<Response, AppError> {
    let index = cache.index(&state.store).await?;
    let services: Vec<Service> = index.services().cloned().collect();
    let (body, losses) =
        spreadsheet::export_csv(&services).map_err(|e| AppError::Unexpected(e.into()))?;
    // What the spreadsheet could not hold is said in a header rather than dropped without a word.
    let note = format!(
        "{} services lost detail the spreadsheet cannot hold; export JSON to keep it",
        losses.len()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"directory.csv\"".to_owned(),
            ),
            (
                header::HeaderName::from_static("x-careweave-export-losses"),
                note,
            ),
        ],
        body,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Worker pages.

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

async fn search_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Extension(cache): Extension<DirectoryCache>,
    user: CurrentUser,
    Query(mut form): Query<SearchForm>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let today = Utc::now().date_naive();
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
            .filter(|r| r.days_waiting(Utc::now()) > settings.referral_flag_days)
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PersonParam {
    person: String,
}

#[derive(Template)]
#[template(path = "directory/service.html")]
struct ServicePage {
    chrome: Chrome,
    s: Service,
    owner_name: String,
    needs: String,
    stale: bool,
    can_refer: bool,
    can_propose: bool,
    can_mark_reviewed: bool,
    person: Option<(i64, String)>,
    languages: String,
}

fn clinical_orgs(p: &Principal) -> Vec<OrganisationId> {
    p.memberships
        .iter()
        .filter(|m| matches!(m.role, Role::Worker | Role::Supervisor))
        .map(|m| m.organisation)
        .collect()
}

async fn service_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<PersonParam>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let published = state
        .store
        .directory_service(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    let person = match q.person.trim().parse::<i64>() {
        Ok(pid) => {
            let record = state
                .store
                .read_person(&user.principal, PersonId::new(pid))
                .await?;
            Some((pid, record.person.display_name()))
        }
        Err(_) => None,
    };
    let settings = state.store.directory_settings().await?;
    let today = Utc::now().date_naive();
    let orgs = clinical_orgs(&user.principal);
    let s = published.service;
    html(&ServicePage {
        chrome: Chrome::signed_in(&s.name, &csrf, &user, "/directory"),
        owner_name: published.owner_name,
        needs: s
            .needs
            .iter()
            .map(|n| n.name())
            .collect::<Vec<_>>()
            .join(", "),
        stale: s.is_stale(today, settings.stale_after_days),
        can_refer: s.accepts_referrals && published.provider.is_some(),
        can_propose: published.provider.is_some_and(|p| orgs.contains(&p)),
        can_mark_reviewed: orgs.contains(&published.owner),
        languages: s
            .languages
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        person,
        s,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActForm {
    person: String,
    note: String,
}

async fn signpost(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let person = PersonId::new(f.person.trim().parse().map_err(|_| AppError::NotFound)?);
    let sid = state
        .store
        .signpost(&user.principal, person, &id, f.note.trim())
        .await?;
    Ok(Redirect::to(&format!("/directory/signposts/{sid}")).into_response())
}

async fn refer(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let pid: i64 = f.person.trim().parse().map_err(|_| AppError::NotFound)?;
    // The person id is the client's: only the policy's proof may name someone (minimal change to
    // compile; the referral-access branch rewrites this handler).
    let access = state
        .store
        .open_person(&user.principal, PersonId::new(pid))
        .await?;
    match state
        .store
        .refer(&user.principal, &access, &id, f.note.trim())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/people/{pid}/directory")).into_response()),
        Err(DirectoryError::Refused(message)) => message_page(
            &csrf,
            &user,
            "Referral not sent",
            message,
            &format!("/directory/services/{id}?person={pid}"),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "directory/message.html")]
struct MessagePage {
    chrome: Chrome,
    heading: String,
    message: String,
    back: String,
}

fn message_page(
    csrf: &CsrfToken,
    user: &CurrentUser,
    heading: &str,
    message: &str,
    back: &str,
) -> Result<Response, AppError> {
    let mut r = html(&MessagePage {
        chrome: Chrome::signed_in(heading, csrf, user, "/directory"),
        heading: heading.to_owned(),
        message: message.to_owned(),
        back: back.to_owned(),
    })?;
    *r.status_mut() = StatusCode::CONFLICT;
    Ok(r)
}

#[derive(Template)]
#[template(path = "directory/signpost.html")]
struct SignpostPage {
    chrome: Chrome,
    signpost: Signpost,
    s: Option<Service>,
}

async fn signpost_summary(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let signpost = state.store.signpost_for(&user.principal, id).await?;
    let s = state
        .store
        .directory_service(&signpost.service_id)
        .await?
        .map(|p| p.service);
    html(&SignpostPage {
        chrome: Chrome::signed_in("Details given", &csrf, &user, "/directory"),
        signpost,
        s,
    })
}

/// A referral line with its flag.
pub struct ReferralRow {
    r: Referral,
    days: i64,
    overdue: bool,
}

fn referral_rows(list: Vec<Referral>, flag_days: i64) -> Vec<ReferralRow> {
    let now = Utc::now();
    list.into_iter()
        .map(|r| {
            let days = r.days_waiting(now);
            ReferralRow {
                overdue: r.status == ReferralStatus::Pending && days > flag_days,
                days,
                r,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "directory/person.html")]
struct PersonPage {
    chrome: Chrome,
    person: i64,
    name: String,
    signposts: Vec<Signpost>,
    referrals: Vec<ReferralRow>,
    flag_days: i64,
}

async fn person_activity(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let record = state
        .store
        .read_person(&user.principal, PersonId::new(id))
        .await?;
    let PersonActivity {
        signposts,
        referrals,
    } = state
        .store
        .person_directory_activity(&user.principal, PersonId::new(id))
        .await?;
    let settings = state.store.directory_settings().await?;
    let name = record.person.display_name();
    html(&PersonPage {
        chrome: Chrome::signed_in(
            &format!("Community services for {name}"),
            &csrf,
            &user,
            "/people",
        ),
        person: id,
        name,
        signposts,
        referrals: referral_rows(referrals, settings.referral_flag_days),
        flag_days: settings.referral_flag_days,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UnmetForm {
    need: String,
    area: String,
}

async fn unmet_need(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(f): Form<UnmetForm>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let need = Need::find(&f.need);
    let area = f.area.trim().to_ascii_uppercase();
    let area_ok = (2..=4).contains(&area.len()) && area.bytes().all(|b| b.is_ascii_alphanumeric());
    let (Some(need), true) = (need, area_ok) else {
        return message_page(
            &csrf,
            &user,
            "Unmet need not recorded",
            "Choose the need and the area (a postcode district such as RV1), then record it again.",
            "/directory",
        );
    };
    state
        .store
        .record_unmet_need(user.principal.user, need, &area)
        .await?;
    html(&MessagePage {
        chrome: Chrome::signed_in("Unmet need recorded", &csrf, &user, "/directory"),
        heading: "Unmet need recorded".to_owned(),
        message: format!(
            "Thank you. \"{}\" in {area} has been added to the gaps report that commissioners use to plan services. No one's details were recorded.",
            need.name()
        ),
        back: "/directory".to_owned(),
    })
}

#[derive(Template)]
#[template(path = "directory/referrals.html")]
struct ReferralsPage {
    chrome: Chrome,
    incoming: Vec<ReferralRow>,
    /// Referrals the viewer's organisations accepted in the last 90 days: the people they support.
    accepted: Vec<careweave_store::directory::Referral>,
    mine: Vec<ReferralRow>,
    flag_days: i64,
    provider: bool,
}

async fn referrals_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let settings = state.store.directory_settings().await?;
    let provider = access::has_caseload(&user.principal);
    let (incoming, accepted) = if provider {
        (
            state.store.incoming_referrals(&user.principal).await?,
            state.store.accepted_referrals(&user.principal).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mine = state.store.my_referrals(&user.principal).await?;
    html(&ReferralsPage {
        chrome: Chrome::signed_in("Referrals", &csrf, &user, "/directory"),
        incoming: referral_rows(incoming, settings.referral_flag_days),
        accepted,
        mine: referral_rows(mine, settings.referral_flag_days),
        flag_days: settings.referral_flag_days,
        provider,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    decision: String,
    note: String,
}

async fn answer(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let accept = match f.decision.as_str() {
        "accept" => true,
        "decline" => false,
        _ => {
            return message_page(
                &csrf,
                &user,
                "Answer not sent",
                "Choose accept or decline.",
                "/directory/referrals",
            )
        }
    };
    match state
        .store
        .answer_referral(&user.principal, id, accept, f.note.trim())
        .await
    {
        Ok(()) => Ok(Redirect::to("/directory/referrals").into_response()),
        Err(DirectoryError::Refused(m)) => {
            message_page(&csrf, &user, "Answer not sent", m, "/directory/referrals")
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "directory/report.html")]
struct ReportPage {
    chrome: Chrome,
    id: String,
    name: String,
    reason: String,
    errors: FormErrors,
}

async fn report_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let p = state
        .store
        .directory_service(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    html(&ReportPage {
        chrome: Chrome::signed_in(
            "Report a problem with this entry",
            &csrf,
            &user,
            "/directory",
        ),
        id,
        name: p.service.name,
        reason: String::new(),
        errors: FormErrors::default(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportForm {
    reason: String,
}

async fn report(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<ReportForm>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let p = state
        .store
        .directory_service(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    if f.reason.trim().is_empty() {
        let mut errors = FormErrors::default();
        errors.add("reason", "Say what is wrong with the entry");
        return invalid(&ReportPage {
            chrome: Chrome::signed_in(
                "Report a problem with this entry",
                &csrf,
                &user,
                "/directory",
            ),
            id,
            name: p.service.name,
            reason: f.reason,
            errors,
        });
    }
    state
        .store
        .report_entry(user.principal.user, &id, f.reason.trim())
        .await?;
    html(&MessagePage {
        chrome: Chrome::signed_in("Problem reported", &csrf, &user, "/directory"),
        heading: "Problem reported".to_owned(),
        message: format!(
            "Thank you. {} will check the entry for {}.",
            p.owner_name, p.service.name
        ),
        back: format!("/directory/services/{id}"),
    })
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct EditForm {
    name: String,
    description: String,
    phone: String,
    email: String,
    url: String,
    minimum_age: String,
    maximum_age: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "directory/edit.html")]
struct EditPage {
    chrome: Chrome,
    id: String,
    form: EditForm,
    errors: FormErrors,
}

async fn edit_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let p = state
        .store
        .directory_service(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(
        p.provider
            .is_some_and(|o| clinical_orgs(&user.principal).contains(&o)),
    )?;
    let s = p.service;
    html(&EditPage {
        chrome: Chrome::signed_in("Propose a change", &csrf, &user, "/directory"),
        form: EditForm {
            name: s.name.clone(),
            description: s.description.clone(),
            phone: s.phone().unwrap_or_default().to_owned(),
            email: s.email.clone().unwrap_or_default(),
            url: s.url.clone().unwrap_or_default(),
            minimum_age: s.minimum_age.map(|a| a.to_string()).unwrap_or_default(),
            maximum_age: s.maximum_age.map(|a| a.to_string()).unwrap_or_default(),
            summary: String::new(),
        },
        id,
        errors: FormErrors::default(),
    })
}

/// Applies the form to the current entry, checking each field as an import would.
fn edited(current: &Service, f: &EditForm) -> Result<Service, FormErrors> {
    let mut errors = FormErrors::default();
    let mut s = current.clone();
    if f.name.trim().is_empty() {
        errors.add("name", "Enter the service's name");
    }
    s.name = f.name.trim().to_owned();
    s.description = f.description.trim().to_owned();
    let age = |field: &str, text: &str, errors: &mut FormErrors| -> Option<u8> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        match t.parse::<u8>() {
            Ok(a) if a <= 130 => Some(a),
            _ => {
                errors.add(field, "Enter an age in whole years, from 0 to 130");
                None
            }
        }
    };
    s.minimum_age = age("minimum_age", &f.minimum_age, &mut errors);
    s.maximum_age = age("maximum_age", &f.maximum_age, &mut errors);
    if let (Some(a), Some(b)) = (s.minimum_age, s.maximum_age) {
        if a > b {
            errors.add(
                "maximum_age",
                "The maximum age must be at least the minimum age",
            );
        }
    }
    let email = f.email.trim();
    if !email.is_empty() && !email.contains('@') {
        errors.add(
            "email",
            "Enter an email address in the correct format, like name@example.org",
        );
    }
    s.email = Some(email.to_owned()).filter(|e| !e.is_empty());
    let url = f.url.trim();
    if !url.is_empty() && !url.starts_with("https://") && !url.starts_with("http://") {
        errors.add("url", "Enter a web address starting https://");
    }
    s.url = Some(url.to_owned()).filter(|u| !u.is_empty());
    let phone = f.phone.trim();
    match (
        s.contacts
            .iter_mut()
            .flat_map(|c| c.phones.iter_mut())
            .next(),
        phone.is_empty(),
    ) {
        (Some(p), false) => p.number = phone.to_owned(),
        (Some(_), true) => {
            for c in &mut s.contacts {
                c.phones.clear();
            }
        }
        (None, false) => {
            let contact = s.id.child("contact-1");
            s.contacts.push(careweave_directory::model::Contact {
                phones: vec![careweave_directory::model::Phone {
                    id: contact.child("phone-1"),
                    number: phone.to_owned(),
                    description: None,
                }],
                id: contact,
                name: None,
                title: None,
            });
        }
        (None, true) => {}
    }
    if f.summary.trim().is_empty() {
        errors.add("summary", "Say briefly what changed, for the reviewer");
    }
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(errors)
    }
}

async fn propose(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<EditForm>,
) -> Result<Response, AppError> {
    let p = state
        .store
        .directory_service(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(
        p.provider
            .is_some_and(|o| clinical_orgs(&user.principal).contains(&o)),
    )?;
    match edited(&p.service, &f) {
        Err(errors) => invalid(&EditPage {
            chrome: Chrome::signed_in("Propose a change", &csrf, &user, "/directory"),
            id,
            form: f,
            errors,
        }),
        Ok(s) => {
            state
                .store
                .propose_edit(&user.principal, &s, f.summary.trim())
                .await?;
            html(&MessagePage {
                chrome: Chrome::signed_in("Change proposed", &csrf, &user, "/directory"),
                heading: "Change proposed".to_owned(),
                message: "A supervisor will review the change before it is published. Until then the directory shows the entry as it was.".to_owned(),
                back: format!("/directory/services/{id}"),
            })
        }
    }
}

async fn mark_reviewed(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    match state
        .store
        .mark_reviewed(&user.principal, &id, Utc::now().date_naive())
        .await
    {
        Ok(()) => Ok(Redirect::to("/directory/review").into_response()),
        Err(DirectoryError::Refused(m)) => message_page(
            &csrf,
            &user,
            "Not marked as reviewed",
            m,
            "/directory/review",
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "directory/review.html")]
struct ReviewPage {
    chrome: Chrome,
    stale: Vec<PublishedService>,
    reports: Vec<EntryReport>,
    proposals: Vec<Proposal>,
    reviewer: bool,
    stale_days: i64,
}

async fn review_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require(access::has_caseload(&user.principal))?;
    let settings = state.store.directory_settings().await?;
    let reviewer = user.principal.has_role(Role::Supervisor);
    html(&ReviewPage {
        chrome: Chrome::signed_in("Keeping the directory true", &csrf, &user, "/directory"),
        stale: state
            .store
            .stale_entries(&user.principal, Utc::now().date_naive())
            .await?,
        reports: state.store.open_reports(&user.principal).await?,
        proposals: if reviewer {
            state.store.pending_proposals().await?
        } else {
            Vec::new()
        },
        reviewer,
        stale_days: settings.stale_after_days,
    })
}

async fn resolve_report(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    match state.store.resolve_report(&user.principal, id).await {
        Ok(()) => Ok(Redirect::to("/directory/review").into_response()),
        Err(DirectoryError::Refused(m)) => {
            message_page(&csrf, &user, "Report not closed", m, "/directory/review")
        }
        Err(e) => Err(e.into()),
    }
}

async fn decide(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let approve = f.decision == "approve";
    match state
        .store
        .decide_proposal(&user.principal, id, approve, Utc::now().date_naive())
        .await
    {
        Ok(()) => Ok(Redirect::to("/directory/review").into_response()),
        Err(DirectoryError::Refused(m)) => message_page(
            &csrf,
            &user,
            "Proposal not reviewed",
            m,
            "/directory/review",
        ),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Commissioners: the gaps report.

/// One row of the gaps report.
pub struct GapRow {
    need: String,
    cells: Vec<SafeCount>,
    total: SafeCount,
}

#[derive(Template)]
#[template(path = "directory/gaps.html")]
struct GapsPage {
    chrome: Chrome,
    areas: Vec<String>,
    rows: Vec<GapRow>,
    area_totals: Vec<SafeCount>,
    total: SafeCount,
    since: NaiveDate,
}

async fn gaps(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require(access::can_read_aggregates(&user.principal))?;
    let since = Utc::now().date_naive() - chrono::Duration::days(365);
    let counts = state.store.unmet_need_counts(since).await?;
    let areas: Vec<String> = {
        let mut a: Vec<String> = counts.iter().map(|c| c.area.clone()).collect();
        a.sort();
        a.dedup();
        a
    };
    let mut raw: BTreeMap<(String, String), u64> = BTreeMap::new();
    for c in &counts {
        raw.insert((c.need.clone(), c.area.clone()), c.count);
    }
    // Totals are added up from the raw counts and suppressed afterwards, never from rounded cells.
    let rows = Need::all()
        .map(|n| {
            let cell = |a: &String| {
                raw.get(&(n.id().to_owned(), a.clone()))
                    .copied()
                    .unwrap_or(0)
            };
            GapRow {
                need: n.name().to_owned(),
                cells: areas.iter().map(|a| SafeCount::from_raw(cell(a))).collect(),
                total: SafeCount::from_raw(areas.iter().map(cell).sum()),
            }
        })
        .collect();
    let area_totals = areas
        .iter()
        .map(|a| {
            SafeCount::from_raw(
                counts
                    .iter()
                    .filter(|c| &c.area == a)
                    .map(|c| c.count)
                    .sum(),
            )
        })
        .collect();
    let total = SafeCount::from_raw(counts.iter().map(|c| c.count).sum());
    html(&GapsPage {
        chrome: Chrome::signed_in("Service gaps", &csrf, &user, "/directory/gaps"),
        areas,
        rows,
        area_totals,
        total,
        since,
    })
}

// ---------------------------------------------------------------------------------------------
// Administrators: import and settings.

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ImportForm {
    format: String,
    owner: String,
    content: String,
}

/// What the last import did, for the page.
pub struct ImportSummary {
    read: usize,
    added: usize,
    updated: usize,
    rejected: usize,
    diagnostics: Vec<String>,
}

#[derive(Template)]
#[template(path = "directory/import.html")]
struct ImportPage {
    chrome: Chrome,
    form: ImportForm,
    errors: FormErrors,
    organisations: Vec<(i64, String)>,
    summary: Option<ImportSummary>,
    settings: DirectorySettings,
    services: usize,
}

async fn import_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    form: ImportForm,
    errors: FormErrors,
    summary: Option<ImportSummary>,
) -> Result<ImportPage, AppError> {
    Ok(ImportPage {
        chrome: Chrome::signed_in("Directory data", csrf, user, "/directory/import"),
        form,
        errors,
        organisations: state
            .store
            .organisations()
            .await?
            .into_iter()
            .map(|o| (o.id.get(), o.name))
            .collect(),
        summary,
        settings: state.store.directory_settings().await?,
        services: state.store.directory_services().await?.len(),
    })
}

async fn import_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require(user.principal.has_role(Role::Admin))?;
    html(
        &import_page(
            &state,
            &csrf,
            &user,
            ImportForm {
                format: "csv".into(),
                ..ImportForm::default()
            },
            FormErrors::default(),
            None,
        )
        .await?,
    )
}

async fn import(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(f): Form<ImportForm>,
) -> Result<Response, AppError> {
    require(user.principal.has_role(Role::Admin))?;
    let mut errors = FormErrors::default();
    let format = match f.format.as_str() {
        "json" => Some(Format::Json),
        "csv" => Some(Format::Csv),
        _ => {
            errors.add("format", "Select the file's format");
            None
        }
    };
    let orgs = state.store.organisations().await?;
    let owner = f
        .owner
        .parse::<i64>()
        .ok()
        .filter(|id| orgs.iter().any(|o| o.id.get() == *id));
    if owner.is_none() {
        errors.add("owner", "Select the organisation that keeps these entries");
    }
    if f.content.trim().is_empty() {
        errors.add("content", "Paste the contents of the file");
    }
    let (Some(format), Some(owner), true) = (format, owner, errors.is_empty()) else {
        return invalid(&import_page(&state, &csrf, &user, f, errors, None).await?);
    };
    let (report, outcome) = state
        .store
        .import_directory_file(
            Some(user.principal.user),
            OrganisationId::new(owner),
            format,
            &f.content,
            "the import page",
        )
        .await?;
    let summary = ImportSummary {
        read: report.read,
        added: outcome.added,
        updated: outcome.updated,
        rejected: report.rejected,
        diagnostics: report.diagnostics.iter().map(ToString::to_string).collect(),
    };
    let form = ImportForm {
        content: String::new(),
        ..f
    };
    html(
        &import_page(
            &state,
            &csrf,
            &user,
            form,
            FormErrors::default(),
            Some(summary),
        )
        .await?,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    referral_flag_days: String,
    stale_after_days: String,
}

async fn settings(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(f): Form<SettingsForm>,
) -> Result<Response, AppError> {
    require(user.principal.has_role(Role::Admin))?;
    let mut errors = FormErrors::default();
    let days = |field: &str, text: &str, max: i64, errors: &mut FormErrors| match text
        .trim()
        .parse::<i64>()
    {
        Ok(n) if (1..=max).contains(&n) => Some(n),
        _ => {
            errors.add(
                field,
                format!("Enter a whole number of days from 1 to {max}"),
            );
            None
        }
    };
    let flag = days(
        "referral_flag_days",
        &f.referral_flag_days,
        365,
        &mut errors,
    );
    let stale = days("stale_after_days", &f.stale_after_days, 3650, &mut errors);
    match (flag, stale) {
        (Some(referral_flag_days), Some(stale_after_days)) => {
            state
                .store
                .set_directory_settings(
                    user.principal.user,
                    DirectorySettings {
                        referral_flag_days,
                        stale_after_days,
                    },
                )
                .await?;
            Ok(Redirect::to("/directory/import").into_response())
        }
        _ => invalid(
            &import_page(
                &state,
                &csrf,
                &user,
                ImportForm {
                    format: "csv".into(),
                    ..ImportForm::default()
                },
                errors,
                None,
            )
            .await?,
        ),
    }
}
