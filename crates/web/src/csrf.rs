//! Cross-site request forgery protection for every unsafe request.
//!
//! The double-submit pattern: each browser gets a random token in an `HttpOnly`, `SameSite=Strict`
//! cookie, every form embeds the same token in a hidden `csrf_token` field (JSON clients send it in
//! an `X-CSRF-Token` header), and a POST, PUT, PATCH or DELETE whose token does not match the cookie
//! is refused before any handler runs. Because it is a layer over the whole router, a new form
//! cannot forget it; a page only has to render [`CsrfToken`] into its form.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::session::{cookie_value, set_cookie};
use crate::AppState;

/// The cookie holding the browser's token.
pub const COOKIE: &str = "careweave_csrf";
/// The form field carrying the token.
pub const FIELD: &str = "csrf_token";
/// The header carrying the token for JSON clients.
pub const HEADER: &str = "x-csrf-token";

/// The token for this browser, available to handlers as a request extension.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The middleware: issues a token when the browser has none and checks it on unsafe methods.
pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let existing = cookie_value(request.headers(), COOKIE).filter(|t| t.len() >= 32);
    let (token, fresh) = match existing {
        Some(t) => (t, false),
        None => (careweave_store::accounts::random_token(), true),
    };

    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let request = if safe {
        request
    } else {
        if fresh {
            return refuse();
        }
        match verified(request, &token).await {
            Ok(r) => r,
            Err(Unverified::TooLarge(limit)) => return crate::limits::too_large(limit),
            Err(Unverified::Refused) => return refuse(),
        }
    };

    let mut request = request;
    request.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(request).await;
    // A handler that renewed the token (sign-in) has set the cookie already.
    let renewed = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(format!("{COOKIE}=").as_bytes()));
    if fresh && !renewed {
        set_cookie(
            response.headers_mut(),
            COOKIE,
            &token,
            "SameSite=Strict",
            None,
            state.settings.secure_cookies,
        );
    }
    response
}

/// Gives the browser a new token (at sign-in), so that a token set or seen before the session
/// began does not carry over into it. Pages served in the same response still hold the old one,
/// which is why this is only used on the redirect after sign-in.
pub fn renew(headers: &mut HeaderMap, secure: bool) {
    set_cookie(
        headers,
        COOKIE,
        &careweave_store::accounts::random_token(),
        "SameSite=Strict",
        None,
        secure,
    );
}

/// Why an unsafe request was not let through.
enum Unverified {
    /// No token, or the wrong one.
    Refused,
    /// The form is over the limit for its path (see [`crate::limits`]), so its token was not read.
    TooLarge(usize),
}

async fn verified(request: Request, expected: &str) -> Result<Request, Unverified> {
    if let Some(sent) = header_token(request.headers()) {
        return matches(&sent, expected)
            .then_some(request)
            .ok_or(Unverified::Refused);
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    // A form with a file (the directory import) carries the token as one of its fields.
    let is_multipart = crate::multipart::is_multipart(request.headers());
    if !is_form && !is_multipart {
        return Err(Unverified::Refused);
    }
    // The layer buffers as much as the form's handler accepts, so a large import is not taken
    // for an expired form; a body that cannot be read whole is over that limit.
    let limit = crate::limits::body_limit(request.uri().path());
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| Unverified::TooLarge(limit))?;
    let sent = if is_multipart {
        crate::multipart::parse(&parts.headers, &bytes)
            .and_then(|fields| crate::multipart::text(&fields, FIELD).map(str::to_owned))
    } else {
        form_urlencoded_token(&bytes)
    }
    .ok_or(Unverified::Refused)?;
    matches(&sent, expected)
        .then(|| Request::from_parts(parts, Body::from(bytes)))
        .ok_or(Unverified::Refused)
}

fn header_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn form_urlencoded_token(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v)
}

fn matches(sent: &str, expected: &str) -> bool {
    sent.len() == expected.len() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

fn refuse() -> Response {
    // Plain and actionable: the usual cause is a form left open so long that the cookie was cleared.
    (
        StatusCode::FORBIDDEN,
        axum::response::Html(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Form expired – careweave</title>\
             <link rel=\"stylesheet\" href=\"/assets/nhsuk-frontend.min.css\"></head><body>\
             <div class=\"nhsuk-width-container\"><main class=\"nhsuk-main-wrapper\" id=\"maincontent\">\
             <h1>This form has expired</h1><p>For your security the form could not be sent. \
             Go back, reload the page and send it again.</p></main></div></body></html>",
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_among_form_fields() {
        assert_eq!(
            form_urlencoded_token(b"a=1&csrf_token=abc%2Bd&b=2").as_deref(),
            Some("abc+d")
        );
        assert_eq!(form_urlencoded_token(b"a=1"), None);
        assert!(matches("abc", "abc"));
        assert!(!matches("abc", "abd"));
        assert!(!matches("ab", "abc"));
    }
}
