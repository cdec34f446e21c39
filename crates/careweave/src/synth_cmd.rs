//! `careweave synth`: writes a synthetic neighbourhood (Parquet, CSV and FHIR NDJSON) to a directory,
//! or, beyond the 999 test range of NHS numbers, a multi-place extract in partitioned Parquet.
//! The work is in `careweave-synth`; this file only turns arguments into its config.

use std::path::PathBuf;

use anyhow::Context;
use careweave_synth::{max_people, PlacesConfig, Profile, SynthConfig, WriteOptions};

/// Arguments of `careweave synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// How many people to generate. Up to 909,091 (the valid NHS numbers in the 999 test range): one
    /// neighbourhood in Parquet, CSV and FHIR NDJSON. More (up to 80 million): several places of up
    /// to 500,000 people, Parquet only (parquet/<table>/place-NNNN.parquet), whose people have
    /// synthetic identifiers that can never be NHS numbers (flagged in manifest.json).
    #[arg(long, allow_negative_numbers = true)]
    people: i64,
    /// Hidden: the most people per place of a multi-place extract (default 500,000). Giving it
    /// makes a multi-place extract at any size, for tests and trials.
    #[arg(long, hide = true, allow_negative_numbers = true)]
    place_size: Option<i64>,
    /// The seed: the same seed and version give byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The output directory; it must not exist or be empty (unless --force).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// deprived-urban, mixed or affluent-rural.
    #[arg(long, default_value = "deprived-urban")]
    profile: String,
    /// Replace the output directory if it is not empty.
    #[arg(long)]
    force: bool,
    /// Hidden: shadows the global `--config` (the web settings), which the generator does not
    /// read, so that `synth --help` does not offer it and giving it is refused.
    #[arg(long, hide = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Plant support episodes with a known true effect (written to exposures.csv, the truth to the manifest).
    #[arg(long)]
    plant_effect: bool,
    /// The planted relative change in emergency admissions, in per cent (0 or less).
    #[arg(long, default_value_t = -20, allow_negative_numbers = true, value_parser = clap::value_parser!(i32).range(-100..=0))]
    effect_emergency_admissions: i32,
    /// The planted relative change in GP appointments, in per cent (0 or less).
    #[arg(long, default_value_t = -10, allow_negative_numbers = true, value_parser = clap::value_parser!(i32).range(-100..=0))]
    effect_gp_appointments: i32,
    /// How many whole months the planted effect lasts from the referral month.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=24))]
    effect_months: u32,
    /// With --plant-effect: how often people are referred for the planted support, per 100,000
    /// people a month (scaled by each person's need); 31 gives about 5,000 episodes at 909,091
    /// people, the evaluation benchmark's size.
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    referrals_per_100k: u32,
}

/// Validates the arguments, generates the dataset and prints a summary.
pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.config.is_none(),
        "careweave synth reads no settings file: give --people, --seed, --profile and --out on the command line"
    );
    let profile: Profile = args.profile.parse()?;
    let options = WriteOptions {
        overwrite: args.force,
        progress: true,
    };
    if args.place_size.is_some() || args.people > i64::from(max_people()) {
        anyhow::ensure!(
            !args.plant_effect,
            careweave_synth::SynthError::InterventionNeedsOnePlace
        );
        let mut config = PlacesConfig::new(args.people, args.seed, profile)?;
        if let Some(size) = args.place_size {
            config = config.with_place_size(size)?;
        }
        let manifest =
            careweave_synth::write_places(&config, &args.out, &options).with_context(|| {
                format!(
                    "could not write the synthetic extract to {}",
                    args.out.display()
                )
            })?;
        let rows: u64 = manifest.table_rows.values().sum();
        println!(
            "Wrote {} people in {} places ({} rows in {} tables, Parquet only) to {}; their identifiers are synthetic and can never be NHS numbers (manifest.json: identifiers synthetic-unissuable)",
            manifest.people,
            manifest.places.len(),
            rows,
            manifest.table_rows.len(),
            args.out.display()
        );
        return Ok(());
    }
    let mut config = SynthConfig::new(args.people, args.seed, profile)?;
    if args.plant_effect {
        config = config.with_intervention(careweave_synth::Intervention {
            emergency_admissions_percent: args.effect_emergency_admissions,
            gp_appointments_percent: args.effect_gp_appointments,
            months: args.effect_months,
            referral_per_100k: args.referrals_per_100k,
        });
    }
    let manifest =
        careweave_synth::write_dataset(&config, &args.out, &options).with_context(|| {
            format!(
                "could not write the synthetic dataset to {}",
                args.out.display()
            )
        })?;
    let rows: u64 = manifest.table_rows.values().sum();
    println!(
        "Wrote {} people ({} rows in {} tables, FHIR NDJSON beside them) to {}",
        manifest.people,
        rows,
        manifest.table_rows.len(),
        args.out.display()
    );
    Ok(())
}
