//! Offline HTML reports of a plan and a simulation: one self-contained file each (no script, no
//! request to another host), like the population engine's place reports. Every figure names the
//! register lines it came from.

use crate::demand::Plan;
use crate::fmt_number;
use crate::model::{Level, Model};
use crate::sim::{RunSpec, Service, Summary};
use std::fmt::Write as _;

use careweave_charts::{escape, line_chart, paired_bar_chart, PairedBar, Point, Series};

const STYLE: &str = "body{font-family:Arial,sans-serif;margin:2rem;max-width:70rem;color:#212b32}\
table{border-collapse:collapse;margin:1rem 0}th,td{border-bottom:1px solid #d8dde0;padding:.3rem .6rem;text-align:left}\
td.n,th.n{text-align:right}caption{text-align:left;font-weight:bold;padding:.5rem 0}.note{color:#4c6272}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>{body}</body></html>\n",
        t = escape(title)
    )
}

fn register_refs(model: &Model, ids: &[String]) -> String {
    model.register.cite(ids, ", ")
}

fn register_note(model: &Model, ids: &[String]) -> String {
    let refs = register_refs(model, ids);
    if refs.is_empty() {
        String::new()
    } else {
        format!("register lines {refs}")
    }
}

/// Demand against supply by role in WTE (the to-be's, when there is one), each row noting the
/// register lines its figures came from.
#[must_use]
pub fn role_chart(model: &Model, plan: &Plan) -> String {
    let rows: Vec<PairedBar> = plan
        .roles
        .iter()
        .map(|r| PairedBar {
            label: r.role_name.clone(),
            values: [
                (r.demand_wte * 100.0).round() / 100.0,
                (r.supply_wte * 100.0).round() / 100.0,
            ],
            note: register_note(model, &r.register),
        })
        .collect();
    paired_bar_chart(
        &format!("{}: demand and staff in post by role, WTE", plan.scenario),
        ["Demand (WTE)", "In post (WTE)"],
        &rows,
    )
}

/// Demand against supply by competency level in hours a year; the demand of a level comes from
/// the needs of the functions at that level.
#[must_use]
pub fn level_chart(model: &Model, plan: &Plan) -> String {
    let rows: Vec<PairedBar> = Level::ALL
        .iter()
        .map(|l| {
            let ids: Vec<String> = plan
                .functions
                .iter()
                .filter(|f| f.level == *l)
                .flat_map(|f| f.register.iter().cloned())
                .collect();
            PairedBar {
                label: l.label().to_owned(),
                values: [
                    plan.hours_by_level.get(l).copied().unwrap_or(0.0).round(),
                    plan.supply_by_level.get(l).copied().unwrap_or(0.0).round(),
                ],
                note: register_note(model, &ids),
            }
        })
        .collect();
    paired_bar_chart(
        &format!("{}: hours a year by competency level", plan.scenario),
        ["Demand (hours)", "Supply (hours)"],
        &rows,
    )
}

/// Open cases and people waiting at the end of each week, averaged over the replications.
#[must_use]
pub fn caseload_chart(name: &str, summary: &Summary) -> String {
    let series = |title: &str, values: &[f64]| Series {
        name: title.to_owned(),
        points: values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                x: format!("{}", i + 1),
                y: (v * 10.0).round() / 10.0,
                interval: None,
            })
            .collect(),
    };
    line_chart(
        &format!("{name}: open cases and people waiting by week"),
        &[
            series("Open cases", &summary.caseload_by_week),
            series("Waiting", &summary.waiting_by_week),
        ],
        None,
    )
}

/// The plan report: per place, demand vs supply by role and by level for each scenario, then the
/// assumptions register.
#[must_use]
pub fn plan_report(model: &Model, plans: &[Plan]) -> String {
    let mut b = String::new();
    let illustrative = model.register.lines().iter().any(|a| a.illustrative);
    if illustrative {
        b.push_str("<p class=\"note\"><strong>Illustrative figures.</strong> Some assumptions are the shipped defaults derived from published examples; replace them with local figures (see the register below).</p>");
    }
    let mut last_place = String::new();
    for p in plans {
        if p.place != last_place {
            let _ = write!(
                b,
                "<h2>{} ({})</h2><p>{} people registered, {} in Core20 areas. {} profile cells the model reads were hidden by disclosure control and count as nobody.</p>",
                escape(&p.place_name),
                escape(&p.place),
                p.people,
                p.people_core20,
                p.hidden_cells
            );
            last_place.clone_from(&p.place);
        }
        b.push_str(&role_chart(model, p));
        b.push_str(&level_chart(model, p));
        let _ = write!(
            b,
            "<table><caption>{}: demand and supply by role (WTE at {} productive hours a year)</caption><thead><tr><th>Role</th><th class=\"n\">Demand WTE</th><th class=\"n\">In post WTE</th><th class=\"n\">Gap WTE</th><th class=\"n\">Gap cost (£)</th><th>Register lines</th></tr></thead><tbody>",
            escape(&p.scenario),
            fmt_number(p.productive_hours)
        );
        for r in &p.roles {
            let _ = write!(
                b,
                "<tr><td>{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.0}</td><td>{}</td></tr>",
                escape(&r.role_name),
                r.demand_wte,
                r.supply_wte,
                r.gap_wte,
                r.gap_cost,
                register_refs(model, &r.register)
            );
        }
        b.push_str("</tbody></table>");
        let _ = write!(
            b,
            "<table><caption>{}: hours a year by competency level</caption><thead><tr><th>Level</th><th class=\"n\">Demand</th><th class=\"n\">Supply</th></tr></thead><tbody>",
            escape(&p.scenario)
        );
        for l in Level::ALL {
            let _ = write!(
                b,
                "<tr><td>{}</td><td class=\"n\">{:.0}</td><td class=\"n\">{:.0}</td></tr>",
                l.label(),
                p.hours_by_level.get(&l).copied().unwrap_or(0.0),
                p.supply_by_level.get(&l).copied().unwrap_or(0.0)
            );
        }
        let _ = write!(
            b,
            "</tbody></table><p>Core20 areas: {:.0} of {:.0} hours. ARRS: £{:.0} of £{:.0} used, £{:.0} left.</p>",
            p.core20_hours, p.total_hours, p.arrs.used, p.arrs.budget, p.arrs.left
        );
    }
    b.push_str("<h2>Assumptions register</h2><table><thead><tr><th class=\"n\">Line</th><th>What</th><th class=\"n\">Value</th><th>Unit</th><th>Source</th><th>File</th></tr></thead><tbody>");
    for (i, a) in model.register.lines().iter().enumerate() {
        let _ = write!(
            b,
            "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
            i + 1,
            escape(&a.what),
            fmt_number(a.value),
            a.unit,
            escape(&a.source),
            if a.illustrative { " (illustrative)" } else { "" },
            escape(&a.file)
        );
    }
    b.push_str("</tbody></table>");
    page("Workforce plan", &b)
}

/// The simulation report: one section per service with its settings and results.
#[must_use]
pub fn simulation_report(
    services: &[Service],
    spec: &RunSpec,
    results: &[(String, Summary)],
) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<p>{} replications of {} weeks after {} weeks' warm-up, seed {}. Runs are reproducible: the same configuration gives the same figures.</p>",
        spec.replications, spec.weeks, spec.warm_up_weeks, spec.seed
    );
    for (s, (name, r)) in services.iter().zip(results) {
        let _ = write!(
            b,
            "<h2>{}</h2><p>{} referrals a week, {:.0}% accepted; {} workers with up to {} open cases each; episodes of {} weeks on average.</p>\
             <table><caption>Results</caption><tbody>\
             <tr><th>Wait, median (weeks)</th><td class=\"n\">{:.1}</td></tr>\
             <tr><th>Wait, 90th percentile (weeks)</th><td class=\"n\">{:.1}</td></tr>\
             <tr><th>Mean wait (weeks, 95% interval)</th><td class=\"n\">{:.2} ({:.2} to {:.2})</td></tr>\
             <tr><th>Caseload places filled</th><td class=\"n\">{:.0}%</td></tr>\
             <tr><th>Worker time in contacts</th><td class=\"n\">{:.0}%</td></tr>\
             <tr><th>Still waiting at the end</th><td class=\"n\">{:.1}</td></tr></tbody></table>{}",
            escape(name),
            fmt_number(s.arrivals_per_week),
            s.triage.accept * 100.0,
            s.workers,
            s.caseload_cap,
            fmt_number(s.episode_weeks.mean()),
            r.wait_p50,
            r.wait_p90,
            r.wait_mean,
            r.wait_mean_ci.0,
            r.wait_mean_ci.1,
            r.utilisation * 100.0,
            r.contact_utilisation * 100.0,
            r.still_waiting_mean,
            caseload_chart(name, r)
        );
    }
    page("Waiting-list simulation", &b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_escaped() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
