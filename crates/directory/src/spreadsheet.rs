//! The directory as one spreadsheet: the way most local directories are actually kept.
//!
//! One row per service, with a header row naming the columns below (in any order; unknown columns
//! are refused so that a misspelt column is not silently ignored). A service offered at several
//! places takes one row per place, on consecutive lines with the same `id`: the first row's service
//! columns count and the later rows add a location.
//!
//! | column | meaning |
//! | --- | --- |
//! | `id` | the service's stable id (required); re-importing the same id updates the entry |
//! | `organization_id`, `organization_name` | who runs it (both required) |
//! | `name`, `description` | the service (name required) |
//! | `status` | `active` (default), `inactive`, `defunct` or `temporarily closed` |
//! | `needs` | need categories, `;`-separated ids from `taxonomy/needs.csv` (`debt-advice; food`) |
//! | `accepts_referrals` | `yes` when the provider takes direct referrals, else `no` or empty |
//! | `minimum_age`, `maximum_age` | whole years, either may be empty |
//! | `eligibility_description`, `fees` | in words |
//! | `url`, `email`, `phone` | how to get in touch |
//! | `languages` | `;`-separated names |
//! | `service_area` | the area covered, in words |
//! | `location_type` | `physical` (default when a postcode or coordinates are given) or `virtual` |
//! | `location_id`, `location_name`, `address_1`, `city`, `postcode` | the place; the postcode must be in the postcode table |
//! | `latitude`, `longitude` | optional; taken from the postcode table when empty |
//! | `accessibility` | `;`-separated notes (step-free access; hearing loop) |
//! | `opening_times` | `MO,WE 09:30-16:00; FR 10:00-12:00`; `1MO` is the first Monday of the month, `-1FR` the last Friday |
//! | `assured_date`, `assurer_email` | when the entry was last checked, and by whom |
//! | `last_modified` | RFC 3339; the import time when empty |
//!
//! Rows are turned into ORUK service objects and checked by the same code as a JSON feed, so the
//! two formats accept exactly the same services; diagnostics name the spreadsheet's column.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::geo::PostcodeTable;
use crate::import::{Diagnostic, ImportReport, RecordRef};
use crate::model::{LocationKind, RecordId, Service};
use crate::oruk::{
    schedule_json, service_from_json, AccessibilityJson, AddressJson, AttributeJson, ContactJson,
    LanguageJson, LocationJson, OrganizationJson, PhoneJson, ServiceAreaJson,
    ServiceAtLocationJson, ServiceJson,
};
use crate::schedule::{parse_compact, to_compact};
use crate::taxonomy::DIRECT_REFERRAL_TERM_ID;

/// The columns, in the order the export writes them.
pub const COLUMNS: &[&str] = &[
    "id",
    "organization_id",
    "organization_name",
    "name",
    "description",
    "status",
    "needs",
    "accepts_referrals",
    "minimum_age",
    "maximum_age",
    "eligibility_description",
    "fees",
    "url",
    "email",
    "phone",
    "languages",
    "service_area",
    "location_type",
    "location_id",
    "location_name",
    "address_1",
    "city",
    "postcode",
    "latitude",
    "longitude",
    "accessibility",
    "opening_times",
    "assured_date",
    "assurer_email",
    "last_modified",
];

/// One row of the spreadsheet, every cell as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SheetRow {
    pub id: String,
    pub organization_id: String,
    pub organization_name: String,
    pub name: String,
    pub description: String,
    pub status: String,
    pub needs: String,
    pub accepts_referrals: String,
    pub minimum_age: String,
    pub maximum_age: String,
    pub eligibility_description: String,
    pub fees: String,
    pub url: String,
    pub email: String,
    pub phone: String,
    pub languages: String,
    pub service_area: String,
    pub location_type: String,
    pub location_id: String,
    pub location_name: String,
    pub address_1: String,
    pub city: String,
    pub postcode: String,
    pub latitude: String,
    pub longitude: String,
    pub accessibility: String,
    pub opening_times: String,
    pub assured_date: String,
    pub assurer_email: String,
    pub last_modified: String,
}

impl SheetRow {
    /// The cells in the order of [`COLUMNS`].
    fn cells(&self) -> [&str; 30] {
        [
            &self.id,
            &self.organization_id,
            &self.organization_name,
            &self.name,
            &self.description,
            &self.status,
            &self.needs,
            &self.accepts_referrals,
            &self.minimum_age,
            &self.maximum_age,
            &self.eligibility_description,
            &self.fees,
            &self.url,
            &self.email,
            &self.phone,
            &self.languages,
            &self.service_area,
            &self.location_type,
            &self.location_id,
            &self.location_name,
            &self.address_1,
            &self.city,
            &self.postcode,
            &self.latitude,
            &self.longitude,
            &self.accessibility,
            &self.opening_times,
            &self.assured_date,
            &self.assurer_email,
            &self.last_modified,
        ]
    }

    /// Every cell, to undo the formula defusing the export applied (see `careweave_csv`).
    fn cells_mut(&mut self) -> [&mut String; 30] {
        [
            &mut self.id,
            &mut self.organization_id,
            &mut self.organization_name,
            &mut self.name,
            &mut self.description,
            &mut self.status,
            &mut self.needs,
            &mut self.accepts_referrals,
            &mut self.minimum_age,
            &mut self.maximum_age,
            &mut self.eligibility_description,
            &mut self.fees,
            &mut self.url,
            &mut self.email,
            &mut self.phone,
            &mut self.languages,
            &mut self.service_area,
            &mut self.location_type,
            &mut self.location_id,
            &mut self.location_name,
            &mut self.address_1,
            &mut self.city,
            &mut self.postcode,
            &mut self.latitude,
            &mut self.longitude,
            &mut self.accessibility,
            &mut self.opening_times,
            &mut self.assured_date,
            &mut self.assurer_email,
            &mut self.last_modified,
        ]
    }

    /// The row as it was before the export defused cells a spreadsheet would run as formulas.
    fn undefused(mut self) -> Self {
        for c in self.cells_mut() {
            let plain = careweave_csv::undefuse(c);
            if plain.len() != c.len() {
                *c = plain.to_owned();
            }
        }
        self
    }
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split(';').map(str::trim).filter(|t| !t.is_empty())
}

fn number(s: &str) -> Option<Value> {
    opt(s).map(Value::String)
}

/// The ORUK field name a diagnostic uses, as the spreadsheet column a person can find.
fn column_for(field: &str) -> &str {
    match field {
        "organization.id" => "organization_id",
        "organization.name" => "organization_name",
        "attributes" | "attributes.taxonomy_term" => "needs",
        "location.addresses.postal_code" => "postcode",
        "location.latitude" | "location" => "latitude",
        "location.longitude" => "longitude",
        "location.location_type" => "location_type",
        "location.id" => "location_id",
        "phones.number" => "phone",
        f if f.starts_with("schedules") => "opening_times",
        f => f,
    }
}

fn location_of(row: &SheetRow, service: &RecordId, n: usize) -> Option<ServiceAtLocationJson> {
    let has_place = [
        &row.location_id,
        &row.location_name,
        &row.address_1,
        &row.postcode,
        &row.latitude,
        &row.location_type,
    ]
    .iter()
    .any(|c| !c.trim().is_empty());
    if !has_place {
        return None;
    }
    let location_id = opt(&row.location_id)
        .unwrap_or_else(|| service.child(&format!("location-{n}")).to_string());
    let virtual_place = row.location_type.trim().eq_ignore_ascii_case("virtual");
    let loc_rid: Option<RecordId> = location_id.parse().ok();
    let child = |suffix: &str| loc_rid.as_ref().map(|l| l.child(suffix).to_string());
    let addresses = if virtual_place || row.postcode.trim().is_empty() {
        Vec::new()
    } else {
        vec![AddressJson {
            id: child("address"),
            address_1: opt(&row.address_1),
            city: opt(&row.city),
            state_province: None,
            postal_code: opt(&row.postcode),
            country: None,
            address_type: None,
        }]
    };
    Some(ServiceAtLocationJson {
        id: Some(service.child(&format!("at-{n}")).to_string()),
        service_id: None,
        location_id: None,
        location: Some(LocationJson {
            id: Some(location_id),
            location_type: Some(opt(&row.location_type).unwrap_or_else(|| "physical".to_owned())),
            name: opt(&row.location_name),
            description: None,
            latitude: number(&row.latitude),
            longitude: number(&row.longitude),
            addresses,
            accessibility: list(&row.accessibility)
                .enumerate()
                .map(|(k, a)| AccessibilityJson {
                    id: child(&format!("access-{}", k + 1)),
                    description: Some(a.to_owned()),
                })
                .collect(),
        }),
        service: None,
    })
}

/// Turns one service's rows into an ORUK object, plus the problems only the spreadsheet can have.
fn service_of(rows: &[(usize, SheetRow)]) -> (ServiceJson, Vec<(String, String)>) {
    let (_, first) = &rows[0];
    let mut problems = Vec::new();
    let id: RecordId = first.id.parse().unwrap_or_else(|_| RecordId::placeholder());
    let schedules = match parse_compact(&id, &first.opening_times) {
        Ok(s) => s.iter().map(schedule_json).collect(),
        Err(e) => {
            problems.push((
                "opening_times".to_owned(),
                format!("'{}': {e}", first.opening_times.trim()),
            ));
            Vec::new()
        }
    };
    let mut attributes: Vec<AttributeJson> = list(&first.needs)
        .map(|n| AttributeJson {
            id: Some(id.child(n).to_string()),
            taxonomy_term_id: Some(n.to_owned()),
            ..AttributeJson::default()
        })
        .collect();
    match first.accepts_referrals.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => attributes.push(AttributeJson {
            id: Some(id.child(DIRECT_REFERRAL_TERM_ID).to_string()),
            taxonomy_term_id: Some(DIRECT_REFERRAL_TERM_ID.to_owned()),
            ..AttributeJson::default()
        }),
        "" | "no" | "n" | "false" => {}
        other => problems.push((
            "accepts_referrals".to_owned(),
            format!("'{other}' must be yes or no"),
        )),
    }
    let contact = id.child("contact-1");
    let json = ServiceJson {
        id: opt(&first.id),
        organization_id: None,
        name: opt(&first.name),
        description: opt(&first.description),
        url: opt(&first.url),
        email: opt(&first.email),
        status: opt(&first.status),
        fees: opt(&first.fees),
        alert: None,
        minimum_age: number(&first.minimum_age),
        maximum_age: number(&first.maximum_age),
        eligibility_description: opt(&first.eligibility_description),
        assured_date: opt(&first.assured_date),
        assurer_email: opt(&first.assurer_email),
        last_modified: opt(&first.last_modified),
        organization: Some(OrganizationJson {
            id: opt(&first.organization_id),
            name: opt(&first.organization_name),
            description: None,
            email: None,
            website: None,
        }),
        schedules: Some(schedules),
        service_areas: Some(
            opt(&first.service_area)
                .map(|name| ServiceAreaJson {
                    id: Some(id.child("area-1").to_string()),
                    name: Some(name),
                    ..ServiceAreaJson::default()
                })
                .into_iter()
                .collect(),
        ),
        service_at_locations: Some(
            rows.iter()
                .enumerate()
                .filter_map(|(n, (_, row))| location_of(row, &id, n + 1))
                .collect(),
        ),
        languages: Some(
            list(&first.languages)
                .enumerate()
                .map(|(i, name)| LanguageJson {
                    id: Some(id.child(&format!("language-{}", i + 1)).to_string()),
                    name: Some(name.to_owned()),
                })
                .collect(),
        ),
        cost_options: Some(Vec::new()),
        contacts: Some(
            opt(&first.phone)
                .map(|number| ContactJson {
                    id: Some(contact.to_string()),
                    name: None,
                    title: None,
                    phones: vec![PhoneJson {
                        id: Some(contact.child("phone-1").to_string()),
                        number: Some(number),
                        description: None,
                    }],
                })
                .into_iter()
                .collect(),
        ),
        attributes: Some(attributes),
    };
    (json, problems)
}

/// Reads the spreadsheet. A file without the `id` column, or that is not CSV, yields one
/// file-level diagnostic; otherwise each service is accepted or reported on its own.
#[must_use]
pub fn parse_csv(
    text: &str,
    postcodes: Option<&PostcodeTable>,
    now: DateTime<Utc>,
) -> ImportReport {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return ImportReport::unreadable(format!("the file is not readable CSV: {e}")),
    };
    if !headers.iter().any(|h| h == "id") {
        return ImportReport::unreadable(
            "the first line must name the columns, including 'id' (see the directory's spreadsheet layout)"
                .to_owned(),
        );
    }
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(h)) {
        return ImportReport::unreadable(format!(
            "unknown column '{unknown}': the columns are {}",
            COLUMNS.join(", ")
        ));
    }
    // Group consecutive rows with the same id; keep unreadable rows as their own failures.
    let mut groups: Vec<Result<Vec<(usize, SheetRow)>, Diagnostic>> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let row = record.map_err(|e| e.to_string()).and_then(|r| {
            r.deserialize::<SheetRow>(Some(&headers))
                .map(SheetRow::undefused)
                .map_err(|e| e.to_string())
        });
        match row {
            Err(reason) => groups.push(Err(Diagnostic {
                record: RecordRef::Line(line),
                id: None,
                field: "row".to_owned(),
                reason: format!("the row cannot be read: {reason}"),
            })),
            Ok(row) => {
                let same = matches!(groups.last(), Some(Ok(g)) if !row.id.trim().is_empty() && g[0].1.id.trim() == row.id.trim());
                match groups.last_mut() {
                    Some(Ok(g)) if same => g.push((line, row)),
                    _ => groups.push(Ok(vec![(line, row)])),
                }
            }
        }
    }
    let mut report = ImportReport::default();
    for group in groups {
        let (at, outcome) = match group {
            Err(d) => (d.record, Err(vec![d])),
            Ok(rows) => {
                let at = RecordRef::Line(rows[0].0);
                let (json, sheet_problems) = service_of(&rows);
                let checked = service_from_json(&json, at, postcodes, now);
                let id = opt(&rows[0].1.id);
                let mut diagnostics: Vec<Diagnostic> = sheet_problems
                    .into_iter()
                    .map(|(field, reason)| Diagnostic {
                        record: at,
                        id: id.clone(),
                        field,
                        reason,
                    })
                    .collect();
                let outcome = match checked {
                    Ok(s) if diagnostics.is_empty() => Ok(s),
                    Ok(_) => Err(diagnostics),
                    Err(found) => {
                        diagnostics.extend(found.into_iter().map(|d| Diagnostic {
                            field: column_for(&d.field).to_owned(),
                            ..d
                        }));
                        Err(diagnostics)
                    }
                };
                (at, outcome)
            }
        };
        report.push(at, outcome);
    }
    report.refuse_duplicate_ids();
    report
}

/// The rows of one service, and what of it the spreadsheet cannot hold.
#[must_use]
pub fn rows_of(s: &Service) -> (Vec<SheetRow>, Vec<String>) {
    let mut losses = Vec::new();
    let opening_times = to_compact(&s.schedules).unwrap_or_else(|| {
        losses.push(
            "opening times that are fortnightly, time-limited or described in words".to_owned(),
        );
        String::new()
    });
    if s.contacts.len() > 1 || s.contacts.iter().map(|c| c.phones.len()).sum::<usize>() > 1 {
        losses.push("phone numbers after the first".to_owned());
    }
    if s.contacts
        .iter()
        .any(|c| c.name.is_some() || c.title.is_some())
    {
        losses.push("contact names".to_owned());
    }
    if !s.cost_options.is_empty() {
        losses.push("cost options (only the fees text is kept)".to_owned());
    }
    if s.service_areas.len() > 1 {
        losses.push("service areas after the first".to_owned());
    }
    if s.service_areas.iter().any(|a| a.extent.is_some()) {
        losses.push("service area boundaries".to_owned());
    }
    if s.alert.is_some()
        || s.organization.email.is_some()
        || s.organization.website.is_some()
        || !s.organization.description.is_empty()
    {
        losses.push("the alert and the organisation's description and contact details".to_owned());
    }
    let service_row = SheetRow {
        id: s.id.to_string(),
        organization_id: s.organization.id.to_string(),
        organization_name: s.organization.name.clone(),
        name: s.name.clone(),
        description: s.description.clone(),
        status: s.status.code().to_owned(),
        needs: s
            .needs
            .iter()
            .map(|n| n.id())
            .collect::<Vec<_>>()
            .join("; "),
        accepts_referrals: if s.accepts_referrals { "yes" } else { "no" }.to_owned(),
        minimum_age: s.minimum_age.map(|a| a.to_string()).unwrap_or_default(),
        maximum_age: s.maximum_age.map(|a| a.to_string()).unwrap_or_default(),
        eligibility_description: s.eligibility_description.clone().unwrap_or_default(),
        fees: s.fees.clone().unwrap_or_default(),
        url: s.url.clone().unwrap_or_default(),
        email: s.email.clone().unwrap_or_default(),
        phone: s.phone().unwrap_or_default().to_owned(),
        languages: s
            .languages
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        service_area: s
            .service_areas
            .first()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        opening_times,
        assured_date: s
            .last_reviewed
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        assurer_email: s.reviewer_email.clone().unwrap_or_default(),
        last_modified: s
            .last_modified
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ..SheetRow::default()
    };
    if s.locations.is_empty() {
        return (vec![service_row], losses);
    }
    let rows = s
        .locations
        .iter()
        .map(|sal| {
            let l = &sal.location;
            let mut row = service_row.clone();
            row.location_id = l.id.to_string();
            row.location_name = l.name.clone().unwrap_or_default();
            row.accessibility = l
                .accessibility
                .iter()
                .map(|a| a.description.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            match &l.kind {
                LocationKind::Physical { address, at } => {
                    row.location_type = "physical".to_owned();
                    if let Some(a) = address {
                        row.address_1 = a.address_1.clone();
                        row.city = a.city.clone();
                        row.postcode = a.postcode.to_string();
                    }
                    row.latitude = format!("{:.6}", at.lat());
                    row.longitude = format!("{:.6}", at.lon());
                }
                LocationKind::Virtual => row.location_type = "virtual".to_owned(),
            }
            if l.description.is_some() {
                losses.push("location descriptions".to_owned());
            }
            row
        })
        .collect();
    (rows, losses)
}

/// The spreadsheet holding `rows` under the header, through careweave's one CSV writer.
pub(crate) fn sheet_text(rows: &[SheetRow]) -> String {
    let mut w = careweave_csv::Writer::with_header(COLUMNS);
    for r in rows {
        w.record(r.cells());
    }
    w.finish()
}

/// Writes services as the spreadsheet through careweave's one CSV writer (RFC 4180, formula cells
/// defused; the import undoes the defusing), with a diagnostic for each service that lost
/// something the layout cannot hold (export as JSON to keep everything).
#[must_use]
pub fn export_csv(services: &[Service]) -> (String, Vec<Diagnostic>) {
    // The header is written even when there are no services.
    let mut w = careweave_csv::Writer::with_header(COLUMNS);
    let mut notes = Vec::new();
    let mut line = 2;
    for s in services {
        let (rows, mut losses) = rows_of(s);
        losses.dedup();
        for loss in losses {
            notes.push(Diagnostic {
                record: RecordRef::Line(line),
                id: Some(s.id.to_string()),
                field: "export".to_owned(),
                reason: format!("the spreadsheet cannot hold {loss}"),
            });
        }
        line += rows.len();
        for r in &rows {
            w.record(r.cells());
        }
    }
    (w.finish(), notes)
}
