//! Extracts from `careweave-synth` whose people have synthetic unissuable identifiers.
//!
//! A multi-place synthetic extract is larger than the 999 test range of NHS numbers, so its people
//! carry identifiers that can never be NHS numbers (see [`crate::udf::is_unissuable_identifier`]
//! and `docs/extract-schema.md`). Ingest accepts them only when the input folder's `manifest.json`
//! says the extract came from `careweave-synth` with `"identifiers": "synthetic-unissuable"`; it then
//! checks the identifier column with the scheme's functions instead of the NHS number ones, and
//! accepts no real NHS number. Any other input is checked as before, so these identifiers are
//! rejected as invalid NHS numbers.

use std::path::Path;

/// The manifest's name for the scheme, as `careweave-synth` writes it.
pub const UNISSUABLE_SCHEME: &str = "synthetic-unissuable";

/// The run summary's warning for a flagged extract.
pub const WARNING: &str = "this extract is SYNTHETIC (manifest.json: identifiers synthetic-unissuable): its people are generated, and their nhs_number column holds identifiers that can never be real NHS numbers; real NHS numbers in it are rejected";

/// Whether `input/manifest.json` flags a synthetic extract with unissuable identifiers. A missing,
/// unreadable or different manifest means no: the identifiers are then checked as NHS numbers.
#[must_use]
pub fn flagged(input: &Path) -> bool {
    let Ok(bytes) = std::fs::read(input.join("manifest.json")) else {
        return false;
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return false;
    };
    json["generator"] == "careweave-synth" && json["identifiers"] == UNISSUABLE_SCHEME
}

/// The check query of a table with the NHS number functions replaced by the scheme's when
/// `flagged`; the query unchanged otherwise.
#[must_use]
pub fn with_scheme(sql: String, flagged: bool) -> String {
    if flagged {
        sql.replace("nhs_number_digits(", "unissuable_id_digits(")
            .replace("nhs_number_problem(", "unissuable_id_problem(")
    } else {
        sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_synth_manifest_with_the_scheme_flags_an_extract() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert!(!flagged(tmp.path()));
        let write =
            |json: &str| std::fs::write(tmp.path().join("manifest.json"), json).expect("write");
        write(r#"{"generator": "careweave-synth", "identifiers": "synthetic-unissuable"}"#);
        assert!(flagged(tmp.path()));
        write(r#"{"generator": "someone-else", "identifiers": "synthetic-unissuable"}"#);
        assert!(!flagged(tmp.path()));
        write(r#"{"generator": "careweave-synth"}"#);
        assert!(!flagged(tmp.path()));
        write("not json");
        assert!(!flagged(tmp.path()));
        let sql = "SELECT nhs_number_digits(x), nhs_number_problem(x)".to_owned();
        assert_eq!(with_scheme(sql.clone(), false), sql);
        assert_eq!(
            with_scheme(sql, true),
            "SELECT unissuable_id_digits(x), unissuable_id_problem(x)"
        );
    }
}
