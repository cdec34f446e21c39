//! Lists the codelists shipped in `codelists/` so that `src/codelists.rs` can compile them in with
//! `include_str!`: a deployed binary then carries its score definitions wherever it runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    // Read at run time, not with `env!`: cargo reuses a compiled build script when the workspace
    // moves (its hash is relative to the workspace), and `env!` would keep the old folder.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
        .join("codelists");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut out = String::from("[\n");
    for path in &files {
        let rel = path
            .strip_prefix(&root)
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
    out.push(']');
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_codelists.rs");
    std::fs::write(dest, out).expect("write the built-in codelist table");
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
