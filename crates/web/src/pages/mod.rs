//! The pages: each module owns a few routes and their templates.
//!
//! Every page renders inside `base.html`, which takes a [`Chrome`]: the title, the CSRF token for
//! the sign-out form, the signed-in user's name and roles, and the navigation they are allowed.

mod admin;
mod api_tokens;
mod casework;
mod diary;
mod directory;
mod evaluation;
mod events;
mod find;
mod home;
mod lone_working;
mod mdt;
mod menu;
mod notifications;
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
use careweave_domain::access;

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
    /// Unread notifications and tasks due, for the header's link to `/notifications`.
    pub unread: i64,
    pub tasks: i64,
}

impl UserChrome {
    /// The count the header's badge shows.
    #[must_use]
    pub fn notices(&self) -> i64 {
        self.unread + self.tasks
    }

    /// The badge's text: the count, or "99+" past 99, as the unread notifications are counted
    /// only up to [`careweave_store::notifications::UNREAD_COUNTED`].
    #[must_use]
    pub fn notices_badge(&self) -> String {
        match self.notices() {
            n if n > 99 => "99+".to_owned(),
            n => n.to_string(),
        }
    }

    /// The header link's words for a screen reader: "3 new, 2 tasks".
    #[must_use]
    pub fn notices_text(&self) -> String {
        let mut parts = Vec::new();
        if self.unread >= careweave_store::notifications::UNREAD_COUNTED {
            parts.push(format!(
                "more than {} new",
                careweave_store::notifications::UNREAD_COUNTED - 1
            ));
        } else if self.unread > 0 {
            parts.push(format!("{} new", self.unread));
        }
        match self.tasks {
            0 => {}
            1 => parts.push("1 task".to_owned()),
            n => parts.push(format!("{n} tasks")),
        }
        if parts.is_empty() {
            "none new".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// One link in the header navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// Who may open a page, asked of the signed-in user: their roles, and the kinds of organisation
/// they hold them in (a practice's worklists are empty for a charity's staff).
type Allowed = fn(&CurrentUser) -> bool;

/// The pages of careweave and who may open each. A link appears only for users the page will
/// serve, so nobody is offered a page that would refuse them or that is empty for them. Pages of
/// one task are grouped under one header item by [`GROUPS`]; the rest are header items themselves.
type Module = (&'static str, &'static str, Allowed);

const MODULES: &[Module] = &[
    ("/", "Home", |_| true),
    ("/find", "Find a person", |u| {
        access::can_search_people(&u.principal)
    }),
    ("/people", "My people", |u| {
        access::has_caseload(&u.principal)
    }),
    ("/casework", "Casework", |u| {
        access::has_caseload(&u.principal)
    }),
    ("/mdt", "MDT meetings", |u| {
        access::has_caseload(&u.principal)
    }),
    ("/diary", "Diary", |u| diary::has_diary(&u.principal)),
    ("/referrals/new", "Refer someone", |u| {
        access::has_caseload(&u.principal) || u.principal.has_role(access::Role::Referrer)
    }),
    ("/directory", "Directory", |u| {
        directory::can_use_directory(&u.principal)
    }),
    ("/population", "Population", population::can_see),
    ("/population/worklists", "Worklists", |u| {
        careweave_store::population::can_read_worklists(&u.principal)
            && careweave_store::population::works_in_practice_or_pcn(
                &u.principal,
                &u.organisation_kinds,
            )
    }),
    ("/casework/reports", "Casework reports", |u| {
        access::can_read_aggregates(&u.principal)
    }),
    ("/workforce", "Workforce", |u| {
        access::can_read_aggregates(&u.principal)
    }),
    ("/evaluation", "Evaluation", |u| {
        evaluation::can_see(&u.principal)
    }),
    ("/place", "Place", |u| place::can_see(&u.principal)),
    ("/directory/gaps", "Service gaps", |u| {
        access::can_read_aggregates(&u.principal)
    }),
    ("/admin/users", "Users", |u| {
        u.principal.has_role(access::Role::Admin)
    }),
    ("/admin/api-tokens", "API tokens", |u| {
        u.principal.has_role(access::Role::Admin)
    }),
    ("/admin/audit", "Audit log", |u| {
        access::can_read_audit(&u.principal)
    }),
    ("/admin/security", "Sign-in security", |u| {
        u.principal.has_role(access::Role::Admin)
    }),
    ("/admin/break-glass", "Emergency access", |u| {
        u.principal.has_role(access::Role::Admin)
    }),
    ("/directory/import", "Directory data", |u| {
        u.principal.has_role(access::Role::Admin)
    }),
    // Last, so that it sits at the end of every role's menu: everyone has training records.
    ("/supervision", "Supervision", |u| {
        supervision::has_supervision(&u.principal)
    }),
];

/// Pages grouped by task. A group with two or more pages a user may open is one header item
/// leading to its landing page (`/menu/{key}`), which lists them; with one, the header links that
/// page itself. Grouping keeps the header to a handful of items for every role (at 1280 px the
/// design system's header folds whatever does not fit under "More").
#[derive(Debug)]
pub struct Group {
    pub key: &'static str,
    /// The landing page, `/menu/{key}`.
    pub href: &'static str,
    pub label: &'static str,
    pub intro: &'static str,
    /// Each page's address and what it is for.
    pub pages: &'static [(&'static str, &'static str)],
}

pub const GROUPS: &[Group] = &[
    Group {
        key: "casework",
        href: "/menu/casework",
        label: "Casework",
        intro: "The people you support and the work with them.",
        pages: &[
            ("/people", "The people whose care team you are in, and adding a person."),
            ("/casework", "Your cases, your day, the waiting list and new referrals to triage."),
            ("/mdt", "Multidisciplinary team meetings: agendas, discussions and actions."),
            ("/diary", "Your week or month of visits, reviews due and meetings, and a calendar feed."),
            ("/referrals/new", "Refer someone to a service, with a registry lookup of their details."),
        ],
    },
    Group {
        key: "population",
        href: "/menu/population",
        label: "Population",
        intro: "Figures about the neighbourhood and the work, with small numbers hidden, and the lists that find people who may need support.",
        pages: &[
            ("/population", "Who lives in the neighbourhood, what they need, and how fairly care reaches them."),
            ("/population/worklists", "Case-finding lists of your practices' patients who may benefit from support."),
            ("/casework/reports", "Referrals, waiting times, caseloads and outcomes by service."),
            ("/workforce", "The staff the population's needs call for, against the staff in post."),
            ("/evaluation", "Whether support changed the use of services, against a matched comparison group."),
            ("/place", "The place partnership's shared workspace: its population, community views, plans and integration self-assessment."),
            ("/directory/gaps", "Needs that the directory's services do not meet."),
        ],
    },
    Group {
        key: "admin",
        href: "/menu/admin",
        label: "Admin",
        intro: "Accounts, access and the shared directory's data.",
        pages: &[
            ("/admin/users", "Add accounts, give and take away roles."),
            ("/admin/api-tokens", "Tokens for systems that read or write through the FHIR API."),
            ("/admin/audit", "Who opened or changed which record, when and why."),
            ("/admin/security", "Whether an organisation requires a second factor to sign in."),
            ("/admin/break-glass", "Emergency accesses to review."),
            ("/directory/import", "Import and export the directory of services."),
        ],
    },
];

/// The pages `user` may open, in menu order: (address, name).
fn allowed_pages(user: &CurrentUser) -> Vec<(&'static str, &'static str)> {
    MODULES
        .iter()
        .filter(|(_, _, allowed)| allowed(user))
        .map(|&(href, label, _)| (href, label))
        .collect()
}

fn group_of(href: &str) -> Option<&'static Group> {
    GROUPS
        .iter()
        .find(|g| g.pages.iter().any(|(page, _)| *page == href))
}

/// A page as a landing page lists it: (address, name, what it is for).
pub type MenuPage = (&'static str, &'static str, &'static str);

/// One group's pages that `user` may open, as a landing page lists them.
pub fn group_pages(group: &Group, user: &CurrentUser) -> Vec<MenuPage> {
    allowed_pages(user)
        .into_iter()
        .filter_map(|(href, label)| {
            group
                .pages
                .iter()
                .find(|(page, _)| *page == href)
                .map(|(_, description)| (href, label, *description))
        })
        .collect()
}

/// The header's items for `user`, with the one holding `section` marked: a page outside every
/// group, a group's only page, or a group's landing page, each once, where its first page would be.
fn navigation(user: &CurrentUser, section: &str) -> Vec<NavItem> {
    let pages = allowed_pages(user);
    let mut items: Vec<NavItem> = Vec::new();
    let mut shown: Vec<&str> = Vec::new();
    for &(href, label) in &pages {
        let Some(group) = group_of(href) else {
            items.push(NavItem {
                href,
                label,
                current: href == section,
            });
            continue;
        };
        if shown.contains(&group.key) {
            continue;
        }
        shown.push(group.key);
        let members: Vec<&str> = pages
            .iter()
            .map(|(h, _)| *h)
            .filter(|h| group.pages.iter().any(|(p, _)| p == h))
            .collect();
        let current = members.contains(&section) || section == group.href;
        items.push(if members.len() == 1 {
            NavItem {
                href,
                label,
                current,
            }
        } else {
            NavItem {
                href: group.href,
                label: group.label,
                current,
            }
        });
    }
    items
}

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

    /// The frame for a signed-in page; `section` is the page whose navigation entry (or group) to
    /// mark as current.
    #[must_use]
    pub fn signed_in(title: &str, csrf: &CsrfToken, user: &CurrentUser, section: &str) -> Self {
        Self {
            title: title.to_owned(),
            csrf: csrf.0.clone(),
            user: Some(UserChrome {
                name: user.display_name.clone(),
                roles: user.roles.join("; "),
                unread: user.notices.unread,
                tasks: user.notices.tasks,
            }),
            nav: navigation(user, section),
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

/// `GET /`: the home page (the public one when nobody is signed in), or for an Open Referral UK client the API's description (see
/// `directory::wants_api_description`), which needs no sign-in because the directory holds no
/// personal data.
async fn root(
    state: State<AppState>,
    headers: axum::http::HeaderMap,
    csrf: axum::Extension<CsrfToken>,
    user: Result<CurrentUser, crate::session::NotSignedIn>,
) -> Result<Response, AppError> {
    if directory::wants_api_description(&headers) {
        return Ok(directory::api_description(&headers, &state.settings));
    }
    match user {
        Ok(user) => home::home(state, csrf, user).await,
        // Nobody signed in: the public home page, not a bare sign-in form, so a person who finds
        // the address learns what the services are and how to ask for support.
        Err(crate::session::NotSignedIn::Redirect(_)) => home::welcome(&state, &csrf).await,
        Err(not_signed_in) => Ok(not_signed_in.into_response()),
    }
}

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        // ORUK clients read `/` from browsers too, so it carries the read API's CORS policy.
        .route("/", get(root).layer(directory::cors()))
        .merge(menu::routes())
        .merge(find::routes())
        .merge(people::routes())
        .merge(population::routes())
        .merge(worklists::routes())
        .merge(workforce::routes())
        .merge(evaluation::routes())
        .merge(admin::routes())
        .merge(api_tokens::routes())
        .merge(casework::routes())
        .merge(diary::routes())
        .merge(directory::routes())
        .merge(safeguarding::routes())
        .merge(lone_working::routes())
        .merge(outcomes::routes())
        .merge(mdt::routes())
        .merge(supervision::routes())
        .merge(events::routes())
        .merge(place::routes())
        .merge(notifications::routes())
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
    use super::{Pagination, UserChrome};

    #[test]
    fn the_header_says_more_than_99_past_the_unread_cap() {
        let chrome = |unread, tasks| UserChrome {
            name: "A Worker".into(),
            roles: String::new(),
            unread,
            tasks,
        };
        assert_eq!(chrome(0, 0).notices_text(), "none new");
        assert_eq!(chrome(3, 2).notices_text(), "3 new, 2 tasks");
        assert_eq!(chrome(3, 2).notices_badge(), "5");
        assert_eq!(chrome(99, 1).notices_badge(), "99+");
        let capped = chrome(careweave_store::notifications::UNREAD_COUNTED, 1);
        assert_eq!(capped.notices_text(), "more than 99 new, 1 task");
        assert_eq!(capped.notices_badge(), "99+");
    }

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
