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
}

/// Arguments of `evaluation run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The extract folder (what `careweave synth` writes, or a deployment's own).
    #[arg(long, value_name = "DIR")]
    input: PathBuf,
    /// The exposure table: nhs_number, service, referral_date, first_contact_date, discharge_date, contacts.
    #[arg(long, value_name = "FILE")]
    exposures: PathBuf,
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
        }
    })
}

async fn run(settings: Settings, args: &RunArgs) -> anyhow::Result<()> {
    let table = exposures::read_csv(&args.exposures)?;
    println!(
        "Exposures: {} rows read, {} accepted, {} refused (listed in exposure_diagnostics.csv).",
        table.read,
        table.accepted(),
        table.rejected
    );
    let population = careweave_population::RunSettings::defaults()?;
    let lists = crate::population_cmd::codelists(&population, &[])?;
    let evaluation = careweave_evaluation::run(&args.input, lists, table, settings)
        .await
        .context("the evaluation failed")?;
    let written = output::write(&evaluation, &args.out)?;
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
