//! What operations teams scrape and probe, on SQLite and PostgreSQL: `/live`, `/health`, and the
//! Prometheus metrics at `/metrics` (request counts by route template, latency, the pool), with
//! the optional bearer token.

#[macro_use]
mod support;

use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use careweave_web::settings::Secret;
use reqwest::StatusCode;
use support::{new_client, Server};

struct TestApp {
    server: Server,
    _store: Store,
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
        Self::spawn_with(backend, None).await
    }

    async fn spawn_with(backend: Backend, token: Option<&str>) -> Self {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let server = Server::start_with(&db, store.clone(), |s| {
            s.metrics_token = token.map(|t| Secret(t.to_owned()));
        })
        .await;
        Self {
            server,
            _store: store,
            _db: db,
        }
    }
}

on_both_backends!(
    requests_are_counted_by_route_template_never_by_path,
    |app| {
        let client = new_client();
        assert_eq!(app.get(&client, "/live").await.0, StatusCode::OK);
        assert_eq!(app.get(&client, "/sign-in").await.0, StatusCode::OK);
        // A signed-out visitor to a record is sent to sign in: counted under the template.
        assert_eq!(
            app.get(&client, "/people/4242").await.0,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            app.get(&client, "/no-such-page/9999999999").await.0,
            StatusCode::NOT_FOUND
        );
        let (status, metrics) = app.get(&client, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        for line in [
            r#"careweave_http_requests_total{method="GET",route="/live",status="200"} 1"#,
            r#"careweave_http_requests_total{method="GET",route="/sign-in",status="200"} 1"#,
            r#"careweave_http_requests_total{method="GET",route="/people/{id}",status="303"} 1"#,
            r#"careweave_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
            r#"careweave_http_request_duration_seconds_count{method="GET",route="/sign-in"} 1"#,
            "careweave_db_pool_connections{state=\"idle\"}",
            "careweave_audit_queue_depth 0",
            "# EOF",
        ] {
            assert!(metrics.contains(line), "missing {line} in\n{metrics}");
        }
        // No concrete identifier typed into a path reaches the metrics.
        assert!(!metrics.contains("4242") && !metrics.contains("9999999999"));
    }
);

#[tokio::test]
async fn a_metrics_token_is_required_when_set() {
    let app = TestApp::spawn_with(Backend::Sqlite, Some("scrape-secret")).await;
    let client = new_client();
    assert_eq!(
        app.get(&client, "/metrics").await.0,
        StatusCode::UNAUTHORIZED
    );
    let wrong = client
        .get(format!("{}/metrics", app.base))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client
        .get(format!("{}/metrics", app.base))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right
        .text()
        .await
        .unwrap()
        .contains("careweave_http_requests_total"));
}
