//! The diary (issue 16, item 5): a week or a month of a worker's own visits (planned ones too,
//! however far ahead), the reviews of the cases they lead or cover as they fall due, and the MDT
//! meetings they are a core member of, with previous and next; a calendar file (iCalendar,
//! RFC 5545) of any range to download; and a feed, a secret address a calendar app subscribes to.
//!
//! What leaves careweave in a calendar file or the feed is decided here: calendar apps copy their
//! entries to phones and to the calendar provider's servers, so an entry names a person by their
//! initials and case number only ("Home visit: J.S. (case 12)"), never by name, NHS number,
//! address, or the notes of a visit; a meeting keeps its title and place, which name no one. The
//! worker opens the case in careweave for the rest. The page itself, behind the sign-in, shows
//! names as every other casework page does.

mod ical;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use careweave_domain::access;
use careweave_store::diary::{initials, Diary, DiaryUse};
use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{html, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::session::CurrentUser;
use crate::AppState;

use ical::{Event, When};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/diary", get(page))
        .route("/diary.ics", get(download))
        .route("/diary/feed", post(new_feed))
        .route("/diary/feed/stop", post(stop_feed))
        .route("/diary/feed/{file}", get(feed))
}

/// Who has a diary: the roles with a caseload (the same as "My people" and "Casework").
pub fn has_diary(p: &access::Principal) -> bool {
    access::has_caseload(p)
}

fn require_diary(user: &CurrentUser) -> Result<(), AppError> {
    if has_diary(&user.principal) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// How far back and ahead the feed reaches from today: enough for last month's visits to stay in
/// the calendar and for the next quarter's meetings to be there.
const FEED_DAYS_BACK: u64 = 28;
const FEED_DAYS_AHEAD: u64 = 120;

/// A week (Monday to Sunday) or a calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Week,
    Month,
}

impl Span {
    fn code(self) -> &'static str {
        match self {
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// The first and last day of the span that holds `on`.
    fn range(self, on: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Self::Week => {
                let monday = on - Days::new(u64::from(on.weekday().num_days_from_monday()));
                (monday, monday + Days::new(6))
            }
            Self::Month => {
                let first = on.with_day(1).unwrap_or(on);
                let last = (first + Months::new(1)).pred_opt().unwrap_or(first);
                (first, last)
            }
        }
    }

    /// A day in the span before and the span after the one that holds `on`.
    fn neighbours(self, on: NaiveDate) -> (NaiveDate, NaiveDate) {
        let (first, last) = self.range(on);
        match self {
            Self::Week => (first - Days::new(7), first + Days::new(7)),
            Self::Month => (first - Months::new(1), last + Days::new(1)),
        }
    }

    fn title(self, on: NaiveDate) -> String {
        let (first, last) = self.range(on);
        match self {
            Self::Week => format!("{} to {}", first.format("%-d %B"), last.format("%-d %B %Y")),
            Self::Month => first.format("%B %Y").to_string(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct DiaryParams {
    #[serde(default)]
    view: String,
    #[serde(default)]
    date: String,
}

/// A date from the address (`YYYY-MM-DD`), or `default` when it is missing or not a date.
fn date_or(text: &str, default: NaiveDate) -> NaiveDate {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").unwrap_or(default)
}

/// One thing on a day, as the page lists it.
#[derive(Debug, Clone)]
struct Entry {
    /// "10:00 to 11:30", or empty for something that takes no set time.
    time: String,
    /// When it starts, for the order of the day (entries with no set time come first).
    order: Option<NaiveTime>,
    /// The kind in words, shown as a tag.
    kind: &'static str,
    tag: &'static str,
    /// What it is and with whom, linked to where it is worked.
    title: String,
    href: String,
    detail: String,
}

#[derive(Debug, Clone)]
struct Day {
    on: NaiveDate,
    today: bool,
    entries: Vec<Entry>,
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// A meeting's start as stored ("13:30"), if it reads as a time.
fn meeting_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
        .ok()
}

/// The diary's days from its first to its last, each with its entries in time order (entries
/// with no set time first). Every day is listed, so a week shows its empty days too.
fn days(diary: &Diary, today: NaiveDate) -> Vec<Day> {
    let mut days: Vec<Day> = diary
        .from
        .iter_days()
        .take_while(|d| *d <= diary.to)
        .map(|on| Day {
            on,
            today: on == today,
            entries: Vec::new(),
        })
        .collect();
    let mut put = |on: NaiveDate, entry: Entry| {
        if let Some(day) = days.iter_mut().find(|d| d.on == on) {
            day.entries.push(entry);
        }
    };
    for v in &diary.visits {
        let time = match (v.starts_at, v.back_by) {
            (Some(s), Some(b)) => format!("{} to {}", hhmm(s), hhmm(b)),
            (Some(s), None) => hhmm(s),
            _ => String::new(),
        };
        let mut detail = Vec::new();
        if !v.place.is_empty() {
            detail.push(format!("At {}", v.place));
        }
        if let Some(c) = &v.companion {
            detail.push(format!("With {c}"));
        }
        detail.push(v.status.label().to_owned());
        put(
            v.on,
            Entry {
                time,
                order: v.starts_at,
                kind: "Visit",
                tag: "nhsuk-tag--blue",
                title: format!("{}: {}", v.contact_type.label(), v.name),
                href: format!("/cases/{}", v.case),
                detail: detail.join(". "),
            },
        );
    }
    for c in &diary.reviews {
        put(
            c.review_due_on,
            Entry {
                time: String::new(),
                order: None,
                kind: "Review due",
                tag: "nhsuk-tag--orange",
                title: format!("Review: {}", c.name),
                href: format!("/cases/{}#reviews", c.case),
                detail: c.service.clone(),
            },
        );
    }
    for m in &diary.meetings {
        let start = meeting_time(&m.starts_at);
        put(
            m.held_on,
            Entry {
                time: start.map(hhmm).unwrap_or_default(),
                order: start,
                kind: "MDT meeting",
                tag: "nhsuk-tag--purple",
                title: m.title.clone(),
                href: format!("/mdt/{}", m.id),
                detail: format!(
                    "{}. At {}. {} {} on the agenda",
                    m.host_name,
                    m.location,
                    m.cases,
                    if m.cases == 1 { "case" } else { "cases" }
                ),
            },
        );
    }
    // A stable sort keeps the store's order among entries at the same time.
    for day in &mut days {
        day.entries.sort_by_key(|e| e.order);
    }
    days
}

#[derive(Template)]
#[template(path = "diary/page.html")]
struct DiaryPage {
    chrome: Chrome,
    span: &'static str,
    title: String,
    days: Vec<Day>,
    empty: bool,
    from: NaiveDate,
    to: NaiveDate,
    shown: NaiveDate,
    previous: NaiveDate,
    next: NaiveDate,
    today: NaiveDate,
    has_feed: bool,
    /// The feed's address, shown once, just after it was made.
    new_feed: Option<String>,
}

async fn diary_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    params: &DiaryParams,
    new_feed: Option<String>,
) -> Result<DiaryPage, AppError> {
    require_diary(user)?;
    let today = state.clock.today();
    let span = if params.view == "month" {
        Span::Month
    } else {
        Span::Week
    };
    let shown = date_or(&params.date, today);
    let (from, to) = span.range(shown);
    let (previous, next) = span.neighbours(shown);
    let diary = state
        .store
        .diary(&user.principal, from, to, DiaryUse::Page)
        .await?;
    let days = days(&diary, today);
    let empty = days.iter().all(|d| d.entries.is_empty());
    Ok(DiaryPage {
        chrome: Chrome::signed_in("Diary", csrf, user, "/diary"),
        span: span.code(),
        title: span.title(shown),
        days,
        empty,
        from,
        to,
        shown,
        previous,
        next,
        today,
        has_feed: state.store.has_diary_feed(user.principal.user).await?,
        new_feed,
    })
}

/// `GET /diary?view=week|month&date=YYYY-MM-DD`: the week (or month) that holds the date,
/// today's by default.
async fn page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(params): Query<DiaryParams>,
) -> Result<Response, AppError> {
    html(&diary_page(&state, &csrf, &user, &params, None).await?)
}

/// The calendar entries for a diary, with initials and case numbers instead of names (see the
/// module's documentation).
fn events(diary: &Diary) -> Vec<Event> {
    let mut events = Vec::new();
    for v in &diary.visits {
        let when = match v.starts_at {
            Some(start) => {
                let end = v
                    .back_by
                    .filter(|b| *b > start)
                    .unwrap_or(start + chrono::Duration::hours(1));
                When::Between(v.on.and_time(start), v.on.and_time(end))
            }
            None => When::Day(v.on),
        };
        events.push(Event {
            uid: format!("visit-{}@careweave", v.id),
            when,
            summary: format!(
                "{}: {} (case {})",
                v.contact_type.label(),
                initials(&v.name),
                v.case
            ),
            description: format!(
                "Open case {} in careweave for the place and the notes.",
                v.case
            ),
            location: String::new(),
        });
    }
    for c in &diary.reviews {
        events.push(Event {
            uid: format!("review-{}-{}@careweave", c.case, c.review_due_on),
            when: When::Day(c.review_due_on),
            summary: format!("Review due: {} (case {})", initials(&c.name), c.case),
            description: c.service.clone(),
            location: String::new(),
        });
    }
    for m in &diary.meetings {
        let when = match meeting_time(&m.starts_at) {
            // A meeting is held for an hour unless it says otherwise; it records only its start.
            Some(start) => When::Between(
                m.held_on.and_time(start),
                m.held_on.and_time(start) + chrono::Duration::hours(1),
            ),
            None => When::Day(m.held_on),
        };
        events.push(Event {
            uid: format!("mdt-{}@careweave", m.id),
            when,
            summary: format!("MDT: {}", m.title),
            description: format!(
                "{}. {} {} on the agenda.",
                m.host_name,
                m.cases,
                if m.cases == 1 { "case" } else { "cases" }
            ),
            location: m.location.clone(),
        });
    }
    events
}

fn calendar_response(state: &AppState, diary: &Diary, file_name: Option<String>) -> Response {
    let body = ical::calendar("careweave diary", &state.clock, &events(diary));
    let mut headers = vec![(
        header::CONTENT_TYPE,
        "text/calendar; charset=utf-8".to_owned(),
    )];
    if let Some(name) = file_name {
        headers.push((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ));
    }
    let mut response = body.into_response();
    for (name, value) in headers {
        if let Ok(v) = value.parse() {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

#[derive(Debug, Default, Deserialize)]
struct RangeParams {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `GET /diary.ics?from=YYYY-MM-DD&to=YYYY-MM-DD`: a calendar file of the range (this week by
/// default), audited as an export.
async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<RangeParams>,
) -> Result<Response, AppError> {
    require_diary(&user)?;
    let (week_from, week_to) = Span::Week.range(state.clock.today());
    let from = date_or(&params.from, week_from);
    let to = date_or(&params.to, week_to).max(from);
    let diary = state
        .store
        .diary(&user.principal, from, to, DiaryUse::Download)
        .await?;
    let name = format!("diary-{}-to-{}.ics", diary.from, diary.to);
    Ok(calendar_response(&state, &diary, Some(name)))
}

/// The feed's address as the worker copies it into their calendar app: this service's public
/// address (see `Settings::public_base`), which only the worker who asked sees.
fn feed_address(state: &AppState, headers: &HeaderMap, token: &SecretString) -> String {
    format!(
        "{}/diary/feed/{}.ics",
        state.settings.public_base(headers),
        token.expose_secret()
    )
}

/// `POST /diary/feed`: makes a new feed address (the old one stops working) and shows it once.
async fn new_feed(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    require_diary(&user)?;
    let token = state.store.new_diary_feed(&user.principal).await?;
    let address = feed_address(&state, &headers, &token);
    html(&diary_page(&state, &csrf, &user, &DiaryParams::default(), Some(address)).await?)
}

/// `POST /diary/feed/stop`: the feed's address answers nothing from now on.
async fn stop_feed(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    require_diary(&user)?;
    state.store.end_diary_feed(&user.principal).await?;
    Ok(Redirect::to("/diary#feed").into_response())
}

/// `GET /diary/feed/{token}.ics`, with no sign-in: the worker's diary from four weeks ago to four
/// months ahead, for their calendar app. An unknown or stopped address, or an account that no
/// longer has a caseload, gets a 404 that says nothing more.
async fn feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let token = SecretString::from(file.strip_suffix(".ics").unwrap_or(&file).to_owned());
    let Some(who) = state.store.diary_feed_owner(&token).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    if !has_diary(&who) {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let today = state.clock.today();
    let diary = state
        .store
        .diary(
            &who,
            today - Days::new(FEED_DAYS_BACK),
            today + Days::new(FEED_DAYS_AHEAD),
            DiaryUse::Feed,
        )
        .await?;
    Ok(calendar_response(&state, &diary, None))
}

#[cfg(test)]
mod tests {
    use super::Span;
    use chrono::NaiveDate;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_week_runs_monday_to_sunday_and_steps_by_seven_days() {
        // 2 December 2026 is a Wednesday.
        assert_eq!(
            Span::Week.range(d(2026, 12, 2)),
            (d(2026, 11, 30), d(2026, 12, 6))
        );
        assert_eq!(
            Span::Week.range(d(2026, 11, 30)),
            (d(2026, 11, 30), d(2026, 12, 6))
        );
        assert_eq!(
            Span::Week.range(d(2026, 12, 6)),
            (d(2026, 11, 30), d(2026, 12, 6))
        );
        assert_eq!(
            Span::Week.neighbours(d(2026, 12, 2)),
            (d(2026, 11, 23), d(2026, 12, 7))
        );
    }

    #[test]
    fn a_month_is_the_calendar_month_and_steps_across_years() {
        assert_eq!(
            Span::Month.range(d(2026, 12, 15)),
            (d(2026, 12, 1), d(2026, 12, 31))
        );
        assert_eq!(
            Span::Month.range(d(2028, 2, 10)),
            (d(2028, 2, 1), d(2028, 2, 29))
        );
        assert_eq!(
            Span::Month.neighbours(d(2026, 12, 15)),
            (d(2026, 11, 1), d(2027, 1, 1))
        );
        assert_eq!(Span::Month.title(d(2026, 12, 15)), "December 2026");
        assert_eq!(
            Span::Week.title(d(2026, 12, 2)),
            "30 November to 6 December 2026"
        );
    }
}
