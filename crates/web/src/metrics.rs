//! Prometheus metrics for operations teams: requests and their latency by route template, the
//! database pool, overdue lone-working visits and what the store reports about queues.
//!
//! Labels are route templates (`/people/{id}`), methods, status codes and organisation ids, never a
//! concrete path or query, so no identifier a person typed reaches the monitoring system. Figures
//! that come from the database are read when Prometheus scrapes `/metrics`, not kept up to date on
//! every request: a scrape every 15 to 60 seconds is cheaper than that and just as fresh.

use std::sync::atomic::AtomicI64;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use subtle::ConstantTimeEq;

use crate::startup::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OrganisationLabels {
    organisation: i64,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The service's metrics, registered once at start and shared by every request.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    pool: Family<PoolLabels, Gauge<i64, AtomicI64>>,
    overdue_visits: Family<OrganisationLabels, Gauge<i64, AtomicI64>>,
    audit_queue: Gauge<i64, AtomicI64>,
    scrape_errors: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Latency buckets from 5 ms to about 10 s, doubling: page budgets are in the tens of milliseconds
/// and anything past a few seconds is a fault whatever its exact length.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "careweave_http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "careweave_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            latency.clone(),
        );
        let pool = Family::<PoolLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "careweave_db_pool_connections",
            "Database pool connections, by state (idle or in use)",
            pool.clone(),
        );
        let overdue_visits = Family::<OrganisationLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "careweave_lone_working_overdue_visits",
            "Lone-working visits past their back-by time with no check-out, by the visiting worker's employer",
            overdue_visits.clone(),
        );
        let audit_queue = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "careweave_audit_queue_depth",
            "Audit rows of reads waiting to be written; pages that read personal data wait for theirs",
            audit_queue.clone(),
        );
        let scrape_errors = Counter::default();
        registry.register(
            "careweave_metrics_scrape_errors",
            "Scrapes in which a figure could not be read from the database",
            scrape_errors.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            pool,
            overdue_visits,
            audit_queue,
            scrape_errors,
        }
    }
}

impl Metrics {
    fn observe(&self, method: &'static str, route: String, status: StatusCode, took: Duration) {
        self.latency
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status: status.as_u16(),
            })
            .inc();
    }
}

/// A fixed set of method names, so a client inventing methods cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Middleware that counts every answered request and its latency under its route template.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Unmatched paths (404s, probes for /wp-admin) share one label: their paths are unbounded.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .observe(method, route, response.status(), started.elapsed());
    response
}

/// `GET /metrics`: the OpenMetrics text Prometheus scrapes. When the `metrics_token` setting is
/// set, the scraper must send it as a bearer token; otherwise the proxy in front must keep the
/// path to the monitoring network (see docs/operations.md).
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.settings.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(sent.as_bytes().ct_eq(expected.0.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need the bearer token from the metrics_token setting\n",
            )
                .into_response();
        }
    }
    refresh(&state).await;
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, &state.metrics.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Reads the figures that live in the database. A failure is counted and logged, and the scrape
/// still answers with what it has: a monitoring gap must not hide the request figures too.
async fn refresh(state: &AppState) {
    let metrics = &state.metrics;
    let pool = state.store.pool();
    let size = i64::from(pool.size());
    let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
    metrics
        .pool
        .get_or_create(&PoolLabels { state: "idle" })
        .set(idle);
    metrics
        .pool
        .get_or_create(&PoolLabels { state: "in_use" })
        .set((size - idle).max(0));
    metrics
        .audit_queue
        .set(i64::try_from(state.store.audit_queue_depth()).unwrap_or(i64::MAX));
    match state
        .store
        .overdue_visits_by_organisation(state.clock.local_now())
        .await
    {
        Ok(counts) => {
            // Organisations whose visits are no longer overdue must read 0, not their last value.
            metrics.overdue_visits.clear();
            for (organisation, n) in counts {
                metrics
                    .overdue_visits
                    .get_or_create(&OrganisationLabels {
                        organisation: organisation.get(),
                    })
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        Err(error) => {
            metrics.scrape_errors.inc();
            tracing::warn!(%error, "metrics: could not count overdue visits");
        }
    }
}
