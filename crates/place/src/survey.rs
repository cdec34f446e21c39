//! The community survey import: a CSV file of answers with `question` and `answer` columns and any
//! number of demographic columns (age band, ward, ethnic group…), each becoming a group the themes
//! are counted by.
//!
//! It follows careweave's CSV reader conventions: the header names the columns (matched trimmed and
//! case-blind), every cell is passed through `careweave_csv::undefuse` so that a file careweave
//! exported reads back unchanged, and a bad row is reported with its line and field instead of
//! being dropped silently (read = accepted + rejected).
//!
//! No personal identifier may be kept from a survey: a file with a column whose name or values
//! look like names, NHS numbers, email addresses, phone numbers, addresses or dates of birth is
//! refused whole, naming the column; an answer that contains an email address or a long number is
//! rejected as a row, so that the rest of the file still imports.

use crate::FileError;

/// The longest answer kept: a paragraph of free text.
pub const ANSWER_MAX: usize = 2000;
/// The longest question or demographic value kept.
pub const SHORT_MAX: usize = 200;
/// How a blank demographic value is shown and counted.
pub const NOT_STATED: &str = "Not stated";

/// A theme and the words that tag free text with it (matched at the start of a word, so
/// `lonel` finds "lonely" and "loneliness").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub code: String,
    pub keywords: Vec<String>,
}

/// One accepted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub line: usize,
    pub question: String,
    pub answer: String,
    /// (demographic field, value), one per demographic column in the file's order.
    pub groups: Vec<(String, String)>,
    /// The codes of the themes the answer's text matched.
    pub themes: Vec<String>,
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: usize,
    pub field: String,
    pub reason: String,
}

/// What a readable file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyImport {
    /// The demographic columns, in the file's order.
    pub fields: Vec<String>,
    pub responses: Vec<Response>,
    pub rejected: Vec<Rejected>,
}

/// The parts of a column name that say it identifies people.
const IDENTIFYING_NAMES: &[(&str, &str)] = &[
    ("name", "names"),
    ("nhs", "NHS numbers"),
    ("email", "email addresses"),
    ("phone", "phone numbers"),
    ("mobile", "phone numbers"),
    ("postcode", "postcodes"),
    ("address", "addresses"),
    ("birth", "dates of birth"),
];

/// Column names that identify people only as the whole name (a "tel" inside "hotel" does not).
const IDENTIFYING_WHOLE: &[(&str, &str)] = &[("tel", "phone numbers"), ("dob", "dates of birth")];

/// Why a column name looks identifying, if it does.
fn identifying_column(name: &str) -> Option<&'static str> {
    let squashed: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    IDENTIFYING_NAMES
        .iter()
        .find(|(part, _)| squashed.contains(part))
        .or_else(|| IDENTIFYING_WHOLE.iter().find(|(w, _)| squashed == *w))
        .map(|(_, what)| *what)
}

/// Why a value looks like it identifies someone: an email address, or a run of ten or more
/// digits (an NHS number or a phone number, however it is spaced).
#[must_use]
pub fn identifying_value(value: &str) -> Option<&'static str> {
    let email = value.split_whitespace().any(|w| {
        w.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
    });
    if email {
        return Some("an email address");
    }
    // Spaces, dashes, brackets and plus signs are how people group the digits of a number, so
    // they are ignored; any other character ends a run.
    let mut run = 0;
    let mut longest = 0;
    for c in value.chars() {
        if c.is_ascii_digit() {
            run += 1;
            longest = longest.max(run);
        } else if !matches!(c, ' ' | '-' | '(' | ')' | '+') {
            run = 0;
        }
    }
    (longest >= 10).then_some("an NHS number or a phone number")
}

/// The codes of the themes whose keywords start a word of `text` (or, for a keyword of several
/// words, start a run of its words), in the themes' order.
#[must_use]
pub fn tag(text: &str, themes: &[Theme]) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let joined = format!(" {}", words.join(" "));
    themes
        .iter()
        .filter(|t| {
            t.keywords.iter().any(|k| {
                let k = k.trim().to_lowercase();
                !k.is_empty() && joined.contains(&format!(" {k}"))
            })
        })
        .map(|t| t.code.clone())
        .collect()
}

/// The line (from 1) a record starting at byte `byte` of `text` is on. Counted from the text
/// rather than taken from the reader's own line count, which is one short after a CRLF ending:
/// the reader puts a record's start at the line feed that ends the line before, so line breaks at
/// the start are skipped first.
fn line_at(text: &str, byte: u64) -> usize {
    let bytes = text.as_bytes();
    let mut end = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
    while end < bytes.len() && matches!(bytes[end], b'\r' | b'\n') {
        end += 1;
    }
    1 + bytes[..end].iter().filter(|&&b| b == b'\n').count()
}

/// Reads a survey file, tagging each answer with `themes`.
///
/// # Errors
/// The file is refused whole (naming `file` and the column) when it is not CSV, lacks the
/// `question` or `answer` column, or has a column that identifies people.
pub fn read(file: &str, text: &str, themes: &[Theme]) -> Result<SurveyImport, FileError> {
    let refuse = |field: &str, reason: String| FileError {
        file: file.to_owned(),
        field: field.to_owned(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| refuse("(file)", format!("the file is not readable CSV: {e}")))?
        .iter()
        .map(|h| careweave_csv::undefuse(h).to_owned())
        .collect();
    let position = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(question), Some(answer)) = (position("question"), position("answer")) else {
        return Err(refuse(
            "(header)",
            "the first line must name the columns, including 'question' and 'answer'".into(),
        ));
    };
    for h in &headers {
        if h.is_empty() {
            return Err(refuse("(header)", "a column has no name".into()));
        }
        if let Some(what) = identifying_column(h) {
            return Err(refuse(
                h,
                format!(
                    "the column '{h}' looks like it holds {what}; remove it and import again \
                     (surveys are kept without anything that identifies people)"
                ),
            ));
        }
    }
    let demographic: Vec<usize> = (0..headers.len())
        .filter(|&i| i != question && i != answer)
        .collect();
    let mut out = SurveyImport {
        fields: demographic.iter().map(|&i| headers[i].clone()).collect(),
        ..SurveyImport::default()
    };
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let fallback = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(fallback, |p| line_at(text, p.byte()));
                out.rejected.push(Rejected {
                    line,
                    field: "row".into(),
                    reason: format!("the row cannot be read: {e}"),
                });
                continue;
            }
        };
        let line = record
            .position()
            .map_or(fallback, |p| line_at(text, p.byte()));
        if record.len() != headers.len() {
            out.rejected.push(Rejected {
                line,
                field: "row".into(),
                reason: format!(
                    "the row has {} cells but the header names {} columns",
                    record.len(),
                    headers.len()
                ),
            });
            continue;
        }
        let cells: Vec<String> = record
            .iter()
            .map(|c| careweave_csv::undefuse(c).to_owned())
            .collect();
        // A demographic value that identifies someone condemns the whole column, as a name in
        // the header would: the next row may hold the same thing.
        for &d in &demographic {
            if let Some(what) = identifying_value(&cells[d]) {
                let h = &headers[d];
                return Err(refuse(
                    h,
                    format!(
                        "the column '{h}' holds {what} (line {line}); remove the column and \
                         import again (surveys are kept without anything that identifies people)"
                    ),
                ));
            }
        }
        rows.push((line, cells));
    }
    for (line, cells) in rows {
        let mut reject = |field: &str, reason: String| {
            out.rejected.push(Rejected {
                line,
                field: field.to_owned(),
                reason,
            });
        };
        let (q, a) = (&cells[question], &cells[answer]);
        if q.is_empty() {
            reject("question", "the question is blank".into());
        } else if q.chars().count() > SHORT_MAX {
            reject(
                "question",
                format!("the question is longer than {SHORT_MAX} characters"),
            );
        } else if a.is_empty() {
            reject("answer", "the answer is blank".into());
        } else if a.chars().count() > ANSWER_MAX {
            reject(
                "answer",
                format!("the answer is longer than {ANSWER_MAX} characters"),
            );
        } else if let Some(what) = identifying_value(a) {
            reject(
                "answer",
                format!("the answer contains {what}; remove it and import the row again"),
            );
        } else if let Some(&d) = demographic
            .iter()
            .find(|&&d| cells[d].chars().count() > SHORT_MAX)
        {
            reject(
                &headers[d],
                format!("the value is longer than {SHORT_MAX} characters"),
            );
        } else {
            out.responses.push(Response {
                line,
                question: q.clone(),
                answer: a.clone(),
                groups: demographic
                    .iter()
                    .map(|&d| {
                        let v = if cells[d].is_empty() {
                            NOT_STATED.to_owned()
                        } else {
                            cells[d].clone()
                        };
                        (headers[d].clone(), v)
                    })
                    .collect(),
                themes: tag(a, themes),
            });
        }
    }
    out.rejected.sort_by_key(|r| r.line);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn themes() -> Vec<Theme> {
        vec![
            Theme {
                code: "isolation".into(),
                keywords: vec!["lonel".into(), "isolat".into(), "on my own".into()],
            },
            Theme {
                code: "transport".into(),
                keywords: vec!["bus".into(), "transport".into()],
            },
        ]
    }

    #[test]
    fn answers_import_with_groups_and_themes() {
        let csv = "Question,Answer,Age band,Ward\r\n\
                   What would help?,The bus stopped running and I feel lonely,75+,Riverside\r\n\
                   What would help?,More GP appointments,,Hillside\r\n";
        let s = read("s.csv", csv, &themes()).unwrap();
        assert_eq!(s.fields, ["Age band", "Ward"]);
        assert_eq!(s.responses.len(), 2);
        assert!(s.rejected.is_empty());
        assert_eq!(s.responses[0].themes, ["isolation", "transport"]);
        assert_eq!(s.responses[0].line, 2, "{s:?}");
        assert!(s.responses[1].themes.is_empty());
        assert_eq!(
            s.responses[1].groups,
            [
                ("Age band".to_owned(), NOT_STATED.to_owned()),
                ("Ward".to_owned(), "Hillside".to_owned())
            ]
        );
        assert_eq!(tag("Rebus puzzles", &themes()), Vec::<String>::new());
        assert_eq!(tag("I'm on my own most days", &themes()), ["isolation"]);
    }

    #[test]
    fn identifying_columns_refuse_the_file_naming_the_column() {
        for (header, what) in [
            ("Full name", "names"),
            ("NHS number", "NHS numbers"),
            ("E-mail", "email addresses"),
            ("Tel", "phone numbers"),
            ("Mobile no.", "phone numbers"),
            ("Date of birth", "dates of birth"),
        ] {
            let csv = format!("question,answer,{header}\nq,a,x\n");
            let e = read("s.csv", &csv, &[]).unwrap_err();
            assert_eq!(e.field, header);
            assert!(e.reason.contains(&format!("'{header}'")), "{e}");
            assert!(e.reason.contains(what), "{e}");
        }
        // A column whose name is innocent but whose values are email addresses or numbers.
        let e = read(
            "s.csv",
            "question,answer,contact\nq,a,someone@example.org\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.field, "contact");
        assert!(e.reason.contains("email"), "{e}");
        let e = read("s.csv", "question,answer,ref\nq,a,943 476 5919\n", &[]).unwrap_err();
        assert_eq!(e.field, "ref");
        assert!(read("s.csv", "question,answer,Hotel\nq,a,x\n", &[]).is_ok());
    }

    #[test]
    fn bad_rows_are_reported_with_line_and_field_and_the_rest_import() {
        let csv = "question,answer,ward\n\
                   q1,fine answer,A\n\
                   ,no question,A\n\
                   q3,,A\n\
                   q4,call me on 07700 900123,A\n\
                   q5,too,many,cells\n\
                   q6,\"an answer\nover two lines\",B\n\
                   q7,last,C\n";
        let s = read("s.csv", csv, &[]).unwrap();
        let got: Vec<(usize, &str)> = s
            .rejected
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(
            got,
            [(3, "question"), (4, "answer"), (5, "answer"), (6, "row")]
        );
        let lines: Vec<usize> = s.responses.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 7, 9]);
        assert_eq!(s.responses.len() + s.rejected.len(), 7);
    }

    #[test]
    fn defused_cells_read_back_and_files_without_the_columns_are_refused() {
        let s = read("s.csv", "question,answer\nq,'=1+2\n", &[]).unwrap();
        assert_eq!(s.responses[0].answer, "=1+2");
        let e = read("s.csv", "q,a\nx,y\n", &[]).unwrap_err();
        assert_eq!(e.field, "(header)");
    }

    #[test]
    fn numbers_and_emails_in_text_are_found_however_spaced() {
        assert!(identifying_value("ring 0161 496 0000 please").is_some());
        assert!(identifying_value("(0161) 4960000").is_some());
        assert!(identifying_value("a.b@example.org").is_some());
        assert!(identifying_value("aged 75, since 2019, 3 times").is_none());
        assert!(identifying_value("@ the surgery.").is_none());
    }
}
