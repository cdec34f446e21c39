//! `careweave population`: runs the population engine over an extract, or explains one person.
//!
//! The population configuration is the command's own `--config FILE` (a population run needs no
//! web settings), so `main` hands this command over before it reads any web settings.
//!
//! Exit status: 0 for a complete run; 1 when the run could not be done (an unreadable input, a
//! missing required table, a codelist that does not load); 2 when the run finished and wrote its
//! outputs but is incomplete (a table rejected more than `max_rejected_share` of its rows, or a
//! codelist the configuration names is missing), unless `--allow-incomplete` was given.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use careweave_population::config::InputFormat;
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

/// The settings both population commands take.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// A population configuration (TOML): index date, windows, unit costs, codelists, rules; see
    /// crates/population/rules/default.toml for every setting. Without it the shipped defaults are
    /// used. This is not the web settings file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A folder of codelists (`snomed/…/*.csv`, `icd10/…/*.csv`) that adds lists or replaces
    /// built-in ones by name; may be given more than once, later folders win. The shipped lists are
    /// built into the binary, so no folder is needed to run.
    #[arg(long = "codelists", value_name = "DIR")]
    codelists: Vec<PathBuf>,
}

/// Arguments of `population run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The extract folder (one `<table>.parquet` or `<table>.csv` per table, or a FHIR export: see
    /// `--format`).
    #[arg(long, value_name = "DIR")]
    input: PathBuf,
    /// Where to write the outputs (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    settings: SettingsArgs,
    /// The largest share of any table's rows that may be rejected before the run counts as
    /// incomplete (overrides `max_rejected_share`; default 0.01, one per cent).
    #[arg(long, value_name = "SHARE")]
    max_rejected_share: Option<f64>,
    /// The form of the extract: `auto` reads Parquet, else CSV, else a FHIR R4 Bulk Data export
    /// (`*.ndjson` in the folder or its `fhir/` subfolder); `fhir` reads the person records from the
    /// NDJSON even when tables sit beside it. The place tables (PCNs, practices, LSOAs, postcodes)
    /// are always read as Parquet or CSV. Overrides `input_format` in the configuration.
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<FormatArg>,
    /// Run the stages on an Apache Ballista cluster whose scheduler is at `df://HOST:PORT` (started
    /// with `careweave cluster scheduler`, executors with `careweave cluster executor`). The input,
    /// the output and `--scratch` must be paths every node reads and writes at the same place.
    #[arg(long, value_name = "ADDR")]
    cluster: Option<String>,
    /// Where a cluster run keeps its intermediate tables (default: a `.scratch` folder beside
    /// `--out`); removed when the run ends.
    #[arg(long, value_name = "DIR", requires = "cluster")]
    scratch: Option<PathBuf>,
    /// Exit with status 0 even when the run is incomplete (rejections over the limit, a named
    /// codelist missing). The summary still lists every problem.
    #[arg(long)]
    allow_incomplete: bool,
}

/// The `--format` values, mapped onto the engine's [`InputFormat`].
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Auto,
    Parquet,
    Csv,
    Fhir,
}

impl From<FormatArg> for InputFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Auto => Self::Auto,
            FormatArg::Parquet => Self::Parquet,
            FormatArg::Csv => Self::Csv,
            FormatArg::Fhir => Self::Fhir,
        }
    }
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
    #[command(flatten)]
    settings: SettingsArgs,
}

fn settings(config: Option<&Path>) -> anyhow::Result<RunSettings> {
    match config {
        Some(path) => RunSettings::from_file(path)
            .with_context(|| format!("could not read {}", path.display())),
        None => RunSettings::defaults().context("the shipped population configuration is invalid"),
    }
}

/// The codelists of a run: the built-in lists, then the folders the configuration names, then the
/// `--codelists` folders. Nothing depends on the working directory or on where the binary was
/// built: the shipped lists are compiled in. A folder or list that does not load stops the run.
pub(crate) fn codelists(settings: &RunSettings, extra: &[PathBuf]) -> anyhow::Result<Codelists> {
    let folders: Vec<PathBuf> = settings
        .config
        .codelists
        .iter()
        .chain(extra)
        .cloned()
        .collect();
    Codelists::load(&folders).context("could not load the codelists")
}

/// Runs a population command; `global_config` is a `--config` given before the subcommand, read
/// as a population configuration like the command's own (the shipped defaults when neither).
pub fn main(command: PopulationCommand, global_config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        let args = match &command {
            PopulationCommand::Run(a) => &a.settings,
            PopulationCommand::Explain(a) => &a.settings,
        };
        let settings = settings(args.config.as_deref().or(global_config))?;
        let lists = codelists(&settings, &args.codelists)?;
        match command {
            PopulationCommand::Run(args) => run(settings, lists, &args).await,
            PopulationCommand::Explain(args) => explain(settings, lists, &args)
                .await
                .map(|()| ExitCode::SUCCESS),
        }
    })
}

async fn run(
    mut settings: RunSettings,
    lists: Codelists,
    args: &RunArgs,
) -> anyhow::Result<ExitCode> {
    if let Some(share) = args.max_rejected_share {
        anyhow::ensure!(
            (0.0..=1.0).contains(&share),
            "--max-rejected-share must be a share from 0 to 1 (0.01 is one per cent)"
        );
        settings.config.max_rejected_share = share;
    }
    if let Some(format) = args.format {
        settings.config.input_format = format.into();
    }
    let scratch = args.scratch.clone().unwrap_or_else(|| {
        let mut name = args.out.file_name().unwrap_or_default().to_os_string();
        name.push(".scratch");
        args.out.with_file_name(name)
    });
    let engine = match &args.cluster {
        None => Engine::new(settings, lists)?,
        Some(address) => {
            let address = careweave_cluster::SchedulerAddress::parse(address)?;
            std::fs::create_dir_all(&scratch)
                .with_context(|| format!("could not create {}", scratch.display()))?;
            match careweave_cluster::engine(&address, &scratch, settings, lists).await {
                Ok(engine) => engine,
                Err(e) => {
                    if args.scratch.is_none() {
                        let _ = std::fs::remove_dir_all(&scratch);
                    }
                    return Err(e.into());
                }
            }
        }
    };
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
    if args.cluster.is_some() && args.scratch.is_none() {
        // The default scratch folder is the run's own; one the user named is theirs to keep.
        let _ = std::fs::remove_dir_all(&scratch);
    }
    println!("{summary}");
    println!(
        "Outputs in {}; rejected rows and ignored values are listed in diagnostics.csv, codes that count towards nothing in unknown_codes.csv.",
        args.out.display()
    );
    if summary.failures().is_empty() {
        Ok(ExitCode::SUCCESS)
    } else if args.allow_incomplete {
        eprintln!(
            "The run is incomplete (see above); --allow-incomplete was given, so it exits 0."
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: the run is incomplete (see the summary above); fix the input or the codelists, \
             or pass --allow-incomplete to accept it"
        );
        Ok(ExitCode::from(2))
    }
}

async fn explain(
    settings: RunSettings,
    lists: Codelists,
    args: &ExplainArgs,
) -> anyhow::Result<()> {
    let nhs: careweave_domain::NhsNumber = args.nhs_number.parse().with_context(|| {
        format!(
            "--nhs-number {:?} is not a valid NHS number",
            args.nhs_number
        )
    })?;
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
    use careweave_store::population::{CriterionRow, PopulationLoad, ProfileCell, WorklistRow};
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
                criteria_count: w.criteria_count,
                age: w.age,
                sex: w.sex,
                efi: w.efi,
                charlson: w.charlson,
                hfrs: w.hfrs,
                emergency_admissions: w.emergency_admissions,
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
        criteria: settings
            .cohorts
            .iter()
            .flat_map(|c| {
                c.criteria.iter().map(|k| CriterionRow {
                    cohort: c.name.clone(),
                    name: k.name.clone(),
                    description: k.description.clone(),
                })
            })
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
    let lists = codelists(&settings, &[])?;
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
    // The demo neighbourhood carries planted support episodes, so the evaluation page shows a
    // real estimate on first sign-in; the evaluation reads the same extract.
    if config.intervention().is_some() {
        crate::evaluation_cmd::load_demo(store, &extract).await?;
    }
    Ok(())
}
