//! The landing page of each group of the navigation (`/menu/{key}`): the pages of one task the
//! user may open, each with what it is for. The header shows a group as one item (see
//! [`super::GROUPS`]), so every role's header stays short; this page is where the group's item
//! leads.

use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};

use super::{group_pages, html, Chrome, GROUPS};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/menu/{key}", get(landing))
}

#[derive(Template)]
#[template(path = "menu/landing.html")]
struct LandingPage {
    chrome: Chrome,
    heading: &'static str,
    intro: &'static str,
    /// (address, name, what it is for).
    pages: Vec<super::MenuPage>,
}

/// `GET /menu/{key}`: refused (403) to a user who may open none of the group's pages, and 404 for
/// a group that does not exist.
async fn landing(
    Extension(csrf): Extension<CsrfToken>,
    Path(key): Path<String>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let group = GROUPS
        .iter()
        .find(|g| g.key == key)
        .ok_or(AppError::NotFound)?;
    let pages = group_pages(group, &user);
    if pages.is_empty() {
        return Err(AppError::Forbidden);
    }
    html(&LandingPage {
        chrome: Chrome::signed_in(group.label, &csrf, &user, group.href),
        heading: group.label,
        intro: group.intro,
        pages,
    })
}
