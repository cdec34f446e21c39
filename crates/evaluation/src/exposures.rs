//! Who was supported, and when: the exposure table.
//!
//! One row per support episode, keyed by NHS number: `nhs_number, service, referral_date,
//! first_contact_date, discharge_date, contacts`. It comes from a CSV a deployment supplies (another
//! team's records) or from the casework store (`careweave evaluation export-exposures` writes the
//! same layout). Every row is checked; a bad row is reported with its line and field and never used,
//! so that rows read = accepted + rejected.

use std::collections::HashSet;
use std::path::Path;

use careweave_domain::NhsNumber;
use chrono::NaiveDate;

use crate::EvaluationError;

/// The columns of an exposure file, in order.
pub const COLUMNS: [&str; 6] = [
    "nhs_number",
    "service",
    "referral_date",
    "first_contact_date",
    "discharge_date",
    "contacts",
];

/// One support episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub nhs_number: NhsNumber,
    pub service: String,
    pub referral: NaiveDate,
    pub first_contact: Option<NaiveDate>,
    pub discharge: Option<NaiveDate>,
    pub contacts: Option<u32>,
    /// The line of the file it came from (1 is the header), for reports back to the supplier.
    pub line: u64,
}

/// A rejected row: where, which field and why. The value is left out when it is an NHS number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: u64,
    pub field: &'static str,
    pub problem: String,
}

/// The checked exposure table with its reconciliation.
#[derive(Debug, Clone, Default)]
pub struct ExposureTable {
    pub episodes: Vec<Exposure>,
    pub read: u64,
    pub rejected: u64,
    pub diagnostics: Vec<Diagnostic>,
}

impl ExposureTable {
    /// Rows accepted.
    #[must_use]
    pub fn accepted(&self) -> u64 {
        self.episodes.len() as u64
    }
}

/// Reads and checks an exposure CSV file.
///
/// # Errors
/// The file cannot be read, or its header lacks a required column. Bad rows are diagnostics.
pub fn read_csv(path: &Path) -> Result<ExposureTable, EvaluationError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvaluationError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_csv(&text).map_err(|why| EvaluationError::Exposures(format!("{}: {why}", path.display())))
}

/// Checks exposure rows given as CSV text (header first).
///
/// # Errors
/// The text is not CSV or the header lacks `nhs_number` or `referral_date`.
pub fn parse_csv(text: &str) -> Result<ExposureTable, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let index = |name: &str| header.iter().position(|h| h == name);
    let (Some(nhs), Some(referral)) = (index("nhs_number"), index("referral_date")) else {
        return Err("the header must name the columns nhs_number and referral_date".to_owned());
    };
    let service = index("service");
    let first = index("first_contact_date");
    let discharge = index("discharge_date");
    let contacts = index("contacts");

    let mut table = ExposureTable::default();
    let mut seen = HashSet::new();
    for (k, record) in reader.records().enumerate() {
        // The header is line 1; quoted cells never span lines in the layouts we accept.
        let line = k as u64 + 2;
        table.read += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                table.reject(line, "row", e.to_string());
                continue;
            }
        };
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(|c| careweave_csv::undefuse(c.trim()))
                .filter(|c| !c.is_empty())
        };
        match check_row(
            line,
            cell(Some(nhs)),
            cell(service),
            cell(Some(referral)),
            cell(first),
            cell(discharge),
            cell(contacts),
        ) {
            Ok(e) => {
                if seen.insert((e.nhs_number, e.service.clone(), e.referral)) {
                    table.episodes.push(e);
                } else {
                    table.reject(
                        line,
                        "referral_date",
                        "the same person, service and referral date as an earlier row".to_owned(),
                    );
                }
            }
            Err((field, problem)) => table.reject(line, field, problem),
        }
    }
    Ok(table)
}

impl ExposureTable {
    fn reject(&mut self, line: u64, field: &'static str, problem: String) {
        self.rejected += 1;
        self.diagnostics.push(Diagnostic {
            line,
            field,
            problem,
        });
    }
}

type Problem = (&'static str, String);

fn date(field: &'static str, text: Option<&str>) -> Result<Option<NaiveDate>, Problem> {
    text.map(|t| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| (field, format!("{t:?} is not a date in the form 2024-03-31")))
    })
    .transpose()
}

fn check_row(
    line: u64,
    nhs: Option<&str>,
    service: Option<&str>,
    referral: Option<&str>,
    first: Option<&str>,
    discharge: Option<&str>,
    contacts: Option<&str>,
) -> Result<Exposure, Problem> {
    let nhs_number: NhsNumber = nhs
        .ok_or(("nhs_number", "is empty".to_owned()))?
        .parse()
        .map_err(|e: careweave_domain::NhsNumberError| ("nhs_number", e.to_string()))?;
    let referral =
        date("referral_date", referral)?.ok_or(("referral_date", "is empty".to_owned()))?;
    let first_contact = date("first_contact_date", first)?;
    let discharge = date("discharge_date", discharge)?;
    if first_contact.is_some_and(|f| f < referral) {
        return Err((
            "first_contact_date",
            "is before the referral date".to_owned(),
        ));
    }
    if discharge.is_some_and(|d| d < referral) {
        return Err(("discharge_date", "is before the referral date".to_owned()));
    }
    let contacts = contacts
        .map(|c| {
            c.parse::<u32>().map_err(|_| {
                (
                    "contacts",
                    format!("{c:?} is not a whole number of 0 or more"),
                )
            })
        })
        .transpose()?;
    Ok(Exposure {
        nhs_number,
        service: service.unwrap_or("unnamed service").to_owned(),
        referral,
        first_contact,
        discharge,
        contacts,
        line,
    })
}

/// Writes episodes in the exposure layout through the one CSV writer (for `export-exposures`).
#[must_use]
pub fn to_csv(episodes: &[Exposure]) -> String {
    let mut w = careweave_csv::Writer::with_header(COLUMNS);
    let opt = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    for e in episodes {
        w.record([
            e.nhs_number.as_digits(),
            e.service.clone(),
            e.referral.to_string(),
            opt(e.first_contact),
            opt(e.discharge),
            e.contacts.map(|c| c.to_string()).unwrap_or_default(),
        ]);
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_reported_with_line_and_field_and_counts_reconcile() {
        let text =
            "nhs_number,service,referral_date,first_contact_date,discharge_date,contacts\r\n\
            9434765919,link work,2023-05-02,2023-05-09,2023-08-01,6\r\n\
            9434765918,link work,2023-05-02,,,\r\n\
            9434765919,link work,2023-13-01,,,\r\n\
            9434765919,link work,2023-06-01,2023-05-01,,\r\n\
            9434765919,link work,2023-06-01,,,many\r\n\
            9434765919,link work,2023-05-02,,,\r\n\
            9434765919,,2023-07-02,,,\r\n";
        let t = parse_csv(text).unwrap();
        assert_eq!(t.read, 7);
        assert_eq!(t.accepted() + t.rejected, t.read);
        assert_eq!(t.accepted(), 2);
        let got: Vec<(u64, &str)> = t.diagnostics.iter().map(|d| (d.line, d.field)).collect();
        assert_eq!(
            got,
            vec![
                (3, "nhs_number"),
                (4, "referral_date"),
                (5, "first_contact_date"),
                (6, "contacts"),
                (7, "referral_date"),
            ]
        );
        assert_eq!(t.episodes[1].service, "unnamed service");
        // What export-exposures writes reads back unchanged.
        let again = parse_csv(&to_csv(&t.episodes)).unwrap();
        assert_eq!(again.episodes.len(), 2);
        assert_eq!(again.episodes[0].referral, t.episodes[0].referral);
        assert_eq!(again.episodes[0].contacts, Some(6));
    }

    #[test]
    fn a_header_without_the_key_columns_is_refused() {
        assert!(parse_csv("nhs,date\r\n1,2\r\n").is_err());
    }
}
