//! The Open Referral UK read API (public JSON, described by `/openapi.json`) and the directory exports.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use careweave_directory::oruk::{self, Page};
use careweave_directory::schedule::parse_day;
use careweave_directory::search::Query as SearchQuery;
use careweave_directory::{spreadsheet, Service, TimeOfDay};
use careweave_domain::Postcode;
use careweave_store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::DirectoryCache;
use crate::error::AppError;
use crate::AppState;

/// The OpenAPI document of the read API, written by hand and checked by a test that calls every path.
const OPENAPI: &str = include_str!("../../../templates/directory/openapi.json");

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

pub(super) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Whether a request to `/` is an Open Referral UK client's rather than a browser's. The API's
/// description and the home page share the address, so the description answers only requests that
/// accept JSON and not HTML (a browser always asks for HTML).
pub(in crate::pages) fn wants_api_description(headers: &axum::http::HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    accept.contains("application/json") && !accept.contains("text/html")
}

/// `GET /` for Open Referral UK clients: the profile and version this API follows and the
/// absolute address of its OpenAPI document, as the standard's `getAPIMetaInformation` asks.
pub(in crate::pages) fn api_description(headers: &axum::http::HeaderMap, secure: bool) -> Response {
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

pub(super) async fn api_services(
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

pub(super) async fn api_service(
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

pub(super) async fn api_service_at_locations(
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

pub(super) async fn api_service_at_location(
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

pub(super) async fn api_taxonomies(Query(q): Query<PageQuery>) -> Response {
    match paging(&q) {
        Ok((page, per)) => Json(Page::of(oruk::taxonomies(), page, per)).into_response(),
        Err(m) => bad_request(m),
    }
}

pub(super) async fn api_taxonomy(Path(id): Path<String>) -> Response {
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

pub(super) async fn api_taxonomy_terms(Query(q): Query<PageQuery>) -> Response {
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

pub(super) async fn api_taxonomy_term(Path(id): Path<String>) -> Response {
    match oruk::taxonomy_terms()
        .into_iter()
        .find(|t| t.id.as_deref() == Some(id.as_str()))
    {
        Some(t) => Json(t).into_response(),
        None => not_found_json("The taxonomy term"),
    }
}

pub(super) async fn export_json(
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

pub(super) async fn export_csv(
    State(state): State<AppState>,
    Extension(cache): Extension<DirectoryCache>,
) -> Result<Response, AppError> {
    let index = cache.index(&state.store).await?;
    let services: Vec<Service> = index.services().cloned().collect();
    let (body, losses) = spreadsheet::export_csv(&services);
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
