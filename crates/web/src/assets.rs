//! Static files compiled into the binary: the NHS.UK design system's CSS, JavaScript and icons, and
//! careweave's own small additions. Embedding them means one binary serves a complete, styled site
//! with no web server or CDN in front, which suits a practice's or a PCN's small deployment.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

macro_rules! nhsuk {
    ($file:literal) => {
        include_bytes!(concat!(env!("NHSUK_FRONTEND_DIST"), "/", $file)).as_slice()
    };
}

/// Every asset as (URL path under `/assets/`, content type, bytes).
static ASSETS: &[(&str, &str, &[u8])] = &[
    (
        // Without the rules that fetch fonts from another host (see build.rs).
        "nhsuk-frontend.min.css",
        "text/css; charset=utf-8",
        include_bytes!(concat!(env!("OUT_DIR"), "/nhsuk-frontend.min.css")).as_slice(),
    ),
    (
        "nhsuk-frontend.min.js",
        "text/javascript; charset=utf-8",
        nhsuk!("nhsuk-frontend.min.js"),
    ),
    (
        "images/favicon.ico",
        "image/x-icon",
        nhsuk!("assets/images/favicon.ico"),
    ),
    (
        "images/favicon.svg",
        "image/svg+xml",
        nhsuk!("assets/images/favicon.svg"),
    ),
    (
        "images/nhsuk-icon-180.png",
        "image/png",
        nhsuk!("assets/images/nhsuk-icon-180.png"),
    ),
    (
        "images/nhsuk-icon-mask.svg",
        "image/svg+xml",
        nhsuk!("assets/images/nhsuk-icon-mask.svg"),
    ),
    (
        "careweave.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/careweave.css").as_slice(),
    ),
    (
        "careweave.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/careweave.js").as_slice(),
    ),
    (
        "careweave-init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/careweave-init.js").as_slice(),
    ),
];

/// Serves `/assets/{*path}`. Assets change only with the binary, so browsers may cache them for a day.
pub async fn serve(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == path) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_stylesheet_asks_another_host_for_anything() {
        for (name, content_type, bytes) in ASSETS {
            if content_type.starts_with("text/css") {
                let css = std::str::from_utf8(bytes).expect("CSS is UTF-8");
                for external in ["url(http", "url(//", "url(\"http", "url('http", "@import"] {
                    assert!(!css.contains(external), "{name} contains {external}");
                }
            }
        }
    }
}
