//! The deployment's clock: what "now" and "today" are, in the deployment's time zone.
//!
//! Every "today" and "now" in careweave comes from one [`Clock`], so that a contact dated today is
//! judged against the same date a worker sees on the wall: between midnight and one in the morning
//! in British Summer Time the UTC date is still yesterday, and a clock read in UTC would refuse
//! that contact as "in the future". The clock also makes time a value tests can fix: a unit test
//! builds [`Clock::fixed`] at the instant it needs, and the demo can start its clock at a chosen
//! instant ([`Clock::starting_at`]) so that browser tests do not depend on the wall clock.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
pub use chrono_tz::Tz;

/// The time zone a deployment runs in unless its settings say otherwise.
pub const DEFAULT_TIME_ZONE: &str = "Europe/London";

/// Where the clock's instants come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The system clock.
    System,
    /// Always the same instant (unit and integration tests).
    Fixed(DateTime<Utc>),
    /// The system clock moved by a fixed amount: starts at a chosen instant and then runs, so that
    /// sessions and visits behave as in real use (the demo's `--clock`, for browser tests).
    Shifted(TimeDelta),
}

/// The current instant, and the date and wall-clock time in the deployment's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    zone: Tz,
    source: Source,
}

/// A time zone name that is not in the time-zone database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a time zone name from the time-zone database, such as Europe/London")]
pub struct UnknownTimeZone(pub String);

/// Reads a time zone name from the IANA time-zone database, such as `Europe/London`.
///
/// # Errors
/// [`UnknownTimeZone`] when the name is not in the database.
pub fn parse_time_zone(name: &str) -> Result<Tz, UnknownTimeZone> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| UnknownTimeZone(name.to_owned()))
}

impl Clock {
    /// The system clock, read in `zone`.
    #[must_use]
    pub fn system(zone: Tz) -> Self {
        Self {
            zone,
            source: Source::System,
        }
    }

    /// A clock that always says `instant`.
    #[must_use]
    pub fn fixed(instant: DateTime<Utc>, zone: Tz) -> Self {
        Self {
            zone,
            source: Source::Fixed(instant),
        }
    }

    /// A clock that says `instant` now and then runs on at the system clock's pace.
    #[must_use]
    pub fn starting_at(instant: DateTime<Utc>, zone: Tz) -> Self {
        Self {
            zone,
            source: Source::Shifted(instant - Utc::now()),
        }
    }

    /// The deployment's time zone.
    #[must_use]
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The current instant.
    #[must_use]
    pub fn now_utc(&self) -> DateTime<Utc> {
        match self.source {
            Source::System => Utc::now(),
            Source::Fixed(instant) => instant,
            Source::Shifted(by) => Utc::now() + by,
        }
    }

    /// The current date and time on the deployment's wall clocks (what a worker plans a visit in).
    #[must_use]
    pub fn local_now(&self) -> NaiveDateTime {
        self.now_utc().with_timezone(&self.zone).naive_local()
    }

    /// The instant a wall-clock time in the deployment's time zone stands for (a visit planned
    /// for 10:00, written to a calendar file in UTC). A time that does not exist, in the hour
    /// skipped when the clocks go forward, is read an hour later; one that happens twice, when
    /// they go back, is the first.
    #[must_use]
    pub fn instant_at(&self, local: NaiveDateTime) -> DateTime<Utc> {
        use chrono::TimeZone;
        self.zone
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                self.zone
                    .from_local_datetime(&(local + TimeDelta::hours(1)))
                    .earliest()
            })
            .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
    }

    /// Today's date in the deployment's time zone.
    #[must_use]
    pub fn today(&self) -> NaiveDate {
        self.local_now().date()
    }
}

impl Default for Clock {
    /// The system clock in [`DEFAULT_TIME_ZONE`].
    fn default() -> Self {
        Self::system(chrono_tz::Europe::London)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn half_past_midnight_in_summer_time_is_already_tomorrow_in_london() {
        let clock = Clock::fixed(at("2026-06-15T23:30:00Z"), chrono_tz::Europe::London);
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 6, 16).unwrap());
        assert_eq!(clock.local_now().format("%H:%M").to_string(), "00:30");
        assert_eq!(clock.now_utc(), at("2026-06-15T23:30:00Z"));
    }

    #[test]
    fn wall_clock_times_become_instants_across_the_clock_changes() {
        let clock = Clock::fixed(at("2026-01-15T12:00:00Z"), chrono_tz::Europe::London);
        let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            clock.instant_at(local("2026-07-03 10:00")),
            at("2026-07-03T09:00:00Z")
        );
        assert_eq!(
            clock.instant_at(local("2026-12-03 10:00")),
            at("2026-12-03T10:00:00Z")
        );
        // 01:30 on 29 March 2026 does not happen in London: it is read as 02:30 BST.
        assert_eq!(
            clock.instant_at(local("2026-03-29 01:30")),
            at("2026-03-29T01:30:00Z")
        );
        // 01:30 on 25 October 2026 happens twice: the first is in BST.
        assert_eq!(
            clock.instant_at(local("2026-10-25 01:30")),
            at("2026-10-25T00:30:00Z")
        );
    }

    #[test]
    fn in_winter_london_is_on_utc() {
        let clock = Clock::fixed(at("2026-01-15T23:30:00Z"), chrono_tz::Europe::London);
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 1, 15).unwrap());
    }

    #[test]
    fn a_clock_started_at_an_instant_runs_on_from_it() {
        let start = at("2026-06-16T10:00:00Z");
        let clock = Clock::starting_at(start, chrono_tz::Europe::London);
        let now = clock.now_utc();
        assert!(now >= start && now - start < TimeDelta::minutes(1));
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 6, 16).unwrap());
    }

    #[test]
    fn time_zone_names_come_from_the_database() {
        assert_eq!(
            parse_time_zone("Europe/London"),
            Ok(chrono_tz::Europe::London)
        );
        assert_eq!(
            parse_time_zone("Mars/Olympus"),
            Err(UnknownTimeZone("Mars/Olympus".to_owned()))
        );
    }
}
