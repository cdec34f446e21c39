//! `careweave retention purge [--dry-run]`: lists what is past its retention period by record
//! type and, unless it is a dry run, deletes it (see `store::retention` for the rules and the
//! `[retention]` settings table for the periods). The audit log is never purged.

use careweave_store::retention::RetentionPolicy;
use careweave_store::Store;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Delete every record past its retention period, one transaction and one audit row per
    /// record type. With --dry-run, only list what would go.
    Purge {
        /// List the counts and change nothing (not even the audit log).
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn run(
    store: &Store,
    policy: &RetentionPolicy,
    cmd: RetentionCommand,
) -> anyhow::Result<()> {
    let RetentionCommand::Purge { dry_run } = cmd;
    let counts = store
        .retention_purge(policy, chrono::Utc::now(), dry_run, None)
        .await?;
    let verb = if dry_run { "would purge" } else { "purged" };
    for c in &counts {
        println!("{}\t{verb} {}\t{}", c.kind.code(), c.count, c.rule);
    }
    let total: u64 = counts.iter().map(|c| c.count).sum();
    if dry_run {
        println!("Dry run: {total} records are past retention; nothing was changed.");
    } else {
        println!("Purged {total} records past retention; the audit log records each type.");
    }
    Ok(())
}
