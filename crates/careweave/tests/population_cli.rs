//! `careweave population` and `careweave synth` through the built binary, as a deployer runs them:
//! the same answers from any working directory (the shipped codelists are built in), a run whose
//! rejections change the answer exits non-zero with its summary, and errors are one line.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::answer;

fn careweave(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_careweave"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn status(out: &Output, want: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(want),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn synth(dir: &Path) -> std::path::PathBuf {
    let extract = dir.join("extract");
    let s = extract.to_string_lossy().into_owned();
    status(
        &careweave(
            dir,
            &[
                "synth",
                "--people",
                "400",
                "--seed",
                "5",
                "--profile",
                "mixed",
                "--out",
                &s,
            ],
        ),
        0,
    );
    extract.join("csv")
}

#[test]
fn a_run_gives_the_same_answer_from_any_folder_and_fails_loudly_when_incomplete() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = synth(tmp.path());
    let input_s = input.to_string_lossy().into_owned();

    // From an empty folder, and from a folder holding an empty `codelists/` (which used to replace
    // every shipped list): the same answer, every table whole.
    let plain = tmp.path().join("plain");
    let shadowed = tmp.path().join("shadowed");
    std::fs::create_dir_all(&plain).expect("mkdir");
    std::fs::create_dir_all(shadowed.join("codelists")).expect("mkdir");
    let run = |cwd: &Path, extra: &[&str]| {
        let mut args = vec!["population", "run", "--input", &input_s, "--out", "out"];
        args.extend_from_slice(extra);
        careweave(cwd, &args)
    };
    let first = status(&run(&plain, &[]), 0);
    let second = status(&run(&shadowed, &[]), 0);
    assert!(first.contains("run complete"), "{first}");
    assert!(!first.contains("not loaded"), "{first}");
    let a = answer(&first);
    assert!(a.len() > 8, "{first}");
    assert_eq!(a, answer(&second));
    assert!(a.iter().any(|l| l.contains("Healthy")), "{first}");

    // 5% of people with a broken NHS number: over the 1% limit, so the run writes its outputs and
    // summary and exits 2; accepted with --allow-incomplete or a higher limit.
    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(&broken).expect("mkdir");
    for entry in std::fs::read_dir(&input).expect("input") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, broken.join(path.file_name().expect("name"))).expect("copy");
    }
    let persons = std::fs::read_to_string(broken.join("persons.csv")).expect("persons");
    let mut lines: Vec<String> = persons.lines().map(str::to_owned).collect();
    let header = lines[0]
        .split(',')
        .position(|h| h == "nhs_number")
        .expect("column");
    for (i, line) in lines.iter_mut().enumerate().skip(1) {
        if i % 20 == 0 {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells[header] = "1234567890";
            *line = cells.join(",");
        }
    }
    std::fs::write(broken.join("persons.csv"), lines.join("\n") + "\n").expect("write");
    let broken_s = broken.to_string_lossy().into_owned();
    let bad = |extra: &[&str]| {
        let mut args = vec![
            "population",
            "run",
            "--input",
            &broken_s,
            "--out",
            "out-broken",
        ];
        args.extend_from_slice(extra);
        careweave(&plain, &args)
    };
    let out = bad(&[]);
    let stdout = status(&out, 2);
    assert!(
        stdout.contains("run INCOMPLETE") && stdout.contains("persons rejected"),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("--allow-incomplete"));
    assert!(plain.join("out-broken/diagnostics.csv").is_file());
    status(&bad(&["--allow-incomplete"]), 0);
    status(&bad(&["--max-rejected-share", "0.2"]), 0);

    // A required table missing, or a codelist folder with a malformed list: exit 1, one line.
    std::fs::remove_file(broken.join("persons.csv")).expect("remove");
    let out = bad(&["--allow-incomplete"]);
    status(&out, 1);
    let err = text(&out.stderr);
    assert!(err.contains("persons.parquet or persons.csv"), "{err}");
    assert!(!err.contains("backtrace"), "{err}");
    let lists = tmp.path().join("lists/snomed");
    std::fs::create_dir_all(&lists).expect("mkdir");
    std::fs::write(lists.join("mine.csv"), "code,term\n38341014,typo\n").expect("write");
    let lists_s = tmp.path().join("lists").to_string_lossy().into_owned();
    let out = run(&plain, &["--codelists", &lists_s]);
    status(&out, 1);
    assert!(
        text(&out.stderr).contains("38341014"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn errors_are_one_line_and_the_help_describes_each_command_s_own_settings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = careweave(
        tmp.path(),
        &[
            "population",
            "explain",
            "--nhs-number",
            "123",
            "--input",
            "nowhere",
        ],
    );
    status(&out, 1);
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: --nhs-number \"123\" is not a valid NHS number"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("backtrace"), "{err}");

    let help = status(&careweave(tmp.path(), &["population", "run", "--help"]), 0);
    assert!(help.contains("population configuration"), "{help}");
    assert!(!help.contains("CAREWEAVE_PORT"), "{help}");
    assert!(
        help.contains("--allow-incomplete") && help.contains("--codelists"),
        "{help}"
    );
    let help = status(&careweave(tmp.path(), &["synth", "--help"]), 0);
    assert!(!help.contains("--config"), "{help}");
    // The limit of one neighbourhood is explained, and the hidden place size is not offered.
    assert!(
        help.contains("909,091") && help.contains("place-NNNN"),
        "{help}"
    );
    assert!(!help.contains("--place-size"), "{help}");
    assert!(!help.contains("CAREWEAVE_PORT"), "{help}");
}

#[test]
fn a_cluster_run_with_no_scheduler_fails_within_seconds_and_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = synth(tmp.path());
    let out = tmp.path().join("out");
    // A port nothing listens on: the run must stop with a clear error, not hang or write outputs.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let started = std::time::Instant::now();
    let run = careweave(
        tmp.path(),
        &[
            "population",
            "run",
            "--input",
            &input.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
            "--cluster",
            &format!("df://127.0.0.1:{port}"),
        ],
    );
    status(&run, 1);
    let err = text(&run.stderr);
    assert!(err.contains("does not answer"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(!out.exists(), "no outputs for a run that never started");
    assert!(
        !tmp.path().join("out.scratch").exists(),
        "the default scratch folder is removed"
    );
    // A malformed address is refused before anything runs.
    let bad = careweave(
        tmp.path(),
        &[
            "population",
            "run",
            "--input",
            &input.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
            "--cluster",
            "scheduler:50050",
        ],
    );
    status(&bad, 1);
    assert!(text(&bad.stderr).contains("df://"), "{}", text(&bad.stderr));
}

#[test]
fn a_multi_place_extract_is_written_by_synth_and_run_as_synthetic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("ics");
    let s = extract.to_string_lossy().into_owned();
    // The hidden --place-size makes several places at a test's size; beyond 909,091 people the
    // same happens with places of 500,000.
    let said = status(
        &careweave(
            tmp.path(),
            &[
                "synth",
                "--people",
                "900",
                "--place-size",
                "300",
                "--seed",
                "3",
                "--out",
                &s,
            ],
        ),
        0,
    );
    assert!(
        said.contains("in 3 places") && said.contains("never be NHS numbers"),
        "{said}"
    );
    assert!(extract.join("parquet/persons/place-0003.parquet").is_file());
    assert!(!extract.join("csv").exists() && !extract.join("fhir").exists());
    let out = tmp.path().join("out").to_string_lossy().into_owned();
    let summary = status(
        &careweave(
            tmp.path(),
            &["population", "run", "--input", &s, "--out", &out],
        ),
        0,
    );
    assert!(
        summary.contains("warning: this extract is SYNTHETIC"),
        "{summary}"
    );

    // Planting an effect needs one place.
    let refused = careweave(
        tmp.path(),
        &[
            "synth",
            "--people",
            "900",
            "--place-size",
            "300",
            "--plant-effect",
            "--out",
            &tmp.path().join("planted").to_string_lossy(),
        ],
    );
    status(&refused, 1);
    assert!(text(&refused.stderr).contains("single-place"));
}
