//! Lists the shipped codelists so that `src/codelists.rs` can compile them in with `include_str!`:
//! the score lists in this crate's `codelists/` and the condition lists in the repository's
//! top-level `codelists/` (the ones the synthetic extract is coded from). A deployed binary then
//! carries every list its configuration names, wherever it runs and whatever folder it runs in.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    // Read at run time, not with `env!`: cargo reuses a compiled build script when the workspace
    // moves (its hash is relative to the workspace), and `env!` would keep the old folder.
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let mut out = String::from("[\n");
    // The repository's lists first, then this crate's: names do not overlap, and if they ever did
    // the score list, which the reference tables name, would win.
    for root in [manifest.join("../../codelists"), manifest.join("codelists")] {
        list(&root, &mut out);
    }
    out.push(']');
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_codelists.rs");
    std::fs::write(dest, out).expect("write the built-in codelist table");
}

fn list(root: &Path, out: &mut String) {
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(root, &mut files);
    files.sort();
    for path in &files {
        let rel = path
            .strip_prefix(root)
            .expect("under root")
            .with_extension("");
        let name: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        writeln!(
            out,
            "    ({:?}, include_str!({:?})),",
            name.join("/"),
            path.display().to_string()
        )
        .expect("write");
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read codelists folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "csv") {
            files.push(path);
        }
    }
}
