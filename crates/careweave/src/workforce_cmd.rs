//! `careweave workforce plan|simulate`: workforce planning from need on the command line.
//!
//! Like `population`, the global `--config FILE` names this command's own configuration (the
//! workforce configuration: model files, the population run's folder, posts, scenarios and
//! services; see `crates/workforce/src/config.rs`), so `main` hands the command over before it
//! reads any web settings.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use careweave_workforce::config::Config;
use careweave_workforce::{output, plan, sim, PlaceCounts, Plan, ProfileCell, Vocabulary};
use clap::{Args, Subcommand};

/// Workforce planning from need.
#[derive(Debug, Subcommand)]
pub enum WorkforceCommand {
    /// Demand from a population run's place profiles, in hours by competency level and WTE and cost
    /// by role, against the posts in post, for the as-is and every scenario. Writes CSV and HTML.
    Plan(PlanArgs),
    /// Simulate each configured service's waiting list (seeded, reproducible) and write the
    /// waiting-time percentiles, caseload over time and utilisation as CSV and HTML.
    Simulate(OutArgs),
}

/// Arguments of `workforce plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The population run's output folder; overrides `population` in the configuration.
    #[arg(long, value_name = "DIR")]
    population: Option<PathBuf>,
    #[command(flatten)]
    out: OutArgs,
}

/// Where to write.
#[derive(Debug, Args)]
pub struct OutArgs {
    /// The output folder; overrides `out` in the configuration.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("could not write {}", path.display()))?;
    Ok(path)
}

/// Runs a workforce command with the configuration file `config`.
pub fn main(command: WorkforceCommand, config: Option<&Path>) -> anyhow::Result<()> {
    let config = config
        .context("workforce commands need --config FILE (see docs/workforce.md for an example)")?;
    let vocab = Vocabulary::default();
    let cfg = Config::load(config, &vocab).map_err(|e| anyhow::anyhow!("{e}"))?;
    match command {
        WorkforceCommand::Plan(args) => run_plan(&cfg, &vocab, &args),
        WorkforceCommand::Simulate(args) => run_simulate(&cfg, &args),
    }
}

fn run_plan(cfg: &Config, vocab: &Vocabulary, args: &PlanArgs) -> anyhow::Result<()> {
    let folder = args
        .population
        .clone()
        .or_else(|| cfg.population.clone())
        .context("name the population run's output folder with --population DIR or `population` in the configuration")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let t = Instant::now();
    let rows = runtime
        .block_on(careweave_population::read_place_profiles(&folder))
        .with_context(|| format!("could not read the place profiles in {}", folder.display()))?;
    let cells: Vec<ProfileCell> = rows
        .into_iter()
        .filter(|r| r.level == cfg.level)
        .map(|r| ProfileCell {
            level: r.level,
            place: r.place,
            place_name: r.place_name,
            dimension: r.dimension,
            category: r.category,
            people: r.values[0],
        })
        .collect();
    let places = PlaceCounts::from_cells(&cells, vocab);
    let read = t.elapsed();
    let t = Instant::now();
    let mut plans: Vec<Plan> = Vec::new();
    for place in &places {
        for scenario in &cfg.scenarios {
            plans.push(plan(&cfg.model, place, &cfg.posts, scenario));
        }
    }
    let computed = t.elapsed();
    let out = args.out.out.clone().unwrap_or_else(|| cfg.out.clone());
    std::fs::create_dir_all(&out).with_context(|| format!("could not create {}", out.display()))?;
    let register = &cfg.model.register;
    let written = [
        write(&out, "roles.csv", &output::roles_csv(&plans, register))?,
        write(
            &out,
            "functions.csv",
            &output::functions_csv(&plans, register),
        )?,
        write(&out, "levels.csv", &output::levels_csv(&plans))?,
        write(&out, "summary.csv", &output::summary_csv(&plans))?,
        write(&out, "register.csv", &register.to_csv())?,
        write(
            &out,
            "workforce.html",
            &careweave_workforce::html::plan_report(&cfg.model, &plans),
        )?,
    ];
    println!(
        "Planned {} {} place(s) under {} scenario(s): profiles read in {:.3} s, demand computed in {:.3} s.",
        places.len(),
        cfg.level,
        cfg.scenarios.len(),
        read.as_secs_f64(),
        computed.as_secs_f64()
    );
    if places.is_empty() {
        println!("No place at level {} in the profiles.", cfg.level);
    }
    for p in plans.iter().filter(|p| p.scenario == cfg.scenarios[0].name) {
        println!(
            "  {} ({}): demand {:.1} WTE, in post {:.1} WTE, Core20 share of hours {:.0}%",
            p.place_name,
            p.place,
            p.demand_wte(),
            p.supply_wte(),
            if p.total_hours > 0.0 {
                100.0 * p.core20_hours / p.total_hours
            } else {
                0.0
            }
        );
    }
    for w in &written {
        println!("wrote {}", w.display());
    }
    Ok(())
}

fn run_simulate(cfg: &Config, args: &OutArgs) -> anyhow::Result<()> {
    let spec = cfg
        .simulation
        .context("the configuration has no [simulation] section (seed, replications, weeks)")?;
    anyhow::ensure!(
        !cfg.services.is_empty(),
        "the configuration has no [[service]] to simulate"
    );
    let mut results = Vec::new();
    for s in &cfg.services {
        let t = Instant::now();
        let summary = sim::summarise(&sim::simulate(s, &spec));
        println!(
            "{}: {} replications in {:.2} s; wait p50 {:.1} weeks, p90 {:.1} weeks; caseload utilisation {:.0}%",
            s.name,
            spec.replications,
            t.elapsed().as_secs_f64(),
            summary.wait_p50,
            summary.wait_p90,
            summary.utilisation * 100.0
        );
        results.push((s.name.clone(), summary));
    }
    let out = args.out.clone().unwrap_or_else(|| cfg.out.clone());
    std::fs::create_dir_all(&out).with_context(|| format!("could not create {}", out.display()))?;
    for w in [
        write(&out, "simulation.csv", &output::simulation_csv(&results))?,
        write(&out, "simulation_weekly.csv", &output::weekly_csv(&results))?,
        write(
            &out,
            "simulation.html",
            &careweave_workforce::html::simulation_report(&cfg.services, &spec, &results),
        )?,
    ] {
        println!("wrote {}", w.display());
    }
    Ok(())
}
