//! Dates as people type them: the NHS.UK date input's three boxes (day, month, year), or ISO text in
//! files. Errors name what is wrong so that forms and import diagnostics can say it plainly.

use chrono::NaiveDate;

/// Why a date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("{0} must include a day, month and year")]
    Incomplete(&'static str),
    #[error("{0} must be a real date")]
    NotADate(&'static str),
    #[error("{0} must be in the past")]
    InFuture(&'static str),
    #[error("{0} must be after 1 January 1900")]
    TooEarly(&'static str),
    #[error("{0} must be a date written as YYYY-MM-DD")]
    NotIso(&'static str),
}

/// Parses the three boxes of a date input. `what` names the field in the message (e.g. "Date of birth").
pub fn parse_date_parts(
    what: &'static str,
    day: &str,
    month: &str,
    year: &str,
) -> Result<NaiveDate, DateError> {
    let (day, month, year) = (day.trim(), month.trim(), year.trim());
    if day.is_empty() || month.is_empty() || year.is_empty() {
        return Err(DateError::Incomplete(what));
    }
    let d: u32 = day.parse().map_err(|_| DateError::NotADate(what))?;
    let m: u32 = month.parse().map_err(|_| DateError::NotADate(what))?;
    // A two-digit year is ambiguous for dates of birth; the design system asks for four digits.
    if year.len() != 4 {
        return Err(DateError::NotADate(what));
    }
    let y: i32 = year.parse().map_err(|_| DateError::NotADate(what))?;
    let date = NaiveDate::from_ymd_opt(y, m, d).ok_or(DateError::NotADate(what))?;
    if y < 1900 {
        return Err(DateError::TooEarly(what));
    }
    Ok(date)
}

/// Parses an ISO 8601 calendar date (`2024-03-31`), as used in extracts and the JSON API.
pub fn parse_iso_date(what: &'static str, text: &str) -> Result<NaiveDate, DateError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| DateError::NotIso(what))
}

/// Refuses a date after `today`, for things that must already have happened (a birth, a contact).
pub fn not_in_future(
    what: &'static str,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<NaiveDate, DateError> {
    if date > today {
        Err(DateError::InFuture(what))
    } else {
        Ok(date)
    }
}

/// Whole years between `birth` and `on`, as a person would state their age.
#[must_use]
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    use chrono::Datelike;
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn three_box_dates_name_the_problem() {
        assert_eq!(
            parse_date_parts("Date of birth", "3", "7", "1958"),
            Ok(d(1958, 7, 3))
        );
        assert_eq!(
            parse_date_parts("Date of birth", "31", "2", "1958"),
            Err(DateError::NotADate("Date of birth"))
        );
        assert_eq!(
            parse_date_parts("Date of birth", "", "2", "1958"),
            Err(DateError::Incomplete("Date of birth"))
        );
        assert_eq!(
            parse_date_parts("Date of birth", "1", "2", "58"),
            Err(DateError::NotADate("Date of birth"))
        );
        assert_eq!(
            DateError::InFuture("Contact date").to_string(),
            "Contact date must be in the past"
        );
    }

    #[test]
    fn future_dates_are_refused_where_they_cannot_be() {
        let today = d(2026, 11, 23);
        assert!(not_in_future("Contact date", d(2026, 11, 24), today).is_err());
        assert!(not_in_future("Contact date", today, today).is_ok());
    }

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(d(1958, 7, 3), d(2026, 7, 2)), 67);
        assert_eq!(age_on(d(1958, 7, 3), d(2026, 7, 3)), 68);
        assert_eq!(age_on(d(2000, 2, 29), d(2001, 2, 28)), 0);
    }

    #[test]
    fn iso_dates() {
        assert_eq!(parse_iso_date("onset", "2024-03-31"), Ok(d(2024, 3, 31)));
        assert!(parse_iso_date("onset", "31/03/2024").is_err());
    }
}
