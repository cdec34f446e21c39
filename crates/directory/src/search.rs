//! Searching the directory: the ORUK filters and the worker's "open on" question, over an in-memory
//! [`Index`].
//!
//! A directory of 10,000 services is a few megabytes, so the web layer keeps one [`Index`] per
//! published revision and answers every search from memory. This keeps the filter logic pure,
//! identical on SQLite and PostgreSQL (which differ in text matching and trigonometry), and fast.
//!
//! Filter semantics follow the ORUK OpenAPI document literally, with careweave's additions marked:
//!
//! - `search`: every word appears (case-insensitive) in the name, description, organisation,
//!   need categories or location;
//! - `taxonomy_term_id` / `taxonomy_id`: the service carries that term / a term of that taxonomy;
//! - `minimum_age`: the service's minimum age is at least the value; `maximum_age`: its maximum
//!   age is at most the value (a service without that bound does not match);
//! - `age` (careweave): a person of that age is within the service's range;
//! - `postcode`: the postcode's centroid lies within the service's area, where a service area has
//!   a boundary (services whose areas have none are kept); results come nearest first;
//! - `postcode` + `proximity`: as well, a physical location lies within that many metres of the
//!   postcode's centroid;
//! - `day`, `start_time`, `end_time`: a schedule falls on that weekday, opens at or after the
//!   start time and closes at or before the end time (all on the same schedule);
//! - `open_on` (careweave): open at some time on that date, or at `open_at` on that date;
//! - `modified_after`: last modified at or after the instant;
//! - `organization_id`: run by that organisation.
//!
//! Ids may be given readable (`debt-advice`) or as the UUIDs the ORUK API publishes.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc, Weekday};

use crate::geo::LatLon;
use crate::model::{Service, ServiceStatus};
use crate::schedule::TimeOfDay;
use crate::taxonomy::{
    readable_taxonomy_id, ACCESS_TAXONOMY_ID, DIRECT_REFERRAL_TERM_ID, NEEDS_TAXONOMY_ID,
};

/// A search: every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub text: Option<String>,
    pub taxonomy_term_id: Option<String>,
    pub taxonomy_id: Option<String>,
    pub organization_id: Option<String>,
    pub minimum_age: Option<u8>,
    pub maximum_age: Option<u8>,
    pub age: Option<u8>,
    pub near: Option<LatLon>,
    pub proximity_m: Option<f64>,
    /// ORUK `postcode`: the point must lie in the service's area, for services whose areas have
    /// a boundary (services without one are kept, as the standard filters only where one exists).
    pub in_area: Option<LatLon>,
    pub day: Option<Weekday>,
    pub start_time: Option<TimeOfDay>,
    pub end_time: Option<TimeOfDay>,
    pub open_on: Option<NaiveDate>,
    pub open_at: Option<TimeOfDay>,
    pub modified_after: Option<DateTime<Utc>>,
    /// Only services that are running (worker pages); the ORUK API lists every status.
    pub running_only: bool,
}

/// One result.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    pub service: &'a Service,
    /// Metres to the nearest location, when the query named a place and the service has one.
    pub distance_m: Option<f64>,
}

#[derive(Debug)]
struct Entry {
    service: Service,
    // Lower-cased words to match `search` against, built once per index.
    haystack: String,
}

/// The published directory, ready to search.
#[derive(Debug, Default)]
pub struct Index {
    entries: Vec<Entry>,
    by_id: HashMap<String, usize>,
}

impl Index {
    /// Builds the index; services are kept in name order, which is the order of unranked results.
    #[must_use]
    pub fn new(mut services: Vec<Service>) -> Arc<Self> {
        services.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        let entries: Vec<Entry> = services
            .into_iter()
            .map(|s| {
                let mut words = vec![
                    s.name.clone(),
                    s.description.clone(),
                    s.organization.name.clone(),
                ];
                words.extend(s.needs.iter().map(|n| n.name().to_owned()));
                words.extend(s.locations.iter().map(|l| l.location.one_line()));
                Entry {
                    haystack: words.join(" \u{1f} ").to_lowercase(),
                    service: s,
                }
            })
            .collect();
        // A service is found by its readable id (the pages' addresses) and by the UUID the ORUK
        // API publishes it under.
        let by_id = entries
            .iter()
            .enumerate()
            .flat_map(|(i, e)| [(e.service.id.to_string(), i), (e.service.id.uuid(), i)])
            .collect();
        Arc::new(Self { entries, by_id })
    }

    /// How many services the index holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every service, in name order.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.entries.iter().map(|e| &e.service)
    }

    /// One service by its readable id or its published UUID.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Service> {
        self.by_id
            .get(id)
            .or_else(|| self.by_id.get(&id.to_ascii_lowercase()))
            .map(|&i| &self.entries[i].service)
    }

    /// The services matching `q`: nearest first when the query names a place, else by name.
    #[must_use]
    pub fn search(&self, q: &Query) -> Vec<Hit<'_>> {
        // ORUK clients name terms and taxonomies by the UUIDs the API publishes; the pages by
        // their readable ids. Both are read as the readable id once, before matching.
        let q = &Query {
            taxonomy_term_id: q.taxonomy_term_id.as_deref().map(readable_taxonomy_id),
            taxonomy_id: q.taxonomy_id.as_deref().map(readable_taxonomy_id),
            ..q.clone()
        };
        let words: Vec<String> = q
            .text
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let mut hits: Vec<Hit<'_>> = self
            .entries
            .iter()
            .filter(|e| words.iter().all(|w| e.haystack.contains(w.as_str())))
            .filter_map(|e| {
                let s = &e.service;
                if !matches_fields(s, q) {
                    return None;
                }
                let distance_m = q.near.and_then(|p| s.distance_from(p));
                if let Some(limit) = q.proximity_m {
                    if !distance_m.is_some_and(|d| d <= limit) {
                        return None;
                    }
                }
                Some(Hit {
                    service: s,
                    distance_m,
                })
            })
            .collect();
        if q.near.is_some() {
            // Services without a place (online, phone) come after every located one.
            hits.sort_by(|a, b| match (a.distance_m, b.distance_m) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            });
        }
        hits
    }
}

fn matches_fields(s: &Service, q: &Query) -> bool {
    if q.running_only && s.status != ServiceStatus::Active {
        return false;
    }
    if let Some(term) = &q.taxonomy_term_id {
        let has = s.needs.iter().any(|n| n.id() == term)
            || (term == DIRECT_REFERRAL_TERM_ID && s.accepts_referrals);
        if !has {
            return false;
        }
    }
    if let Some(tax) = &q.taxonomy_id {
        let has = (tax == NEEDS_TAXONOMY_ID && !s.needs.is_empty())
            || (tax == ACCESS_TAXONOMY_ID && s.accepts_referrals);
        if !has {
            return false;
        }
    }
    if let Some(at) = q.in_area {
        if s.covers(at) == Some(false) {
            return false;
        }
    }
    if let Some(org) = &q.organization_id {
        if !s.organization.id.is_named_by(org) {
            return false;
        }
    }
    if let Some(min) = q.minimum_age {
        if s.minimum_age.is_none_or(|m| m < min) {
            return false;
        }
    }
    if let Some(max) = q.maximum_age {
        if s.maximum_age.is_none_or(|m| m > max) {
            return false;
        }
    }
    if let Some(age) = q.age {
        if !s.serves_age(age) {
            return false;
        }
    }
    if let Some(after) = q.modified_after {
        if s.last_modified < after {
            return false;
        }
    }
    if q.day.is_some() || q.start_time.is_some() || q.end_time.is_some() {
        let any = s.schedules.iter().any(|sch| {
            q.day.is_none_or(|d| sch.weekdays().contains(&d))
                && q.start_time
                    .is_none_or(|t| sch.hours.is_some_and(|h| h.opens >= t))
                && q.end_time
                    .is_none_or(|t| sch.hours.is_some_and(|h| h.closes <= t))
        });
        if !any {
            return false;
        }
    }
    if let Some(date) = q.open_on {
        let any = s.schedules.iter().any(|sch| match q.open_at {
            Some(t) => sch.is_open_at(date, t),
            None => sch.runs_on(date),
        });
        if !any {
            return false;
        }
    }
    true
}
