//! The directory's test application, shared by `directory.rs` (search, signpost, referral and
//! import through the pages) and `oruk.rs` (the Open Referral UK API): organisations, accounts, a
//! person and the demo directory on one server. Each file uses part of it, so unused items are
//! allowed here rather than in either file.
#![allow(dead_code)]

use crate::support::{new_client, Server, PASSWORD};
use careweave_directory::{demo, Service};
use careweave_domain::access::{Membership, Role};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, Sex};
use careweave_store::accounts::NewUser;
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use chrono::NaiveDate;
use reqwest::StatusCode;
use secrecy::SecretString;

pub struct TestApp {
    pub server: Server,
    pub store: Store,
    pub person: PersonId,
    pub services: Vec<Service>,
    pub _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

pub async fn org(store: &Store, name: &str, kind: OrganisationKind) -> OrganisationId {
    store
        .insert_organisation(&NewOrganisation {
            name: name.into(),
            kind,
            ods_code: None,
            place: None,
        })
        .await
        .unwrap()
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let practice = org(&store, "Riverside Surgery", OrganisationKind::GpPractice).await;
        let charity = org(&store, "Riverside Community Trust", OrganisationKind::Vcse).await;
        let hillside = org(&store, "Hillside Wellbeing Network", OrganisationKind::Vcse).await;
        let icb = org(&store, "Example ICB", OrganisationKind::Icb).await;
        for (name, role, at) in [
            ("worker", Role::Worker, charity),
            ("colleague", Role::Worker, charity),
            ("provider", Role::Worker, hillside),
            ("referrer", Role::Referrer, practice),
            ("analyst", Role::Analyst, icb),
            ("commissioner", Role::Commissioner, icb),
            ("admin", Role::Admin, charity),
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
        let d = demo::generate(
            5,
            120,
            &careweave_directory::PostcodeTable::new(),
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        )
        .unwrap();
        let person = store
            .register_person(
                None,
                &NewPerson {
                    nhs_number: "9434765919".parse::<NhsNumber>().unwrap(),
                    given_name: "Ada".into(),
                    family_name: "Example".into(),
                    date_of_birth: NaiveDate::from_ymd_opt(1950, 5, 17).unwrap(),
                    sex: Sex::Female,
                    postcode: Some(d.postcodes.entries()[0].0.clone()),
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
        let worker = store
            .verify_password("worker@test", &SecretString::from(PASSWORD.to_owned()))
            .await
            .unwrap()
            .unwrap();
        store
            .add_to_care_team(
                None,
                person,
                worker,
                charity,
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            )
            .await
            .unwrap();
        store.load_postcodes(&d.postcodes).await.unwrap();
        store
            .import_directory(None, charity, &d.services, "test")
            .await
            .unwrap();

        let server = Server::start(&db, store.clone()).await;
        Self {
            server,
            store,
            person,
            services: d.services,
            _db: db,
        }
    }

    pub async fn json(&self, path: &str) -> (StatusCode, serde_json::Value) {
        let r = new_client()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap())
    }

    pub async fn post(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts the import form as `owner` (an organisation id) with `content` pasted in: the
    /// preview, which publishes nothing.
    pub async fn preview(
        &self,
        client: &reqwest::Client,
        token: &str,
        owner: &str,
        content: &str,
    ) -> reqwest::Response {
        self.post(
            client,
            "/directory/import",
            &[
                ("csrf_token", token),
                ("format", "csv"),
                ("owner", owner),
                ("content", content),
            ],
        )
        .await
    }

    /// Previews `content` as `owner` and, when the preview offers it, confirms the import. Returns
    /// the preview's response when it was refused, else the confirmation's.
    pub async fn import(
        &self,
        client: &reqwest::Client,
        token: &str,
        owner: &str,
        content: &str,
    ) -> reqwest::Response {
        let r = self.preview(client, token, owner, content).await;
        if r.status() != StatusCode::OK {
            return r;
        }
        let page = r.text().await.unwrap();
        let confirm = confirm_path(&page);
        self.post(client, &confirm, &[("csrf_token", token)]).await
    }

    /// The postcode of the first demo service that has a place.
    pub fn first_postcode(&self) -> careweave_domain::Postcode {
        self.services
            .iter()
            .find_map(|s| {
                s.locations
                    .iter()
                    .find_map(|l| l.location.postcode().cloned())
            })
            .unwrap()
    }

    /// Every service id the API returns for `query`, across all pages.
    pub async fn api_ids(&self, path: &str, query: &str) -> Vec<String> {
        let mut ids = Vec::new();
        for page in 1.. {
            let (status, body) = self
                .json(&format!("{path}?{query}&per_page=40&page={page}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            for item in body["contents"].as_array().unwrap() {
                ids.push(item["id"].as_str().unwrap().to_owned());
            }
            if body["last_page"].as_bool().unwrap() {
                break;
            }
        }
        ids
    }
}

/// The address of the preview's "Confirm and import" form.
pub fn confirm_path(page: &str) -> String {
    let marker = "action=\"/directory/import/";
    let start = page
        .find(marker)
        .expect("the preview offers a confirmation")
        + "action=\"".len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}
