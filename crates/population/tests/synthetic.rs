//! The engine end to end on an extract written by `careweave-synth`, in both of its file formats:
//! the contract between the two crates is the extract schema, so this test breaks when either side
//! drifts from it.

use careweave_population::{Codelists, Engine, RunSettings};
use careweave_synth::{write_dataset, Profile, SynthConfig, WriteOptions};

fn repo_codelists() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../../codelists")
}

#[tokio::test]
async fn a_synthetic_extract_is_accepted_whole_and_every_stage_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let extract = tmp.path().join("extract");
    let config = SynthConfig::new(400, 7, Profile::Mixed).expect("config");
    let manifest = write_dataset(
        &config,
        &extract,
        &WriteOptions {
            overwrite: false,
            progress: false,
        },
    )
    .expect("synth");

    for format in ["parquet", "csv"] {
        // Read one format at a time: a folder holding only that format's files.
        let input = extract.join(format);
        let mut settings = RunSettings::defaults().expect("defaults");
        settings.config.index_date = config.extract_date();
        let engine = Engine::new(
            settings,
            Codelists::load(&[repo_codelists()]).expect("codelists"),
        )
        .expect("engine");
        let out = tmp.path().join(format!("out-{format}"));
        let summary = engine.run(&input, &out, &mut |_| {}).await.expect("run");
        for t in &summary.tables {
            assert_eq!(t.read, t.accepted + t.rejected, "{format} {}", t.table);
            assert_eq!(
                t.rejected, 0,
                "{format} {}: the generator writes only valid rows",
                t.table
            );
            if let Some(rows) = manifest.table_rows.get(&t.table) {
                assert_eq!(t.read, *rows, "{format} {}", t.table);
            }
        }
        assert!(
            summary.people > 300 && summary.people <= 400,
            "{format}: {} people",
            summary.people
        );
        assert!(
            summary.warnings.is_empty(),
            "{format}: {:?}",
            summary.warnings
        );
        let placed: u64 = summary.segments.iter().map(|(_, n)| n).sum();
        assert_eq!(
            placed, summary.people,
            "{format}: everyone is in exactly one segment"
        );
        assert!(out.join("person.parquet").is_file() && out.join("diagnostics.csv").is_file());
        assert!(std::fs::read_dir(&out).expect("out").any(|e| e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .starts_with("report_pcn_")));
    }
}
