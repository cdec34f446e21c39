//! iCalendar (RFC 5545) text for the diary's download and feed: one `VCALENDAR` of `VEVENT`s.
//!
//! Only what the diary needs is written: events that last all day (a date) or from one local
//! time to another, written in UTC so that no time-zone definition has to travel with them;
//! text escaped (section 3.3.11) and lines folded at 75 octets (section 3.1) with CRLF endings.

use careweave_domain::clock::Clock;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// When an event happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// All day on a date.
    Day(NaiveDate),
    /// From one wall-clock time to another, in the deployment's time zone.
    Between(NaiveDateTime, NaiveDateTime),
}

/// One calendar entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stable across downloads, so a calendar app updates an entry instead of doubling it.
    pub uid: String,
    pub when: When,
    pub summary: String,
    pub description: String,
    pub location: String,
}

/// The calendar file: `name` is the calendar's display name; the clock gives the instant it was
/// made and the time zone the events' wall-clock times are in.
#[must_use]
pub fn calendar(name: &str, clock: &Clock, events: &[Event]) -> String {
    let mut out = String::new();
    let mut line = |text: &str| fold_into(&mut out, text);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//careweave//diary//EN");
    line("CALSCALE:GREGORIAN");
    line("METHOD:PUBLISH");
    line(&format!("X-WR-CALNAME:{}", escape(name)));
    let stamp = utc_text(clock.now_utc());
    for e in events {
        line("BEGIN:VEVENT");
        line(&format!("UID:{}", escape(&e.uid)));
        line(&format!("DTSTAMP:{stamp}"));
        match e.when {
            When::Day(on) => {
                line(&format!("DTSTART;VALUE=DATE:{}", on.format("%Y%m%d")));
                let next = on.succ_opt().unwrap_or(on);
                line(&format!("DTEND;VALUE=DATE:{}", next.format("%Y%m%d")));
            }
            When::Between(start, end) => {
                line(&format!("DTSTART:{}", utc_text(clock.instant_at(start))));
                line(&format!(
                    "DTEND:{}",
                    utc_text(clock.instant_at(end.max(start)))
                ));
            }
        }
        line(&format!("SUMMARY:{}", escape(&e.summary)));
        if !e.description.is_empty() {
            line(&format!("DESCRIPTION:{}", escape(&e.description)));
        }
        if !e.location.is_empty() {
            line(&format!("LOCATION:{}", escape(&e.location)));
        }
        line("STATUS:CONFIRMED");
        line("TRANSP:OPAQUE");
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

fn utc_text(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value: backslash, semicolon, comma and line breaks.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so that no line is longer than 75 octets (a continuation
/// starts with a space, which counts), never splitting a UTF-8 character, ending in CRLF.
fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn event(when: When, summary: &str) -> Event {
        Event {
            uid: "visit-1@careweave".to_owned(),
            when,
            summary: summary.to_owned(),
            description: String::new(),
            location: String::new(),
        }
    }

    fn clock() -> Clock {
        Clock::fixed(
            chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 7, 1, 9, 0, 0).unwrap(),
            chrono_tz_london(),
        )
    }

    fn chrono_tz_london() -> careweave_domain::clock::Tz {
        careweave_domain::clock::parse_time_zone("Europe/London").unwrap()
    }

    #[test]
    fn times_are_written_in_utc_from_the_deployment_zone() {
        let text = calendar(
            "Diary",
            &clock(),
            &[event(
                When::Between(at(2026, 7, 3, 10, 0), at(2026, 7, 3, 11, 30)),
                "Home visit",
            )],
        );
        // British Summer Time is an hour ahead of UTC.
        assert!(text.contains("\r\nDTSTART:20260703T090000Z\r\n"), "{text}");
        assert!(text.contains("\r\nDTEND:20260703T103000Z\r\n"));
        assert!(text.contains("\r\nDTSTAMP:20260701T090000Z\r\n"));
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(text.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
    }

    #[test]
    fn all_day_events_end_the_next_day() {
        let text = calendar(
            "Diary",
            &clock(),
            &[event(
                When::Day(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
                "Review due",
            )],
        );
        assert!(text.contains("\r\nDTSTART;VALUE=DATE:20261231\r\nDTEND;VALUE=DATE:20270101\r\n"));
    }

    #[test]
    fn text_is_escaped_and_long_lines_are_folded_on_character_boundaries() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        let long = "é".repeat(100);
        let mut out = String::new();
        fold_into(&mut out, &format!("SUMMARY:{long}"));
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        // Unfolding (removing CRLF followed by a space) gives the line back.
        assert_eq!(
            out.replace("\r\n ", "").trim_end(),
            format!("SUMMARY:{long}")
        );
    }
}
