//! Ingest: reads the extract tables (CSV or Parquet), checks every row, and registers the accepted
//! rows under canonical table names for the later stages.
//!
//! Each table is described by a [`TableSpec`]: its file stem and its columns with their kind. One SQL
//! query per table types every column, finds the first problem of each row (bad NHS number,
//! impossible date, malformed or unknown code, orphan record), and is cached once; accepted rows and
//! diagnostics are two filters of that cached result, so `read = accepted + rejected` holds by
//! construction and no row is dropped silently.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};

use crate::config::InputFormat;
use crate::fhir_input;
use crate::PopulationError;

/// What a column holds, which decides its check and its type after ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// An NHS number: modulus-11 checked, stored as ten digits.
    NhsNumber,
    /// A date (`YYYY-MM-DD`); `required` says whether it may be empty.
    Date { required: bool },
    /// Free text; `required` says whether it may be empty.
    Text { required: bool },
    /// An integer in an inclusive range.
    Int { min: i64, max: i64 },
    /// A yes/no value: `true`/`false`, `1`/`0`, `Y`/`N`.
    Bool,
    /// A SNOMED CT concept id (shape, partition and check digit); `required` says whether it may
    /// be empty (a derived frailty deficit has no code). A well-formed id in no loaded codelist is
    /// accepted and counted in [`IngestReport::unknown_codes`]: a GP record holds many codes that no
    /// score uses.
    Snomed { required: bool },
    /// An ICD-10 code, checked by its structure ([`crate::icd10`]) and normalised to `E11.9` form. A
    /// well-formed code in no codelist or score table is accepted and counted in
    /// [`IngestReport::unknown_codes`].
    Icd10,
}

/// How a table's rows link to an earlier table; an unmatched link is an orphan record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Not linked.
    None,
    /// `person_id` → `persons`: the row belongs to a person, so an event before the person's birth
    /// is impossible.
    Person,
    /// `admission_id` → `admissions`.
    Admission,
}

/// One column of an extract table.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: ColumnKind,
    /// A bad value in this column is ignored (the field becomes empty and a diagnostic says so)
    /// instead of rejecting the row: the row is a parent (an admission) whose children would be
    /// orphaned for one bad field.
    pub keep_row: bool,
}

/// One extract table, as `docs/extract-schema.md` (written by `careweave-synth`) describes it. Only
/// the columns the engine uses are listed; other columns in a file are ignored.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// The file stem (`persons.csv`); accepted rows are registered as `x_<name>`.
    pub name: &'static str,
    pub columns: &'static [ColumnSpec],
    pub link: Link,
    /// Whether the run can go on without the file (an area without mental health data, say).
    pub required: bool,
}

const fn col(name: &'static str, kind: ColumnKind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        keep_row: false,
    }
}

/// A column whose bad value is ignored rather than rejecting its row (see [`ColumnSpec::keep_row`]).
const fn kept(name: &'static str, kind: ColumnKind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        keep_row: true,
    }
}

use ColumnKind::{Bool, Date, Icd10, Int, NhsNumber, Snomed, Text};

const PERSON_ID: ColumnSpec = col(
    "person_id",
    Int {
        min: 1,
        max: i64::MAX,
    },
);
const EVENT: Link = Link::Person;

/// The extract tables the engine reads, in the order they are checked (a table is checked against
/// the accepted rows of the tables it links to, which come earlier).
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "pcns",
        columns: &[
            col("pcn_code", Text { required: true }),
            col("name", Text { required: true }),
        ],
        link: Link::None,
        required: true,
    },
    TableSpec {
        name: "practices",
        columns: &[
            col("ods_code", Text { required: true }),
            col("name", Text { required: true }),
            col("pcn_code", Text { required: true }),
        ],
        link: Link::None,
        required: true,
    },
    TableSpec {
        name: "lsoas",
        columns: &[
            col("lsoa_code", Text { required: true }),
            col("name", Text { required: true }),
            col("imd_decile", Int { min: 1, max: 10 }),
        ],
        link: Link::None,
        required: true,
    },
    TableSpec {
        name: "persons",
        columns: &[
            PERSON_ID,
            col("nhs_number", NhsNumber),
            col("date_of_birth", Date { required: true }),
            col("sex", Text { required: true }),
            col("ethnic_category", Text { required: false }),
            col("lsoa_code", Text { required: true }),
            col("practice_ods_code", Text { required: true }),
            col("date_of_death", Date { required: false }),
        ],
        link: Link::None,
        required: true,
    },
    TableSpec {
        name: "conditions",
        columns: &[
            PERSON_ID,
            col("condition", Text { required: true }),
            col("snomed_code", Snomed { required: true }),
            col("onset_date", Date { required: true }),
        ],
        link: EVENT,
        required: true,
    },
    TableSpec {
        name: "social_needs",
        columns: &[
            PERSON_ID,
            col("need", Text { required: true }),
            col("snomed_code", Snomed { required: true }),
            col("recorded_date", Date { required: true }),
        ],
        link: EVENT,
        required: false,
    },
    TableSpec {
        name: "frailty_deficits",
        columns: &[
            PERSON_ID,
            col("deficit", Text { required: true }),
            col("snomed_code", Snomed { required: false }),
            col("recorded_date", Date { required: true }),
        ],
        link: EVENT,
        required: false,
    },
    TableSpec {
        name: "medication_counts",
        columns: &[
            PERSON_ID,
            col("period_end", Date { required: true }),
            col("repeat_medications", Int { min: 0, max: 200 }),
        ],
        link: EVENT,
        required: false,
    },
    TableSpec {
        name: "gp_appointments",
        columns: &[
            PERSON_ID,
            col("appointment_date", Date { required: true }),
            col("attended", Bool),
        ],
        link: EVENT,
        required: false,
    },
    TableSpec {
        name: "ae_attendances",
        columns: &[PERSON_ID, col("attendance_date", Date { required: true })],
        link: EVENT,
        required: false,
    },
    TableSpec {
        name: "admissions",
        columns: &[
            col(
                "admission_id",
                Int {
                    min: 1,
                    max: i64::MAX,
                },
            ),
            PERSON_ID,
            col("admission_date", Date { required: true }),
            col("discharge_date", Date { required: true }),
            col("admission_method", Text { required: true }),
            kept("primary_diagnosis", Icd10),
        ],
        link: EVENT,
        required: false,
    },
    TableSpec {
        name: "admission_diagnoses",
        columns: &[
            col(
                "admission_id",
                Int {
                    min: 1,
                    max: i64::MAX,
                },
            ),
            col("position", Int { min: 1, max: 99 }),
            col("icd10_code", Icd10),
        ],
        link: Link::Admission,
        required: false,
    },
    TableSpec {
        name: "outpatients",
        columns: &[
            PERSON_ID,
            col("appointment_date", Date { required: true }),
            col("attended", Bool),
        ],
        link: EVENT,
        required: false,
    },
    TableSpec {
        name: "community_contacts",
        columns: &[PERSON_ID, col("contact_date", Date { required: true })],
        link: EVENT,
        required: false,
    },
    TableSpec {
        name: "mental_health_contacts",
        columns: &[PERSON_ID, col("contact_date", Date { required: true })],
        link: EVENT,
        required: false,
    },
];

/// The canonical tables the later stages query, as views over the accepted extract tables: every
/// row carries the person's NHS number, the link key between all sources.
const CANONICAL_VIEWS: &[(&str, &str)] = &[
    ("patients", "SELECT nhs_number, person_id, date_of_birth, sex, ethnic_category AS ethnicity, lsoa_code AS lsoa, practice_ods_code AS practice, date_of_death FROM x_persons"),
    ("practices", "SELECT pr.ods_code AS practice, pr.name AS practice_name, pr.pcn_code AS pcn, pc.name AS pcn_name FROM x_practices pr LEFT JOIN x_pcns pc ON pc.pcn_code = pr.pcn_code"),
    ("lsoas", "SELECT lsoa_code AS lsoa, imd_decile, CAST(NULL AS VARCHAR) AS locality FROM x_lsoas"),
    ("clinical_events", "SELECT p.nhs_number, e.date, e.code FROM ( \
        SELECT person_id, onset_date AS date, snomed_code AS code FROM x_conditions \
        UNION ALL SELECT person_id, recorded_date, snomed_code FROM x_social_needs \
        UNION ALL SELECT person_id, recorded_date, snomed_code FROM x_frailty_deficits WHERE snomed_code IS NOT NULL) e \
        JOIN x_persons p ON p.person_id = e.person_id"),
    ("medications", "SELECT p.nhs_number, m.period_end AS date, m.repeat_medications AS repeat_medicines FROM x_medication_counts m JOIN x_persons p ON p.person_id = m.person_id"),
    ("gp_appointments", "SELECT p.nhs_number, g.appointment_date AS date, g.attended FROM x_gp_appointments g JOIN x_persons p ON p.person_id = g.person_id"),
    ("ae_attendances", "SELECT p.nhs_number, a.attendance_date AS date FROM x_ae_attendances a JOIN x_persons p ON p.person_id = a.person_id"),
    ("admissions", "SELECT p.nhs_number, a.admission_id, a.admission_date AS admitted, a.discharge_date AS discharged, lower(a.admission_method) IN ('emergency', 'non-elective', 'non_elective') AS emergency FROM x_admissions a JOIN x_persons p ON p.person_id = a.person_id"),
    ("diagnoses", "SELECT a.nhs_number, d.admission_id, a.admitted AS date, d.position, d.icd10_code AS code FROM x_admission_diagnoses d JOIN admissions a ON a.admission_id = d.admission_id \
        UNION ALL SELECT a.nhs_number, x.admission_id, a.admitted, 1, x.primary_diagnosis FROM x_admissions x JOIN admissions a ON a.admission_id = x.admission_id \
        WHERE x.primary_diagnosis IS NOT NULL AND NOT EXISTS (SELECT 1 FROM x_admission_diagnoses d2 WHERE d2.admission_id = x.admission_id AND d2.position = 1)"),
    ("outpatients", "SELECT p.nhs_number, o.appointment_date AS date, o.attended FROM x_outpatients o JOIN x_persons p ON p.person_id = o.person_id"),
    ("community_contacts", "SELECT p.nhs_number, c.contact_date AS date FROM x_community_contacts c JOIN x_persons p ON p.person_id = c.person_id"),
    ("mental_health_contacts", "SELECT p.nhs_number, c.contact_date AS date FROM x_mental_health_contacts c JOIN x_persons p ON p.person_id = c.person_id"),
];

/// Read, accepted and rejected rows of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    pub table: String,
    /// The file read, or `None` when an optional table had no file.
    pub file: Option<PathBuf>,
    /// Whether the run needs this table (see [`TableSpec::required`]).
    pub required: bool,
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Accepted rows with a bad value in a [`ColumnSpec::keep_row`] column, which was ignored.
    pub values_ignored: u64,
}

impl TableSummary {
    /// The share of rows read that were rejected (0 for an empty table).
    #[must_use]
    pub fn rejected_share(&self) -> f64 {
        if self.read == 0 {
            0.0
        } else {
            // Row counts are far below 2^52, so the conversion is exact.
            #[allow(clippy::cast_precision_loss)]
            let share = self.rejected as f64 / self.read as f64;
            share
        }
    }
}

/// A well-formed code that no loaded codelist or score table names, with the rows that carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCode {
    pub table: String,
    pub column: String,
    /// `snomed` or `icd10`.
    pub system: String,
    pub code: String,
    pub rows: u64,
}

/// The outcome of ingest: per-table counts and the diagnostics of every rejected row.
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub tables: Vec<TableSummary>,
    /// `diagnostics(file, line, field, problem, value, outcome)`, one row per rejected row and one
    /// per ignored value of a kept row.
    pub diagnostics: Vec<RecordBatch>,
    /// Things the user should know that are not row problems (a missing optional table).
    pub warnings: Vec<String>,
    /// Well-formed codes in no codelist or score table, most rows first.
    pub unknown_codes: Vec<UnknownCode>,
}

/// Reads every table of [`TABLES`] from `input` (`parquet/<name>.parquet`, `<name>.parquet`,
/// `csv/<name>.csv` or `<name>.csv`, the first found), checks it, registers the accepted rows in
/// `ctx` as `x_<name>`, and then the canonical views the later stages query. `codelists` must
/// already be registered as a table (see [`crate::codelists::Codelists::to_batch`]); dates after
/// `extract_date` are impossible.
///
/// # Errors
/// A required table missing, a file without an expected column, or a query failure.
pub async fn ingest(
    ctx: &SessionContext,
    input: &Path,
    extract_date: NaiveDate,
    format: InputFormat,
) -> Result<IngestReport, PopulationError> {
    let mut report = IngestReport {
        tables: Vec::new(),
        diagnostics: Vec::new(),
        warnings: Vec::new(),
        unknown_codes: Vec::new(),
    };
    // The codes something scores or flags: an ICD-10 code counts as known when it, or its category,
    // is in a codelist or a score table.
    ctx.sql(
        "CREATE OR REPLACE VIEW known_codes AS SELECT DISTINCT system, code FROM ( \
           SELECT system, code FROM codelists \
           UNION ALL SELECT 'icd10', code FROM charlson_map \
           UNION ALL SELECT 'icd10', code FROM hfrs_weights \
           UNION ALL SELECT 'icd10', code FROM ltc_icd10) k",
    )
    .await?
    .collect()
    .await?;
    let mut fhir = read_fhir_if_chosen(ctx, input, format).await?;
    // A synthetic extract's unissuable identifiers are accepted only when its manifest says so.
    let synthetic_ids = crate::synthetic_ids::flagged(input);
    if synthetic_ids {
        report
            .warnings
            .push(crate::synthetic_ids::WARNING.to_owned());
    }
    // On one machine each file is read here, its rows numbered and shared out over the session's
    // partitions, so that the checks run on every core. On a cluster (a shared scratch folder)
    // rows read here would travel inside every plan to the executors, so the executors read the
    // file and the rows are numbered in SQL instead.
    let state = ctx.state();
    let in_process = state
        .config()
        .get_extension::<crate::hold::SharedScratch>()
        .is_none();
    let partitions = state.config().target_partitions();
    for spec in TABLES {
        let find = |ext: &str| tabular_file(input, spec.name, ext);
        let raw = format!("raw_{}", spec.name);
        let spec_columns: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        let from_fhir = fhir
            .as_mut()
            .filter(|_| fhir_input::fills(spec.name))
            .map(|x| (x.folder.clone(), x.extract.tables.remove(spec.name)));
        let (file, line_offset) = if let Some((folder, table)) = from_fhir {
            let Some(table) = table else {
                if spec.name == "persons" {
                    return Err(PopulationError::NoFhirPatients { folder });
                }
                report.warnings.push(format!(
                    "the FHIR export in {} has no resources for {}: it is empty",
                    folder.display(),
                    spec.name
                ));
                register_empty(ctx, spec)?;
                report.tables.push(TableSummary {
                    table: spec.name.to_owned(),
                    file: None,
                    required: spec.required,
                    read: 0,
                    accepted: 0,
                    rejected: 0,
                    values_ignored: 0,
                });
                continue;
            };
            let batch = table.to_batch()?;
            let memory = if in_process {
                crate::scan::shared(batch, partitions)?
            } else {
                MemTable::try_new(batch.schema(), vec![vec![batch]])?
            };
            ctx.register_table(raw.as_str(), Arc::new(memory))?;
            // Each row carries its NDJSON line in `__line`, which the check uses.
            (table.file, 0)
        } else if let Some(parquet) = find("parquet") {
            // A folder of files (one per place of a large synthetic extract) is read by DataFusion's
            // listing, its rows numbered in SQL; a single file is read on every core here.
            if in_process && parquet.is_file() {
                let table = crate::scan::parquet(&parquet, &spec_columns, partitions).await?;
                ctx.register_table(raw.as_str(), Arc::new(table))?;
            } else {
                ctx.register_parquet(&raw, &listing_path(&parquet), ParquetReadOptions::default())
                    .await?;
            }
            // Parquet has no lines; the diagnostic gives the row number counted from 1.
            (parquet, 0)
        } else if let Some(csv) = find("csv") {
            let header = read_header(&csv)?;
            // Every column is read as text so that a bad value becomes a diagnostic, not a failed read.
            let schema = Schema::new(
                header
                    .iter()
                    .map(|h| Field::new(h, DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            );
            let options = CsvReadOptions::new().schema(&schema).has_header(true);
            let path = csv.to_string_lossy();
            // A file without one of the columns is registered whole and refused below, naming
            // the column, without reading its rows first.
            let complete = spec_columns.iter().all(|c| header.iter().any(|h| h == c));
            let numbered = if in_process && complete {
                // Only the columns the checks use, each row numbered as the file is read (one
                // partition keeps the file's order).
                let df = ctx
                    .read_csv(path.as_ref(), options.clone())
                    .await?
                    .select_columns(&spec_columns)?;
                crate::scan::numbered_scan(df, partitions).await?
            } else {
                None
            };
            match numbered {
                Some(table) => ctx
                    .register_table(raw.as_str(), Arc::new(table))
                    .map(|_| ())?,
                None => ctx.register_csv(&raw, path.as_ref(), options).await?,
            }
            // The header is line 1, so row n is line n + 1.
            (csv, 1)
        } else if spec.required {
            return Err(PopulationError::MissingTable {
                table: spec.name,
                folder: input.to_path_buf(),
            });
        } else {
            report.warnings.push(format!(
                "no {0}.parquet or {0}.csv in the input: {0} is empty",
                spec.name
            ));
            register_empty(ctx, spec)?;
            report.tables.push(TableSummary {
                table: spec.name.to_owned(),
                file: None,
                required: spec.required,
                read: 0,
                accepted: 0,
                rejected: 0,
                values_ignored: 0,
            });
            continue;
        };
        let raw_schema = ctx.table(raw.as_str()).await?.schema().as_arrow().clone();
        for c in spec.columns {
            if raw_schema.field_with_name(c.name).is_err() {
                return Err(PopulationError::MissingColumn {
                    file: file.clone(),
                    column: c.name,
                });
            }
        }
        let has_line = raw_schema.field_with_name(fhir_input::LINE_COLUMN).is_ok();
        let sql = check_sql(spec, &raw, &raw_schema, extract_date, line_offset, has_line);
        let sql = crate::synthetic_ids::with_scheme(sql, synthetic_ids);
        let checked = format!("checked_{}", spec.name);
        crate::hold::hold(ctx, &checked, ctx.sql(&sql).await?).await?;
        // The raw rows are all in the checked table now; holding them on would only keep memory.
        ctx.deregister_table(raw.as_str())?;

        let cols: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        let x = format!("x_{}", spec.name);
        let accepted = ctx
            .sql(&format!(
                "SELECT {} FROM {checked} WHERE problem IS NULL",
                cols.join(", "),
            ))
            .await?;
        crate::hold::hold(ctx, &x, accepted).await?;
        let file_name = sql_str(&file.display().to_string());
        let diag = ctx
            .sql(&format!(
                "SELECT * FROM ( \
                   SELECT {file_name} AS file, line, problem_field AS field, problem, problem_value AS value, 'row rejected' AS outcome \
                   FROM checked_{t} WHERE problem IS NOT NULL \
                   UNION ALL SELECT {file_name}, line, kept_field, kept_problem, kept_value, 'value ignored, row kept' \
                   FROM checked_{t} WHERE problem IS NULL AND kept_problem IS NOT NULL) d ORDER BY line",
                t = spec.name
            ))
            .await?
            .collect()
            .await?;
        let read = count(ctx, &format!("SELECT count(*) FROM checked_{}", spec.name)).await?;
        let rejected_n = count(
            ctx,
            &format!(
                "SELECT count(*) FROM checked_{} WHERE problem IS NOT NULL",
                spec.name
            ),
        )
        .await?;
        let ignored_n = count(
            ctx,
            &format!(
                "SELECT count(*) FROM checked_{} WHERE problem IS NULL AND kept_problem IS NOT NULL",
                spec.name
            ),
        )
        .await?;
        let accepted_n = count(ctx, &format!("SELECT count(*) FROM {x}")).await?;
        ctx.deregister_table(checked.as_str())?;
        report.diagnostics.extend(diag);
        report.tables.push(TableSummary {
            table: spec.name.to_owned(),
            file: Some(file),
            required: spec.required,
            read,
            accepted: accepted_n,
            rejected: rejected_n,
            values_ignored: ignored_n,
        });
        unknown_codes(ctx, spec, &mut report.unknown_codes).await?;
    }
    if let Some(x) = fhir {
        fhir_report(x.extract, &mut report)?;
    }
    report.unknown_codes.sort_by(|a, b| {
        b.rows
            .cmp(&a.rows)
            .then_with(|| (&a.system, &a.code).cmp(&(&b.system, &b.code)))
    });
    register_views(ctx).await?;
    Ok(report)
}

/// The canonical tables computed once and held rather than kept as views: the features stage reads
/// `diagnoses` four times and each reading of it joins `admissions` twice, so as views their joins
/// ran once per use.
const HELD_VIEWS: &[&str] = &["admissions", "diagnoses"];

/// Registers the canonical views over the `x_<table>` tables.
async fn register_views(ctx: &SessionContext) -> Result<(), PopulationError> {
    for (name, sql) in CANONICAL_VIEWS {
        ctx.deregister_table(*name)?;
        let df = ctx.sql(sql).await?;
        if HELD_VIEWS.contains(name) {
            crate::hold::hold(ctx, name, df).await?;
        } else {
            ctx.register_table(*name, df.into_view())?;
        }
    }
    Ok(())
}

/// Registers an empty extract (every table with its typed columns and no rows) and the canonical
/// views over it, so that the later stages can be planned, and their output schema known, without
/// reading any data.
///
/// # Errors
/// Only if DataFusion refuses a table, which would be a bug.
pub async fn register_empty_extract(ctx: &SessionContext) -> Result<(), PopulationError> {
    for spec in TABLES {
        register_empty(ctx, spec)?;
    }
    register_views(ctx).await
}

/// Counts, per code, the accepted rows of `spec` whose coded columns hold a well-formed code that no
/// codelist or score table names.
async fn unknown_codes(
    ctx: &SessionContext,
    spec: &TableSpec,
    out: &mut Vec<UnknownCode>,
) -> Result<(), PopulationError> {
    for c in spec.columns {
        let (system, extra) = match c.kind {
            Snomed { .. } => ("snomed", String::new()),
            // An ICD-10 code is known when its category or four-character code is listed.
            Icd10 => (
                "icd10",
                format!(
                    " AND substr({n}, 1, 3) NOT IN (SELECT code FROM known_codes WHERE system = 'icd10') \
                      AND substr({n}, 1, 5) NOT IN (SELECT code FROM known_codes WHERE system = 'icd10')",
                    n = c.name
                ),
            ),
            _ => continue,
        };
        let batches = ctx
            .sql(&format!(
                "SELECT {n} AS code, count(*) AS n FROM x_{t} WHERE {n} IS NOT NULL \
                   AND {n} NOT IN (SELECT code FROM known_codes WHERE system = '{system}'){extra} GROUP BY {n}",
                n = c.name,
                t = spec.name
            ))
            .await?
            .collect()
            .await?;
        for b in &batches {
            let codes = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8)?;
            let codes = codes.as_string::<i32>();
            let rows = b.column(1).as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                out.push(UnknownCode {
                    table: spec.name.to_owned(),
                    column: c.name.to_owned(),
                    system: system.to_owned(),
                    code: codes.value(i).to_owned(),
                    rows: u64::try_from(rows.value(i)).unwrap_or(0),
                });
            }
        }
    }
    Ok(())
}

async fn count(ctx: &SessionContext, sql: &str) -> Result<u64, PopulationError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let n = batches
        .first()
        .map_or(0, |b| b.column(0).as_primitive::<Int64Type>().value(0));
    Ok(u64::try_from(n).unwrap_or(0))
}

fn read_header(path: &Path) -> Result<Vec<String>, PopulationError> {
    let io = |source: std::io::Error| PopulationError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| io(e.into()))?;
    let header = reader.headers().map_err(|e| io(e.into()))?;
    Ok(header.iter().map(|h| h.trim().to_owned()).collect())
}

fn typed_type(kind: ColumnKind) -> DataType {
    match kind {
        Date { .. } => DataType::Date32,
        Int { .. } => DataType::Int64,
        Bool => DataType::Boolean,
        NhsNumber | Text { .. } | Snomed { .. } | Icd10 => DataType::Utf8,
    }
}

fn register_empty(ctx: &SessionContext, spec: &TableSpec) -> Result<(), PopulationError> {
    let schema = Arc::new(Schema::new(
        spec.columns
            .iter()
            .map(|c| Field::new(c.name, typed_type(c.kind), true))
            .collect::<Vec<_>>(),
    ));
    ctx.register_table(
        format!("x_{}", spec.name),
        Arc::new(MemTable::try_new(schema, vec![vec![]])?),
    )?;
    Ok(())
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Whether a raw column already holds the type its kind is checked into (a typed Parquet column),
/// so that it is used as read and only its range is checked, rather than formatted as text,
/// trimmed and parsed back in every check.
fn native(kind: ColumnKind, raw: &DataType) -> bool {
    match kind {
        Date { .. } => *raw == DataType::Date32,
        // Every one of these fits a BIGINT exactly; UInt64 does not.
        Int { .. } => matches!(
            raw,
            DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
        ),
        Bool => *raw == DataType::Boolean,
        NhsNumber | Text { .. } | Snomed { .. } | Icd10 => false,
    }
}

/// The checking query for one table: typed columns, then the first problem of the row as
/// `problem_field`, `problem`, `problem_value` (all NULL for a good row), with its `line`.
/// `raw_schema` is the schema of the `raw` table, whose typed columns are used as read.
fn check_sql(
    spec: &TableSpec,
    raw: &str,
    raw_schema: &Schema,
    extract_date: NaiveDate,
    line_offset: i64,
    has_line_column: bool,
) -> String {
    // A raw value as trimmed text, NULL when empty: what a diagnostic shows as the bad value, and
    // what a text column is checked and typed from.
    let t = |c: &str| format!("NULLIF(TRIM(CAST(r.\"{c}\" AS VARCHAR)), '')");
    let is_native = |c: &ColumnSpec| {
        raw_schema
            .field_with_name(c.name)
            .is_ok_and(|f| native(c.kind, f.data_type()))
    };
    // A column's typed value: the raw column itself when it is already typed, else parsed from its
    // text (NULL when it does not parse).
    let v = |name: &str| -> String {
        let Some(c) = spec.columns.iter().find(|c| c.name == name) else {
            return t(name);
        };
        let raw_col = format!("r.\"{name}\"");
        if is_native(c) {
            return match c.kind {
                Int { .. } => format!("CAST({raw_col} AS BIGINT)"),
                _ => raw_col,
            };
        }
        match c.kind {
            Date { .. } => format!("TRY_CAST({} AS DATE)", t(name)),
            Int { .. } => format!("TRY_CAST({} AS BIGINT)", t(name)),
            _ => t(name),
        }
    };
    let mut typed = Vec::new();
    // Each check is (field, condition that means a problem, message); the first true one wins.
    let mut checks: Vec<(String, String, String)> = Vec::new();
    // The same for the columns whose bad value is ignored rather than rejecting the row.
    let mut kept_checks: Vec<(String, String, String)> = Vec::new();
    let mut joins = String::new();
    let upper = format!("DATE '{extract_date}'");
    for c in spec.columns {
        let raw_v = t(c.name);
        let native_col = is_native(c);
        let n = c.name;
        let first = checks.len();
        match c.kind {
            NhsNumber => {
                typed.push(format!("nhs_number_digits({raw_v}) AS {n}"));
                checks.push((
                    n.into(),
                    format!("{raw_v} IS NULL"),
                    "'missing NHS number'".into(),
                ));
                checks.push((
                    n.into(),
                    format!("nhs_number_digits({raw_v}) IS NULL"),
                    format!("'not a valid NHS number: ' || nhs_number_problem({raw_v})"),
                ));
            }
            Date { required } => {
                let d = v(n);
                typed.push(format!("{d} AS {n}"));
                if required {
                    let missing = if native_col { &d } else { &raw_v };
                    checks.push((
                        n.into(),
                        format!("{missing} IS NULL"),
                        "'missing date'".into(),
                    ));
                }
                if !native_col {
                    checks.push((
                        n.into(),
                        format!("{raw_v} IS NOT NULL AND {d} IS NULL"),
                        "'not a date (expected YYYY-MM-DD)'".into(),
                    ));
                }
                checks.push((
                    n.into(),
                    format!("{d} < DATE '1880-01-01' OR {d} > {upper}"),
                    format!(
                        "'impossible date: before 1880 or after the extract date {extract_date}'"
                    ),
                ));
            }
            Text { required } => {
                typed.push(format!("{raw_v} AS {n}"));
                if required {
                    checks.push((
                        n.into(),
                        format!("{raw_v} IS NULL"),
                        format!("'missing {n}'"),
                    ));
                }
            }
            Int { min, max } => {
                let i = v(n);
                typed.push(format!("{i} AS {n}"));
                let parse = if native_col {
                    String::new()
                } else {
                    format!("{raw_v} IS NULL OR ")
                };
                checks.push((
                    n.into(),
                    format!("{parse}{i} IS NULL OR {i} NOT BETWEEN {min} AND {max}"),
                    format!("'expected a whole number from {min} to {max}'"),
                ));
            }
            Bool if native_col => {
                typed.push(format!("{} AS {n}", v(n)));
                checks.push((
                    n.into(),
                    format!("{} IS NULL", v(n)),
                    "'expected true or false'".into(),
                ));
            }
            Bool => {
                let l = format!("lower({raw_v})");
                typed.push(format!("CASE WHEN {l} IN ('true','1','y','yes','t') THEN true WHEN {l} IN ('false','0','n','no','f') THEN false END AS {n}"));
                checks.push((n.into(), format!("{raw_v} IS NULL OR {l} NOT IN ('true','1','y','yes','t','false','0','n','no','f')"), "'expected true or false'".into()));
            }
            Snomed { required } => {
                typed.push(format!("{raw_v} AS {n}"));
                if required {
                    checks.push((
                        n.into(),
                        format!("{raw_v} IS NULL"),
                        "'missing code'".into(),
                    ));
                }
                checks.push((
                    n.into(),
                    format!("snomed_problem({raw_v}) IS NOT NULL"),
                    format!("'not a SNOMED CT concept id: ' || snomed_problem({raw_v})"),
                ));
            }
            Icd10 => {
                typed.push(format!("icd10_normalise({raw_v}) AS {n}"));
                checks.push((
                    n.into(),
                    format!("{raw_v} IS NULL"),
                    "'missing code'".into(),
                ));
                checks.push((
                    n.into(),
                    format!("{raw_v} IS NOT NULL AND icd10_normalise({raw_v}) IS NULL"),
                    sql_str(&format!("not an ICD-10 code: {}", crate::icd10::EXPECTED)),
                ));
            }
        }
        if c.keep_row {
            kept_checks.extend(checks.drain(first..));
        }
    }
    if spec.name == "persons" {
        checks.push((
            "date_of_death".into(),
            format!("{} < {}", v("date_of_death"), v("date_of_birth")),
            "'impossible date: death before birth'".into(),
        ));
        let _ = write!(
            joins,
            " LEFT JOIN (SELECT lsoa_code AS k_lsoa FROM x_lsoas) k_lsoa ON k_lsoa.k_lsoa = {}",
            t("lsoa_code")
        );
        checks.push((
            "lsoa_code".into(),
            "k_lsoa.k_lsoa IS NULL".into(),
            "'unknown LSOA: not in lsoas'".into(),
        ));
        let _ = write!(joins, " LEFT JOIN (SELECT ods_code AS k_practice FROM x_practices) k_practice ON k_practice.k_practice = {}", t("practice_ods_code"));
        checks.push((
            "practice_ods_code".into(),
            "k_practice.k_practice IS NULL".into(),
            "'unknown practice: not in practices'".into(),
        ));
    }
    if spec.name == "practices" {
        let _ = write!(
            joins,
            " LEFT JOIN (SELECT pcn_code AS k_pcn FROM x_pcns) k_pcn ON k_pcn.k_pcn = {}",
            t("pcn_code")
        );
        checks.push((
            "pcn_code".into(),
            "k_pcn.k_pcn IS NULL".into(),
            "'unknown PCN: not in pcns'".into(),
        ));
    }
    match spec.link {
        Link::None => {}
        Link::Person => {
            let _ = write!(joins, " LEFT JOIN (SELECT person_id AS p_id, date_of_birth AS p_dob FROM x_persons) p ON p.p_id = {}", v("person_id"));
            checks.push((
                "person_id".into(),
                "p.p_id IS NULL".into(),
                "'orphan record: no accepted person with this person_id'".into(),
            ));
            let first_date = spec
                .columns
                .iter()
                .find(|c| matches!(c.kind, Date { .. }))
                .map(|c| c.name);
            if let Some(d) = first_date {
                checks.push((
                    d.into(),
                    format!("{} < p.p_dob", v(d)),
                    "'impossible date: before the person was born'".into(),
                ));
            }
        }
        Link::Admission => {
            let _ = write!(
                joins,
                " LEFT JOIN (SELECT admission_id AS a_id FROM x_admissions) a ON a.a_id = {}",
                v("admission_id")
            );
            checks.push((
                "admission_id".into(),
                "a.a_id IS NULL".into(),
                "'orphan record: no accepted admission with this admission_id'".into(),
            ));
        }
    }
    if spec.name == "admissions" {
        checks.push((
            "discharge_date".into(),
            format!("{} < {}", v("discharge_date"), v("admission_date")),
            "'impossible date: discharged before admitted'".into(),
        ));
    }
    let mut field = String::from("CASE");
    let mut problem = String::from("CASE");
    let mut value = String::from("CASE");
    for (f, cond, msg) in &checks {
        let _ = write!(field, " WHEN {cond} THEN {}", sql_str(f));
        let _ = write!(problem, " WHEN {cond} THEN {msg}");
        let _ = write!(value, " WHEN {cond} THEN {}", t(f));
    }
    if spec.name == "persons" {
        field.push_str(" WHEN dup_rank > 1 THEN 'nhs_number'");
        problem.push_str(" WHEN dup_rank > 1 THEN 'duplicate person: this NHS number or person_id is on an earlier line'");
        value.push_str(&format!(" WHEN dup_rank > 1 THEN {}", t("nhs_number")));
    }
    field.push_str(" END");
    problem.push_str(" END");
    value.push_str(" END");
    let (mut kept_field, mut kept_problem, mut kept_value) = (
        String::from("CASE"),
        String::from("CASE"),
        String::from("CASE"),
    );
    for (f, cond, msg) in &kept_checks {
        let _ = write!(kept_field, " WHEN {cond} THEN {}", sql_str(f));
        let _ = write!(kept_problem, " WHEN {cond} THEN {msg}");
        let _ = write!(kept_value, " WHEN {cond} THEN {}", t(f));
    }
    for s in [&mut kept_field, &mut kept_problem, &mut kept_value] {
        if kept_checks.is_empty() {
            // SQL has no CASE without a WHEN.
            *s = "CAST(NULL AS VARCHAR)".to_owned();
        } else {
            s.push_str(" ELSE CAST(NULL AS VARCHAR) END");
        }
    }
    // A person listed twice would be counted twice everywhere; the later row is rejected. The
    // person_id is compared as a number, so that `012` and `12` in a CSV file are one person, as
    // they are once typed.
    let dedup = if spec.name == "persons" {
        let person_id = v("person_id").replace("r.\"", "r0.\"");
        format!("SELECT r0.*, row_number() OVER (PARTITION BY nhs_number_digits(NULLIF(TRIM(CAST(r0.nhs_number AS VARCHAR)), '')) ORDER BY r0.row_no) \
           + row_number() OVER (PARTITION BY {person_id} ORDER BY r0.row_no) - 1 AS dup_rank FROM r0")
    } else {
        "SELECT * FROM r0".to_owned()
    };
    let typed_cols: Vec<String> = spec.columns.iter().map(|c| c.name.to_owned()).collect();
    format!(
        "WITH r0 AS (SELECT {row_no} AS row_no, * FROM {raw}), r AS ({dedup}), \
         t AS (SELECT r.row_no, {typed}, {field} AS problem_field_0, {problem} AS problem_0, {value} AS problem_value_0, \
           {kept_field} AS kept_field_0, {kept_problem} AS kept_problem_0, {kept_value} AS kept_value_0 FROM r{joins}) \
         SELECT row_no + {line_offset} AS line, {cols}, \
           problem_field_0 AS problem_field, problem_0 AS problem, problem_value_0 AS problem_value, \
           kept_field_0 AS kept_field, kept_problem_0 AS kept_problem, kept_value_0 AS kept_value FROM t",
        typed = typed.join(", "),
        dedup = dedup,
        row_no = if has_line_column {
            format!("CAST(\"{}\" AS BIGINT)", fhir_input::LINE_COLUMN)
        } else {
            "row_number() OVER ()".to_owned()
        },
        cols = typed_cols.join(", "),
    )
}

/// `<input>/<ext>/<table>.<ext>` or `<input>/<table>.<ext>`, the first that exists; for Parquet,
/// then a folder `<input>/parquet/<table>/` of Parquet files (one per place of a multi-place
/// synthetic extract), read as one table.
fn tabular_file(input: &Path, table: &str, ext: &str) -> Option<PathBuf> {
    [
        input.join(ext).join(format!("{table}.{ext}")),
        input.join(format!("{table}.{ext}")),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .or_else(|| {
        let folder = input.join(ext).join(table);
        (ext == "parquet" && folder.is_dir()).then_some(folder)
    })
}

/// The path DataFusion lists for a table: a folder needs a trailing separator to be read as a
/// folder of files rather than one file.
fn listing_path(path: &Path) -> String {
    let text = path.to_string_lossy().into_owned();
    if path.is_dir() && !text.ends_with(std::path::MAIN_SEPARATOR) {
        format!("{text}{}", std::path::MAIN_SEPARATOR)
    } else {
        text
    }
}

/// A FHIR export read for this run, with the folder it came from.
struct ChosenFhir {
    folder: PathBuf,
    extract: fhir_input::FhirExtract,
}

/// Reads the FHIR export when the run reads FHIR: always with `fhir`, and with `auto` when there is
/// no Parquet or CSV person table but there are NDJSON files.
async fn read_fhir_if_chosen(
    ctx: &SessionContext,
    input: &Path,
    format: InputFormat,
) -> Result<Option<ChosenFhir>, PopulationError> {
    let tabular_persons =
        tabular_file(input, "persons", "parquet").or_else(|| tabular_file(input, "persons", "csv"));
    let folder = match format {
        InputFormat::Parquet | InputFormat::Csv => return Ok(None),
        InputFormat::Auto if tabular_persons.is_some() => return Ok(None),
        InputFormat::Auto => match fhir_input::export_folder(input) {
            Some(folder) => folder,
            None => return Ok(None),
        },
        InputFormat::Fhir => {
            fhir_input::export_folder(input).ok_or_else(|| PopulationError::NoFhirPatients {
                folder: input.to_path_buf(),
            })?
        }
    };
    // A person's LSOA comes from their postcode, through the extract's postcode table.
    let postcodes_file = tabular_file(input, "postcodes", "parquet")
        .or_else(|| tabular_file(input, "postcodes", "csv"))
        .ok_or_else(|| PopulationError::MissingTable {
            table: "postcodes",
            folder: input.to_path_buf(),
        })?;
    let pairs = if postcodes_file.extension().is_none_or(|e| e != "csv") {
        ctx.read_parquet(listing_path(&postcodes_file), ParquetReadOptions::default())
            .await?
    } else {
        ctx.read_csv(
            postcodes_file.to_string_lossy().as_ref(),
            CsvReadOptions::new().has_header(true),
        )
        .await?
    }
    .select_columns(&["postcode", "lsoa_code"])?
    .collect()
    .await?;
    let mut postcodes = std::collections::HashMap::new();
    for b in &pairs {
        let pc = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8)?;
        let lsoa = datafusion::arrow::compute::cast(b.column(1), &DataType::Utf8)?;
        let (pc, lsoa) = (pc.as_string::<i32>(), lsoa.as_string::<i32>());
        for i in 0..b.num_rows() {
            postcodes.insert(pc.value(i).to_owned(), lsoa.value(i).to_owned());
        }
    }
    let social = ctx
        .sql("SELECT code FROM codelists WHERE codelist = 'social_needs'")
        .await?
        .collect()
        .await?;
    let mut social_needs = std::collections::HashSet::new();
    for b in &social {
        let codes = b.column(0).as_string::<i32>();
        for i in 0..b.num_rows() {
            social_needs.insert(codes.value(i).to_owned());
        }
    }
    let extract = fhir_input::read_export(&folder, &postcodes, &social_needs)?;
    Ok(Some(ChosenFhir { folder, extract }))
}

/// Adds the export's own counts and refused lines to the report: one summary row per NDJSON file
/// (read = placed + not used + refused), one diagnostic per refused line, and a warning per kind of
/// resource the engine does not use.
fn fhir_report(
    x: fhir_input::FhirExtract,
    report: &mut IngestReport,
) -> Result<(), PopulationError> {
    for f in &x.files {
        let name = f.file.file_name().map_or_else(
            || f.file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        report.tables.push(TableSummary {
            table: format!("fhir {name}"),
            file: Some(f.file.clone()),
            required: false,
            read: f.read,
            accepted: f.placed + f.not_used,
            rejected: f.refused,
            values_ignored: 0,
        });
    }
    for (why, n) in &x.not_used {
        report
            .warnings
            .push(format!("{n} FHIR resources not used: {why}"));
    }
    if !x.problems.is_empty() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("file", DataType::Utf8, false),
            Field::new("line", DataType::Int64, false),
            Field::new("field", DataType::Utf8, false),
            Field::new("problem", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, false),
            Field::new("outcome", DataType::Utf8, false),
        ]));
        let p = &x.problems;
        let text = |f: &dyn Fn(&fhir_input::LineProblem) -> String| {
            Arc::new(datafusion::arrow::array::StringArray::from(
                p.iter().map(f).collect::<Vec<_>>(),
            )) as datafusion::arrow::array::ArrayRef
        };
        let batch = RecordBatch::try_new(
            schema,
            vec![
                text(&|l| l.file.display().to_string()),
                Arc::new(datafusion::arrow::array::Int64Array::from(
                    p.iter().map(|l| l.line).collect::<Vec<_>>(),
                )),
                text(&|l| l.field.clone()),
                text(&|l| l.problem.clone()),
                text(&|l| l.value.clone()),
                text(&|_| "line refused".to_owned()),
            ],
        )?;
        report.diagnostics.push(batch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> &'static TableSpec {
        TABLES.iter().find(|t| t.name == name).expect("table")
    }

    fn schema(spec: &TableSpec, typed: bool) -> Schema {
        Schema::new(
            spec.columns
                .iter()
                .map(|c| {
                    let t = if typed {
                        typed_type(c.kind)
                    } else {
                        DataType::Utf8
                    };
                    Field::new(c.name, t, true)
                })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_typed_column_is_checked_as_read_and_a_text_column_is_parsed() {
        let date = NaiveDate::from_ymd_opt(2025, 1, 1).expect("date");
        let gp = spec("gp_appointments");
        let typed = check_sql(gp, "raw", &schema(gp, true), date, 0, true);
        assert!(!typed.contains("TRY_CAST"), "{typed}");
        assert!(!typed.contains("row_number()"), "{typed}");
        assert!(
            typed.contains("r.\"appointment_date\" < DATE '1880-01-01'"),
            "{typed}"
        );
        let text = check_sql(gp, "raw", &schema(gp, false), date, 1, false);
        assert!(text.contains("TRY_CAST"), "{text}");
        assert!(text.contains("not a date"), "{text}");
        assert!(text.contains("row_number() OVER ()"), "{text}");
    }
}
