//! The home page: for a signed-in user, what they can do by role; for anyone else, what the
//! neighbourhood's services are and who they help, in plain words, with the way to ask for support
//! and the way for staff to sign in.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use careweave_domain::access;
use careweave_store::casework::SentReferral;

use super::{html, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    caseload: Option<usize>,
    aggregates: bool,
    admin: bool,
    /// The referrals this user made, when they refer.
    sent: Option<Vec<SentReferral>>,
    /// For supervisors: their staff's visits not checked out in time (see `pages::lone_working`).
    overdue_visits: usize,
    /// Every group of pages the user may open, with its pages (address, name, what it is for):
    /// the whole of what the header's grouped items lead to, on one page.
    sections: Vec<(&'static str, Vec<super::MenuPage>)>,
}

/// `GET /`.
pub async fn home(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let p = &user.principal;
    let caseload = if access::has_caseload(p) {
        Some(state.store.my_people(p).await?.len())
    } else {
        None
    };
    html(&HomePage {
        chrome: Chrome::signed_in("Home", &csrf, &user, "/"),
        caseload,
        aggregates: access::can_read_aggregates(p),
        admin: p.has_role(access::Role::Admin),
        sent: if p.has_role(access::Role::Referrer) {
            Some(state.store.referrals_sent_by(p).await?)
        } else {
            None
        },
        overdue_visits: state
            .store
            .overdue_visit_count(p, state.clock.local_now())
            .await?,
        sections: super::GROUPS
            .iter()
            .map(|g| (g.label, super::group_pages(g, &user)))
            .filter(|(_, pages)| !pages.is_empty())
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage {
    chrome: Chrome,
    /// The services a person can ask for by name (public: the self-referral form lists them too),
    /// with who provides each.
    services: Vec<(String, String)>,
}

/// `GET /` when nobody is signed in. It shows nothing personal, so it needs no session.
pub async fn welcome(state: &AppState, csrf: &CsrfToken) -> Result<Response, AppError> {
    let services = state
        .store
        .casework_services()
        .await?
        .into_iter()
        .map(|s| (s.name, s.provider_name))
        .collect();
    html(&WelcomePage {
        chrome: Chrome::anonymous("Support in your neighbourhood", csrf),
        services,
    })
}
