//! Issue 16 items 5, 7, 8 and 9 over HTTP, on SQLite and PostgreSQL: the diary (a visit two days
//! ahead, a review and an MDT meeting in the week and month views, a calendar file that parses
//! and names people by initials only, the feed and its address), dates that start at today, the
//! printable plan and minutes, the discharge override with its warning, reason and audit row,
//! and the casework reports' charts, CSV downloads and date range.

#[macro_use]
mod support;

use careweave_domain::access::Role;
use careweave_domain::casework::CaseId;
use careweave_domain::mdt::{MeetingHost, MeetingId};
use careweave_store::audit::AuditFilter;
use careweave_store::mdt::NewMeeting;
use careweave_store::testing::{cross_employer_case, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use reqwest::StatusCode;
use support::{new_client, Server, PASSWORD};

/// The shared cross-employer case (`lead`, `coworker`) with a `supervisor` and an `analyst` of
/// the charity, and an MDT meeting three days ahead with the lead as a core member.
struct TestApp {
    server: Server,
    case: CaseId,
    meeting: MeetingId,
    today: NaiveDate,
    store: Store,
    _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

impl TestApp {
    async fn spawn(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let shared = cross_employer_case(&store, PASSWORD).await;
        for (name, role) in [("supervisor", Role::Supervisor), ("analyst", Role::Analyst)] {
            test_user(&store, name, role, shared.charity, PASSWORD).await;
        }
        let today = store.clock().today();
        let service = store.casework_services().await.unwrap()[0].id;
        let meeting = store
            .plan_meeting(
                &shared.lead,
                &NewMeeting {
                    title: "Link workers' MDT".into(),
                    host: MeetingHost::Team(service),
                    held_on: today + Duration::days(3),
                    starts_at: NaiveTime::from_hms_opt(13, 30, 0).unwrap(),
                    location: "Riverside Community Centre".into(),
                    lists: Vec::new(),
                    cohort: None,
                    core_members: vec![shared.lead.user],
                },
            )
            .await
            .unwrap();
        let server = Server::start(&db, store.clone()).await;
        Self {
            server,
            case: shared.case,
            meeting,
            today,
            store,
            _db: db,
        }
    }

    /// The case as the JSON API gives it to the lead.
    async fn case_json(&self, who: &reqwest::Client) -> serde_json::Value {
        let (status, c) = self
            .api_get(who, &format!("/api/v1/cases/{}", self.case))
            .await;
        assert_eq!(status, StatusCode::OK);
        c
    }
}

fn date_fields(prefix: &str, d: NaiveDate) -> serde_json::Value {
    serde_json::json!({
        format!("{prefix}-day"): d.day().to_string(),
        format!("{prefix}-month"): d.month().to_string(),
        format!("{prefix}-year"): d.year().to_string(),
    })
}

fn merge(mut a: serde_json::Value, b: serde_json::Value) -> serde_json::Value {
    for (k, v) in b.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

/// The content lines of an iCalendar text (RFC 5545 section 3.1), checking as it goes what a
/// calendar app relies on: CRLF line endings, no physical line over 75 octets, and BEGIN and END
/// nesting; each event is its list of (name with parameters, value).
fn parse_ics(text: &str) -> Vec<Vec<(String, String)>> {
    assert!(text.ends_with("\r\n"), "the last line ends with CRLF");
    let physical: Vec<&str> = text.strip_suffix("\r\n").unwrap().split("\r\n").collect();
    for l in &physical {
        assert!(l.len() <= 75, "a line of {} octets: {l}", l.len());
        assert!(!l.contains('\n') && !l.contains('\r'), "a bare line break");
    }
    // Unfolding: a line that starts with a space continues the one before.
    let mut lines: Vec<String> = Vec::new();
    for l in physical {
        match l.strip_prefix(' ') {
            Some(rest) => lines.last_mut().expect("a first line").push_str(rest),
            None => lines.push(l.to_owned()),
        }
    }
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
    assert!(lines.contains(&"VERSION:2.0".to_owned()));
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
    let mut events = Vec::new();
    let mut current: Option<Vec<(String, String)>> = None;
    for l in &lines[1..lines.len() - 1] {
        let (name, value) = l
            .split_once(':')
            .expect("a content line has a name and a value");
        match (name, value) {
            ("BEGIN", "VEVENT") => {
                assert!(current.is_none(), "events do not nest");
                current = Some(Vec::new());
            }
            ("END", "VEVENT") => events.push(current.take().expect("an open event")),
            _ => {
                if let Some(e) = current.as_mut() {
                    e.push((name.to_owned(), value.to_owned()));
                }
            }
        }
    }
    assert!(current.is_none(), "every event is closed");
    for e in &events {
        for required in ["UID", "DTSTAMP", "SUMMARY"] {
            assert!(e.iter().any(|(n, _)| n == required), "{required} in {e:?}");
        }
        assert!(e.iter().any(|(n, _)| n.starts_with("DTSTART")));
    }
    events
}

fn summaries(events: &[Vec<(String, String)>]) -> Vec<String> {
    events
        .iter()
        .flat_map(|e| {
            e.iter()
                .filter(|(n, _)| n == "SUMMARY")
                .map(|(_, v)| v.clone())
        })
        .collect()
}

on_both_backends!(
    the_diary_shows_planned_visits_reviews_and_meetings_and_exports_them,
    |app| {
        let lead = app.sign_in("lead").await;
        let ahead = app.today + Duration::days(2);
        let visit = merge(
            serde_json::json!({
                "visit_type": "home_visit",
                "visit_start": "10:00",
                "visit_back": "11:30",
                "visit_place": "12 Example Road",
                "companion": "",
            }),
            date_fields("visit", ahead),
        );
        let (status, body) = app
            .api_post(&lead, &format!("/api/v1/cases/{}/visits", app.case), visit)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // The visit two days ahead is on no "today" page, but it is in the diary's week.
        let (status, week) = app.get(&lead, &format!("/diary?date={ahead}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(week.contains("Home visit: EXAMPLE, Ada"), "{week}");
        assert!(week.contains("10:00 to 11:30"));
        assert!(week.contains(&ahead.format("%A %-d %B").to_string()));
        assert!(week.contains("rel=\"prev\"") && week.contains("rel=\"next\""));
        let meeting_day = app.today + Duration::days(3);
        let (_, meeting_week) = app.get(&lead, &format!("/diary?date={meeting_day}")).await;
        assert!(
            meeting_week.contains("Link workers&#39; MDT"),
            "{meeting_week}"
        );
        assert!(meeting_week.contains(&format!("/mdt/{}", app.meeting)));
        // The review falls due six weeks after the case opened: in that month's view.
        let due = NaiveDate::parse_from_str(
            app.case_json(&lead).await["review_due_on"]
                .as_str()
                .unwrap(),
            "%Y-%m-%d",
        )
        .unwrap();
        let (_, month) = app
            .get(&lead, &format!("/diary?view=month&date={due}"))
            .await;
        assert!(month.contains("Review: EXAMPLE, Ada"), "{month}");
        assert!(month.contains(&format!("/cases/{}#reviews", app.case)));
        // Next and previous months are a link away.
        assert!(month.contains(&format!(
            "/diary?view=month&amp;date={}",
            NaiveDate::from_ymd_opt(due.year(), due.month(), 1).unwrap() + chrono::Months::new(1)
        )));

        // The calendar file of the range has all three, by initials and case number only.
        let to = due.max(meeting_day);
        let r = lead
            .get(format!("{}/diary.ics?from={}&to={to}", app.base, app.today))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar"));
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        let text = r.text().await.unwrap();
        let events = parse_ics(&text);
        let titles = summaries(&events);
        let case = app.case;
        assert!(
            titles.contains(&format!("Home visit: A.E. (case {case})")),
            "{titles:?}"
        );
        assert!(titles.contains(&format!("Review due: A.E. (case {case})")));
        assert!(titles.contains(&"MDT: Link workers' MDT".to_owned()));
        for private in ["Ada", "EXAMPLE", "Example Road", "9434765919"] {
            assert!(
                !text.contains(private),
                "{private} left careweave in the calendar file"
            );
        }
        let visit_event = events
            .iter()
            .find(|e| {
                e.iter()
                    .any(|(n, v)| n == "SUMMARY" && v.starts_with("Home visit"))
            })
            .unwrap();
        let start = visit_event
            .iter()
            .find(|(n, _)| n == "DTSTART")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert!(start.starts_with(&ahead.format("%Y%m%d").to_string()) && start.ends_with('Z'));

        // The feed: an address made once, read without a sign-in, stopped on request.
        let (status, _, page) = app.post(&lead, "/diary", "/diary/feed", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let marker = "/diary/feed/";
        let shown_at = page
            .find("id=\"feed-address\"")
            .expect("the new address is shown");
        let start = shown_at + page[shown_at..].find(marker).unwrap() + marker.len();
        let token: String = page[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(token.len() >= 40, "{token}");
        let anonymous = new_client();
        let feed = format!("/diary/feed/{token}.ics");
        let (status, text) = app.get(&anonymous, &feed).await;
        assert_eq!(status, StatusCode::OK);
        let titles = summaries(&parse_ics(&text));
        assert!(titles.contains(&format!("Home visit: A.E. (case {case})")));
        // The address is shown once: the page afterwards says a feed exists but not its address.
        let (_, later) = app.get(&lead, "/diary").await;
        assert!(later.contains("Make a new feed address") && !later.contains(&token));
        assert_eq!(
            app.get(&anonymous, "/diary/feed/not-a-real-address.ics")
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        let (status, location, _) = app.post(&lead, "/diary", "/diary/feed/stop", &[]).await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, "/diary#feed")
        );
        assert_eq!(app.get(&anonymous, &feed).await.0, StatusCode::NOT_FOUND);

        // Reads are audited as the worker's own caseload; an unknown address as a refusal.
        let audit = app
            .store
            .audit_entries(&AuditFilter {
                entity: Some("caseload".into()),
                entity_id: None,
                limit: 100,
            })
            .await
            .unwrap();
        assert!(audit
            .iter()
            .any(|e| e.action == "list" && e.reason.starts_with("diary ")));
        assert!(audit
            .iter()
            .any(|e| e.action == "export" && e.reason.starts_with("diary calendar file")));
        assert!(audit
            .iter()
            .any(|e| e.action == "export" && e.reason.starts_with("diary feed")));
        let refusals = app
            .store
            .audit_entries(&AuditFilter {
                entity: Some("diary_feed".into()),
                entity_id: None,
                limit: 100,
            })
            .await
            .unwrap();
        assert!(refusals.iter().any(|e| e.action == "denied"));

        // Only roles with a caseload have a diary, and the menu offers it only to them.
        let analyst = app.sign_in("analyst").await;
        assert_eq!(app.get(&analyst, "/diary").await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            app.get(&analyst, "/diary.ics").await.0,
            StatusCode::FORBIDDEN
        );
        assert!(!app.get(&analyst, "/").await.1.contains("href=\"/diary\""));
        assert!(app.get(&lead, "/").await.1.contains("href=\"/diary\""));
    }
);

on_both_backends!(contact_review_and_discharge_dates_start_at_today, |app| {
    let lead = app.sign_in("lead").await;
    let (_, page) = app.get(&lead, &format!("/cases/{}", app.case)).await;
    let t = app.today;
    for prefix in ["contact", "reviewed", "discharged"] {
        assert!(
                page.contains(&format!(
                    "id=\"{prefix}-day\" name=\"{prefix}-day\" type=\"text\" inputmode=\"numeric\" value=\"{}\"",
                    t.day()
                )),
                "{prefix}"
            );
        assert!(page.contains(&format!(
                "id=\"{prefix}-year\" name=\"{prefix}-year\" type=\"text\" inputmode=\"numeric\" value=\"{}\"",
                t.year()
            )));
    }
    // A date that is not the likely answer stays empty (an action's due date).
    assert!(page.contains(
        "id=\"due-day\" name=\"due-day\" type=\"text\" inputmode=\"numeric\" value=\"\""
    ));
});

on_both_backends!(
    a_goals_met_discharge_with_goals_at_nought_is_warned_about_and_the_override_recorded,
    |app| {
        let lead = app.sign_in("lead").await;
        // The service's schedule asks for ONS4 at discharge.
        let supervisor = app.sign_in("supervisor").await;
        let service = app.case_json(&lead).await["service"]["id"]
            .as_i64()
            .unwrap()
            .to_string();
        let schedule = serde_json::json!({ "service": service, "schedule_instrument": "ons4", "at_discharge": "yes" });
        assert_eq!(
            app.api_post(&supervisor, "/api/v1/outcome-schedules", schedule)
                .await
                .0,
            StatusCode::OK
        );
        let version = app.case_json(&lead).await["plan"]["version"].clone();
        let (status, body) = app
            .api_post(
                &lead,
                &format!("/api/v1/cases/{}/goals", app.case),
                serde_json::json!({ "goal": "Join the Tuesday lunch club", "version": version.to_string() }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let discharge = |why: &str| {
            merge(
                serde_json::json!({
                    "discharge_reason": "goals_met",
                    "destination": "community_group",
                    "gp_agreement": "agreed",
                    "outcomes": "",
                    "discharge_override": why,
                }),
                date_fields("discharged", app.today),
            )
        };
        let path = format!("/api/v1/cases/{}/discharge", app.case);
        // Without a reason: a warning that names what is wrong, and nothing is changed.
        let (status, body) = app.api_post(&lead, &path, discharge("")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let text = body.to_string();
        assert!(text.contains("discharge_override"), "{text}");
        assert!(
            text.contains("the plan's one goal is at 0% progress"),
            "{text}"
        );
        assert!(
            text.contains(
                "asks for ONS personal wellbeing (ONS4) at discharge and it has not been recorded"
            ),
            "{text}"
        );
        assert_eq!(app.case_json(&lead).await["status"], "open");
        // The page shows the warning in the error summary and asks for the reason.
        let page = format!("/cases/{}", app.case);
        let token = app.csrf(&lead, &page).await;
        let form: Vec<(String, String)> = [
            ("csrf_token", token.as_str()),
            ("discharge_reason", "goals_met"),
            ("destination", "community_group"),
            ("gp_agreement", "agreed"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain(
            [("day", app.today.day()), ("month", app.today.month())]
                .iter()
                .map(|(k, v)| (format!("discharged-{k}"), v.to_string())),
        )
        .chain(std::iter::once((
            "discharged-year".to_owned(),
            app.today.year().to_string(),
        )))
        .collect();
        let r = lead
            .post(format!("{}{page}/discharge", app.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = r.text().await.unwrap();
        assert!(body.contains("<a href=\"#discharge_override\">"), "{body}");
        assert!(body.contains("Why discharge anyway"));
        assert!(body.contains("value=\"goals_met\" selected"));

        // With a reason: discharged, and the warning and the reason are kept and shown.
        let why = "Joined the club last week; the plan was not updated";
        let (status, body) = app.api_post(&lead, &path, discharge(why)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let c = app.case_json(&lead).await;
        assert_eq!(c["status"], "discharged");
        assert_eq!(c["discharge"]["override"]["reason"], why);
        assert!(c["discharge"]["override"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("0% progress"));
        assert_eq!(
            c["discharge"]["override"]["warnings"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let (_, shown) = app.get(&lead, &page).await;
        assert!(shown.contains("Discharged despite a warning"));
        assert!(shown.contains(why));
        let audit = app
            .store
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: None,
                limit: 200,
            })
            .await
            .unwrap();
        assert!(
            audit.iter().any(|e| e.reason
                == format!(
                    "casework case {}: discharged with an override of 2 warning(s)",
                    app.case
                )),
            "the override is in the audit log"
        );
        assert!(
            !audit.iter().any(|e| e.reason.contains(why)),
            "the worker's words stay on the case"
        );
    }
);

on_both_backends!(
    the_plan_and_the_minutes_print_for_those_who_work_them,
    |app| {
        let lead = app.sign_in("lead").await;
        let letter = format!("/cases/{}/plan-letter", app.case);
        let (status, body) = app.get(&lead, &letter).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Your care and support plan"));
        assert!(body.contains("What matters to you"));
        assert!(body.contains("data-app-print"));
        assert!(app
            .get(&lead, &format!("/cases/{}", app.case))
            .await
            .1
            .contains(&letter));
        let analyst = app.sign_in("analyst").await;
        assert_eq!(app.get(&analyst, &letter).await.0, StatusCode::FORBIDDEN);
        let minutes = format!("/mdt/{}/minutes", app.meeting);
        let (status, body) = app.get(&lead, &minutes).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Minutes of the MDT meeting"));
        assert!(body.contains("Riverside Community Centre"));
        assert_eq!(app.get(&analyst, &minutes).await.0, StatusCode::FORBIDDEN);
    }
);

on_both_backends!(casework_reports_have_charts_csv_and_a_date_range, |app| {
    let supervisor = app.sign_in("supervisor").await;
    let (status, page) = app.get(&supervisor, "/casework/reports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<svg class=\"app-chart\""),
        "charts are drawn"
    );
    assert!(page.contains("Referrals received by month"));
    assert!(page.contains("/casework/reports.csv?table=sources"));
    // Every table on the page has its CSV, from the one writer.
    for table in [
        "months",
        "status",
        "workers",
        "practices",
        "employers",
        "funding",
        "sources",
        "durations",
    ] {
        let r = supervisor
            .get(format!("{}/casework/reports.csv?table={table}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{table}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
    }
    let (_, csv) = app
        .get(&supervisor, "/casework/reports.csv?table=sources")
        .await;
    assert_eq!(csv, "Source,Referrals\r\nGP,1\r\n");
    let month = app.today.format("%Y-%m").to_string();
    let (_, csv) = app
        .get(&supervisor, "/casework/reports.csv?table=months")
        .await;
    assert_eq!(
        csv,
        format!("Month,Referrals received,Cases opened,Discharges\r\n{month},1,1,0\r\n")
    );
    // A range that ends before the referral leaves it out, on the page and in the CSV.
    let before = app.today - Duration::days(30);
    let (_, csv) = app
        .get(
            &supervisor,
            &format!("/casework/reports.csv?table=sources&to={before}"),
        )
        .await;
    assert_eq!(csv, "Source,Referrals\r\n");
    let (_, page) = app
        .get(
            &supervisor,
            &format!(
                "/casework/reports?to-day={}&to-month={}&to-year={}",
                before.day(),
                before.month(),
                before.year()
            ),
        )
        .await;
    assert!(page.contains("Nothing to report in these dates"));
    assert!(
        page.contains(&format!("table=practices&#38;to={before}\" download")),
        "the CSV links keep the dates"
    );
    // A date that is not one is shown in the error summary and the report still renders.
    let (status, page) = app
        .get(
            &supervisor,
            "/casework/reports?from-day=31&from-month=2&from-year=2026",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("There is a problem") && page.contains("<a href=\"#from-day\">"));
    // Outside the team the counts are disclosure-controlled in the CSV too.
    let analyst = app.sign_in("analyst").await;
    let (_, csv) = app
        .get(&analyst, "/casework/reports.csv?table=sources")
        .await;
    assert_eq!(csv, "Source,Referrals\r\nGP,suppressed\r\n");
    assert_eq!(
        app.get(&analyst, "/casework/reports.csv?table=workers")
            .await
            .0,
        StatusCode::NOT_FOUND,
        "workers' caseloads are not shown outside the team"
    );
    let (status, api) = app
        .api_get(
            &supervisor,
            &format!("/api/v1/casework/reports?from={}", app.today),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api["by_month"][0]["month"], month);
    // The board report takes the same range and draws its charts.
    let (status, board) = app
        .get(&supervisor, &format!("/casework/board?to={before}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(board.contains("Show these dates"));
    let (status, _) = app.get(&supervisor, "/casework/board.csv?table=mdt").await;
    assert_eq!(status, StatusCode::OK);
});
