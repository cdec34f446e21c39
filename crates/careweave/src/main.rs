//! The `careweave` command: parses arguments, loads settings and hands over to the library crates.
//! Nothing here knows SQL, HTML or how a page looks; see ARCHITECTURE.md for where things live.

mod audit_cmd;
mod cluster_cmd;
mod config;
mod demo;
mod demo_casework;
mod demo_events;
mod demo_mdt;
mod demo_place;
mod demo_supervision;
mod demo_workforce;
mod directory_cmd;
mod evaluation_cmd;
mod person_cmd;
mod population_cmd;
mod retention_cmd;
mod synth_cmd;
mod users;
mod workforce_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// mimalloc instead of the C library's allocator. The server allocates rows on SQLite's
/// connection threads and frees them on Tokio's, which glibc's per-thread arenas handle badly:
/// under the casework load benchmark a fifth of all CPU time was spent in malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// careweave: integrated neighbourhood care, from knowing the population to evidencing impact.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// The web settings file (TOML). Without it, `careweave.toml` in the working directory is read if
    /// present. Environment variables (CAREWEAVE_DATABASE_URL, CAREWEAVE_PORT, …) override the file.
    /// `population run|explain` take their own `--config` (a population configuration) and `synth`
    /// takes none.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a synthetic demo neighbourhood with an account for every role, and serve it.
    Demo(demo::DemoArgs),
    /// The population engine: scores, segments, worklists and place profiles from an extract.
    /// Here `--config` names a population configuration (see crates/population/rules/default.toml).
    #[command(subcommand)]
    Population(population_cmd::PopulationCommand),
    /// The nodes of a distributed population run (Apache Ballista): a scheduler and executors,
    /// each started from this same binary.
    #[command(subcommand)]
    Cluster(cluster_cmd::ClusterCommand),
    /// Workforce planning from need: demand, supply, scenarios and the waiting-list simulation.
    /// Here `--config` names a workforce configuration (see docs/workforce.md).
    #[command(subcommand)]
    Workforce(workforce_cmd::WorkforceCommand),
    /// Impact evaluation: matched comparison, difference-in-differences, value and the board pack.
    /// Here `--config` names evaluation settings (see docs/evaluation.md).
    #[command(subcommand)]
    Evaluation(evaluation_cmd::EvaluationCommand),
    /// Serve the web application with the configured database.
    Serve,
    /// Database maintenance.
    #[command(subcommand)]
    Db(DbCommand),
    /// Account maintenance.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Organisations (the first step of a new deployment, before its first account).
    #[command(subcommand)]
    Organisation(users::OrganisationCommand),
    /// The community services directory: postcode table, imports and exports.
    #[command(subcommand)]
    Directory(directory_cmd::DirectoryCommand),
    /// One person's records: the subject access request export.
    #[command(subcommand)]
    Person(person_cmd::PersonCommand),
    /// Records past their retention period (see the `[retention]` settings).
    #[command(subcommand)]
    Retention(retention_cmd::RetentionCommand),
    /// Generate a synthetic neighbourhood (Parquet, CSV and FHIR NDJSON) into a directory; beyond
    /// 909,091 people, several places in partitioned Parquet with synthetic identifiers.
    Synth(synth_cmd::SynthArgs),
    /// The audit log's hash chain: verify it, print its head, export it for an auditor.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Copy the SQLite database to a new file while it is in use (PostgreSQL: use pg_dump).
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Apply every pending migration to the configured database.
    Migrate,
}

/// Errors are printed as one line with their causes (`{:#}`), never as a stack trace: returning
/// an `anyhow::Error` from `main` would print its backtrace whenever `RUST_BACKTRACE` is set.
fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    init_tracing();
    // The population engine reads its own configuration, not the web settings, and the generator
    // reads none.
    let cli = match cli.command {
        Command::Population(cmd) => return population_cmd::main(cmd, cli.config.as_deref()),
        Command::Synth(args) => return synth_cmd::run(args).map(|()| ExitCode::SUCCESS),
        Command::Cluster(cmd) => return cluster_cmd::main(cmd).map(|()| ExitCode::SUCCESS),
        Command::Workforce(cmd) => {
            return workforce_cmd::main(cmd, cli.config.as_deref()).map(|()| ExitCode::SUCCESS)
        }
        Command::Evaluation(cmd) => {
            return evaluation_cmd::main(cmd, cli.config.as_deref()).map(|()| ExitCode::SUCCESS)
        }
        command => Cli { command, ..cli },
    };
    let settings = config::load(cli.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => demo::run(settings, args).await,
            // Handled above, before the web settings are read.
            Command::Population(_) | Command::Evaluation(_) => {
                anyhow::bail!("the population and evaluation commands run without web settings")
            }
            Command::Workforce(_) | Command::Cluster(_) => {
                anyhow::bail!("the workforce and cluster commands run without web settings")
            }
            Command::Serve => serve(settings).await,
            Command::Db(DbCommand::Migrate) => {
                let store = config::open_store(&settings).await?;
                store.migrate().await.context("migration failed")?;
                println!("Database is up to date.");
                Ok(())
            }
            Command::User(cmd) => users::run(settings, cmd).await,
            Command::Organisation(cmd) => users::run_organisation(settings, cmd).await,
            Command::Directory(cmd) => {
                let store = config::open_store(&settings).await?;
                store.migrate().await.context("migration failed")?;
                directory_cmd::run(&store, cmd).await
            }
            Command::Person(cmd) => {
                let store = config::open_store(&settings).await?;
                store.migrate().await.context("migration failed")?;
                person_cmd::run(&store, cmd).await
            }
            Command::Retention(cmd) => {
                let store = config::open_store(&settings).await?;
                store.migrate().await.context("migration failed")?;
                retention_cmd::run(&store, &settings.retention, cmd).await
            }
            // Handled above, before the web settings are read.
            Command::Synth(_) => anyhow::bail!("the synth command runs without web settings"),
            Command::Audit(cmd) => {
                let store = config::open_store(&settings).await?;
                store.migrate().await.context("migration failed")?;
                audit_cmd::run(&store, cmd).await
            }
            Command::Backup { out } => {
                let store = config::open_store(&settings).await?;
                audit_cmd::backup(&store, &out).await
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: careweave_web::Settings) -> anyhow::Result<()> {
    let app = careweave_web::Application::build(settings).await?;
    println!("Listening on http://127.0.0.1:{}", app.port());
    app.run_until_stopped().await?;
    Ok(())
}

/// Logs go to standard error as text, or as JSON lines when `CAREWEAVE_LOG_FORMAT=json`. The level
/// comes from `RUST_LOG` (default `info`). Handlers log ids and route templates, never personal data.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("CAREWEAVE_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
