//! Codelists as data: versioned `code,term` CSV files (OpenCodelists style), loaded by name.
//!
//! A codelist's name is its path under a codelist folder without `.csv`, with `/` separators:
//! `codelists/snomed/diabetes.csv` is `snomed/diabetes`. The first part names the coding system
//! (`snomed` or `icd10`). Folders are layered: the lists built into this crate first, then each folder
//! given by the user in order; a later folder overrides an earlier one by name, whole list for whole
//! list, so a deployer can replace a shipped list or add new ones without editing careweave.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::PopulationError;

/// The coding system of a codelist, from the first part of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSystem {
    Snomed,
    Icd10,
}

impl CodeSystem {
    fn from_name(name: &str) -> Option<Self> {
        match name.split('/').next() {
            Some("snomed") => Some(Self::Snomed),
            Some("icd10") => Some(Self::Icd10),
            _ => None,
        }
    }

    /// The word used in the `system` column of the codelist table.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snomed => "snomed",
            Self::Icd10 => "icd10",
        }
    }
}

/// One loaded codelist.
#[derive(Debug, Clone)]
pub struct Codelist {
    pub system: CodeSystem,
    /// Where it came from: `built-in` or the file path, so that a run can say which list it used.
    pub source: String,
    pub codes: Vec<(String, String)>,
}

/// All codelists of a run, by name.
#[derive(Debug, Clone, Default)]
pub struct Codelists {
    lists: BTreeMap<String, Codelist>,
}

/// The codelists compiled into the crate, so that the scores work without any folder on disk.
const BUILT_IN: &[(&str, &str)] = &include!(concat!(env!("OUT_DIR"), "/builtin_codelists.rs"));

/// The repository's condition lists (top-level `codelists/`, the lists the synthetic extract is
/// coded from), compiled in too, so that a binary run from any folder, or moved off the machine it
/// was built on, has every list its configuration names. Listed here rather than found by the build
/// script; a test checks that every file of the folder is listed.
const REPOSITORY: &[(&str, &str)] = &[
    (
        "icd10/hospital_diagnoses",
        include_str!("../../../codelists/icd10/hospital_diagnoses.csv"),
    ),
    (
        "snomed/anxiety",
        include_str!("../../../codelists/snomed/anxiety.csv"),
    ),
    (
        "snomed/asthma",
        include_str!("../../../codelists/snomed/asthma.csv"),
    ),
    (
        "snomed/atrial_fibrillation",
        include_str!("../../../codelists/snomed/atrial_fibrillation.csv"),
    ),
    (
        "snomed/cancer",
        include_str!("../../../codelists/snomed/cancer.csv"),
    ),
    (
        "snomed/chd",
        include_str!("../../../codelists/snomed/chd.csv"),
    ),
    (
        "snomed/chronic_pain",
        include_str!("../../../codelists/snomed/chronic_pain.csv"),
    ),
    (
        "snomed/ckd",
        include_str!("../../../codelists/snomed/ckd.csv"),
    ),
    (
        "snomed/copd",
        include_str!("../../../codelists/snomed/copd.csv"),
    ),
    (
        "snomed/dementia",
        include_str!("../../../codelists/snomed/dementia.csv"),
    ),
    (
        "snomed/depression",
        include_str!("../../../codelists/snomed/depression.csv"),
    ),
    (
        "snomed/diabetes",
        include_str!("../../../codelists/snomed/diabetes.csv"),
    ),
    (
        "snomed/epilepsy",
        include_str!("../../../codelists/snomed/epilepsy.csv"),
    ),
    (
        "snomed/frailty_deficits",
        include_str!("../../../codelists/snomed/frailty_deficits.csv"),
    ),
    (
        "snomed/heart_failure",
        include_str!("../../../codelists/snomed/heart_failure.csv"),
    ),
    (
        "snomed/hypertension",
        include_str!("../../../codelists/snomed/hypertension.csv"),
    ),
    (
        "snomed/learning_disability",
        include_str!("../../../codelists/snomed/learning_disability.csv"),
    ),
    (
        "snomed/obesity",
        include_str!("../../../codelists/snomed/obesity.csv"),
    ),
    (
        "snomed/osteoarthritis",
        include_str!("../../../codelists/snomed/osteoarthritis.csv"),
    ),
    (
        "snomed/severe_mental_illness",
        include_str!("../../../codelists/snomed/severe_mental_illness.csv"),
    ),
    (
        "snomed/social_needs",
        include_str!("../../../codelists/snomed/social_needs.csv"),
    ),
    (
        "snomed/stroke",
        include_str!("../../../codelists/snomed/stroke.csv"),
    ),
    (
        "snomed/substance_misuse",
        include_str!("../../../codelists/snomed/substance_misuse.csv"),
    ),
];

impl Codelists {
    /// The built-in lists, then every folder in `folders` in order (later wins by name).
    ///
    /// # Errors
    /// A folder that cannot be read, or a file without a `code` column or with a system other than
    /// `snomed` or `icd10`.
    pub fn load(folders: &[PathBuf]) -> Result<Self, PopulationError> {
        let mut me = Self::default();
        for (name, text) in REPOSITORY.iter().chain(BUILT_IN) {
            me.insert_csv(name, text, "built-in")?;
        }
        for folder in folders {
            me.load_folder(folder)?;
        }
        Ok(me)
    }

    /// Only the given inline lists (for tests and examples): `(name, "code,term\n...")`.
    ///
    /// # Errors
    /// As [`Codelists::load`].
    pub fn inline(lists: &[(&str, &str)]) -> Result<Self, PopulationError> {
        let mut me = Self::default();
        for (name, text) in lists {
            me.insert_csv(name, text, "inline")?;
        }
        Ok(me)
    }

    fn load_folder(&mut self, root: &Path) -> Result<(), PopulationError> {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|source| PopulationError::Io {
                path: dir.clone(),
                source,
            })?;
            for entry in entries {
                let path = entry
                    .map_err(|source| PopulationError::Io {
                        path: dir.clone(),
                        source,
                    })?
                    .path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "csv") {
                    let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
                    let name = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/");
                    let text =
                        std::fs::read_to_string(&path).map_err(|source| PopulationError::Io {
                            path: path.clone(),
                            source,
                        })?;
                    self.insert_csv(&name, &text, &path.display().to_string())?;
                }
            }
        }
        Ok(())
    }

    fn insert_csv(&mut self, name: &str, text: &str, source: &str) -> Result<(), PopulationError> {
        let bad = |why: String| PopulationError::Codelist {
            name: format!("{name} ({source})"),
            why,
        };
        let system = CodeSystem::from_name(name)
            .ok_or_else(|| bad("its folder must be snomed/ or icd10/".into()))?;
        let rows: Vec<CodelistRow> = read_rows(text).map_err(bad)?;
        let mut codes = Vec::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            let line = i + 2;
            let code = row.code.trim();
            // Codes are parsed as codes of their system, so that a list with a typo (a SNOMED id
            // with a wrong check digit, an ICD-10 code with a letter out of place) stops the run
            // instead of silently matching nothing.
            let code = match system {
                // Hospital data and codelists write ICD-10 with and without dots; keep one form.
                CodeSystem::Icd10 => crate::icd10::normalise(code).ok_or_else(|| {
                    bad(format!(
                        "line {line}: {code:?} is not an ICD-10 code ({})",
                        crate::icd10::EXPECTED
                    ))
                })?,
                CodeSystem::Snomed => code
                    .parse::<careweave_domain::SnomedCode>()
                    .map_err(|e| {
                        bad(format!(
                            "line {line}: {code:?} is not a SNOMED CT concept id: {e}"
                        ))
                    })?
                    .to_string(),
            };
            codes.push((code, row.term.unwrap_or_default()));
        }
        self.lists.insert(
            name.to_owned(),
            Codelist {
                system,
                source: source.to_owned(),
                codes,
            },
        );
        Ok(())
    }

    /// The list called `name`, if loaded.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Codelist> {
        self.lists.get(name)
    }

    /// Every name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lists.keys().map(String::as_str)
    }

    /// The lists as one table `codelists(codelist, system, code)` for joins.
    ///
    /// # Errors
    /// Only if Arrow refuses the batch, which would be a bug.
    pub fn to_batch(&self) -> Result<RecordBatch, PopulationError> {
        let mut names = Vec::new();
        let mut systems = Vec::new();
        let mut codes = Vec::new();
        for (name, list) in &self.lists {
            for (code, _) in &list.codes {
                names.push(name.as_str());
                systems.push(list.system.as_str());
                codes.push(code.as_str());
            }
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("codelist", DataType::Utf8, false),
            Field::new("system", DataType::Utf8, false),
            Field::new("code", DataType::Utf8, false),
        ]));
        Ok(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(names)),
                Arc::new(StringArray::from(systems)),
                Arc::new(StringArray::from(codes)),
            ],
        )?)
    }
}

/// One row of a codelist file: OpenCodelists downloads carry more columns, which are ignored.
#[derive(Debug, serde::Deserialize)]
struct CodelistRow {
    code: String,
    #[serde(default, alias = "description")]
    term: Option<String>,
}

/// Reads a CSV text into typed rows by its header (not by position), refusing a row whose number of
/// cells differs from the header's (an unquoted comma in a term) with its line.
pub(crate) fn read_rows<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    reader
        .deserialize()
        .map(|r| {
            r.map_err(|e| match e.position() {
                Some(p) => format!("line {}: {}", p.line(), describe_csv_error(&e)),
                None => describe_csv_error(&e),
            })
        })
        .collect()
}

fn describe_csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "{len} cells where the header has {expected_len} (a comma in a value must be inside double quotes)"
        ),
        csv::ErrorKind::Deserialize { err, .. } => err.to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_folder_overrides_a_built_in_list_by_name_and_adds_new_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("snomed/efi")).expect("mkdir");
        // A released concept: codes are parsed as SNOMED CT concept ids, check digit included.
        std::fs::write(
            dir.path().join("snomed/efi/hearing_impairment.csv"),
            "code,term\n15188001,Hearing loss\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("snomed/mine.csv"),
            "code,term\n1234567009,x\n",
        )
        .expect("write");
        let lists = Codelists::load(&[dir.path().to_path_buf()]).expect("load");
        let hearing = lists
            .get("snomed/efi/hearing_impairment")
            .expect("overridden");
        assert_eq!(
            hearing.codes,
            vec![("15188001".to_owned(), "Hearing loss".to_owned())]
        );
        assert!(hearing.source.ends_with("hearing_impairment.csv"));
        assert!(lists.get("snomed/mine").is_some());
        assert_eq!(
            lists.get("snomed/efi/falls").expect("built in").source,
            "built-in"
        );
    }

    #[test]
    fn built_in_lists_load_from_the_binary_with_codes_parsed_as_codes() {
        let lists = Codelists::load(&[]).expect("load");
        // The repository's condition lists and this crate's score lists are both compiled in.
        for name in [
            "snomed/hypertension",
            "snomed/cms/epilepsy",
            "snomed/efi/falls",
            "icd10/hospital_diagnoses",
        ] {
            assert_eq!(lists.get(name).expect(name).source, "built-in");
        }
        for name in lists.names() {
            let list = lists.get(name).expect("listed");
            for (code, _) in &list.codes {
                let ok = match list.system {
                    CodeSystem::Snomed => code.parse::<careweave_domain::SnomedCode>().is_ok(),
                    CodeSystem::Icd10 => crate::icd10::normalise(code).as_deref() == Some(code),
                };
                assert!(ok, "{name}: {code}");
            }
        }
    }

    #[test]
    fn every_list_of_the_repository_folder_is_compiled_in() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../codelists");
        let mut on_disk = Vec::new();
        for system in ["snomed", "icd10"] {
            for entry in std::fs::read_dir(root.join(system)).expect("folder") {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|e| e == "csv") {
                    let stem = path
                        .file_stem()
                        .expect("stem")
                        .to_string_lossy()
                        .into_owned();
                    on_disk.push(format!("{system}/{stem}"));
                }
            }
        }
        on_disk.sort();
        let listed: Vec<String> = REPOSITORY.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(on_disk, listed, "add the new file to REPOSITORY");
    }

    #[test]
    fn icd10_codes_are_normalised_on_load() {
        let lists = Codelists::inline(&[("icd10/x", "code,term\ne119,a\nI10,b\n")]).expect("load");
        let codes: Vec<_> = lists
            .get("icd10/x")
            .expect("x")
            .codes
            .iter()
            .map(|c| c.0.clone())
            .collect();
        assert_eq!(codes, ["E11.9", "I10"]);
    }

    #[test]
    fn an_unquoted_comma_or_a_malformed_code_is_refused_with_its_line() {
        let err = Codelists::inline(&[(
            "snomed/x",
            "code,term\n38341003,Hypertensive disorder, systemic\n",
        )])
        .expect_err("unquoted comma");
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = Codelists::inline(&[("snomed/x", "code,term\n38341014,typo\n")])
            .expect_err("a description id, not a concept");
        assert!(err.to_string().contains("38341014"), "{err}");
        let err =
            Codelists::inline(&[("icd10/x", "code,term\nE1.19,typo\n")]).expect_err("bad icd10");
        assert!(err.to_string().contains("E1.19"), "{err}");
        assert!(Codelists::inline(&[("snomed/x", "term\nno code column\n")]).is_err());
    }

    #[test]
    fn a_folder_outside_snomed_or_icd10_is_refused() {
        assert!(Codelists::inline(&[("read/x", "code,term\n")]).is_err());
    }
}
