//! A population run on an in-process Ballista cluster (one scheduler, two executors) gives the same
//! tables as the run on one machine, and a scheduler that does not answer is a clear error within
//! seconds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use careweave_cluster::node::{run_executor, run_scheduler, ExecutorOptions, SchedulerOptions};
use careweave_cluster::{ClusterError, SchedulerAddress};
use careweave_population::{Codelists, Engine, RunSettings};
use careweave_synth::{write_dataset, Profile, SynthConfig, WriteOptions};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{ParquetReadOptions, SessionContext};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts a scheduler and `executors` executors in this process and returns the scheduler's
/// address once it accepts connections.
async fn start_cluster(executors: usize, work: &Path) -> SchedulerAddress {
    let port = free_port();
    tokio::spawn(run_scheduler(SchedulerOptions {
        bind: format!("127.0.0.1:{port}").parse().expect("address"),
        external_host: "127.0.0.1".into(),
    }));
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the scheduler did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for i in 0..executors {
        let dir = work.join(format!("executor-{i}"));
        std::fs::create_dir_all(&dir).expect("work dir");
        tokio::spawn(run_executor(ExecutorOptions {
            scheduler_host: "127.0.0.1".into(),
            scheduler_port: port,
            bind_host: "127.0.0.1".into(),
            port: free_port(),
            grpc_port: free_port(),
            external_host: Some("127.0.0.1".into()),
            vcores: 2,
            work_dir: Some(dir.display().to_string()),
            memory_pool_bytes: None,
        }));
    }
    SchedulerAddress {
        host: "127.0.0.1".into(),
        port,
    }
}

fn repo_codelists() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../codelists")
}

/// Every row of a Parquet table as text, sorted, so that tables compare whatever order the
/// partitions came back in.
async fn sorted_rows(path: &Path) -> Vec<String> {
    let ctx = SessionContext::new();
    let batches = ctx
        .read_parquet(path.display().to_string(), ParquetReadOptions::default())
        .await
        .expect("read")
        .collect()
        .await
        .expect("collect");
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in &batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formatter"))
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            rows.push(cells.join("|"));
        }
    }
    rows.sort();
    rows
}

fn sorted_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_run_writes_the_same_tables_as_one_machine() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("extract");
    let config = SynthConfig::new(600, 11, Profile::Mixed).expect("config");
    write_dataset(
        &config,
        &extract,
        &WriteOptions {
            overwrite: false,
            progress: false,
        },
    )
    .expect("synth");
    let input = extract.join("parquet");
    let settings = || {
        let mut s = RunSettings::defaults().expect("defaults");
        s.config.index_date = config.extract_date();
        s
    };
    let codelists = || Codelists::load(&[repo_codelists()]).expect("codelists");

    let single_out = tmp.path().join("single");
    let single = Engine::new(settings(), codelists())
        .expect("engine")
        .run(&input, &single_out, &mut |_| {})
        .await
        .expect("single-node run");

    let address = start_cluster(2, tmp.path()).await;
    let cluster_out = tmp.path().join("cluster");
    let engine = careweave_cluster::engine(
        &address,
        &tmp.path().join("scratch"),
        settings(),
        codelists(),
    )
    .await
    .expect("cluster engine");
    let distributed = engine
        .run(&input, &cluster_out, &mut |_| {})
        .await
        .expect("cluster run");

    assert_eq!(single.people, distributed.people);
    assert_eq!(single.cohorts, distributed.cohorts);
    assert_eq!(single.segments, distributed.segments);
    assert!(single.people > 0);
    let mut compared = 0;
    for path in &single.outputs {
        let name = path.file_name().expect("file name");
        let other = cluster_out.join(name);
        assert!(
            other.is_file(),
            "the cluster run has no {}",
            other.display()
        );
        match path.extension().and_then(|e| e.to_str()) {
            Some("parquet") => {
                let (a, b) = (sorted_rows(path).await, sorted_rows(&other).await);
                assert_eq!(a.len(), b.len(), "{}: row count", name.to_string_lossy());
                assert!(a == b, "{} differs", name.to_string_lossy());
                compared += 1;
            }
            Some("csv") => {
                // The diagnostics name the input file, which is the same path in both runs.
                assert_eq!(
                    sorted_lines(path),
                    sorted_lines(&other),
                    "{}",
                    name.to_string_lossy()
                );
                compared += 1;
            }
            _ => {}
        }
    }
    assert!(compared >= 5, "only {compared} tables were compared");
    // Nothing is left beside the outputs: the staging folder was renamed away.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_scheduler_that_is_not_listening_is_a_clear_error_at_once() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let address = SchedulerAddress {
        host: "127.0.0.1".into(),
        port: free_port(),
    };
    let started = Instant::now();
    let err = careweave_cluster::connect(&address, scratch.path())
        .await
        .err()
        .expect("nothing listens there");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(matches!(err, ClusterError::Unreachable { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{}", address.port)),
        "{text}"
    );
    assert!(text.contains("careweave cluster scheduler"), "{text}");
}

#[tokio::test]
async fn a_scheduler_address_that_never_answers_fails_within_seconds() {
    let scratch = tempfile::tempdir().expect("tempdir");
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): reserved for documentation, never routed, so a
    // connection there gets no answer at all rather than a refusal.
    let address = SchedulerAddress::parse("df://192.0.2.1:50050").expect("address");
    let started = Instant::now();
    let err = careweave_cluster::connect(&address, scratch.path())
        .await
        .err()
        .expect("nothing answers there");
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(8), "waited {waited:?}");
    assert!(matches!(err, ClusterError::Unreachable { .. }), "{err}");
}
