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

/// The quality (`q`) an `Accept` header gives `mime`, from its most specific matching range
/// (`text/html`, then `text/*`, then `*/*`); 0 when nothing matches.
fn accept_quality(accept: &str, mime: &str) -> f32 {
    let family = format!("{}/*", mime.split('/').next().unwrap_or(mime));
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let specificity = if name == mime {
            3
        } else if name == family {
            2
        } else if name == "*/*" {
            1
        } else {
            continue;
        };
        let q = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| v.trim().parse::<f32>().ok())?
            })
            .next()
            .unwrap_or(1.0);
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

/// Whether a request to `/` is an Open Referral UK client's rather than a browser's. The API's
/// description and the home page share the address: the home page answers only a request whose
/// `Accept` header prefers HTML to JSON, as every browser's does (`text/html,…,*/*;q=0.8`). A
/// client sending `*/*`, `application/json` or no `Accept` at all gets the description.
pub(in crate::pages) fn wants_api_description(headers: &axum::http::HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let html =
        accept_quality(accept, "text/html").max(accept_quality(accept, "application/xhtml+xml"));
    html <= accept_quality(accept, "application/json")
}

/// `GET /` for Open Referral UK clients: the profile and version this API follows and the
/// absolute address of its OpenAPI document, as the standard's `getAPIMetaInformation` asks.
pub(in crate::pages) fn api_description(
    headers: &axum::http::HeaderMap,
    settings: &crate::Settings,
) -> Response {
    Json(serde_json::json!({
        "version": "3.0",
        "profile": "https://openreferraluk.org/",
        "openapi_url": format!("{}/openapi.json", settings.public_base(headers)),
    }))
    .into_response()
}

/// The CORS policy of the public read API: any web page may read it from a browser (it holds no
/// personal data and takes no cookies), with `GET` and the preflight `OPTIONS` only.
pub(in crate::pages) fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::Method;
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::OPTIONS])
        .allow_headers([header::ACCEPT, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(24 * 60 * 60))
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
    format: Option<String>,
    minimal: Option<String>,
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
    /// `format=ndjson`: every result, one JSON object a line, without the page object.
    ndjson: bool,
    /// `minimal=true`: every result as just its `id` and `modified_date`, without paging.
    minimal: bool,
}

/// How a list answers: the ORUK page object, or (`format=ndjson`) every item on its own line,
/// unpaginated, as the ORUK OpenAPI document describes the `format` parameter.
fn listing<T: serde::Serialize>(all: Vec<T>, r: &ApiRequest) -> Response {
    if !r.ndjson {
        return Json(Page::of(all, r.page, r.per_page)).into_response();
    }
    let mut body = String::new();
    for item in &all {
        // A value careweave built from its own types always serialises; skipping is not hiding.
        if let Ok(line) = serde_json::to_string(item) {
            body.push_str(&line);
            body.push('\n');
        }
    }
    ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
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
        // As ORUK says: services whose area has a boundary must cover the postcode, and results
        // come nearest first; `proximity` further limits them to that distance.
        query.near = Some(at);
        query.in_area = Some(at);
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
    let ndjson = match filled(&q.format).map(str::to_ascii_lowercase).as_deref() {
        None | Some("json") => false,
        Some("ndjson") => true,
        Some(other) => {
            return Err(format!(
                "format '{other}' is not offered: use json or ndjson"
            ))
        }
    };
    let minimal = match filled(&q.minimal).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(format!("minimal must be true or false, not '{other}'")),
    };
    Ok(ApiRequest {
        query,
        page: number("page", &q.page, 1)?,
        per_page: number("per_page", &q.per_page, 50)?.min(500),
        ndjson,
        minimal,
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
    if r.minimal {
        // The standard's words: "an array of just service 'id' and 'modified_date'", every
        // service in one call so that a client can tell what changed since it last read.
        let all: Vec<serde_json::Value> = hits
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id.uuid(),
                    "modified_date": s.last_modified
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                })
            })
            .collect();
        return Ok(if r.ndjson {
            listing(all, &r)
        } else {
            Json(all).into_response()
        });
    }
    if r.ndjson {
        return Ok(listing(
            hits.into_iter().map(oruk::service_list_json).collect(),
            &r,
        ));
    }
    // Only the page's services are written out, not every match.
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
        Some(s) => Json(oruk::api_service_json(s)).into_response(),
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
    Ok(listing(all, &r))
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
            .find(|l| l.id.is_named_by(&id))
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

/// The published UUID of a taxonomy or term named by its UUID or its readable id.
fn published_id(text: &str) -> String {
    careweave_directory::model::oruk_uuid(text)
}

pub(super) async fn api_taxonomy(Path(id): Path<String>) -> Response {
    let id = published_id(&id);
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
                    filled(&q.taxonomy_id).is_none_or(|tax| {
                        t.taxonomy_id.as_deref() == Some(published_id(tax).as_str())
                    })
                })
                .collect();
            Json(Page::of(terms, page, per)).into_response()
        }
        Err(m) => bad_request(m),
    }
}

pub(super) async fn api_taxonomy_term(Path(id): Path<String>) -> Response {
    let id = published_id(&id);
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
