//! The community services directory: the Open Referral UK read API (JSON, public, described by
//! `/openapi.json`), and the pages workers, providers, owners and commissioners use.
//!
//! Searches are answered from an in-memory [`Index`] of the published directory, rebuilt when the
//! store's directory revision changes (one cheap query per request checks it). The cache lives in
//! an `Extension` added by [`routes`], so every built application has its own.
//!
//! Personal data (signposts, referrals, the person a search is for) is read and written only
//! through the store, which asks the access policy and audits.
//!
//! One module per feature: [`api`] (the ORUK read API and exports), [`search`], [`service`] (a
//! service's page, signposting and referral), [`referrals`] (a person's activity, unmet needs and
//! the provider's referral queue), [`curation`] (reports of wrong details, edits and reviews),
//! [`gaps`] (the commissioners' report) and [`admin`] (import with its preview, and settings).

mod admin;
mod api;
mod curation;
mod gaps;
mod referrals;
mod search;
mod service;

pub(super) use api::{api_description, cors, wants_api_description};

use std::sync::{Arc, Mutex};

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use careweave_directory::search::Index;
use careweave_directory::Service;
use careweave_domain::access::{Principal, Role};
use careweave_domain::OrganisationId;
use careweave_store::Store;
use serde::Deserialize;

use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

/// An index and the directory revision it was built from.
type Cached = Option<(i64, Arc<Index>)>;

/// The published directory's search index, shared by the requests of one application.
#[derive(Debug, Clone, Default)]
pub struct DirectoryCache {
    inner: Arc<Mutex<Cached>>,
}

impl DirectoryCache {
    /// The index for the store's current revision, rebuilt when the revision has moved.
    async fn index(&self, store: &Store) -> Result<Arc<Index>, AppError> {
        let revision = store.directory_revision().await?;
        if let Ok(guard) = self.inner.lock() {
            if let Some((r, index)) = guard.as_ref() {
                if *r == revision {
                    return Ok(index.clone());
                }
            }
        }
        // Built outside the lock: two requests may both rebuild after a change, which is harmless.
        let services: Vec<Service> = store
            .directory_services()
            .await?
            .into_iter()
            .map(|p| p.service)
            .collect();
        let index = Index::new(services);
        if let Ok(mut guard) = self.inner.lock() {
            *guard = Some((revision, index.clone()));
        }
        Ok(index)
    }
}

pub fn routes() -> Router<AppState> {
    // The public read API: browser clients on other sites may read it (see `api::cors`).
    let read_api = Router::new()
        .route("/openapi.json", get(api::openapi))
        .route("/services", get(api::api_services))
        .route("/services/{id}", get(api::api_service))
        .route("/service_at_locations", get(api::api_service_at_locations))
        .route(
            "/service_at_locations/{id}",
            get(api::api_service_at_location),
        )
        .route("/taxonomies", get(api::api_taxonomies))
        .route("/taxonomies/{id}", get(api::api_taxonomy))
        .route("/taxonomy_terms", get(api::api_taxonomy_terms))
        .route("/taxonomy_terms/{id}", get(api::api_taxonomy_term))
        .route("/directory/export.json", get(api::export_json))
        .route("/directory/export.csv", get(api::export_csv))
        .layer(api::cors());
    Router::new()
        .merge(read_api)
        .route("/directory", get(search::search_page))
        .route("/directory/services/{id}", get(service::service_page))
        .route("/directory/services/{id}/signpost", post(service::signpost))
        .route("/directory/services/{id}/refer", post(service::refer))
        .route(
            "/directory/services/{id}/report",
            get(curation::report_form).post(curation::report),
        )
        .route(
            "/directory/services/{id}/edit",
            get(curation::edit_form).post(curation::propose),
        )
        .route(
            "/directory/services/{id}/reviewed",
            post(curation::mark_reviewed),
        )
        .route("/directory/signposts/{id}", get(service::signpost_summary))
        .route("/people/{id}/directory", get(referrals::person_activity))
        .route("/directory/unmet-needs", post(referrals::unmet_need))
        .route("/directory/referrals", get(referrals::referrals_page))
        .route("/directory/referrals/{id}", post(referrals::answer))
        .route("/directory/review", get(curation::review_page))
        .route(
            "/directory/reports/{id}/resolve",
            post(curation::resolve_report),
        )
        .route("/directory/proposals/{id}", post(curation::decide))
        .route("/directory/gaps", get(gaps::gaps))
        .route(
            "/directory/import",
            // A whole file comes in this form, so it takes the import limit (see `limits`).
            get(admin::import_form).post(admin::import).layer(
                axum::extract::DefaultBodyLimit::max(crate::limits::IMPORT_LIMIT_BYTES),
            ),
        )
        .route("/directory/import/{id}", post(admin::confirm_import))
        .route("/directory/settings", post(admin::settings))
        .layer(Extension(DirectoryCache::default()))
}

/// Who may search the directory and act on it: people who work with people.
#[must_use]
pub fn can_use_directory(p: &Principal) -> bool {
    p.has_role(Role::Worker) || p.has_role(Role::Supervisor) || p.has_role(Role::Referrer)
}

fn require(ok: bool) -> Result<(), AppError> {
    if ok {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The organisations whose clinical staff the user is (for referral answers and edits).
fn clinical_orgs(p: &Principal) -> Vec<OrganisationId> {
    p.memberships
        .iter()
        .filter(|m| matches!(m.role, Role::Worker | Role::Supervisor))
        .map(|m| m.organisation)
        .collect()
}

/// A page that says why an action could not be done, with a link back (status 409).
#[derive(Template)]
#[template(path = "directory/message.html")]
struct MessagePage {
    chrome: Chrome,
    heading: String,
    message: String,
    back: String,
}

fn message_page(
    csrf: &CsrfToken,
    user: &CurrentUser,
    heading: &str,
    message: &str,
    back: &str,
) -> Result<Response, AppError> {
    let mut r = html(&MessagePage {
        chrome: Chrome::signed_in(heading, csrf, user, "/directory"),
        heading: heading.to_owned(),
        message: message.to_owned(),
        back: back.to_owned(),
    })?;
    *r.status_mut() = StatusCode::CONFLICT;
    Ok(r)
}

/// A yes or no decision with a note: a provider answering a referral, an owner deciding an edit.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    decision: String,
    note: String,
}
