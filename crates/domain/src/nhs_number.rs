//! The NHS number: ten digits whose last is a modulus-11 check digit.

use std::fmt;
use std::str::FromStr;

/// A valid NHS number. It can only be built by parsing, so holding one proves the check digit is right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NhsNumber([u8; 10]);

/// Why a piece of text is not an NHS number, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    #[error("Enter an NHS number")]
    Empty,
    #[error("NHS number must contain only digits and spaces")]
    NotDigits,
    #[error("NHS number must be 10 digits")]
    WrongLength,
    #[error("Enter a valid NHS number: the check digit does not match")]
    BadCheckDigit,
}

impl NhsNumber {
    /// Computes the check digit for the first nine digits, or `None` when the remainder makes the
    /// number impossible (a check digit of 10 is never issued).
    #[must_use]
    pub fn check_digit(first_nine: &[u8; 9]) -> Option<u8> {
        let sum: u32 = first_nine
            .iter()
            .zip((2..=10).rev())
            .map(|(&d, w)| u32::from(d) * w)
            .sum();
        match 11 - (sum % 11) {
            11 => Some(0),
            10 => None,
            c => u8::try_from(c).ok(),
        }
    }

    /// Builds a valid NHS number from nine leading digits, if any check digit makes it valid. The
    /// synthetic population uses this to issue numbers in the 999 test range.
    #[must_use]
    pub fn from_first_nine(first_nine: [u8; 9]) -> Option<Self> {
        if first_nine.iter().any(|&d| d > 9) {
            return None;
        }
        let check = Self::check_digit(&first_nine)?;
        let mut digits = [0; 10];
        digits[..9].copy_from_slice(&first_nine);
        digits[9] = check;
        Some(Self(digits))
    }

    /// Whether the number lies in the 999 range reserved for testing; synthetic data uses only these.
    #[must_use]
    pub fn is_test_number(&self) -> bool {
        self.0[..3] == [9, 9, 9]
    }

    /// The ten digits without separators, as stored and exchanged.
    #[must_use]
    pub fn as_digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// The number in the 3-3-4 grouping people read aloud and that NHS screens display.
    #[must_use]
    pub fn formatted(&self) -> String {
        let s = self.as_digits();
        format!("{} {} {}", &s[..3], &s[3..6], &s[6..])
    }
}

impl FromStr for NhsNumber {
    type Err = NhsNumberError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(NhsNumberError::Empty);
        }
        // People copy numbers with spaces or hyphens from letters and screens; those are harmless.
        let mut digits = Vec::with_capacity(10);
        for c in trimmed.chars() {
            match c {
                '0'..='9' => digits.push(c as u8 - b'0'),
                ' ' | '-' => {}
                _ => return Err(NhsNumberError::NotDigits),
            }
        }
        let digits: [u8; 10] = digits.try_into().map_err(|_| NhsNumberError::WrongLength)?;
        let mut first_nine = [0; 9];
        first_nine.copy_from_slice(&digits[..9]);
        match Self::check_digit(&first_nine) {
            Some(c) if c == digits[9] => Ok(Self(digits)),
            _ => Err(NhsNumberError::BadCheckDigit),
        }
    }
}

impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_digits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_known_valid_number_in_any_common_layout() {
        // 943 476 5919 is the example NHS Digital uses in its own documentation.
        for input in ["9434765919", "943 476 5919", "943-476-5919", " 9434765919 "] {
            let n: NhsNumber = input.parse().unwrap();
            assert_eq!(n.as_digits(), "9434765919");
            assert_eq!(n.formatted(), "943 476 5919");
        }
    }

    #[test]
    fn rejects_a_wrong_check_digit() {
        assert_eq!(
            "9434765918".parse::<NhsNumber>(),
            Err(NhsNumberError::BadCheckDigit)
        );
    }

    #[test]
    fn rejects_numbers_whose_check_digit_would_be_ten() {
        // 000000006: weighted sum 2*6 = 12, remainder 1, so the check digit would be 10: never issued.
        let first_nine = [0, 0, 0, 0, 0, 0, 0, 0, 6];
        assert_eq!(NhsNumber::check_digit(&first_nine), None);
        assert_eq!(NhsNumber::from_first_nine(first_nine), None);
    }

    #[test]
    fn explains_each_kind_of_bad_input() {
        assert_eq!("".parse::<NhsNumber>(), Err(NhsNumberError::Empty));
        assert_eq!(
            "94347659AB".parse::<NhsNumber>(),
            Err(NhsNumberError::NotDigits)
        );
        assert_eq!(
            "943476591".parse::<NhsNumber>(),
            Err(NhsNumberError::WrongLength)
        );
        assert_eq!(
            "94347659190".parse::<NhsNumber>(),
            Err(NhsNumberError::WrongLength)
        );
    }

    #[test]
    fn builds_test_range_numbers_that_parse_back() {
        let n = NhsNumber::from_first_nine([9, 9, 9, 0, 0, 0, 0, 0, 1]).unwrap();
        assert!(n.is_test_number());
        assert_eq!(n.as_digits().parse::<NhsNumber>().unwrap(), n);
    }

    #[test]
    fn check_digit_is_zero_when_the_remainder_is_zero() {
        // 999 000 005: 10*9 + 9*9 + 8*9 + 2*5 = 253 = 11 * 23, remainder 0, so the check digit is 0.
        let n = NhsNumber::from_first_nine([9, 9, 9, 0, 0, 0, 0, 0, 5]).unwrap();
        assert_eq!(n.as_digits(), "9990000050");
        assert_eq!("999 000 0050".parse::<NhsNumber>().unwrap(), n);
    }
}
