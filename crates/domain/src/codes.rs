//! Codes from the systems careweave speaks: ODS, ONS geography, the postcode, IMD, SNOMED CT, ICD-10.
//!
//! Each is its own type so that a SNOMED CT concept can never be compared with an ICD-10 code by
//! mistake, and each normalises its input (case, spacing) so that equal codes compare equal.

use std::fmt;
use std::str::FromStr;

/// The code system of careweave's own derived counts in FHIR. A GP record has no SNOMED CT concept
/// for "number of repeat medicines on record at a date", which the electronic frailty index's
/// polypharmacy deficit needs, so the synthetic FHIR export carries it as an Observation coded here
/// and the population engine's FHIR reader looks for it.
pub const DERIVED_COUNTS_SYSTEM: &str = "urn:careweave:codesystem:derived-counts";
/// The repeat medicines count within [`DERIVED_COUNTS_SYSTEM`].
pub const REPEAT_MEDICINES_CODE: &str = "repeat-medicines";

/// Why a piece of text is not a valid code, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("Enter {0}")]
    Empty(&'static str),
    #[error("{what} must be {expected}")]
    Malformed {
        what: &'static str,
        expected: &'static str,
    },
    #[error("{what} must be between {min} and {max}")]
    OutOfRange {
        what: &'static str,
        min: u8,
        max: u8,
    },
}

fn non_empty<'a>(input: &'a str, what: &'static str) -> Result<&'a str, CodeError> {
    let t = input.trim();
    if t.is_empty() {
        Err(CodeError::Empty(what))
    } else {
        Ok(t)
    }
}

macro_rules! string_code {
    ($name:ident) => {
        impl $name {
            /// The normalised code as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// An Organisation Data Service code: a GP practice (`A81001`), a PCN (`U12345`), a trust (`RHQ`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OdsCode(String);
string_code!(OdsCode);

impl FromStr for OdsCode {
    type Err = CodeError;
    fn from_str(input: &str) -> Result<Self, CodeError> {
        let t = non_empty(input, "an ODS code")?.to_ascii_uppercase();
        if (3..=10).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(t))
        } else {
            Err(CodeError::Malformed {
                what: "ODS code",
                expected: "3 to 10 letters and digits, like A81001",
            })
        }
    }
}

/// A Lower layer Super Output Area code (England `E01…`, Wales `W01…`): about 1,500 residents.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LsoaCode(String);
string_code!(LsoaCode);

impl FromStr for LsoaCode {
    type Err = CodeError;
    fn from_str(input: &str) -> Result<Self, CodeError> {
        let t = non_empty(input, "an LSOA code")?.to_ascii_uppercase();
        let ok = t.len() == 9
            && (t.starts_with("E01") || t.starts_with("W01"))
            && t[3..].bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Self(t))
        } else {
            Err(CodeError::Malformed {
                what: "LSOA code",
                expected: "E01 or W01 followed by 6 digits, like E01012345",
            })
        }
    }
}

/// A UK postcode, normalised to upper case with one space before the inward code (`LS1 4AP`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Postcode(String);
string_code!(Postcode);

impl Postcode {
    /// The outward code (district), e.g. `LS1`, which is safe to show in aggregate outputs.
    #[must_use]
    pub fn outward(&self) -> &str {
        self.0.split(' ').next().unwrap_or(&self.0)
    }
}

impl FromStr for Postcode {
    type Err = CodeError;
    fn from_str(input: &str) -> Result<Self, CodeError> {
        let compact: String = non_empty(input, "a postcode")?
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let malformed = CodeError::Malformed {
            what: "Postcode",
            expected: "a full UK postcode, like LS1 4AP",
        };
        if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
            return Err(malformed);
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        let inward_ok = {
            let b = inward.as_bytes();
            b[0].is_ascii_digit() && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphabetic()
        };
        // Outward codes take the shapes A9, A99, AA9, AA99, A9A and AA9A.
        let shape: String = outward
            .bytes()
            .map(|b| {
                if b.is_ascii_digit() {
                    '9'
                } else if b.is_ascii_alphabetic() {
                    'A'
                } else {
                    '?'
                }
            })
            .collect();
        let outward_ok = matches!(
            shape.as_str(),
            "A9" | "A99" | "AA9" | "AA99" | "A9A" | "AA9A"
        );
        if inward_ok && outward_ok {
            Ok(Self(format!("{outward} {inward}")))
        } else {
            Err(malformed)
        }
    }
}

/// An Index of Multiple Deprivation decile: 1 is the most deprived 10% of areas in England.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImdDecile(u8);

/// An IMD quintile: 1 is the most deprived 20%, the "Core20" of Core20PLUS5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImdQuintile(u8);

impl ImdDecile {
    /// Builds a decile from its number, refusing anything outside 1 to 10.
    pub fn new(decile: u8) -> Result<Self, CodeError> {
        if (1..=10).contains(&decile) {
            Ok(Self(decile))
        } else {
            Err(CodeError::OutOfRange {
                what: "IMD decile",
                min: 1,
                max: 10,
            })
        }
    }

    /// The decile's number.
    #[must_use]
    pub fn get(self) -> u8 {
        self.0
    }

    /// The quintile this decile falls in: deciles 1–2 are quintile 1, and so on.
    #[must_use]
    pub fn quintile(self) -> ImdQuintile {
        ImdQuintile(self.0.div_ceil(2))
    }
}

impl ImdQuintile {
    /// The quintile's number.
    #[must_use]
    pub fn get(self) -> u8 {
        self.0
    }

    /// Whether this is the most deprived 20% nationally, the Core20 population.
    #[must_use]
    pub fn is_core20(self) -> bool {
        self.0 == 1
    }
}

impl FromStr for ImdDecile {
    type Err = CodeError;
    fn from_str(input: &str) -> Result<Self, CodeError> {
        let t = non_empty(input, "an IMD decile")?;
        let n: u8 = t.parse().map_err(|_| CodeError::OutOfRange {
            what: "IMD decile",
            min: 1,
            max: 10,
        })?;
        Self::new(n)
    }
}

impl fmt::Display for ImdDecile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A SNOMED CT concept identifier: 6 to 18 digits, whose last digit is a check digit and whose two
/// before it are the partition identifier, which for a concept is `00` (international) or `10`
/// (a national or local extension such as the UK's `…1000000106` codes).
///
/// The check digit is verified with Verhoeff's dihedral (D5) check, as the SNOMED CT release file
/// specification (section 6.4.2) defines it, so a mistyped code (one wrong digit, two neighbours
/// swapped) is refused where it is typed instead of silently matching nothing. Every released
/// concept passes, the root concept 138875005 among them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnomedCode(String);
string_code!(SnomedCode);

impl FromStr for SnomedCode {
    type Err = CodeError;
    fn from_str(input: &str) -> Result<Self, CodeError> {
        let t = non_empty(input, "a SNOMED CT code")?;
        if !(6..=18).contains(&t.len())
            || !t.bytes().all(|b| b.is_ascii_digit())
            || t.starts_with('0')
        {
            return Err(CodeError::Malformed {
                what: "SNOMED CT code",
                expected: "6 to 18 digits, like 38341003",
            });
        }
        let partition = &t[t.len() - 3..t.len() - 1];
        if partition != "00" && partition != "10" {
            return Err(CodeError::Malformed {
                what: "SNOMED CT code",
                expected:
                    "a concept id (its partition digits, second and third from last, are 00 or 10)",
            });
        }
        if !verhoeff_valid(t) {
            return Err(CodeError::Malformed {
                what: "SNOMED CT code",
                expected: "a concept id whose last digit is its check digit (a digit is mistyped)",
            });
        }
        Ok(Self(t.to_owned()))
    }
}

/// Verhoeff's check over a string of ASCII digits, the check digit last: true when the check
/// holds. The tables are those of the SNOMED CT release file specification: the multiplication
/// table of the dihedral group D5, and the position permutation `F`, whose row `i` is row 1
/// applied `i` times (`F(i, j) = F(i - 1, F(1, j))`); a valid number multiplies out to zero.
fn verhoeff_valid(digits: &str) -> bool {
    const D5: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const F1: [u8; 10] = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4];
    let mut check = 0u8;
    // From the check digit leftwards: the digit at position `i` goes through `F` row `i mod 8`.
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut digit = b - b'0';
        for _ in 0..i % 8 {
            digit = F1[usize::from(digit)];
        }
        check = D5[usize::from(check)][usize::from(digit)];
    }
    check == 0
}

/// An ICD-10 code, normalised to the dotted form (`E11.9`). Hospital extracts write codes without the
/// dot and pad three-character codes with a filler `X` (`I10X`); both are accepted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Icd10Code(String);
string_code!(Icd10Code);

impl Icd10Code {
    /// The three-character category (`E11` for `E11.9`), which most published mappings use.
    #[must_use]
    pub fn category(&self) -> &str {
        &self.0[..3]
    }
}

impl FromStr for Icd10Code {
    type Err = CodeError;
    fn from_str(input: &str) -> Result<Self, CodeError> {
        let raw: String = non_empty(input, "an ICD-10 code")?
            .chars()
            .filter(|&c| c != '.')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let raw = raw.trim_end_matches(['X', '-']);
        let b = raw.as_bytes();
        let ok = (3..=6).contains(&b.len())
            && b[0].is_ascii_uppercase()
            && b[1].is_ascii_digit()
            && b[2].is_ascii_alphanumeric()
            && b[3..].iter().all(u8::is_ascii_alphanumeric);
        if !ok {
            return Err(CodeError::Malformed {
                what: "ICD-10 code",
                expected: "a letter and two digits, optionally a dot and more, like E11.9",
            });
        }
        Ok(Self(if raw.len() == 3 {
            raw.to_owned()
        } else {
            format!("{}.{}", &raw[..3], &raw[3..])
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes_normalise_and_refuse_nonsense() {
        assert_eq!("ls14ap".parse::<Postcode>().unwrap().as_str(), "LS1 4AP");
        assert_eq!("SW1A 1AA".parse::<Postcode>().unwrap().as_str(), "SW1A 1AA");
        assert_eq!(" m1  1ae ".parse::<Postcode>().unwrap().outward(), "M1");
        for bad in ["", "LS1", "12345", "LS1 44P", "ABCDE FGH", "L$1 4AP"] {
            assert!(
                bad.parse::<Postcode>().is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn snomed_concept_ids_are_checked_for_shape_and_partition() {
        // National codes named in the PRSB social prescribing standard and common clinical concepts.
        for good in [
            "871731000000106",
            "871711000000103",
            "38341003",
            "138875005",
            "195967001",
        ] {
            assert!(good.parse::<SnomedCode>().is_ok(), "{good} should be valid");
        }
        // One digit changed, and two neighbours swapped, in released concepts: the check digit
        // no longer holds.
        for mistyped in [
            "138875004",
            "38342003",
            "871731000000107",
            "871371000000106",
            "44045006",
        ] {
            assert!(
                mistyped.parse::<SnomedCode>().is_err(),
                "{mistyped} has a wrong check digit"
            );
        }
        // A description id (partition 01) is not a concept.
        assert!("1234567011".parse::<SnomedCode>().is_err());
        assert!("12a45678".parse::<SnomedCode>().is_err());
        assert!("123".parse::<SnomedCode>().is_err());
        assert!("012345006".parse::<SnomedCode>().is_err());
    }

    #[test]
    fn icd10_accepts_dotted_undotted_and_filler_forms() {
        assert_eq!("E11.9".parse::<Icd10Code>().unwrap().as_str(), "E11.9");
        assert_eq!("e119".parse::<Icd10Code>().unwrap().as_str(), "E11.9");
        assert_eq!("I10X".parse::<Icd10Code>().unwrap().as_str(), "I10");
        assert_eq!("J44.1".parse::<Icd10Code>().unwrap().category(), "J44");
        assert!("110".parse::<Icd10Code>().is_err());
        assert!("E".parse::<Icd10Code>().is_err());
    }

    #[test]
    fn imd_deciles_map_to_quintiles_and_core20() {
        assert_eq!(ImdDecile::new(1).unwrap().quintile().get(), 1);
        assert_eq!(ImdDecile::new(2).unwrap().quintile().get(), 1);
        assert_eq!(ImdDecile::new(3).unwrap().quintile().get(), 2);
        assert_eq!(ImdDecile::new(10).unwrap().quintile().get(), 5);
        assert!(ImdDecile::new(2).unwrap().quintile().is_core20());
        assert!(ImdDecile::new(0).is_err());
        assert!("11".parse::<ImdDecile>().is_err());
    }

    #[test]
    fn ods_and_lsoa_codes() {
        assert_eq!("a81001".parse::<OdsCode>().unwrap().as_str(), "A81001");
        assert!("A8".parse::<OdsCode>().is_err());
        assert!("E01012345".parse::<LsoaCode>().is_ok());
        assert!("E02012345".parse::<LsoaCode>().is_err());
    }
}
