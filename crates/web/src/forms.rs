//! Form parsing shared by every page and the JSON API.
//!
//! A form arrives as name/value pairs and a JSON body as an object of plain values; both become
//! [`Pairs`], and the helpers here ([`required`], [`choice`], [`date_from`], [`time_from`],
//! [`yes_no`]) read fields from it, recording problems in [`FormErrors`]: an ordered list of (field
//! id, message) in the shape the NHS.UK error summary needs, where the id is the input the
//! summary's link should focus. The API answers the same errors as JSON ([`errors_json`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use careweave_domain::dates::{not_in_future, parse_date_parts};
use chrono::NaiveDate;

/// Errors found in one submission, in the order the fields appear on the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    entries: Vec<(String, String)>,
}

impl FormErrors {
    /// Records a problem with the field whose input has id `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.entries.push((field.to_owned(), message.into()));
    }

    /// Whether nothing was wrong.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All problems, for the error summary.
    #[must_use]
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// The message for one field, shown above its input.
    #[must_use]
    pub fn get(&self, field: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Whether a field has a problem (for the error styling classes).
    #[must_use]
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// Parses a value, recording the error against `field` on failure.
    pub fn parse<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }
}

/// Name/value pairs from a form or a JSON object, with the repeated names checkboxes produce.
#[derive(Debug, Clone, Default)]
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    /// The first value of `name`, or "" when absent (so templates can show it as typed).
    #[must_use]
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    #[must_use]
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a checkbox or radio had `value`.
    #[must_use]
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.all(name).contains(&value)
    }

    pub fn trimmed(&self, name: &str) -> String {
        self.get(name).trim().to_owned()
    }

    /// Adds a value, as a pre-filled form would have it.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_owned(), value.into()));
    }

    /// Makes `value` the only value of `name`, replacing what was typed (a lookup filling a field).
    pub fn replace(&mut self, name: &str, value: impl Into<String>) {
        self.0.retain(|(k, _)| k != name);
        self.set(name, value);
    }

    /// Converts a JSON object whose values are strings, numbers, booleans or arrays of those.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("The body must be a JSON object")?;
        let mut out = Vec::new();
        let scalar = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_owned()),
            _ => None,
        };
        for (k, v) in obj {
            match v {
                serde_json::Value::Array(items) => {
                    for i in items {
                        out.push((
                            k.clone(),
                            scalar(i).ok_or_else(|| format!("{k} must hold plain values"))?,
                        ));
                    }
                }
                serde_json::Value::Null => {}
                other => out.push((
                    k.clone(),
                    scalar(other).ok_or_else(|| format!("{k} must be a plain value"))?,
                )),
            }
        }
        Ok(Self(out))
    }
}

/// Reads a date typed in the three boxes `{prefix}-day`, `-month` and `-year` (or, from the JSON
/// API, one ISO date under `prefix`), recording the error against the day box. `not_after` is the
/// latest date allowed: today (from the deployment's clock, `AppState::clock`) for a date that
/// cannot be in the future, `None` for any date.
pub fn date_from(
    errors: &mut FormErrors,
    p: &Pairs,
    prefix: &str,
    what: &'static str,
    not_after: Option<NaiveDate>,
) -> Option<NaiveDate> {
    // The JSON API may send one ISO date instead of the three boxes.
    let iso = p.get(prefix);
    let parsed = if iso.is_empty() {
        parse_date_parts(
            what,
            p.get(&format!("{prefix}-day")),
            p.get(&format!("{prefix}-month")),
            p.get(&format!("{prefix}-year")),
        )
    } else {
        careweave_domain::dates::parse_iso_date(what, iso)
    };
    let checked = parsed.and_then(|d| match not_after {
        Some(today) => not_in_future(what, d, today),
        None => Ok(d),
    });
    errors.parse(&format!("{prefix}-day"), checked)
}

/// Reads a time of day typed as HH:MM (24-hour clock), recording an error naming `what` when it
/// is missing or not a time.
pub fn time_from(
    errors: &mut FormErrors,
    p: &Pairs,
    name: &str,
    what: &str,
) -> Option<chrono::NaiveTime> {
    let v = p.get(name).trim();
    let parsed = chrono::NaiveTime::parse_from_str(v, "%H:%M").ok();
    if parsed.is_none() {
        errors.add(
            name,
            if v.is_empty() {
                format!("Enter {what}")
            } else {
                format!("Enter {what} as hours and minutes on the 24-hour clock, for example 14:30")
            },
        );
    }
    parsed
}

/// A text field that must not be blank, trimmed.
pub fn required(errors: &mut FormErrors, p: &Pairs, name: &str, message: &str) -> String {
    let v = p.trimmed(name);
    if v.is_empty() {
        errors.add(name, message);
    }
    v
}

/// One of a fixed list of codes (radios or a select), converted by `from_code`.
pub fn choice<T>(
    errors: &mut FormErrors,
    p: &Pairs,
    name: &str,
    from_code: fn(&str) -> Option<T>,
    message: &str,
) -> Option<T> {
    let v = from_code(p.get(name).trim());
    if v.is_none() {
        errors.add(name, message);
    }
    v
}

/// Reads a yes or no answer (the API may send true or false).
pub fn yes_no(errors: &mut FormErrors, p: &Pairs, name: &str, message: &str) -> Option<bool> {
    match p.get(name).trim() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => {
            errors.add(name, message);
            None
        }
    }
}

// ----- JSON API -------------------------------------------------------------------------------------

/// The JSON API's answer to invalid input: every problem with the field it belongs to.
pub fn errors_json(status: StatusCode, errors: &FormErrors) -> Response {
    let list: Vec<_> = errors
        .entries()
        .iter()
        .map(|(field, message)| serde_json::json!({ "field": field, "message": message }))
        .collect();
    (status, Json(serde_json::json!({ "errors": list }))).into_response()
}

/// Reads a JSON API body as [`Pairs`], or answers 400 when it is not an object of plain values.
pub fn body_pairs(body: &serde_json::Value) -> Result<Pairs, Box<Response>> {
    Pairs::from_json(body).map_err(|m| {
        Box::new(
            (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": m })),
            )
                .into_response(),
        )
    })
}
