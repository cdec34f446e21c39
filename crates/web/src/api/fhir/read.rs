//! Read and search. Each resource is built from a record read through the store's doors, which
//! ask the access policy and audit; a search gathers the records the reader may open and filters
//! the resources they become, so a filter can never widen what is read.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use careweave_domain::casework::{CaseId, ReferralId};
use careweave_domain::{NhsNumber, PersonId};
use careweave_fhir::{self as fhir, IssueCode, Page};
use careweave_store::casework::CaseView;
use careweave_store::change::ActionError;
use careweave_store::records::{PersonRecord, RecordError};
use serde_json::Value;

use super::{base_url, Client, Outcome};
use crate::AppState;

/// `GET /fhir/metadata`: what this server supports. Public, as FHIR clients expect, and free of
/// personal data.
pub(super) async fn metadata(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&headers, &state);
    let today = state.clock.today().to_string();
    super::fhir(
        StatusCode::OK,
        &fhir::capability_statement(&base, env!("CARGO_PKG_VERSION"), &today),
    )
}

fn unknown_type(kind: &str) -> Outcome {
    Outcome::new(
        StatusCode::NOT_FOUND,
        vec![fhir::Issue::general(
            IssueCode::NotSupported,
            format!("{kind} is not a resource type this server serves"),
        )],
    )
}

/// `GET /fhir/{kind}/{id}`.
pub(super) async fn read(
    State(state): State<AppState>,
    Client(client): Client,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Response, Outcome> {
    if fhir::search_params(&kind).is_none() {
        return Err(unknown_type(&kind));
    }
    let missing = || Outcome::not_found(&kind, &id);
    let who = &client.principal;
    let resource = match kind.as_str() {
        "Organization" => {
            let n: i64 = id.parse().map_err(|_| missing())?;
            let orgs = state.store.organisations().await?;
            let o = orgs.iter().find(|o| o.id.get() == n).ok_or_else(missing)?;
            fhir::organization(o)
        }
        "HealthcareService" => {
            let n: i64 = id.parse().map_err(|_| missing())?;
            let services = state.store.casework_services().await?;
            let s = services
                .iter()
                .find(|s| s.id.get() == n)
                .ok_or_else(missing)?;
            fhir::healthcare_service(s)
        }
        "Patient" => {
            let n: i64 = id.parse().map_err(|_| missing())?;
            match state.store.read_person(who, PersonId::new(n)).await {
                Ok(record) => patient(&state, &record).await?,
                Err(RecordError::Denied) => return Err(missing()),
                Err(RecordError::Store(e)) => return Err(e.into()),
            }
        }
        "ServiceRequest" => {
            let n: i64 = id.parse().map_err(|_| missing())?;
            let r = casework(state.store.referral_for(who, ReferralId::new(n)).await)?
                .ok_or_else(missing)?;
            service_request(&state, who, &r).await?
        }
        "EpisodeOfCare" | "CarePlan" => {
            let n: i64 = id.parse().map_err(|_| missing())?;
            let c =
                casework(state.store.case_for(who, CaseId::new(n)).await)?.ok_or_else(missing)?;
            if kind == "CarePlan" {
                fhir::care_plan(&c)
            } else {
                fhir::episode_of_care(&c)
            }
        }
        _ => {
            // Goal, Encounter, Observation: recorded on a case, read by opening the case.
            let (case, _) = fhir::split_part_id(&id).ok_or_else(missing)?;
            let c = casework(state.store.case_for(who, CaseId::new(case)).await)?
                .ok_or_else(missing)?;
            case_parts(&kind, &c)
                .into_iter()
                .find(|r| r["id"].as_str() == Some(id.as_str()))
                .ok_or_else(missing)?
        }
    };
    Ok(super::fhir(StatusCode::OK, &resource))
}

/// A refusal and a missing record are both `None`; other failures are errors.
fn casework<T>(result: Result<T, ActionError>) -> Result<Option<T>, Outcome> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(ActionError::Denied | ActionError::NotFound(_)) => Ok(None),
        Err(ActionError::Store(e)) => Err(e.into()),
        Err(other) => {
            tracing::error!(error = %other, "a FHIR read failed");
            Err(careweave_store::StoreError::NotFound("record").into())
        }
    }
}

async fn patient(state: &AppState, record: &PersonRecord) -> Result<Value, Outcome> {
    let orgs = state.store.organisations().await?;
    let ods = orgs
        .iter()
        .find(|o| o.id == record.person.registered_practice)
        .and_then(|o| o.ods_code.as_ref())
        .map(ToString::to_string);
    Ok(fhir::patient(record, ods.as_deref()))
}

/// A referral as a ServiceRequest, naming the person it was matched to only for a reader who
/// may open that person's record (a referrer never learns whether or to whom it was matched).
async fn service_request(
    state: &AppState,
    who: &careweave_domain::access::Principal,
    r: &careweave_store::casework::ReferralView,
) -> Result<Value, Outcome> {
    let show = match r.person {
        Some(p) => state.store.may_open_person(who, p).await?,
        None => false,
    };
    Ok(fhir::service_request(r, show))
}

/// The Goals, Encounters or Observations recorded on a case.
fn case_parts(kind: &str, c: &CaseView) -> Vec<Value> {
    match kind {
        "Goal" => c.plan.goals.iter().map(|g| fhir::goal(c, g)).collect(),
        "Encounter" => c.contacts.iter().map(|x| fhir::encounter(c, x)).collect(),
        "Observation" => c.outcomes.iter().map(|o| fhir::observation(c, o)).collect(),
        _ => Vec::new(),
    }
}

/// The element a `date` (or `authored`) search compares, by resource type.
fn date_of(resource: &Value) -> Option<&str> {
    let d = match resource["resourceType"].as_str()? {
        "ServiceRequest" => &resource["authoredOn"],
        "EpisodeOfCare" | "Encounter" => &resource["period"]["start"],
        "Observation" => &resource["effectiveDateTime"],
        _ => return None,
    };
    d.as_str()
}

/// One `date` comparison (`ge2026-01-01`): FHIR's prefixes over whole dates.
fn date_matches(filter: &str, value: Option<&str>) -> Result<bool, ()> {
    let (prefix, date) = match filter.get(..2) {
        Some(p @ ("eq" | "ne" | "ge" | "le" | "gt" | "lt")) => (p, &filter[2..]),
        _ => ("eq", filter),
    };
    let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| ())?;
    let Some(value) =
        value.and_then(|v| chrono::NaiveDate::parse_from_str(v.get(..10)?, "%Y-%m-%d").ok())
    else {
        return Ok(false);
    };
    Ok(match prefix {
        "ne" => value != date,
        "ge" => value >= date,
        "le" => value <= date,
        "gt" => value > date,
        "lt" => value < date,
        _ => value == date,
    })
}

/// A parsed search: the filters that apply to built resources, and the page.
struct Search {
    params: Vec<(String, String)>,
    page: Page,
    /// The search URL without paging, for the Bundle's links.
    base: String,
}

/// Parses a search's query: `allowed` are the type's parameters (from the CapabilityStatement's
/// list), besides `_count`, `_offset` and `_format`.
fn parse_search(
    kind: &str,
    allowed: &[&str],
    raw: Option<&str>,
    base: &str,
) -> Result<Search, Outcome> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| {
            Outcome::bad_request(
                IssueCode::Structure,
                "query",
                "the query string is not valid",
            )
        })?;
    let mut page = Page {
        count: Page::DEFAULT,
        offset: 0,
    };
    let mut params = Vec::new();
    for (name, value) in pairs {
        let number = || {
            value.parse::<usize>().map_err(|_| {
                Outcome::bad_request(
                    IssueCode::Value,
                    &name,
                    format!("{name} must be a whole number"),
                )
            })
        };
        match name.as_str() {
            "_count" => page.count = number()?.clamp(1, Page::MAX),
            "_offset" => page.offset = number()?,
            "_format" => {}
            other if allowed.contains(&other) => params.push((name, value)),
            _ => {
                // Ignoring a filter would answer a different question than the client asked.
                return Err(Outcome::bad_request(
                    IssueCode::NotSupported,
                    &name,
                    format!("the search parameter {name} is not supported for {kind}"),
                ));
            }
        }
    }
    let kept = serde_urlencoded::to_string(&params).unwrap_or_default();
    let base = if kept.is_empty() {
        format!("{base}/{kind}")
    } else {
        format!("{base}/{kind}?{kept}")
    };
    Ok(Search { params, page, base })
}

impl Search {
    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a built resource passes the `status` and `date`/`authored` filters.
    fn keeps(&self, resource: &Value) -> Result<bool, Outcome> {
        for (name, value) in &self.params {
            let kept = match name.as_str() {
                "status" => value.split(',').any(|s| resource["status"] == s),
                "date" | "authored" => date_matches(value, date_of(resource)).map_err(|()| {
                    Outcome::bad_request(
                        IssueCode::Value,
                        name,
                        format!(
                            "{name} must be a date (YYYY-MM-DD) with an optional prefix such as ge"
                        ),
                    )
                })?,
                _ => true,
            };
            if !kept {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// `GET /fhir/{kind}?…`.
pub(super) async fn search(
    State(state): State<AppState>,
    Client(client): Client,
    Path(kind): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Outcome> {
    let Some(allowed) = fhir::search_params(&kind) else {
        return Err(unknown_type(&kind));
    };
    let allowed: Vec<&str> = allowed.collect();
    let search = parse_search(
        &kind,
        &allowed,
        query.as_deref(),
        &base_url(&headers, &state),
    )?;
    let who = &client.principal;
    let found: Vec<Value> = match kind.as_str() {
        "Patient" => patients(&state, who, &search).await?,
        "Organization" => {
            let orgs = state.store.organisations().await?;
            orgs.iter()
                .filter(|o| {
                    search
                        .get("_id")
                        .is_none_or(|id| id == o.id.get().to_string())
                })
                .map(fhir::organization)
                .collect()
        }
        "HealthcareService" => {
            let services = state.store.casework_services().await?;
            services
                .iter()
                .filter(|s| {
                    search
                        .get("_id")
                        .is_none_or(|id| id == s.id.get().to_string())
                })
                .map(fhir::healthcare_service)
                .collect()
        }
        _ => person_resources(&state, who, &kind, &search).await?,
    };
    let mut matches = Vec::with_capacity(found.len());
    for r in found {
        if search.keeps(&r)? {
            matches.push(r);
        }
    }
    Ok(super::fhir(
        StatusCode::OK,
        &fhir::searchset(&search.base, &matches, search.page),
    ))
}

/// Patients by NHS number, by id, or (no parameters) the reader's own caseload, only ever
/// those the policy lets the reader open (each read audited).
async fn patients(
    state: &AppState,
    who: &careweave_domain::access::Principal,
    search: &Search,
) -> Result<Vec<Value>, Outcome> {
    let mut records = Vec::new();
    if let Some(identifier) = search.get("identifier") {
        let value = match identifier.split_once('|') {
            Some((fhir::NHS_NUMBER, v)) => v,
            Some((_, _)) => {
                return Err(Outcome::bad_request(
                    IssueCode::CodeInvalid,
                    "identifier",
                    format!(
                        "only the NHS number system ({}) is searchable",
                        fhir::NHS_NUMBER
                    ),
                ))
            }
            None => identifier,
        };
        let nhs: NhsNumber = value.parse().map_err(|_| {
            Outcome::bad_request(
                IssueCode::Value,
                "identifier",
                "the NHS number is not valid",
            )
        })?;
        records.extend(state.store.read_person_by_nhs_number(who, nhs).await?);
    } else if let Some(id) = search.get("_id") {
        if let Ok(n) = id.parse::<i64>() {
            match state.store.read_person(who, PersonId::new(n)).await {
                Ok(r) => records.push(r),
                Err(RecordError::Denied) => {}
                Err(RecordError::Store(e)) => return Err(e.into()),
            }
        }
    } else {
        // The caseload is listed (audited as one list read) and then each person on the page is
        // read, so only the page's records are opened.
        let caseload = state.store.my_people(who).await?;
        let page = search.page;
        let mut out = Vec::with_capacity(caseload.len());
        for (i, p) in caseload.iter().enumerate() {
            if i < page.offset || i >= page.offset + page.count {
                // Outside the page: counted for `total`, never read or sent.
                out.push(
                    serde_json::json!({ "resourceType": "Patient", "id": p.id.get().to_string() }),
                );
                continue;
            }
            match state.store.read_person(who, p.id).await {
                Ok(r) => out.push(patient(state, &r).await?),
                Err(RecordError::Denied) => {}
                Err(RecordError::Store(e)) => return Err(e.into()),
            }
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        out.push(patient(state, r).await?);
    }
    Ok(out)
}

/// The resources about one person (`patient=`): their referrals or what is recorded on their
/// cases, each read through the casework door.
async fn person_resources(
    state: &AppState,
    who: &careweave_domain::access::Principal,
    kind: &str,
    search: &Search,
) -> Result<Vec<Value>, Outcome> {
    let Some(patient) = search.get("patient") else {
        return Err(Outcome::bad_request(
            IssueCode::Required,
            "patient",
            format!("searching {kind} needs the patient parameter"),
        ));
    };
    let id = patient.strip_prefix("Patient/").unwrap_or(patient);
    let Ok(id) = id.parse::<i64>() else {
        return Err(Outcome::bad_request(
            IssueCode::Value,
            "patient",
            "patient must be a Patient id or reference",
        ));
    };
    let Some((cases, referrals)) =
        casework(state.store.person_casework(who, PersonId::new(id)).await)?
    else {
        // Refused or unknown: no matches, the same answer either way.
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if kind == "ServiceRequest" {
        for (referral, _, _) in referrals {
            if let Some(r) = casework(state.store.referral_for(who, referral).await)? {
                out.push(service_request(state, who, &r).await?);
            }
        }
        return Ok(out);
    }
    for (case, _, _) in cases {
        let Some(c) = casework(state.store.case_for(who, case).await)? else {
            continue;
        };
        match kind {
            "EpisodeOfCare" => out.push(fhir::episode_of_care(&c)),
            "CarePlan" => out.push(fhir::care_plan(&c)),
            _ => out.extend(case_parts(kind, &c)),
        }
    }
    Ok(out)
}
