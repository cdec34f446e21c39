//! `careweave audit …` and `careweave backup`: checking the audit log's hash chain, recording its
//! head, exporting it for an auditor, and an online backup of the SQLite database.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use careweave_store::audit::{AuditAction, AuditEvent, ExportRow};
use careweave_store::{DatabaseUrl, Store};
use chrono::NaiveDate;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole audit log, recomputing every row's hash, and name the first row where the
    /// chain breaks (changed, removed or replaced). Exits non-zero when it is broken.
    Verify {
        /// A head recorded earlier with `careweave audit head`, as ID:HASH; may be repeated.
        /// Each must still be in the log with the same hash, which catches a log rewritten from
        /// some row onwards with fresh hashes.
        #[arg(long, value_name = "ID:HASH")]
        known: Vec<String>,
    },
    /// Print the newest row's id and hash (tab-separated), for an operator to keep somewhere the
    /// database's owner cannot change (a ticket, an email, a write-once store), e.g. daily.
    Head,
    /// Write every row of the log from one day to another (both included, UTC) as CSV, with each
    /// row's previous hash and hash so that an auditor can recompute the chain.
    Export {
        /// The first day, as YYYY-MM-DD.
        #[arg(long)]
        from: NaiveDate,
        /// The last day, as YYYY-MM-DD.
        #[arg(long)]
        to: NaiveDate,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub async fn run(store: &Store, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify { known } => verify(store, &known).await,
        AuditCommand::Head => {
            let head = store.audit_chain_head().await?;
            println!("{}\t{}", head.last_id, head.last_hash);
            Ok(())
        }
        AuditCommand::Export { from, to, out } => {
            anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
            let rows = store.audit_export(from, to).await?;
            // Who read the log, and which part, is itself on the record.
            store
                .audit(AuditEvent {
                    user: None,
                    action: AuditAction::List,
                    entity: "audit_log",
                    entity_id: None,
                    reason: format!("exported {from} to {to} for an auditor (command line)"),
                })
                .await?;
            let csv = export_csv(&rows);
            match out {
                Some(path) => {
                    std::fs::write(&path, csv)
                        .with_context(|| format!("could not write {}", path.display()))?;
                    eprintln!("Wrote {} rows to {}.", rows.len(), path.display());
                }
                None => std::io::stdout().write_all(csv.as_bytes())?,
            }
            Ok(())
        }
    }
}

async fn verify(store: &Store, known: &[String]) -> anyhow::Result<()> {
    let mut heads = BTreeMap::new();
    for k in known {
        let (id, hash) = k
            .split_once(':')
            .and_then(|(id, hash)| Some((id.trim().parse::<i64>().ok()?, hash.trim())))
            .with_context(|| {
                format!("--known {k:?} is not ID:HASH, as `careweave audit head` prints it")
            })?;
        heads.insert(id, hash.to_lowercase());
    }
    let report = store.verify_audit_chain(&heads).await?;
    match report.broken {
        None => {
            println!(
                "The audit chain holds: {} rows, head row {} with hash {}.",
                report.rows, report.head.last_id, report.head.last_hash
            );
            if report.sealed_before_chain > 0 {
                println!(
                    "{} rows predate the chain (migration 0018); they are covered by the first \
                     chained row.",
                    report.sealed_before_chain
                );
            }
            Ok(())
        }
        Some(broken) => {
            anyhow::bail!(
                "The audit chain is broken at row {}: {}",
                broken.id,
                broken.problem
            )
        }
    }
}

/// The export's columns. `prev_hash` and `hash` are those of the chain (see ARCHITECTURE.md for
/// the encoding); `username` is shown for reading and is not part of the hash.
const HEADER: [&str; 10] = [
    "id",
    "at",
    "user_id",
    "username",
    "action",
    "entity",
    "entity_id",
    "reason",
    "prev_hash",
    "hash",
];

/// The auditor's file, through the project's one CSV writer: its defusing of formula cells is
/// undone exactly by `careweave_csv::undefuse`, so an auditor recomputes each hash from the
/// values as they were stored.
fn export_csv(rows: &[ExportRow]) -> String {
    let mut out = careweave_csv::Writer::with_header(HEADER);
    for r in rows {
        out.record([
            r.id.to_string(),
            r.at.clone(),
            r.user_id.map(|u| u.to_string()).unwrap_or_default(),
            r.username.clone().unwrap_or_default(),
            r.action.clone(),
            r.entity.clone(),
            r.entity_id.map(|e| e.to_string()).unwrap_or_default(),
            r.reason.clone(),
            r.prev_hash.clone().unwrap_or_default(),
            r.hash.clone().unwrap_or_default(),
        ]);
    }
    out.finish()
}

/// `careweave backup --out FILE`: an online copy of the SQLite database.
pub async fn backup(store: &Store, out: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !out.exists(),
        "{} already exists: choose a new file, so that no backup is overwritten",
        out.display()
    );
    store.backup_sqlite(out).await?;
    // Opening the copy proves it is a database, and its head is what a restore must show.
    let copy = Store::connect(&DatabaseUrl::sqlite_file(out)).await?;
    let head = copy.audit_chain_head().await;
    copy.close().await;
    let head = head?;
    println!(
        "Backed up to {}. Its audit chain head is row {} with hash {}.",
        out.display(),
        head.last_id,
        head.last_hash
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    // The export's cells are the shared writer's; these are the auditor's expectations of it.
    use careweave_csv::cell as field;

    #[test]
    fn export_fields_are_quoted_and_defused_reversibly() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a, b"), "\"a, b\"");
        assert_eq!(field("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("'=x"), "''=x");
    }
}
