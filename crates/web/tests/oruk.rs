//! The Open Referral UK 3.0 API over HTTP, on SQLite and PostgreSQL: every path in the OpenAPI
//! document answers, `/` describes the API to clients and is the home page to browsers, CORS lets
//! other sites read it, each filter answers as the directory crate's index does, and every answer
//! matches the standard's own schemas (with `format` checked).

#[macro_use]
mod support;
mod directory_app;

use careweave_directory::search::{Index, Query};
use careweave_directory::{demo, Need};
use careweave_domain::OrganisationKind;
use careweave_store::Backend;
use directory_app::*;
use reqwest::StatusCode;
use support::new_client;

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
