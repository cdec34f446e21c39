//! An executor killed in the middle of a distributed population run (issue 19): the scheduler and
//! executors are real `careweave cluster` processes, and one executor is killed with SIGKILL once
//! it has written shuffle output. The run must then either complete through Ballista's retry,
//! with the same answer as a run on one machine, or fail with a clear one-line message and leave
//! no outputs behind. Either way it must never leave partial outputs that look complete.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::answer;

/// Child processes that are killed when the test ends, passing or not, so that a failed run
/// leaves no scheduler or executor behind.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn careweave() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_careweave"));
    command.env("RUST_LOG", "warn").env("RUST_BACKTRACE", "1");
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A node whose output goes to `log`, read back when the test fails.
fn spawn_node(args: &[&str], log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("a log file");
    careweave()
        .args(args)
        .stdout(file.try_clone().expect("the log again"))
        .stderr(file)
        .spawn()
        .expect("the node starts")
}

/// Whether anything has been written under `dir`: the executor's shuffle files show that it has
/// run tasks of the job.
fn has_files(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let path = e.path();
        if path.is_dir() {
            has_files(&path)
        } else {
            true
        }
    })
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list the outputs")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_executor_killed_mid_run_never_leaves_outputs_that_look_complete() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path();
    let extract = work.join("extract");
    let synth = careweave()
        .args(["synth", "--people", "20000", "--seed", "19", "--out"])
        .arg(&extract)
        .output()
        .expect("synth runs");
    assert!(synth.status.success(), "{}", text(&synth.stderr));
    let input = extract.join("parquet");

    let single_out = work.join("single");
    let single = careweave()
        .args(["population", "run", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&single_out)
        .output()
        .expect("the single-node run");
    assert!(single.status.success(), "{}", text(&single.stderr));

    let port = free_port();
    let scheduler = format!("df://127.0.0.1:{port}");
    let mut nodes = Nodes(vec![spawn_node(
        &[
            "cluster",
            "scheduler",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--external-host",
            "127.0.0.1",
        ],
        &work.join("scheduler.log"),
    )]);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the scheduler did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut executor_dirs = Vec::new();
    for i in 0..2 {
        let dir = work.join(format!("executor-{i}"));
        std::fs::create_dir_all(&dir).expect("a work folder");
        nodes.0.push(spawn_node(
            &[
                "cluster",
                "executor",
                "--scheduler",
                &scheduler,
                "--bind-host",
                "127.0.0.1",
                "--port",
                &free_port().to_string(),
                "--grpc-port",
                &free_port().to_string(),
                "--external-host",
                "127.0.0.1",
                "--vcores",
                "1",
                "--work-dir",
                &dir.to_string_lossy(),
            ],
            &work.join(format!("executor-{i}.log")),
        ));
        executor_dirs.push(dir);
    }

    let out = work.join("cluster");
    let mut run = careweave()
        .args(["population", "run", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--cluster", &scheduler, "--scratch"])
        .arg(work.join("scratch"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cluster run starts");

    // Kill the second executor (SIGKILL: no goodbye to the scheduler) once it has done some of the
    // job's work, so that both its running tasks and the shuffle files it holds are lost.
    let victim = 2;
    let waited = Instant::now();
    let mut killed = false;
    while waited.elapsed() < Duration::from_secs(300) {
        if run.try_wait().expect("the run's status").is_some() {
            break;
        }
        if has_files(&executor_dirs[victim - 1]) {
            nodes.0[victim].kill().expect("kill the executor");
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs = || {
        ["scheduler.log", "executor-0.log", "executor-1.log"]
            .iter()
            .map(|l| {
                let t = std::fs::read_to_string(work.join(l)).unwrap_or_default();
                let tail: Vec<&str> = t.lines().rev().take(15).collect();
                format!(
                    "--- {l}\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        killed,
        "the run ended before the executor had done any work, so nothing was tested:\n{}",
        logs()
    );

    // Ballista notices the loss when it next sends the executor a task, or after the 30 s
    // heartbeat time-out the scheduler is started with; either way the run ends within minutes.
    let deadline = Instant::now() + Duration::from_secs(300);
    while run.try_wait().expect("the run's status").is_none() {
        if Instant::now() > deadline {
            let _ = run.kill();
            panic!(
                "the run neither finished nor failed after the executor was killed:\n{}",
                logs()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let Output {
        status,
        stdout,
        stderr,
    } = run.wait_with_output().expect("the run's output");
    let (stdout, stderr) = (text(&stdout), text(&stderr));
    let leftovers: Vec<PathBuf> = std::fs::read_dir(work)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "staging folders left: {leftovers:?}");
    if status.success() {
        // Completed through Ballista's retry: the same answer and the same files as one machine.
        eprintln!("the run completed through Ballista's retry after the executor was killed");
        assert_eq!(
            answer(&stdout),
            answer(&text(&single.stdout)),
            "the retried run's answer differs:\n{stdout}"
        );
        assert!(!answer(&stdout).is_empty(), "{stdout}");
        assert_eq!(names(&out), names(&single_out));
        for csv in ["diagnostics.csv", "unknown_codes.csv"] {
            assert_eq!(
                std::fs::read(out.join(csv)).expect("the cluster's CSV"),
                std::fs::read(single_out.join(csv)).expect("the single run's CSV"),
                "{csv}"
            );
        }
    } else {
        // Failed: a clear last line, and no outputs at all where they were asked for.
        eprintln!("the run failed after the executor was killed: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.contains("cluster") || last.contains("executor"),
            "the failure does not say what went wrong: {last}\n{}",
            logs()
        );
        assert!(
            !out.exists(),
            "a failed run left outputs in {}",
            out.display()
        );
    }
}
