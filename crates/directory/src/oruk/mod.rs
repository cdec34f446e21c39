//! The Open Referral UK wire format (HSDS UK profile, version 3) and its conversion to and from the
//! model.
//!
//! The `*Json` structs mirror the standard's objects field for field; they are the only types in
//! careweave that derive `Serialize` for the directory. [`parse_feed`] reads a feed (a JSON array of
//! services, or an ORUK page object with `contents`), checking each record on its own so that one
//! bad record never hides the good ones. [`api_service_json`] writes a service fully nested, as
//! `GET /services/{id}` returns it; [`service_list_json`] writes the one-to-one fields and the
//! organisation, as the standard's paginated lists do.
//!
//! Two careweave choices ride inside the standard: need categories are taxonomy terms of the
//! `careweave-needs` taxonomy attached through `attributes`, and "accepts direct referrals" is the
//! term `accepts-direct-referrals` of the `careweave-access` taxonomy. `eligibility_description` is
//! carried as in HSDS 3.0. A service area's `extent` is kept when its `extent_type` is `geojson`
//! (a boundary the `postcode` filter checks). Fields careweave does not model (funding,
//! accreditations, required documents, extents of other types) are not kept.
//!
//! Ids: ORUK declares every id `format: uuid`, while careweave's records keep readable ids
//! (`hillside-befriending`, `…-schedule-1`, `debt-advice`) that the pages and spreadsheets use.
//! The API's writers ([`api_service_json`], [`service_list_json`], [`service_at_location_json`],
//! [`taxonomies`], [`taxonomy_terms`]) publish each id as [`oruk_uuid`] of it: a version 5 UUID
//! of the readable id, stable for the same record, or the id itself when it already is a UUID. A
//! term keeps its readable id as `code`. [`service_json`] and the export keep careweave's own ids,
//! because the store keeps services in that form and an export read back must update the same
//! records.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{oruk_uuid, Location, LocationKind, Organization, Service, ServiceAtLocation};
use crate::schedule::Schedule;
use crate::taxonomy::{
    Need, ACCESS_TAXONOMY_ID, DIRECT_REFERRAL_TERM_ID, DIRECT_REFERRAL_TERM_NAME,
    NEEDS_TAXONOMY_ID, NEEDS_TAXONOMY_VERSION,
};

/// An ORUK `service`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceJson {
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fees: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_age: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_age: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligibility_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assured_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assurer_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedules: Option<Vec<ScheduleJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_areas: Option<Vec<ServiceAreaJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_at_locations: Option<Vec<ServiceAtLocationJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub languages: Option<Vec<LanguageJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_options: Option<Vec<CostOptionJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<ContactJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<AttributeJson>>,
}

/// An ORUK `organization`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationJson {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// An ORUK `service_at_location`; `service` is filled only in its own list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceAtLocationJson {
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    pub location: Option<LocationJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Box<ServiceJson>>,
}

/// An ORUK `location`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocationJson {
    pub id: Option<String>,
    pub location_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<Value>,
    pub addresses: Vec<AddressJson>,
    pub accessibility: Vec<AccessibilityJson>,
}

/// An ORUK `address`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressJson {
    pub id: Option<String>,
    pub address_1: Option<String>,
    pub city: Option<String>,
    pub state_province: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub address_type: Option<String>,
}

/// An ORUK `accessibility`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessibilityJson {
    pub id: Option<String>,
    pub description: Option<String>,
}

/// An ORUK `schedule`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleJson {
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtstart: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freq: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byday: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<String>,
}

/// An ORUK `service_area`: its name and, as GeoJSON (`extent_type` `geojson`), its boundary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceAreaJson {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extent_type: Option<String>,
}

/// An ORUK `language`, with the HSDS name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LanguageJson {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// An ORUK `cost_option`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CostOptionJson {
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_description: Option<String>,
}

/// An ORUK `contact` with its `phones`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactJson {
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub phones: Vec<PhoneJson>,
}

/// An ORUK `phone`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhoneJson {
    pub id: Option<String>,
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An ORUK `attribute`: links a record to a taxonomy term.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttributeJson {
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxonomy_term_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxonomy_term: Option<TaxonomyTermJson>,
}

/// An ORUK `taxonomy_term`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxonomyTermJson {
    pub id: Option<String>,
    /// The term's readable id (`debt-advice`), HSDS 3.0's `code`: the API publishes `id` as a UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxonomy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxonomy_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
}

/// An ORUK `taxonomy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaxonomyJson {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: String,
}

/// The ORUK page object wrapped around every list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub total_items: usize,
    pub total_pages: usize,
    pub page_number: usize,
    pub size: usize,
    pub first_page: bool,
    pub last_page: bool,
    pub empty: bool,
    pub contents: Vec<T>,
}

impl<T> Page<T> {
    /// Cuts page `page_number` (from 1) of `per_page` items out of `all`.
    pub fn of(all: Vec<T>, page_number: usize, per_page: usize) -> Self {
        let per_page = per_page.max(1);
        let page_number = page_number.max(1);
        let total_items = all.len();
        let total_pages = total_items.div_ceil(per_page);
        let contents: Vec<T> = all
            .into_iter()
            .skip((page_number - 1).saturating_mul(per_page))
            .take(per_page)
            .collect();
        Self {
            total_items,
            total_pages,
            page_number,
            size: contents.len(),
            first_page: page_number == 1,
            last_page: page_number >= total_pages,
            empty: contents.is_empty(),
            contents,
        }
    }
}

/// The taxonomies careweave publishes, under their UUIDs.
#[must_use]
pub fn taxonomies() -> Vec<TaxonomyJson> {
    let readable = [
        TaxonomyJson {
            id: NEEDS_TAXONOMY_ID.to_owned(),
            name: "careweave need categories".to_owned(),
            description:
                "What a person needs help with, as link workers and caseworkers search for it"
                    .to_owned(),
            version: NEEDS_TAXONOMY_VERSION.to_owned(),
        },
        TaxonomyJson {
            id: ACCESS_TAXONOMY_ID.to_owned(),
            name: "careweave access routes".to_owned(),
            description: "How people reach a service".to_owned(),
            version: NEEDS_TAXONOMY_VERSION.to_owned(),
        },
    ];
    readable
        .into_iter()
        .map(|t| TaxonomyJson {
            id: oruk_uuid(&t.id),
            ..t
        })
        .collect()
}

/// Every taxonomy term careweave publishes, under their UUIDs (the readable id is the `code`).
#[must_use]
pub fn taxonomy_terms() -> Vec<TaxonomyTermJson> {
    let mut terms: Vec<TaxonomyTermJson> = Need::all().map(need_term).collect();
    terms.push(access_term());
    terms.into_iter().map(published_term).collect()
}

/// A term as the API publishes it: its id and its taxonomy's id as UUIDs.
fn published_term(t: TaxonomyTermJson) -> TaxonomyTermJson {
    TaxonomyTermJson {
        id: t.id.as_deref().map(oruk_uuid),
        taxonomy_id: t.taxonomy_id.as_deref().map(oruk_uuid),
        ..t
    }
}

fn need_term(n: Need) -> TaxonomyTermJson {
    TaxonomyTermJson {
        id: Some(n.id().to_owned()),
        code: Some(n.id().to_owned()),
        name: Some(n.name().to_owned()),
        description: Some(n.description().to_owned()),
        taxonomy: Some(NEEDS_TAXONOMY_ID.to_owned()),
        taxonomy_id: Some(NEEDS_TAXONOMY_ID.to_owned()),
        term: Some(n.name().to_owned()),
    }
}

fn access_term() -> TaxonomyTermJson {
    TaxonomyTermJson {
        id: Some(DIRECT_REFERRAL_TERM_ID.to_owned()),
        code: Some(DIRECT_REFERRAL_TERM_ID.to_owned()),
        name: Some(DIRECT_REFERRAL_TERM_NAME.to_owned()),
        description: Some("The provider accepts referrals sent to it through careweave".to_owned()),
        taxonomy: Some(ACCESS_TAXONOMY_ID.to_owned()),
        taxonomy_id: Some(ACCESS_TAXONOMY_ID.to_owned()),
        term: Some(DIRECT_REFERRAL_TERM_NAME.to_owned()),
    }
}

fn some_text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The organisation in ORUK form.
#[must_use]
pub fn organization_json(o: &Organization) -> OrganizationJson {
    OrganizationJson {
        id: Some(o.id.to_string()),
        name: Some(o.name.clone()),
        description: Some(o.description.clone()),
        email: o.email.clone(),
        website: o.website.clone(),
    }
}

/// A service's one-to-one fields and its organisation, as the ORUK API lists services (ids as
/// UUIDs).
#[must_use]
pub fn service_list_json(s: &Service) -> ServiceJson {
    published(list_fields(s))
}

fn list_fields(s: &Service) -> ServiceJson {
    ServiceJson {
        id: Some(s.id.to_string()),
        organization_id: Some(s.organization.id.to_string()),
        name: Some(s.name.clone()),
        description: Some(s.description.clone()),
        url: s.url.clone(),
        email: s.email.clone(),
        status: Some(s.status.code().to_owned()),
        fees: s.fees.clone(),
        alert: s.alert.clone(),
        minimum_age: s.minimum_age.map(Value::from),
        maximum_age: s.maximum_age.map(Value::from),
        eligibility_description: s.eligibility_description.clone(),
        assured_date: s.last_reviewed.map(|d| d.format("%Y-%m-%d").to_string()),
        assurer_email: s.reviewer_email.clone(),
        last_modified: Some(
            s.last_modified
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ),
        organization: Some(organization_json(&s.organization)),
        ..ServiceJson::default()
    }
}

fn location_json(l: &Location) -> LocationJson {
    let (location_type, at, addresses) = match &l.kind {
        LocationKind::Physical { address, at } => (
            "physical",
            Some(*at),
            address
                .iter()
                .map(|a| AddressJson {
                    id: Some(a.id.to_string()),
                    address_1: Some(a.address_1.clone()),
                    city: Some(a.city.clone()),
                    // The UK profile requires these; England is the only region careweave serves.
                    state_province: Some("England".to_owned()),
                    postal_code: Some(a.postcode.to_string()),
                    country: Some("GB".to_owned()),
                    address_type: Some("physical".to_owned()),
                })
                .collect(),
        ),
        LocationKind::Virtual => ("virtual", None, Vec::new()),
    };
    LocationJson {
        id: Some(l.id.to_string()),
        location_type: Some(location_type.to_owned()),
        name: l.name.clone(),
        description: l.description.clone(),
        latitude: at.map(|p| Value::from(round6(p.lat()))),
        longitude: at.map(|p| Value::from(round6(p.lon()))),
        addresses,
        accessibility: l
            .accessibility
            .iter()
            .map(|a| AccessibilityJson {
                id: Some(a.id.to_string()),
                description: Some(a.description.clone()),
            })
            .collect(),
    }
}

// Six decimal places is about 10 cm: enough for any building, and stable through text round trips.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

pub(crate) fn schedule_json(s: &Schedule) -> ScheduleJson {
    use crate::schedule::Rule;
    let date = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    let (freq, interval, dtstart) = match &s.rule {
        Rule::Weekly {
            interval, start, ..
        } => (
            Some("WEEKLY".to_owned()),
            Some(Value::from(*interval)),
            date(*start),
        ),
        Rule::Monthly { .. } => (Some("MONTHLY".to_owned()), None, None),
        Rule::Described => (None, None, None),
    };
    ScheduleJson {
        id: Some(s.id.to_string()),
        valid_from: date(s.valid_from),
        valid_to: date(s.valid_to),
        dtstart,
        freq,
        interval,
        byday: s.byday(),
        description: s.description.clone(),
        opens_at: s.hours.map(|h| h.opens.oruk()),
        closes_at: s.hours.map(|h| h.closes.oruk()),
    }
}

/// A service fully nested, as `GET /services/{id}` answers it: every id a UUID.
#[must_use]
pub fn api_service_json(s: &Service) -> ServiceJson {
    published(service_json(s))
}

/// A service fully nested with careweave's own ids, as the store keeps it and the JSON export
/// writes it (so that an export read back into careweave updates the same records).
#[must_use]
pub fn service_json(s: &Service) -> ServiceJson {
    let mut attributes: Vec<AttributeJson> = s
        .needs
        .iter()
        .map(|n| AttributeJson {
            id: Some(s.id.child(n.id()).to_string()),
            taxonomy_term_id: Some(n.id().to_owned()),
            link_type: None,
            taxonomy_term: Some(need_term(*n)),
        })
        .collect();
    if s.accepts_referrals {
        attributes.push(AttributeJson {
            id: Some(s.id.child(DIRECT_REFERRAL_TERM_ID).to_string()),
            taxonomy_term_id: Some(DIRECT_REFERRAL_TERM_ID.to_owned()),
            link_type: None,
            taxonomy_term: Some(access_term()),
        });
    }
    ServiceJson {
        schedules: Some(s.schedules.iter().map(schedule_json).collect()),
        service_areas: Some(
            s.service_areas
                .iter()
                .map(|a| ServiceAreaJson {
                    id: Some(a.id.to_string()),
                    name: Some(a.name.clone()),
                    extent: a.extent.as_ref().map(crate::geo::Extent::to_geojson),
                    extent_type: a.extent.as_ref().map(|_| "geojson".to_owned()),
                })
                .collect(),
        ),
        service_at_locations: Some(
            s.locations
                .iter()
                .map(|sal| ServiceAtLocationJson {
                    id: Some(sal.id.to_string()),
                    service_id: None,
                    location_id: None,
                    location: Some(location_json(&sal.location)),
                    service: None,
                })
                .collect(),
        ),
        languages: Some(
            s.languages
                .iter()
                .map(|l| LanguageJson {
                    id: Some(l.id.to_string()),
                    name: Some(l.name.clone()),
                })
                .collect(),
        ),
        cost_options: Some(
            s.cost_options
                .iter()
                .map(|c| CostOptionJson {
                    id: Some(c.id.to_string()),
                    option: c.option.clone(),
                    amount: c.amount.map(Value::from),
                    amount_description: c.amount_description.clone(),
                })
                .collect(),
        ),
        contacts: Some(
            s.contacts
                .iter()
                .map(|c| ContactJson {
                    id: Some(c.id.to_string()),
                    name: c.name.clone(),
                    title: c.title.clone(),
                    phones: c
                        .phones
                        .iter()
                        .map(|p| PhoneJson {
                            id: Some(p.id.to_string()),
                            number: Some(p.number.clone()),
                            description: p.description.clone(),
                        })
                        .collect(),
                })
                .collect(),
        ),
        attributes: Some(attributes),
        ..list_fields(s)
    }
}

/// One service-at-location in ORUK list form: the location nested, and the service's one-to-one
/// fields.
#[must_use]
pub fn service_at_location_json(s: &Service, sal: &ServiceAtLocation) -> ServiceAtLocationJson {
    published_at_location(ServiceAtLocationJson {
        id: Some(sal.id.to_string()),
        service_id: Some(s.id.to_string()),
        location_id: Some(sal.location.id.to_string()),
        location: Some(location_json(&sal.location)),
        service: Some(Box::new(list_fields(s))),
    })
}

/// Rewrites an id in place to the UUID the API publishes it under.
fn to_uuid(id: &mut Option<String>) {
    if let Some(t) = id {
        *t = oruk_uuid(t);
    }
}

/// A service document with every id (its own, its organisation's and each nested object's) and
/// every taxonomy reference rewritten to the UUIDs the ORUK API publishes, which the standard
/// declares `format: uuid`.
fn published(mut j: ServiceJson) -> ServiceJson {
    to_uuid(&mut j.id);
    to_uuid(&mut j.organization_id);
    if let Some(o) = &mut j.organization {
        to_uuid(&mut o.id);
    }
    for s in j.schedules.iter_mut().flatten() {
        to_uuid(&mut s.id);
    }
    for a in j.service_areas.iter_mut().flatten() {
        to_uuid(&mut a.id);
    }
    if let Some(list) = j.service_at_locations.take() {
        j.service_at_locations = Some(list.into_iter().map(published_at_location).collect());
    }
    for l in j.languages.iter_mut().flatten() {
        to_uuid(&mut l.id);
    }
    for c in j.cost_options.iter_mut().flatten() {
        to_uuid(&mut c.id);
    }
    for c in j.contacts.iter_mut().flatten() {
        to_uuid(&mut c.id);
        for p in &mut c.phones {
            to_uuid(&mut p.id);
        }
    }
    for a in j.attributes.iter_mut().flatten() {
        to_uuid(&mut a.id);
        to_uuid(&mut a.taxonomy_term_id);
        a.taxonomy_term = a.taxonomy_term.take().map(published_term);
    }
    j
}

fn published_at_location(mut sal: ServiceAtLocationJson) -> ServiceAtLocationJson {
    to_uuid(&mut sal.id);
    to_uuid(&mut sal.service_id);
    to_uuid(&mut sal.location_id);
    if let Some(l) = &mut sal.location {
        to_uuid(&mut l.id);
        for a in &mut l.addresses {
            to_uuid(&mut a.id);
        }
        for a in &mut l.accessibility {
            to_uuid(&mut a.id);
        }
    }
    sal.service = sal.service.take().map(|s| Box::new(published(*s)));
    sal
}

/// Writes services as an ORUK JSON feed (a JSON array of fully nested services).
pub fn export_feed(services: &[Service]) -> Result<String, serde_json::Error> {
    let all: Vec<ServiceJson> = services.iter().map(service_json).collect();
    serde_json::to_string_pretty(&all)
}

mod read;

pub use read::{parse_feed, service_document, service_from_document, service_from_json};
