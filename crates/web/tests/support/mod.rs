//! What the HTTP test files share: serving a store on a free port, a cookie-keeping client that
//! does not follow redirects, the CSRF token of a page, signing in, and the macro that writes each
//! test once for both database backends. Each file keeps its own `TestApp` with the data its
//! tests need; `TestApp` dereferences to [`Server`] so `app.get(…)` reads the same everywhere.

use careweave_domain::clock::Clock;
use careweave_store::testing::TestDatabase;
use careweave_store::Store;
use careweave_web::{Application, Settings};
use reqwest::StatusCode;

/// The password of every test account.
// Each test file compiles this module on its own, and the operations test signs nobody in.
#[allow(dead_code)]
pub const PASSWORD: &str = "a long demo passphrase";

/// The real application serving one test database until dropped.
pub struct Server {
    pub base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// What a browser's `Accept` header says: HTML first, anything else after it.
pub const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A client that keeps cookies (the session and CSRF cookies), shows redirects to the test rather
/// than following them, and asks for HTML as a browser does (`/` answers an ORUK client's `*/*`
/// with the API's description, and a browser with the home page). A request may set its own
/// `Accept`.
pub fn new_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        reqwest::header::HeaderValue::from_static(BROWSER_ACCEPT),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Server {
    /// Serves `store` (which must belong to `db`) on a free port of the loopback address.
    // The accounts tests change settings with `start_with` instead.
    #[allow(dead_code)]
    pub async fn start(db: &TestDatabase, store: Store) -> Self {
        Self::start_with(db, store, |_| {}).await
    }

    /// Like [`Server::start`], with some settings changed first.
    pub async fn start_with(
        db: &TestDatabase,
        store: Store,
        change: impl FnOnce(&mut Settings),
    ) -> Self {
        Self::launch(db, store, change, None).await
    }

    /// Like [`Server::start`], with the application's clock fixed (an instant in a time zone).
    #[allow(dead_code)]
    pub async fn start_at(db: &TestDatabase, store: Store, clock: Clock) -> Self {
        Self::launch(db, store, |_| {}, Some(clock)).await
    }

    async fn launch(
        db: &TestDatabase,
        store: Store,
        change: impl FnOnce(&mut Settings),
        clock: Option<Clock>,
    ) -> Self {
        let mut settings = Settings {
            database_url: db.url.redacted(),
            host: "127.0.0.1".into(),
            port: 0,
            session_hours: 8,
            // reqwest's cookie store will not send Secure cookies over plain HTTP.
            secure_cookies: false,
            instruments_dir: None,
            ..Settings::default()
        };
        change(&mut settings);
        let mut app = Application::build_with_store(settings, store)
            .await
            .unwrap();
        if let Some(clock) = clock {
            app = app.with_clock(clock);
        }
        let base = format!("http://127.0.0.1:{}", app.port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self { base, _stop: stop }
    }

    pub async fn get(&self, client: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let r = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// The CSRF token the server gave this client, read from a page's hidden field.
    pub async fn csrf(&self, client: &reqwest::Client, path: &str) -> String {
        let (_, body) = self.get(client, path).await;
        let marker = "name=\"csrf_token\" value=\"";
        let start = body.find(marker).expect("page has a CSRF field") + marker.len();
        body[start..start + body[start..].find('"').unwrap()].to_owned()
    }

    /// Posts a form with the CSRF token of `page`, returning the status, Location and body.
    #[allow(dead_code)]
    pub async fn post(
        &self,
        client: &reqwest::Client,
        page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let token = self.csrf(client, page).await;
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        let r = client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (r.status(), location, r.text().await.unwrap())
    }

    /// Posts JSON to the API with the client's CSRF token, returning the status and the body as
    /// JSON (null when the body is not JSON).
    // Not every test file calls the API, and each compiles this module on its own.
    #[allow(dead_code)]
    pub async fn api_post(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        let token = self.csrf(client, "/").await;
        let r = client
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// Reads JSON from the API, returning the status and the body (null when not JSON).
    #[allow(dead_code)]
    pub async fn api_get(
        &self,
        client: &reqwest::Client,
        path: &str,
    ) -> (StatusCode, serde_json::Value) {
        let r = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// Signs in as `{name}@test` and returns the signed-in client.
    #[allow(dead_code)]
    pub async fn sign_in(&self, name: &str) -> reqwest::Client {
        let client = new_client();
        let token = self.csrf(&client, "/sign-in").await;
        let username = format!("{name}@test");
        let r = client
            .post(format!("{}/sign-in", self.base))
            .form(&[
                ("csrf_token", token.as_str()),
                ("username", &username),
                ("password", PASSWORD),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign in as {name}");
        client
    }
}

/// Writes a test once and runs it on SQLite and on PostgreSQL, each with a fresh `TestApp`.
// The fuzz test runs on SQLite only and does not use it.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($app: TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                run(TestApp::spawn(Backend::Sqlite).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                run(TestApp::spawn(Backend::Postgres).await).await;
            }
        }
    };
}

/// Compiles a JSON Schema with `format` checked, so that (for example) an id that is not a UUID
/// fails `format: uuid`. Schemas without `$schema` are read as draft 2020-12.
#[allow(dead_code)]
pub fn validator(schema: &serde_json::Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("the schema does not compile: {e}"))
}

/// Every way `value` fails `v`, each with the place in the value where it fails (empty when valid).
#[allow(dead_code)]
pub fn schema_errors(v: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    v.iter_errors(value)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect()
}

/// Replaces every `{"$ref": …}` in `value` by the schema `resolve` gives for the reference
/// (resolved again, so references may nest), so that a schema from a document compiles alone.
/// References `resolve` does not know are left as they are.
#[allow(dead_code)]
pub fn inline_refs(
    value: &mut serde_json::Value,
    resolve: &dyn Fn(&str) -> Option<serde_json::Value>,
) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(|r| r.as_str()).and_then(resolve) {
                let mut target = target;
                inline_refs(&mut target, resolve);
                *value = target;
                return;
            }
            for v in map.values_mut() {
                inline_refs(v, resolve);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                inline_refs(v, resolve);
            }
        }
        _ => {}
    }
}

/// careweave's own API documents, as the service serves them.
#[allow(dead_code)]
pub const API_DOCUMENTS: [&str; 2] = [
    include_str!("../../templates/casework/openapi.json"),
    include_str!("../../templates/supervision/openapi.json"),
];

/// The operation of `method` whose path template matches `path` in one of the API documents,
/// with the document it is in.
#[allow(dead_code)]
fn documented_operation(
    method: &str,
    path: &str,
) -> Option<(serde_json::Value, serde_json::Value, String)> {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    for text in API_DOCUMENTS {
        let doc: serde_json::Value = serde_json::from_str(text).expect("an API document");
        let found = doc["paths"].as_object()?.iter().find(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            item.get(method).is_some()
                && parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
        });
        if let Some((template, item)) = found {
            let op = item[method].clone();
            let template = template.clone();
            return Some((doc, op, template));
        }
    }
    None
}

/// Checks an API answer against the document that describes its path: the status must be one the
/// operation lists, and a JSON body must match the response's declared schema. Paths no document
/// describes are not checked here.
#[allow(dead_code)]
pub fn check_documented(method: &str, path: &str, status: StatusCode, body: &serde_json::Value) {
    let Some((doc, op, template)) = documented_operation(method, path) else {
        return;
    };
    let code = status.as_u16().to_string();
    let response = &op["responses"][&code];
    assert!(
        response.is_object(),
        "{} {template} answered {code}, which its OpenAPI document does not list",
        method.to_uppercase()
    );
    let content = &response["content"];
    if body.is_null() {
        return;
    }
    let Some(schema) = content.get("application/json").map(|c| c["schema"].clone()) else {
        panic!(
            "{} {template} answered JSON with {code}, which its document does not declare: {body}",
            method.to_uppercase()
        );
    };
    let mut schema = schema;
    let components = doc["components"]["schemas"].clone();
    inline_refs(&mut schema, &|r| {
        r.strip_prefix("#/components/schemas/")
            .and_then(|name| components.get(name).cloned())
    });
    let errors = schema_errors(&validator(&schema), body);
    assert!(
        errors.is_empty(),
        "{} {template} {code} does not match its documented schema: {}\n{body}",
        method.to_uppercase(),
        errors.join("; ")
    );
}
