//! How large a request body may be, and the page that says so when one is larger.
//!
//! Most forms are small, so their bodies are capped at [`FORM_LIMIT_BYTES`]; the directory import
//! takes a whole file pasted into a form and gets [`IMPORT_LIMIT_BYTES`]. The same numbers bound
//! what the CSRF layer buffers to find its token and what the handlers' extractors accept, so a
//! large import is never mistaken for an expired form, and a body over its limit is answered 413
//! with a page that names the real limit.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

/// The largest body of an ordinary form or JSON request.
pub const FORM_LIMIT_BYTES: usize = 2 * 1024 * 1024;
/// The largest directory import (a feed or spreadsheet pasted into the import form).
pub const IMPORT_LIMIT_BYTES: usize = 20 * 1024 * 1024;
/// The paths that take a whole file in a form.
const IMPORT_PATHS: &[&str] = &["/directory/import"];

/// The largest body a request to `path` may carry.
#[must_use]
pub fn body_limit(path: &str) -> usize {
    if IMPORT_PATHS.contains(&path) {
        IMPORT_LIMIT_BYTES
    } else {
        FORM_LIMIT_BYTES
    }
}

/// Refuses, before anything reads it, a body whose declared length is over its path's limit.
/// Bodies sent without a length are bounded where they are read (the CSRF layer and the
/// extractors), which answer with the same page.
pub async fn refuse_oversized(request: Request, next: Next) -> Response {
    let limit = body_limit(request.uri().path());
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    next.run(request).await
}

/// The 413 page: what was too large, the real limit and what to do.
#[must_use]
pub fn too_large(limit: usize) -> Response {
    let megabytes = limit / (1024 * 1024);
    let (title, advice, back) = if limit >= IMPORT_LIMIT_BYTES {
        (
            "The file is too large to import",
            format!(
                "An import can be up to {megabytes} MB. Split the file into smaller files \
                 (whole services stay together) and import each one."
            ),
            "<a href=\"/directory/import\">Back to directory data</a>",
        )
    } else {
        (
            "The form is too large to send",
            format!(
                "A form can send up to {megabytes} MB. Shorten what you typed or pasted, then \
                 send it again."
            ),
            "<a href=\"/\">Go to the home page</a>",
        )
    };
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} – careweave</title>\
             <link rel=\"stylesheet\" href=\"/assets/nhsuk-frontend.min.css\"></head><body>\
             <div class=\"nhsuk-width-container\"><main class=\"nhsuk-main-wrapper\" id=\"maincontent\">\
             <h1>{title}</h1><p>{advice}</p><p>{back}</p>\
             </main></div></body></html>"
        )),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_get_the_larger_limit() {
        assert_eq!(body_limit("/directory/import"), IMPORT_LIMIT_BYTES);
        assert_eq!(body_limit("/directory/settings"), FORM_LIMIT_BYTES);
    }
}
