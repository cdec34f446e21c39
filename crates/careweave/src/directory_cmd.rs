//! `careweave directory …`: loading a deployment's postcode table and directory files from the
//! command line, and exporting the published directory.
//!
//! The web import page suits a pasted spreadsheet; a whole ONS Postcode Directory (millions of
//! rows) or a nightly feed from another directory needs a command that a scheduler can run. Both
//! report every rejected row with its file, line and field, and keep the good rows.

use std::path::{Path, PathBuf};

use anyhow::Context;
use careweave_directory::{Diagnostic, Format, PostcodeTable};
use careweave_store::Store;
use clap::{Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Load postcode centroids for distance search from a CSV in the ONS Postcode Directory
    /// layout (columns pcds, lat, long; others ignored). Known postcodes are updated.
    Postcodes {
        /// The CSV file.
        file: PathBuf,
    },
    /// Import an Open Referral UK JSON feed or a directory spreadsheet (CSV). Services already in
    /// the directory (same id) are updated, never duplicated. All accepted records are published
    /// in one transaction, so nothing is half-imported.
    Import {
        /// The file to read.
        file: PathBuf,
        /// The file's format; by default taken from its extension (.json or .csv).
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// The organisation (id or exact name) that keeps the imported entries true.
        #[arg(long)]
        owner: String,
    },
    /// Write the published directory as an ORUK JSON feed or as the spreadsheet layout.
    Export {
        #[arg(long, value_enum, default_value = "json")]
        format: FileFormat,
        /// Where to write; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileFormat {
    Json,
    Csv,
}

impl From<FileFormat> for Format {
    fn from(f: FileFormat) -> Self {
        match f {
            FileFormat::Json => Format::Json,
            FileFormat::Csv => Format::Csv,
        }
    }
}

pub async fn run(store: &Store, cmd: DirectoryCommand) -> anyhow::Result<()> {
    match cmd {
        DirectoryCommand::Postcodes { file } => postcodes(store, &file).await,
        DirectoryCommand::Import {
            file,
            format,
            owner,
        } => import(store, &file, format, &owner).await,
        DirectoryCommand::Export { format, out } => export(store, format, out.as_deref()).await,
    }
}

/// Prints every rejection as `file:line field: reason` on standard error, the shape compilers
/// use, so an editor or a script can jump to the row.
fn report_rejections(file: &Path, rejected: &[Diagnostic]) {
    for d in rejected {
        eprintln!("{}: {d}", file.display());
    }
}

async fn postcodes(store: &Store, file: &Path) -> anyhow::Result<()> {
    let reader =
        std::fs::File::open(file).with_context(|| format!("could not open {}", file.display()))?;
    let load = PostcodeTable::from_csv(std::io::BufReader::new(reader))
        .with_context(|| format!("could not read {}", file.display()))?;
    report_rejections(file, &load.rejected);
    let stored = store
        .load_postcodes(&load.table)
        .await
        .context("could not store the postcodes")?;
    println!(
        "Read {} rows: {} accepted, {} rejected. {stored} postcodes stored.",
        load.read,
        load.read - load.rejected.len(),
        load.rejected.len()
    );
    Ok(())
}

async fn import(
    store: &Store,
    file: &Path,
    format: Option<FileFormat>,
    owner: &str,
) -> anyhow::Result<()> {
    let format: Format = match format {
        Some(f) => f.into(),
        None => match file.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => anyhow::bail!(
                "cannot tell the format of {} from its name: add --format json or --format csv",
                file.display()
            ),
        },
    };
    let owner = crate::users::find_organisation(store, owner).await?.id;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("could not read {}", file.display()))?;
    let (report, outcome) = store
        .import_directory_file(None, owner, format, &text, "the command line")
        .await
        .context("the import was not saved")?;
    report_rejections(file, &report.diagnostics);
    println!(
        "Read {} records: {} accepted ({} added, {} updated), {} rejected.",
        report.read,
        report.accepted.len(),
        outcome.added,
        outcome.updated,
        report.rejected
    );
    Ok(())
}

async fn export(store: &Store, format: FileFormat, out: Option<&Path>) -> anyhow::Result<()> {
    let services: Vec<_> = store
        .directory_services()
        .await?
        .into_iter()
        .map(|p| p.service)
        .collect();
    let text = match format {
        FileFormat::Json => careweave_directory::oruk::export_feed(&services)?,
        FileFormat::Csv => {
            let (text, problems) = careweave_directory::spreadsheet::export_csv(&services);
            // The spreadsheet has one row per service; anything it cannot hold is said, not lost
            // silently (the JSON feed holds everything).
            for p in problems {
                eprintln!("{p}");
            }
            text
        }
    };
    match out {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("could not write {}", path.display()))?;
            println!("Wrote {} services to {}.", services.len(), path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
