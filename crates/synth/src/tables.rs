//! The extract's tables as column buffers, and their CSV and Arrow forms.
//!
//! A chunk of people fills one [`TableBuf`] per table; a worker thread turns it into CSV bytes and an
//! Arrow record batch, and the writer thread appends those to the files in chunk order. The schema
//! here is the one documented in `docs/extract-schema.md`.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use chrono::{Datelike, NaiveDate};

use crate::SynthError;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Date,
    OptDate,
    Float,
    Bool,
    Str,
    OptStr,
}

/// A table's name and columns.
#[derive(Debug)]
pub(crate) struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

use Kind::{Bool, Date, Float, Int, OptDate, OptStr, Str};

pub(crate) const PCNS: TableSpec = TableSpec {
    name: "pcns",
    columns: &[("pcn_code", Str), ("name", Str)],
};
pub(crate) const PRACTICES: TableSpec = TableSpec {
    name: "practices",
    columns: &[
        ("ods_code", Str),
        ("name", Str),
        ("pcn_code", Str),
        ("postcode", Str),
        ("latitude", Float),
        ("longitude", Float),
    ],
};
pub(crate) const LSOAS: TableSpec = TableSpec {
    name: "lsoas",
    columns: &[
        ("lsoa_code", Str),
        ("name", Str),
        ("imd_decile", Int),
        ("imd_quintile", Int),
        ("latitude", Float),
        ("longitude", Float),
    ],
};
pub(crate) const POSTCODES: TableSpec = TableSpec {
    name: "postcodes",
    columns: &[
        ("postcode", Str),
        ("lsoa_code", Str),
        ("latitude", Float),
        ("longitude", Float),
    ],
};
pub(crate) const HOUSEHOLDS: TableSpec = TableSpec {
    name: "households",
    columns: &[
        ("household_id", Int),
        ("household_type", Str),
        ("postcode", Str),
        ("lsoa_code", Str),
        ("size", Int),
    ],
};
pub(crate) const PERSONS: TableSpec = TableSpec {
    name: "persons",
    columns: &[
        ("person_id", Int),
        ("nhs_number", Str),
        ("given_name", Str),
        ("family_name", Str),
        ("date_of_birth", Date),
        ("sex", Str),
        ("ethnic_category", Str),
        ("postcode", Str),
        ("lsoa_code", Str),
        ("practice_ods_code", Str),
        ("household_id", Int),
        ("registration_date", Date),
        ("date_of_death", OptDate),
    ],
};
pub(crate) const CONDITIONS: TableSpec = TableSpec {
    name: "conditions",
    columns: &[
        ("person_id", Int),
        ("condition", Str),
        ("snomed_code", Str),
        ("onset_date", Date),
    ],
};
pub(crate) const SOCIAL_NEEDS: TableSpec = TableSpec {
    name: "social_needs",
    columns: &[
        ("person_id", Int),
        ("need", Str),
        ("snomed_code", Str),
        ("recorded_date", Date),
    ],
};
pub(crate) const FRAILTY_DEFICITS: TableSpec = TableSpec {
    name: "frailty_deficits",
    columns: &[
        ("person_id", Int),
        ("deficit", Str),
        ("snomed_code", OptStr),
        ("recorded_date", Date),
    ],
};
pub(crate) const MEDICATION_COUNTS: TableSpec = TableSpec {
    name: "medication_counts",
    columns: &[
        ("person_id", Int),
        ("period_end", Date),
        ("repeat_medications", Int),
    ],
};
pub(crate) const GP_APPOINTMENTS: TableSpec = TableSpec {
    name: "gp_appointments",
    columns: &[
        ("person_id", Int),
        ("appointment_date", Date),
        ("staff_type", Str),
        ("attended", Bool),
    ],
};
pub(crate) const AE_ATTENDANCES: TableSpec = TableSpec {
    name: "ae_attendances",
    columns: &[
        ("person_id", Int),
        ("attendance_date", Date),
        ("admitted", Bool),
    ],
};
pub(crate) const ADMISSIONS: TableSpec = TableSpec {
    name: "admissions",
    columns: &[
        ("admission_id", Int),
        ("person_id", Int),
        ("admission_date", Date),
        ("discharge_date", Date),
        ("admission_method", Str),
        ("bed_days", Int),
        ("primary_diagnosis", Str),
    ],
};
pub(crate) const ADMISSION_DIAGNOSES: TableSpec = TableSpec {
    name: "admission_diagnoses",
    columns: &[
        ("admission_id", Int),
        ("position", Int),
        ("icd10_code", Str),
    ],
};
pub(crate) const OUTPATIENTS: TableSpec = TableSpec {
    name: "outpatients",
    columns: &[
        ("person_id", Int),
        ("appointment_date", Date),
        ("treatment_function_code", Str),
        ("attended", Bool),
    ],
};
pub(crate) const COMMUNITY_CONTACTS: TableSpec = TableSpec {
    name: "community_contacts",
    columns: &[("person_id", Int), ("contact_date", Date), ("service", Str)],
};
pub(crate) const MENTAL_HEALTH_CONTACTS: TableSpec = TableSpec {
    name: "mental_health_contacts",
    columns: &[("person_id", Int), ("contact_date", Date), ("service", Str)],
};

/// The place tables, written once before the people.
pub(crate) const PLACE_TABLES: [&TableSpec; 5] =
    [&PCNS, &PRACTICES, &LSOAS, &POSTCODES, &HOUSEHOLDS];
/// The person-level tables, written chunk by chunk, in this order.
pub(crate) const PERSON_TABLES: [&TableSpec; 12] = [
    &PERSONS,
    &CONDITIONS,
    &SOCIAL_NEEDS,
    &FRAILTY_DEFICITS,
    &MEDICATION_COUNTS,
    &GP_APPOINTMENTS,
    &AE_ATTENDANCES,
    &ADMISSIONS,
    &ADMISSION_DIAGNOSES,
    &OUTPATIENTS,
    &COMMUNITY_CONTACTS,
    &MENTAL_HEALTH_CONTACTS,
];

/// One cell, as pushed into a [`TableBuf`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum V<'a> {
    I(i64),
    D(NaiveDate),
    ND(Option<NaiveDate>),
    F(f64),
    B(bool),
    S(&'a str),
    NS(Option<&'a str>),
}

#[derive(Debug)]
enum Col<'a> {
    Int(Vec<i64>),
    Date(Vec<i32>),
    OptDate(Vec<Option<i32>>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Str(Vec<&'a str>),
    OptStr(Vec<Option<&'a str>>),
}

/// Days since 1970-01-01, Arrow's `Date32`.
fn days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - 719_163
}

/// Rows of one table for one chunk of people.
#[derive(Debug)]
pub(crate) struct TableBuf<'a> {
    pub spec: &'static TableSpec,
    cols: Vec<Col<'a>>,
    rows: usize,
}

impl<'a> TableBuf<'a> {
    pub fn new(spec: &'static TableSpec) -> Self {
        let cols = spec
            .columns
            .iter()
            .map(|(_, k)| match k {
                Int => Col::Int(Vec::new()),
                Date => Col::Date(Vec::new()),
                OptDate => Col::OptDate(Vec::new()),
                Float => Col::Float(Vec::new()),
                Bool => Col::Bool(Vec::new()),
                Str => Col::Str(Vec::new()),
                OptStr => Col::OptStr(Vec::new()),
            })
            .collect();
        Self {
            spec,
            cols,
            rows: 0,
        }
    }

    /// Appends a row. A cell of the wrong kind is a bug in this crate, caught by the unit tests.
    pub fn push(&mut self, row: &[V<'a>]) {
        debug_assert_eq!(row.len(), self.cols.len(), "{}", self.spec.name);
        for (col, v) in self.cols.iter_mut().zip(row) {
            match (col, *v) {
                (Col::Int(c), V::I(x)) => c.push(x),
                (Col::Date(c), V::D(x)) => c.push(days(x)),
                (Col::OptDate(c), V::ND(x)) => c.push(x.map(days)),
                (Col::Float(c), V::F(x)) => c.push(x),
                (Col::Bool(c), V::B(x)) => c.push(x),
                (Col::Str(c), V::S(x)) => c.push(x),
                (Col::OptStr(c), V::NS(x)) => c.push(x),
                (_, v) => panic!("cell {v:?} does not fit table {}", self.spec.name),
            }
        }
        self.rows += 1;
    }

    /// The Arrow schema of a table.
    pub fn schema(spec: &TableSpec) -> SchemaRef {
        Arc::new(Schema::new(
            spec.columns
                .iter()
                .map(|(name, k)| {
                    let (t, nullable) = match k {
                        Int => (DataType::Int64, false),
                        Date => (DataType::Date32, false),
                        OptDate => (DataType::Date32, true),
                        Float => (DataType::Float64, false),
                        Bool => (DataType::Boolean, false),
                        Str => (DataType::Utf8, false),
                        OptStr => (DataType::Utf8, true),
                    };
                    Field::new(*name, t, nullable)
                })
                .collect::<Vec<_>>(),
        ))
    }

    /// The rows as an Arrow record batch.
    pub fn to_batch(&self) -> Result<RecordBatch, SynthError> {
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Int(v) => Arc::new(Int64Array::from(v.clone())),
                    Col::Date(v) => Arc::new(Date32Array::from(v.clone())),
                    Col::OptDate(v) => Arc::new(Date32Array::from(v.clone())),
                    Col::Float(v) => Arc::new(Float64Array::from(v.clone())),
                    Col::Bool(v) => Arc::new(BooleanArray::from(v.clone())),
                    Col::Str(v) => Arc::new(StringArray::from_iter_values(v.iter())),
                    Col::OptStr(v) => Arc::new(StringArray::from(v.clone())),
                }
            })
            .collect();
        Ok(RecordBatch::try_new(Self::schema(self.spec), arrays)?)
    }

    /// The rows as CSV bytes, without the header, through careweave's one CSV writer.
    pub fn to_csv(&self) -> Result<Vec<u8>, SynthError> {
        let mut w = careweave_csv::Writer::new();
        let mut fields: Vec<String> = vec![String::with_capacity(32); self.cols.len()];
        for r in 0..self.rows {
            for (field, c) in fields.iter_mut().zip(&self.cols) {
                field.clear();
                match c {
                    Col::Int(v) => push_int(field, v[r]),
                    Col::Date(v) => push_date(field, v[r]),
                    Col::OptDate(v) => {
                        if let Some(d) = v[r] {
                            push_date(field, d);
                        }
                    }
                    Col::Float(v) => {
                        use std::fmt::Write;
                        let _ = write!(field, "{:.6}", v[r]);
                    }
                    Col::Bool(v) => field.push_str(if v[r] { "true" } else { "false" }),
                    Col::Str(v) => field.push_str(v[r]),
                    Col::OptStr(v) => field.push_str(v[r].unwrap_or("")),
                }
            }
            w.record(&fields);
        }
        Ok(w.finish().into_bytes())
    }
}

/// The CSV header line of a table.
pub(crate) fn csv_header(spec: &TableSpec) -> Result<Vec<u8>, SynthError> {
    Ok(
        careweave_csv::Writer::with_header(spec.columns.iter().map(|(n, _)| *n))
            .finish()
            .into_bytes(),
    )
}

fn push_int(s: &mut String, v: i64) {
    use std::fmt::Write;
    let _ = write!(s, "{v}");
}

/// A date that displays as `YYYY-MM-DD` quickly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IsoDate(pub NaiveDate);

impl std::fmt::Display for IsoDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::with_capacity(10);
        push_date(&mut s, days(self.0));
        f.write_str(&s)
    }
}

/// Writes an Arrow `Date32` as `YYYY-MM-DD` without going through chrono's formatter, which is slow.
fn push_date(s: &mut String, days_since_epoch: i32) {
    let d = NaiveDate::from_num_days_from_ce_opt(days_since_epoch + 719_163).unwrap_or_default();
    let (y, m, dd) = (d.year(), d.month(), d.day());
    let digits = [
        (y / 1000 % 10) as u8,
        (y / 100 % 10) as u8,
        (y / 10 % 10) as u8,
        (y % 10) as u8,
        (m / 10) as u8,
        (m % 10) as u8,
        (dd / 10) as u8,
        (dd % 10) as u8,
    ];
    for (i, g) in digits.iter().enumerate() {
        if i == 4 || i == 6 {
            s.push('-');
        }
        s.push(char::from(b'0' + g));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_rows_format_as_csv() {
        let mut t = TableBuf::new(&MEDICATION_COUNTS);
        let d = NaiveDate::from_ymd_opt(2024, 3, 9).expect("date");
        t.push(&[V::I(7), V::D(d), V::I(3)]);
        assert_eq!(
            String::from_utf8(t.to_csv().expect("csv")).expect("utf8"),
            "7,2024-03-09,3\r\n"
        );
        assert_eq!(t.to_batch().expect("batch").num_rows(), 1);
        assert_eq!(
            csv_header(&MEDICATION_COUNTS).expect("header"),
            b"person_id,period_end,repeat_medications\r\n"
        );
    }
}
