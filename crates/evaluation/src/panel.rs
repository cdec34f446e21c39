//! Service use per person per calendar month, read from the extract through the population
//! engine's checked ingest (so a bad extract row is reported the same way as in a population run)
//! and its features (long-term conditions, eFI, Charlson).
//!
//! The heavy lifting (typing, checking, counting events per person and month) is SQL in DataFusion;
//! what comes back is compact: one row per person and a sorted list of (person, month, outcome,
//! amount) that the matching and the estimates walk.

use std::collections::HashMap;
use std::path::Path;

use careweave_domain::NhsNumber;
use careweave_population::{Codelists, Engine, RunSettings};
use chrono::{Datelike, Months, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};

use crate::outcome::Outcome;
use crate::EvaluationError;

/// One person of the extract, with what matching needs.
#[derive(Debug, Clone)]
pub struct Person {
    pub nhs_number: NhsNumber,
    pub date_of_birth: NaiveDate,
    pub female: bool,
    /// The NHS Data Dictionary ethnic category letter, when recorded.
    pub ethnicity: Option<String>,
    /// 1 (most deprived) to 5; 0 when unknown.
    pub imd_quintile: u8,
    pub practice: String,
    pub pcn: String,
    /// Registered with the practice since (the start of the history when the extract does not say).
    pub registration: NaiveDate,
    pub death: Option<NaiveDate>,
    /// Long-term conditions, eFI and Charlson (Quan 2011) at the extract date; 0 for people outside
    /// the population at that date (who died or left).
    pub ltc_count: f64,
    pub efi: f64,
    pub charlson: f64,
    events: std::ops::Range<usize>,
}

/// One person's use of one kind of care in one calendar month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonthUse {
    /// Months since the first month of the history (0 = that month).
    pub month: u16,
    pub outcome: Outcome,
    pub amount: f64,
}

/// The extract as the evaluation sees it.
#[derive(Debug)]
pub struct Panel {
    pub people: Vec<Person>,
    pub by_nhs: HashMap<NhsNumber, usize>,
    uses: Vec<MonthUse>,
    /// The first day of the history's first whole month.
    pub first_month: NaiveDate,
    pub history_start: NaiveDate,
    pub extract_date: NaiveDate,
    /// Rows read, accepted and rejected per extract table (from the population engine's ingest).
    pub ingest: careweave_population::ingest::IngestReport,
}

/// The first day of `date`'s month.
#[must_use]
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// Whole months from `from`'s month to `to`'s month.
#[must_use]
pub fn months_between(from: NaiveDate, to: NaiveDate) -> i32 {
    (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32
}

impl Panel {
    /// A person's monthly use, ordered by month.
    #[must_use]
    pub fn uses(&self, person: usize) -> &[MonthUse] {
        &self.uses[self.people[person].events.clone()]
    }

    /// The first day of month index `m`.
    #[must_use]
    pub fn month_date(&self, m: i32) -> Option<NaiveDate> {
        if m < 0 {
            return self
                .first_month
                .checked_sub_months(Months::new(m.unsigned_abs()));
        }
        self.first_month.checked_add_months(Months::new(m as u32))
    }

    /// Person-years `person` was registered, alive and inside the history in month index `m`.
    #[must_use]
    pub fn person_years(&self, person: usize, m: i32) -> f64 {
        let (Some(from), Some(next)) = (self.month_date(m), self.month_date(m + 1)) else {
            return 0.0;
        };
        let p = &self.people[person];
        let start = from.max(p.registration).max(self.history_start);
        // Days after the last observed day (the extract date, or the day of death) are not at risk.
        let last = p
            .death
            .map_or(self.extract_date, |d| d.min(self.extract_date));
        let end = next.min(last.succ_opt().unwrap_or(last));
        let days = (end - start).num_days();
        if days <= 0 {
            0.0
        } else {
            days as f64 / 365.25
        }
    }

    /// Builds a panel from its parts (the tests' hand-made extracts use this).
    #[must_use]
    pub fn from_parts(
        mut people: Vec<Person>,
        mut uses: Vec<(usize, MonthUse)>,
        history_start: NaiveDate,
        extract_date: NaiveDate,
    ) -> Self {
        uses.sort_by_key(|u| (u.0, u.1.month));
        let mut flat = Vec::with_capacity(uses.len());
        let mut k = 0;
        for (i, p) in people.iter_mut().enumerate() {
            let from = flat.len();
            while k < uses.len() && uses[k].0 == i {
                flat.push(uses[k].1);
                k += 1;
            }
            p.events = from..flat.len();
        }
        let by_nhs = people
            .iter()
            .enumerate()
            .map(|(i, p)| (p.nhs_number, i))
            .collect();
        Self {
            people,
            by_nhs,
            uses: flat,
            first_month: month_start(history_start),
            history_start,
            extract_date,
            ingest: careweave_population::ingest::IngestReport {
                tables: Vec::new(),
                diagnostics: Vec::new(),
                warnings: Vec::new(),
                unknown_codes: Vec::new(),
            },
        }
    }
}

impl Person {
    /// A person for hand-made panels.
    #[must_use]
    pub fn new(nhs_number: NhsNumber, date_of_birth: NaiveDate, registration: NaiveDate) -> Self {
        Self {
            nhs_number,
            date_of_birth,
            female: false,
            ethnicity: None,
            imd_quintile: 0,
            practice: String::new(),
            pcn: String::new(),
            registration,
            death: None,
            ltc_count: 0.0,
            efi: 0.0,
            charlson: 0.0,
            events: 0..0,
        }
    }
}

/// The extract's dates from its `manifest.json`, when there is one.
fn manifest_dates(input: &Path) -> Option<(NaiveDate, NaiveDate)> {
    let text = std::fs::read_to_string(input.join("manifest.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let date = |k: &str| json.get(k)?.as_str()?.parse::<NaiveDate>().ok();
    Some((date("history_start")?, date("extract_date")?))
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, EvaluationError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| EvaluationError::Extract(format!("the query gave no column {name}")))
}

fn strings(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>, EvaluationError> {
    let a = cast(column(batch, name)?, &DataType::Utf8)?;
    let a = a.as_string::<i32>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i).to_owned()))
        .collect())
}

fn numbers(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>, EvaluationError> {
    let a = cast(column(batch, name)?, &DataType::Float64)?;
    let a = a.as_primitive::<Float64Type>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect())
}

fn dates(batch: &RecordBatch, name: &str) -> Result<Vec<Option<NaiveDate>>, EvaluationError> {
    let a = cast(column(batch, name)?, &DataType::Date32)?;
    let a = a.as_primitive::<Date32Type>();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| epoch + chrono::Duration::days(i64::from(a.value(i)))))
        .collect())
}

/// Registers `eval_registration(person_id, registration)` from the extract's persons file.
async fn register_registration(
    ctx: &datafusion::prelude::SessionContext,
    input: &Path,
) -> Result<(), EvaluationError> {
    use datafusion::prelude::{CsvReadOptions, ParquetReadOptions};
    let found = |ext: &str| {
        [
            input.join(ext).join(format!("persons.{ext}")),
            input.join(format!("persons.{ext}")),
        ]
        .into_iter()
        .find(|p| p.is_file())
    };
    if let Some(p) = found("parquet") {
        ctx.register_parquet(
            "eval_persons",
            p.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await?;
    } else if let Some(p) = found("csv") {
        ctx.register_csv(
            "eval_persons",
            p.to_string_lossy().as_ref(),
            CsvReadOptions::new().has_header(true),
        )
        .await?;
    } else {
        return Err(EvaluationError::Extract("no persons file".to_owned()));
    }
    let has = ctx
        .table("eval_persons")
        .await?
        .schema()
        .fields()
        .iter()
        .any(|f| f.name() == "registration_date");
    let value = if has {
        "TRY_CAST(CAST(registration_date AS VARCHAR) AS DATE)"
    } else {
        "CAST(NULL AS DATE)"
    };
    ctx.sql(&format!(
        "CREATE OR REPLACE VIEW eval_registration AS SELECT TRY_CAST(person_id AS BIGINT) AS person_id, {value} AS registration FROM eval_persons"
    ))
    .await?
    .collect()
    .await?;
    Ok(())
}

/// Reads the extract in `input` (the folder `careweave synth` writes, or a deployment's own) into a
/// panel. `history_start` and `extract_date` come from the settings or the extract's manifest;
/// `codelists` are the population engine's (the extract's codes must be in them, or its rows are refused).
///
/// # Errors
/// A required table or column is missing, the dates are unknown, or a query fails.
pub async fn read_extract(
    input: &Path,
    codelists: Codelists,
    history_start: Option<NaiveDate>,
    extract_date: Option<NaiveDate>,
) -> Result<Panel, EvaluationError> {
    let from_manifest = manifest_dates(input);
    let history_start = history_start
        .or(from_manifest.map(|d| d.0))
        .ok_or_else(|| {
            EvaluationError::Config(
                "history_start is not set and the extract has no manifest.json that says it"
                    .to_owned(),
            )
        })?;
    let extract_date = extract_date.or(from_manifest.map(|d| d.1)).ok_or_else(|| {
        EvaluationError::Config(
            "extract_date is not set and the extract has no manifest.json that says it".to_owned(),
        )
    })?;

    let mut settings = RunSettings::defaults()?;
    settings.config.index_date = extract_date;
    settings.config.extract_date = Some(extract_date);
    let engine = Engine::new(settings.clone(), codelists)?;
    let ctx = engine.context();
    let ingest = careweave_population::ingest::ingest(
        ctx,
        input,
        extract_date,
        careweave_population::config::InputFormat::Auto,
    )
    .await?;
    careweave_population::engine::build_features(ctx, &settings, engine.reference()).await?;

    // The engine's checked persons table does not carry the registration date; it is read again
    // from the persons file (typed or text), and a value that is not a date counts as
    // "registered throughout". The file is the one ingest read: Parquet first, then CSV.
    register_registration(ctx, input).await?;
    let people_sql = "SELECT p.nhs_number, p.date_of_birth, p.sex, p.ethnicity, p.practice, pr.pcn, \
           CAST((l.imd_decile + 1) / 2 AS BIGINT) AS imd_quintile, p.date_of_death, r.registration, \
           f.ltc_count, f.efi, f.charlson_quan_2011 AS charlson \
         FROM patients p \
         LEFT JOIN practices pr ON pr.practice = p.practice \
         LEFT JOIN lsoas l ON l.lsoa = p.lsoa \
         LEFT JOIN eval_registration r ON r.person_id = p.person_id \
         LEFT JOIN person_features f ON f.nhs_number = p.nhs_number \
         ORDER BY p.person_id";
    let batches = ctx.sql(people_sql).await?.collect().await?;
    let mut people = Vec::new();
    for b in &batches {
        let nhs = strings(b, "nhs_number")?;
        let dob = dates(b, "date_of_birth")?;
        let sex = strings(b, "sex")?;
        let eth = strings(b, "ethnicity")?;
        let practice = strings(b, "practice")?;
        let pcn = strings(b, "pcn")?;
        let imd = numbers(b, "imd_quintile")?;
        let death = dates(b, "date_of_death")?;
        let reg = dates(b, "registration")?;
        let ltc = numbers(b, "ltc_count")?;
        let efi = numbers(b, "efi")?;
        let charlson = numbers(b, "charlson")?;
        for i in 0..b.num_rows() {
            let (Some(n), Some(d)) = (&nhs[i], dob[i]) else {
                continue;
            };
            let Ok(n) = n.parse::<NhsNumber>() else {
                continue;
            };
            people.push(Person {
                nhs_number: n,
                date_of_birth: d,
                female: sex[i].as_deref() == Some("female"),
                ethnicity: eth[i].clone(),
                imd_quintile: imd[i].map_or(0, |q| q.clamp(0.0, 5.0) as u8),
                practice: practice[i].clone().unwrap_or_default(),
                pcn: pcn[i].clone().unwrap_or_default(),
                registration: reg[i].unwrap_or(history_start),
                death: death[i],
                ltc_count: ltc[i].unwrap_or(0.0),
                efi: efi[i].unwrap_or(0.0),
                charlson: charlson[i].unwrap_or(0.0),
                events: 0..0,
            });
        }
    }
    let index: HashMap<NhsNumber, usize> = people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.nhs_number, i))
        .collect();

    let first = month_start(history_start);
    let month = |col: &str| {
        format!(
            "((CAST(date_part('year', {col}) AS BIGINT) - {}) * 12 + CAST(date_part('month', {col}) AS BIGINT) - {})",
            first.year(),
            first.month()
        )
    };
    let o = |x: Outcome| x.index();
    let uses_sql = format!(
        "SELECT nhs_number, m, o, sum(v) AS v FROM ( \
           SELECT nhs_number, {gp} AS m, CASE WHEN attended THEN {gpa} ELSE {dna} END AS o, 1.0 AS v FROM gp_appointments \
           UNION ALL SELECT nhs_number, {ae}, {aeo}, 1.0 FROM ae_attendances \
           UNION ALL SELECT nhs_number, {adm}, CASE WHEN emergency THEN {em} ELSE {el} END, 1.0 FROM admissions \
           UNION ALL SELECT nhs_number, {adm}, {bd}, CAST(CAST(discharged AS INT) - CAST(admitted AS INT) AS DOUBLE) FROM admissions \
           UNION ALL SELECT nhs_number, {gp}, {op}, 1.0 FROM outpatients WHERE attended \
           UNION ALL SELECT nhs_number, {gp}, {cc}, 1.0 FROM community_contacts \
           UNION ALL SELECT nhs_number, {gp}, {mh}, 1.0 FROM mental_health_contacts \
         ) u WHERE m >= 0 GROUP BY nhs_number, m, o",
        gp = month("date"),
        ae = month("date"),
        adm = month("admitted"),
        gpa = o(Outcome::GpAppointments),
        dna = o(Outcome::GpDnas),
        aeo = o(Outcome::AeAttendances),
        em = o(Outcome::EmergencyAdmissions),
        el = o(Outcome::ElectiveAdmissions),
        bd = o(Outcome::BedDays),
        op = o(Outcome::Outpatients),
        cc = o(Outcome::CommunityContacts),
        mh = o(Outcome::MentalHealthContacts),
    );
    let mut uses = Vec::new();
    for b in ctx.sql(&uses_sql).await?.collect().await? {
        let nhs = strings(&b, "nhs_number")?;
        let m = cast(column(&b, "m")?, &DataType::Int64)?;
        let m = m.as_primitive::<Int64Type>();
        let out = cast(column(&b, "o")?, &DataType::Int64)?;
        let out = out.as_primitive::<Int64Type>();
        let v = numbers(&b, "v")?;
        for i in 0..b.num_rows() {
            let person = nhs[i]
                .as_deref()
                .and_then(|n| n.parse::<NhsNumber>().ok())
                .and_then(|n| index.get(&n).copied());
            let outcome = usize::try_from(out.value(i))
                .ok()
                .and_then(Outcome::from_index);
            let (Some(person), Some(outcome), Ok(month)) =
                (person, outcome, u16::try_from(m.value(i)))
            else {
                continue;
            };
            uses.push((
                person,
                MonthUse {
                    month,
                    outcome,
                    amount: v[i].unwrap_or(0.0),
                },
            ));
        }
    }
    let mut panel = Panel::from_parts(people, uses, history_start, extract_date);
    panel.ingest = ingest;
    Ok(panel)
}
