//! What a person sees when something goes wrong, and what the log records.
//!
//! Invalid input never reaches here: forms re-render themselves with an error summary. These are the
//! other cases: a page that does not exist (404), a record the policy refuses (403) and unexpected
//! failures (500), whose full cause chain goes to the log while the person sees a plain apology.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use careweave_store::change::ActionError;
use careweave_store::directory::DirectoryError;
use careweave_store::records::RecordError;
use careweave_store::StoreError;

/// A handler's failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// The store refused the action (its state does not allow it); shown as a 422 page with the
    /// store's words, never as a server error. Forms catch refusals first and show them at a field.
    #[error("refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        Self::Unexpected(e.into())
    }
}

impl From<RecordError> for AppError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Denied => Self::Forbidden,
            RecordError::Store(e) => e.into(),
        }
    }
}

impl From<ActionError> for AppError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::Denied => Self::Forbidden,
            ActionError::NotFound(_) => Self::NotFound,
            ActionError::Store(e) => e.into(),
            // A refusal reaching a handler's `?` is still the user's to fix, not a fault.
            e @ (ActionError::Refused { .. }
            | ActionError::Conflict
            | ActionError::OverCapacity(_)
            | ActionError::NotAllowed(_)) => Self::Refused(e.to_string()),
        }
    }
}

impl From<DirectoryError> for AppError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Denied | DirectoryError::Refused(_) => Self::Forbidden,
            DirectoryError::NotFound(_) => Self::NotFound,
            DirectoryError::Store(s) => s.into(),
            DirectoryError::Demo(e) => Self::Unexpected(e.into()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Unexpected(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'static str,
    message: &'a str,
}

fn error_page(status: StatusCode, title: &'static str, message: &str) -> Response {
    let body = ErrorPage { title, message }
        .render()
        .unwrap_or_else(|_| format!("<h1>{title}</h1>"));
    (status, Html(body)).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::NotFound => not_found_response(),
            Self::Forbidden => error_page(
                StatusCode::FORBIDDEN,
                "You do not have access to this page",
                "Records are shared only with the people involved in someone's care. If you need \
                 access, ask the person's lead worker or your supervisor.",
            ),
            Self::Refused(reason) => error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "This could not be done",
                &reason,
            ),
            Self::Unexpected(e) => {
                // `{:#}` prints the whole cause chain. Store errors carry ids at most, never values.
                tracing::error!(error = format!("{e:#}"), "request failed");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, there is a problem with the service",
                    "Try again later. Nothing you saved before this page has been lost.",
                )
            }
        }
    }
}

fn not_found_response() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "If you typed the web address, check it is correct. If you pasted the web address, check \
         you copied the entire address.",
    )
}

/// The fallback for unknown paths.
pub async fn not_found() -> Response {
    not_found_response()
}

/// Turns a panic in a handler into the standard 500 page (the panic itself is logged).
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    AppError::Unexpected(anyhow::anyhow!("handler panicked")).into_response()
}
