//! The pages: each module owns a few routes and their templates.
//!
//! Every page renders inside `base.html`, which takes a [`Chrome`]: the title, the CSRF token for
//! the sign-out form, the signed-in user's name and roles, and the navigation they are allowed.

mod admin;
mod api_tokens;
mod casework;
mod directory;
mod evaluation;
mod events;
mod home;
mod lone_working;
mod mdt;
mod outcomes;
mod people;
mod place;
mod population;
mod safeguarding;
mod supervision;
mod workforce;
mod worklists;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use careweave_domain::access::{self, Principal};

use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::session::CurrentUser;
use crate::AppState;

/// The page frame's data.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub csrf: String,
    pub user: Option<UserChrome>,
    pub nav: Vec<NavItem>,
}

/// The signed-in user as the header shows them.
#[derive(Debug, Clone)]
pub struct UserChrome {
    pub name: String,
    pub roles: String,
}

/// One link in the header navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The modules of careweave and who may open each. A link appears only for users the page will
/// serve, so nobody is offered a page that would refuse them.
type Module = (&'static str, &'static str, fn(&Principal) -> bool);

const MODULES: &[Module] = &[
    ("/", "Home", |_| true),
    ("/people", "My people", access::has_caseload),
    ("/casework", "Casework", access::has_caseload),
    ("/mdt", "MDT meetings", access::has_caseload),
    ("/referrals/new", "Refer someone", |p| {
        p.has_role(access::Role::Referrer)
    }),
    ("/directory", "Directory", directory::can_use_directory),
    ("/population", "Population", access::can_read_aggregates),
    (
        "/population/worklists",
        "Worklists",
        careweave_store::population::can_read_worklists,
    ),
    ("/workforce", "Workforce", access::can_read_aggregates),
    ("/evaluation", "Evaluation", evaluation::can_see),
    ("/place", "Place", place::can_see),
    (
        "/directory/gaps",
        "Service gaps",
        access::can_read_aggregates,
    ),
    ("/admin/users", "Users", |p| p.has_role(access::Role::Admin)),
    ("/admin/api-tokens", "API tokens", |p| {
        p.has_role(access::Role::Admin)
    }),
    ("/admin/audit", "Audit log", access::can_read_audit),
    ("/admin/security", "Sign-in security", |p| {
        p.has_role(access::Role::Admin)
    }),
    ("/admin/break-glass", "Emergency access", |p| {
        p.has_role(access::Role::Admin)
    }),
    ("/directory/import", "Directory data", |p| {
        p.has_role(access::Role::Admin)
    }),
    // Last, so that it sits at the end of every role's menu: everyone has training records.
    ("/supervision", "Supervision", supervision::has_supervision),
];

impl Chrome {
    /// The frame for pages seen before signing in (and error pages).
    #[must_use]
    pub fn anonymous(title: &str, csrf: &CsrfToken) -> Self {
        Self {
            title: title.to_owned(),
            csrf: csrf.0.clone(),
            user: None,
            nav: Vec::new(),
        }
    }

    /// The frame for a signed-in page; `section` is the navigation entry to mark as current.
    #[must_use]
    pub fn signed_in(title: &str, csrf: &CsrfToken, user: &CurrentUser, section: &str) -> Self {
        let nav = MODULES
            .iter()
            .filter(|(_, _, allowed)| allowed(&user.principal))
            .map(|&(href, label, _)| NavItem {
                href,
                label,
                current: href == section,
            })
            .collect();
        Self {
            title: title.to_owned(),
            csrf: csrf.0.clone(),
            user: Some(UserChrome {
                name: user.display_name.clone(),
                roles: user.roles.join("; "),
            }),
            nav,
        }
    }
}

/// One page of a long list and the links to the others, shown with the design system's numbered
/// pagination (`pagination.html`, which expects the value to be called `pager`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pagination {
    /// The page shown, from 1; a page past the end shows the last one.
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    per_page: usize,
    /// Each page's address, keeping the list's other query parameters.
    links: Vec<String>,
}

impl Pagination {
    /// Pages `total` items `per_page` at a time. `requested` is the `page` query parameter as
    /// typed; anything that is not a page number shows the first page. `keep` are the other query
    /// parameters (filters), left out when empty.
    pub fn new(
        total: usize,
        per_page: usize,
        requested: &str,
        path: &str,
        keep: &[(&str, &str)],
    ) -> Self {
        let pages = total.div_ceil(per_page).max(1);
        let page = requested
            .trim()
            .parse::<usize>()
            .unwrap_or(1)
            .clamp(1, pages);
        let kept: Vec<(&str, &str)> = keep
            .iter()
            .copied()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let links = (1..=pages)
            .map(|n| {
                let page = n.to_string();
                let mut query = kept.clone();
                query.push(("page", &page));
                format!(
                    "{path}?{}",
                    serde_urlencoded::to_string(&query).unwrap_or_default()
                )
            })
            .collect();
        Self {
            page,
            pages,
            total,
            per_page,
            links,
        }
    }

    /// The items on this page, as indexes into the whole list.
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = ((self.page - 1) * self.per_page).min(self.total);
        start..(start + self.per_page).min(self.total)
    }

    /// The first and last item shown, counted from 1, for "Showing 51 to 100 of 161".
    pub fn shown(&self) -> (usize, usize) {
        let r = self.range();
        (r.start + 1, r.end)
    }

    pub fn previous(&self) -> Option<&str> {
        self.page
            .checked_sub(2)
            .and_then(|i| self.links.get(i))
            .map(String::as_str)
    }

    pub fn next(&self) -> Option<&str> {
        self.links.get(self.page).map(String::as_str)
    }

    /// The page links to show: the first and last page and two either side of the one shown, with
    /// number 0 standing for a gap ("…"), so that a list of 500 pages has a short, usable bar.
    /// Each item is its number, its address and whether it is the one shown.
    pub fn numbered(&self) -> Vec<(usize, &str, bool)> {
        let mut shown = Vec::new();
        for (i, link) in self.links.iter().enumerate() {
            let n = i + 1;
            if n == 1 || n == self.pages || n.abs_diff(self.page) <= 2 {
                if shown
                    .last()
                    .is_some_and(|&(last, _, _)| last != 0 && last + 1 != n)
                {
                    shown.push((0, "", false));
                }
                shown.push((n, link.as_str(), n == self.page));
            }
        }
        shown
    }
}

/// Renders a template into a response.
pub fn html(page: &impl Template) -> Result<Response, AppError> {
    Ok(Html(page.render()?).into_response())
}

/// Renders a form page that failed validation: the same page, with a 422 status.
pub fn invalid(page: &impl Template) -> Result<Response, AppError> {
    let mut response = html(page)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// `GET /`: the home page, or for an Open Referral UK client the API's description (see
/// `directory::wants_api_description`), which needs no sign-in because the directory holds no
/// personal data.
async fn root(
    state: State<AppState>,
    headers: axum::http::HeaderMap,
    csrf: axum::Extension<CsrfToken>,
    user: Result<CurrentUser, crate::session::NotSignedIn>,
) -> Result<Response, AppError> {
    if directory::wants_api_description(&headers) {
        return Ok(directory::api_description(
            &headers,
            state.settings.secure_cookies,
        ));
    }
    match user {
        Ok(user) => home::home(state, csrf, user).await,
        Err(not_signed_in) => Ok(not_signed_in.into_response()),
    }
}

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .merge(people::routes())
        .merge(population::routes())
        .merge(worklists::routes())
        .merge(workforce::routes())
        .merge(evaluation::routes())
        .merge(admin::routes())
        .merge(api_tokens::routes())
        .merge(casework::routes())
        .merge(directory::routes())
        .merge(safeguarding::routes())
        .merge(lone_working::routes())
        .merge(outcomes::routes())
        .merge(mdt::routes())
        .merge(supervision::routes())
        .merge(events::routes())
        .merge(place::routes())
}

/// `GET /live`: the process is up and answering, whatever the database's state. A supervisor
/// (systemd, Kubernetes) restarts the service when this fails; `/health` is the readiness check,
/// which also asks the database, so a load balancer stops sending requests while it is down.
pub async fn live() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// `GET /health`: whether the service and its database answer (readiness). No personal data, no
/// sign-in.
pub async fn health(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "database": "unreachable" })),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pagination;

    #[test]
    fn an_empty_or_short_list_is_one_page() {
        let p = Pagination::new(0, 50, "", "/x", &[]);
        assert_eq!((p.page, p.pages, p.range()), (1, 1, 0..0));
        assert_eq!((p.previous(), p.next()), (None, None));
        let p = Pagination::new(50, 50, "1", "/x", &[]);
        assert_eq!((p.pages, p.range()), (1, 0..50));
    }

    #[test]
    fn pages_clamp_and_keep_the_filters() {
        let p = Pagination::new(101, 50, "7", "/x", &[("a", "b c"), ("empty", "")]);
        assert_eq!(
            (p.page, p.pages, p.range(), p.shown()),
            (3, 3, 100..101, (101, 101))
        );
        assert_eq!(p.previous(), Some("/x?a=b+c&page=2"));
        assert_eq!(p.next(), None);
        let p = Pagination::new(101, 50, "not a number", "/x", &[]);
        assert_eq!((p.page, p.next()), (1, Some("/x?page=2")));
        let current: Vec<usize> = p
            .numbered()
            .into_iter()
            .filter(|(_, _, c)| *c)
            .map(|(n, _, _)| n)
            .collect();
        assert_eq!(current, [1]);
    }

    #[test]
    fn a_long_list_shows_a_short_page_bar_with_gaps() {
        let p = Pagination::new(25_000, 50, "250", "/x", &[]);
        let numbers: Vec<usize> = p.numbered().into_iter().map(|(n, _, _)| n).collect();
        assert_eq!(numbers, [1, 0, 248, 249, 250, 251, 252, 0, 500]);
        let p = Pagination::new(200, 50, "2", "/x", &[]);
        let numbers: Vec<usize> = p.numbered().into_iter().map(|(n, _, _)| n).collect();
        assert_eq!(numbers, [1, 2, 3, 4], "no gap when every page fits");
    }
}
