//! `careweave person export`: a subject access request's bundle, written to a folder.
//!
//! The folder holds `README.md`, a summary a person can read (who, when, why, what each section
//! holds and which sections must be reviewed before release, then every record), and one JSON
//! file per record type (an array of objects, one per row, keyed by column) for anyone who wants
//! the data in a machine-readable form. The store gathers and audits; this module only writes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use careweave_domain::NhsNumber;
use careweave_store::subject_access::{Section, SubjectAccessBundle, SubjectAccessError, Value};
use careweave_store::Store;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Export everything held about one person for a subject access request (right of access).
    /// Audited against the person. Review the sections marked for review before releasing it.
    Export {
        /// The person's NHS number (spaces allowed).
        #[arg(long)]
        nhs_number: String,
        /// A new or empty folder to write the bundle into.
        #[arg(long)]
        out: PathBuf,
        /// Why: the request's reference in your information governance log (recorded in the
        /// audit log, so no personal details).
        #[arg(long)]
        reason: String,
        /// The account (username) of the member of staff running the export, recorded as who
        /// exported the record.
        #[arg(long)]
        by: Option<String>,
    },
}

pub async fn run(store: &Store, cmd: PersonCommand) -> anyhow::Result<()> {
    let PersonCommand::Export {
        nhs_number,
        out,
        reason,
        by,
    } = cmd;
    let nhs: NhsNumber = nhs_number
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("--nhs-number")?;
    let by = match by {
        Some(username) => Some(
            store
                .list_users()
                .await?
                .into_iter()
                .find(|u| u.username == username)
                .with_context(|| format!("no account with username {username:?}"))?
                .id,
        ),
        None => None,
    };
    prepare_folder(&out)?;
    let bundle = match store.subject_access_export(nhs, by, &reason).await {
        Ok(bundle) => bundle,
        Err(SubjectAccessError::NotFound) => {
            anyhow::bail!("no person with that NHS number is registered (the attempt is audited)")
        }
        Err(e) => return Err(e.into()),
    };
    write_bundle(&bundle, &out)?;
    let rows: usize = bundle.sections.iter().map(|s| s.rows.len()).sum();
    let review: Vec<&str> = bundle
        .sections
        .iter()
        .filter(|s| s.review.is_some() && !s.rows.is_empty())
        .map(|s| s.title)
        .collect();
    println!(
        "Wrote {rows} records in {} sections to {}.",
        bundle.sections.len(),
        out.display()
    );
    if !review.is_empty() {
        println!(
            "Review before release (see README.md in the folder): {}.",
            review.join("; ")
        );
    }
    Ok(())
}

/// The bundle goes into a new or empty folder, so that it never mixes with an earlier one.
fn prepare_folder(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        let mut entries =
            std::fs::read_dir(out).with_context(|| format!("{} is not a folder", out.display()))?;
        anyhow::ensure!(
            entries.next().is_none(),
            "{} is not empty: give a new or empty folder",
            out.display()
        );
    } else {
        std::fs::create_dir_all(out)
            .with_context(|| format!("could not create {}", out.display()))?;
    }
    Ok(())
}

fn write_bundle(bundle: &SubjectAccessBundle, out: &Path) -> anyhow::Result<()> {
    for section in &bundle.sections {
        let path = out.join(format!("{}.json", section.key));
        let json = serde_json::to_string_pretty(&section_json(section))?;
        std::fs::write(&path, json + "\n")
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    let path = out.join("README.md");
    std::fs::write(&path, summary(bundle))
        .with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}

/// A section as JSON: an array of objects, one per row, with the columns in order.
fn section_json(section: &Section) -> serde_json::Value {
    section
        .rows
        .iter()
        .map(|row| {
            let object: serde_json::Map<String, serde_json::Value> = section
                .columns
                .iter()
                .zip(row)
                .map(|(column, value)| (column.clone(), json_value(value)))
                .collect();
            serde_json::Value::Object(object)
        })
        .collect()
}

fn json_value(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => (*i).into(),
        Value::Real(r) => {
            serde_json::Number::from_f64(*r).map_or(serde_json::Value::Null, Into::into)
        }
        Value::Text(t) => t.clone().into(),
    }
}

/// The readable summary, in Markdown: headings, a contents table with counts, the review notes,
/// then each record as a list of "column: value" lines (records are too wide for tables).
fn summary(b: &SubjectAccessBundle) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Information held about {}\n", md(&b.name));
    let _ = writeln!(s, "- NHS number: {}", b.nhs_number.formatted());
    let _ = writeln!(
        s,
        "- Exported: {} (UTC)",
        b.generated_at.format("%Y-%m-%d %H:%M")
    );
    if let Some(by) = &b.requested_by {
        let _ = writeln!(s, "- Exported by: {}", md(by));
    }
    let _ = writeln!(s, "- Request: {}\n", md(&b.reason));
    let _ = writeln!(
        s,
        "This is everything careweave holds about this person, in the sections below. Each \
         section is also in the JSON file named beside it, one object per record.\n"
    );
    let review: Vec<&Section> = b
        .sections
        .iter()
        .filter(|x| x.review.is_some() && !x.rows.is_empty())
        .collect();
    if !review.is_empty() {
        let _ = writeln!(
            s,
            "**Before release:** the sections marked \"Review before release\" may hold \
             information about other people or information likely to cause serious harm, which \
             the law allows to be withheld. A member of staff must review them (and redact or \
             withhold what must not be disclosed) before this bundle is given to the person.\n"
        );
    }
    let _ = writeln!(s, "## Contents\n");
    let _ = writeln!(s, "| Section | Records | File | Review before release |");
    let _ = writeln!(s, "| --- | --- | --- | --- |");
    for x in &b.sections {
        let _ = writeln!(
            s,
            "| {} | {} | {}.json | {} |",
            x.title,
            x.rows.len(),
            x.key,
            if x.review.is_some() && !x.rows.is_empty() {
                "Yes"
            } else {
                "No"
            }
        );
    }
    for x in &b.sections {
        let _ = writeln!(s, "\n## {}\n", x.title);
        let _ = writeln!(s, "{}\n", x.about);
        if let Some(note) = x.review.filter(|_| !x.rows.is_empty()) {
            let _ = writeln!(s, "> **Review before release.** {note}\n");
        }
        if x.rows.is_empty() {
            let _ = writeln!(s, "Nothing held.");
            continue;
        }
        for (i, row) in x.rows.iter().enumerate() {
            let _ = writeln!(s, "### {} {}\n", x.title, i + 1);
            for (column, value) in x.columns.iter().zip(row) {
                if *value != Value::Null {
                    let _ = writeln!(s, "- {}: {}", label(column), md(&value.display()));
                }
            }
            s.push('\n');
        }
    }
    s
}

/// A column name as words: `discharged_on` → "Discharged on", `nhs_number` → "NHS number".
fn label(column: &str) -> String {
    let words: Vec<String> = column
        .split('_')
        .map(|word| match word {
            "nhs" | "gp" | "lsoa" | "imd" | "mdt" => word.to_uppercase(),
            "la" => "local authority".to_owned(),
            _ => word.to_owned(),
        })
        .collect();
    let words = words.join(" ");
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().collect::<String>() + chars.as_str()
    })
}

/// Text as Markdown shows it: line breaks kept inside a list item, and characters that would
/// start markup escaped, so that a note cannot turn into a heading, a link or HTML.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("  \n  "),
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_records_is_escaped() {
        assert_eq!(md("<script>"), "\\<script\\>");
        assert_eq!(md("# not a heading"), "\\# not a heading");
        assert_eq!(label("discharged_on"), "Discharged on");
        assert_eq!(label("nhs_number"), "NHS number");
        assert_eq!(label("la_referred_on"), "Local authority referred on");
    }
}
