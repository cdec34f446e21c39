//! The RE-AIM tables and the episode counts as plain tables of published cells, so that the board
//! pack, `summary.json` and the web page (which reads the stored summary) show the same figures
//! and every table can be downloaded as CSV. Every count goes through disclosure control here,
//! before a table exists, so no reader can publish a raw count by mistake.

use std::collections::{BTreeMap, HashSet};

use chrono::Datelike;
use serde::Serialize;

use crate::output::published;
use crate::run::{EpisodeStatus, Evaluation};

/// A table of published cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    /// A short name for file names and addresses, e.g. `reach_imd`.
    pub key: &'static str,
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The table as CSV through the one CSV writer.
    #[must_use]
    pub fn csv(&self) -> String {
        let mut w = careweave_csv::Writer::with_header(self.columns.iter().map(String::as_str));
        for row in &self.rows {
            w.record(row.iter().map(String::as_str));
        }
        w.finish()
    }
}

fn counts(
    e: &Evaluation,
    key: &'static str,
    caption: &str,
    head: &str,
    rows: &BTreeMap<String, u64>,
    total: Option<(&str, &BTreeMap<String, u64>)>,
) -> Table {
    let mut columns = vec![head.to_owned(), "Supported".to_owned()];
    if let Some((label, _)) = total {
        columns.push(label.to_owned());
    }
    let keys: Vec<&String> = match total {
        Some((_, t)) => t
            .keys()
            .chain(rows.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        None => rows.keys().collect(),
    };
    let rows = keys
        .into_iter()
        .map(|k| {
            let mut row = vec![k.clone(), published(e, rows.get(k).copied().unwrap_or(0))];
            if let Some((_, t)) = total {
                row.push(published(e, t.get(k).copied().unwrap_or(0)));
            }
            row
        })
        .collect();
    Table {
        key,
        caption: caption.to_owned(),
        columns,
        rows,
    }
}

/// The five broad groups of the NHS Data Dictionary ethnic category.
fn ethnic_group(code: Option<&str>) -> &'static str {
    match code.unwrap_or("").chars().next() {
        Some('A'..='C') => "White",
        Some('D'..='G') => "Mixed or multiple",
        Some('H'..='L') => "Asian or Asian British",
        Some('M'..='P') => "Black, Black British, Caribbean or African",
        Some('R' | 'S') => "Other ethnic group",
        _ => "Not stated",
    }
}

fn median(v: &mut [f64]) -> Option<f64> {
    (!v.is_empty()).then(|| crate::stats::quantile(v, 0.5))
}

/// Reach: people supported and evaluated by IMD quintile (against adults registered at the extract
/// date, so a reader sees whether the service reaches Core20) and by ethnic group.
#[must_use]
pub fn reach(e: &Evaluation) -> (String, Vec<Table>) {
    let people: HashSet<usize> = e
        .statuses
        .iter()
        .filter_map(|s| match s {
            EpisodeStatus::Evaluated { person, .. } => Some(*person),
            EpisodeStatus::Excluded(_) => None,
        })
        .collect();
    let on = e.panel.extract_date;
    let mut by_imd: BTreeMap<String, u64> = BTreeMap::new();
    let mut all_imd: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_eth: BTreeMap<String, u64> = BTreeMap::new();
    let quintile = |q: u8| match q {
        1 => "1 (most deprived, Core20)".to_owned(),
        0 => "Not known".to_owned(),
        q => q.to_string(),
    };
    for (i, p) in e.panel.people.iter().enumerate() {
        let adult = careweave_domain::dates::age_on(p.date_of_birth, on) >= e.settings.min_age;
        if adult && p.death.is_none() {
            *all_imd.entry(quintile(p.imd_quintile)).or_insert(0) += 1;
        }
        if people.contains(&i) {
            *by_imd.entry(quintile(p.imd_quintile)).or_insert(0) += 1;
            *by_eth
                .entry(ethnic_group(p.ethnicity.as_deref()).to_owned())
                .or_insert(0) += 1;
        }
    }
    let lead = format!(
        "{} people were supported and evaluated.",
        published(e, people.len() as u64)
    );
    (
        lead,
        vec![
            counts(
                e,
                "reach_imd",
                "People supported by IMD quintile, against adults registered at the extract date",
                "IMD quintile",
                &by_imd,
                Some(("Adults registered", &all_imd)),
            ),
            counts(
                e,
                "reach_ethnicity",
                "People supported by ethnic group",
                "Ethnic group",
                &by_eth,
                None,
            ),
        ],
    )
}

/// Adoption (evaluated episodes by practice), implementation (contacts, waits, durations,
/// re-entries) and maintenance (referrals by quarter).
#[must_use]
pub fn adoption_and_implementation(e: &Evaluation) -> Vec<Table> {
    let mut by_practice: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_quarter: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_person: BTreeMap<usize, u64> = BTreeMap::new();
    let (mut contacts, mut wait, mut length) = (Vec::new(), Vec::new(), Vec::new());
    for (ep, s) in e.exposures.episodes.iter().zip(&e.statuses) {
        let q = (ep.referral.month0() / 3) + 1;
        *by_quarter
            .entry(format!("{} Q{q}", ep.referral.year()))
            .or_insert(0) += 1;
        if let EpisodeStatus::Evaluated { person, .. } = s {
            *by_practice
                .entry(e.panel.people[*person].practice.clone())
                .or_insert(0) += 1;
            *per_person.entry(*person).or_insert(0) += 1;
        }
        if let Some(c) = ep.contacts {
            contacts.push(f64::from(c));
        }
        if let Some(f) = ep.first_contact {
            wait.push((f - ep.referral).num_days() as f64);
        }
        if let Some(d) = ep.discharge {
            length.push((d - ep.referral).num_days() as f64);
        }
    }
    let med = |v: &mut Vec<f64>| median(v).map_or("not recorded".to_owned(), |m| format!("{m:.0}"));
    let implementation = Table {
        key: "implementation",
        caption: "How support was delivered".to_owned(),
        columns: vec!["Measure".to_owned(), "Value".to_owned()],
        rows: vec![
            vec![
                "Contacts per episode (median)".to_owned(),
                med(&mut contacts),
            ],
            vec![
                "Days from referral to first contact (median)".to_owned(),
                med(&mut wait),
            ],
            vec![
                "Days from referral to discharge (median)".to_owned(),
                med(&mut length),
            ],
            vec![
                "People with more than one episode (re-entries)".to_owned(),
                published(e, per_person.values().filter(|n| **n > 1).count() as u64),
            ],
        ],
    };
    vec![
        counts(
            e,
            "adoption_practice",
            "Evaluated episodes by registered practice",
            "Practice",
            &by_practice,
            None,
        ),
        implementation,
        counts(
            e,
            "maintenance_quarter",
            "Referrals by quarter",
            "Quarter",
            &by_quarter,
            None,
        ),
    ]
}

/// The episodes: rows read and refused, matched, cut short and not evaluated with the reason.
#[must_use]
pub fn episodes(e: &Evaluation) -> Table {
    let m = &e.matching;
    let (pre, post) = e.shortened();
    let mut rows = vec![
        ("Rows in the exposure file", e.exposures.read),
        (
            "Rows refused (see exposure_diagnostics.csv)",
            e.exposures.rejected,
        ),
        ("Episodes matched", m.sets.len() as u64),
        (
            "Matched with fewer comparators than asked",
            m.fewer_than_asked as u64,
        ),
        (
            "Comparators referred themselves during the after-period",
            e.comparators_supported_later(),
        ),
        ("Before-period cut short by the start of the extract", pre),
        ("After-period cut short by the extract date", post),
    ]
    .into_iter()
    .map(|(label, n)| vec![label.to_owned(), published(e, n)])
    .collect::<Vec<_>>();
    for (why, n) in e.not_evaluated() {
        rows.push(vec![format!("Not evaluated: {why}"), published(e, n)]);
    }
    Table {
        key: "episodes",
        caption: "Episodes".to_owned(),
        columns: vec!["Episodes".to_owned(), "Count".to_owned()],
        rows,
    }
}

/// Every table, in the order the page shows them.
#[must_use]
pub fn all(e: &Evaluation) -> Vec<Table> {
    let mut out = reach(e).1;
    out.extend(adoption_and_implementation(e));
    out.push(episodes(e));
    out
}
