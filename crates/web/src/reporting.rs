//! Who sees which aggregate figures, and how a count is shown to them: a supervisor sees their own
//! services' exact counts; others who may read aggregates see every service's counts under
//! disclosure control (see `careweave_domain::disclosure`). Shared by the casework reports and the
//! board report (`pages::events`).
//!
//! A report is a list of [`Table`]s of [`Cell`]s holding raw counts. Each table is shown on the
//! page (with its charts, drawn from its own rows by `careweave-charts`, so a chart and its table
//! always agree), written as CSV by `careweave-csv`, and given as JSON; disclosure control is
//! applied at each of those edges, once, the same way. [`period_from`] reads a report's date range.

use std::collections::BTreeMap;

use careweave_domain::access::{self, Principal, Role};
use careweave_domain::disclosure::SafeCount;
use careweave_store::casework::{CaseworkService, ReportPeriod};
use careweave_store::outcomes::ChangeRow;
use chrono::{Months, NaiveDate};

use crate::error::AppError;
use crate::forms::{date_from, FormErrors, Pairs};
use crate::AppState;

/// Which services' figures `who` sees, and whether they leave the team (so need suppression).
pub async fn report_scope(
    state: &AppState,
    who: &Principal,
) -> Result<(Vec<CaseworkService>, bool), AppError> {
    if who.has_role(Role::Supervisor) {
        Ok((state.store.services_worked_by(who).await?, false))
    } else if access::can_read_aggregates(who) {
        Ok((state.store.casework_services().await?, true))
    } else {
        Err(AppError::Forbidden)
    }
}

/// A count as a report shows it: rounded and small numbers hidden when the report leaves the team.
pub fn count_text(n: u64, suppress: bool) -> String {
    if suppress {
        SafeCount::from_raw(n).to_string()
    } else {
        n.to_string()
    }
}

/// A CSV file as a download, named `name`. The body comes from the one CSV writer
/// (careweave-csv), so every report's download quotes and defuses cells the same way.
pub fn csv_download(name: &str, body: String) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A cell of a report table: words, a month, or a raw count that is suppressed when the report
/// leaves the team.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Month(String),
    Count(u64),
}

/// One table of a report, as the page, the CSV and the JSON show it.
#[derive(Debug, Clone)]
pub struct Table {
    /// The name in the CSV address (`?table=`) and the JSON.
    pub name: &'static str,
    pub title: &'static str,
    pub headers: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
    /// The charts drawn beside the table, from its rows.
    pub charts: Vec<ChartSpec>,
}

impl Cell {
    /// The cell as the page shows it.
    pub fn text(&self, suppress: bool) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Month(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                .map_or_else(|_| m.clone(), |d| d.format("%B %Y").to_string()),
            Self::Count(n) => count_text(*n, suppress),
        }
    }

    /// The cell as the CSV writes it: a hidden count reads "suppressed", never its value.
    pub fn csv(&self, suppress: bool) -> String {
        match self {
            Self::Text(t) | Self::Month(t) => t.clone(),
            Self::Count(n) if suppress => SafeCount::from_raw(*n)
                .value()
                .map_or_else(|| "suppressed".to_owned(), |v| v.to_string()),
            Self::Count(n) => n.to_string(),
        }
    }

    /// The cell as the JSON API gives it: a hidden count is null.
    pub fn json(&self, suppress: bool) -> serde_json::Value {
        match self {
            Self::Text(t) | Self::Month(t) => t.clone().into(),
            Self::Count(n) if suppress => SafeCount::from_raw(*n)
                .value()
                .map_or(serde_json::Value::Null, Into::into),
            Self::Count(n) => (*n).into(),
        }
    }
}

/// The table as CSV through careweave's one writer, which quotes per RFC 4180 and defuses text a
/// spreadsheet would run as a formula (theme and practice names are typed by people).
pub fn csv_of(t: &Table, suppress: bool) -> String {
    let mut w = careweave_csv::Writer::with_header(t.headers);
    for row in &t.rows {
        w.record(row.iter().map(|c| c.csv(suppress)));
    }
    w.finish()
}

/// A chart drawn from a table's rows: the `label` column against the sum of the `value` column
/// over the rows that share a label. Sums are of raw counts, and disclosure control is applied to
/// each sum, never to rounded parts.
#[derive(Debug, Clone, Copy)]
pub struct ChartSpec {
    pub title: &'static str,
    pub kind: ChartKind,
    pub label: usize,
    pub value: usize,
}

/// How a chart is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// A trend: one column per calendar month (the label column holds `YYYY-MM`), every month
    /// from the first to the last drawn, a month without rows as a count of nought.
    Months,
    /// A distribution: one bar per label, in the table's order.
    Bars,
}

/// A table as a page shows it: the cells in words and the charts as SVG.
#[derive(Debug, Clone)]
pub struct ShownTable {
    pub name: &'static str,
    pub title: &'static str,
    pub headers: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
    pub charts: Vec<String>,
}

/// The longest trend drawn, so that a date range over many years still draws a readable chart
/// (the table keeps every month).
const MAX_MONTHS: usize = 60;

impl Table {
    /// The table as a page shows it.
    #[must_use]
    pub fn shown(&self, suppress: bool) -> ShownTable {
        ShownTable {
            name: self.name,
            title: self.title,
            headers: self.headers,
            rows: self
                .rows
                .iter()
                .map(|r| r.iter().map(|c| c.text(suppress)).collect())
                .collect(),
            charts: self
                .charts
                .iter()
                .filter(|_| !self.rows.is_empty())
                .map(|spec| self.chart(spec, suppress))
                .collect(),
        }
    }

    /// Keeps only the rows whose month (in the first column) falls in the period, for a table by
    /// month whose store query does not take the period itself.
    pub fn keep_months(&mut self, period: &ReportPeriod) {
        let from = period.from.map(|d| d.format("%Y-%m").to_string());
        let to = period.to.map(|d| d.format("%Y-%m").to_string());
        self.rows.retain(|r| match r.first() {
            Some(Cell::Month(m)) => {
                from.as_ref().is_none_or(|f| m >= f) && to.as_ref().is_none_or(|t| m <= t)
            }
            _ => true,
        });
    }

    fn chart(&self, spec: &ChartSpec, suppress: bool) -> String {
        let mut sums: Vec<(String, u64)> = Vec::new();
        for row in &self.rows {
            let (Some(label), Some(Cell::Count(n))) = (row.get(spec.label), row.get(spec.value))
            else {
                continue;
            };
            let key = match label {
                Cell::Text(t) | Cell::Month(t) => t.clone(),
                Cell::Count(c) => c.to_string(),
            };
            match sums.iter_mut().find(|(k, _)| *k == key) {
                Some((_, total)) => *total += n,
                None => sums.push((key, *n)),
            }
        }
        let value = |n: u64| -> Option<i64> {
            if suppress {
                SafeCount::from_raw(n)
                    .value()
                    .and_then(|v| i64::try_from(v).ok())
            } else {
                i64::try_from(n).ok()
            }
        };
        match spec.kind {
            ChartKind::Bars => careweave_charts::bar_chart(
                spec.title,
                &sums
                    .into_iter()
                    .map(|(k, n)| (k, value(n)))
                    .collect::<Vec<_>>(),
            ),
            ChartKind::Months => {
                let by_month: BTreeMap<String, u64> = sums.into_iter().collect();
                let columns: Vec<(String, Option<i64>)> = every_month(&by_month)
                    .into_iter()
                    .map(|(m, label)| (label, value(by_month.get(&m).copied().unwrap_or(0))))
                    .collect();
                careweave_charts::column_chart(spec.title, &columns)
            }
        }
    }
}

/// The outcome change table both reports show: each instrument's scale with the people measured
/// twice, how many improved and the share. A share the page hides is "suppressed" in the CSV
/// and the JSON too, never its value.
#[must_use]
pub fn outcome_change_table(title: &'static str, change: &[ChangeRow], suppress: bool) -> Table {
    Table {
        name: "outcomes",
        title,
        headers: &[
            "Instrument",
            "Score",
            "People measured twice",
            "Improved",
            "Share improved",
        ],
        charts: Vec::new(),
        rows: change
            .iter()
            .map(|r| {
                let share = r.share_text(suppress);
                vec![
                    Cell::Text(r.instrument.clone()),
                    Cell::Text(r.scale.clone()),
                    Cell::Count(r.pairs),
                    Cell::Count(r.improved),
                    Cell::Text(if share == "Not shown" {
                        "suppressed".to_owned()
                    } else {
                        share
                    }),
                ]
            })
            .collect(),
    }
}

/// Every month from the first to the last key (`YYYY-MM`), at most [`MAX_MONTHS`] of the latest,
/// each with its label ("Mar 2026").
fn every_month(by_month: &BTreeMap<String, u64>) -> Vec<(String, String)> {
    let first_day = |m: &String| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok();
    let (Some(first), Some(last)) = (
        by_month.keys().next().and_then(first_day),
        by_month.keys().next_back().and_then(first_day),
    ) else {
        return Vec::new();
    };
    let mut months = Vec::new();
    let mut m = first;
    while m <= last {
        months.push((m.format("%Y-%m").to_string(), m.format("%b %Y").to_string()));
        m = m + Months::new(1);
    }
    let skip = months.len().saturating_sub(MAX_MONTHS);
    months.into_iter().skip(skip).collect()
}

/// A report's date range from the address (`from-day`, `from-month`, `from-year` and the same
/// for `to`), each end optional; a date that is not one, or a range that ends before it starts,
/// is an error for the page's error summary, and that end is left open.
pub fn period_from(p: &Pairs) -> (ReportPeriod, FormErrors) {
    let mut errors = FormErrors::default();
    let typed = |prefix: &str| {
        ["day", "month", "year"]
            .iter()
            .any(|part| !p.get(&format!("{prefix}-{part}")).trim().is_empty())
            || !p.get(prefix).trim().is_empty()
    };
    let from = typed("from")
        .then(|| date_from(&mut errors, p, "from", "The start date", None))
        .flatten();
    let to = typed("to")
        .then(|| date_from(&mut errors, p, "to", "The end date", None))
        .flatten();
    let mut period = ReportPeriod { from, to };
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors.add(
                "to-day",
                "The end date must be the same as or after the start date",
            );
            period.to = None;
        }
    }
    (period, errors)
}

/// The query string that keeps a report's period on its CSV links (`&from=…&to=…`, ISO dates,
/// which `period_from` reads back), empty for an open period.
#[must_use]
pub fn period_query(period: &ReportPeriod) -> String {
    let mut q = String::new();
    if let Some(f) = period.from {
        q.push_str(&format!("&from={f}"));
    }
    if let Some(t) = period.to {
        q.push_str(&format!("&to={t}"));
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppressed_counts_never_reach_the_csv() {
        let t = Table {
            name: "x",
            title: "X",
            headers: &["Month", "Events"],
            charts: Vec::new(),
            rows: vec![
                vec![Cell::Month("2026-03".into()), Cell::Count(3)],
                vec![Cell::Month("2026-04".into()), Cell::Count(12)],
            ],
        };
        assert_eq!(
            csv_of(&t, true),
            "Month,Events\r\n2026-03,suppressed\r\n2026-04,10\r\n"
        );
        assert_eq!(
            csv_of(&t, false),
            "Month,Events\r\n2026-03,3\r\n2026-04,12\r\n"
        );
        assert_eq!(t.rows[0][0].text(true), "March 2026");
        assert_eq!(t.rows[0][1].text(true), "7 or fewer");
    }

    #[test]
    fn typed_names_are_quoted_and_formulas_defused() {
        let t = Table {
            name: "x",
            title: "X",
            headers: &["Theme", "Events"],
            charts: Vec::new(),
            rows: vec![
                vec![
                    Cell::Text("=HYPERLINK(\"http://evil.example\")".into()),
                    Cell::Count(9),
                ],
                vec![Cell::Text("Falls, trips".into()), Cell::Count(8)],
            ],
        };
        assert_eq!(
            csv_of(&t, false),
            "Theme,Events\r\n\"'=HYPERLINK(\"\"http://evil.example\"\")\",9\r\n\"Falls, trips\",8\r\n"
        );
    }

    #[test]
    fn a_trend_chart_draws_every_month_and_sums_raw_counts_before_suppressing() {
        let t = Table {
            name: "x",
            title: "X",
            headers: &["Month", "Theme", "Events"],
            charts: vec![ChartSpec {
                title: "Events by month",
                kind: ChartKind::Months,
                label: 0,
                value: 2,
            }],
            rows: vec![
                vec![
                    Cell::Month("2026-01".into()),
                    Cell::Text("Falls".into()),
                    Cell::Count(5),
                ],
                vec![
                    Cell::Month("2026-01".into()),
                    Cell::Text("Housing".into()),
                    Cell::Count(5),
                ],
                vec![
                    Cell::Month("2026-03".into()),
                    Cell::Text("Falls".into()),
                    Cell::Count(12),
                ],
            ],
        };
        let shown = t.shown(true);
        let chart = &shown.charts[0];
        // Five and five are each hidden, but their sum of ten is shown (rounded to 10).
        assert!(chart.contains("Jan 2026: 10"), "{chart}");
        assert!(
            chart.contains("Feb 2026: 7 or fewer"),
            "a month with nothing is drawn too"
        );
        assert!(chart.contains("Mar 2026: 10"));
        assert_eq!(shown.rows[0][2], "7 or fewer");
        let exact = t.shown(false);
        assert!(
            exact.charts[0].contains("Mar 2026: 12") && exact.charts[0].contains("Feb 2026: 0")
        );
    }

    #[test]
    fn a_period_is_read_from_the_boxes_and_checked() {
        let pairs = |v: &[(&str, &str)]| {
            Pairs(
                v.iter()
                    .map(|(k, x)| ((*k).to_owned(), (*x).to_owned()))
                    .collect(),
            )
        };
        let (p, e) = period_from(&pairs(&[]));
        assert!(e.is_empty() && p == ReportPeriod::default());
        let (p, e) = period_from(&pairs(&[
            ("from-day", "1"),
            ("from-month", "4"),
            ("from-year", "2026"),
            ("to", "2026-06-30"),
        ]));
        assert!(e.is_empty());
        assert_eq!(p.from, NaiveDate::from_ymd_opt(2026, 4, 1));
        assert_eq!(p.to, NaiveDate::from_ymd_opt(2026, 6, 30));
        assert_eq!(period_query(&p), "&from=2026-04-01&to=2026-06-30");
        let (p, e) = period_from(&pairs(&[("from", "2026-06-30"), ("to", "2026-04-01")]));
        assert!(e.has("to-day") && p.to.is_none());
        let (_, e) = period_from(&pairs(&[
            ("from-day", "31"),
            ("from-month", "2"),
            ("from-year", "2026"),
        ]));
        assert!(e.has("from-day"));
    }

    #[test]
    fn rows_by_month_outside_the_period_are_left_out() {
        let mut t = Table {
            name: "x",
            title: "X",
            headers: &["Month", "Events"],
            charts: Vec::new(),
            rows: vec![
                vec![Cell::Month("2026-01".into()), Cell::Count(1)],
                vec![Cell::Month("2026-02".into()), Cell::Count(1)],
                vec![Cell::Month("2026-03".into()), Cell::Count(1)],
            ],
        };
        t.keep_months(&ReportPeriod {
            from: NaiveDate::from_ymd_opt(2026, 2, 14),
            to: NaiveDate::from_ymd_opt(2026, 2, 20),
        });
        assert_eq!(t.rows.len(), 1);
    }
}
