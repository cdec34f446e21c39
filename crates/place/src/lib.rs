//! The place partnership's readable data and its one import.
//!
//! - [`checklist`]: the integration self-assessment checklist (sections of approaches, each item
//!   with its ICS tier), compiled in from `data/checklist.toml` and refused with file and field
//!   when malformed.
//! - [`catalogue`]: the good-practice catalogue (what was done, for whom, the reported result, how
//!   strong the evidence is and where the source says so), compiled in from
//!   `data/catalogue.toml` with the same diagnostics.
//! - [`survey`]: the community survey CSV reader, which refuses a file with a column that looks
//!   like it identifies people (naming the column), reports every rejected row with its line and
//!   field, and tags free text with themes from a configurable list.
//!
//! Pure apart from parsing the text it is given: the store keeps what is imported and the web
//! layer applies disclosure control to every count.

pub mod catalogue;
pub mod checklist;
pub mod survey;

/// A data file that cannot be used, naming the file and the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {reason}")]
pub struct FileError {
    pub file: String,
    /// Where in the file, e.g. `section[2].item[1].tier`.
    pub field: String,
    pub reason: String,
}

/// Reads TOML tables for the loaders, naming the file and field of every problem.
pub(crate) struct Fields<'a> {
    pub file: &'a str,
}

impl Fields<'_> {
    pub fn error(&self, field: impl Into<String>, reason: impl Into<String>) -> FileError {
        FileError {
            file: self.file.to_owned(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Parses the whole file.
    pub fn parse(&self, text: &str) -> Result<toml::Table, FileError> {
        text.parse::<toml::Table>()
            .map_err(|e| self.error("(file)", format!("not readable TOML: {}", e.message())))
    }

    /// The array of tables called `key` in `table` (at `path`), which must have at least one.
    pub fn tables<'t>(
        &self,
        table: &'t toml::Table,
        path: &str,
        key: &str,
    ) -> Result<Vec<&'t toml::Table>, FileError> {
        let field = join(path, key);
        let Some(value) = table.get(key) else {
            return Err(self.error(field, "missing: the file needs at least one"));
        };
        let Some(array) = value.as_array() else {
            return Err(self.error(field, "must be a list of tables ([[...]])"));
        };
        if array.is_empty() {
            return Err(self.error(field, "must have at least one entry"));
        }
        array
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_table()
                    .ok_or_else(|| self.error(format!("{field}[{}]", i + 1), "must be a table"))
            })
            .collect()
    }

    /// The text called `key`, which must be present and not blank.
    pub fn text(&self, table: &toml::Table, path: &str, key: &str) -> Result<String, FileError> {
        match table.get(key) {
            Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(toml::Value::String(_)) => Err(self.error(join(path, key), "must not be blank")),
            Some(_) => Err(self.error(join(path, key), "must be text in quotes")),
            None => Err(self.error(join(path, key), "missing")),
        }
    }

    /// Refuses keys other than `known`, so that a misspelt field is not silently ignored.
    pub fn only(&self, table: &toml::Table, path: &str, known: &[&str]) -> Result<(), FileError> {
        match table.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(self.error(
                join(path, unknown),
                format!("unknown field; the fields are {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
