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

    // The stylesheet asks for the NHS.UK Frutiger fonts from assets.nhs.uk. The package does not
    // ship the font files (they are licensed), careweave makes no request to another host at run
    // time, and the Content-Security-Policy would block it anyway; so the `@font-face` rules that
    // name another host are dropped and the design system's own fallback (Arial) is used.
    let text = std::fs::read_to_string(&css).expect("nhsuk-frontend.min.css is UTF-8");
    let local = without_external_fonts(&text);
    assert!(
        !local.contains("url(http") && !local.contains("url(//"),
        "nhsuk-frontend.min.css names an external host outside an @font-face rule"
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("nhsuk-frontend.min.css"), local).expect("write the stylesheet");
}

/// The stylesheet without the `@font-face` rules that load a font from another host.
fn without_external_fonts(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("@font-face") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let rule = &rest[start..=start + len];
        out.push_str(&rest[..start]);
        if !(rule.contains("url(http") || rule.contains("url(//")) {
            out.push_str(rule);
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}
