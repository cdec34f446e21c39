//! The community services directory over HTTP, on SQLite and PostgreSQL: the ORUK API answers its
//! filters as the directory crate's index does, every path in the OpenAPI document answers, and a
//! worker's search → signpost / refer → the provider accepts works through the real pages.

#[macro_use]
mod support;

use careweave_directory::search::{Index, Query};
use careweave_directory::{demo, Need, Service};
use careweave_domain::access::{Membership, Role};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, Sex};
use careweave_store::accounts::NewUser;
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use chrono::NaiveDate;
use reqwest::StatusCode;
use secrecy::SecretString;
use support::{new_client, Server, PASSWORD};

struct TestApp {
    server: Server,
    store: Store,
    person: PersonId,
    services: Vec<Service>,
    _db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

async fn org(store: &Store, name: &str, kind: OrganisationKind) -> OrganisationId {
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
    async fn spawn(backend: Backend) -> Self {
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

    async fn json(&self, path: &str) -> (StatusCode, serde_json::Value) {
        let r = new_client()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap())
    }

    async fn post(
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
    async fn preview(
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
    async fn import(
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
    fn first_postcode(&self) -> careweave_domain::Postcode {
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
    async fn api_ids(&self, path: &str, query: &str) -> Vec<String> {
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
fn confirm_path(page: &str) -> String {
    let marker = "action=\"/directory/import/";
    let start = page
        .find(marker)
        .expect("the preview offers a confirmation")
        + "action=\"".len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

on_both_backends!(every_path_in_the_openapi_document_answers, |app| {
    let (status, doc) = app.json("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    // scripts/test validates the document as served with an independent OpenAPI validator.
    if let Some(out) = std::env::var_os("CAREWEAVE_OPENAPI_OUT") {
        std::fs::write(
            std::path::Path::new(&out).join("directory.json"),
            serde_json::to_string_pretty(&doc).unwrap(),
        )
        .unwrap();
    }
    let flagship = app
        .services
        .iter()
        .find(|s| s.id.as_str() == demo::FLAGSHIP_ID)
        .unwrap();
    let sal = flagship.locations[0].id.to_string();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 10);
    for (path, item) in paths {
        let concrete = match path.as_str() {
            "/services/{id}" => format!("/services/{}", demo::FLAGSHIP_ID),
            "/service_at_locations/{id}" => format!("/service_at_locations/{sal}"),
            "/taxonomies/{id}" => "/taxonomies/careweave-needs".to_owned(),
            "/taxonomy_terms/{id}" => "/taxonomy_terms/food".to_owned(),
            p => p.to_owned(),
        };
        assert!(
            !concrete.contains('{'),
            "a path with a parameter is not covered: {path}"
        );
        // As an Open Referral UK client asks: `/` answers JSON only to a request for JSON.
        let r = new_client()
            .get(format!("{}{concrete}", app.base))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{concrete}");
        // The document's summary of each operation exists, so clients know what the path does.
        assert!(item["get"]["summary"].is_string(), "{path}");
    }
    let (status, body) = app.json("/services/no-such-service").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("not found"));
});

on_both_backends!(
    the_root_describes_the_api_to_oruk_clients_and_is_the_home_page_to_browsers,
    |app| {
        let r = new_client()
            .get(format!("{}/", app.base))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let about: serde_json::Value = r.json().await.unwrap();
        assert_eq!(about["version"], "3.0");
        let openapi = about["openapi_url"].as_str().unwrap();
        assert_eq!(openapi, format!("{}/openapi.json", app.base));
        let doc: serde_json::Value = new_client()
            .get(openapi)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["paths"]["/"]["get"]["operationId"] == "getAPIMetaInformation");
        // A client that accepts anything, or says nothing, is an ORUK client too; the address
        // is plain http on this plain-HTTP server even though cookies are marked secure by
        // default elsewhere.
        // (An empty header stands for none: reqwest always sends one.)
        for accept in ["*/*", "", "application/json, text/html;q=0.5"] {
            let r = reqwest::Client::new()
                .get(format!("{}/", app.base))
                .header(reqwest::header::ACCEPT, accept)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{accept:?}");
            let about: serde_json::Value = r.json().await.unwrap();
            assert_eq!(
                about["openapi_url"],
                format!("{}/openapi.json", app.base),
                "{accept:?}"
            );
        }
        // A browser asks for HTML and, not signed in, gets the public home page, which offers
        // the self-referral form and sign-in (issue 16, item 10).
        let r = new_client()
            .get(format!("{}/", app.base))
            .header(
                reqwest::header::ACCEPT,
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.text().await.unwrap();
        assert!(body.contains("Support in your neighbourhood"), "{body}");
        assert!(body.contains("href=\"/refer\"") && body.contains("href=\"/sign-in\""));
    }
);

on_both_backends!(
    a_browser_client_on_another_site_may_read_the_public_api,
    |app| {
        let origin = "https://finder.example.org";
        for path in ["/", "/services", "/taxonomy_terms", "/openapi.json"] {
            let r = reqwest::Client::new()
                .get(format!("{}{path}", app.base))
                .header(reqwest::header::ORIGIN, origin)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(
                r.headers()[reqwest::header::ACCESS_CONTROL_ALLOW_ORIGIN],
                "*",
                "{path}"
            );
            // The preflight a browser sends before a request with its own headers.
            let r = reqwest::Client::new()
                .request(reqwest::Method::OPTIONS, format!("{}{path}", app.base))
                .header(reqwest::header::ORIGIN, origin)
                .header(reqwest::header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
                .header(reqwest::header::ACCESS_CONTROL_REQUEST_HEADERS, "accept")
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            let allowed = r.headers()[reqwest::header::ACCESS_CONTROL_ALLOW_METHODS]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                allowed.contains("GET") && !allowed.contains("POST"),
                "{allowed}"
            );
        }
        // The pages behind sign-in are not opened to other sites.
        let r = reqwest::Client::new()
            .get(format!("{}/directory/referrals", app.base))
            .header(reqwest::header::ORIGIN, origin)
            .send()
            .await
            .unwrap();
        assert!(r
            .headers()
            .get(reqwest::header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
    }
);

on_both_backends!(the_api_answers_each_oruk_filter_as_the_index_does, |app| {
    let index = Index::new(app.services.clone());
    let postcode = app.first_postcode();
    let near = app.store.locate_postcode(&postcode).await.unwrap();
    let encoded = postcode.as_str().replace(' ', "+");
    let since = chrono::DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let cases: Vec<(String, Query)> = vec![
        (
            "search=befriending".into(),
            Query {
                text: Some("befriending".into()),
                ..Query::default()
            },
        ),
        (
            "taxonomy_term_id=food".into(),
            Query {
                taxonomy_term_id: Some("food".into()),
                ..Query::default()
            },
        ),
        (
            // An ORUK client names the term by the UUID the API publishes it under.
            format!(
                "taxonomy_term_id={}",
                careweave_directory::model::oruk_uuid("food")
            ),
            Query {
                taxonomy_term_id: Some("food".into()),
                ..Query::default()
            },
        ),
        (
            "taxonomy_id=careweave-access".into(),
            Query {
                taxonomy_id: Some("careweave-access".into()),
                ..Query::default()
            },
        ),
        (
            "minimum_age=18".into(),
            Query {
                minimum_age: Some(18),
                ..Query::default()
            },
        ),
        (
            "maximum_age=66".into(),
            Query {
                maximum_age: Some(66),
                ..Query::default()
            },
        ),
        (
            "age=70".into(),
            Query {
                age: Some(70),
                ..Query::default()
            },
        ),
        (
            format!("postcode={encoded}&proximity=2000"),
            Query {
                near,
                proximity_m: Some(2000.0),
                in_area: near,
                ..Query::default()
            },
        ),
        (
            "day=SA".into(),
            Query {
                day: Some(chrono::Weekday::Sat),
                ..Query::default()
            },
        ),
        (
            "day=tuesday&start_time=10:00&end_time=13:00".into(),
            Query {
                day: Some(chrono::Weekday::Tue),
                start_time: "10:00".parse().ok(),
                end_time: "13:00".parse().ok(),
                ..Query::default()
            },
        ),
        (
            "modified_after=2025-06-01T00:00:00Z".into(),
            Query {
                modified_after: Some(since),
                ..Query::default()
            },
        ),
        (
            "taxonomy_term_id=mental-health&day=TH".into(),
            Query {
                taxonomy_term_id: Some("mental-health".into()),
                day: Some(chrono::Weekday::Thu),
                ..Query::default()
            },
        ),
    ];
    for (query, expected) in cases {
        // The API publishes every id as a UUID (ORUK's `format: uuid`).
        let want: Vec<String> = index
            .search(&expected)
            .iter()
            .map(|h| h.service.id.uuid())
            .collect();
        assert!(
            !want.is_empty() || query.starts_with("maximum"),
            "the case {query} should select something"
        );
        let got = app.api_ids("/services", &query).await;
        assert_eq!(got, want, "{query}");
        assert!(
            got.len() < app.services.len() || query.starts_with("modified"),
            "{query} filters nothing"
        );
    }
    // The page object.
    let (_, page) = app.json("/services?per_page=7&page=2").await;
    assert_eq!(page["page_number"], 2);
    assert_eq!(page["size"], 7);
    assert_eq!(
        page["total_items"].as_u64().unwrap() as usize,
        app.services.len()
    );
    assert_eq!(page["first_page"], false);
    // Services at locations carry both the place and the service.
    let (_, sal) = app
        .json(&format!(
            "/service_at_locations?postcode={encoded}&proximity=1500"
        ))
        .await;
    let first = &sal["contents"][0];
    assert!(
        first["location"]["id"].is_string() && first["service"]["name"].is_string(),
        "{first}"
    );
    let (_, terms) = app
        .json("/taxonomy_terms?taxonomy_id=careweave-needs&per_page=100")
        .await;
    assert_eq!(
        terms["total_items"].as_u64().unwrap() as usize,
        Need::all().count()
    );
});

/// The Open Referral UK schemas, vendored from the standard (see the folder's README).
fn oruk_schema(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../directory/tests/data/oruk/schema")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is vendored: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Validators for each ORUK answer, built from the standard's own files: a page is the OpenAPI
/// document's `Page` with `contents` of the item schema the document names for that list.
struct OrukSchemas {
    root: jsonschema::Validator,
    service: jsonschema::Validator,
    service_page: jsonschema::Validator,
    service_at_location: jsonschema::Validator,
    service_at_location_page: jsonschema::Validator,
    taxonomy: jsonschema::Validator,
    taxonomy_page: jsonschema::Validator,
    term: jsonschema::Validator,
    term_page: jsonschema::Validator,
}

impl OrukSchemas {
    fn load() -> Self {
        let openapi = oruk_schema("openapi.json");
        let term = oruk_schema("taxonomy_term.json");
        let mut taxonomy = oruk_schema("taxonomy.json");
        // The taxonomy schema names the term schema by its file name.
        support::inline_refs(&mut taxonomy, &|r| {
            (r == "taxonomy_term.json").then(|| term.clone())
        });
        let page = |item: &serde_json::Value| {
            let mut page = openapi["components"]["schemas"]["Page"].clone();
            page["properties"]["contents"] = serde_json::json!({ "type": "array", "items": item });
            page["required"] = serde_json::json!([
                "total_items",
                "total_pages",
                "page_number",
                "size",
                "first_page",
                "last_page",
                "empty",
                "contents"
            ]);
            support::validator(&page)
        };
        let service_list = oruk_schema("compiled/service_list.json");
        let sal_list = oruk_schema("compiled/service_at_location_list.json");
        Self {
            root: support::validator(
                &openapi["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]
                    ["schema"],
            ),
            service: support::validator(&oruk_schema("compiled/service.json")),
            service_page: page(&service_list),
            // ORUK's OpenAPI document names the service schema for this answer, though the
            // answer is a service at a location; the standard's own object schema is used.
            service_at_location: support::validator(&oruk_schema(
                "compiled/service_at_location.json",
            )),
            service_at_location_page: page(&sal_list),
            taxonomy: support::validator(&taxonomy),
            taxonomy_page: page(&taxonomy),
            term: support::validator(&term),
            term_page: page(&term),
        }
    }
}

/// Reads `path` as an ORUK client does and checks the answer against `schema`.
async fn checked(app: &TestApp, path: &str, schema: &jsonschema::Validator) -> serde_json::Value {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", app.base))
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let body: serde_json::Value = r.json().await.unwrap();
    let errors = support::schema_errors(schema, &body);
    assert!(errors.is_empty(), "{path}: {}", errors.join("\n"));
    body
}

on_both_backends!(every_oruk_answer_matches_the_standards_schemas, |app| {
    let s = OrukSchemas::load();
    // The format check is on: a readable id where ORUK says `format: uuid` fails.
    let mut readable = careweave_directory::oruk::api_service_json(&app.services[0]);
    let readable_value = serde_json::to_value(&readable).unwrap();
    assert!(support::schema_errors(&s.service, &readable_value).is_empty());
    readable.id = Some(demo::FLAGSHIP_ID.to_owned());
    let readable_value = serde_json::to_value(&readable).unwrap();
    assert!(
        !support::schema_errors(&s.service, &readable_value).is_empty(),
        "a readable id passed format: uuid"
    );

    checked(&app, "/", &s.root).await;
    let page = checked(&app, "/services?per_page=500", &s.service_page).await;
    assert_eq!(
        page["total_items"].as_u64().unwrap() as usize,
        app.services.len()
    );
    // Every service, fully nested, by the UUID the list gave.
    let ids: Vec<String> = page["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &ids {
        let service = checked(&app, &format!("/services/{id}"), &s.service).await;
        assert_eq!(service["id"], id.as_str());
    }
    let sals = checked(
        &app,
        "/service_at_locations?per_page=500",
        &s.service_at_location_page,
    )
    .await;
    for item in sals["contents"].as_array().unwrap().iter().take(20) {
        let id = item["id"].as_str().unwrap();
        checked(
            &app,
            &format!("/service_at_locations/{id}"),
            &s.service_at_location,
        )
        .await;
    }
    let taxonomies = checked(&app, "/taxonomies", &s.taxonomy_page).await;
    for t in taxonomies["contents"].as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        let taxonomy = checked(&app, &format!("/taxonomies/{id}"), &s.taxonomy).await;
        assert!(!taxonomy["taxonomy_terms"].as_array().unwrap().is_empty());
    }
    let terms = checked(&app, "/taxonomy_terms?per_page=500", &s.term_page).await;
    for t in terms["contents"].as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        let term = checked(&app, &format!("/taxonomy_terms/{id}"), &s.term).await;
        // The readable id stays available as the term's code, and still finds the term.
        let code = term["code"].as_str().unwrap();
        let (status, by_code) = app.json(&format!("/taxonomy_terms/{code}")).await;
        assert_eq!((status, &by_code["id"]), (StatusCode::OK, &term["id"]));
    }
    // The same record keeps the same UUID: ids are derived, not issued.
    assert_eq!(
        ids.iter()
            .filter(|id| **id == app.services[0].id.uuid())
            .count(),
        1
    );
});

on_both_backends!(ndjson_and_minimal_answer_as_the_standard_describes, |app| {
    let service_list = support::validator(&oruk_schema("compiled/service_list.json"));
    // `format=ndjson`: every matching service on its own line, without paging.
    let r = reqwest::Client::new()
        .get(format!("{}/services?format=ndjson&per_page=3", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let body = r.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), app.services.len(), "not paged");
    for line in &lines {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        let errors = support::schema_errors(&service_list, &item);
        assert!(errors.is_empty(), "{line}: {errors:?}");
    }
    let r = reqwest::Client::new()
        .get(format!("{}/service_at_locations?format=ndjson", app.base))
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    let sal_list = support::validator(&oruk_schema("compiled/service_at_location_list.json"));
    assert!(!body.is_empty());
    for line in body.lines() {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            support::schema_errors(&sal_list, &item).is_empty(),
            "{line}"
        );
    }
    // `minimal=true`: every service's id and modified date, in one answer.
    let (status, minimal) = app.json("/services?minimal=true&per_page=2").await;
    assert_eq!(status, StatusCode::OK);
    let minimal = minimal.as_array().expect("an array");
    assert_eq!(minimal.len(), app.services.len());
    let shape = support::validator(&serde_json::json!({
        "type": "object",
        "required": ["id", "modified_date"],
        "additionalProperties": false,
        "properties": {
            "id": { "type": "string", "format": "uuid" },
            "modified_date": { "type": "string", "format": "date-time" }
        }
    }));
    for item in minimal {
        assert!(support::schema_errors(&shape, item).is_empty(), "{item}");
    }
    // The filters still apply to both.
    let (_, food) = app
        .json("/services?minimal=true&taxonomy_term_id=food")
        .await;
    let (_, page) = app
        .json("/services?taxonomy_term_id=food&per_page=500")
        .await;
    assert_eq!(
        food.as_array().unwrap().len(),
        page["contents"].as_array().unwrap().len()
    );
    assert!(food.as_array().unwrap().len() < app.services.len());
    for (query, words) in [
        ("format=xml", "format 'xml' is not offered"),
        ("minimal=perhaps", "minimal must be true or false"),
    ] {
        let (status, body) = app.json(&format!("/services?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(body["error"].as_str().unwrap().contains(words), "{body}");
    }
});

on_both_backends!(
    a_postcode_alone_keeps_the_services_whose_area_covers_it,
    |app| {
        let postcode = app.first_postcode();
        let at = app.store.locate_postcode(&postcode).await.unwrap().unwrap();
        // A square boundary of about two kilometres around a point.
        let square = |lat: f64, lon: f64| {
            careweave_directory::Extent::from_geojson(&format!(
            r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}"#,
            w = lon - 0.015,
            e = lon + 0.015,
            s = lat - 0.01,
            n = lat + 0.01
        ))
        .unwrap()
        };
        let with_area = |id: &str, extent| {
            let mut s = app.services[0].clone();
            s.id = id.parse().unwrap();
            s.name = format!("Boundary test {id}");
            s.locations.clear();
            s.service_areas = vec![careweave_directory::model::ServiceArea {
                id: s.id.child("area-1"),
                name: "Around the centre".to_owned(),
                extent: Some(extent),
            }];
            s
        };
        let covering = with_area("covers-the-postcode", square(at.lat(), at.lon()));
        let elsewhere = with_area("covers-elsewhere", square(at.lat() + 0.3, at.lon()));
        let owner = org(&app.store, "Boundary Trust", OrganisationKind::Vcse).await;
        app.store
            .import_directory(None, owner, &[covering.clone(), elsewhere.clone()], "test")
            .await
            .unwrap();
        let encoded = postcode.as_str().replace(' ', "+");
        let ids = app
            .api_ids("/services", &format!("postcode={encoded}"))
            .await;
        assert!(ids.contains(&covering.id.uuid()), "the covering service");
        assert!(
            !ids.contains(&elsewhere.id.uuid()),
            "a service for elsewhere"
        );
        // Services whose areas have no boundary are not filtered out: the standard filters by area
        // only where one is available. They come nearest first.
        assert_eq!(ids.len(), app.services.len() + 1);
        let index = Index::new(app.services.clone());
        let nearest = index
            .search(&Query {
                near: Some(at),
                ..Query::default()
            })
            .first()
            .map(|h| h.service.id.uuid());
        assert_eq!(ids.first(), nearest.as_ref());
        // The service areas at locations answer the same way.
        let ids = app
            .api_ids("/service_at_locations", &format!("postcode={encoded}"))
            .await;
        assert!(!ids.is_empty());
        // The boundary is published as GeoJSON in the service's areas.
        let (_, s) = app.json(&format!("/services/{}", covering.id.uuid())).await;
        let area = &s["service_areas"][0];
        assert_eq!(area["extent_type"], "geojson");
        assert_eq!(
            careweave_directory::Extent::from_geojson(area["extent"].as_str().unwrap()).unwrap(),
            square(at.lat(), at.lon())
        );
    }
);

on_both_backends!(bad_filter_values_are_named_in_a_400, |app| {
    for (query, words) in [
        ("minimum_age=old", "minimum_age must be a whole number"),
        ("postcode=ZZ1+1ZZ", "not in the postcode table"),
        ("postcode=nowhere", "postcode"),
        ("proximity=500", "proximity needs a postcode"),
        ("day=someday", "is not a day"),
        ("start_time=25:00", "start_time"),
        ("modified_after=yesterday", "modified_after"),
        ("page=0", "page must be"),
    ] {
        let (status, body) = app.json(&format!("/services?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            body["error"].as_str().unwrap().contains(words),
            "{query}: {body}"
        );
    }
});

on_both_backends!(search_signpost_refer_and_the_provider_accepts, |app| {
    let worker = app.sign_in("worker").await;
    let pid = app.person.to_string();
    // From the person's record, the search starts at their postcode.
    let (status, body) = app.get(&worker, &format!("/directory?person={pid}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("Finding a service for EXAMPLE, Ada"),
        "{body}"
    );
    let (status, body) = app
        .get(
            &worker,
            &format!("/directory?person={pid}&q=Hillside+Befriending&postcode=&need=befriending"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Hillside Befriending Service"), "{body}");
    let service = format!("/directory/services/{}", demo::FLAGSHIP_ID);
    let (status, body) = app.get(&worker, &format!("{service}?person={pid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Signpost EXAMPLE, Ada") && body.contains("Refer EXAMPLE, Ada"),
        "{body}"
    );

    let token = app.csrf(&worker, &format!("{service}?person={pid}")).await;
    let r = app
        .post(
            &worker,
            &format!("{service}/signpost"),
            &[
                ("csrf_token", &token),
                ("person", &pid),
                ("note", "Gave the leaflet"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let summary = r.headers()["location"].to_str().unwrap().to_owned();
    let (status, body) = app.get(&worker, &summary).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("What it is") && body.contains("01632 960001"),
        "{body}"
    );
    // Someone outside the care team cannot read the summary.
    assert_eq!(
        app.get(&app.sign_in("colleague").await, &summary).await.0,
        StatusCode::FORBIDDEN
    );

    let r = app
        .post(
            &worker,
            &format!("{service}/refer"),
            &[
                ("csrf_token", &token),
                ("person", &pid),
                ("note", "Lonely since moving"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The provider sees what was sent and accepts; the record is not theirs while it waits, and
    // the waiting referral does not link to it.
    let provider = app.sign_in("provider").await;
    let (status, body) = app.get(&provider, "/directory/referrals").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Ada Example") && body.contains("Lonely since moving"),
        "{body}"
    );
    assert!(!body.contains(&format!("href=\"/people/{pid}")), "{body}");
    assert_eq!(
        app.get(&provider, &format!("/people/{pid}")).await.0,
        StatusCode::FORBIDDEN
    );
    let marker = "action=\"/directory/referrals/";
    let start = body.find(marker).unwrap() + marker.len();
    let referral = &body[start..start + body[start..].find('"').unwrap()];
    let ptoken = app.csrf(&provider, "/directory/referrals").await;
    let r = app
        .post(
            &provider,
            &format!("/directory/referrals/{referral}"),
            &[
                ("csrf_token", &ptoken),
                ("decision", "accept"),
                ("note", "Volunteer matched"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Having accepted, the provider is giving the support: the person is listed as accepted and
    // their record stays open to the provider.
    let (_, body) = app.get(&provider, "/directory/referrals").await;
    let accepted = &body[body.find("Accepted by your organisation").unwrap()..];
    assert!(
        accepted.contains(&format!("href=\"/people/{pid}\">Ada Example</a>")),
        "{body}"
    );
    assert_eq!(
        app.get(&provider, &format!("/people/{pid}")).await.0,
        StatusCode::OK
    );

    let (_, body) = app.get(&worker, &format!("/people/{pid}/directory")).await;
    assert!(
        body.contains("Accepted") && body.contains("Volunteer matched"),
        "{body}"
    );
    // A signposting-only service offers no referral, and refuses one sent by hand.
    let plain = app.services.iter().find(|s| !s.accepts_referrals).unwrap();
    let r = app
        .post(
            &worker,
            &format!("/directory/services/{}/refer", plain.id),
            &[("csrf_token", &token), ("person", &pid), ("note", "x")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("does not take direct referrals"));
});

on_both_backends!(unmet_needs_reach_the_gaps_report_suppressed, |app| {
    let worker = app.sign_in("worker").await;
    let (status, body) = app
        .get(&worker, "/directory?q=underwater+basket+weaving&need=food")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Record an unmet need"), "{body}");
    let token = app.csrf(&worker, "/directory").await;
    for _ in 0..9 {
        let r = app
            .post(
                &worker,
                "/directory/unmet-needs",
                &[("csrf_token", &token), ("need", "food"), ("area", "RV1")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = app
        .post(
            &worker,
            "/directory/unmet-needs",
            &[("csrf_token", &token), ("need", "housing"), ("area", "RV2")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let commissioner = app.sign_in("commissioner").await;
    let (status, body) = app.get(&commissioner, "/directory/gaps").await;
    assert_eq!(status, StatusCode::OK);
    // Nine becomes 10; one is hidden; the total of ten raw needs is 10.
    assert!(body.contains(">10<"), "{body}");
    assert!(body.contains("7 or fewer"));
    assert!(
        body.contains("data-testid=\"gaps-total\"><strong>10</strong>"),
        "{body}"
    );
    assert_eq!(
        app.get(&app.sign_in("analyst").await, "/directory/gaps")
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&worker, "/directory/gaps").await.0,
        StatusCode::FORBIDDEN
    );
});

on_both_backends!(
    an_admin_never_imports_over_another_organisations_entries,
    |app| {
        let admin = app.sign_in("admin").await;
        let orgs = app.store.organisations().await.unwrap();
        let id_of = |name: &str| orgs.iter().find(|o| o.name == name).unwrap().id;
        let (charity, hillside) = (
            id_of("Riverside Community Trust"),
            id_of("Hillside Wellbeing Network"),
        );
        let flagship = app
            .store
            .directory_service(demo::FLAGSHIP_ID)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(flagship.owner, hillside);
        // The form offers only the organisations the admin administers.
        let (_, page) = app.get(&admin, "/directory/import").await;
        assert!(
            page.contains(&format!("<option value=\"{charity}\"")),
            "{page}"
        );
        assert!(
            !page.contains(&format!("<option value=\"{hillside}\"")),
            "{page}"
        );

        // Naming another organisation as the owner is refused: a form field grants nothing.
        let sheet = format!(
            "id,organization_id,organization_name,name,needs,opening_times\n\
         {},o9,Riverside Community Trust,Taken over,social-groups,TU 12:00-14:00\n",
            demo::FLAGSHIP_ID
        );
        let token = app.csrf(&admin, "/directory/import").await;
        let hillside_text = hillside.to_string();
        let r = app.import(&admin, &token, &hillside_text, &sheet).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Importing as their own organisation, the entry Hillside keeps is refused by name, and it
        // keeps its content, owner and provider (so its referrals still go to Hillside).
        let charity_text = charity.to_string();
        let r = app.import(&admin, &token, &charity_text, &sheet).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.text().await.unwrap();
        assert!(
            body.contains("Read 1 records: 0 added, 0 updated, 1 refused."),
            "{body}"
        );
        assert!(
            body.contains(&format!(
                "line 2 ({}), id: this service is kept by Hillside Wellbeing Network",
                demo::FLAGSHIP_ID
            )),
            "{body}"
        );
        assert_eq!(
            app.store
                .directory_service(demo::FLAGSHIP_ID)
                .await
                .unwrap()
                .unwrap(),
            flagship
        );
    }
);

on_both_backends!(pages_and_answers_are_not_stored_but_assets_are, |app| {
    let worker = app.sign_in("worker").await;
    let person = format!("/people/{}", app.person);
    for path in ["/directory", person.as_str(), "/directory/referrals"] {
        let r = worker
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    }
    for path in ["/services", "/sign-in", "/directory/export.csv"] {
        let r = new_client()
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    }
    // The stylesheet is cached, and asks no other host for anything (the CSP would block it).
    let r = new_client()
        .get(format!("{}/assets/nhsuk-frontend.min.css", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "public, max-age=86400");
    let css = r.text().await.unwrap();
    assert!(css.contains(".nhsuk-header"));
    assert!(!css.contains("url(http") && !css.contains("assets.nhs.uk"));
});

on_both_backends!(
    a_large_import_is_read_and_an_oversized_body_is_told_the_limit,
    |app| {
        let admin = app.sign_in("admin").await;
        let orgs = app.store.organisations().await.unwrap();
        let charity = orgs
            .iter()
            .find(|o| o.name == "Riverside Community Trust")
            .unwrap()
            .id
            .to_string();
        // Over the 1 MB the CSRF layer used to buffer: read, not taken for an expired form.
        let mut sheet =
            String::from("id,organization_id,organization_name,name,needs,opening_times\n");
        for i in 0..20_000 {
            sheet.push_str(&format!(
                "big-{i},o9,Big Group,Lunch club number {i},social-groups,TU 12:00-14:00\n"
            ));
        }
        assert!(sheet.len() > 1_200_000);
        let token = app.csrf(&admin, "/directory/import").await;
        let r = app.import(&admin, &token, &charity, &sheet).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.text().await.unwrap();
        assert!(
            body.contains("Read 20000 records: 20000 added"),
            "{}",
            &body[..500.min(body.len())]
        );

        // Over the import limit: 413 with a page that names the limit, not a CSRF error.
        let huge = "x".repeat(21 * 1024 * 1024);
        let r = app.import(&admin, &token, &charity, &huge).await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body = r.text().await.unwrap();
        assert!(body.contains("An import can be up to 20 MB"), "{body}");
        assert!(!body.contains("expired"));
        // Any other form keeps the ordinary limit, and says it.
        let big = "x".repeat(3 * 1024 * 1024);
        let r = app
            .post(
                &admin,
                "/directory/settings",
                &[("csrf_token", &token), ("stale_after_days", &big)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("A form can send up to 2 MB"));
    }
);

on_both_backends!(admins_import_and_export_and_roles_see_their_pages, |app| {
    let admin = app.sign_in("admin").await;
    let token = app.csrf(&admin, "/directory/import").await;
    let (_, page) = app.get(&admin, "/directory/import").await;
    // The first option is the empty "Select an organisation"; take the first real one.
    let marker = "<option value=\"";
    let first = page.find(marker).unwrap() + marker.len();
    let owner_start = first + page[first..].find(marker).unwrap() + marker.len();
    let owner = &page[owner_start..owner_start + page[owner_start..].find('"').unwrap()];
    let csv = "id,organization_id,organization_name,name,needs,opening_times\n\
               new-1,o9,New Group,New lunch club,social-groups,TU 12:00-14:00\n\
               new-2,o9,New Group,Bad one,astrology,TU 14:00-12:00\n";
    let r = app.import(&admin, &token, owner, csv).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Read 2 records: 1 added, 0 updated, 1 refused."),
        "{body}"
    );
    assert!(
        body.contains("line 3 (new-2), needs: unknown taxonomy term"),
        "{body}"
    );
    assert!(body.contains("line 3 (new-2), opening_times"), "{body}");
    assert_eq!(app.json("/services/new-1").await.0, StatusCode::OK);

    // The exports read back into the same directory.
    let feed = new_client()
        .get(format!("{}/directory/export.json", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let table = app
        .store
        .postcode_table_for(&careweave_directory::postcodes_in(
            careweave_directory::Format::Json,
            &feed,
        ))
        .await
        .unwrap();
    let back = careweave_directory::oruk::parse_feed(&feed, Some(&table), chrono::Utc::now());
    assert_eq!(
        (back.accepted.len(), back.rejected),
        (app.services.len() + 1, 0)
    );
    let sheet = new_client()
        .get(format!("{}/directory/export.csv", app.base))
        .send()
        .await
        .unwrap();
    assert!(sheet.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let sheet = sheet.text().await.unwrap();
    let back =
        careweave_directory::spreadsheet::parse_csv(&sheet, Some(&table), chrono::Utc::now());
    assert_eq!(
        (back.accepted.len(), back.rejected),
        (app.services.len() + 1, 0)
    );

    for (user, allowed, refused) in [
        (
            "worker",
            &["/directory", "/directory/referrals", "/directory/review"][..],
            &["/directory/gaps", "/directory/import"][..],
        ),
        (
            "referrer",
            &["/directory", "/directory/referrals"][..],
            &["/directory/review", "/directory/import"][..],
        ),
        (
            "commissioner",
            &["/directory/gaps"][..],
            &["/directory", "/directory/import"][..],
        ),
        (
            "admin",
            &["/directory/import", "/directory/review"][..],
            &["/directory", "/directory/gaps"][..],
        ),
    ] {
        let client = app.sign_in(user).await;
        for path in allowed {
            assert_eq!(
                app.get(&client, path).await.0,
                StatusCode::OK,
                "{user} {path}"
            );
        }
        for path in refused {
            assert_eq!(
                app.get(&client, path).await.0,
                StatusCode::FORBIDDEN,
                "{user} {path}"
            );
        }
    }
});

/// Posts a form with a file to the import page, encoded as a browser sends it
/// (`multipart/form-data`): the text `fields` and one file named `file.0` holding `file.1`.
async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    fields: &[(&str, &str)],
    file: (&str, &str),
) -> reqwest::Response {
    let (content_type, body) = multipart_body(fields, file);
    client
        .post(format!("{}/directory/import", app.base))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn multipart_body(fields: &[(&str, &str)], file: (&str, &str)) -> (String, String) {
    let boundary = "----careweave-test-boundary";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
         Content-Type: text/csv\r\n\r\n{}\r\n--{boundary}--\r\n",
        file.0, file.1
    ));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

on_both_backends!(
    an_uploaded_file_is_previewed_and_published_only_when_confirmed,
    |app| {
        // Issue 16, item 12: a file upload with a preview of what will be added, changed and
        // refused; nothing is published before the admin confirms, and a preview confirms once.
        let admin = app.sign_in("admin").await;
        let token = app.csrf(&admin, "/directory/import").await;
        let orgs = app.store.organisations().await.unwrap();
        let charity = orgs
            .iter()
            .find(|o| o.name == "Riverside Community Trust")
            .unwrap()
            .id;
        let kept = app
            .store
            .directory_services()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.owner == charity)
            .expect("the charity keeps an entry");
        let sheet = format!(
            "id,organization_id,organization_name,name,needs,opening_times\n\
             upload-1,o9,Upload Group,Uploaded lunch club,social-groups,TU 12:00-14:00\n\
             {},o9,Riverside Community Trust,Renamed by the upload,social-groups,TU 12:00-14:00\n\
             {},o9,Riverside Community Trust,Taken over,social-groups,TU 12:00-14:00\n\
             upload-2,o9,Upload Group,Bad one,astrology,TU 12:00-14:00\n",
            kept.service.id,
            demo::FLAGSHIP_ID
        );
        let charity_text = charity.to_string();
        // A spreadsheet saved as "CSV UTF-8" starts with a byte order mark.
        let file = format!("\u{feff}{sheet}");
        let fields = [
            ("csrf_token", token.as_str()),
            ("format", "csv"),
            ("owner", &charity_text),
            ("content", ""),
        ];
        let upload_file = || {
            upload(
                &app,
                &admin,
                &fields,
                ("C:\\Users\\alex\\services.csv", &file),
            )
        };
        let r = upload_file().await;
        assert_eq!(r.status(), StatusCode::OK);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("services.csv, for Riverside Community Trust: read 4 records"),
            "{page}"
        );
        assert!(
            !page.contains("C:\\Users"),
            "only the file's own name is shown"
        );
        for (field, count) in [("added", 1), ("changed", 1), ("refused", 2)] {
            assert!(
                page.contains(&format!("data-testid=\"preview-{field}\">{count}<")),
                "{field}: {page}"
            );
        }
        assert!(page.contains("Uploaded lunch club"));
        assert!(page.contains("this service is kept by Hillside Wellbeing Network"));
        assert!(page.contains("needs: unknown taxonomy term"));
        // Nothing is published by the preview.
        assert!(app
            .store
            .directory_service("upload-1")
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            app.store
                .directory_service(kept.service.id.as_str())
                .await
                .unwrap()
                .unwrap()
                .service
                .name,
            kept.service.name
        );

        // A newer preview replaces the first, whose confirmation then publishes nothing.
        let first = confirm_path(&page);
        let again = upload_file().await.text().await.unwrap();
        let second = confirm_path(&again);
        assert_ne!(first, second);
        let r = app.post(&admin, &first, &[("csrf_token", &token)]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("no longer waiting"));
        assert!(app
            .store
            .directory_service("upload-1")
            .await
            .unwrap()
            .is_none());

        let r = app.post(&admin, &second, &[("csrf_token", &token)]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let done = r.text().await.unwrap();
        assert!(
            done.contains("Read 4 records: 1 added, 1 updated, 2 refused."),
            "{done}"
        );
        assert!(app
            .store
            .directory_service("upload-1")
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            app.store
                .directory_service(kept.service.id.as_str())
                .await
                .unwrap()
                .unwrap()
                .service
                .name,
            "Renamed by the upload"
        );
        // Confirming twice publishes once: the second is told the import is gone.
        let r = app.post(&admin, &second, &[("csrf_token", &token)]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // No file and nothing pasted: the form comes back with the error and the choices kept.
        let r = upload(
            &app,
            &admin,
            &[
                ("csrf_token", &token),
                ("format", "json"),
                ("owner", &charity_text),
            ],
            ("", ""),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        assert!(page.contains("Choose a file to upload, or paste its contents"));
        assert!(page.contains("value=\"json\" checked"));
        // A multipart form without the CSRF token is refused before the handler.
        let r = upload(
            &app,
            &admin,
            &[("format", "csv"), ("owner", &charity_text)],
            ("a.csv", &sheet),
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
);

on_both_backends!(
    administrators_keep_the_directory_true_and_review_changes,
    |app| {
        // Issue 16, item 12: the admin who imports the directory's data reviews it too, instead of
        // a 403 on /directory/review.
        let provider_id = app
            .store
            .verify_password("provider@test", &SecretString::from(PASSWORD.to_owned()))
            .await
            .unwrap()
            .unwrap();
        let provider = app.store.principal(provider_id).await.unwrap();
        let mut proposed = app
            .store
            .directory_service(demo::FLAGSHIP_ID)
            .await
            .unwrap()
            .unwrap()
            .service;
        proposed.name = "Hillside Befriending (new name)".into();
        let id = app
            .store
            .propose_edit(&provider, &proposed, "New name from April")
            .await
            .unwrap();
        let admin = app.sign_in("admin").await;
        let (status, page) = app.get(&admin, "/directory/review").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Changes waiting for review"), "{page}");
        assert!(page.contains("New name from April"));
        assert!(page.contains("href=\"/directory/import\">Back to directory data"));
        let token = app.csrf(&admin, "/directory/review").await;
        let r = app
            .post(
                &admin,
                &format!("/directory/proposals/{id}"),
                &[("csrf_token", &token), ("decision", "approve")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            app.store
                .directory_service(demo::FLAGSHIP_ID)
                .await
                .unwrap()
                .unwrap()
                .service
                .name,
            "Hillside Befriending (new name)"
        );
        // The import page links the review page for the admin.
        let (_, page) = app.get(&admin, "/directory/import").await;
        assert!(page.contains("href=\"/directory/review\""));
    }
);
