//! Prints every calibration measure beside its target: `cargo run --release -p careweave-synth
//! --example calibrate -- [people] [seed] [profile]`. Used when tuning the model.

use careweave_synth::{calibration, Profile, SynthConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let people: i64 = args.next().map_or(Ok(60_000), |a| a.parse())?;
    let seed: u64 = args.next().map_or(Ok(42), |a| a.parse())?;
    let profile: Profile = args.next().map_or(Ok(Profile::Mixed), |a| a.parse())?;
    let config = SynthConfig::new(people, seed, profile)?;
    let measures = calibration::measure(&config)?;
    let targets = calibration::targets()?;
    for (name, value) in &measures {
        match targets.iter().find(|t| &t.name == name) {
            Some(t) => {
                let flag = if (value - t.value).abs() <= t.tolerance {
                    "ok "
                } else {
                    "OUT"
                };
                println!(
                    "{flag} {name:55} {value:9.4}  target {:.4} ± {:.4}",
                    t.value, t.tolerance
                );
            }
            None => println!("    {name:55} {value:9.4}"),
        }
    }
    Ok(())
}
