//! Person identifiers for multi-place extracts that can never be NHS numbers.
//!
//! The 999 test range holds only [`crate::max_people`] valid NHS numbers, fewer than an Integrated
//! Care System. A multi-place extract therefore gives its people identifiers from a scheme that no
//! real person can ever have, written down in `docs/extract-schema.md`:
//!
//! - ten digits, like an NHS number;
//! - the first nine digits are a body whose modulus-11 check digit would be 10 (the weighted sum of
//!   the nine digits, weights 10 down to 2, leaves remainder 1 when divided by 11). NHS numbers are
//!   never issued with such a body, because no check digit exists for it;
//! - the tenth digit is 0.
//!
//! So every identifier fails the NHS number check (the engine rejects it as an invalid NHS number
//! unless the extract's manifest flags synthetic unissuable identifiers), and none can belong to a
//! real person. The body's first eight digits are a running counter from 10,000,000, so that every
//! identifier has ten significant digits; for each eight-digit prefix exactly one ninth digit makes
//! the body unissuable, except for the one prefix in eleven whose required ninth digit would itself
//! be 10, which is skipped. That leaves about 81.8 million identifiers, enough for England's
//! 60 million people.

use careweave_domain::NhsNumber;

/// The manifest's name for this scheme (`"identifiers": "synthetic-unissuable"`).
pub const UNISSUABLE_SCHEME: &str = "synthetic-unissuable";

/// The first eight-digit prefix issued.
const FIRST_PREFIX: u32 = 10_000_000;
/// One past the last eight-digit prefix.
const END_PREFIX: u32 = 100_000_000;

/// The ninth digit that makes the body `prefix` + digit unissuable, if one exists.
fn unissuable_ninth_digit(prefix: u32) -> Option<u8> {
    let mut digits = [0u8; 8];
    let mut rest = prefix;
    for d in digits.iter_mut().rev() {
        *d = (rest % 10) as u8;
        rest /= 10;
    }
    let sum: u32 = digits
        .iter()
        .zip((3..=10).rev())
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    // The ninth digit has weight 2; the body is unissuable when the full sum leaves remainder 1,
    // so 2d = 1 - sum (mod 11), and 6 is the inverse of 2 modulo 11.
    let d = ((1 + 11 * 10 - sum % 11) % 11) * 6 % 11;
    u8::try_from(d).ok().filter(|&d| d <= 9)
}

/// The identifier of the body `prefix` + its unissuable ninth digit, if the prefix has one.
fn identifier(prefix: u32) -> Option<String> {
    let ninth = unissuable_ninth_digit(prefix)?;
    Some(format!("{prefix:08}{ninth}0"))
}

/// Whether `text` is an identifier of the synthetic unissuable scheme: ten digits, a body with no
/// modulus-11 check digit, and 0 last.
#[must_use]
pub fn is_unissuable_identifier(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) || b[9] != b'0' {
        return false;
    }
    let mut body = [0u8; 9];
    for (d, c) in body.iter_mut().zip(b) {
        *d = c - b'0';
    }
    NhsNumber::check_digit(&body).is_none()
}

/// Issues identifiers of the scheme in order, each once.
#[derive(Debug, Clone)]
pub(crate) struct IdentifierCursor {
    next: u32,
}

impl IdentifierCursor {
    pub fn new() -> Self {
        Self { next: FIRST_PREFIX }
    }

    /// The next identifier, or `None` once the scheme is used up.
    pub fn next_identifier(&mut self) -> Option<String> {
        while self.next < END_PREFIX {
            let prefix = self.next;
            self.next += 1;
            if let Some(id) = identifier(prefix) {
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_identifier_fails_the_nhs_number_check_and_matches_the_scheme() {
        let mut cursor = IdentifierCursor::new();
        let mut seen = std::collections::HashSet::new();
        let mut skipped = 0;
        for prefix in FIRST_PREFIX..FIRST_PREFIX + 11_000 {
            if identifier(prefix).is_none() {
                skipped += 1;
            }
        }
        // About one prefix in eleven has no unissuable ninth digit.
        assert!((950..=1_050).contains(&skipped), "{skipped}");
        for _ in 0..20_000 {
            let id = cursor.next_identifier().expect("identifier");
            assert!(is_unissuable_identifier(&id), "{id}");
            assert!(
                id.parse::<NhsNumber>().is_err(),
                "{id} is a valid NHS number"
            );
            // No other last digit makes it valid either: the body has no check digit at all.
            for last in 0..=9 {
                let other = format!("{}{last}", &id[..9]);
                assert!(other.parse::<NhsNumber>().is_err(), "{other}");
            }
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn valid_nhs_numbers_and_other_text_are_not_of_the_scheme() {
        for text in [
            "9434765919",
            "9990000018",
            "999000001",
            "10000000x0",
            "1000000041",
        ] {
            assert!(!is_unissuable_identifier(text), "{text}");
        }
    }
}
