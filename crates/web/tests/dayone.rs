//! Day one for real teams (issue 16) over HTTP, on SQLite and PostgreSQL: finding a person (only
//! whom the searcher may read, the same answer for others as for nobody, paged), the registry
//! lookup of the referral form, the manager role, the practice-scoped population profile, the
//! referral from a worklist row, the "My cases" filter, and every menu item of every role
//! answering 200.

#[macro_use]
mod support;

use careweave_domain::access::{Membership, Role};
use careweave_domain::casework::{EligibilityRule, ReviewInterval, ServiceKind};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, PlaceLevel, Sex};
use careweave_store::accounts::NewUser;
use careweave_store::audit::AuditFilter;
use careweave_store::casework::CaseworkSettings;
use careweave_store::people::{NewOrganisation, NewPerson, NewPlace};
use careweave_store::population::{CriterionRow, PopulationLoad, ProfileCell, WorklistRow};
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use chrono::NaiveDate;
use reqwest::StatusCode;
use secrecy::SecretString;
use support::{Server, PASSWORD};

/// A PCN with two practices (Riverside Y00001, Hillview Y00002) and a charity; Ada (Riverside) in
/// the charity worker's care; Bea (Riverside) found by the frailty worklist; Cy (Hillview) known
/// to nobody; and one account per role: `worker` and `colleague` (charity), `pcnworker` (PCN,
/// runs Focused Care), `supervisor` (charity), `gp` (referrer at Riverside), `manager` (PCN),
/// `analyst`, `commissioner`, `admin`.
struct TestApp {
    server: Server,
    store: Store,
    ada: PersonId,
    bea: PersonId,
    cy: PersonId,
    _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

const ADA_NHS: &str = "9434765919";
const BEA_NHS: &str = "9434765870";
const CY_NHS: &str = "9434765862";

fn cell(level: &str, place: &str, name: &str, people: i64) -> ProfileCell {
    ProfileCell {
        level: level.into(),
        place: place.into(),
        place_name: Some(name.into()),
        dimension: "segment".into(),
        category: "Long-term frailty".into(),
        people: Some(people),
        emergency_admissions: None,
        ae_attendances: None,
        gp_appointments: None,
        bed_days: None,
        cost: None,
    }
}

impl TestApp {
    async fn spawn(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let place = store
            .insert_place(&NewPlace {
                level: PlaceLevel::Pcn,
                code: "U99000".into(),
                name: "Riverside PCN".into(),
                parent: None,
                imd_decile: None,
            })
            .await
            .unwrap();
        let org = |name: &str, kind, ods: Option<&str>, in_pcn: bool| NewOrganisation {
            name: name.into(),
            kind,
            ods_code: ods.map(|c| c.parse().unwrap()),
            place: in_pcn.then_some(place),
        };
        let mut ids = Vec::new();
        for o in [
            org(
                "Riverside Surgery",
                OrganisationKind::GpPractice,
                Some("Y00001"),
                true,
            ),
            org(
                "Hillview Surgery",
                OrganisationKind::GpPractice,
                Some("Y00002"),
                true,
            ),
            org("Riverside PCN", OrganisationKind::Pcn, Some("U99000"), true),
            org(
                "Riverside Community Trust",
                OrganisationKind::Vcse,
                None,
                false,
            ),
            org("Example ICB", OrganisationKind::Icb, Some("QXX"), false),
        ] {
            ids.push(store.insert_organisation(&o).await.unwrap());
        }
        let [riverside, hillview, pcn, charity, icb] = ids[..] else {
            unreachable!()
        };
        for (name, role, at) in [
            ("worker", Role::Worker, charity),
            ("colleague", Role::Worker, charity),
            ("pcnworker", Role::Worker, pcn),
            ("supervisor", Role::Supervisor, charity),
            ("gp", Role::Referrer, riverside),
            ("manager", Role::Manager, pcn),
            ("analyst", Role::Analyst, icb),
            ("commissioner", Role::Commissioner, icb),
            ("admin", Role::Admin, pcn),
        ] {
            store
                .create_user(NewUser {
                    username: format!("{name}@test"),
                    display_name: format!("Test {name}"),
                    password: SecretString::from(PASSWORD.to_owned()),
                    memberships: vec![Membership {
                        organisation: at,
                        role,
                    }],
                })
                .await
                .unwrap();
        }
        let service = store
            .insert_service("Focused Care", pcn, None, "Focused Care")
            .await
            .unwrap();
        store
            .add_casework_settings(
                service,
                &CaseworkSettings {
                    kind: ServiceKind::FocusedCare,
                    rule: EligibilityRule::Open,
                    review_interval: ReviewInterval::days(92).unwrap(),
                    worker_cap: Some(20),
                    practice_cap: Some(20),
                    partners: vec![],
                },
            )
            .await
            .unwrap();
        let register = |nhs: &str, given: &str, family: &str, practice: OrganisationId| NewPerson {
            nhs_number: nhs.parse::<NhsNumber>().unwrap(),
            given_name: given.into(),
            family_name: family.into(),
            date_of_birth: NaiveDate::from_ymd_opt(1950, 5, 17).unwrap(),
            sex: Sex::Female,
            postcode: None,
            lsoa: None,
            imd_decile: None,
            registered_practice: practice,
            household: None,
            date_of_death: None,
        };
        let ada = store
            .register_person(
                None,
                &register(ADA_NHS, "Ada", "Example", riverside),
                "test",
            )
            .await
            .unwrap();
        let bea = store
            .register_person(None, &register(BEA_NHS, "Bea", "Sample", riverside), "test")
            .await
            .unwrap();
        let cy = store
            .register_person(None, &register(CY_NHS, "Cy", "Example", hillview), "test")
            .await
            .unwrap();
        let worker = user(&store, "worker").await;
        store
            .add_to_care_team(
                None,
                ada,
                worker,
                charity,
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            )
            .await
            .unwrap();
        store
            .load_population(
                None,
                &PopulationLoad {
                    index_date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                    disclosure_control: true,
                    cohorts: vec![("frailty".into(), "Moderate or severe frailty".into())],
                    criteria: vec![CriterionRow {
                        cohort: "frailty".into(),
                        name: "moderate_frailty".into(),
                        description: "Moderate frailty on the electronic frailty index".into(),
                    }],
                    profiles: vec![
                        cell("pcn", "U99000", "Riverside PCN", 300),
                        cell("practice", "Y00001", "Riverside Surgery", 200),
                        cell("practice", "Y00002", "Hillview Surgery", 100),
                        cell("lsoa", "E01000001", "Riverside 001A", 50),
                    ],
                    worklist: vec![WorklistRow {
                        practice: Some("Y00001".into()),
                        ..WorklistRow::found(
                            "frailty",
                            BEA_NHS.parse().unwrap(),
                            "moderate_frailty",
                        )
                    }],
                },
            )
            .await
            .unwrap();
        let server = Server::start(&db, store.clone()).await;
        Self {
            server,
            store,
            ada,
            bea,
            cy,
            _db: db,
        }
    }

    /// The "People" section of a search's answer: the part that could say something about a
    /// person.
    async fn people_found(&self, who: &str, q: &str) -> String {
        let client = self.sign_in(who).await;
        let (status, body) = self
            .get(&client, &format!("/find?q={}", urlencode(q)))
            .await;
        assert_eq!(status, StatusCode::OK, "{who} {q}: {body}");
        let start = body
            .find("id=\"people-results\"")
            .expect("a results section");
        let end = body[start..]
            .find("</main>")
            .map_or(body.len(), |e| start + e);
        body[start..end].to_owned()
    }
}

async fn user(store: &Store, name: &str) -> careweave_domain::UserId {
    store
        .verify_password(
            &format!("{name}@test"),
            &SecretString::from(PASSWORD.to_owned()),
        )
        .await
        .unwrap()
        .unwrap()
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_owned()
}

/// Every `href="…"` in the header's navigation.
fn header_links(body: &str) -> Vec<String> {
    let start = body.find("aria-label=\"Menu\"").expect("a menu");
    let end = start + body[start..].find("</nav>").unwrap();
    links(
        &body[start..end],
        "class=\"nhsuk-header__navigation-link\" href=\"",
    )
}

fn links(html: &str, marker: &str) -> Vec<String> {
    html.match_indices(marker)
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

on_both_backends!(a_search_finds_only_whom_the_searcher_may_read, |app| {
    // The worker finds Ada by name, by NHS number with or without spaces, and by date of birth.
    for q in [
        "ada",
        "Example",
        "ada exa",
        ADA_NHS,
        "943 476 5919",
        "17/5/1950",
    ] {
        let found = app.people_found("worker", q).await;
        assert!(
            found.contains(&format!("href=\"/people/{}\"", app.ada)),
            "{q}: {found}"
        );
        // Cy Example and Bea share the name or the birthday, but the worker may read neither.
        assert!(!found.contains(&format!("/people/{}\"", app.cy)), "{q}");
        assert!(!found.contains(&format!("/people/{}\"", app.bea)), "{q}");
        assert!(!found.contains("Hillview"), "{q}");
    }
    // A colleague in the same charity, outside Ada's care team, is told the same about Ada as
    // about a number nobody has.
    let about_ada = app.people_found("colleague", ADA_NHS).await;
    let about_nobody = app.people_found("colleague", "9434765927").await;
    assert_eq!(about_ada, about_nobody);
    assert!(about_ada.contains("No one you may open matches"));
    assert!(!about_ada.contains("Example"));
    // The PCN's worker reads Bea because their practice's worklist found her, and not Ada.
    let found = app.people_found("pcnworker", "17 May 1950").await;
    assert!(
        found.contains(&format!("href=\"/people/{}\"", app.bea)),
        "{found}"
    );
    assert!(!found.contains(&format!("/people/{}\"", app.ada)));
    // Every search is audited, without what was searched for.
    let rows = app
        .store
        .audit_entries(&AuditFilter {
            entity: Some("person_search".into()),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(rows.len() >= 9, "{rows:?}");
    assert!(rows
        .iter()
        .all(|r| !r.reason.contains(ADA_NHS) && !r.reason.to_lowercase().contains("ada")));
});

on_both_backends!(a_search_is_paged_and_says_what_it_could_not_read, |app| {
    let worker = user(&app.store, "worker").await;
    let practice = app
        .store
        .organisations()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name == "Riverside Surgery")
        .unwrap()
        .id;
    let numbers: Vec<String> = (9_000_000_000_u64..)
        .map(|n| n.to_string())
        .filter(|s| s.parse::<NhsNumber>().is_ok())
        .take(25)
        .collect();
    for (i, nhs) in numbers.iter().enumerate() {
        let person = app
            .store
            .register_person(
                None,
                &NewPerson {
                    nhs_number: nhs.parse().unwrap(),
                    given_name: format!("Pat{}", char::from(b'a' + u8::try_from(i).unwrap())),
                    family_name: "Paged".into(),
                    date_of_birth: NaiveDate::from_ymd_opt(1960, 1, 1).unwrap(),
                    sex: Sex::Male,
                    postcode: None,
                    lsoa: None,
                    imd_decile: None,
                    registered_practice: practice,
                    household: None,
                    date_of_death: None,
                },
                "test",
            )
            .await
            .unwrap();
        let charity = app.store.principal(worker).await.unwrap().memberships[0].organisation;
        app.store
            .add_to_care_team(
                None,
                person,
                worker,
                charity,
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            )
            .await
            .unwrap();
    }
    let client = app.sign_in("worker").await;
    let (_, first) = app.get(&client, "/find?q=paged").await;
    assert!(first.contains("Showing 1 to 20 of 25 people"), "{first}");
    assert!(
        first.contains("href=\"/find?q=paged&#38;page=2\""),
        "{first}"
    );
    let (_, second) = app.get(&client, "/find?q=paged&page=2").await;
    assert!(second.contains("Showing 21 to 25 of 25 people"), "{second}");
    // What cannot be a search is said on the form, with what was typed kept.
    let (status, body) = app.get(&client, "/find?q=943+476+5918").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("Enter a real NHS number of 10 digits"),
        "{body}"
    );
    assert!(body.contains("value=\"943 476 5918\""));
    // The caseload and the waiting list filter the same way.
    let (_, mine) = app.get(&client, "/people?q=patd").await;
    assert!(mine.contains("PAGED, Patd"), "{mine}");
    assert!(!mine.contains("PAGED, Pate"));
    assert!(!mine.contains("EXAMPLE, Ada"));
    let (status, _) = app.get(&client, "/waiting-list?q=ada").await;
    assert_eq!(status, StatusCode::OK);
    // Those who read no record and refer nobody have no search.
    for who in ["analyst", "manager", "admin"] {
        let client = app.sign_in(who).await;
        assert_eq!(
            app.get(&client, "/find?q=ada").await.0,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
});

on_both_backends!(
    the_registry_lookup_fills_name_and_practice_only_on_a_full_match,
    |app| {
        let gp = app.sign_in("gp").await;
        let lookup = |nhs: &'static str, year: &'static str| {
            let gp = gp.clone();
            let app = &app;
            async move {
                app.post(
                    &gp,
                    "/referrals/new",
                    "/referrals/new",
                    &[
                        ("lookup", "yes"),
                        ("nhs_number", nhs),
                        ("dob-day", "17"),
                        ("dob-month", "5"),
                        ("dob-year", year),
                        ("contact", "07700 900 000"),
                    ],
                )
                .await
            }
        };
        let (status, _, body) = lookup("943 476 5919", "1950").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("Found in the registry"), "{body}");
        assert!(body.contains("value=\"Ada\"") && body.contains("value=\"Example\""));
        let riverside = app.store.organisations().await.unwrap();
        let riverside = riverside
            .iter()
            .find(|o| o.name == "Riverside Surgery")
            .unwrap();
        assert!(body.contains(&format!("value=\"{}\" selected", riverside.id.get())));
        assert!(
            body.contains("value=\"07700 900 000\""),
            "what was typed is kept"
        );
        // One of the two wrong, or a number nobody has: the same answer, and nothing filled in.
        for (nhs, year) in [("9434765919", "1951"), ("9434765927", "1950")] {
            let (status, _, body) = lookup(nhs, year).await;
            assert_eq!(status, StatusCode::OK);
            assert!(body.contains("No one in the registry has both"), "{body}");
            assert!(!body.contains("value=\"Ada\"") && !body.contains("Example"));
        }
        // A form that cannot be looked up says why.
        let (status, _, body) = lookup("12", "1950").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("There is a problem"), "{body}");
        // Audited: the match against the person, the misses against nobody.
        let rows = app
            .store
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                limit: 1000,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        let lookups: Vec<_> = rows
            .iter()
            .filter(|r| r.reason.starts_with("registry lookup"))
            .collect();
        assert_eq!(lookups.len(), 3, "{lookups:?}");
        assert!(
            lookups
                .iter()
                .any(|r| r.entity_id == Some(app.ada.get())
                    && r.reason.ends_with("name and practice"))
        );
        // Someone who may not refer is refused the form, lookup included.
        let analyst = app.sign_in("analyst").await;
        let (status, _, _) = app
            .post(
                &analyst,
                "/",
                "/referrals/new",
                &[("lookup", "yes"), ("nhs_number", ADA_NHS)],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
);

on_both_backends!(a_manager_reads_their_pcn_s_figures_and_no_record, |app| {
    let manager = app.sign_in("manager").await;
    for path in [
        "/population",
        "/population/worklists",
        "/casework/reports",
        "/workforce",
        "/evaluation",
        "/place",
        "/directory/gaps",
        "/menu/population",
    ] {
        let (status, body) = app.get(&manager, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (_, population) = app.get(&manager, "/population").await;
    assert!(population.contains("Riverside PCN"), "{population}");
    assert!(
        population.contains("Hillview Surgery"),
        "both practices of the PCN"
    );
    assert!(!population.contains("Riverside 001A"), "no small areas");
    let (_, worklists) = app.get(&manager, "/population/worklists/frailty").await;
    assert!(worklists.contains("943 476 5870"), "{worklists}");
    for person in [app.ada, app.bea] {
        let (status, _) = app.get(&manager, &format!("/people/{person}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.get(&manager, "/people").await.0, StatusCode::FORBIDDEN);
});

on_both_backends!(a_gp_sees_their_own_practice_s_profile_and_worklist, |app| {
    let gp = app.sign_in("gp").await;
    let (status, body) = app.get(&gp, "/population").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Riverside Surgery"), "{body}");
    assert!(!body.contains("Hillview Surgery"), "{body}");
    assert!(!body.contains("Riverside PCN"), "{body}");
    // Asking for another practice by its place shows the GP's own.
    let (_, other) = app.get(&gp, "/population?place=practice:Y00002").await;
    assert!(!other.contains("Hillview"), "{other}");
    let (status, list) = app.get(&gp, "/population/worklists/frailty").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("943 476 5870"), "{list}");
    // A charity's staff see no worklists and no population in their menu.
    let worker = app.sign_in("worker").await;
    let (_, home) = app.get(&worker, "/").await;
    assert!(!home.contains("href=\"/population/worklists\""), "{home}");
    assert_eq!(
        app.get(&worker, "/population").await.0,
        StatusCode::FORBIDDEN
    );
});

on_both_backends!(a_referral_from_a_worklist_row_is_filled_in, |app| {
    let pcnworker = app.sign_in("pcnworker").await;
    let (status, form) = app
        .get(
            &pcnworker,
            &format!(
                "/referrals/new?person={}&source=worklist&cohort=frailty",
                app.bea
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert!(
        form.contains("Found by the Moderate or severe frailty worklist: Moderate frailty on the electronic frailty index."),
        "{form}"
    );
    assert!(
        form.contains("Through their GP practice, Riverside Surgery"),
        "{form}"
    );
    assert!(form.contains(
        "id=\"share_detail-no\" name=\"share_detail\" type=\"radio\" value=\"no\" checked"
    ));
    assert!(
        form.contains("type=\"radio\" value=\"1\" checked")
            || form.contains("checked aria-describedby=\"service-"),
        "the only service is chosen: {form}"
    );
    // The prefilled form, with the person's agreement ticked, is accepted at the first send.
    let service = app.store.casework_services().await.unwrap()[0]
        .id
        .get()
        .to_string();
    let person = app.bea.to_string();
    let (status, location, body) = app
        .post(
            &pcnworker,
            "/referrals/new",
            "/referrals/new",
            &[
                ("person", &person),
                ("route", "worklist"),
                ("cohort", "frailty"),
                ("service", &service),
                ("nhs_number", "943 476 5870"),
                ("given_name", "Bea"),
                ("family_name", "Sample"),
                ("dob-day", "17"),
                ("dob-month", "5"),
                ("dob-year", "1950"),
                ("practice", &app.store.organisations().await.unwrap().iter().find(|o| o.name == "Riverside Surgery").unwrap().id.get().to_string()),
                ("contact", "Through their GP practice, Riverside Surgery, which holds their contact details"),
                ("source", "case_finding"),
                ("reason", "Found by the Moderate or severe frailty worklist: Moderate frailty on the electronic frailty index."),
                ("urgency", "routine"),
                ("consent", "yes"),
                ("share_detail", "no"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.starts_with("/referrals/"), "{location}");
});

on_both_backends!(every_menu_item_of_every_role_answers_200, |app| {
    for who in [
        "worker",
        "pcnworker",
        "supervisor",
        "gp",
        "manager",
        "analyst",
        "commissioner",
        "admin",
    ] {
        let client = app.sign_in(who).await;
        let (_, home) = app.get(&client, "/").await;
        let header = header_links(&home);
        assert!(header.len() <= 7, "{who} has a short header: {header:?}");
        let mut pages = Vec::new();
        for href in &header {
            let (status, body) = app.get(&client, href).await;
            assert_eq!(status, StatusCode::OK, "{who} {href}");
            if href.starts_with("/menu/") {
                pages.extend(links(&body, "class=\"nhsuk-card__link\" href=\""));
            }
        }
        for href in &pages {
            let (status, _) = app.get(&client, href).await;
            assert_eq!(status, StatusCode::OK, "{who} {href} (from a landing page)");
        }
        let all: Vec<&String> = header.iter().chain(&pages).collect();
        let has = |href: &str| all.iter().any(|h| *h == href);
        match who {
            "worker" | "supervisor" => assert!(!has("/population/worklists"), "{who}"),
            "pcnworker" | "gp" | "manager" => assert!(has("/population/worklists"), "{who}"),
            _ => {}
        }
        assert_eq!(
            has("/find"),
            ["worker", "pcnworker", "supervisor", "gp"].contains(&who),
            "{who}"
        );
        assert_eq!(
            has("/population"),
            who != "worker" && who != "admin",
            "{who}: {all:?}"
        );
    }
});

on_both_backends!(the_case_list_filter_finds_a_discharged_case, |app| {
    let worker = app.sign_in("worker").await;
    for status in ["open", "discharged", "all", "nonsense"] {
        let (code, body) = app.get(&worker, &format!("/cases?status={status}")).await;
        assert_eq!(code, StatusCode::OK, "{status}: {body}");
        assert!(body.contains("data-testid=\"case-filter\""));
    }
    let (_, body) = app.get(&worker, "/cases?status=discharged").await;
    assert!(
        body.contains("None of your cases was discharged in the last 90 days"),
        "{body}"
    );
});
