//! Statistical disclosure control for anything aggregate that leaves careweave.
//!
//! Small counts can identify people, so careweave follows the OpenSAFELY convention: counts of 7 or
//! fewer are hidden and all other counts are rounded to the nearest 5. Rounding every count (not only
//! the small ones) stops a hidden cell from being recovered by subtracting the others from a total.

use std::fmt;

/// The largest count that is hidden outright.
pub const SUPPRESS_AT_OR_BELOW: u64 = 7;
/// Counts above the threshold are rounded to a multiple of this.
pub const ROUND_TO: u64 = 5;

/// A count that is safe to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SafeCount {
    /// The true count was 7 or fewer (including zero) and is not shown.
    Suppressed,
    /// The true count, rounded to the nearest 5.
    Rounded(u64),
}

impl SafeCount {
    /// Applies disclosure control to a raw count.
    #[must_use]
    pub fn from_raw(count: u64) -> Self {
        if count <= SUPPRESS_AT_OR_BELOW {
            Self::Suppressed
        } else {
            Self::Rounded((count + ROUND_TO / 2) / ROUND_TO * ROUND_TO)
        }
    }

    /// The published number, if any.
    #[must_use]
    pub fn value(self) -> Option<u64> {
        match self {
            Self::Suppressed => None,
            Self::Rounded(n) => Some(n),
        }
    }
}

impl fmt::Display for SafeCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The design system's tables read "[c]" for confidential; a word is clearer to most readers.
            Self::Suppressed => f.write_str("7 or fewer"),
            Self::Rounded(n) => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_seven_or_fewer_and_rounds_the_rest() {
        for n in 0..=7 {
            assert_eq!(SafeCount::from_raw(n), SafeCount::Suppressed);
        }
        assert_eq!(SafeCount::from_raw(8), SafeCount::Rounded(10));
        assert_eq!(SafeCount::from_raw(12), SafeCount::Rounded(10));
        assert_eq!(SafeCount::from_raw(13), SafeCount::Rounded(15));
        assert_eq!(SafeCount::from_raw(1_234), SafeCount::Rounded(1_235));
        assert_eq!(SafeCount::Suppressed.to_string(), "7 or fewer");
    }
}
