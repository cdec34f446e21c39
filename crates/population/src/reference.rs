//! The score reference tables of `data/`, read by their header into typed rows and checked once at
//! start-up, then registered as DataFusion tables.
//!
//! Reading by header (not by position) means a reordered or widened file still loads, and a missing
//! column, a weight that is not a number or a row with an unquoted comma stops the engine with the
//! file and line, instead of silently scoring with the wrong column. The Charlson hierarchy (which
//! severe form replaces which mild one) is a column of `charlson_weights.csv`, not Rust code.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde::Deserialize;

use crate::codelists::read_rows;
use crate::PopulationError;

/// One ICD-10 code of a Charlson category (Quan 2005).
#[derive(Debug, Clone, Deserialize)]
pub struct CharlsonCode {
    pub category: String,
    pub code: String,
}

/// A Charlson category with its two published weightings and, for the milder form of a pair, the
/// severe category that replaces it when both are present.
#[derive(Debug, Clone, Deserialize)]
pub struct CharlsonWeight {
    pub category: String,
    pub label: String,
    pub charlson_1987: i64,
    pub quan_2011: i64,
    #[serde(default)]
    pub replaced_by: Option<String>,
}

/// One category of the Hospital Frailty Risk Score.
#[derive(Debug, Clone, Deserialize)]
pub struct HfrsWeight {
    pub code: String,
    pub weight: f64,
}

/// One condition of the Cambridge Multimorbidity Score.
#[derive(Debug, Clone, Deserialize)]
pub struct CmsCondition {
    pub condition: String,
    pub label: String,
    pub weight: f64,
    /// Space-separated codelist names.
    pub codelists: String,
    /// Counts only when first recorded within this many years of the index date.
    #[serde(default)]
    pub window_years: Option<u32>,
}

/// One deficit of the electronic Frailty Index.
#[derive(Debug, Clone, Deserialize)]
pub struct EfiDeficit {
    pub deficit: String,
    pub label: String,
    /// Space-separated codelist names.
    pub codelists: String,
}

/// An ICD-10 category whose emergency admission marks a long-term condition as unstable.
#[derive(Debug, Clone, Deserialize)]
pub struct LtcCode {
    pub condition: String,
    pub code: String,
}

/// Every reference table, typed.
#[derive(Debug, Clone)]
pub struct Reference {
    pub charlson_codes: Vec<CharlsonCode>,
    pub charlson_weights: Vec<CharlsonWeight>,
    pub hfrs: Vec<HfrsWeight>,
    pub cms: Vec<CmsCondition>,
    pub efi: Vec<EfiDeficit>,
    pub ltc: Vec<LtcCode>,
}

fn load<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<Vec<T>, PopulationError> {
    read_rows(text).map_err(|why| PopulationError::Config {
        what: format!("reference table {file}"),
        why,
    })
}

fn refuse<T>(file: &str, why: String) -> Result<T, PopulationError> {
    Err(PopulationError::Config {
        what: format!("reference table {file}"),
        why,
    })
}

/// Normalises the ICD-10 codes of a table, refusing a malformed one with its line.
fn icd10_codes<'a>(
    file: &str,
    codes: impl Iterator<Item = &'a mut String>,
) -> Result<(), PopulationError> {
    for (i, code) in codes.enumerate() {
        match crate::icd10::normalise(code) {
            Some(n) => *code = n,
            None => {
                return refuse(
                    file,
                    format!("line {}: {code:?} is not an ICD-10 code", i + 2),
                )
            }
        }
    }
    Ok(())
}

impl Reference {
    /// The tables compiled in from `data/`, checked.
    ///
    /// # Errors
    /// A file that does not read into its rows, or rows that contradict each other (a Charlson
    /// code of an unknown category, a hierarchy naming an unknown category); the shipped files
    /// pass, which a test checks.
    pub fn shipped() -> Result<Self, PopulationError> {
        let mut me = Self {
            charlson_codes: load(
                "charlson_quan2005_icd10.csv",
                include_str!("../data/charlson_quan2005_icd10.csv"),
            )?,
            charlson_weights: load(
                "charlson_weights.csv",
                include_str!("../data/charlson_weights.csv"),
            )?,
            hfrs: load("hfrs_icd10.csv", include_str!("../data/hfrs_icd10.csv"))?,
            cms: load(
                "cms_payne2020.csv",
                include_str!("../data/cms_payne2020.csv"),
            )?,
            efi: load(
                "efi_clegg2016.csv",
                include_str!("../data/efi_clegg2016.csv"),
            )?,
            ltc: load("ltc_icd10.csv", include_str!("../data/ltc_icd10.csv"))?,
        };
        icd10_codes(
            "charlson_quan2005_icd10.csv",
            me.charlson_codes.iter_mut().map(|r| &mut r.code),
        )?;
        icd10_codes("hfrs_icd10.csv", me.hfrs.iter_mut().map(|r| &mut r.code))?;
        icd10_codes("ltc_icd10.csv", me.ltc.iter_mut().map(|r| &mut r.code))?;
        me.check()?;
        Ok(me)
    }

    fn check(&self) -> Result<(), PopulationError> {
        let categories: BTreeSet<&str> = self
            .charlson_weights
            .iter()
            .map(|w| w.category.as_str())
            .collect();
        let ident = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        for w in &self.charlson_weights {
            if !ident(&w.category) {
                return refuse(
                    "charlson_weights.csv",
                    format!(
                        "category {:?} must be lower case letters, digits and _",
                        w.category
                    ),
                );
            }
            if let Some(severe) = &w.replaced_by {
                if !categories.contains(severe.as_str()) || severe == &w.category {
                    return refuse(
                        "charlson_weights.csv",
                        format!(
                            "{}: replaced_by names {severe:?}, which is not another category",
                            w.category
                        ),
                    );
                }
            }
        }
        for (i, c) in self.charlson_codes.iter().enumerate() {
            if !categories.contains(c.category.as_str()) {
                return refuse(
                    "charlson_quan2005_icd10.csv",
                    format!(
                        "line {}: category {:?} is not in charlson_weights.csv",
                        i + 2,
                        c.category
                    ),
                );
            }
        }
        for d in &self.efi {
            if !ident(&d.deficit) {
                return refuse(
                    "efi_clegg2016.csv",
                    format!(
                        "deficit {:?} must be lower case letters, digits and _",
                        d.deficit
                    ),
                );
            }
        }
        Ok(())
    }

    /// Every codelist name the score tables refer to.
    pub fn codelist_names(&self) -> impl Iterator<Item = &str> {
        self.cms
            .iter()
            .flat_map(|c| c.codelists.split_whitespace())
            .chain(self.efi.iter().flat_map(|d| d.codelists.split_whitespace()))
    }

    /// Registers `charlson_map(category, code)`, `charlson_weights`, `hfrs_weights(code, weight)`,
    /// `cms_codelists(condition, weight, window_years, codelist)`, `efi_codelists(deficit,
    /// codelist)` and `ltc_icd10(condition, code)`.
    ///
    /// # Errors
    /// Only if DataFusion refuses a table, which would be a bug.
    pub fn register(&self, ctx: &SessionContext) -> Result<(), PopulationError> {
        let text = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
        let opt_text = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
        let c = &self.charlson_codes;
        table(
            ctx,
            "charlson_map",
            &[("category", DataType::Utf8), ("code", DataType::Utf8)],
            vec![
                text(c.iter().map(|r| r.category.as_str()).collect()),
                text(c.iter().map(|r| r.code.as_str()).collect()),
            ],
        )?;
        let w = &self.charlson_weights;
        table(
            ctx,
            "charlson_weights",
            &[
                ("category", DataType::Utf8),
                ("label", DataType::Utf8),
                ("charlson_1987", DataType::Int64),
                ("quan_2011", DataType::Int64),
                ("replaced_by", DataType::Utf8),
            ],
            vec![
                text(w.iter().map(|r| r.category.as_str()).collect()),
                text(w.iter().map(|r| r.label.as_str()).collect()),
                Arc::new(Int64Array::from(
                    w.iter().map(|r| r.charlson_1987).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    w.iter().map(|r| r.quan_2011).collect::<Vec<_>>(),
                )),
                opt_text(w.iter().map(|r| r.replaced_by.as_deref()).collect()),
            ],
        )?;
        table(
            ctx,
            "hfrs_weights",
            &[("code", DataType::Utf8), ("weight", DataType::Float64)],
            vec![
                text(self.hfrs.iter().map(|r| r.code.as_str()).collect()),
                Arc::new(Float64Array::from(
                    self.hfrs.iter().map(|r| r.weight).collect::<Vec<_>>(),
                )),
            ],
        )?;
        let cms: Vec<(&CmsCondition, &str)> = self
            .cms
            .iter()
            .flat_map(|c| c.codelists.split_whitespace().map(move |l| (c, l)))
            .collect();
        table(
            ctx,
            "cms_codelists",
            &[
                ("condition", DataType::Utf8),
                ("weight", DataType::Float64),
                ("window_years", DataType::Int64),
                ("codelist", DataType::Utf8),
            ],
            vec![
                text(cms.iter().map(|(c, _)| c.condition.as_str()).collect()),
                Arc::new(Float64Array::from(
                    cms.iter().map(|(c, _)| c.weight).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    cms.iter()
                        .map(|(c, _)| c.window_years.map(i64::from))
                        .collect::<Vec<_>>(),
                )),
                text(cms.iter().map(|(_, l)| *l).collect()),
            ],
        )?;
        let efi: Vec<(&EfiDeficit, &str)> = self
            .efi
            .iter()
            .flat_map(|d| d.codelists.split_whitespace().map(move |l| (d, l)))
            .collect();
        table(
            ctx,
            "efi_codelists",
            &[("deficit", DataType::Utf8), ("codelist", DataType::Utf8)],
            vec![
                text(efi.iter().map(|(d, _)| d.deficit.as_str()).collect()),
                text(efi.iter().map(|(_, l)| *l).collect()),
            ],
        )?;
        table(
            ctx,
            "ltc_icd10",
            &[("condition", DataType::Utf8), ("code", DataType::Utf8)],
            vec![
                text(self.ltc.iter().map(|r| r.condition.as_str()).collect()),
                text(self.ltc.iter().map(|r| r.code.as_str()).collect()),
            ],
        )?;
        Ok(())
    }
}

fn table(
    ctx: &SessionContext,
    name: &str,
    columns: &[(&str, DataType)],
    arrays: Vec<ArrayRef>,
) -> Result<(), PopulationError> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, t)| Field::new(*n, t.clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    ctx.register_table(
        name,
        Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_tables_read_by_header_and_pass_their_checks() {
        let r = Reference::shipped().expect("shipped tables");
        assert_eq!(r.charlson_weights.len(), 17);
        assert_eq!(r.hfrs.len(), 109);
        assert_eq!(r.cms.len(), 20);
        assert_eq!(r.efi.len(), 36);
        let replaced: Vec<(&str, &str)> = r
            .charlson_weights
            .iter()
            .filter_map(|w| Some((w.category.as_str(), w.replaced_by.as_deref()?)))
            .collect();
        assert_eq!(
            replaced,
            [("mld", "msld"), ("diab", "diabwc"), ("canc", "metacanc")]
        );
    }

    #[test]
    fn a_table_with_a_wrong_column_or_an_unknown_severe_form_is_refused() {
        let err = load::<HfrsWeight>("h.csv", "code,points\nF00,7.1\n").expect_err("no weight");
        assert!(err.to_string().contains("weight"), "{err}");
        let mut r = Reference::shipped().expect("shipped");
        r.charlson_weights[0].replaced_by = Some("nonesuch".into());
        let err = r.check().expect_err("unknown category");
        assert!(err.to_string().contains("nonesuch"), "{err}");
    }
}
