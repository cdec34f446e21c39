//! The search-set `Bundle` with its paging links, and `OperationOutcome`.

use serde_json::{json, Value};

use crate::meta;

/// One page of a search: `_count` results from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub count: usize,
    pub offset: usize,
}

impl Page {
    /// The default and the largest page a client may ask for.
    pub const DEFAULT: usize = 50;
    pub const MAX: usize = 200;
}

/// A search-set Bundle of `matches` (every match, in order), showing one page, with `self`,
/// `first`, `previous` and `next` links built from `base` (the search URL without paging
/// parameters, e.g. `http://host/fhir/Patient?identifier=…`).
#[must_use]
pub fn searchset(base: &str, matches: &[Value], page: Page) -> Value {
    let sep = if base.contains('?') { '&' } else { '?' };
    let link = |relation: &str, offset: usize| {
        json!({
            "relation": relation,
            "url": format!("{base}{sep}_count={}&_offset={offset}", page.count),
        })
    };
    let mut links = vec![link("self", page.offset), link("first", 0)];
    if page.offset > 0 {
        links.push(link("previous", page.offset.saturating_sub(page.count)));
    }
    if page.offset + page.count < matches.len() {
        links.push(link("next", page.offset + page.count));
    }
    let origin = base.split("/fhir/").next().unwrap_or(base);
    let entries: Vec<Value> = matches
        .iter()
        .skip(page.offset)
        .take(page.count)
        .map(|r| {
            let kind = r["resourceType"].as_str().unwrap_or_default();
            let id = r["id"].as_str().unwrap_or_default();
            json!({
                "fullUrl": format!("{origin}/fhir/{kind}/{id}"),
                "resource": r,
                "search": { "mode": "match" },
            })
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "meta": meta("Bundle"),
        "type": "searchset",
        "total": matches.len(),
        "link": links,
        "entry": entries,
    })
}

/// The issue type of an OperationOutcome (R4 `issue-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCode {
    /// The content is not valid JSON or not a resource.
    Structure,
    /// A required element is missing.
    Required,
    /// An element's value is not allowed (a bad code, a failed check digit).
    Value,
    /// A code from a code system this server does not accept.
    CodeInvalid,
    /// The token is missing or not valid.
    Login,
    /// The token may not do this.
    Forbidden,
    /// The resource does not exist or may not be read (one answer for both).
    NotFound,
    /// The search or interaction is not supported.
    NotSupported,
    /// Something failed on the server.
    Exception,
}

impl IssueCode {
    fn code(self) -> &'static str {
        match self {
            Self::Structure => "structure",
            Self::Required => "required",
            Self::Value => "value",
            Self::CodeInvalid => "code-invalid",
            Self::Login => "login",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::NotSupported => "not-supported",
            Self::Exception => "exception",
        }
    }
}

/// One problem, naming the element it is about (a FHIRPath such as
/// `ServiceRequest.subject.identifier.value`) when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: IssueCode,
    pub element: Option<String>,
    pub message: String,
}

impl Issue {
    /// A problem with one element.
    #[must_use]
    pub fn at(code: IssueCode, element: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            element: Some(element.to_owned()),
            message: message.into(),
        }
    }

    /// A problem with the request as a whole.
    #[must_use]
    pub fn general(code: IssueCode, message: impl Into<String>) -> Self {
        Self {
            code,
            element: None,
            message: message.into(),
        }
    }
}

/// An OperationOutcome listing `issues`, each an error.
#[must_use]
pub fn operation_outcome(issues: &[Issue]) -> Value {
    let issues: Vec<Value> = issues
        .iter()
        .map(|i| {
            let mut v = json!({
                "severity": "error",
                "code": i.code.code(),
                "diagnostics": i.message,
            });
            if let (Some(element), Some(o)) = (&i.element, v.as_object_mut()) {
                o.insert("expression".into(), json!([element]));
            }
            v
        })
        .collect();
    json!({
        "resourceType": "OperationOutcome",
        "meta": meta("OperationOutcome"),
        "issue": issues,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_links_cover_the_matches() {
        let matches: Vec<Value> = (1..=5)
            .map(|i| json!({ "resourceType": "Patient", "id": i.to_string() }))
            .collect();
        let b = searchset(
            "http://h/fhir/Patient?identifier=x",
            &matches,
            Page {
                count: 2,
                offset: 2,
            },
        );
        assert_eq!(b["total"], 5);
        assert_eq!(b["entry"].as_array().unwrap().len(), 2);
        assert_eq!(b["entry"][0]["fullUrl"], "http://h/fhir/Patient/3");
        let relations: Vec<&str> = b["link"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["relation"].as_str().unwrap())
            .collect();
        assert_eq!(relations, ["self", "first", "previous", "next"]);
        assert_eq!(
            b["link"][3]["url"],
            "http://h/fhir/Patient?identifier=x&_count=2&_offset=4"
        );
        let last = searchset(
            "http://h/fhir/Patient",
            &matches,
            Page {
                count: 2,
                offset: 4,
            },
        );
        assert!(last["link"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["relation"] != "next"));
    }

    #[test]
    fn an_outcome_names_the_element() {
        let o = operation_outcome(&[Issue::at(
            IssueCode::Required,
            "ServiceRequest.subject",
            "subject is required",
        )]);
        assert_eq!(o["issue"][0]["expression"][0], "ServiceRequest.subject");
        assert_eq!(o["issue"][0]["code"], "required");
    }
}
