//! Notifications and tasks (`/notifications`, issue 16 item 6): what a signed-in user should
//! know about or act on, for every role.
//!
//! The stored notifications (`store::notifications`) come first, newest first and paged, each
//! with a link to the page where the user acts (which checks access itself: the notification's
//! words never name the person). The tasks are read from the user's own cases when the page is
//! shown (reviews due within a week or overdue, actions past their date; through
//! `Store::my_day`, which audits the read of their caseload), only for roles with a caseload.
//! "Mark as read", "Mark all as read" and the email choice are ordinary POST forms, protected
//! by the CSRF layer like every other form.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use careweave_domain::access;
use careweave_store::casework::{CaseSummary, OverdueAction};
use careweave_store::notifications::{plausible_email, Notification};
use chrono::NaiveDate;
use serde::Deserialize;

use super::{html, invalid, Chrome, Pagination};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{FormErrors, Pairs};
use crate::session::CurrentUser;
use crate::AppState;

/// Notifications on one page.
const PER_PAGE: usize = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(page))
        .route("/notifications/read-all", post(read_all))
        .route("/notifications/email", post(email))
        .route("/notifications/{id}/read", post(read_one))
}

#[derive(Template)]
#[template(path = "notifications/page.html")]
struct NotificationsPage {
    chrome: Chrome,
    today: NaiveDate,
    notifications: Vec<Row>,
    unread: i64,
    pager: Pagination,
    has_caseload: bool,
    reviews: Vec<CaseSummary>,
    actions: Vec<OverdueAction>,
    /// The address notifications are emailed to, if the user asked for email.
    email: Option<String>,
    form: Pairs,
    errors: FormErrors,
}

/// A notification as the page shows it.
struct Row {
    n: Notification,
    /// When, in words in the deployment's time zone: "3 March 2026 at 14:05".
    when: String,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: String,
}

async fn notifications_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    requested: &str,
    form: Pairs,
    errors: FormErrors,
) -> Result<NotificationsPage, AppError> {
    let counts = state.store.notifications(&user.principal, 0, 0).await?;
    let pager = Pagination::new(
        usize::try_from(counts.total).unwrap_or(0),
        PER_PAGE,
        requested,
        "/notifications",
        &[],
    );
    let range = pager.range();
    let listed = state
        .store
        .notifications(
            &user.principal,
            i64::try_from(range.start).unwrap_or(0),
            i64::try_from(PER_PAGE).unwrap_or(20),
        )
        .await?;
    let zone = state.clock.zone();
    let notifications = listed
        .items
        .into_iter()
        .map(|n| Row {
            when: n
                .created_at
                .with_timezone(&zone)
                .format("%-d %B %Y at %H:%M")
                .to_string(),
            n,
        })
        .collect();
    let today = state.clock.today();
    let has_caseload = access::has_caseload(&user.principal);
    let (reviews, actions) = if has_caseload {
        let day = state.store.my_day(&user.principal, today).await?;
        (day.reviews_due, day.overdue_actions)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(NotificationsPage {
        chrome: Chrome::signed_in("Notifications", csrf, user, "/notifications"),
        today,
        notifications,
        unread: listed.unread,
        pager,
        has_caseload,
        reviews,
        actions,
        email: state.store.notification_email(user.principal.user).await?,
        form,
        errors,
    })
}

/// `GET /notifications`: for every signed-in user.
async fn page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    html(
        &notifications_page(
            &state,
            &csrf,
            &user,
            &q.page,
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

/// `POST /notifications/{id}/read`: one of the user's own; another's is not found.
async fn read_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    state
        .store
        .mark_notification_read(&user.principal, id)
        .await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// `POST /notifications/read-all`.
async fn read_all(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    state
        .store
        .mark_all_notifications_read(&user.principal)
        .await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// `POST /notifications/email`: `choice=on` with an address starts emails, `choice=off` stops
/// them. A malformed address comes back with the error summary and what was typed.
async fn email(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let address = if form.get("choice") == "off" {
        None
    } else {
        let typed = form.trimmed("email");
        if !plausible_email(&typed) {
            let mut errors = FormErrors::default();
            errors.add(
                "email",
                if typed.is_empty() {
                    "Enter the email address to send your notifications to"
                } else {
                    "Enter an email address in the correct format, like name@example.nhs.uk"
                },
            );
            return invalid(&notifications_page(&state, &csrf, &user, "", form, errors).await?);
        }
        Some(typed)
    };
    state
        .store
        .set_notification_email(&user.principal, address.as_deref())
        .await?;
    Ok(Redirect::to("/notifications#email-choice").into_response())
}
