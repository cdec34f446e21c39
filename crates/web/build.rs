//! Finds the NHS.UK design system's built files so that `assets.rs` can embed them in the binary.
//!
//! The package comes from npm (`npm ci` at the repository root, which `scripts/test` and
//! `scripts/demo` run). Without it the build stops here with a message saying what to run, rather
//! than producing a binary whose pages have no styles.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dist = manifest.join("../../node_modules/nhsuk-frontend/dist/nhsuk");
    let css = dist.join("nhsuk-frontend.min.css");
    println!("cargo:rerun-if-changed={}", css.display());
    if !css.exists() {
        panic!(
            "\n\nThe NHS.UK design system is not installed: {} is missing.\n\
             Run `npm ci` in the repository root (or scripts/test, which does it for you).\n\n",
            css.display()
        );
    }
    let dist = dist.canonicalize().expect("nhsuk-frontend dist directory");
    println!("cargo:rustc-env=NHSUK_FRONTEND_DIST={}", dist.display());
}
