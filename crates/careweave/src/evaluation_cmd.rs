//! `careweave evaluation`: the impact evaluation over an extract and an exposure table.
//!
//! The evaluation's settings are the global `--config FILE` (a TOML file of
//! `careweave_evaluation::Settings`; every setting has a default), so `main` hands this command
//! over before it reads any web settings.

use std::path::{Path, PathBuf};

use anyhow::Context;
use careweave_evaluation::{exposures, output, Settings};
use clap::{Args, Subcommand};

/// The impact evaluation.
#[derive(Debug, Subcommand)]
pub enum EvaluationCommand {
    /// Match supported episodes to comparators, estimate the change in service use, and write the
    /// tables, the care team's matched sets and the board pack (report.html) into --out.
    Run(RunArgs),
    /// Write every casework episode (NHS number, service, referral date, first contact, discharge,
    /// contacts) as an exposure table. This exports personal data: each person is audited.
    ExportExposures(ExportArgs),
    /// Show why one supported person's comparators were chosen: their own pre-period profile beside
    /// each comparator's, coarsened and unnamed. For the person's care team only (docs/evaluation.md).
    Explain(ExplainArgs),
}

/// Arguments of `evaluation explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The supported person's NHS number (spaces allowed).
    #[arg(long)]
    nhs_number: String,
}

/// Arguments of `evaluation export-exposures`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The careweave database (sqlite://PATH or postgres://…).
    #[arg(long, value_name = "URL")]
    database: String,
    /// The CSV file to write (refused if it exists, so an earlier export is never overwritten).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Why: the evaluation's reference in your information governance log (recorded in the audit
    /// log against every person exported, so no personal details).
    #[arg(long, default_value = "impact evaluation")]
    reason: String,
}

/// Where the extract and the exposures come from (shared by `run` and `explain`).
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The extract folder (what `careweave synth` writes, or a deployment's own).
    #[arg(long, value_name = "DIR")]
    input: PathBuf,
    /// The exposure table: nhs_number, service, referral_date, first_contact_date, discharge_date, contacts.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "from_store",
        conflicts_with = "from_store"
    )]
    exposures: Option<PathBuf>,
    /// Read the exposures from the casework store given by --database instead of a file (audited
    /// as an export of personal data, like `export-exposures`).
    #[arg(long, requires = "database")]
    from_store: bool,
    /// The careweave database (sqlite://PATH or postgres://…): where --from-store reads and where
    /// `run` stores the aggregate, disclosure-controlled results for the web app's Evaluation page.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

/// Arguments of `evaluation run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Where to write the outputs (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Runs an evaluation command; `config` is the global `--config` file, read as evaluation settings.
pub fn main(command: EvaluationCommand, config: Option<&Path>) -> anyhow::Result<()> {
    let settings = match config {
        Some(path) => Settings::from_file(path)
            .with_context(|| format!("could not read {}", path.display()))?,
        None => Settings::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        match command {
            EvaluationCommand::Run(args) => run(settings, &args).await,
            EvaluationCommand::ExportExposures(args) => export(&args).await,
            EvaluationCommand::Explain(args) => explain(settings, &args).await,
        }
    })
}

async fn open(url: &str) -> anyhow::Result<careweave_store::Store> {
    let store = careweave_store::Store::connect(&url.parse()?).await?;
    store.migrate().await.context("migration failed")?;
    Ok(store)
}

/// The casework store's episodes as exposure-table CSV (the layout a deployment supplies), so that
/// they pass the same row checks as a file: a bad row is reported with its line and field.
async fn exposures_from_store(
    store: &careweave_store::Store,
    reason: &str,
) -> anyhow::Result<String> {
    let rows = store.export_exposures(None, reason).await?;
    let mut w = careweave_csv::Writer::with_header(exposures::COLUMNS);
    for r in rows {
        w.record([
            r.nhs_number,
            r.service,
            r.referral_date,
            r.first_contact_date.unwrap_or_default(),
            r.discharge_date.unwrap_or_default(),
            r.contacts.to_string(),
        ]);
    }
    Ok(w.finish())
}

async fn export(args: &ExportArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        !args.out.exists(),
        "{} already exists: choose a new file, so that an earlier export is not overwritten",
        args.out.display()
    );
    let store = open(&args.database).await?;
    let text = exposures_from_store(&store, &args.reason).await?;
    let table = exposures::parse_csv(&text).map_err(|e| anyhow::anyhow!(e))?;
    std::fs::write(&args.out, &text)
        .with_context(|| format!("could not write {}", args.out.display()))?;
    println!(
        "Wrote {} episodes to {} ({} rows would be refused by the evaluation; it names people: keep it with the care team).",
        table.read,
        args.out.display(),
        table.rejected
    );
    for d in &table.diagnostics {
        println!("line {}, {}: {}", d.line, d.field, d.problem);
    }
    Ok(())
}

async fn explain(settings: Settings, args: &ExplainArgs) -> anyhow::Result<()> {
    let nhs: careweave_domain::NhsNumber = args
        .nhs_number
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("--nhs-number")?;
    // Matching does not depend on the bootstrap, so a few replicates keep the answer quick.
    let settings = Settings {
        bootstrap: settings.bootstrap.min(50),
        ..settings
    };
    let table = exposure_table(&args.source).await?;
    let population = careweave_population::RunSettings::defaults()?;
    let lists = crate::population_cmd::codelists(&population, &[])?;
    let evaluation = careweave_evaluation::run(&args.source.input, lists, table, settings)
        .await
        .context("the evaluation failed")?;
    let text = careweave_evaluation::explain::explain(&evaluation, &nhs)
        .context("that NHS number has no episode in the exposures")?;
    print!("{text}");
    Ok(())
}

/// The exposure table from --exposures or, with --from-store, from the casework store.
async fn exposure_table(args: &SourceArgs) -> anyhow::Result<exposures::ExposureTable> {
    Ok(match (&args.exposures, &args.database) {
        (Some(path), _) => exposures::read_csv(path)?,
        (None, Some(url)) => {
            let store = open(url).await?;
            let text = exposures_from_store(&store, "impact evaluation run").await?;
            exposures::parse_csv(&text).map_err(|e| anyhow::anyhow!(e))?
        }
        (None, None) => anyhow::bail!("give --exposures FILE or --from-store with --database URL"),
    })
}

async fn run(settings: Settings, args: &RunArgs) -> anyhow::Result<()> {
    let table = exposure_table(&args.source).await?;
    println!(
        "Exposures: {} rows read, {} accepted, {} refused (listed in exposure_diagnostics.csv).",
        table.read,
        table.accepted(),
        table.rejected
    );
    let population = careweave_population::RunSettings::defaults()?;
    let lists = crate::population_cmd::codelists(&population, &[])?;
    let evaluation = careweave_evaluation::run(&args.source.input, lists, table, settings)
        .await
        .context("the evaluation failed")?;
    let written = output::write(&evaluation, &args.out)?;
    if let Some(url) = &args.source.database {
        let store = open(url).await?;
        let id = store_results(&store, &evaluation).await?;
        println!("Results stored in the database (evaluation {id}); the web app's Evaluation page shows them.");
    }
    for (stage, took) in &evaluation.timings {
        println!("{stage}: {:.1} s", took.as_secs_f64());
    }
    println!(
        "{} episodes matched; {} files written to {} (report.html is the board pack; matched_sets.csv and unmatched.csv name people and stay with the care team).",
        evaluation.matching.sets.len(),
        written.len(),
        args.out.display()
    );
    Ok(())
}

/// Stores the run's aggregate summary in the store for the web page. The summary is read back into
/// the store's typed form first, so a summary the page could not read is refused here, at the
/// command line, not on the page.
pub async fn store_results(
    store: &careweave_store::Store,
    evaluation: &careweave_evaluation::Evaluation,
) -> anyhow::Result<i64> {
    let mut summary: careweave_store::evaluation::Summary =
        serde_json::from_value(output::summary(evaluation))
            .context("the evaluation summary does not have the stored form")?;
    summary
        .tables
        .push(outcome_measures(store, evaluation.settings.disclosure_control).await?);
    // The board pack goes with the summary, so the web page offers the report it was written from.
    let board_pack = careweave_evaluation::board_pack(evaluation);
    Ok(store
        .store_evaluation_with_board_pack(None, &summary, Some(&board_pack))
        .await?)
}

/// The outcome measures of the casework store (issue 15, item 7): per instrument scale, people with
/// a baseline and a later measure, the share improved by the instrument's meaningful change and
/// the mean paired change, published through disclosure control like every other count.
async fn outcome_measures(
    store: &careweave_store::Store,
    suppress: bool,
) -> anyhow::Result<careweave_store::evaluation::Table> {
    let services: Vec<_> = store
        .casework_services()
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let pairs = store.outcome_pairs(&services).await?;
    let catalogue = careweave_instruments::load(&[careweave_instruments::Source::Shipped]);
    let count = |n: u64| {
        if suppress {
            careweave_domain::disclosure::SafeCount::from_raw(n).to_string()
        } else {
            n.to_string()
        }
    };
    let rows = careweave_store::outcomes::paired_change(&pairs, &catalogue)
        .into_iter()
        .map(|r| {
            vec![
                format!("{}: {}", r.instrument, r.scale),
                count(r.pairs),
                count(r.improved),
                r.share_text(suppress),
                r.mean_change_text(suppress),
            ]
        })
        .collect();
    Ok(careweave_store::evaluation::Table {
        key: "outcome_measures".to_owned(),
        caption: "Outcome measures: each person's first baseline against their latest later measure (all casework services)".to_owned(),
        columns: [
            "Instrument and scale",
            "People with a baseline and a later measure",
            "Improved by the instrument's meaningful change",
            "Share improved",
            "Mean change",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
    })
}

/// Evaluates the demo neighbourhood's planted support episodes (the extract the demo wrote) and
/// stores the results. Small on purpose, so that the demo starts quickly: 200 bootstrap replicates
/// instead of 1,000, which widens nothing but the intervals' own Monte Carlo error.
pub async fn load_demo(store: &careweave_store::Store, extract: &Path) -> anyhow::Result<()> {
    let table = exposures::read_csv(&extract.join("exposures.csv"))?;
    let population = careweave_population::RunSettings::defaults()?;
    let lists = crate::population_cmd::codelists(&population, &[])?;
    let settings = Settings {
        bootstrap: 200,
        service_name: "Personalised care (demo)".to_owned(),
        ..Settings::default()
    };
    let evaluation = careweave_evaluation::run(extract, lists, table, settings)
        .await
        .context("the demo evaluation failed")?;
    store_results(store, &evaluation).await?;
    eprintln!(
        "Impact evaluation: {} planted support episodes matched and stored.",
        evaluation.matching.sets.len()
    );
    Ok(())
}
