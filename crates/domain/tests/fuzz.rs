//! Bounded fuzzing of the parsers that read what people type and what files carry: NHS numbers,
//! SNOMED CT, ICD-10, ODS, LSOA and postcode codes, dates, time zones and CPD hours.
//!
//! Each target feeds arbitrary text (any Unicode, control characters, very long strings) and text
//! shaped like the real thing, and checks two things: the parser never panics, and what it accepts
//! is stable (parsing its own output gives the same value). The test suite runs 20,000 cases per
//! target; `scripts/fuzz` runs many more (`CAREWEAVE_FUZZ_CASES`). Failures are not persisted to
//! files: a failure found here becomes a named regression test below.

use careweave_domain::casework::parse_codes;
use careweave_domain::clock::parse_time_zone;
use careweave_domain::dates::{parse_date_parts, parse_iso_date};
use careweave_domain::supervision::CpdHours;
use careweave_domain::{Icd10Code, LsoaCode, NhsNumber, OdsCode, Postcode, SnomedCode};
use proptest::prelude::*;
use std::str::FromStr;

/// Cases per target: 20,000 in the test run, more when `CAREWEAVE_FUZZ_CASES` says so.
fn config() -> ProptestConfig {
    let cases = std::env::var("CAREWEAVE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
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

/// Text a person or a file might plausibly hold in a code field: digits, letters, separators and
/// the odd stray character, mixed with fully arbitrary strings.
fn code_like() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9A-Za-z .\\-Xx]{0,24}", "\\PC{0,40}", any::<String>(),]
}

/// Parses, and when the parser accepts, checks that its own display form parses to the same value.
fn stable<T>(input: &str)
where
    T: FromStr + ToString + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = input.parse::<T>() {
        let again = value.to_string().parse::<T>();
        assert!(
            again.as_ref().is_ok_and(|v| *v == value),
            "{input:?} parsed to {value:?} but its display form did not parse back"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn nhs_number_never_panics_and_is_stable(input in code_like()) {
        stable::<NhsNumber>(&input);
    }

    /// Every number built from nine digits with a valid check digit is accepted however it is
    /// spaced or hyphenated, and any single changed digit is refused (the check digit's purpose).
    #[test]
    fn nhs_number_accepts_valid_and_refuses_one_digit_typos(
        nine in proptest::array::uniform9(0u8..=9),
        position in 0usize..10,
        bump in 1u8..=9,
        separator in prop_oneof![Just(""), Just(" "), Just("-")],
    ) {
        if let Some(number) = NhsNumber::from_first_nine(nine) {
            let digits = number.as_digits();
            let typed = format!("{}{separator}{}{separator}{}", &digits[..3], &digits[3..6], &digits[6..]);
            prop_assert_eq!(typed.parse::<NhsNumber>().ok(), Some(number));
            let mut bytes = digits.into_bytes();
            bytes[position] = b'0' + (bytes[position] - b'0' + bump) % 10;
            let typo = String::from_utf8(bytes).expect("ASCII digits");
            prop_assert!(typo.parse::<NhsNumber>().is_err(), "{typo} passed the check digit");
        }
    }

    #[test]
    fn snomed_code_never_panics_and_is_stable(input in code_like()) {
        stable::<SnomedCode>(&input);
    }

    #[test]
    fn icd10_code_never_panics_and_is_stable(input in code_like()) {
        stable::<Icd10Code>(&input);
    }

    /// Every well-formed ICD-10 code is accepted with or without its dot and filler, and gives the
    /// same code either way (hospital extracts write `E119`, `I10X`; people write `E11.9`). The
    /// third character may be a letter (the ICD-10-CM style `C4A` is accepted) but never `X`, and
    /// later characters are digits: a trailing `X` is the extracts' filler, which no WHO or UK
    /// ICD-10 code ends with, so the parser strips it.
    #[test]
    fn icd10_code_accepts_every_well_formed_spelling(
        code in "[A-Z][0-9][0-9A-WYZ]([0-9]{1,3})?",
    ) {
        let dotted = if code.len() > 3 { format!("{}.{}", &code[..3], &code[3..]) } else { code.clone() };
        let parsed = dotted.parse::<Icd10Code>();
        prop_assert!(parsed.is_ok(), "{} refused", dotted);
        // A trailing filler X is only unambiguous on a three-character code.
        if code.len() == 3 {
            prop_assert_eq!(format!("{code}X").parse::<Icd10Code>().ok(), parsed.clone().ok());
        }
        prop_assert_eq!(code.to_lowercase().parse::<Icd10Code>().ok(), parsed.ok());
    }

    #[test]
    fn ods_lsoa_and_postcode_never_panic_and_are_stable(input in code_like()) {
        stable::<OdsCode>(&input);
        stable::<LsoaCode>(&input);
        stable::<Postcode>(&input);
    }

    /// Postcodes in every outward shape are accepted however they are spaced or cased.
    #[test]
    fn postcode_accepts_every_shape(
        outward in prop_oneof!["[A-Z][0-9]", "[A-Z][0-9][0-9]", "[A-Z][A-Z][0-9]", "[A-Z][A-Z][0-9][0-9]", "[A-Z][0-9][A-Z]", "[A-Z][A-Z][0-9][A-Z]"],
        inward in "[0-9][A-Z][A-Z]",
        spaces in " {0,2}",
    ) {
        let typed = format!("{}{spaces}{}", outward.to_lowercase(), inward);
        let parsed = typed.parse::<Postcode>();
        prop_assert!(parsed.is_ok(), "{} refused", typed);
        let postcode = parsed.expect("checked");
        prop_assert_eq!(postcode.outward(), outward.as_str());
    }

    /// The three boxes of a date input, typed any way: never a panic, and an accepted date is the
    /// date the boxes name.
    #[test]
    fn date_parts_never_panic(
        day in prop_oneof!["[0-9 ]{0,4}", "\\PC{0,6}"],
        month in prop_oneof!["[0-9 ]{0,4}", "\\PC{0,6}"],
        year in prop_oneof!["[0-9 ]{0,6}", "\\PC{0,8}"],
    ) {
        if let Ok(date) = parse_date_parts("Date", &day, &month, &year) {
            use chrono::Datelike;
            prop_assert_eq!(date.day(), day.trim().parse::<u32>().expect("accepted day"));
            prop_assert_eq!(date.month(), month.trim().parse::<u32>().expect("accepted month"));
            prop_assert_eq!(date.year(), year.trim().parse::<i32>().expect("accepted year"));
        }
    }

    #[test]
    fn iso_date_never_panics_and_round_trips(input in prop_oneof!["[0-9]{4}-[0-9]{2}-[0-9]{2}", "\\PC{0,20}"]) {
        if let Ok(date) = parse_iso_date("Date", &input) {
            prop_assert_eq!(parse_iso_date("Date", &date.to_string()).ok(), Some(date));
        }
    }

    #[test]
    fn time_zone_and_cpd_hours_and_code_lists_never_panic(input in code_like()) {
        let _ = parse_time_zone(&input);
        let _ = CpdHours::parse(&input);
        let _ = parse_codes(&input, |c| (c.len() < 4).then(|| c.to_owned()));
    }
}
