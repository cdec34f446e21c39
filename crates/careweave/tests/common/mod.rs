//! Helpers shared by the binary's test files.

/// The lines of a population run's summary that carry its answer (not timings or paths), for
/// comparing two runs of the same extract.
pub fn answer(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| {
            l.starts_with("  segment")
                || l.starts_with("  worklist")
                || l.starts_with("people in")
                || l.starts_with("  Charlson")
        })
        .map(str::to_owned)
        .collect()
}
