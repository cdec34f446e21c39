//! FHIR R4 bulk data (NDJSON) as a third input format beside Parquet and CSV.
//!
//! A FHIR Bulk Data export is a folder of `*.ndjson` files, one resource type per file, one resource
//! per line. This module reads such a folder and turns the resources into the same raw text tables
//! that a CSV extract gives (`persons`, `conditions`, `admissions`, …; see
//! `docs/extract-schema.md`), each row carrying the line it came from, so that the ingest checks
//! every row with the same rules and reports a bad one with its file and line. Nothing here scores
//! or filters: a resource that cannot be placed in a table (malformed JSON, no subject, a subject
//! that is not in the export) is a diagnostic, and a resource the engine has no use for (a booked
//! appointment, a resource type it does not read) is counted in a warning.
//!
//! Where the tables need a value FHIR does not carry, it is looked up, never invented: a person's
//! LSOA comes from their postcode through the extract's `postcodes` table, and a person's number is
//! given in the order the `Patient` resources are read. The place tables (PCNs, practices, LSOAs,
//! postcodes) are reference data rather than records, so they are read from Parquet or CSV beside
//! the export as for the other formats.
//!
//! The mapping, resource by resource:
//!
//! | resource | table | how |
//! | --- | --- | --- |
//! | `Patient` | `persons` | NHS number identifier, `birthDate`, `gender`, UK Core ethnic category, `address.postalCode` → LSOA, `generalPractitioner` ODS code, `deceasedDateTime` |
//! | `Condition` (SNOMED CT) | `social_needs` when the code is in the `social_needs` codelist, else `conditions` | `onsetDateTime`, else `recordedDate` |
//! | `Observation` (SNOMED CT) | `frailty_deficits` (any coded observation: the engine uses its code and date) | `effectiveDateTime` |
//! | `Observation` (repeat medicines count) | `medication_counts` | `valueInteger` on `effectiveDateTime` |
//! | `Encounter` class `EMER` | `ae_attendances` | `period.start` |
//! | `Encounter` class `IMP` | `admissions`, `admission_diagnoses` | `period`, emergency when `type` says so, ICD-10 `reasonCode` in order (the first is primary) |
//! | `Encounter` class `HH` | `community_contacts` | `period.start` |
//! | `Encounter` class `AMB` | `mental_health_contacts` when its `type` names a mental health service, else `outpatients` (`cancelled` = not attended) | `period.start` |
//! | `Appointment` | `gp_appointments` | `fulfilled` = attended, `noshow` = did not attend; other statuses are not used |

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use serde::Deserialize;

use crate::PopulationError;

use careweave_domain::{DERIVED_COUNTS_SYSTEM as REPEAT_MEDICINES_SYSTEM, REPEAT_MEDICINES_CODE};

const SNOMED: &str = "http://snomed.info/sct";
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
const ETHNIC_CATEGORY: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory";

/// The mental health services whose contacts arrive as ambulatory encounters; the name is in the
/// encounter's `type` text (the values of `mental_health_contacts.service`).
const MENTAL_HEALTH_SERVICES: [&str; 5] = [
    "community_mental_health",
    "talking_therapies",
    "crisis",
    "substance_misuse",
    "memory_service",
];

/// One raw table built from the export: text columns in the order of the table's spec, and the
/// line of the file each row came from.
#[derive(Debug)]
pub struct RawTable {
    pub file: PathBuf,
    columns: &'static [&'static str],
    values: Vec<Vec<Option<String>>>,
    lines: Vec<i64>,
}

impl RawTable {
    fn new(file: PathBuf, columns: &'static [&'static str]) -> Self {
        Self {
            file,
            columns,
            values: vec![Vec::new(); columns.len()],
            lines: Vec::new(),
        }
    }

    fn push(&mut self, line: i64, row: Vec<Option<String>>) {
        debug_assert_eq!(row.len(), self.columns.len());
        for (col, v) in self.values.iter_mut().zip(row) {
            col.push(v);
        }
        self.lines.push(line);
    }

    /// The rows as an Arrow batch of text columns plus `__line`, the shape the ingest checks.
    ///
    /// # Errors
    /// Only if Arrow refuses the columns, which would be a bug.
    pub fn to_batch(&self) -> Result<RecordBatch, PopulationError> {
        let mut fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(*c, DataType::Utf8, true))
            .collect();
        fields.push(Field::new(LINE_COLUMN, DataType::Int64, false));
        let mut arrays: Vec<ArrayRef> = self
            .values
            .iter()
            .map(|v| Arc::new(StringArray::from(v.clone())) as ArrayRef)
            .collect();
        arrays.push(Arc::new(Int64Array::from(self.lines.clone())));
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }
}

/// The column of a raw table that holds the source line, which the ingest uses instead of counting
/// rows.
pub const LINE_COLUMN: &str = "__line";

/// A line of the export that could not be placed in any table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub file: PathBuf,
    pub line: i64,
    pub field: String,
    pub problem: String,
    pub value: String,
}

/// Lines read, placed and refused for one file of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCount {
    pub file: PathBuf,
    pub read: u64,
    /// Lines that became a row of a table (whose checks may still reject it).
    pub placed: u64,
    /// Lines the engine has no use for (a booked appointment), which are not errors.
    pub not_used: u64,
    /// Lines that could not be read or placed, each with a [`LineProblem`].
    pub refused: u64,
}

/// Everything read from an export.
#[derive(Debug)]
pub struct FhirExtract {
    /// Raw tables by table name (the names of [`crate::ingest::TABLES`]).
    pub tables: BTreeMap<&'static str, RawTable>,
    pub problems: Vec<LineProblem>,
    pub files: Vec<FileCount>,
    /// Why lines were not used, with counts, for the run's warnings.
    pub not_used: BTreeMap<String, u64>,
}

/// The folder of NDJSON files under `input`: `input/fhir` when it holds any, else `input` itself.
#[must_use]
pub fn export_folder(input: &Path) -> Option<PathBuf> {
    [input.join("fhir"), input.to_path_buf()]
        .into_iter()
        .find(|dir| !ndjson_files(dir).is_empty())
}

fn ndjson_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    files.sort();
    files
}

/// The columns of each raw table, as the ingest's table specs name them.
const PERSONS: &[&str] = &[
    "person_id",
    "nhs_number",
    "date_of_birth",
    "sex",
    "ethnic_category",
    "lsoa_code",
    "practice_ods_code",
    "date_of_death",
];
const CONDITIONS: &[&str] = &["person_id", "condition", "snomed_code", "onset_date"];
const SOCIAL_NEEDS: &[&str] = &["person_id", "need", "snomed_code", "recorded_date"];
const FRAILTY: &[&str] = &["person_id", "deficit", "snomed_code", "recorded_date"];
const MEDICATIONS: &[&str] = &["person_id", "period_end", "repeat_medications"];
const GP: &[&str] = &["person_id", "appointment_date", "attended"];
const AE: &[&str] = &["person_id", "attendance_date"];
const ADMISSIONS: &[&str] = &[
    "admission_id",
    "person_id",
    "admission_date",
    "discharge_date",
    "admission_method",
    "primary_diagnosis",
];
const DIAGNOSES: &[&str] = &["admission_id", "position", "icd10_code"];
const OUTPATIENTS: &[&str] = &["person_id", "appointment_date", "attended"];
const CONTACTS: &[&str] = &["person_id", "contact_date"];

/// The tables an export fills, with their columns.
const FHIR_TABLES: [(&str, &[&str]); 12] = [
    ("persons", PERSONS),
    ("conditions", CONDITIONS),
    ("social_needs", SOCIAL_NEEDS),
    ("frailty_deficits", FRAILTY),
    ("medication_counts", MEDICATIONS),
    ("gp_appointments", GP),
    ("ae_attendances", AE),
    ("admissions", ADMISSIONS),
    ("admission_diagnoses", DIAGNOSES),
    ("outpatients", OUTPATIENTS),
    ("community_contacts", CONTACTS),
    ("mental_health_contacts", CONTACTS),
];

/// Whether the export fills `table` (the person tables); the place tables come from elsewhere.
#[must_use]
pub fn fills(table: &str) -> bool {
    FHIR_TABLES.iter().any(|(t, _)| *t == table)
}

// The parts of each resource the engine reads. Unknown fields are ignored, as a reader of real
// exports must; borrowed strings keep parsing cheap.

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Coding {
    #[serde(default)]
    system: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    display: Option<String>,
}

#[derive(Deserialize, Default)]
struct Concept {
    #[serde(default)]
    coding: Vec<Coding>,
    #[serde(default)]
    text: Option<String>,
}

impl Concept {
    fn code_in(&self, system: &str) -> Option<&Coding> {
        self.coding
            .iter()
            .find(|c| c.system.as_deref() == Some(system) && c.code.is_some())
    }
}

#[derive(Deserialize, Default)]
struct Reference {
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    identifier: Option<Identifier>,
}

#[derive(Deserialize, Default)]
struct Identifier {
    #[serde(default)]
    system: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize, Default)]
struct Extension {
    #[serde(default)]
    url: String,
    #[serde(default, rename = "valueCodeableConcept")]
    value_concept: Option<Concept>,
}

#[derive(Deserialize, Default)]
struct Address {
    #[serde(default, rename = "postalCode")]
    postal_code: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Patient {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    identifier: Vec<Identifier>,
    #[serde(default)]
    birth_date: Option<String>,
    #[serde(default)]
    gender: Option<String>,
    #[serde(default)]
    address: Vec<Address>,
    #[serde(default)]
    general_practitioner: Vec<Reference>,
    #[serde(default)]
    deceased_date_time: Option<String>,
    #[serde(default)]
    extension: Vec<Extension>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Condition {
    #[serde(default)]
    subject: Reference,
    #[serde(default)]
    code: Concept,
    #[serde(default)]
    onset_date_time: Option<String>,
    #[serde(default)]
    recorded_date: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Observation {
    #[serde(default)]
    subject: Reference,
    #[serde(default)]
    code: Concept,
    #[serde(default)]
    effective_date_time: Option<String>,
    #[serde(default)]
    value_integer: Option<i64>,
}

#[derive(Deserialize, Default)]
struct Period {
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Encounter {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    class: Coding,
    #[serde(default, rename = "type")]
    kind: Vec<Concept>,
    #[serde(default)]
    subject: Reference,
    #[serde(default)]
    period: Period,
    #[serde(default)]
    reason_code: Vec<Concept>,
}

#[derive(Deserialize, Default)]
struct Participant {
    #[serde(default)]
    actor: Option<Reference>,
}

#[derive(Deserialize, Default)]
struct Appointment {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    participant: Vec<Participant>,
}

/// The date part of a FHIR date or dateTime (`2024-03-01T09:00:00Z` → `2024-03-01`); the ingest
/// checks that it is a real date.
fn day(value: Option<&str>) -> Option<String> {
    value.map(|v| v.get(..10).unwrap_or(v).to_owned())
}

/// Reads the export in `folder`. `postcodes` maps a postcode (as written, upper case, any spacing)
/// to its LSOA; `social_needs` holds the SNOMED CT codes of the `social_needs` codelist.
///
/// # Errors
/// Only when a file cannot be read; every problem with a line is a [`LineProblem`].
pub fn read_export(
    folder: &Path,
    postcodes: &HashMap<String, String>,
    social_needs: &HashSet<String>,
) -> Result<FhirExtract, PopulationError> {
    let mut files = ndjson_files(folder);
    // Patients first, so that every other resource's subject can be resolved in one pass (a Bulk
    // Data export holds one resource type per file).
    let mut first_types = HashMap::new();
    for f in &files {
        first_types.insert(f.clone(), first_resource_type(f)?);
    }
    files.sort_by_key(|f| (first_types[f].as_deref() != Some("Patient"), f.clone()));

    let mut reader = Reader {
        tables: BTreeMap::new(),
        problems: Vec::new(),
        not_used: BTreeMap::new(),
        patients: HashMap::new(),
        postcodes: postcodes
            .iter()
            .map(|(k, v)| (postcode_key(k), v.clone()))
            .collect(),
        social_needs,
        next_admission: 0,
    };
    let mut counts = Vec::new();
    for file in &files {
        counts.push(reader.read_file(file)?);
    }
    Ok(FhirExtract {
        tables: reader.tables,
        problems: reader.problems,
        files: counts,
        not_used: reader.not_used,
    })
}

fn first_resource_type(file: &Path) -> Result<Option<String>, PopulationError> {
    let handle = std::fs::File::open(file).map_err(|source| PopulationError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    for line in std::io::BufReader::new(handle).lines() {
        let line = line.map_err(|source| PopulationError::Io {
            path: file.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        return Ok(serde_json::from_str::<Head<'_>>(&line)
            .ok()
            .and_then(|h| h.resource_type.map(|t| t.into_owned())));
    }
    Ok(None)
}

/// A postcode without spaces in upper case, so `qx1 2ab` and `QX12AB` match `QX1 2AB`.
fn postcode_key(postcode: &str) -> String {
    postcode
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

struct Reader<'a> {
    tables: BTreeMap<&'static str, RawTable>,
    problems: Vec<LineProblem>,
    not_used: BTreeMap<String, u64>,
    /// `Patient/<id>` → the person number given to it.
    patients: HashMap<String, i64>,
    postcodes: HashMap<String, String>,
    social_needs: &'a HashSet<String>,
    next_admission: i64,
}

/// What became of one line.
enum Outcome {
    Placed,
    NotUsed(String),
    Refused {
        field: &'static str,
        problem: String,
        value: String,
    },
}

fn refused(field: &'static str, problem: impl Into<String>, value: impl Into<String>) -> Outcome {
    Outcome::Refused {
        field,
        problem: problem.into(),
        value: value.into(),
    }
}

impl Reader<'_> {
    fn table(&mut self, name: &'static str, file: &Path) -> &mut RawTable {
        let columns = FHIR_TABLES
            .iter()
            .find(|(t, _)| *t == name)
            .map_or(&[][..], |(_, c)| *c);
        self.tables
            .entry(name)
            .or_insert_with(|| RawTable::new(file.to_path_buf(), columns))
    }

    fn read_file(&mut self, file: &Path) -> Result<FileCount, PopulationError> {
        let io = |source: std::io::Error| PopulationError::Io {
            path: file.to_path_buf(),
            source,
        };
        let handle = std::fs::File::open(file).map_err(io)?;
        let mut count = FileCount {
            file: file.to_path_buf(),
            read: 0,
            placed: 0,
            not_used: 0,
            refused: 0,
        };
        for (n, line) in std::io::BufReader::new(handle).lines().enumerate() {
            let line = line.map_err(io)?;
            if line.trim().is_empty() {
                continue;
            }
            let line_no = i64::try_from(n).unwrap_or(i64::MAX - 1) + 1;
            count.read += 1;
            match self.line(file, line_no, &line) {
                Outcome::Placed => count.placed += 1,
                Outcome::NotUsed(why) => {
                    count.not_used += 1;
                    *self.not_used.entry(why).or_default() += 1;
                }
                Outcome::Refused {
                    field,
                    problem,
                    value,
                } => {
                    count.refused += 1;
                    self.problems.push(LineProblem {
                        file: file.to_path_buf(),
                        line: line_no,
                        field: field.to_owned(),
                        problem,
                        value,
                    });
                }
            }
        }
        Ok(count)
    }

    fn line(&mut self, file: &Path, line_no: i64, text: &str) -> Outcome {
        let head = match serde_json::from_str::<Head<'_>>(text) {
            Ok(h) => h,
            Err(e) => return refused("(line)", format!("not a JSON object: {e}"), ""),
        };
        let Some(kind) = head.resource_type else {
            return refused("resourceType", "missing resourceType", "");
        };
        let parsed = match kind.as_ref() {
            "Patient" => serde_json::from_str(text).map(|p| self.patient(file, line_no, p)),
            "Condition" => serde_json::from_str(text).map(|c| self.condition(file, line_no, c)),
            "Observation" => serde_json::from_str(text).map(|o| self.observation(file, line_no, o)),
            "Encounter" => serde_json::from_str(text).map(|e| self.encounter(file, line_no, e)),
            "Appointment" => serde_json::from_str(text).map(|a| self.appointment(file, line_no, a)),
            other => {
                return Outcome::NotUsed(format!("{other} resources are not read by the engine"))
            }
        };
        parsed.unwrap_or_else(|e| refused("(resource)", format!("not a valid {kind}: {e}"), ""))
    }

    /// The person number of a subject reference (`Patient/<id>`), or why there is none.
    fn subject(&self, subject: &Reference) -> Result<i64, Outcome> {
        let Some(reference) = subject.reference.as_deref() else {
            return Err(refused("subject", "no subject reference", ""));
        };
        let id = reference
            .rsplit_once("Patient/")
            .map_or(reference, |(_, id)| id);
        self.patients.get(id).copied().ok_or_else(|| {
            refused(
                "subject",
                "the subject is not a Patient in this export",
                reference,
            )
        })
    }

    fn patient(&mut self, file: &Path, line_no: i64, p: Patient) -> Outcome {
        let Some(id) = p.id.clone() else {
            return refused("id", "a Patient without an id cannot be referred to", "");
        };
        if self.patients.contains_key(&id) {
            return refused("id", "a Patient with this id is on an earlier line", id);
        }
        let person = i64::try_from(self.patients.len()).unwrap_or(i64::MAX - 1) + 1;
        self.patients.insert(id, person);
        let nhs = p
            .identifier
            .iter()
            .find(|i| i.system.as_deref() == Some(NHS_NUMBER))
            .and_then(|i| i.value.clone());
        let ethnic = p
            .extension
            .iter()
            .find(|e| e.url == ETHNIC_CATEGORY)
            .and_then(|e| e.value_concept.as_ref())
            .and_then(|c| c.coding.first())
            .and_then(|c| c.code.clone());
        let lsoa = p
            .address
            .iter()
            .find_map(|a| a.postal_code.as_deref())
            .and_then(|pc| self.postcodes.get(&postcode_key(pc)).cloned());
        let practice = p.general_practitioner.iter().find_map(|r| {
            r.identifier
                .as_ref()
                .and_then(|i| i.value.clone())
                .or_else(|| {
                    r.reference
                        .as_deref()
                        .and_then(|r| r.strip_prefix("Organization/"))
                        .map(str::to_owned)
                })
        });
        let row = vec![
            Some(person.to_string()),
            nhs,
            p.birth_date,
            p.gender,
            ethnic,
            lsoa,
            practice,
            day(p.deceased_date_time.as_deref()),
        ];
        self.table("persons", file).push(line_no, row);
        Outcome::Placed
    }

    fn condition(&mut self, file: &Path, line_no: i64, c: Condition) -> Outcome {
        let person = match self.subject(&c.subject) {
            Ok(p) => p,
            Err(o) => return o,
        };
        let Some(coding) = c.code.code_in(SNOMED) else {
            return refused(
                "code",
                "no SNOMED CT coding",
                c.code.text.unwrap_or_default(),
            );
        };
        let code = coding.code.clone();
        let name = coding.display.clone().or_else(|| code.clone());
        let date = day(c.onset_date_time.as_deref().or(c.recorded_date.as_deref()));
        let social = code.as_ref().is_some_and(|k| self.social_needs.contains(k));
        let table = if social { "social_needs" } else { "conditions" };
        self.table(table, file)
            .push(line_no, vec![Some(person.to_string()), name, code, date]);
        Outcome::Placed
    }

    fn observation(&mut self, file: &Path, line_no: i64, o: Observation) -> Outcome {
        let person = match self.subject(&o.subject) {
            Ok(p) => p,
            Err(out) => return out,
        };
        let date = day(o.effective_date_time.as_deref());
        if o.code.coding.iter().any(|c| {
            c.system.as_deref() == Some(REPEAT_MEDICINES_SYSTEM)
                && c.code.as_deref() == Some(REPEAT_MEDICINES_CODE)
        }) {
            let count = o.value_integer.map(|v| v.to_string());
            self.table("medication_counts", file)
                .push(line_no, vec![Some(person.to_string()), date, count]);
            return Outcome::Placed;
        }
        let Some(coding) = o.code.code_in(SNOMED) else {
            return Outcome::NotUsed("Observations without a SNOMED CT code".to_owned());
        };
        let code = coding.code.clone();
        let name = coding.display.clone().or_else(|| code.clone());
        self.table("frailty_deficits", file)
            .push(line_no, vec![Some(person.to_string()), name, code, date]);
        Outcome::Placed
    }

    fn encounter(&mut self, file: &Path, line_no: i64, e: Encounter) -> Outcome {
        let person = match self.subject(&e.subject) {
            Ok(p) => p,
            Err(o) => return o,
        };
        let p = Some(person.to_string());
        let start = day(e.period.start.as_deref());
        let kind_text = e
            .kind
            .iter()
            .filter_map(|k| k.text.as_deref())
            .collect::<Vec<_>>()
            .join(" ");
        match e.class.code.as_deref() {
            Some("EMER") => self
                .table("ae_attendances", file)
                .push(line_no, vec![p, start]),
            Some("IMP") => {
                self.next_admission += 1;
                let id = Some(self.next_admission.to_string());
                let method = if kind_text.to_lowercase().contains("emergency") {
                    "emergency"
                } else {
                    "elective"
                };
                let codes: Vec<Option<String>> = e
                    .reason_code
                    .iter()
                    .map(|r| r.code_in(ICD10).and_then(|c| c.code.clone()))
                    .collect();
                let end = day(e.period.end.as_deref()).or_else(|| start.clone());
                let primary = codes.first().cloned().flatten();
                self.table("admissions", file).push(
                    line_no,
                    vec![id.clone(), p, start, end, Some(method.to_owned()), primary],
                );
                for (position, code) in codes.into_iter().enumerate() {
                    let Some(code) = code else { continue };
                    self.table("admission_diagnoses", file).push(
                        line_no,
                        vec![id.clone(), Some((position + 1).to_string()), Some(code)],
                    );
                }
            }
            Some("HH") => self
                .table("community_contacts", file)
                .push(line_no, vec![p, start]),
            Some("AMB") => {
                let mental_health = MENTAL_HEALTH_SERVICES.iter().any(|s| kind_text.contains(s))
                    || kind_text.to_lowercase().contains("mental health");
                if mental_health {
                    self.table("mental_health_contacts", file)
                        .push(line_no, vec![p, start]);
                } else {
                    let attended = e.status.as_deref() != Some("cancelled");
                    self.table("outpatients", file)
                        .push(line_no, vec![p, start, Some(attended.to_string())]);
                }
            }
            other => {
                return Outcome::NotUsed(format!(
                    "Encounters of class {}",
                    other.unwrap_or("(none)")
                ))
            }
        }
        Outcome::Placed
    }

    fn appointment(&mut self, file: &Path, line_no: i64, a: Appointment) -> Outcome {
        let attended = match a.status.as_deref() {
            Some("fulfilled") => true,
            Some("noshow") => false,
            other => {
                return Outcome::NotUsed(format!(
                    "Appointments with status {} (neither attended nor missed)",
                    other.unwrap_or("(none)")
                ))
            }
        };
        let Some(patient) = a.participant.iter().find_map(|p| {
            p.actor.as_ref().filter(|r| {
                r.reference
                    .as_deref()
                    .is_some_and(|r| r.contains("Patient/"))
            })
        }) else {
            return refused("participant", "no Patient among the participants", "");
        };
        let person = match self.subject(patient) {
            Ok(p) => p,
            Err(o) => return o,
        };
        self.table("gp_appointments", file).push(
            line_no,
            vec![
                Some(person.to_string()),
                day(a.start.as_deref()),
                Some(attended.to_string()),
            ],
        );
        Outcome::Placed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str]) -> FhirExtract {
        let dir = tempfile::tempdir().expect("tempdir");
        let (patients, rest): (Vec<&str>, Vec<&str>) =
            lines.iter().partition(|l| l.contains("\"Patient\",\"id\""));
        std::fs::write(dir.path().join("b.ndjson"), patients.join("\n")).expect("write");
        // The other resources sort before the patients by name, so the reader must order files by
        // their resource type, not their names.
        std::fs::write(dir.path().join("a.ndjson"), rest.join("\n")).expect("write");
        let postcodes = HashMap::from([("QX1 1AA".to_owned(), "E01900001".to_owned())]);
        let social = HashSet::from(["73438004".to_owned()]);
        read_export(dir.path(), &postcodes, &social).expect("read")
    }

    const PATIENT: &str = r#"{"resourceType":"Patient","id":"x1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018"}],"birthDate":"1950-02-03","gender":"female","address":[{"postalCode":"qx11aa"}],"generalPractitioner":[{"reference":"Organization/Z90001"}]}"#;

    #[test]
    fn a_patient_becomes_a_person_with_the_lsoa_of_their_postcode() {
        let x = read(&[PATIENT]);
        let persons = &x.tables["persons"];
        assert_eq!(persons.values[5][0].as_deref(), Some("E01900001"));
        assert_eq!(persons.values[6][0].as_deref(), Some("Z90001"));
        assert_eq!(persons.lines, vec![1]);
    }

    #[test]
    fn resources_are_routed_to_their_tables_and_bad_lines_are_reported_with_their_line() {
        let x = read(&[
            PATIENT,
            r#"{"resourceType":"Condition","subject":{"reference":"Patient/x1"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"73438004","display":"unemployed"}]},"recordedDate":"2024-01-02"}"#,
            r#"{"resourceType":"Encounter","status":"finished","class":{"code":"IMP"},"type":[{"text":"emergency admission"}],"subject":{"reference":"Patient/x1"},"period":{"start":"2024-02-01","end":"2024-02-03"},"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"J18.1"}]},{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"I50.0"}]}]}"#,
            r#"{"resourceType":"Encounter","class":{"code":"EMER"},"subject":{"reference":"Patient/nobody"},"period":{"start":"2024-02-01"}}"#,
            "{not json",
            r#"{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"Patient/x1"}}]}"#,
        ]);
        assert_eq!(
            x.tables["social_needs"].values[2][0].as_deref(),
            Some("73438004")
        );
        let adm = &x.tables["admissions"];
        assert_eq!(adm.values[4][0].as_deref(), Some("emergency"));
        assert_eq!(adm.values[5][0].as_deref(), Some("J18.1"));
        assert_eq!(x.tables["admission_diagnoses"].lines, vec![2, 2]);
        let lines: Vec<(i64, &str)> = x
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_str()))
            .collect();
        assert_eq!(lines, vec![(3, "subject"), (4, "(line)")]);
        let rest = x
            .files
            .iter()
            .find(|f| f.file.ends_with("a.ndjson"))
            .expect("a");
        assert_eq!(
            (rest.read, rest.placed, rest.not_used, rest.refused),
            (5, 2, 1, 2)
        );
        assert_eq!(rest.read, rest.placed + rest.not_used + rest.refused);
    }
}
