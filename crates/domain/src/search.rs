//! What someone typed to find a person, parsed once: an NHS number (with or without spaces), a date
//! of birth, or words of a name. The store finds candidates with it and the access policy decides
//! which of them the searcher may see; lists a page already holds (a caseload, the waiting list)
//! are filtered with [`PersonQuery::matches`], so every search box reads text the same way.

use chrono::NaiveDate;

use crate::NhsNumber;

/// A parsed search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonQuery {
    NhsNumber(NhsNumber),
    DateOfBirth(NaiveDate),
    /// Lower-case words, each of which must begin the given or family name (or a part of either
    /// joined by a hyphen or space).
    Name(Vec<String>),
}

/// Why a search could not be made, in words for the form's error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("Enter a name, an NHS number or a date of birth")]
    Empty,
    #[error("Enter at least 2 letters of a name")]
    TooShort,
    #[error("Enter a real NHS number of 10 digits")]
    BadNhsNumber,
    #[error("Enter a real date of birth, such as 17 5 1950")]
    BadDate,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

impl PersonQuery {
    /// Reads a search box. Ten digits (spaces and hyphens allowed) are an NHS number; three
    /// numbers, or a day, a month name and a year, are a date of birth (day first, as people in
    /// England write it, or ISO `1950-05-17`); anything else is words of a name.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(QueryError::Empty);
        }
        let digits = text.chars().filter(char::is_ascii_digit).count();
        if digits == 10
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        {
            return text
                .parse::<NhsNumber>()
                .map(Self::NhsNumber)
                .map_err(|_| QueryError::BadNhsNumber);
        }
        if digits > 0 {
            return parse_date(text)
                .map(Self::DateOfBirth)
                .ok_or(QueryError::BadDate);
        }
        let words: Vec<String> = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .map(|w| {
                w.chars()
                    .filter(|c| c.is_alphabetic() || *c == '\'' || *c == '-')
                    .flat_map(char::to_lowercase)
                    .collect::<String>()
            })
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() || words.iter().map(|w| w.chars().count()).sum::<usize>() < 2 {
            return Err(QueryError::TooShort);
        }
        Ok(Self::Name(words))
    }

    /// Whether a person with these details matches.
    #[must_use]
    pub fn matches(
        &self,
        given_name: &str,
        family_name: &str,
        nhs_number: Option<&NhsNumber>,
        date_of_birth: Option<NaiveDate>,
    ) -> bool {
        match self {
            Self::NhsNumber(n) => nhs_number == Some(n),
            Self::DateOfBirth(d) => date_of_birth == Some(*d),
            Self::Name(words) => {
                let parts: Vec<String> = [given_name, family_name]
                    .iter()
                    .flat_map(|n| n.split([' ', '-']))
                    .map(str::to_lowercase)
                    .collect();
                let whole = [given_name.to_lowercase(), family_name.to_lowercase()];
                words.iter().all(|w| {
                    parts.iter().any(|p| p.starts_with(w.as_str()))
                        || whole.iter().any(|p| p.starts_with(w.as_str()))
                })
            }
        }
    }

    /// What kind of search this is, for the audit log (never the text searched for).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NhsNumber(_) => "NHS number",
            Self::DateOfBirth(_) => "date of birth",
            Self::Name(_) => "name",
        }
    }
}

/// A date as typed in one box: `17/5/1950`, `17-05-1950`, `17 5 1950`, `17 May 1950` or
/// `1950-05-17`.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = text
        .split(|c: char| c == '/' || c == '-' || c == '.' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let month = |m: &str| -> Option<u32> {
        m.parse::<u32>().ok().or_else(|| {
            let m = m.to_lowercase();
            MONTHS
                .iter()
                .position(|name| m.len() >= 3 && m.starts_with(name))
                .and_then(|i| u32::try_from(i + 1).ok())
        })
    };
    let (year, month, day) = if a.len() == 4 {
        (a.parse::<i32>().ok()?, month(b)?, c.parse::<u32>().ok()?)
    } else if c.len() == 4 {
        (c.parse::<i32>().ok()?, month(b)?, a.parse::<u32>().ok()?)
    } else {
        return None;
    };
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1)?;
    NaiveDate::from_ymd_opt(year, month, day).filter(|d| *d >= earliest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn numbers_dates_and_names_are_told_apart() {
        let nhs: NhsNumber = "9434765919".parse().unwrap();
        for typed in ["9434765919", "943 476 5919", " 943-476-5919 "] {
            assert_eq!(
                PersonQuery::parse(typed),
                Ok(PersonQuery::NhsNumber(nhs)),
                "{typed}"
            );
        }
        assert_eq!(
            PersonQuery::parse("943 476 5918"),
            Err(QueryError::BadNhsNumber)
        );
        for typed in [
            "17/5/1950",
            "17-05-1950",
            "17 5 1950",
            "17 May 1950",
            "1950-05-17",
        ] {
            assert_eq!(
                PersonQuery::parse(typed),
                Ok(PersonQuery::DateOfBirth(date(1950, 5, 17))),
                "{typed}"
            );
        }
        assert_eq!(PersonQuery::parse("31/2/1950"), Err(QueryError::BadDate));
        assert_eq!(PersonQuery::parse("12345"), Err(QueryError::BadDate));
        assert_eq!(
            PersonQuery::parse("Example, Ada"),
            Ok(PersonQuery::Name(vec!["example".into(), "ada".into()]))
        );
        assert_eq!(PersonQuery::parse("  "), Err(QueryError::Empty));
        assert_eq!(PersonQuery::parse("a"), Err(QueryError::TooShort));
        assert_eq!(PersonQuery::parse("%_"), Err(QueryError::TooShort));
    }

    #[test]
    fn names_match_by_the_start_of_each_word() {
        let q = PersonQuery::parse("ada exa").unwrap();
        assert!(q.matches("Ada", "Example", None, None));
        assert!(q.matches("Ada", "Smith-Example", None, None));
        assert!(!q.matches("Ada", "Sample", None, None));
        assert!(!q.matches("Adam", "Jones", None, None));
        let q = PersonQuery::parse("O'Brien").unwrap();
        assert!(q.matches("Mary", "O'Brien", None, None));
        let nhs: NhsNumber = "9434765919".parse().unwrap();
        let q = PersonQuery::parse("9434765919").unwrap();
        assert!(q.matches("x", "y", Some(&nhs), None));
        assert!(!q.matches("x", "y", None, None));
        let q = PersonQuery::parse("17/5/1950").unwrap();
        assert!(q.matches("x", "y", None, Some(date(1950, 5, 17))));
        assert_eq!(q.kind(), "date of birth");
    }
}
