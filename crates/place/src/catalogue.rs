//! The good-practice catalogue: what other places did, for whom, the result they reported and how
//! strong the evidence for it is, with the source document and lines it comes from. The shipped
//! entries are `data/catalogue.toml`, summarised in careweave's own words from the shared seeds;
//! partnerships add their own entries in the store. A malformed file is refused with the file and
//! the field at fault.

use std::collections::HashSet;

use careweave_domain::place::EvidenceStrength;

use crate::{Fields, FileError};

/// The shipped catalogue's file name, as diagnostics name it.
pub const SHIPPED_FILE: &str = "catalogue.toml";
const SHIPPED: &str = include_str!("../data/catalogue.toml");

/// One case study.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Stable, so that an answer to one of the four questions can point at it.
    pub id: String,
    pub title: String,
    /// The place that did it.
    pub area: String,
    pub what: String,
    pub for_whom: String,
    pub result: String,
    pub strength: EvidenceStrength,
    /// Where the source says so: a file and lines, e.g. `003_887e750fede6152a.txt, lines 383–401`.
    pub source: String,
}

/// Reads a catalogue file.
///
/// # Errors
/// The first problem, naming `file` and the field (`entry[3].strength`).
pub fn from_toml(file: &str, text: &str) -> Result<Vec<Entry>, FileError> {
    let f = Fields { file };
    let root = f.parse(text)?;
    f.only(&root, "", &["entry"])?;
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for (i, t) in f.tables(&root, "", "entry")?.into_iter().enumerate() {
        let at = format!("entry[{}]", i + 1);
        f.only(
            t,
            &at,
            &[
                "id", "title", "area", "what", "for_whom", "result", "strength", "source",
            ],
        )?;
        let id = f.text(t, &at, "id")?;
        if !seen.insert(id.clone()) {
            return Err(f.error(format!("{at}.id"), format!("'{id}' is used twice")));
        }
        // Fields are read in the file's order, so the first problem named is the first in it.
        let title = f.text(t, &at, "title")?;
        let area = f.text(t, &at, "area")?;
        let what = f.text(t, &at, "what")?;
        let for_whom = f.text(t, &at, "for_whom")?;
        let result = f.text(t, &at, "result")?;
        let strength_text = f.text(t, &at, "strength")?;
        let strength = EvidenceStrength::from_code(&strength_text).ok_or_else(|| {
            let codes: Vec<&str> = EvidenceStrength::ALL.iter().map(|s| s.code()).collect();
            f.error(
                format!("{at}.strength"),
                format!(
                    "'{strength_text}' is not a strength of evidence: use one of {}",
                    codes.join(", ")
                ),
            )
        })?;
        entries.push(Entry {
            id,
            title,
            area,
            what,
            for_whom,
            result,
            strength,
            source: f.text(t, &at, "source")?,
        });
    }
    Ok(entries)
}

/// The entries careweave ships.
///
/// # Panics
/// Never in a build whose tests pass: the shipped file is checked by them.
#[must_use]
pub fn shipped() -> Vec<Entry> {
    from_toml(SHIPPED_FILE, SHIPPED).expect("the shipped catalogue is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_has_the_seed_case_studies_with_sources() {
        let entries = shipped();
        for area in [
            "Wokingham",
            "Greater Manchester",
            "Tower Hamlets",
            "Sunderland",
            "Isle of Wight",
            "Dudley",
            "Devon",
        ] {
            assert!(
                entries.iter().any(|e| e.area.contains(area)),
                "no entry for {area}"
            );
        }
        for e in &entries {
            assert!(e.source.contains(".txt, lines "), "{}: {}", e.id, e.source);
        }
    }

    #[test]
    fn a_malformed_entry_is_refused_naming_file_and_field() {
        let e = from_toml(
            "ours.toml",
            "[[entry]]\nid = \"a\"\ntitle = \"A\"\narea = \"B\"\nwhat = \"C\"\nfor_whom = \"D\"\nresult = \"E\"\nstrength = \"anecdote\"\nsource = \"F\"\n",
        )
        .unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.field.as_str()),
            ("ours.toml", "entry[1].strength")
        );
        let e = from_toml("ours.toml", "[[entry]]\nid = \"a\"\n").unwrap_err();
        assert_eq!(e.field, "entry[1].title");
    }
}
