//! Reading ORUK: a feed or one service document into the model, every problem of a record
//! collected with its field so that one bad record never hides the good ones.

use careweave_domain::Postcode;
use chrono::{DateTime, Utc};

use crate::geo::{LatLon, PostcodeTable};
use crate::import::{Diagnostic, ImportReport, RecordRef};
use crate::model::{
    Accessibility, Address, Contact, CostOption, Language, Phone, RecordId, ServiceArea,
    ServiceStatus,
};
use crate::schedule::ScheduleParts;
use crate::taxonomy::{need_ids, readable_taxonomy_id};

use super::*;

/// Collects every problem with one record, so the person fixing the file sees them all at once.
pub(crate) struct Problems {
    record: RecordRef,
    id: Option<String>,
    pub(crate) found: Vec<Diagnostic>,
}

impl Problems {
    pub(crate) fn new(record: RecordRef, id: Option<String>) -> Self {
        Self {
            record,
            id,
            found: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, field: &str, reason: impl Into<String>) {
        self.found.push(Diagnostic {
            record: self.record,
            id: self.id.clone(),
            field: field.to_owned(),
            reason: reason.into(),
        });
    }

    /// Parses an id, or derives one from `fallback` when the feed gives none.
    pub(crate) fn id_or(
        &mut self,
        field: &str,
        given: &Option<String>,
        fallback: RecordId,
    ) -> RecordId {
        match some_text(given) {
            None => fallback,
            Some(t) => match t.parse() {
                Ok(id) => id,
                Err(e) => {
                    self.add(field, format!("'{t}': {e}"));
                    fallback
                }
            },
        }
    }

    pub(crate) fn email(&mut self, field: &str, given: &Option<String>) -> Option<String> {
        let t = some_text(given)?;
        let ok = t.contains('@')
            && !t.contains(char::is_whitespace)
            && !t.starts_with('@')
            && !t.ends_with('@');
        if !ok {
            self.add(field, format!("'{t}' is not an email address"));
        }
        Some(t)
    }

    pub(crate) fn url(&mut self, field: &str, given: &Option<String>) -> Option<String> {
        let t = some_text(given)?;
        if !(t.starts_with("https://") || t.starts_with("http://"))
            || t.contains(char::is_whitespace)
        {
            self.add(
                field,
                format!("'{t}' is not a web address starting https://"),
            );
        }
        Some(t)
    }

    pub(crate) fn date(&mut self, field: &str, given: &Option<String>) -> Option<NaiveDate> {
        let t = some_text(given)?;
        // Accept a full timestamp too: some feeds write dates as midnight instants.
        let day = t.get(..10).unwrap_or(&t);
        match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.add(field, format!("'{t}' is not a date written as YYYY-MM-DD"));
                None
            }
        }
    }

    pub(crate) fn age(&mut self, field: &str, given: Option<&Value>) -> Option<u8> {
        let v = given.filter(|v| !v.is_null())?;
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s.trim().is_empty() => return None,
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n.fract() == 0.0 && (0.0..=130.0).contains(&n) => {
                // The range check above makes the conversion exact.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Some(n as u8)
            }
            _ => {
                self.add(
                    field,
                    format!("{v} is not an age: use a whole number from 0 to 130"),
                );
                None
            }
        }
    }

    pub(crate) fn number(&mut self, field: &str, given: Option<&Value>) -> Option<f64> {
        let v = given.filter(|v| !v.is_null())?;
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s.trim().is_empty() => return None,
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        if n.is_none() {
            self.add(field, format!("{v} is not a number"));
        }
        n
    }

    /// Parses a postcode and finds it in the table (when a table is given).
    pub(crate) fn postcode(
        &mut self,
        field: &str,
        text: &str,
        table: Option<&PostcodeTable>,
    ) -> Option<(Postcode, Option<LatLon>)> {
        match text.parse::<Postcode>() {
            Err(e) => {
                self.add(field, format!("'{}': {e}", text.trim()));
                None
            }
            Ok(p) => match table {
                None => Some((p, None)),
                Some(t) => match t.get(&p) {
                    Some(at) => Some((p, Some(at))),
                    None => {
                        self.add(
                            field,
                            format!("postcode {p} is not in the postcode table, so its distance cannot be worked out"),
                        );
                        None
                    }
                },
            },
        }
    }
}

/// Parses the feed's text: a JSON array of services or an ORUK page object. A file that is not
/// JSON at all, or holds no list of services, yields a report with one file-level diagnostic.
///
/// `postcodes` is the table every location's postcode must be in; pass `None` only when reading
/// back records this crate wrote itself (their coordinates were checked when first imported).
#[must_use]
pub fn parse_feed(
    text: &str,
    postcodes: Option<&PostcodeTable>,
    now: DateTime<Utc>,
) -> ImportReport {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return ImportReport::unreadable(format!("the file is not valid JSON: {e}")),
    };
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("contents") {
            Some(Value::Array(items)) => items,
            _ => {
                return ImportReport::unreadable(
                    "the file must hold a JSON array of services, or an ORUK page with a 'contents' array"
                        .to_owned(),
                )
            }
        },
        _ => {
            return ImportReport::unreadable(
                "the file must hold a JSON array of services".to_owned(),
            )
        }
    };
    let mut report = ImportReport::default();
    for (i, item) in items.into_iter().enumerate() {
        let at = RecordRef::Item(i + 1);
        let outcome = match serde_json::from_value::<ServiceJson>(item) {
            Ok(json) => service_from_json(&json, at, postcodes, now),
            Err(e) => Err(vec![Diagnostic {
                record: at,
                id: None,
                field: "record".to_owned(),
                reason: format!("not an ORUK service: {e}"),
            }]),
        };
        report.push(at, outcome);
    }
    report.refuse_duplicate_ids();
    report
}

/// Reads back one service this crate wrote (the store keeps services in ORUK form).
pub fn service_from_document(text: &str) -> Result<Service, String> {
    let json: ServiceJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
    service_from_json(&json, RecordRef::Item(1), None, Utc::now()).map_err(|d| {
        d.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Writes one service in the form [`service_from_document`] reads.
pub fn service_document(s: &Service) -> Result<String, serde_json::Error> {
    serde_json::to_string(&service_json(s))
}

/// Checks one ORUK service record and builds the model, reporting every problem found.
pub fn service_from_json(
    j: &ServiceJson,
    at: RecordRef,
    postcodes: Option<&PostcodeTable>,
    now: DateTime<Utc>,
) -> Result<Service, Vec<Diagnostic>> {
    let raw_id = some_text(&j.id);
    let mut p = Problems::new(at, raw_id.clone());
    let id = match raw_id.as_deref().map(str::parse::<RecordId>) {
        Some(Ok(id)) => Some(id),
        Some(Err(e)) => {
            p.add("id", e.to_string());
            None
        }
        None => {
            p.add(
                "id",
                "every service needs an id, so that a later import can update it",
            );
            None
        }
    };
    let fallback: RecordId = id.clone().unwrap_or_else(RecordId::placeholder);
    let name = some_text(&j.name);
    if name.is_none() {
        p.add("name", "every service needs a name");
    }
    let status = match some_text(&j.status) {
        None => ServiceStatus::Active,
        Some(s) => ServiceStatus::from_code(&s).unwrap_or_else(|| {
            p.add(
                "status",
                format!(
                    "'{s}' is not a status: use active, inactive, defunct or temporarily closed"
                ),
            );
            ServiceStatus::Active
        }),
    };
    let organization = match &j.organization {
        Some(o) => organization_from_json(o, &mut p),
        None => {
            p.add(
                "organization",
                "every service needs its organization, nested as ORUK writes it",
            );
            None
        }
    };
    let minimum_age = p.age("minimum_age", j.minimum_age.as_ref());
    let maximum_age = p.age("maximum_age", j.maximum_age.as_ref());
    if let (Some(min), Some(max)) = (minimum_age, maximum_age) {
        if min > max {
            p.add(
                "maximum_age",
                format!("maximum age {max} is below minimum age {min}"),
            );
        }
    }
    let last_modified = match some_text(&j.last_modified) {
        None => now,
        Some(t) => DateTime::parse_from_rfc3339(&t)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|_| {
                p.add(
                    "last_modified",
                    format!("'{t}' is not a date and time in RFC 3339 form"),
                );
                now
            }),
    };
    let (needs, accepts_referrals) =
        needs_from_attributes(j.attributes.as_deref().unwrap_or(&[]), &mut p);
    let schedules = schedules_from_json(&fallback, j.schedules.as_deref().unwrap_or(&[]), &mut p);
    let locations = locations_from_json(
        &fallback,
        j.service_at_locations.as_deref().unwrap_or(&[]),
        postcodes,
        &mut p,
    );
    let service = Service {
        url: p.url("url", &j.url),
        email: p.email("email", &j.email),
        fees: some_text(&j.fees),
        alert: some_text(&j.alert),
        minimum_age,
        maximum_age,
        eligibility_description: some_text(&j.eligibility_description),
        last_reviewed: p.date("assured_date", &j.assured_date),
        reviewer_email: p.email("assurer_email", &j.assurer_email),
        last_modified,
        needs,
        accepts_referrals,
        schedules,
        service_areas: j
            .service_areas
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, a)| {
                let id = p.id_or(
                    "service_areas.id",
                    &a.id,
                    fallback.child(&format!("area-{}", i + 1)),
                );
                let extent = area_extent(a, &mut p);
                some_text(&a.name).map(|name| ServiceArea { id, name, extent })
            })
            .collect(),
        languages: j
            .languages
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, l)| {
                let id = p.id_or(
                    "languages.id",
                    &l.id,
                    fallback.child(&format!("language-{}", i + 1)),
                );
                some_text(&l.name).map(|name| Language { id, name })
            })
            .collect(),
        cost_options: j
            .cost_options
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, c)| CostOption {
                id: p.id_or(
                    "cost_options.id",
                    &c.id,
                    fallback.child(&format!("cost-{}", i + 1)),
                ),
                option: some_text(&c.option),
                amount: p.number("cost_options.amount", c.amount.as_ref()),
                amount_description: some_text(&c.amount_description),
            })
            .collect(),
        contacts: j
            .contacts
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, c)| {
                let cid = p.id_or(
                    "contacts.id",
                    &c.id,
                    fallback.child(&format!("contact-{}", i + 1)),
                );
                let phones = c
                    .phones
                    .iter()
                    .enumerate()
                    .filter_map(|(k, ph)| {
                        let id =
                            p.id_or("phones.id", &ph.id, cid.child(&format!("phone-{}", k + 1)));
                        let number = some_text(&ph.number);
                        if number.is_none() {
                            p.add("phones.number", "a phone needs a number");
                        }
                        number.map(|number| Phone {
                            id,
                            number,
                            description: some_text(&ph.description),
                        })
                    })
                    .collect();
                Contact {
                    id: cid,
                    name: some_text(&c.name),
                    title: some_text(&c.title),
                    phones,
                }
            })
            .collect(),
        locations,
        status,
        description: some_text(&j.description).unwrap_or_default(),
        name: name.unwrap_or_default(),
        id: fallback,
        organization: organization.unwrap_or(Organization {
            id: RecordId::placeholder(),
            name: String::new(),
            description: String::new(),
            email: None,
            website: None,
        }),
    };
    if p.found.is_empty() && id.is_some() {
        Ok(service)
    } else {
        Err(p.found)
    }
}

fn organization_from_json(o: &OrganizationJson, p: &mut Problems) -> Option<Organization> {
    let id = match some_text(&o.id).map(|t| t.parse::<RecordId>()) {
        Some(Ok(id)) => Some(id),
        Some(Err(e)) => {
            p.add("organization.id", e.to_string());
            None
        }
        None => {
            p.add("organization.id", "the organization needs an id");
            None
        }
    };
    let name = some_text(&o.name);
    if name.is_none() {
        p.add("organization.name", "the organization needs a name");
    }
    let email = p.email("organization.email", &o.email);
    let website = p.url("organization.website", &o.website);
    Some(Organization {
        id: id?,
        name: name?,
        description: some_text(&o.description).unwrap_or_default(),
        email,
        website,
    })
}

fn needs_from_attributes(attrs: &[AttributeJson], p: &mut Problems) -> (Vec<Need>, bool) {
    let mut needs = Vec::new();
    let mut accepts = false;
    for a in attrs {
        let term = a.taxonomy_term.as_ref();
        // A term may be named by its readable id, its `code`, or the UUID careweave's API
        // publishes it under (a feed written by another careweave), all read as the readable id.
        let id = term
            .and_then(|t| some_text(&t.code).or_else(|| some_text(&t.id)))
            .or_else(|| some_text(&a.taxonomy_term_id))
            .map(|t| readable_taxonomy_id(&t));
        let name = term.and_then(|t| some_text(&t.name).or_else(|| some_text(&t.term)));
        let key = id.clone().or(name.clone()).unwrap_or_default();
        if key.is_empty() {
            p.add("attributes", "an attribute needs a taxonomy term");
            continue;
        }
        if id.as_deref() == Some(DIRECT_REFERRAL_TERM_ID) {
            accepts = true;
            continue;
        }
        let found = id
            .as_deref()
            .and_then(Need::find)
            .or_else(|| name.as_deref().and_then(Need::find));
        match found {
            Some(n) if !needs.contains(&n) => needs.push(n),
            Some(_) => {}
            None => p.add(
                "attributes.taxonomy_term",
                format!("unknown taxonomy term '{key}': use one of {}", need_ids()),
            ),
        }
    }
    needs.sort();
    (needs, accepts)
}

fn schedules_from_json(
    service: &RecordId,
    list: &[ScheduleJson],
    p: &mut Problems,
) -> Vec<Schedule> {
    list.iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let id = p.id_or(
                "schedules.id",
                &s.id,
                service.child(&format!("schedule-{}", i + 1)),
            );
            let interval = p.number("schedules.interval", s.interval.as_ref());
            #[allow(clippy::cast_possible_truncation)]
            let interval = interval.map(|n| if n.fract() == 0.0 { n as i64 } else { -1 });
            let parts = ScheduleParts {
                freq: s.freq.as_deref(),
                interval,
                byday: s.byday.as_deref(),
                dtstart: p.date("schedules.dtstart", &s.dtstart),
                opens_at: s.opens_at.as_deref(),
                closes_at: s.closes_at.as_deref(),
                valid_from: p.date("schedules.valid_from", &s.valid_from),
                valid_to: p.date("schedules.valid_to", &s.valid_to),
                description: s.description.as_deref(),
            };
            match Schedule::from_parts(id, &parts) {
                Ok(s) => Some(s),
                Err(e) => {
                    p.add(
                        &format!("schedules[{}]", i + 1),
                        format!("the schedule {e}"),
                    );
                    None
                }
            }
        })
        .collect()
}

fn locations_from_json(
    service: &RecordId,
    list: &[ServiceAtLocationJson],
    postcodes: Option<&PostcodeTable>,
    p: &mut Problems,
) -> Vec<ServiceAtLocation> {
    list.iter()
        .enumerate()
        .filter_map(|(i, sal)| {
            let n = i + 1;
            let sal_id = p.id_or(
                "service_at_locations.id",
                &sal.id,
                service.child(&format!("at-{n}")),
            );
            let Some(l) = &sal.location else {
                p.add(
                    "service_at_locations.location",
                    "a service_at_location needs its location nested",
                );
                return None;
            };
            let loc_id = p.id_or(
                "location.id",
                &l.id,
                service.child(&format!("location-{n}")),
            );
            let kind = match some_text(&l.location_type)
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("virtual") => LocationKind::Virtual,
                Some("physical" | "postal") | None => {
                    let lat = p.number("location.latitude", l.latitude.as_ref());
                    let lon = p.number("location.longitude", l.longitude.as_ref());
                    let given = match (lat, lon) {
                        (Some(a), Some(o)) => {
                            let at = LatLon::new(a, o);
                            if at.is_none() {
                                p.add("location.latitude", "the coordinates are out of range");
                            }
                            at
                        }
                        _ => None,
                    };
                    let problems_before = p.found.len();
                    let address = match l.addresses.first() {
                        None => None,
                        Some(a) => {
                            let postcode = p.postcode(
                                "location.addresses.postal_code",
                                a.postal_code.as_deref().unwrap_or(""),
                                postcodes,
                            );
                            let id = p.id_or("addresses.id", &a.id, loc_id.child("address"));
                            postcode.map(|(pc, table_at)| {
                                (
                                    Address {
                                        id,
                                        address_1: some_text(&a.address_1).unwrap_or_default(),
                                        city: some_text(&a.city).unwrap_or_default(),
                                        postcode: pc,
                                    },
                                    table_at,
                                )
                            })
                        }
                    };
                    let at = given.or(address.as_ref().and_then(|(_, t)| *t));
                    match at {
                        Some(at) => LocationKind::Physical {
                            address: address.map(|(a, _)| a),
                            at,
                        },
                        None => {
                            // A refused postcode has already been reported; otherwise say what is missing.
                            if p.found.len() == problems_before {
                                p.add(
                                    "location",
                                    "a physical location needs a postcode or coordinates",
                                );
                            }
                            return None;
                        }
                    }
                }
                Some(other) => {
                    p.add(
                        "location.location_type",
                        format!(
                            "'{other}' is not a location type: use physical, postal or virtual"
                        ),
                    );
                    return None;
                }
            };
            Some(ServiceAtLocation {
                id: sal_id,
                location: Location {
                    name: some_text(&l.name),
                    description: some_text(&l.description),
                    accessibility: l
                        .accessibility
                        .iter()
                        .enumerate()
                        .filter_map(|(k, a)| {
                            let id = p.id_or(
                                "accessibility.id",
                                &a.id,
                                loc_id.child(&format!("access-{}", k + 1)),
                            );
                            some_text(&a.description)
                                .map(|description| Accessibility { id, description })
                        })
                        .collect(),
                    id: loc_id,
                    kind,
                },
            })
        })
        .collect()
}

/// A service area's boundary, when the feed gives one as GeoJSON; an extent of another type
/// (KML, TopoJSON, text) is not kept, as careweave cannot test a postcode against it.
fn area_extent(a: &ServiceAreaJson, p: &mut Problems) -> Option<crate::geo::Extent> {
    let text = some_text(&a.extent)?;
    let geojson = match some_text(&a.extent_type) {
        Some(t) => t.eq_ignore_ascii_case("geojson"),
        // Without a type, text that is a JSON object can only be meant as GeoJSON.
        None => text.starts_with('{'),
    };
    if !geojson {
        return None;
    }
    crate::geo::Extent::from_geojson(&text)
        .map_err(|e| p.add("service_areas.extent", e))
        .ok()
}
