//! Opening times: Open Referral's iCalendar-style schedules, and whether a service is open.
//!
//! A [`Schedule`] is a recurrence [`Rule`] (weekly on some days, every few weeks from a start date,
//! or monthly on "the first Monday"), optional opening [`Hours`] and an optional validity window.
//! [`Schedule::is_open_at`] answers "is it open on day D at time T"; [`Schedule::runs_on`] answers
//! "is it open at some point on day D". Sessions that cross midnight are refused at import: split
//! them into two schedules, so that "closes before it opens" can always be reported as a mistake.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, Weekday};

use crate::model::RecordId;

/// A time of day to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    minutes: u16,
}

/// Why a time of day was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a time of day: write it as HH:MM from 00:00 to 23:59")]
pub struct TimeError(pub String);

impl TimeOfDay {
    /// A time from hours and minutes, if both are in range.
    #[must_use]
    pub fn new(hour: u8, minute: u8) -> Option<Self> {
        (hour < 24 && minute < 60).then(|| Self {
            minutes: u16::from(hour) * 60 + u16::from(minute),
        })
    }

    /// Minutes after midnight.
    #[must_use]
    pub fn minutes(self) -> u16 {
        self.minutes
    }
}

impl FromStr for TimeOfDay {
    type Err = TimeError;
    /// Accepts `HH:MM` and ORUK's `HH:MM:SS` (seconds must be zero-to-59 and are dropped).
    fn from_str(s: &str) -> Result<Self, TimeError> {
        let t = s.trim();
        let err = || TimeError(t.to_owned());
        let parts: Vec<&str> = t.split(':').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
            return Err(err());
        }
        let n: Vec<u8> = parts
            .iter()
            .map(|p| p.parse::<u8>().map_err(|_| err()))
            .collect::<Result<_, _>>()?;
        if n.len() == 3 && n[2] >= 60 {
            return Err(err());
        }
        Self::new(n[0], n[1]).ok_or_else(err)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl TimeOfDay {
    /// ORUK's `HH:MM:SS` form.
    #[must_use]
    pub fn oruk(self) -> String {
        format!("{self}:00")
    }

    /// "9:30am", "1pm": the way a person reads a time.
    #[must_use]
    pub fn words(self) -> String {
        let (h, m) = (self.minutes / 60, self.minutes % 60);
        let suffix = if h < 12 { "am" } else { "pm" };
        let h12 = match h % 12 {
            0 => 12,
            x => x,
        };
        if m == 0 {
            format!("{h12}{suffix}")
        } else {
            format!("{h12}:{m:02}{suffix}")
        }
    }
}

/// The two-letter iCalendar day codes ORUK uses in `byday`.
#[must_use]
pub fn day_code(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// The day's name in English.
#[must_use]
pub fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// All days, Monday first.
pub const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Parses a day as `MO`, `Mon` or `Monday`, in any case.
#[must_use]
pub fn parse_day(text: &str) -> Option<Weekday> {
    let t = text.trim().to_ascii_lowercase();
    if t.len() < 2 {
        return None;
    }
    WEEK.into_iter().find(|d| {
        let name = day_name(*d).to_ascii_lowercase();
        t == day_code(*d).to_ascii_lowercase() || (t.len() >= 3 && name.starts_with(&t))
    })
}

/// When a schedule recurs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// On these days, every `interval` weeks counted from `start` (every week when `interval` is 1).
    Weekly {
        days: Vec<Weekday>,
        interval: u8,
        start: Option<NaiveDate>,
    },
    /// On the nth weekday of each month (`1MO` is the first Monday, `-1FR` the last Friday).
    Monthly { days: Vec<(i8, Weekday)> },
    /// Described in words only ("by appointment"): never counted as open on a given day.
    Described,
}

/// Opening hours within a day: opens at or after `opens`, closed from `closes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub opens: TimeOfDay,
    pub closes: TimeOfDay,
}

impl Hours {
    /// Hours whose closing comes after their opening.
    #[must_use]
    pub fn new(opens: TimeOfDay, closes: TimeOfDay) -> Option<Self> {
        (closes > opens).then_some(Self { opens, closes })
    }

    /// Whether `t` falls inside the hours.
    #[must_use]
    pub fn contains(self, t: TimeOfDay) -> bool {
        self.opens <= t && t < self.closes
    }
}

/// One opening pattern of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub id: RecordId,
    pub rule: Rule,
    pub hours: Option<Hours>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub description: Option<String>,
}

impl Schedule {
    /// Whether the schedule runs at some point on `date`.
    #[must_use]
    pub fn runs_on(&self, date: NaiveDate) -> bool {
        if self.valid_from.is_some_and(|f| date < f) || self.valid_to.is_some_and(|t| date > t) {
            return false;
        }
        match &self.rule {
            Rule::Weekly {
                days,
                interval,
                start,
            } => {
                if !days.contains(&date.weekday()) {
                    return false;
                }
                match (interval, start) {
                    (0 | 1, _) | (_, None) => true,
                    (n, Some(start)) => {
                        let monday = |d: NaiveDate| {
                            d - chrono::Duration::days(i64::from(
                                d.weekday().num_days_from_monday(),
                            ))
                        };
                        let weeks = (monday(date) - monday(*start)).num_weeks();
                        weeks >= 0 && weeks % i64::from(*n) == 0
                    }
                }
            }
            Rule::Monthly { days } => days.iter().any(|&(nth, wd)| {
                if date.weekday() != wd {
                    return false;
                }
                let from_start = i8::try_from((date.day() - 1) / 7 + 1).unwrap_or(i8::MAX);
                let days_in_month = days_in_month(date);
                let from_end =
                    -i8::try_from((days_in_month - date.day()) / 7 + 1).unwrap_or(i8::MAX);
                nth == from_start || nth == from_end
            }),
            Rule::Described => false,
        }
    }

    /// Whether the schedule is open on `date` at `time`. Without hours it cannot be said, so no.
    #[must_use]
    pub fn is_open_at(&self, date: NaiveDate, time: TimeOfDay) -> bool {
        self.runs_on(date) && self.hours.is_some_and(|h| h.contains(time))
    }

    /// The weekdays the schedule can fall on, for ORUK's `day` filter.
    #[must_use]
    pub fn weekdays(&self) -> Vec<Weekday> {
        match &self.rule {
            Rule::Weekly { days, .. } => days.clone(),
            Rule::Monthly { days } => days.iter().map(|&(_, d)| d).collect(),
            Rule::Described => Vec::new(),
        }
    }

    /// "Mondays and Thursdays, 10am to 1pm", for pages and printed summaries.
    #[must_use]
    pub fn in_words(&self) -> String {
        let days = |ds: &[Weekday]| {
            let names: Vec<String> = ds.iter().map(|d| format!("{}s", day_name(*d))).collect();
            match names.len() {
                0 => String::new(),
                1 => names[0].clone(),
                n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
            }
        };
        let when = match &self.rule {
            Rule::Weekly {
                days: ds, interval, ..
            } if *interval > 1 => {
                format!("Every {interval} weeks on {}", days(ds))
            }
            Rule::Weekly { days: ds, .. } => days(ds),
            Rule::Monthly { days: ds } => ds
                .iter()
                .map(|&(n, d)| format!("{} {} of the month", ordinal(n), day_name(d)))
                .collect::<Vec<_>>()
                .join(" and "),
            Rule::Described => self.description.clone().unwrap_or_default(),
        };
        match self.hours {
            Some(h) => format!("{when}, {} to {}", h.opens.words(), h.closes.words()),
            None => when,
        }
    }

    /// The `byday` text ORUK carries (`MO,TH` or `1MO,-1FR`).
    #[must_use]
    pub fn byday(&self) -> Option<String> {
        match &self.rule {
            Rule::Weekly { days, .. } => Some(
                days.iter()
                    .map(|d| day_code(*d))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Rule::Monthly { days } => Some(
                days.iter()
                    .map(|&(n, d)| format!("{n}{}", day_code(d)))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Rule::Described => None,
        }
    }
}

fn ordinal(n: i8) -> &'static str {
    match n {
        1 => "First",
        2 => "Second",
        3 => "Third",
        4 => "Fourth",
        5 => "Fifth",
        -1 => "Last",
        _ => "Some",
    }
}

fn days_in_month(d: NaiveDate) -> u32 {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|first| first.pred_opt())
        .map_or(28, |last| last.day())
}

/// Why a schedule was refused, for import diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0}")]
    Time(#[from] TimeError),
    #[error("closes at {closes}, which is not after it opens at {opens}: split a session that runs past midnight into two schedules")]
    ClosesBeforeOpens { opens: TimeOfDay, closes: TimeOfDay },
    #[error("has an opening time without a closing time, or the other way round")]
    HalfHours,
    #[error("'{0}' is not a day: use MO, TU, WE, TH, FR, SA or SU (with 1 to 5 or -1 before it for monthly schedules)")]
    BadDay(String),
    #[error("freq '{0}' is not supported: use WEEKLY or MONTHLY, or leave it empty and describe the times in words")]
    BadFreq(String),
    #[error("a {0} schedule needs byday")]
    NoDays(&'static str),
    #[error("interval must be a whole number from 1 to 52")]
    BadInterval,
    #[error("valid_to {to} is before valid_from {from}")]
    ValidityReversed { from: NaiveDate, to: NaiveDate },
}

/// The raw parts of a schedule as a feed or spreadsheet gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleParts<'a> {
    pub freq: Option<&'a str>,
    pub interval: Option<i64>,
    pub byday: Option<&'a str>,
    pub dtstart: Option<NaiveDate>,
    pub opens_at: Option<&'a str>,
    pub closes_at: Option<&'a str>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub description: Option<&'a str>,
}

impl Schedule {
    /// Builds a schedule from its raw parts, refusing impossible times and unknown days.
    pub fn from_parts(id: RecordId, p: &ScheduleParts<'_>) -> Result<Self, ScheduleError> {
        let opens = p
            .opens_at
            .filter(|s| !s.trim().is_empty())
            .map(str::parse::<TimeOfDay>)
            .transpose()?;
        let closes = p
            .closes_at
            .filter(|s| !s.trim().is_empty())
            .map(str::parse::<TimeOfDay>)
            .transpose()?;
        let hours = match (opens, closes) {
            (Some(o), Some(c)) => {
                Some(Hours::new(o, c).ok_or(ScheduleError::ClosesBeforeOpens {
                    opens: o,
                    closes: c,
                })?)
            }
            (None, None) => None,
            _ => return Err(ScheduleError::HalfHours),
        };
        if let (Some(from), Some(to)) = (p.valid_from, p.valid_to) {
            if to < from {
                return Err(ScheduleError::ValidityReversed { from, to });
            }
        }
        let byday: Vec<&str> = p
            .byday
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let freq = p
            .freq
            .map(|f| f.trim().to_ascii_uppercase())
            .filter(|f| !f.is_empty());
        let rule = match freq.as_deref() {
            Some("WEEKLY") | None if !byday.is_empty() => {
                let days = byday
                    .iter()
                    .map(|d| parse_day(d).ok_or_else(|| ScheduleError::BadDay((*d).to_owned())))
                    .collect::<Result<Vec<_>, _>>()?;
                let interval = match p.interval {
                    None => 1,
                    Some(n) => u8::try_from(n)
                        .ok()
                        .filter(|n| (1..=52).contains(n))
                        .ok_or(ScheduleError::BadInterval)?,
                };
                Rule::Weekly {
                    days,
                    interval,
                    start: p.dtstart,
                }
            }
            Some("WEEKLY") => return Err(ScheduleError::NoDays("weekly")),
            Some("MONTHLY") => {
                if byday.is_empty() {
                    return Err(ScheduleError::NoDays("monthly"));
                }
                let days = byday
                    .iter()
                    .map(|d| parse_nth_day(d).ok_or_else(|| ScheduleError::BadDay((*d).to_owned())))
                    .collect::<Result<Vec<_>, _>>()?;
                Rule::Monthly { days }
            }
            None => Rule::Described,
            Some(other) => return Err(ScheduleError::BadFreq(other.to_owned())),
        };
        Ok(Self {
            id,
            rule,
            hours,
            valid_from: p.valid_from,
            valid_to: p.valid_to,
            description: p
                .description
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }
}

fn parse_nth_day(text: &str) -> Option<(i8, Weekday)> {
    let t = text.trim();
    // The day is the last two bytes; text with a multi-byte character there is not a day, and
    // must be refused rather than split inside the character (which panics).
    let split = t.len().checked_sub(2)?;
    let (n, d) = (t.get(..split)?, t.get(split..)?);
    let n: i8 = n.parse().ok()?;
    let valid = (1..=5).contains(&n) || n == -1;
    valid.then_some(())?;
    Some((n, parse_day(d)?))
}

/// Parses the spreadsheet's compact opening times: `MO,WE 09:30-16:00; FR 10:00-12:00`.
/// Each `;`-separated part becomes one weekly schedule, with ids derived from `service`.
pub fn parse_compact(service: &RecordId, text: &str) -> Result<Vec<Schedule>, ScheduleError> {
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, part)| {
            let (days, times) = part
                .split_once(char::is_whitespace)
                .ok_or_else(|| ScheduleError::BadDay(part.to_owned()))?;
            let (opens, closes) = times
                .trim()
                .split_once('-')
                .ok_or_else(|| TimeError(times.trim().to_owned()))?;
            // Numbered days ("1MO", "-1FR") make a monthly schedule.
            let monthly = days.bytes().any(|b| b.is_ascii_digit());
            Schedule::from_parts(
                service.child(&format!("schedule-{}", i + 1)),
                &ScheduleParts {
                    freq: Some(if monthly { "MONTHLY" } else { "WEEKLY" }),
                    byday: Some(days),
                    opens_at: Some(opens),
                    closes_at: Some(closes),
                    ..ScheduleParts::default()
                },
            )
        })
        .collect()
}

/// Writes schedules in the compact form [`parse_compact`] reads, or `None` when some schedule
/// cannot be written that way (fortnightly, time-limited, described, or without hours).
#[must_use]
pub fn to_compact(schedules: &[Schedule]) -> Option<String> {
    schedules
        .iter()
        .map(
            |s| match (&s.rule, s.hours, s.valid_from, s.valid_to, &s.description) {
                (
                    Rule::Weekly { interval: 1, .. } | Rule::Monthly { .. },
                    Some(h),
                    None,
                    None,
                    None,
                ) => Some(format!("{} {}-{}", s.byday()?, h.opens, h.closes)),
                _ => None,
            },
        )
        .collect::<Option<Vec<_>>>()
        .map(|parts| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> RecordId {
        "s".parse().unwrap()
    }

    /// Found by the fuzz target (tests/fuzz.rs): a numbered day ending in a multi-byte character
    /// made the monthly-day parser split inside it and panic, which an uploaded sheet could reach.
    #[test]
    fn a_numbered_day_ending_in_a_multi_byte_character_is_refused() {
        assert!(parse_compact(&id(), "\u{17f0}0\u{a0}-").is_err());
        assert!(parse_compact(&id(), "1\u{17f0} 09:00-10:00").is_err());
        assert_eq!(parse_nth_day("1\u{17f0}"), None);
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn t(s: &str) -> TimeOfDay {
        s.parse().unwrap()
    }

    #[test]
    fn times_parse_in_both_forms_and_impossible_ones_are_refused() {
        assert_eq!(t("09:30").to_string(), "09:30");
        assert_eq!(t("10:00:00"), t("10:00"));
        for bad in ["25:00", "10:75", "9:30", "noon", "10:00:61", ""] {
            assert!(bad.parse::<TimeOfDay>().is_err(), "{bad}");
        }
        assert_eq!(t("13:05").words(), "1:05pm");
        assert_eq!(t("00:00").words(), "12am");
    }

    #[test]
    fn a_weekly_schedule_is_open_inside_its_hours_on_its_days() {
        let s = Schedule::from_parts(
            id(),
            &ScheduleParts {
                freq: Some("WEEKLY"),
                byday: Some("TU,TH"),
                opens_at: Some("10:00:00"),
                closes_at: Some("13:00:00"),
                ..ScheduleParts::default()
            },
        )
        .unwrap();
        let tuesday = date(2026, 3, 3);
        assert!(s.is_open_at(tuesday, t("10:00")));
        assert!(s.is_open_at(tuesday, t("12:59")));
        assert!(
            !s.is_open_at(tuesday, t("13:00")),
            "closed from closing time"
        );
        assert!(!s.is_open_at(tuesday, t("09:59")));
        assert!(!s.is_open_at(date(2026, 3, 4), t("11:00")), "Wednesday");
        assert_eq!(s.in_words(), "Tuesdays and Thursdays, 10am to 1pm");
    }

    #[test]
    fn fortnightly_and_monthly_rules_pick_the_right_dates() {
        let fortnightly = Schedule::from_parts(
            id(),
            &ScheduleParts {
                freq: Some("WEEKLY"),
                interval: Some(2),
                byday: Some("MO"),
                dtstart: Some(date(2026, 3, 2)),
                ..ScheduleParts::default()
            },
        )
        .unwrap();
        assert!(fortnightly.runs_on(date(2026, 3, 2)));
        assert!(!fortnightly.runs_on(date(2026, 3, 9)));
        assert!(fortnightly.runs_on(date(2026, 3, 16)));
        assert!(!fortnightly.runs_on(date(2026, 2, 23)), "before the start");

        let monthly = Schedule::from_parts(
            id(),
            &ScheduleParts {
                freq: Some("MONTHLY"),
                byday: Some("1MO,-1FR"),
                opens_at: Some("18:00"),
                closes_at: Some("20:00"),
                ..ScheduleParts::default()
            },
        )
        .unwrap();
        assert!(
            monthly.runs_on(date(2026, 3, 2)),
            "first Monday of March 2026"
        );
        assert!(!monthly.runs_on(date(2026, 3, 9)));
        assert!(
            monthly.runs_on(date(2026, 3, 27)),
            "last Friday of March 2026"
        );
        assert!(!monthly.runs_on(date(2026, 3, 20)));
    }

    #[test]
    fn validity_windows_bound_the_schedule() {
        let s = Schedule::from_parts(
            id(),
            &ScheduleParts {
                byday: Some("SA"),
                valid_from: Some(date(2026, 4, 1)),
                valid_to: Some(date(2026, 4, 30)),
                ..ScheduleParts::default()
            },
        )
        .unwrap();
        assert!(!s.runs_on(date(2026, 3, 28)));
        assert!(s.runs_on(date(2026, 4, 4)));
        assert!(!s.runs_on(date(2026, 5, 2)));
    }

    #[test]
    fn impossible_schedules_say_what_is_wrong() {
        let err = |p: ScheduleParts<'_>| Schedule::from_parts(id(), &p).unwrap_err().to_string();
        assert!(err(ScheduleParts {
            byday: Some("MO"),
            opens_at: Some("17:00"),
            closes_at: Some("09:00"),
            ..ScheduleParts::default()
        })
        .contains("not after it opens"));
        assert!(err(ScheduleParts {
            byday: Some("XX"),
            ..ScheduleParts::default()
        })
        .contains("'XX' is not a day"));
        assert!(err(ScheduleParts {
            byday: Some("MO"),
            opens_at: Some("26:00"),
            closes_at: Some("27:00"),
            ..ScheduleParts::default()
        })
        .contains("'26:00' is not a time of day"));
        assert!(err(ScheduleParts {
            freq: Some("HOURLY"),
            byday: Some("MO"),
            ..ScheduleParts::default()
        })
        .contains("HOURLY"));
        assert!(err(ScheduleParts {
            byday: Some("MO"),
            opens_at: Some("09:00"),
            ..ScheduleParts::default()
        })
        .contains("without a closing time"));
    }

    #[test]
    fn the_compact_form_round_trips() {
        let s = parse_compact(
            &id(),
            "MO,WE 09:30-16:00; FR 10:00-12:00; 1TU,-1TH 18:00-20:00",
        )
        .unwrap();
        assert_eq!(s.len(), 3);
        assert!(matches!(s[2].rule, Rule::Monthly { .. }));
        assert_eq!(
            to_compact(&s).as_deref(),
            Some("MO,WE 09:30-16:00; FR 10:00-12:00; 1TU,-1TH 18:00-20:00")
        );
        assert!(parse_compact(&id(), "MO 16:00-09:00").is_err());
        assert!(parse_compact(&id(), "Mondays").is_err());
        assert_eq!(parse_day("wednesday"), Some(Weekday::Wed));
        assert_eq!(parse_day("Thu"), Some(Weekday::Thu));
        assert_eq!(parse_day("x"), None);
    }
}
