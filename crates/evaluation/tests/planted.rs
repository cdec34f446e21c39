//! The evaluation against a known truth: `careweave-synth` plants support episodes with a known
//! effect on people at a recent peak of use, and the evaluation must recover it.

use std::path::{Path, PathBuf};

use careweave_evaluation::{exposures, output, run, Evaluation, Outcome, Settings};
use careweave_synth::{Intervention, Profile, SynthConfig, WriteOptions};

fn codelists() -> careweave_population::Codelists {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../codelists");
    careweave_population::Codelists::load(&[repo]).expect("the repository's codelists load")
}

/// Generates a neighbourhood with the planted effect and evaluates it.
pub async fn planted(
    people: i64,
    seed: u64,
    plan: Intervention,
    settings: Settings,
) -> (Evaluation, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("extract");
    let config = SynthConfig::new(people, seed, Profile::Mixed)
        .unwrap()
        .with_intervention(plan);
    careweave_synth::write_dataset(&config, &data, &WriteOptions::default()).unwrap();
    let table = exposures::read_csv(&data.join("exposures.csv")).unwrap();
    assert_eq!(table.rejected, 0, "{:?}", table.diagnostics);
    let e = run(&data, codelists(), table, settings).await.unwrap();
    (e, data, dir)
}

fn settings() -> Settings {
    Settings {
        bootstrap: 300,
        ..Settings::default()
    }
}

#[tokio::test]
async fn a_planted_effect_is_recovered_and_the_naive_figure_overstates_it() {
    let (e, data, dir) = planted(40_000, 11, Intervention::default(), settings()).await;
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("manifest.json")).unwrap())
            .unwrap();
    let truth = &manifest["intervention"]["relative_effects"];
    assert_eq!(truth["emergency_admissions"], -0.2);
    assert_eq!(truth["gp_appointments"], -0.1);
    let episodes = manifest["intervention"]["episodes"].as_u64().unwrap();
    assert_eq!(episodes, e.exposures.accepted());
    assert!(
        episodes > 150,
        "too few planted episodes to test: {episodes}"
    );

    let est = e.estimates.as_ref().expect("episodes were matched");
    let em = Outcome::EmergencyAdmissions.index();
    let gp = Outcome::GpAppointments.index();
    eprintln!(
        "episodes {episodes}, matched {}, emergency relative {:?} naive {:?}; gp relative {:?} naive {:?}",
        e.matching.sets.len(),
        est.relative[em],
        est.naive_relative[em],
        est.relative[gp],
        est.naive_relative[gp]
    );
    for b in &e.matching.balance {
        eprintln!(
            "{:<32} {:>8.3} {:>8.3} {:>8.3}  smd {:>6.3} -> {:>6.3}",
            b.variable,
            b.supported_mean,
            b.comparison_mean_before,
            b.comparison_mean_after,
            b.smd_before,
            b.smd_after
        );
    }
    for (k, p) in est.event_study[em].iter().enumerate() {
        eprintln!(
            "month {:+}: {:.3} ({:.3} to {:.3})",
            e.window.relative(k),
            p.estimate,
            p.low,
            p.high
        );
    }
    assert!(est.relative[em].covers(-0.2), "{:?}", est.relative[em]);
    assert!(est.relative[gp].covers(-0.1), "{:?}", est.relative[gp]);
    // Referred at a peak, the supported people's use falls a long way anyway: the naive
    // before/after is well beyond the truth.
    assert!(
        est.naive_relative[em].estimate < -0.35,
        "{:?}",
        est.naive_relative[em]
    );
    assert!(est.naive_relative[em].estimate < est.relative[em].estimate - 0.1);
    // Matching balances the pre-period use the referrals were selected on.
    for b in &e.matching.balance {
        if b.variable == "emergency_admissions_q1" || b.variable == "emergency_admissions_q2" {
            assert!(b.smd_before.abs() > 0.1 && b.smd_after.abs() < 0.1, "{b:?}");
        }
    }

    let out = dir.path().join("out");
    let files = output::write(&e, &out).unwrap();
    assert!(files.iter().any(|f| f.ends_with("report.html")));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Notional, not cashable"));
    assert!(
        html.contains("Emergency admissions fell by")
            || html.contains("Emergency admissions changed by")
    );
    let estimates = std::fs::read_to_string(out.join("estimates.csv")).unwrap();
    assert!(estimates.starts_with("outcome,supported_rate_before"));

    // Deterministic: the same seed gives the same figures.
    let (again, _, _d) = planted(40_000, 11, Intervention::default(), settings()).await;
    let a = again.estimates.unwrap();
    assert_eq!(a.relative[em], est.relative[em]);
    assert_eq!(again.matching.sets, e.matching.sets);
}

#[tokio::test]
async fn with_no_effect_the_interval_covers_zero() {
    let plan = Intervention {
        emergency_admissions_percent: 0,
        gp_appointments_percent: 0,
        ..Intervention::default()
    };
    let (e, _, _dir) = planted(40_000, 11, plan, settings()).await;
    let est = e.estimates.as_ref().unwrap();
    for o in [
        Outcome::EmergencyAdmissions,
        Outcome::GpAppointments,
        Outcome::AeAttendances,
    ] {
        let r = &est.relative[o.index()];
        eprintln!("{o:?}: {r:?}, naive {:?}", est.naive_relative[o.index()]);
        assert!(r.covers(0.0), "{o:?}: {r:?}");
    }
}
