//! The directory's model: Open Referral UK's objects as parsed, valid Rust values.
//!
//! Every value here has been checked once, at import ([`crate::oruk`] and [`crate::spreadsheet`]
//! build them and report what they refuse). None derives `Serialize`: the wire format lives in
//! [`crate::oruk`] and converts explicitly.

use std::fmt;
use std::str::FromStr;

use careweave_domain::Postcode;
use chrono::{DateTime, NaiveDate, Utc};

use crate::geo::LatLon;
use crate::schedule::Schedule;
use crate::taxonomy::Need;

/// A stable record id as Open Referral uses them (normally a UUID). Re-importing a record with the
/// same id updates it instead of adding a copy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(String);

/// Why a record id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an id must be 1 to 100 letters, digits, '-', '_', '.' or ':'")]
pub struct RecordIdError;

impl FromStr for RecordId {
    type Err = RecordIdError;
    fn from_str(s: &str) -> Result<Self, RecordIdError> {
        let t = s.trim();
        let ok = (1..=100).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err(RecordIdError)
        }
    }
}

impl RecordId {
    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The UUID this record is published under in the ORUK API (see [`oruk_uuid`]).
    #[must_use]
    pub fn uuid(&self) -> String {
        oruk_uuid(&self.0)
    }

    /// Whether `text` names this record, by its readable id or its published UUID.
    #[must_use]
    pub fn is_named_by(&self, text: &str) -> bool {
        self.0 == text || (text.len() == 36 && self.uuid().eq_ignore_ascii_case(text))
    }

    /// A placeholder for a record whose own id was refused; such records are never accepted.
    pub(crate) fn placeholder() -> RecordId {
        RecordId("unknown".to_owned())
    }

    /// A child id derived from this one, for nested objects a spreadsheet gives no id of their own.
    /// Derived ids are stable, so re-importing the same sheet yields the same nested ids.
    #[must_use]
    pub fn child(&self, suffix: &str) -> RecordId {
        let mut id = format!("{}-{suffix}", self.0);
        id.truncate(100);
        RecordId(id)
    }
}

/// The namespace of the version 5 UUIDs careweave derives for readable ids. It is fixed forever:
/// changing it would give every published record a new id and break every client's links.
const ORUK_ID_NAMESPACE: [u8; 16] = [
    0xef, 0xcc, 0x74, 0x61, 0xa4, 0x49, 0x49, 0xa6, 0x9c, 0x37, 0xe2, 0x7b, 0xc5, 0x72, 0xde, 0x37,
];

/// The UUID an id is published under in the ORUK API, which declares every id `format: uuid`.
///
/// An id that already is a UUID (as a feed from another ORUK system brings) is kept, written in
/// lower case; any other, such as careweave's readable `hillside-befriending`, becomes the version
/// 5 UUID of its text under a fixed namespace, so the same record always has the same UUID and
/// no table of issued ids is needed.
#[must_use]
pub fn oruk_uuid(id: &str) -> String {
    use sha1::{Digest, Sha1};
    if let Ok(u) = uuid::Uuid::try_parse(id.trim()) {
        return u.hyphenated().to_string();
    }
    let mut hash = Sha1::new();
    hash.update(ORUK_ID_NAMESPACE);
    hash.update(id.as_bytes());
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a service is running, as Open Referral words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceStatus {
    Active,
    Inactive,
    Defunct,
    TemporarilyClosed,
}

impl ServiceStatus {
    /// The ORUK code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Defunct => "defunct",
            Self::TemporarilyClosed => "temporarily closed",
        }
    }

    /// Parses the ORUK code, also accepting `temporarily_closed`.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().replace('_', " ").as_str() {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            "defunct" => Some(Self::Defunct),
            "temporarily closed" => Some(Self::TemporarilyClosed),
            _ => None,
        }
    }

    /// The words a worker reads.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Running",
            Self::Inactive => "Not running",
            Self::Defunct => "Closed for good",
            Self::TemporarilyClosed => "Temporarily closed",
        }
    }
}

/// An organisation that runs services.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: RecordId,
    pub name: String,
    pub description: String,
    pub email: Option<String>,
    pub website: Option<String>,
}

/// A phone number for a service.
#[derive(Debug, Clone, PartialEq)]
pub struct Phone {
    pub id: RecordId,
    pub number: String,
    pub description: Option<String>,
}

/// A named contact, with their phone numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: RecordId,
    pub name: Option<String>,
    pub title: Option<String>,
    pub phones: Vec<Phone>,
}

/// What a service costs for whom.
#[derive(Debug, Clone, PartialEq)]
pub struct CostOption {
    pub id: RecordId,
    pub option: Option<String>,
    /// Pounds; `None` when the option only describes the cost in words.
    pub amount: Option<f64>,
    pub amount_description: Option<String>,
}

/// A language a service is offered in.
#[derive(Debug, Clone, PartialEq)]
pub struct Language {
    pub id: RecordId,
    pub name: String,
}

/// An area a service covers (ORUK `service_area`): its description and, when the feed gives one
/// as GeoJSON, its boundary, which the ORUK `postcode` filter checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceArea {
    pub id: RecordId,
    pub name: String,
    pub extent: Option<crate::geo::Extent>,
}

/// A postal address of a physical location.
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub id: RecordId,
    pub address_1: String,
    pub city: String,
    pub postcode: Postcode,
}

/// Accessibility of a location (step-free access, hearing loop…).
#[derive(Debug, Clone, PartialEq)]
pub struct Accessibility {
    pub id: RecordId,
    pub description: String,
}

/// Where a service happens: a building, or online / by phone.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub id: RecordId,
    pub name: Option<String>,
    pub description: Option<String>,
    pub kind: LocationKind,
    pub accessibility: Vec<Accessibility>,
}

/// A physical place has coordinates (from the postcode table or the feed); a virtual one has none.
#[derive(Debug, Clone, PartialEq)]
pub enum LocationKind {
    Physical {
        address: Option<Address>,
        at: LatLon,
    },
    Virtual,
}

impl Location {
    /// The coordinates, for physical locations.
    #[must_use]
    pub fn coordinates(&self) -> Option<LatLon> {
        match &self.kind {
            LocationKind::Physical { at, .. } => Some(*at),
            LocationKind::Virtual => None,
        }
    }

    /// The postcode, where the address has one.
    #[must_use]
    pub fn postcode(&self) -> Option<&Postcode> {
        match &self.kind {
            LocationKind::Physical {
                address: Some(a), ..
            } => Some(&a.postcode),
            _ => None,
        }
    }

    /// One line for a list: name, street and postcode.
    #[must_use]
    pub fn one_line(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(n) = &self.name {
            parts.push(n.clone());
        }
        match &self.kind {
            LocationKind::Physical {
                address: Some(a), ..
            } => {
                parts.push(a.address_1.clone());
                parts.push(a.city.clone());
                parts.push(a.postcode.to_string());
            }
            LocationKind::Physical { address: None, .. } => {}
            LocationKind::Virtual => parts.push("Online or by phone".to_owned()),
        }
        parts.join(", ")
    }
}

/// A service delivered at a location (ORUK `service_at_location`), with its own stable id.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAtLocation {
    pub id: RecordId,
    pub location: Location,
}

/// One service in the directory, valid by construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: RecordId,
    pub organization: Organization,
    pub name: String,
    pub description: String,
    pub url: Option<String>,
    pub email: Option<String>,
    pub status: ServiceStatus,
    pub fees: Option<String>,
    pub alert: Option<String>,
    pub minimum_age: Option<u8>,
    pub maximum_age: Option<u8>,
    pub eligibility_description: Option<String>,
    /// When the entry was last checked as true (ORUK `assured_date`).
    pub last_reviewed: Option<NaiveDate>,
    /// Who checked it (ORUK `assurer_email`).
    pub reviewer_email: Option<String>,
    pub last_modified: DateTime<Utc>,
    pub needs: Vec<Need>,
    pub accepts_referrals: bool,
    pub schedules: Vec<Schedule>,
    pub service_areas: Vec<ServiceArea>,
    pub languages: Vec<Language>,
    pub cost_options: Vec<CostOption>,
    pub contacts: Vec<Contact>,
    pub locations: Vec<ServiceAtLocation>,
}

impl Service {
    /// The first phone number, for lists and summaries.
    #[must_use]
    pub fn phone(&self) -> Option<&str> {
        self.contacts
            .iter()
            .flat_map(|c| &c.phones)
            .map(|p| p.number.as_str())
            .next()
    }

    /// Whether a person of `age` is within the service's age range (absent bounds are open).
    #[must_use]
    pub fn serves_age(&self, age: u8) -> bool {
        self.minimum_age.is_none_or(|m| age >= m) && self.maximum_age.is_none_or(|m| age <= m)
    }

    /// The age range in words.
    #[must_use]
    pub fn ages_in_words(&self) -> String {
        match (self.minimum_age, self.maximum_age) {
            (None, None) => "All ages".to_owned(),
            (Some(min), None) => format!("{min} and over"),
            (None, Some(max)) => format!("Up to {max}"),
            (Some(min), Some(max)) => format!("{min} to {max}"),
        }
    }

    /// Whether the entry has gone unreviewed for longer than `stale_after_days` on `today`.
    /// An entry never reviewed is stale.
    #[must_use]
    pub fn is_stale(&self, today: NaiveDate, stale_after_days: i64) -> bool {
        self.last_reviewed
            .is_none_or(|d| (today - d).num_days() > stale_after_days)
    }

    /// Whether the service covers the point, as ORUK's `postcode` filter asks: inside one of its
    /// service areas' boundaries, or `None` when no service area has a boundary to check (the
    /// standard filters only "if `service_area` is available").
    #[must_use]
    pub fn covers(&self, at: LatLon) -> Option<bool> {
        let mut boundaries = self
            .service_areas
            .iter()
            .filter_map(|a| a.extent.as_ref())
            .peekable();
        boundaries.peek()?;
        Some(boundaries.any(|e| e.contains(at)))
    }

    /// The distance in metres from `from` to the nearest physical location, if it has one.
    #[must_use]
    pub fn distance_from(&self, from: LatLon) -> Option<f64> {
        self.locations
            .iter()
            .filter_map(|l| l.location.coordinates())
            .map(|at| from.metres_to(at))
            .min_by(f64::total_cmp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_checked_and_children_are_stable() {
        let id: RecordId = " svc-1 ".parse().unwrap();
        assert_eq!(id.as_str(), "svc-1");
        assert_eq!(id.child("loc").as_str(), "svc-1-loc");
        assert!("".parse::<RecordId>().is_err());
        assert!("has space".parse::<RecordId>().is_err());
        assert!("x".repeat(101).parse::<RecordId>().is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            ServiceStatus::Active,
            ServiceStatus::Inactive,
            ServiceStatus::Defunct,
            ServiceStatus::TemporarilyClosed,
        ] {
            assert_eq!(ServiceStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(
            ServiceStatus::from_code("temporarily_closed"),
            Some(ServiceStatus::TemporarilyClosed)
        );
        assert_eq!(ServiceStatus::from_code("open"), None);
    }
}
