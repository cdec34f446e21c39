//! Find a person (`/find`): one search by name, NHS number (with or without spaces) or date of
//! birth, for everyone who reads records or refers.
//!
//! The store decides what a search shows (`store::search`): only the people the policy lets the
//! searcher read, and the referrals they sent; anyone else is left out in silence, so the page
//! says the same about a person the searcher may not read as about nobody. Results are paged.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use careweave_domain::access;
use careweave_domain::search::PersonQuery;
use careweave_store::search::{PersonHit, ReferralHit};
use serde::Deserialize;

use super::{html, invalid, Chrome, Pagination};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/find", get(find))
}

/// People on one page of results.
const PER_PAGE: usize = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FindQuery {
    q: String,
    page: String,
}

#[derive(Template)]
#[template(path = "find/page.html")]
struct FindPage {
    chrome: Chrome,
    errors: FormErrors,
    q: String,
    /// Whether a search was made (the page first opens with the form alone).
    searched: bool,
    people: Vec<PersonHit>,
    pager: Pagination,
    referrals: Vec<ReferralHit>,
    /// Whether the searcher refers, so the page explains that it finds their referrals.
    referrer: bool,
}

async fn find(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<FindQuery>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if !access::can_search_people(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let mut page = FindPage {
        chrome: Chrome::signed_in("Find a person", &csrf, &user, "/find"),
        errors: FormErrors::default(),
        q: query.q.clone(),
        searched: false,
        people: Vec::new(),
        pager: Pagination::new(0, PER_PAGE, "", "/find", &[]),
        referrals: Vec::new(),
        referrer: user.principal.has_role(access::Role::Referrer),
    };
    if query.q.trim().is_empty() {
        return html(&page);
    }
    let parsed = match PersonQuery::parse(&query.q) {
        Ok(parsed) => parsed,
        Err(e) => {
            page.errors.add("q", e.to_string());
            return invalid(&page);
        }
    };
    let found = state.store.search_people(&user.principal, &parsed).await?;
    page.pager = Pagination::new(
        found.people.len(),
        PER_PAGE,
        &query.page,
        "/find",
        &[("q", query.q.trim())],
    );
    page.people = found.people[page.pager.range()].to_vec();
    page.referrals = found.referrals;
    page.searched = true;
    html(&page)
}
