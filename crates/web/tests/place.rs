//! The place partnership workspace over HTTP, on SQLite and PostgreSQL: a commissioner starts a
//! workspace (the form keeps what was typed when it is refused); partners open it and everyone
//! else gets 403, whether or not it exists; a survey with an identifying column is refused naming
//! the column, a good one is imported with its bad rows listed by line and its counts suppressed;
//! an answer needs its evidence; events with actions are followed up until done; and the
//! self-assessment is scored, compared, exported as CSV and printed.

#[macro_use]
mod support;

use careweave_domain::access::Role;
use careweave_domain::{OrganisationKind, PlaceLevel};
use careweave_store::people::{NewOrganisation, NewPlace};
use careweave_store::testing::{test_user, TestDatabase};
use careweave_store::Backend;
use reqwest::StatusCode;
use support::{Server, PASSWORD};

/// A running app with a PCN place, the PCN (partner) and a charity (not a partner) and, as
/// accounts: `lead` (PCN commissioner), `analyst` (PCN), `worker` (PCN) and `outsider` (charity
/// commissioner).
struct TestApp {
    server: Server,
    place: i64,
    pcn: i64,
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
        let place = store
            .insert_place(&NewPlace {
                level: PlaceLevel::Pcn,
                code: "U12345".into(),
                name: "Riverside PCN".into(),
                parent: None,
                imd_decile: None,
            })
            .await
            .unwrap();
        let org = |name: &str, kind| NewOrganisation {
            name: name.into(),
            kind,
            ods_code: None,
            place: Some(place),
        };
        let pcn = store
            .insert_organisation(&org("Riverside PCN", OrganisationKind::Pcn))
            .await
            .unwrap();
        let charity = store
            .insert_organisation(&org("Riverside Trust", OrganisationKind::Vcse))
            .await
            .unwrap();
        for (name, role, at) in [
            ("lead", Role::Commissioner, pcn),
            ("manager", Role::Manager, pcn),
            ("analyst", Role::Analyst, pcn),
            ("worker", Role::Worker, pcn),
            ("outsider", Role::Commissioner, charity),
        ] {
            test_user(&store, name, role, at, PASSWORD).await;
        }
        let server = Server::start(&db, store).await;
        Self {
            server,
            place: place.get(),
            pcn: pcn.get(),
            _db: db,
        }
    }

    /// Starts a workspace as the lead through the form and returns its address.
    async fn start(&self, lead: &reqwest::Client) -> String {
        let (place, pcn) = (self.place.to_string(), self.pcn.to_string());
        let (status, location, _) = self
            .post(
                lead,
                "/place/new",
                "/place/new",
                &[
                    ("name", "Riverside partnership"),
                    ("place", place.as_str()),
                    ("organisation", pcn.as_str()),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.starts_with("/place/"), "{location}");
        location
    }
}

on_both_backends!(partners_open_the_workspace_and_others_are_refused, |app| {
    let lead = app.sign_in("lead").await;
    // A form with a field missing comes back with the error summary and what was typed.
    let (status, _, body) = app
        .post(
            &lead,
            "/place/new",
            "/place/new",
            &[("name", "Typed name"), ("place", ""), ("organisation", "")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("There is a problem"));
    assert!(body.contains("Select the place"));
    assert!(body.contains("value=\"Typed name\""));
    let ws = app.start(&lead).await;

    for (name, expected) in [
        ("lead", StatusCode::OK),
        ("manager", StatusCode::OK),
        ("analyst", StatusCode::OK),
        ("worker", StatusCode::FORBIDDEN),
        ("outsider", StatusCode::FORBIDDEN),
    ] {
        let client = app.sign_in(name).await;
        for page in [
            "",
            "/community",
            "/questions",
            "/catalogue",
            "/events",
            "/assessment",
        ] {
            let (status, _) = app.get(&client, &format!("{ws}{page}")).await;
            assert_eq!(status, expected, "{name} on {ws}{page}");
        }
    }
    let outsider = app.sign_in("outsider").await;
    let (status, body) = app.get(&outsider, "/place").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !body.contains("Riverside partnership"),
        "the list names only their workspaces"
    );
    let (status, _) = app.get(&outsider, "/place/99999").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a missing workspace reads the same"
    );
    let worker = app.sign_in("worker").await;
    assert_eq!(app.get(&worker, "/place").await.0, StatusCode::FORBIDDEN);
    // A write by someone who is not a partner is refused too.
    let (status, _, _) = app
        .post(
            &outsider,
            "/place",
            &format!("{ws}/notes"),
            &[("kind", "roadshow")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The partner list offers the charity to the lead; once added, its commissioner is in.
    let (_, body) = app.get(&lead, &ws).await;
    assert!(body.contains("Riverside Trust"));
    let analyst = app.sign_in("analyst").await;
    let (_, body) = app.get(&analyst, &ws).await;
    assert!(
        !body.contains("Add a partner organisation"),
        "only leads manage partners"
    );
    let charity = body_option_value(&app.get(&lead, &ws).await.1, "Riverside Trust");
    let (status, _, _) = app
        .post(
            &lead,
            &ws,
            &format!("{ws}/partners"),
            &[("organisation", charity.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.get(&outsider, &ws).await.0, StatusCode::OK);
});

/// The value of the `<option>` labelled `label`.
fn body_option_value(body: &str, label: &str) -> String {
    let end = body.find(&format!(">{label}</option>")).expect("option");
    let start = body[..end].rfind("value=\"").expect("value") + 7;
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

on_both_backends!(
    surveys_are_refused_with_identifiers_and_counted_safely,
    |app| {
        let lead = app.sign_in("lead").await;
        let ws = app.start(&lead).await;
        let page = format!("{ws}/community");
        let path = format!("{ws}/surveys");
        let identifying = "question,answer,Email address\nWhat would help?,Buses,a@b.org\n";
        let (status, _, body) = app
            .post(
                &lead,
                &page,
                &path,
                &[("title", "Spring"), ("content", identifying)],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("There is a problem"));
        assert!(
            body.contains("the column &#39;Email address&#39;")
                || body.contains("the column 'Email address'"),
            "{body}"
        );
        assert!(body.contains("value=\"Spring\""), "the title typed is kept");
        assert!(
            body.contains("What would help?,Buses"),
            "the text pasted is kept"
        );

        let mut csv = String::from("question,answer,Ward\n");
        for _ in 0..12 {
            csv.push_str("What would help?,A bus that comes on time,Riverside\n");
        }
        csv.push_str("What would help?,I am lonely,Hillside\n");
        csv.push_str("What would help?,,Hillside\n");
        let (status, _, body) = app
            .post(
                &lead,
                &page,
                &path,
                &[("title", "Spring"), ("content", csv.as_str())],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("13 answers imported, 1 rows not imported"),
            "{body}"
        );
        assert!(body.contains("<td class=\"nhsuk-table__cell app-numeric\">15</td><td class=\"nhsuk-table__cell\">answer</td>"), "the bad row is listed with its line and field");
        // Twelve transport answers publish as 10; one loneliness answer is hidden, never shown as 1.
        let (_, body) = app.get(&lead, &page).await;
        assert!(body.contains("Transport and getting about</td><td class=\"nhsuk-table__cell app-numeric\">10</td>"), "{body}");
        assert!(body.contains("7 or fewer"));
        assert!(
            !body.contains("A bus that comes on time"),
            "answers are never shown one by one"
        );
    }
);

on_both_backends!(answers_need_evidence_and_actions_are_followed_up, |app| {
    let lead = app.sign_in("lead").await;
    let ws = app.start(&lead).await;
    let page = format!("{ws}/questions");
    let path = format!("{ws}/questions/integration");
    let (status, _, body) = app
        .post(
            &lead,
            &page,
            &path,
            &[("answer-integration", "One team for the place")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Select at least one piece of evidence"));
    assert!(body.contains("One team for the place"));
    let (status, _, _) = app
        .post(
            &lead,
            &page,
            &path,
            &[
                ("answer-integration", "One team for the place"),
                ("evidence-integration", "practice:dudley-mdts"),
                ("evidence-integration", "chart:segment"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, body) = app.get(&lead, &page).await;
    assert!(body.contains(&format!("href=\"{ws}/catalogue#entry-dudley-mdts\"")));
    assert!(body.contains(&format!("href=\"{ws}#chart-segment\"")));
    let (_, body) = app.get(&lead, &format!("{ws}/catalogue")).await;
    assert!(body.contains("id=\"entry-wokingham-mdt-triggers\""));
    assert!(body.contains("Before and after only"));

    let events = format!("{ws}/events");
    let event = [
        ("event_title", "Solution-building event"),
        ("held-day", "2"),
        ("held-month", "6"),
        ("held-year", "2026"),
        ("proposals", "A weekly MDT\nA single number to call"),
        ("decisions", "Pilot the MDT"),
        ("action1-description", "Start the MDT"),
        ("action1-owner", "PCN manager"),
        ("action1-link", "Frailty cohort"),
    ];
    let (status, _, body) = app.post(&lead, &events, &events, &event).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the action has no due date"
    );
    assert!(body.contains("Start the MDT"));
    let mut event = event.to_vec();
    event.extend([
        ("action1-due-day", "1"),
        ("action1-due-month", "9"),
        ("action1-due-year", "2026"),
    ]);
    let (status, _, _) = app.post(&lead, &events, &events, &event).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, body) = app.get(&lead, &ws).await;
    assert!(body.contains("Start the MDT (PCN manager, due 1 September 2026)"));
    let marker = format!("action=\"{ws}/actions/");
    let (_, body) = app.get(&lead, &events).await;
    let start = body.find(&marker).unwrap() + "action=\"".len();
    let done = body[start..start + body[start..].find('"').unwrap()].to_owned();
    let (status, _, _) = app.post(&lead, &events, &done, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, body) = app.get(&lead, &ws).await;
    assert!(body.contains("No actions are open."));
});

on_both_backends!(
    self_assessments_are_scored_compared_exported_and_printed,
    |app| {
        let lead = app.sign_in("lead").await;
        let ws = app.start(&lead).await;
        let form = format!("{ws}/assessment/new");
        let (_, body) = app.get(&lead, &form).await;
        let items: Vec<String> = body
            .match_indices("name=\"score-")
            .map(|(i, _)| {
                let rest = &body[i + "name=\"".len()..];
                rest[..rest.find('"').unwrap()].to_owned()
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert!(items.len() > 15, "{items:?}");
        let mut fields: Vec<(&str, &str)> = vec![
            ("assessed-day", "1"),
            ("assessed-month", "6"),
            ("assessed-year", "2024"),
        ];
        // Everything but the first item scored: refused, naming what is missing, keeping the rest.
        for item in &items[1..] {
            fields.push((item.as_str(), "developing"));
        }
        fields.push(("evidence-governance", "A joint board meets monthly"));
        let (status, _, body) = app.post(&lead, &form, &form, &fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("There is a problem"));
        assert!(body.contains("A joint board meets monthly"));
        fields.push((items[0].as_str(), "not_started"));
        let (status, _, _) = app.post(&lead, &form, &form, &fields).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        // A year later, everything has moved on but the first item.
        let mut later: Vec<(&str, &str)> = vec![
            ("assessed-day", "1"),
            ("assessed-month", "6"),
            ("assessed-year", "2025"),
            (items[0].as_str(), "not_started"),
        ];
        for item in &items[1..] {
            later.push((item.as_str(), "established"));
        }
        let (status, location, _) = app.post(&lead, &form, &form, &later).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, body) = app.get(&lead, &location).await;
        assert!(
            body.contains("1 June 2024 compared with 1 June 2025"),
            "{body}"
        );
        assert!(body.contains("Moved forward"));
        assert!(body.contains("No change"));
        let plan = &body[body.find("data-testid=\"plan\"").unwrap()..];
        assert!(
            plan.contains("Not started"),
            "the lowest-scored item leads the plan"
        );

        let marker = format!("{ws}/assessment.csv?assessment=");
        let start = body.find(&marker).unwrap();
        let href = &body[start..start + body[start..].find('"').unwrap()];
        let r = lead
            .get(format!("{}{href}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let csv = r.text().await.unwrap();
        assert!(csv.starts_with("Assessed on,Section,Approach,Tier,Score,Evidence\r\n"));
        assert_eq!(csv.lines().count(), items.len() + 1);
        let marker = format!("{ws}/assessment/");
        let print = body
            .match_indices(&marker)
            .map(|(i, _)| &body[i..i + body[i..].find('"').unwrap()])
            .find(|h| h.ends_with("/print"))
            .unwrap()
            .to_owned();
        let (status, body) = app.get(&lead, &print).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Integration self-assessment, 1 June 2025"));
        let outsider = app.sign_in("outsider").await;
        assert_eq!(app.get(&outsider, &print).await.0, StatusCode::FORBIDDEN);
        let r = outsider
            .get(format!("{}{href}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
);
