//! The one CSV writer every careweave export uses: the public directory spreadsheet, the board
//! report, the population engine's `diagnostics.csv` and the synthetic extract.
//!
//! Two rules, applied to every cell so that no exporter can forget one:
//!
//! - **RFC 4180**: records end with CRLF; a cell holding a comma, a double quote, CR or LF is put
//!   in double quotes, with each double quote inside doubled.
//! - **Spreadsheet safety** (the OWASP "CSV injection" advice): a cell that starts with `=`, `+`,
//!   `-`, `@`, a tab or CR would be run as a formula by Excel, LibreOffice or Google Sheets when
//!   the file is opened (`=HYPERLINK(…)`, `+cmd|…`, `@SUM(…)`), so it is written with a leading
//!   apostrophe, which spreadsheets show as text. Plain numbers (`-1.25`, `+44`) are left alone,
//!   since a number is not a formula and coordinates and counts must stay numbers.
//!
//! Defusing is reversible: [`undefuse`] gives back exactly the value that was written, because a
//! value that already starts with an apostrophe before a formula character gets one more. A reader
//! of careweave's own files (the directory import) calls it on every cell, so an export imports back
//! unchanged.
//!
//! The crate only builds strings; callers decide where they go.

use std::borrow::Cow;

/// The characters that make a spreadsheet treat a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `value` is a plain decimal number (an optional sign, digits, an optional fraction),
/// which spreadsheets read as a number and never as a formula.
fn is_plain_number(value: &str) -> bool {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !digits.ends_with('.')
}

/// Whether writing `value` as it is would let a spreadsheet run it (or, for a value starting with
/// an apostrophe, whether reading it back would wrongly strip that apostrophe).
fn needs_defusing(value: &str) -> bool {
    if let Some(rest) = value.strip_prefix('\'') {
        return needs_defusing(rest);
    }
    value.starts_with(FORMULA_START) && !is_plain_number(value)
}

/// The value as a spreadsheet will show it as text: a leading apostrophe when it would otherwise
/// be run as a formula.
#[must_use]
pub fn defuse(value: &str) -> Cow<'_, str> {
    if needs_defusing(value) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// Undoes [`defuse`]: the value that was written. Cells careweave did not defuse come back as
/// they are.
#[must_use]
pub fn undefuse(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_defusing(rest) => rest,
        _ => cell,
    }
}

/// One cell as it goes in the file: defused, then quoted when RFC 4180 requires it.
#[must_use]
pub fn cell(value: &str) -> Cow<'_, str> {
    let value = defuse(value);
    if value.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    } else {
        value
    }
}

/// A CSV file being built in memory, one record at a time.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    out: String,
}

impl Writer {
    /// An empty file.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A file that starts with the header record `columns`.
    #[must_use]
    pub fn with_header<S: AsRef<str>>(columns: impl IntoIterator<Item = S>) -> Self {
        let mut w = Self::new();
        w.record(columns);
        w
    }

    /// Appends one record; every cell goes through [`cell`].
    pub fn record<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        for (i, c) in cells.into_iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.out.push_str(&cell(c.as_ref()));
        }
        self.out.push_str("\r\n");
    }

    /// The text written so far.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.out
    }

    /// The whole file.
    #[must_use]
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_as_rfc_4180_says() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell(""), "");
        assert_eq!(cell("a, b"), "\"a, b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        let mut w = Writer::with_header(["a", "b"]);
        w.record(["1", "x,y"]);
        assert_eq!(w.finish(), "a,b\r\n1,\"x,y\"\r\n");
    }

    #[test]
    fn formula_cells_are_defused_and_numbers_are_not() {
        for (value, written) in [
            (
                "=HYPERLINK(\"http://evil.example\",\"Click\")",
                "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Click\"\")\"",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "\"'\r=1\""),
            ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ] {
            assert_eq!(cell(value), written, "{value}");
        }
        for number in ["-1.234567", "+44", "-7", "0.5", "12"] {
            assert_eq!(cell(number), number);
        }
        for not_number in ["-", "-.", "+.5.", "-1e5"] {
            assert!(cell(not_number).starts_with('\''), "{not_number}");
        }
    }

    #[test]
    fn defusing_round_trips_every_value() {
        for value in [
            "plain", "=1", "'=1", "''=1", "'plain", "'", "-1.5", "'-1.5", "@home", "",
        ] {
            assert_eq!(undefuse(&defuse(value)), value, "{value}");
        }
    }
}
