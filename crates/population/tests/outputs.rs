//! A run's outputs appear only when the whole run has succeeded: a failed run leaves the output
//! folder as it was (here, an earlier complete run's files) and no half-written folder beside it.

use careweave_population::{Codelists, Engine, RunSettings};
use careweave_synth::{write_dataset, Profile, SynthConfig, WriteOptions};

#[tokio::test]
async fn a_failed_run_leaves_the_earlier_outputs_and_nothing_half_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("extract");
    let config = SynthConfig::new(200, 3, Profile::Mixed).expect("config");
    write_dataset(
        &config,
        &extract,
        &WriteOptions {
            overwrite: false,
            progress: false,
        },
    )
    .expect("synth");
    let mut settings = RunSettings::defaults().expect("defaults");
    settings.config.index_date = config.extract_date();
    let engine =
        Engine::new(settings.clone(), Codelists::load(&[]).expect("codelists")).expect("engine");
    let out = tmp.path().join("out");
    let first = engine
        .run(&extract.join("parquet"), &out, &mut |_| {})
        .await
        .expect("first run");
    assert!(first
        .outputs
        .iter()
        .all(|p| p.starts_with(&out) && p.is_file()));
    let before: Vec<_> = first
        .outputs
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();

    // The second extract lacks its required person table, so the run fails.
    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(&broken).expect("mkdir");
    for entry in std::fs::read_dir(extract.join("parquet")).expect("list") {
        let entry = entry.expect("entry");
        if !entry.file_name().to_string_lossy().starts_with("person") {
            std::fs::copy(entry.path(), broken.join(entry.file_name())).expect("copy");
        }
    }
    let engine = Engine::new(settings, Codelists::load(&[]).expect("codelists")).expect("engine");
    engine
        .run(&broken, &out, &mut |_| {})
        .await
        .expect_err("no person table");
    let after: Vec<_> = first
        .outputs
        .iter()
        .map(|p| std::fs::read(p).expect("the earlier output is still there"))
        .collect();
    assert!(before == after, "the earlier outputs changed");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
