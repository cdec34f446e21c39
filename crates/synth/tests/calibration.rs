//! The calibration test: a generated England-like population must hit every target in
//! `calibration/targets.csv` within its tolerance.

use careweave_synth::{calibration, Profile, SynthConfig};

#[test]
fn every_calibration_target_is_met() {
    // 40,000 people of the England-like profile: enough for the rarest targets (learning disability,
    // 0.6%) to be stable, small enough to run in seconds.
    let config = SynthConfig::new(40_000, 20_250_331, Profile::Mixed).expect("config");
    let measures = calibration::measure(&config).expect("measure");
    let targets = calibration::targets().expect("targets");
    assert!(targets.len() >= 30, "the calibration table lost rows");
    let mut failures = Vec::new();
    for t in &targets {
        match measures.get(&t.name) {
            Some(v) if (v - t.value).abs() <= t.tolerance => {}
            Some(v) => failures.push(format!(
                "{}: {v:.4}, target {} ± {} ({})",
                t.name, t.value, t.tolerance, t.source
            )),
            None => failures.push(format!("{}: no such measure", t.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "targets missed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn deprived_profile_is_sicker_than_affluent() {
    let get = |p| {
        let config = SynthConfig::new(6_000, 9, p).expect("config");
        calibration::measure(&config).expect("measure")
    };
    let (deprived, affluent) = (get(Profile::DeprivedUrban), get(Profile::AffluentRural));
    for m in [
        "prevalence_severe_mental_illness",
        "prevalence_copd",
        "emergency_admissions_per_person_year",
    ] {
        assert!(
            deprived[m] > affluent[m],
            "{m}: {} vs {}",
            deprived[m],
            affluent[m]
        );
    }
    assert!(deprived["share_age_65_plus"] < affluent["share_age_65_plus"]);
}
