//! The run's outputs: aggregate tables (CSV through the one CSV writer), `summary.json` for the
//! web page, the care team's person-level files and the board pack (`report.html`).
//!
//! Aggregate files carry counts only through disclosure control; `matched_sets.csv` and
//! `unmatched.csv` name people and say so in their names' documentation (README.md).

use std::path::{Path, PathBuf};

use careweave_domain::disclosure::SafeCount;

use crate::estimate::Interval;
use crate::outcome::Outcome;
use crate::run::{EpisodeStatus, Evaluation};
use crate::EvaluationError;

/// A count as published: suppressed and rounded unless disclosure control is off.
#[must_use]
pub fn published(e: &Evaluation, n: u64) -> String {
    if e.settings.disclosure_control {
        SafeCount::from_raw(n).to_string()
    } else {
        n.to_string()
    }
}

/// The published count as a number (`None` when suppressed), for JSON.
fn published_number(e: &Evaluation, n: u64) -> Option<u64> {
    if e.settings.disclosure_control {
        SafeCount::from_raw(n).value()
    } else {
        Some(n)
    }
}

fn amount(o: Outcome, x: f64) -> String {
    if o == Outcome::Cost {
        format!("£{:.0}", x.abs())
    } else {
        format!("{:.2}", x.abs())
    }
}

/// One plain-English sentence for an outcome's difference-in-differences.
#[must_use]
pub fn sentence(o: Outcome, did: &Interval) -> String {
    let per = "per person-year";
    let label = o.label();
    if !did.estimate.is_finite() {
        return format!("{label}: there was too little time at risk to estimate a change.");
    }
    if did.covers(0.0) || !did.low.is_finite() {
        return format!(
            "{label} changed by {}{} {per} compared with similar people who were not supported \
             (95% CI {}{} to {}{}); the interval includes no difference, so this evaluation cannot \
             tell whether the support changed it.",
            sign(did.estimate),
            amount(o, did.estimate),
            sign(did.low),
            amount(o, did.low),
            sign(did.high),
            amount(o, did.high)
        );
    }
    let (verb, low, high) = if did.estimate < 0.0 {
        ("fell", -did.high, -did.low)
    } else {
        ("rose", did.low, did.high)
    };
    format!(
        "{label} {verb} by {} {per} more than in similar people who were not supported (95% CI {} to {}).",
        amount(o, did.estimate),
        amount(o, low),
        amount(o, high)
    )
}

fn sign(x: f64) -> &'static str {
    if x < 0.0 {
        "−"
    } else {
        ""
    }
}

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        String::new()
    }
}

fn write_file(
    dir: &Path,
    name: &str,
    text: &str,
    written: &mut Vec<PathBuf>,
) -> Result<(), EvaluationError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|source| EvaluationError::Io {
        path: path.clone(),
        source,
    })?;
    written.push(path);
    Ok(())
}

/// Writes every output into `out` (created if needed) and returns the paths written.
///
/// # Errors
/// A file cannot be written.
pub fn write(e: &Evaluation, out: &Path) -> Result<Vec<PathBuf>, EvaluationError> {
    std::fs::create_dir_all(out).map_err(|source| EvaluationError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    if let Some(est) = &e.estimates {
        let mut w = careweave_csv::Writer::with_header([
            "outcome",
            "supported_rate_before",
            "supported_rate_after",
            "comparison_rate_before",
            "comparison_rate_after",
            "naive_change",
            "naive_low",
            "naive_high",
            "naive_relative",
            "did",
            "did_low",
            "did_high",
            "relative",
            "relative_low",
            "relative_high",
            "sentence",
        ]);
        let f = &est.figures;
        for o in Outcome::ALL {
            let i = o.index();
            let (d, r, n) = (&est.did[i], &est.relative[i], &est.naive[i]);
            w.record([
                o.key().to_owned(),
                num(f.supported_before[i]),
                num(f.supported_after[i]),
                num(f.comparison_before[i]),
                num(f.comparison_after[i]),
                num(n.estimate),
                num(n.low),
                num(n.high),
                num(est.naive_relative[i].estimate),
                num(d.estimate),
                num(d.low),
                num(d.high),
                num(r.estimate),
                num(r.low),
                num(r.high),
                sentence(o, d),
            ]);
        }
        write_file(out, "estimates.csv", &w.finish(), &mut written)?;
        let mut w =
            careweave_csv::Writer::with_header(["outcome", "month", "estimate", "low", "high"]);
        for o in Outcome::ALL {
            for (k, p) in est.event_study[o.index()].iter().enumerate() {
                w.record([
                    o.key().to_owned(),
                    e.window.relative(k).to_string(),
                    num(p.estimate),
                    num(p.low),
                    num(p.high),
                ]);
            }
        }
        write_file(out, "event_study.csv", &w.finish(), &mut written)?;
    }
    let mut w = careweave_csv::Writer::with_header([
        "variable",
        "supported_mean",
        "comparison_mean_before",
        "comparison_mean_after",
        "smd_before",
        "smd_after",
    ]);
    for b in &e.matching.balance {
        w.record([
            b.variable.to_owned(),
            num(b.supported_mean),
            num(b.comparison_mean_before),
            num(b.comparison_mean_after),
            num(b.smd_before),
            num(b.smd_after),
        ]);
    }
    write_file(out, "balance.csv", &w.finish(), &mut written)?;

    // Every RE-AIM table of the board pack, as CSV beside it.
    for t in crate::tables::all(e) {
        write_file(out, &format!("{}.csv", t.key), &t.csv(), &mut written)?;
    }
    let mut w = careweave_csv::Writer::with_header(["reason", "episodes"]);
    for (why, n) in e.not_evaluated() {
        w.record([why.to_owned(), published(e, n)]);
    }
    write_file(out, "not_evaluated.csv", &w.finish(), &mut written)?;

    let mut w = careweave_csv::Writer::with_header(["line", "field", "problem"]);
    for d in &e.exposures.diagnostics {
        w.record([d.line.to_string(), d.field.to_owned(), d.problem.clone()]);
    }
    write_file(out, "exposure_diagnostics.csv", &w.finish(), &mut written)?;

    // Person-level files for the care team: who was compared with whom, and who could not be.
    let mut w = careweave_csv::Writer::with_header([
        "exposure_line",
        "nhs_number",
        "start_month",
        "comparator_nhs_number",
        "propensity_score",
    ]);
    for s in &e.matching.sets {
        let ep = &e.exposures.episodes[s.episode];
        let start = e
            .panel
            .month_date(s.start)
            .map(|d| d.to_string())
            .unwrap_or_default();
        for &c in &s.comparators {
            w.record([
                ep.line.to_string(),
                ep.nhs_number.as_digits(),
                start.clone(),
                e.panel.people[c].nhs_number.as_digits(),
                s.score.map(num).unwrap_or_default(),
            ]);
        }
    }
    write_file(out, "matched_sets.csv", &w.finish(), &mut written)?;
    let mut w = careweave_csv::Writer::with_header(["exposure_line", "nhs_number", "reason"]);
    let unmatched = e.matching.unmatched.iter().map(|(k, why)| (*k, *why));
    let excluded = e.statuses.iter().enumerate().filter_map(|(k, s)| match s {
        EpisodeStatus::Excluded(why) => Some((k, *why)),
        EpisodeStatus::Evaluated { .. } => None,
    });
    let mut rows: Vec<(usize, &str)> = excluded.chain(unmatched).collect();
    rows.sort_unstable();
    for (k, why) in rows {
        let ep = &e.exposures.episodes[k];
        w.record([
            ep.line.to_string(),
            ep.nhs_number.as_digits(),
            why.to_owned(),
        ]);
    }
    write_file(out, "unmatched.csv", &w.finish(), &mut written)?;

    write_file(
        out,
        "summary.json",
        &serde_json::to_string_pretty(&summary(e)).unwrap_or_default(),
        &mut written,
    )?;
    write_file(out, "report.html", &crate::report::html(e), &mut written)?;
    Ok(written)
}

/// The aggregate, disclosure-controlled summary that the web page shows.
#[must_use]
pub fn summary(e: &Evaluation) -> serde_json::Value {
    let (pre_short, post_short) = e.shortened();
    let outcomes: Vec<serde_json::Value> = e
        .estimates
        .iter()
        .flat_map(|est| {
            Outcome::ALL.iter().map(move |o| {
                let i = o.index();
                serde_json::json!({
                    "outcome": o.key(),
                    "label": o.label(),
                    "did": est.did[i],
                    "relative": est.relative[i],
                    "naive": est.naive[i],
                    "naive_relative": est.naive_relative[i],
                    "supported_rate_before": est.figures.supported_before[i],
                    "supported_rate_after": est.figures.supported_after[i],
                    "comparison_rate_before": est.figures.comparison_before[i],
                    "comparison_rate_after": est.figures.comparison_after[i],
                    "sentence": sentence(*o, &est.did[i]),
                    "event_study": est.event_study[i],
                })
            })
        })
        .collect();
    serde_json::json!({
        "service": e.settings.service_name,
        "extract_date": e.panel.extract_date.to_string(),
        "method": e.settings.method.describe(),
        "months_before": e.settings.months_before,
        "months_after": e.settings.months_after,
        "disclosure_control": e.settings.disclosure_control,
        "episodes": {
            "rows_read": published_number(e, e.exposures.read),
            "rows_rejected": published_number(e, e.exposures.rejected),
            "evaluated": published_number(e, e.statuses.iter().filter(|s| matches!(s, EpisodeStatus::Evaluated { .. })).count() as u64),
            "matched": published_number(e, e.matching.sets.len() as u64),
            "fewer_comparators_than_asked": published_number(e, e.matching.fewer_than_asked as u64),
            "pre_period_shortened": published_number(e, pre_short),
            "post_period_shortened": published_number(e, post_short),
            "not_evaluated": e.not_evaluated().into_iter().map(|(k, n)| (k.to_owned(), published(e, n))).collect::<std::collections::BTreeMap<_, _>>(),
        },
        "balance": e.matching.balance,
        "tables": crate::tables::all(e),
        "outcomes": outcomes,
        "value": e.estimates.as_ref().map(|est| serde_json::json!({
            "avoided_cost": est.avoided_cost,
            "service_cost": est.service_cost,
            "return_per_pound": est.return_per_pound,
            "note": "Notional, not cashable: activity avoided priced at unit costs is capacity freed for others, not money returned.",
        })),
    })
}
