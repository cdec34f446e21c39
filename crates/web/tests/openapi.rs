//! careweave's three OpenAPI documents (casework, supervision and the ORUK directory) describe what
//! their operations answer: every path parameter is declared, every operation declares a schema
//! for each successful answer (and for every answer with a body), and every schema compiles.
//! `scripts/validate-openapi` checks the documents against the OpenAPI specification itself, and
//! `support::check_documented` checks a real answer against these schemas.

// Only the schema helpers of the shared test module are used here, not its server.
#[allow(dead_code, unused_macros)]
mod support;

const DIRECTORY: &str = include_str!("../templates/directory/openapi.json");

fn documents() -> Vec<(&'static str, serde_json::Value)> {
    let [casework, supervision] = support::API_DOCUMENTS;
    [
        ("casework", casework),
        ("supervision", supervision),
        ("directory", DIRECTORY),
    ]
    .into_iter()
    .map(|(name, text)| (name, serde_json::from_str(text).expect("valid JSON")))
    .collect()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[test]
fn every_operation_declares_its_path_parameters_and_response_schemas() {
    let mut operations = 0;
    for (name, doc) in documents() {
        let components = doc["components"]["schemas"].clone();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let wanted: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            for method in METHODS {
                let Some(op) = item.get(method) else {
                    continue;
                };
                operations += 1;
                let at = format!("{name}: {} {path}", method.to_uppercase());
                let declared: Vec<&str> = item["parameters"]
                    .as_array()
                    .into_iter()
                    .chain(op["parameters"].as_array())
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .map(|p| {
                        assert_eq!(p["required"], true, "{at}: path parameters are required");
                        p["name"].as_str().unwrap()
                    })
                    .collect();
                for w in &wanted {
                    assert!(
                        declared.contains(w),
                        "{at}: path parameter {w} is not declared"
                    );
                }
                let responses = op["responses"].as_object().unwrap();
                assert!(!responses.is_empty(), "{at}: no responses");
                assert!(
                    responses.keys().any(|c| c.starts_with('2')),
                    "{at}: no successful response"
                );
                for (code, response) in responses {
                    let content = response["content"].as_object();
                    if code.starts_with('2') {
                        assert!(content.is_some(), "{at} {code}: no content declared");
                    }
                    for (media, body) in content.into_iter().flatten() {
                        let mut schema = body["schema"].clone();
                        assert!(schema.is_object(), "{at} {code} {media}: no schema");
                        support::inline_refs(&mut schema, &|r| {
                            r.strip_prefix("#/components/schemas/")
                                .and_then(|n| components.get(n).cloned())
                        });
                        assert!(
                            !schema.to_string().contains("\"$ref\""),
                            "{at} {code} {media}: a reference does not resolve"
                        );
                        // Compiles, or the helper panics naming the problem.
                        support::validator(&schema);
                    }
                }
            }
        }
    }
    // 39 casework, 8 supervision and 11 directory operations.
    assert!(operations >= 58, "{operations} operations");
}

#[test]
fn an_answer_that_departs_from_its_document_is_caught() {
    // The check of an API answer against its document refuses a wrong shape and an unlisted
    // status, so it cannot pass by accident.
    let ok = serde_json::json!({ "themes": [{ "code": "falls", "label": "Falls" }] });
    support::check_documented("get", "/api/v1/events/themes", reqwest::StatusCode::OK, &ok);
    let wrong = serde_json::json!({ "themes": "falls" });
    let caught = std::panic::catch_unwind(|| {
        support::check_documented(
            "get",
            "/api/v1/events/themes",
            reqwest::StatusCode::OK,
            &wrong,
        );
    });
    assert!(caught.is_err(), "a wrong shape passed");
    let caught = std::panic::catch_unwind(|| {
        support::check_documented(
            "get",
            "/api/v1/events/7",
            reqwest::StatusCode::IM_A_TEAPOT,
            &serde_json::Value::Null,
        );
    });
    assert!(caught.is_err(), "an unlisted status passed");
}
