//! What an import reports: the records it accepted and, for each refused record, why.
//!
//! A bulk import is a place where partial success is normal, so nothing is dropped silently: every
//! record read is either accepted or named in a [`Diagnostic`] with its line (CSV) or position
//! (JSON), its id when known, the field and a reason a person can act on. The counts always
//! reconcile: `read == accepted + rejected`.

use std::fmt;

use crate::model::Service;

/// Where a record came from in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordRef {
    /// A line of a CSV file (the header is line 1).
    Line(usize),
    /// The position of a record in a JSON array, counting from 1.
    Item(usize),
    /// The file as a whole (it could not be read at all).
    File,
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(n) => write!(f, "line {n}"),
            Self::Item(n) => write!(f, "record {n}"),
            Self::File => f.write_str("the file"),
        }
    }
}

/// One problem with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub record: RecordRef,
    /// The record's id, when it could be read.
    pub id: Option<String>,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.record)?;
        if let Some(id) = &self.id {
            write!(f, " ({id})")?;
        }
        write!(f, ", {}: {}", self.field, self.reason)
    }
}

/// The outcome of reading one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// How many records the file held.
    pub read: usize,
    /// The records that passed every check, in file order.
    pub accepted: Vec<Service>,
    /// Where each accepted record is in the file (parallel to `accepted`), so that a record refused
    /// later, when it is published, is still named by its line or position.
    pub accepted_at: Vec<RecordRef>,
    /// How many records were refused (each has at least one diagnostic).
    pub rejected: usize,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ImportReport {
    /// Whether the counts reconcile; always true for reports this crate builds.
    #[must_use]
    pub fn reconciles(&self) -> bool {
        self.read == self.accepted.len() + self.rejected
    }

    /// A report for a file that could not be read at all: nothing accepted, one diagnostic.
    #[must_use]
    pub fn unreadable(reason: String) -> Self {
        Self {
            read: 0,
            accepted: Vec::new(),
            accepted_at: Vec::new(),
            rejected: 0,
            diagnostics: vec![Diagnostic {
                record: RecordRef::File,
                id: None,
                field: "file".to_owned(),
                reason,
            }],
        }
    }

    /// Adds one record's outcome.
    pub(crate) fn push(&mut self, at: RecordRef, outcome: Result<Service, Vec<Diagnostic>>) {
        self.read += 1;
        match outcome {
            Ok(s) => {
                self.accepted.push(s);
                self.accepted_at.push(at);
            }
            Err(d) => {
                self.rejected += 1;
                self.diagnostics.extend(d);
            }
        }
    }

    /// Refuses a second record with an id already seen in the same file: the file is ambiguous.
    pub(crate) fn refuse_duplicate_ids(&mut self) {
        let mut seen = std::collections::HashMap::new();
        let accepted = std::mem::take(&mut self.accepted);
        let at = std::mem::take(&mut self.accepted_at);
        for (service, at) in accepted.into_iter().zip(at) {
            if let Some(first) = seen.get(&service.id) {
                self.rejected += 1;
                self.diagnostics.push(Diagnostic {
                    record: at,
                    id: Some(service.id.to_string()),
                    field: "id".to_owned(),
                    reason: format!("the same id is already used by {first} of this file"),
                });
            } else {
                seen.insert(service.id.clone(), at);
                self.accepted.push(service);
                self.accepted_at.push(at);
            }
        }
    }

    /// Refuses an accepted record after the file was read (the store refuses a record another
    /// organisation keeps): it moves from accepted to rejected with a diagnostic on `field`, so the
    /// counts still reconcile. Does nothing when no accepted record has the id.
    pub fn refuse(&mut self, id: &str, field: &str, reason: &str) {
        let Some(i) = self.accepted.iter().position(|s| s.id.as_str() == id) else {
            return;
        };
        let service = self.accepted.remove(i);
        let at = self.accepted_at.remove(i);
        self.rejected += 1;
        self.diagnostics.push(Diagnostic {
            record: at,
            id: Some(service.id.to_string()),
            field: field.to_owned(),
            reason: reason.to_owned(),
        });
    }
}
