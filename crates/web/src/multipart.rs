//! Reading a `multipart/form-data` body (RFC 7578), the encoding a browser uses for a form with a
//! file: the directory import's upload, and the CSRF layer finding the token in such a form.
//!
//! The body is read whole (its size is bounded by the path's limit before this runs), so this is
//! a plain split on the boundary rather than a streaming parser: no dependency for one form.

use axum::http::{header, HeaderMap};

/// One field of the form: its name, the file's name when it is a file, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub data: Vec<u8>,
}

/// Whether a request's body is a multipart form.
#[must_use]
pub fn is_multipart(headers: &HeaderMap) -> bool {
    boundary(headers).is_some()
}

/// The boundary a multipart form's `Content-Type` names.
fn boundary(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let (kind, params) = value.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (key, v) = p.trim().split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of a `Content-Disposition` parameter such as `name="file"`. Browsers write a quote
/// inside a name as `%22`, so a quoted value ends at the next quote.
fn parameter(disposition: &str, key: &str) -> Option<String> {
    disposition.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Reads every field of a multipart body, or `None` when the body is not the multipart form its
/// headers say (no boundary, a part without headers, no closing delimiter).
#[must_use]
pub fn parse(headers: &HeaderMap, body: &[u8]) -> Option<Vec<Part>> {
    let delimiter = format!("--{}", boundary(headers)?);
    let between = format!("\r\n{delimiter}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, between.as_bytes())?;
        let part = &rest[..end];
        rest = &rest[end + between.len()..];
        let split = find(part, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&part[..split]).ok()?;
        let disposition = head.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(value.trim())
        })?;
        parts.push(Part {
            name: parameter(disposition, "name")?,
            file_name: parameter(disposition, "filename"),
            data: part[split + 4..].to_vec(),
        });
    }
}

/// The first text field called `name`, when it is UTF-8.
#[must_use]
pub fn text<'a>(parts: &'a [Part], name: &str) -> Option<&'a str> {
    parts
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| std::str::from_utf8(&p.data).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(boundary: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}")).unwrap(),
        );
        h
    }

    #[test]
    fn fields_and_a_file_are_read_with_their_bytes() {
        let body = "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.csv\"\r\n\
                    Content-Type: text/csv\r\n\r\nid,name\r\n1,--XyZ lunch\r\n\r\n--XyZ--\r\n";
        let parts = parse(&headers("XyZ"), body.as_bytes()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(text(&parts, "csrf_token"), Some("abc"));
        assert_eq!(parts[1].file_name.as_deref(), Some("d.csv"));
        // The boundary inside a line is data; only a boundary at a line start ends the part.
        assert_eq!(parts[1].data, b"id,name\r\n1,--XyZ lunch\r\n");
    }

    #[test]
    fn a_body_that_is_not_the_form_it_claims_is_refused() {
        assert!(parse(&headers("XyZ"), b"no delimiter here").is_none());
        assert!(parse(&headers("XyZ"), b"--XyZ\r\nno blank line\r\n--XyZ--").is_none());
        assert!(parse(&HeaderMap::new(), b"--XyZ--").is_none());
        let quoted = {
            let mut h = HeaderMap::new();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("multipart/form-data; boundary=\"q\""),
            );
            h
        };
        assert_eq!(
            parse(
                &quoted,
                b"--q\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--q--"
            )
            .unwrap()[0]
                .data,
            b"1"
        );
    }
}
