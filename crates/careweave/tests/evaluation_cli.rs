//! `careweave evaluation` through the built binary: a run on planted support episodes stores its
//! aggregate results in the database for the web page, `explain` shows one person's comparison
//! without naming anyone else, and `export-exposures` writes the casework episodes and refuses to
//! overwrite an earlier export.

use std::path::Path;
use std::process::{Command, Output};

fn careweave(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_careweave"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

#[track_caller]
fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Ten digits in a row: an NHS number, however it is spaced in the file it came from.
fn has_nhs_number(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| run.len() == 10)
}

#[test]
fn a_run_stores_its_results_and_explain_names_nobody_else() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let extract = dir.join("extract");
    let e = extract.to_string_lossy().into_owned();
    ok(&careweave(
        dir,
        &[
            "synth",
            "--people",
            "4000",
            "--seed",
            "3",
            "--profile",
            "mixed",
            "--out",
            &e,
            "--plant-effect",
        ],
    ));
    std::fs::write(dir.join("evaluation.toml"), "bootstrap = 50\n").unwrap();
    let db = format!("sqlite://{}", dir.join("careweave.db").display());
    let exposures = extract.join("exposures.csv").to_string_lossy().into_owned();
    let stdout = ok(&careweave(
        dir,
        &[
            "--config",
            "evaluation.toml",
            "evaluation",
            "run",
            "--input",
            &e,
            "--exposures",
            &exposures,
            "--out",
            "out",
            "--database",
            &db,
        ],
    ));
    assert!(
        stdout.contains("Results stored in the database"),
        "{stdout}"
    );
    assert!(dir.join("out/report.html").exists());
    assert!(
        dir.join("out/reach_imd.csv").exists(),
        "every RE-AIM table as CSV"
    );

    // The first supported person's comparison: their profile beside unnamed comparators.
    let csv = std::fs::read_to_string(&exposures).unwrap();
    let first = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    let stdout = ok(&careweave(
        dir,
        &[
            "--config",
            "evaluation.toml",
            "evaluation",
            "explain",
            "--input",
            &e,
            "--exposures",
            &exposures,
            "--nhs-number",
            &first,
        ],
    ));
    assert!(stdout.contains("Episode on line 2"), "{stdout}");
    assert!(
        stdout.contains("comparator 1")
            || stdout.contains("not evaluated")
            || stdout.contains("no comparator"),
        "{stdout}"
    );
    assert!(
        !has_nhs_number(&stdout),
        "explain prints no NHS number: {stdout}"
    );

    // The demo store has no casework here: the export writes the header, and never overwrites.
    let out = dir.join("exported.csv").to_string_lossy().into_owned();
    let args = [
        "evaluation",
        "export-exposures",
        "--database",
        &db,
        "--out",
        &out,
        "--reason",
        "test",
    ];
    ok(&careweave(dir, &args));
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("nhs_number,service,referral_date"));
    let again = careweave(dir, &args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}
