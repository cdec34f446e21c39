//! The plan and the simulation as CSV, through the one CSV writer. Every row of the plan names the
//! register lines its figures came from, so that a number in a spreadsheet can be traced too.

use crate::demand::Plan;
use crate::fmt_number;
use crate::model::Level;
use crate::register::Register;
use crate::sim::Summary;

fn lines(register: &Register, ids: &[String]) -> String {
    register.cite(ids, " ")
}

/// Demand, supply and the gap by role, one row per place, scenario and role.
#[must_use]
pub fn roles_csv(plans: &[Plan], register: &Register) -> String {
    let mut w = careweave_csv::Writer::with_header([
        "level",
        "place",
        "place_name",
        "scenario",
        "role",
        "demand_hours",
        "demand_wte",
        "supply_wte",
        "gap_wte",
        "demand_cost",
        "supply_cost",
        "gap_cost",
        "register_lines",
    ]);
    for p in plans {
        for r in &p.roles {
            w.record([
                p.level.clone(),
                p.place.clone(),
                p.place_name.clone(),
                p.scenario.clone(),
                r.role_name.clone(),
                fmt_number(r.demand_hours),
                fmt_number(r.demand_wte),
                fmt_number(r.supply_wte),
                fmt_number(r.gap_wte),
                format!("{:.0}", r.demand_cost),
                format!("{:.0}", r.supply_cost),
                format!("{:.0}", r.gap_cost),
                lines(register, &r.register),
            ]);
        }
    }
    w.finish()
}

/// Hours by care function and group, with the Core20 part, one row per place, scenario and need.
#[must_use]
pub fn functions_csv(plans: &[Plan], register: &Register) -> String {
    let mut w = careweave_csv::Writer::with_header([
        "level",
        "place",
        "place_name",
        "scenario",
        "function",
        "group",
        "competency_level",
        "people",
        "coverage",
        "hours_each",
        "hours",
        "core20_hours",
        "register_lines",
    ]);
    for p in plans {
        for f in &p.functions {
            w.record([
                p.level.clone(),
                p.place.clone(),
                p.place_name.clone(),
                p.scenario.clone(),
                f.function_name.clone(),
                f.group.label(),
                f.level.label().to_owned(),
                f.people.to_string(),
                fmt_number(f.coverage),
                fmt_number(f.hours_each),
                fmt_number(f.hours),
                f.core20_hours.map(fmt_number).unwrap_or_default(),
                lines(register, &f.register),
            ]);
        }
    }
    w.finish()
}

/// Demand and supply hours by competency level, and the ARRS position, per place and scenario.
#[must_use]
pub fn levels_csv(plans: &[Plan]) -> String {
    let mut w = careweave_csv::Writer::with_header([
        "level",
        "place",
        "place_name",
        "scenario",
        "competency_level",
        "demand_hours",
        "supply_hours",
    ]);
    for p in plans {
        for l in Level::ALL {
            w.record([
                p.level.clone(),
                p.place.clone(),
                p.place_name.clone(),
                p.scenario.clone(),
                l.label().to_owned(),
                fmt_number(p.hours_by_level.get(&l).copied().unwrap_or(0.0)),
                fmt_number(p.supply_by_level.get(&l).copied().unwrap_or(0.0)),
            ]);
        }
    }
    w.finish()
}

/// One row per place and scenario: totals, Core20 and the ARRS budget used and left.
#[must_use]
pub fn summary_csv(plans: &[Plan]) -> String {
    let mut w = careweave_csv::Writer::with_header([
        "level",
        "place",
        "place_name",
        "scenario",
        "people",
        "people_core20",
        "hidden_cells",
        "demand_hours",
        "core20_hours",
        "demand_wte",
        "supply_wte",
        "gap_cost",
        "arrs_budget",
        "arrs_used",
        "arrs_left",
    ]);
    for p in plans {
        w.record([
            p.level.clone(),
            p.place.clone(),
            p.place_name.clone(),
            p.scenario.clone(),
            p.people.to_string(),
            p.people_core20.to_string(),
            p.hidden_cells.to_string(),
            fmt_number(p.total_hours),
            fmt_number(p.core20_hours),
            fmt_number(p.demand_wte()),
            fmt_number(p.supply_wte()),
            format!("{:.0}", p.gap_cost()),
            format!("{:.0}", p.arrs.budget),
            format!("{:.0}", p.arrs.used),
            format!("{:.0}", p.arrs.left),
        ]);
    }
    w.finish()
}

/// One row per simulated service: waits, utilisation and throughput.
#[must_use]
pub fn simulation_csv(results: &[(String, Summary)]) -> String {
    let mut w = careweave_csv::Writer::with_header([
        "service",
        "replications",
        "wait_p50_weeks",
        "wait_p90_weeks",
        "wait_mean_weeks",
        "wait_mean_ci_low",
        "wait_mean_ci_high",
        "caseload_utilisation",
        "contact_time_utilisation",
        "referrals_per_year",
        "accepted_per_year",
        "still_waiting_at_end",
    ]);
    for (name, s) in results {
        w.record([
            name.clone(),
            s.replications.to_string(),
            fmt_number(s.wait_p50),
            fmt_number(s.wait_p90),
            fmt_number(s.wait_mean),
            fmt_number(s.wait_mean_ci.0),
            fmt_number(s.wait_mean_ci.1),
            fmt_number(s.utilisation),
            fmt_number(s.contact_utilisation),
            fmt_number(s.referrals_per_replication),
            fmt_number(s.accepted_per_replication),
            fmt_number(s.still_waiting_mean),
        ]);
    }
    w.finish()
}

/// Mean caseload and waiting list at the end of each week, one row per service and week.
#[must_use]
pub fn weekly_csv(results: &[(String, Summary)]) -> String {
    let mut w = careweave_csv::Writer::with_header(["service", "week", "open_cases", "waiting"]);
    for (name, s) in results {
        for (i, (c, q)) in s
            .caseload_by_week
            .iter()
            .zip(&s.waiting_by_week)
            .enumerate()
        {
            w.record([
                name.clone(),
                (i + 1).to_string(),
                fmt_number(*c),
                fmt_number(*q),
            ]);
        }
    }
    w.finish()
}
