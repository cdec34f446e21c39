//! `careweave evaluation explain`: why one supported person's comparators were chosen, for the
//! care team that supports them (docs/evaluation.md, "Explaining one person's comparison").
//!
//! What is safe to show: the supported person's own pre-period profile (their care team already
//! holds it), and for each comparator only what makes the comparison understandable, the same
//! profile, coarsened, under a label ("Comparator 1"). A comparator is somebody the team does not
//! look after, so their NHS number, date of birth, practice and exact age never appear: ages are
//! shown in five-year bands, and nothing else in the profile names anyone. The comparators' use
//! after the start is left out too, because the team does not need another person's outcomes to
//! understand the match.

use std::fmt::Write as _;

use careweave_domain::NhsNumber;

use crate::matching::{covariates, COVARIATES};
use crate::run::{EpisodeStatus, Evaluation};

/// A five-year age band, such as "70–74".
fn age_band(age: f64) -> String {
    let low = (age.max(0.0) as u32 / 5) * 5;
    format!("{low}–{}", low + 4)
}

fn value(variable: &str, x: f64, coarse: bool) -> String {
    match variable {
        "age" if coarse => age_band(x),
        "female" => (if x >= 0.5 { "female" } else { "male" }).to_owned(),
        _ if x.fract() == 0.0 => format!("{x:.0}"),
        _ => format!("{x:.2}"),
    }
}

/// The explanation of every episode of the person with `nhs_number`, or `None` when they have no
/// episode in the exposure table.
#[must_use]
pub fn explain(e: &Evaluation, nhs_number: &NhsNumber) -> Option<String> {
    let episodes: Vec<usize> = e
        .exposures
        .episodes
        .iter()
        .enumerate()
        .filter(|(_, ep)| &ep.nhs_number == nhs_number)
        .map(|(k, _)| k)
        .collect();
    if episodes.is_empty() {
        return None;
    }
    let mut out = String::new();
    for k in episodes {
        let ep = &e.exposures.episodes[k];
        let _ = writeln!(
            out,
            "Episode on line {} of the exposures ({}, referred {}):",
            ep.line, ep.service, ep.referral
        );
        let (person, start) = match &e.statuses[k] {
            EpisodeStatus::Excluded(why) => {
                let _ = writeln!(out, "  not evaluated: {why}.\n");
                continue;
            }
            EpisodeStatus::Evaluated { person, start, .. } => (*person, *start),
        };
        let Some(set) = e.matching.sets.iter().find(|s| s.episode == k) else {
            let why = e
                .matching
                .unmatched
                .iter()
                .find(|(u, _)| *u == k)
                .map_or("not matched", |(_, why)| why);
            let _ = writeln!(out, "  {why}.\n");
            continue;
        };
        let month = e
            .panel
            .month_date(start)
            .map_or_else(String::new, |d| d.format("%B %Y").to_string());
        let _ = writeln!(
            out,
            "  matched at the start month {month} with {} comparator(s){}.",
            set.comparators.len(),
            set.score
                .map(|p| format!("; propensity score {p:.3}"))
                .unwrap_or_default()
        );
        let rows: Vec<Vec<f64>> = std::iter::once(person)
            .chain(set.comparators.iter().copied())
            .map(|p| covariates(&e.panel, p, start))
            .collect();
        let mut header = format!("  {:<30}{:>14}", "profile before the start", "this person");
        for c in 1..rows.len() {
            let label = format!("comparator {c}");
            let _ = write!(header, "{label:>14}");
        }
        let _ = writeln!(out, "{header}");
        for (j, variable) in COVARIATES.iter().enumerate() {
            let mut line = format!(
                "  {:<30}{:>14}",
                variable.replace('_', " "),
                value(variable, rows[0][j], false)
            );
            for row in &rows[1..] {
                let _ = write!(line, "{:>14}", value(variable, row[j], true));
            }
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    out.push_str(
        "Comparators are shown by label only: they are not in this care team's care, so no \
         identifier, date of birth, practice or later use of theirs is printed (docs/evaluation.md).\n",
    );
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comparator_age_is_shown_as_a_five_year_band() {
        assert_eq!(value("age", 73.0, true), "70–74");
        assert_eq!(value("age", 73.0, false), "73");
        assert_eq!(value("female", 1.0, true), "female");
        // Two decimals; 0.125 itself would show the formatter's half-to-even tie ("0.12").
        assert_eq!(value("efi", 0.1267, true), "0.13");
    }
}
