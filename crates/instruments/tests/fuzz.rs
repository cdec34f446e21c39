//! Bounded fuzzing of instrument definitions, the TOML files a deployment supplies for the
//! licensed questionnaires it holds. Inputs are arbitrary text and the shipped definitions with
//! bytes changed or cut short. Property: a definition is either loaded or refused with at least
//! one error naming the file, never a panic. `scripts/fuzz` runs more cases
//! (`CAREWEAVE_FUZZ_CASES`).

use careweave_instruments::{Instrument, SHIPPED};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases = std::env::var("CAREWEAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        // A fixed seed in the test suite, so a run is repeatable; scripts/fuzz picks a new one.
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("CAREWEAVE_FUZZ_SEED")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2026),
        ),
        ..ProptestConfig::default()
    }
}

fn check(text: &str) -> Result<(), TestCaseError> {
    if let Err(errors) = Instrument::from_toml("fuzzed.toml", text) {
        prop_assert!(!errors.errors().is_empty(), "refused without an error");
        for e in errors.errors() {
            prop_assert!(
                e.to_string().contains("fuzzed.toml"),
                "error does not name the file: {e}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_loaded_or_refused_with_errors(text in "\\PC{0,300}") {
        check(&text)?;
    }

    #[test]
    fn damaged_shipped_definitions_are_loaded_or_refused(
        which in 0..SHIPPED.len(),
        edits in proptest::collection::vec((any::<usize>(), prop_oneof![Just('='), Just('"'), Just('['), Just('\n'), Just('-'), Just('9'), any::<char>()]), 1..6),
        cut in any::<usize>(),
    ) {
        let mut chars: Vec<char> = SHIPPED[which].1.chars().collect();
        for (at, c) in edits {
            let i = at % chars.len();
            chars[i] = c;
        }
        chars.truncate((cut % (chars.len() + 1)).max(chars.len() / 2));
        check(&chars.into_iter().collect::<String>())?;
    }
}
