//! The board pack: one offline HTML file (no script, no request to another host) with RE-AIM
//! sections as far as the extract and the exposures allow, the estimates beside the naive figure,
//! the balance table and a print stylesheet. Every count is published through disclosure control.

use std::fmt::Write as _;

use crate::outcome::Outcome;
use crate::output::sentence;
use crate::run::Evaluation;
use crate::tables::{self, Table};

use careweave_charts::escape as esc;

const STYLE: &str = "body{font-family:Arial,sans-serif;color:#212b32;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.5}\
h1{font-size:2rem}h2{font-size:1.5rem;margin-top:2rem;border-top:4px solid #005eb8;padding-top:.5rem}\
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border-bottom:1px solid #d8dde0;padding:.4rem;text-align:left;vertical-align:top}\
td.n,th.n{text-align:right}caption{font-weight:bold;text-align:left;padding:.4rem 0}\
.inset{border-left:8px solid #005eb8;padding:.5rem 1rem;background:#f0f4f5}.warn{border-left-color:#ffeb3b}\
figure{margin:1rem 0}figcaption{font-weight:bold}\
@media print{body{max-width:none;font-size:10pt}h2{break-before:page}table,figure{break-inside:avoid}a{color:inherit}}";

fn num(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "not estimable".to_owned()
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.0}%", x * 100.0)
    } else {
        "not estimable".to_owned()
    }
}

/// A table of published cells: the first column heads each row, the others are figures.
fn table_html(t: &Table) -> String {
    let mut h = format!("<table><caption>{}</caption><thead><tr>", esc(&t.caption));
    for (k, c) in t.columns.iter().enumerate() {
        let class = if k == 0 { "" } else { " class=\"n\"" };
        let _ = write!(h, "<th scope=\"col\"{class}>{}</th>", esc(c));
    }
    h.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        h.push_str("<tr>");
        for (k, cell) in row.iter().enumerate() {
            if k == 0 {
                let _ = write!(h, "<th scope=\"row\">{}</th>", esc(cell));
            } else {
                let _ = write!(h, "<td class=\"n\">{}</td>", esc(cell));
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h
}

/// The whole report.
#[must_use]
pub fn html(e: &Evaluation) -> String {
    let mut h = String::new();
    let service = esc(&e.settings.service_name);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Impact evaluation: {service}</title><style>{STYLE}</style></head><body><main>\
         <h1>Impact evaluation: {service}</h1>\
         <p>Service use of the people supported, {before} months before and {after} months from the month their support started, \
         compared with similar people who were not supported at the same time. Extract to {date}.</p>",
        before = e.settings.months_before,
        after = e.settings.months_after,
        date = e.panel.extract_date
    );
    effectiveness(e, &mut h);
    value(e, &mut h);
    reach(e, &mut h);
    adoption_and_implementation(e, &mut h);
    comparison_group(e, &mut h);
    method(e, &mut h);
    h.push_str("</main></body></html>\n");
    h
}

fn effectiveness(e: &Evaluation, h: &mut String) {
    h.push_str("<h2 id=\"effectiveness\">Effectiveness: did use of services change?</h2>");
    let Some(est) = &e.estimates else {
        h.push_str("<p class=\"inset warn\">No supported episode could be matched, so there is no estimate.</p>");
        return;
    };
    h.push_str("<div class=\"inset\"><ul>");
    for o in [
        Outcome::EmergencyAdmissions,
        Outcome::AeAttendances,
        Outcome::GpAppointments,
        Outcome::Cost,
    ] {
        let _ = write!(h, "<li>{}</li>", esc(&sentence(o, &est.did[o.index()])));
    }
    h.push_str("</ul></div>");
    h.push_str("<p>The naive figure compares the supported people with themselves before support. People are usually referred at a peak of need and would often have used less care afterwards anyway, so the naive figure overstates the effect. The estimate subtracts the change seen in similar people who were not supported.</p>");
    h.push_str("<table><caption>Use per person-year, naive change and estimated effect (95% confidence intervals)</caption><thead><tr>\
        <th scope=\"col\">Outcome</th><th scope=\"col\" class=\"n\">Supported before</th><th scope=\"col\" class=\"n\">Supported after</th>\
        <th scope=\"col\" class=\"n\">Naive change</th><th scope=\"col\" class=\"n\">Comparison before</th><th scope=\"col\" class=\"n\">Comparison after</th>\
        <th scope=\"col\" class=\"n\">Estimated effect</th><th scope=\"col\" class=\"n\">Relative effect</th></tr></thead><tbody>");
    let f = &est.figures;
    for o in Outcome::ALL {
        let i = o.index();
        let d = if o == Outcome::Cost { 0 } else { 2 };
        let (n, di, r) = (&est.naive[i], &est.did[i], &est.relative[i]);
        let _ = write!(
            h,
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({})</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{} ({} to {})</td><td class=\"n\">{} ({} to {})</td></tr>",
            esc(o.label()),
            num(f.supported_before[i], d),
            num(f.supported_after[i], d),
            num(n.estimate, d),
            pct(est.naive_relative[i].estimate),
            num(f.comparison_before[i], d),
            num(f.comparison_after[i], d),
            num(di.estimate, d),
            num(di.low, d),
            num(di.high, d),
            pct(r.estimate),
            pct(r.low),
            pct(r.high)
        );
    }
    h.push_str("</tbody></table>");
    crate::report_charts::event_studies(e, est, h);
}

fn value(e: &Evaluation, h: &mut String) {
    let Some(est) = &e.estimates else { return };
    let r = &est.return_per_pound;
    let a = &est.avoided_cost;
    let _ = write!(
        h,
        "<h2 id=\"value\">Value</h2><p class=\"inset warn\"><strong>Notional, not cashable.</strong> Activity avoided, priced at unit costs, is capacity freed for other patients, not money the system gets back.</p>\
         <table><caption>Value of activity avoided against the service's cost</caption><tbody>\
         <tr><th scope=\"row\">Activity avoided, priced (95% CI)</th><td class=\"n\">£{:.0} (£{:.0} to £{:.0})</td></tr>\
         <tr><th scope=\"row\">Service cost for the matched episodes</th><td class=\"n\">£{:.0}</td></tr>\
         <tr><th scope=\"row\">Return per £1 (95% CI)</th><td class=\"n\">£{:.2} (£{:.2} to £{:.2})</td></tr></tbody></table>",
        a.estimate, a.low, a.high, est.service_cost, r.estimate, r.low, r.high
    );
}

fn reach(e: &Evaluation, h: &mut String) {
    h.push_str("<h2 id=\"reach\">Reach: who was supported?</h2>");
    let (lead, tables) = tables::reach(e);
    let _ = write!(h, "<p>{}</p>", esc(&lead));
    for t in &tables {
        h.push_str(&table_html(t));
    }
}

fn adoption_and_implementation(e: &Evaluation, h: &mut String) {
    let tables = tables::adoption_and_implementation(e);
    h.push_str("<h2 id=\"adoption\">Adoption: where referrals came from</h2>");
    h.push_str(&table_html(&tables[0]));
    h.push_str("<h2 id=\"implementation\">Implementation and maintenance</h2>");
    for t in &tables[1..] {
        h.push_str(&table_html(t));
    }
}

fn comparison_group(e: &Evaluation, h: &mut String) {
    let m = &e.matching;
    let _ = write!(
        h,
        "<h2 id=\"comparison\">The comparison group</h2><p>Method: {}. Up to {} comparators per supported episode, chosen from people not yet supported who were registered, alive and aged {} or over at the same start month.</p>{}",
        esc(e.settings.method.describe()),
        e.settings.comparators,
        e.settings.min_age,
        table_html(&tables::episodes(e)),
    );
    h.push_str("<table><caption>Balance: standardised mean differences before and after matching (target below 0.1 in size)</caption><thead><tr>\
        <th scope=\"col\">Variable</th><th scope=\"col\" class=\"n\">Supported mean</th><th scope=\"col\" class=\"n\">Others, before</th><th scope=\"col\" class=\"n\">Comparators</th>\
        <th scope=\"col\" class=\"n\">SMD before</th><th scope=\"col\" class=\"n\">SMD after</th></tr></thead><tbody>");
    for b in &m.balance {
        let flag = if b.smd_after.abs() >= 0.1 {
            " (above target)"
        } else {
            ""
        };
        let _ = write!(
            h,
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}{}</td></tr>",
            esc(&b.variable.replace('_', " ")),
            num(b.supported_mean, 2),
            num(b.comparison_mean_before, 2),
            num(b.comparison_mean_after, 2),
            num(b.smd_before, 2),
            num(b.smd_after, 2),
            flag
        );
    }
    h.push_str("</tbody></table>");
}

fn method(e: &Evaluation, h: &mut String) {
    let _ = write!(
        h,
        "<h2 id=\"method\">Method and limits</h2><ul>\
         <li>Use is counted per calendar month and divided by the time each person was registered and alive (person-years), so people who died or moved away count only while they were here.</li>\
         <li>Comparators are matched on age, sex, deprivation, long-term conditions, frailty, Charlson score and their use of care in each of the four quarters before the start.</li>\
         <li>Intervals come from {} bootstrap replicates that resample supported people with their comparators (seed {}), so the same data and settings give the same report.</li>\
         <li>Matching removes differences we can measure, not those we cannot (motivation, a crisis not yet recorded). Long-term conditions, frailty and Charlson are measured at the extract date.</li>\
         <li>Counts of 7 or fewer are not shown and other counts are rounded to the nearest 5.</li></ul>",
        e.settings.bootstrap, e.settings.seed
    );
}
