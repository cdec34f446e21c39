//! careweave's community services directory, on Open Referral UK (HSDS UK profile, version 3).
//!
//! The main types:
//!
//! - [`Service`] (with its [`Organization`], [`ServiceAtLocation`]s and [`Schedule`]s) is one entry
//!   of the directory, parsed and valid; [`RecordId`] is its stable id, so that a re-import updates.
//! - [`Need`] is a need category from the compiled-in taxonomy (`taxonomy/needs.csv`).
//! - [`Schedule`] answers "is it open on day D at time T"; [`LatLon`] and [`PostcodeTable`] answer
//!   "how far is it from this postcode", from a postcode CSV in the ONS Postcode Directory layout.
//! - [`oruk`] reads and writes ORUK JSON; [`spreadsheet`] reads and writes the one-sheet CSV layout
//!   most directories are kept in. Both return an [`ImportReport`]: the accepted services and a
//!   [`Diagnostic`] (record, field, reason) for every refused one, with `read = accepted + rejected`.
//! - [`search::Index`] answers the ORUK filters from memory.
//! - [`demo::generate`] writes a believable directory for the demo neighbourhood from a seed.
//!
//! This crate reads and writes text; it does no database or network IO. The store persists the
//! directory and the web crate serves it.

pub mod demo;
pub mod geo;
pub mod import;
pub mod model;
pub mod oruk;
pub mod schedule;
pub mod search;
pub mod spreadsheet;
pub mod taxonomy;

pub use geo::{Extent, LatLon, PostcodeTable};
pub use import::{Diagnostic, ImportReport, RecordRef};
pub use model::{
    Location, LocationKind, Organization, RecordId, Service, ServiceAtLocation, ServiceStatus,
};
pub use schedule::{Schedule, TimeOfDay};
pub use taxonomy::Need;

/// Which file format an import or export uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An ORUK JSON feed: an array of fully nested services, or an ORUK page object.
    Json,
    /// The one-sheet CSV layout described in [`spreadsheet`].
    Csv,
}

/// Reads a file in `format`, checking postcodes against `postcodes`.
#[must_use]
pub fn parse(
    format: Format,
    text: &str,
    postcodes: &PostcodeTable,
    now: chrono::DateTime<chrono::Utc>,
) -> ImportReport {
    match format {
        Format::Json => oruk::parse_feed(text, Some(postcodes), now),
        Format::Csv => spreadsheet::parse_csv(text, Some(postcodes), now),
    }
}

/// The postcodes a file mentions, so the caller can fetch just those rows of a large table.
/// Unreadable files and postcodes yield nothing here; [`parse`] reports them.
#[must_use]
pub fn postcodes_in(format: Format, text: &str) -> Vec<careweave_domain::Postcode> {
    let mut raw: Vec<String> = Vec::new();
    match format {
        Format::Json => {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
                collect_postal_codes(&value, &mut raw);
            }
        }
        Format::Csv => {
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let column = reader
                .headers()
                .ok()
                .and_then(|h| h.iter().position(|c| c.trim() == "postcode"));
            if let Some(column) = column {
                raw.extend(
                    reader
                        .records()
                        .filter_map(Result::ok)
                        .filter_map(|r| r.get(column).map(str::to_owned)),
                );
            }
        }
    }
    let mut out: Vec<careweave_domain::Postcode> =
        raw.iter().filter_map(|p| p.parse().ok()).collect();
    out.sort();
    out.dedup();
    out
}

fn collect_postal_codes(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("postal_code", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => collect_postal_codes(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                collect_postal_codes(v, out);
            }
        }
        _ => {}
    }
}
