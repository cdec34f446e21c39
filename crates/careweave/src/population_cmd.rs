//! `careweave population`: runs the population engine over an extract, or explains one person.
//!
//! The population configuration is the global `--config FILE` (a population run needs no web
//! settings), so `main` hands this command over before it reads any web settings.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use careweave_population::{Codelists, Engine, RunSettings, Stage};
use clap::{Args, Subcommand};

/// The population engine.
#[derive(Debug, Subcommand)]
pub enum PopulationCommand {
    /// Ingest an extract, compute features, scores, segments, tiers, cohorts and place profiles,
    /// and write them as Parquet with a diagnostics file.
    Run(RunArgs),
    /// Show every feature, score, segment rule and cohort criterion for one person.
    Explain(ExplainArgs),
}

/// Arguments of `population run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The extract folder (one `<table>.parquet` or `<table>.csv` per table).
    #[arg(long, value_name = "DIR")]
    input: PathBuf,
    /// Where to write the outputs (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Arguments of `population explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The person's NHS number (spaces allowed).
    #[arg(long, value_name = "N")]
    nhs_number: String,
    /// The extract folder.
    #[arg(long, value_name = "DIR")]
    input: PathBuf,
}

fn settings(config: Option<&Path>) -> anyhow::Result<RunSettings> {
    match config {
        Some(path) => RunSettings::from_file(path)
            .with_context(|| format!("could not read {}", path.display())),
        None => RunSettings::defaults().context("the shipped population configuration is invalid"),
    }
}

/// The codelist folders: the repository's `codelists/` when run from a checkout (so that the
/// synthetic extract's codes are known), then those the configuration names.
pub(crate) fn codelists(settings: &RunSettings) -> anyhow::Result<Codelists> {
    let mut folders = Vec::new();
    if settings.config.codelists.is_empty() {
        // From a checkout (the demo, development), the repository's lists hold every code the
        // synthetic extract uses.
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../codelists");
        if Path::new("codelists").is_dir() {
            folders.push(PathBuf::from("codelists"));
        } else if checkout.is_dir() {
            folders.push(checkout);
        }
    }
    folders.extend(settings.config.codelists.iter().cloned());
    Codelists::load(&folders).context("could not load the codelists")
}

/// Runs a population command; `config` is the global `--config` file, read as a population
/// configuration (the shipped defaults when absent).
pub fn main(command: PopulationCommand, config: Option<&Path>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        let settings = settings(config)?;
        let lists = codelists(&settings)?;
        match command {
            PopulationCommand::Run(args) => run(settings, lists, &args).await,
            PopulationCommand::Explain(args) => explain(settings, lists, &args).await,
        }
    })
}

async fn run(settings: RunSettings, lists: Codelists, args: &RunArgs) -> anyhow::Result<()> {
    let engine = Engine::new(settings, lists)?;
    let bars = indicatif::MultiProgress::new();
    let mut current: Option<indicatif::ProgressBar> = None;
    let style = indicatif::ProgressStyle::with_template("{spinner} {prefix:<24} {elapsed_precise}")
        .context("progress style")?;
    let mut on_stage = |stage: Stage| {
        if let Some(bar) = current.take() {
            bar.finish();
        }
        let bar = bars.add(
            indicatif::ProgressBar::new_spinner()
                .with_style(style.clone())
                .with_prefix(stage.label()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        current = Some(bar);
    };
    let summary = engine
        .run(&args.input, &args.out, &mut on_stage)
        .await
        .context("the population run failed")?;
    if let Some(bar) = current.take() {
        bar.finish();
    }
    println!("{summary}");
    println!(
        "Outputs in {}; rejected rows are listed in diagnostics.csv.",
        args.out.display()
    );
    Ok(())
}

async fn explain(
    settings: RunSettings,
    lists: Codelists,
    args: &ExplainArgs,
) -> anyhow::Result<()> {
    let nhs: careweave_domain::NhsNumber = args
        .nhs_number
        .parse()
        .context("that is not a valid NHS number")?;
    let engine = Engine::new(settings, lists)?;
    engine
        .analyse(&args.input, &mut |_| {})
        .await
        .context("the population analysis failed")?;
    let explanation = engine.explain(&nhs).await?;
    print!("{explanation}");
    Ok(())
}

/// Loads a finished run's place profiles and worklists into the operational store.
async fn load_into_store(engine: &Engine, store: &careweave_store::Store) -> anyhow::Result<i64> {
    use careweave_store::population::{PopulationLoad, ProfileCell, WorklistRow};
    let profiles = engine
        .profile_rows()
        .await?
        .into_iter()
        .map(|p| {
            let [people, emergency_admissions, ae_attendances, gp_appointments, bed_days, cost] =
                p.values;
            ProfileCell {
                level: p.level,
                place: p.place,
                place_name: p.place_name,
                dimension: p.dimension,
                category: p.category,
                people,
                emergency_admissions,
                ae_attendances,
                gp_appointments,
                bed_days,
                cost,
            }
        })
        .collect();
    let worklist = engine
        .worklist_rows()
        .await?
        .into_iter()
        .map(|w| {
            Ok(WorklistRow {
                cohort: w.cohort,
                nhs_number: w
                    .nhs_number
                    .parse()
                    .context("the engine wrote an invalid NHS number")?,
                practice: w.practice,
                segment: w.segment,
                criteria_met: w.criteria_met,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let settings = engine.settings();
    let load = PopulationLoad {
        index_date: settings.config.index_date,
        disclosure_control: settings.config.disclosure_control,
        cohorts: settings
            .cohorts
            .iter()
            .map(|c| (c.name.clone(), c.title.clone()))
            .collect(),
        profiles,
        worklist,
    };
    Ok(store.load_population(None, &load).await?)
}

/// Runs the engine on the demo neighbourhood (the extract of `config`, written to a temporary
/// folder) and loads the results into the demo store, so that the dashboard and worklists show it.
pub async fn load_demo(
    store: &careweave_store::Store,
    config: &careweave_synth::SynthConfig,
) -> anyhow::Result<()> {
    let tmp =
        tempfile::tempdir().context("could not make a temporary folder for the demo extract")?;
    let extract = tmp.path().join("extract");
    careweave_synth::write_dataset(
        config,
        &extract,
        &careweave_synth::WriteOptions {
            overwrite: false,
            progress: false,
        },
    )
    .context("could not write the demo extract")?;
    let mut settings =
        RunSettings::defaults().context("the shipped population configuration is invalid")?;
    settings.config.index_date = config.extract_date();
    let lists = codelists(&settings)?;
    let engine = Engine::new(settings, lists)?;
    let summary = engine
        .run(&extract, &tmp.path().join("out"), &mut |_| {})
        .await
        .context("the population run failed")?;
    load_into_store(&engine, store).await?;
    eprintln!(
        "Population engine: {} people profiled, {} worklists loaded.",
        summary.people,
        summary.cohorts.len()
    );
    Ok(())
}
