//! The event-study section of the board pack: per outcome, the difference from the comparison
//! group by month relative to the start, with its 95% interval, as a chart and as a table (the
//! table is the accessible form of the chart and what a printed pack relies on).

use std::fmt::Write as _;

use crate::estimate::Estimates;
use crate::outcome::Outcome;
use crate::run::Evaluation;

/// The outcomes charted in the board pack.
const CHARTED: [Outcome; 3] = [
    Outcome::EmergencyAdmissions,
    Outcome::AeAttendances,
    Outcome::GpAppointments,
];

pub(crate) fn event_studies(e: &Evaluation, est: &Estimates, h: &mut String) {
    h.push_str("<h3>Month by month</h3><p>Each point is the difference between the supported people and their comparators in that month, less the average difference before the start (per person-year). Before the start the points should sit around zero; if they drift, the groups were already on different paths.</p>");
    for o in CHARTED {
        let series = &est.event_study[o.index()];
        let points = series
            .iter()
            .enumerate()
            .map(|(k, p)| careweave_charts::Point {
                x: format!("{:+}", e.window.relative(k)),
                y: p.estimate,
                interval: Some((p.low, p.high)),
            })
            .collect();
        let chart = careweave_charts::line_chart(
            &format!("{}: difference from comparators by month from the start, with its 95% confidence interval", o.label()),
            &[careweave_charts::Series {
                name: "Difference per person-year".to_owned(),
                points,
            }],
            Some("+0"),
        );
        let _ = write!(
            h,
            "<figure><figcaption>{}</figcaption>{chart}</figure>",
            careweave_charts::escape(o.label())
        );
        let _ = write!(
            h,
            "<table><caption>{}: difference from comparators by month from the start (95% CI)</caption><thead><tr><th scope=\"col\">Month</th><th scope=\"col\" class=\"n\">Difference</th><th scope=\"col\" class=\"n\">95% CI</th></tr></thead><tbody>",
            o.label()
        );
        for (k, p) in series.iter().enumerate() {
            let _ = write!(
                h,
                "<tr><th scope=\"row\">{:+}</th><td class=\"n\">{:.2}</td><td class=\"n\">{:.2} to {:.2}</td></tr>",
                e.window.relative(k),
                p.estimate,
                p.low,
                p.high
            );
        }
        h.push_str("</tbody></table>");
    }
}
