//! Building and running the service.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use careweave_domain::clock::{parse_time_zone, Clock};
use careweave_store::{DatabaseUrl, Store};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::{assets, csrf, error, limits, pages, rate_limit, session, Settings};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// The outcome-measure instruments: the shipped ones and the deployment's folder, loaded once
    /// at start (see `careweave-instruments`).
    pub instruments: Arc<careweave_instruments::Catalogue>,
    /// The key for multi-factor secrets at rest, when `mfa_secret_key` is set.
    pub mfa_key: Option<Arc<careweave_store::mfa::SecretKey>>,
    /// The OpenID Connect providers' endpoints and keys, read when first needed.
    pub oidc: Arc<crate::oidc::Providers>,
    /// The one clock: every "today" and "now" a person sees or types (dates, visit times, what is
    /// overdue) comes from it, in the deployment's time zone (the `timezone` setting). Tests and
    /// the demo may fix it (see [`Application::with_clock`]). Security timers (sessions, the
    /// sign-in throttle, the `/refer` limit, break-glass windows) stay on the system clock: the
    /// store compares them with instants it takes itself, and a demo clock must not bend them.
    pub clock: Clock,
    /// Request counts and latencies for `/metrics` (see [`crate::metrics`]).
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// A built service, bound to its port but not yet serving.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    /// The outbox's transports, for the delivery worker that runs beside the server.
    outbox: crate::outbox::Transports,
    /// The notification emails' transport, for its delivery worker.
    mailer: crate::email::Mailer,
}

impl Application {
    /// Connects to the database, runs migrations and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let url = DatabaseUrl::from_str(&settings.database_url)?;
        let store = Store::connect(&url)
            .await
            .with_context(|| format!("could not open the database at {}", url.redacted()))?;
        store
            .migrate()
            .await
            .context("could not migrate the database")?;
        Self::build_with_store(settings, store).await
    }

    /// Binds the listener for an already-connected, migrated store.
    pub async fn build_with_store(settings: Settings, store: Store) -> anyhow::Result<Self> {
        let address = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&address)
            .await
            .with_context(|| format!("could not listen on {address}"))?;
        let port = listener.local_addr()?.port();
        let instruments = load_instruments(&settings);
        let mfa_key = match &settings.mfa_secret_key {
            Some(key) => Some(Arc::new(
                careweave_store::mfa::SecretKey::from_base64(&key.0).map_err(anyhow::Error::msg)?,
            )),
            None => {
                tracing::warn!(
                    "mfa_secret_key is not set: multi-factor secrets are stored unencrypted"
                );
                None
            }
        };
        let oidc = Arc::new(crate::oidc::Providers::new(&settings.oidc_providers)?);
        let zone = parse_time_zone(&settings.timezone).context("the timezone setting")?;
        let outbox = crate::outbox::Transports::from_settings(&settings.outbox)
            .context("the [outbox] settings")?;
        let mailer = crate::email::Mailer::from_settings(&settings.notifications)
            .context("the [notifications] settings")?;
        Ok(Self {
            listener,
            port,
            outbox,
            mailer,
            state: AppState {
                // The store decides dates (such as the policy's "recently discharged") on the
                // same clock as the pages.
                store: store.with_clock(Clock::system(zone)),
                settings: Arc::new(settings),
                instruments: Arc::new(instruments),
                mfa_key,
                oidc,
                clock: Clock::system(zone),
                metrics: Arc::default(),
            },
        })
    }

    /// Replaces the clock: a fixed instant in tests, or the demo's `--clock` start. A deployment
    /// never calls this; its clock is the system clock in its `timezone`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.state.clock = clock;
        self.state.store = self.state.store.with_clock(clock);
        self
    }

    /// The clock the pages read (the system clock in the `timezone` setting unless replaced).
    #[must_use]
    pub fn clock(&self) -> Clock {
        self.state.clock
    }

    /// The port actually bound (useful when the settings asked for 0).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The store the service uses.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Serves until the process receives Ctrl-C or SIGTERM, then finishes requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.state.store.clone();
        let housekeeping = tokio::spawn(housekeeping(store.clone()));
        // The delivery worker sends what the outbox holds, including what was queued before a
        // restart; with `poll_seconds = 0` another process delivers instead.
        let delivery = (!self.outbox.poll.is_zero())
            .then(|| tokio::spawn(crate::outbox::run(store.clone(), self.outbox)));
        let mail = (!self.mailer.poll.is_zero())
            .then(|| tokio::spawn(crate::email::run(store.clone(), self.mailer)));
        let app = router(self.state);
        // Connection info gives handlers the client's address, for the sign-in throttle.
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(stop)
        .await?;
        housekeeping.abort();
        for worker in [delivery, mail].into_iter().flatten() {
            worker.abort();
        }
        store.close().await;
        Ok(())
    }
}

/// The whole route table. Personal-data routes get their access checks from the store; this only
/// decides which pages exist and how requests are wrapped.
pub fn router(state: AppState) -> Router {
    let csp = HeaderValue::from_static(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    Router::new()
        .route("/health", get(pages::health))
        .route("/live", get(pages::live))
        .route("/metrics", get(crate::metrics::scrape))
        .route("/assets/{*path}", get(assets::serve))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", axum::routing::post(session::sign_out))
        .merge(crate::mfa::routes())
        .merge(crate::oidc::routes())
        .merge(pages::routes())
        .fallback(error::not_found)
        // Inside the CSRF layer, so a forged submission is refused before it is counted.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::public_referrals,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::protect,
        ))
        // The FHIR API is merged after the CSRF layer, so it is outside it: its clients send a
        // bearer token, which no browser adds to a forged cross-site request, and no cookie
        // (see `api::fhir`). Every layer below still wraps it.
        .merge(crate::api::fhir::routes())
        // Every response gets the strict policy unless its handler set a stricter one of its own:
        // only the board pack does (`pages::evaluation`), to allow its inline stylesheet by hash.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // Pages and API answers hold personal data: no browser or proxy may keep a copy. Assets
        // set their own caching, which this leaves in place.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // The hard cap for any body; each path's own limit, with a page naming it, is checked
        // first by `limits::refuse_oversized` and again wherever a body is read.
        .layer(RequestBodyLimitLayer::new(limits::IMPORT_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(limits::refuse_oversized))
        .layer(CatchPanicLayer::custom(error::panic_response))
        // Outside the panic catcher, so a request that panicked is counted with its 500.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::record,
        ))
        .layer(
            // Spans name the route template (`/people/{id}`), never the concrete path or query,
            // so that no identifier typed into a URL reaches the logs.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("unmatched", MatchedPath::as_str);
                    tracing::info_span!("request", method = %request.method(), route)
                })
                .on_request(())
                .on_response(
                    |response: &axum::response::Response,
                     latency: Duration,
                     _span: &tracing::Span| {
                        tracing::info!(
                            status = response.status().as_u16(),
                            latency_ms = latency.as_millis(),
                            "served"
                        );
                    },
                ),
        )
        .with_state(state)
}

/// Hourly: removes expired sessions and throttle counters nobody will read again. A failure is
/// logged and tried again next hour; nothing depends on it but the size of two tables.
async fn housekeeping(store: Store) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        if let Err(error) = store.purge_expired_sessions().await {
            tracing::warn!(%error, "could not remove expired sessions");
        }
        if let Err(error) = store.purge_stale_throttles(chrono::Utc::now()).await {
            tracing::warn!(%error, "could not remove stale sign-in counters");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Loads the outcome-measure instruments: those careweave ships, then the deployment's folder.
/// A refused definition file does not stop the service: each problem is logged with its file and
/// field (definitions hold no personal data) and shown on the outcome measures page, and the other
/// instruments stay usable.
fn load_instruments(settings: &Settings) -> careweave_instruments::Catalogue {
    let mut sources = vec![careweave_instruments::Source::Shipped];
    if let Some(dir) = &settings.instruments_dir {
        sources.push(careweave_instruments::Source::Folder(dir));
    }
    let catalogue = careweave_instruments::load(&sources);
    for error in catalogue.errors() {
        tracing::warn!(%error, "an outcome-measure definition was refused");
    }
    for replaced in catalogue.overrides() {
        tracing::info!(%replaced, "an outcome-measure definition was replaced");
    }
    catalogue
}
