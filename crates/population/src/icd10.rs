//! ICD-10 codes as hospital data writes them, checked by their structure alone.
//!
//! The engine cannot know every code of the classification (the UK edition is licensed and changes
//! every few years), and it does not need to: a code is accepted when it has the shape of an ICD-10
//! code, and a code that no codelist or score table names simply scores nothing (the run reports
//! it as a warning, counted per code). Refusing well-formed codes that are missing from a shipped
//! list used to reject whole admissions and orphan their diagnoses.
//!
//! The shape, as HES and SUS extracts carry it:
//!
//! - a category: a letter and two digits (`I10`, `J18`);
//! - optionally a dot, then a fourth character: a digit (`J18.9`), or the filler `X` or `-` that
//!   pads a three-character category to four (`I10X`, `R69-`);
//! - after a fourth digit, optionally a fifth: a digit for the classification's fifth-character
//!   subdivisions (`S72.01`, `M80.05`), or a filler;
//! - last, optionally a dagger or asterisk marker: `D`/`A` (the HES convention, `A17.0D`, `G01XA`)
//!   or the symbols `†`, `+`, `*`, `!`.
//!
//! The normal form keeps the category, a dot and the subdivision digits (`E11.9`, `S72.01`, `I10`);
//! fillers and markers carry no clinical meaning for scoring and are dropped, so the same diagnosis
//! written three ways joins the score tables once.

/// Why a text is not an ICD-10 code, for diagnostics.
pub const EXPECTED: &str =
    "expected a letter and two digits, then optionally a dot, a fourth and a fifth character \
     and a dagger or asterisk marker (like E11.9, I10X, S72.01 or A17.0D)";

/// The code in its normal form (`E11.9`), or `None` when `text` does not have the shape of an
/// ICD-10 code.
#[must_use]
pub fn normalise(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text
        .strip_suffix(['†', '+', '*', '!'])
        .unwrap_or(text)
        .trim_end();
    let chars: Vec<char> = text
        .chars()
        .filter(|&c| c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    // A dot, if any, must sit right after the category.
    if let Some(dot) = text.find('.') {
        if dot != 3 || text[dot + 1..].contains('.') {
            return None;
        }
    }
    let [letter, d1, d2, rest @ ..] = chars.as_slice() else {
        return None;
    };
    if !letter.is_ascii_uppercase() || !d1.is_ascii_digit() || !d2.is_ascii_digit() {
        return None;
    }
    let mut out = String::with_capacity(6);
    out.extend([*letter, *d1, *d2]);
    let filler = |c: char| c == 'X' || c == '-';
    let marker = |c: char| c == 'D' || c == 'A';
    let mut subdivision = String::new();
    let mut i = 0;
    // Fourth and fifth characters: digits extend the code, a filler ends the digits.
    let mut padded = false;
    while i < rest.len() && i < 2 {
        let c = rest[i];
        if c.is_ascii_digit() && !padded {
            subdivision.push(c);
        } else if filler(c) {
            padded = true;
        } else {
            break;
        }
        i += 1;
    }
    // An optional marker, and nothing after it.
    if i < rest.len() && marker(rest[i]) {
        i += 1;
    }
    if i != rest.len() {
        return None;
    }
    if !subdivision.is_empty() {
        out.push('.');
        out.push_str(&subdivision);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn the_forms_hospital_data_writes_are_accepted_and_normalised() {
        for (raw, want) in [
            ("I10", "I10"),
            ("i10", "I10"),
            ("I10X", "I10"),
            ("I10-", "I10"),
            ("J18.9", "J18.9"),
            ("J189", "J18.9"),
            (" j18.1 ", "J18.1"),
            ("S72.01", "S72.01"),
            ("S7201", "S72.01"),
            ("M80.05", "M80.05"),
            ("A17.0D", "A17.0"),
            ("A170D", "A17.0"),
            ("G01XA", "G01"),
            ("G01X", "G01"),
            ("I10D", "I10"),
            ("I10.", "I10"),
            ("E11.9*", "E11.9"),
            ("A17.0†", "A17.0"),
            ("U07.1", "U07.1"),
            ("C34.9X", "C34.9"),
        ] {
            assert_eq!(normalise(raw).as_deref(), Some(want), "{raw}");
        }
    }

    #[test]
    fn text_without_the_shape_of_a_code_is_refused() {
        for bad in [
            "", "I1", "10I", "IAB", "I1.09", "J18.9.1", "J18.9ZZ", "J18.123", "hello", "D",
            "I10XX1", "E11.9DA", "1234567", "I 10",
        ] {
            assert_eq!(normalise(bad), None, "{bad:?}");
        }
    }
}
