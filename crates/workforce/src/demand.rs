//! Demand: people per group in a place × hours per function → hours by competency level → hours,
//! WTE and cost by role, with the part of it that falls in Core20 areas.
//!
//! The input is the population engine's place profiles (`place_profiles`, long form), which both the
//! command line (from a run's Parquet output) and the web app (from the store) hold. Those cells have
//! passed disclosure control: a hidden cell (7 or fewer people) counts as nobody here, and the
//! number of hidden cells is reported beside the result so that the undercount is visible.

use crate::model::{Group, Level, Model, Vocabulary};
use crate::scenario::Scenario;
use std::collections::BTreeMap;

/// One cell of a place profile, as the engine wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileCell {
    pub level: String,
    pub place: String,
    pub place_name: Option<String>,
    pub dimension: String,
    pub category: String,
    pub people: Option<i64>,
}

/// The people of one place by group, read from its profile cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlaceCounts {
    pub level: String,
    pub place: String,
    pub name: String,
    /// People in each group (everyone, each segment, each cohort).
    pub groups: BTreeMap<Group, u64>,
    /// People in Core20 areas (IMD quintile 1) in each group the profiles break down that way:
    /// everyone and each segment (cohorts are not broken down by deprivation).
    pub core20: BTreeMap<Group, u64>,
    /// Cells the model reads that were hidden by disclosure control.
    pub hidden_cells: usize,
}

const CORE20_SUFFIX: &str = " | IMD quintile 1";

impl PlaceCounts {
    /// Groups the cells by place (level and code) and reads the counts the model needs. Cells of
    /// segments or cohorts outside `vocab` are ignored.
    #[must_use]
    pub fn from_cells<'a>(
        cells: impl IntoIterator<Item = &'a ProfileCell>,
        vocab: &Vocabulary,
    ) -> Vec<PlaceCounts> {
        let mut places: BTreeMap<(String, String), PlaceCounts> = BTreeMap::new();
        for c in cells {
            let p = places
                .entry((c.level.clone(), c.place.clone()))
                .or_insert_with(|| PlaceCounts {
                    level: c.level.clone(),
                    place: c.place.clone(),
                    name: c.place.clone(),
                    ..PlaceCounts::default()
                });
            if let Some(n) = &c.place_name {
                p.name.clone_from(n);
            }
            let (target, group) = match c.dimension.as_str() {
                "all" => (&mut p.groups, Some(Group::All)),
                "segment" if vocab.segments.contains(&c.category) => {
                    (&mut p.groups, Some(Group::Segment(c.category.clone())))
                }
                "imd_quintile" if c.category == "1" => (&mut p.core20, Some(Group::All)),
                "segment_by_imd_quintile" => {
                    let seg = c
                        .category
                        .strip_suffix(CORE20_SUFFIX)
                        .filter(|s| vocab.segments.contains(*s));
                    (&mut p.core20, seg.map(|s| Group::Segment(s.to_owned())))
                }
                d => {
                    let cohort = d
                        .strip_prefix("cohort_")
                        .filter(|n| vocab.cohorts.contains(*n) && c.category == "on worklist");
                    (&mut p.groups, cohort.map(|n| Group::Cohort(n.to_owned())))
                }
            };
            let Some(group) = group else { continue };
            match c.people {
                Some(n) => {
                    target.insert(group, u64::try_from(n).unwrap_or(0));
                }
                None => p.hidden_cells += 1,
            }
        }
        places.into_values().collect()
    }

    /// People in a group (nobody when the group is absent or was hidden).
    #[must_use]
    pub fn people(&self, group: &Group) -> u64 {
        self.groups.get(group).copied().unwrap_or(0)
    }
}

/// The hours one need asks of a place.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDemand {
    pub function: String,
    pub function_name: String,
    pub group: Group,
    pub level: Level,
    /// People in the group.
    pub people: u64,
    /// Coverage used (after the scenario).
    pub coverage: f64,
    pub hours_each: f64,
    /// people × coverage × hours each.
    pub hours: f64,
    /// Of which in Core20 areas, where the profiles break the group down by deprivation.
    pub core20_hours: Option<f64>,
    /// Register ids this line's figures came from.
    pub register: Vec<String>,
}

/// Demand, supply and the gap for one role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleLine {
    pub role: String,
    pub role_name: String,
    pub demand_hours: f64,
    pub demand_wte: f64,
    pub demand_cost: f64,
    pub supply_wte: f64,
    pub supply_cost: f64,
    /// demand − supply: positive means more staff are needed.
    pub gap_wte: f64,
    pub gap_cost: f64,
    /// Demand hours by level, for the by-level view.
    pub hours_by_level: BTreeMap<Level, f64>,
    pub register: Vec<String>,
}

/// A post in the team (from the store or a configuration file).
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub role: String,
    pub wte: f64,
    /// Whether the post is claimed from ARRS.
    pub arrs: bool,
    pub employer: Option<String>,
}

/// The ARRS position: what the posts claimed from ARRS use of the budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrs {
    pub budget: f64,
    pub used: f64,
    pub left: f64,
}

/// A place's plan under one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub scenario: String,
    pub place: String,
    pub place_name: String,
    pub level: String,
    pub people: u64,
    pub people_core20: u64,
    pub hidden_cells: usize,
    pub productive_hours: f64,
    pub functions: Vec<FunctionDemand>,
    /// Demand hours by level after the scenario's shifts.
    pub hours_by_level: BTreeMap<Level, f64>,
    /// Supply hours by level: each role's productive hours spread over the levels it holds in the
    /// proportion of its demand at each level (evenly when it has none).
    pub supply_by_level: BTreeMap<Level, f64>,
    pub roles: Vec<RoleLine>,
    pub arrs: Arrs,
    pub core20_hours: f64,
    pub total_hours: f64,
}

impl Plan {
    /// Demand WTE over all roles.
    #[must_use]
    pub fn demand_wte(&self) -> f64 {
        self.roles.iter().map(|r| r.demand_wte).sum()
    }

    /// Supply WTE over all roles.
    #[must_use]
    pub fn supply_wte(&self) -> f64 {
        self.roles.iter().map(|r| r.supply_wte).sum()
    }

    /// Gap in cost over all roles.
    #[must_use]
    pub fn gap_cost(&self) -> f64 {
        self.roles.iter().map(|r| r.gap_cost).sum()
    }
}

/// Plans one place under one scenario with the posts in post (`supply`, before the scenario's
/// added posts).
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn plan(model: &Model, counts: &PlaceCounts, supply: &[Post], scenario: &Scenario) -> Plan {
    let productive = model.settings.productive_hours();
    let mut functions = Vec::new();
    let mut by_level: BTreeMap<Level, f64> = BTreeMap::new();
    let mut core20_hours = 0.0;
    for need in &model.needs {
        let Some(f) = model.function(&need.function) else {
            continue;
        };
        let coverage = scenario
            .coverage_for(&need.function, &need.group)
            .unwrap_or(need.coverage);
        let people = counts.people(&need.group);
        #[allow(clippy::cast_precision_loss)]
        let hours = people as f64 * coverage * need.hours;
        #[allow(clippy::cast_precision_loss)]
        let c20 = counts
            .core20
            .get(&need.group)
            .map(|n| *n as f64 * coverage * need.hours);
        core20_hours += c20.unwrap_or(0.0);
        *by_level.entry(f.level).or_default() += hours;
        let key = format!("need.{}.{}", need.function, need.group.code());
        functions.push(FunctionDemand {
            function: f.id.clone(),
            function_name: f.name.clone(),
            group: need.group.clone(),
            level: f.level,
            people,
            coverage,
            hours_each: need.hours,
            hours,
            core20_hours: c20,
            register: vec![format!("{key}.coverage"), format!("{key}.hours")],
        });
    }
    // Shifts move a share of one level's hours (as computed from need, before other shifts) to
    // another level, so that the order the planner listed them in does not change the result.
    let before = by_level.clone();
    for s in &scenario.shifts {
        let moved = before.get(&s.from).copied().unwrap_or(0.0) * s.percent / 100.0;
        *by_level.entry(s.from).or_default() -= moved;
        *by_level.entry(s.to).or_default() += moved;
    }
    let allocations = scenario.allocations(model);
    let mut roles: Vec<RoleLine> = model
        .roles
        .iter()
        .map(|r| RoleLine {
            role: r.id.clone(),
            role_name: r.name.clone(),
            demand_hours: 0.0,
            demand_wte: 0.0,
            demand_cost: 0.0,
            supply_wte: 0.0,
            supply_cost: 0.0,
            gap_wte: 0.0,
            gap_cost: 0.0,
            hours_by_level: BTreeMap::new(),
            register: vec![
                format!("role.{}.salary", r.id),
                "settings.contracted_hours".to_owned(),
                "settings.leave".to_owned(),
                "settings.training".to_owned(),
                "settings.travel".to_owned(),
                "settings.on_costs".to_owned(),
            ],
        })
        .collect();
    for (level, role, share) in &allocations {
        let hours = by_level.get(level).copied().unwrap_or(0.0) * share;
        if let Some(line) = roles.iter_mut().find(|l| &l.role == role) {
            line.demand_hours += hours;
            *line.hours_by_level.entry(*level).or_default() += hours;
            line.register
                .push(format!("allocation.{}.{role}.share", level.code()));
        }
    }
    let mut posts: Vec<Post> = supply.to_vec();
    posts.extend(scenario.posts.iter().cloned());
    let mut arrs_used = 0.0;
    for p in &posts {
        if let Some(line) = roles.iter_mut().find(|l| l.role == p.role) {
            line.supply_wte += p.wte;
        }
        if p.arrs {
            if let Some(r) = model.role(&p.role) {
                arrs_used += r.reimbursable_per_wte(&model.settings) * p.wte;
            }
        }
    }
    let mut supply_by_level: BTreeMap<Level, f64> = BTreeMap::new();
    for line in &mut roles {
        let Some(r) = model.role(&line.role) else {
            continue;
        };
        let cost = r.cost_per_wte(&model.settings);
        line.demand_wte = line.demand_hours / productive;
        line.demand_cost = line.demand_wte * cost;
        line.supply_cost = line.supply_wte * cost;
        line.gap_wte = line.demand_wte - line.supply_wte;
        line.gap_cost = line.demand_cost - line.supply_cost;
        let supply_hours = line.supply_wte * productive;
        if line.demand_hours > 0.0 {
            for (level, h) in &line.hours_by_level {
                *supply_by_level.entry(*level).or_default() += supply_hours * h / line.demand_hours;
            }
        } else {
            #[allow(clippy::cast_precision_loss)]
            let n = r.levels.len() as f64;
            for level in &r.levels {
                *supply_by_level.entry(*level).or_default() += supply_hours / n;
            }
        }
    }
    let budget = model.settings.arrs_budget;
    Plan {
        scenario: scenario.name.clone(),
        place: counts.place.clone(),
        place_name: counts.name.clone(),
        level: counts.level.clone(),
        people: counts.people(&Group::All),
        people_core20: counts.core20.get(&Group::All).copied().unwrap_or(0),
        hidden_cells: counts.hidden_cells,
        productive_hours: productive,
        total_hours: functions.iter().map(|f| f.hours).sum(),
        functions,
        hours_by_level: by_level,
        supply_by_level,
        roles,
        arrs: Arrs {
            budget,
            used: arrs_used,
            left: budget - arrs_used,
        },
        core20_hours,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Vocabulary;
    use crate::scenario::{Scenario, Shift};

    /// A small model whose arithmetic fits on paper: 1,950 contracted hours less 10% leave, 5%
    /// training and 5% travel is 1,560 productive hours; on-costs 25%.
    const SMALL: &str = r#"
illustrative = false
[settings]
contracted_hours = { value = 1950, source = "paper" }
leave = { value = 0.10, source = "paper" }
training = { value = 0.05, source = "paper" }
travel = { value = 0.05, source = "paper" }
on_costs = { value = 0.25, source = "paper" }
arrs_budget = { value = 50000, source = "paper" }
"#;

    fn small_model() -> Model {
        // Replace the shipped needs by giving every shipped need zero coverage, then add two.
        let base = Model::defaults(&Vocabulary::default()).unwrap();
        let mut text = SMALL.to_owned();
        for n in &base.needs {
            text.push_str(&format!(
                "[[need]]\nfunction = \"{}\"\ngroup = \"{}\"\ncoverage = 0\nhours = 0\nsource = \"off\"\n",
                n.function,
                n.group.code()
            ));
        }
        let path_text = text.replace(
            "[[need]]\nfunction = \"care_navigation\"\ngroup = \"all\"\ncoverage = 0\nhours = 0",
            "[[need]]\nfunction = \"care_navigation\"\ngroup = \"all\"\ncoverage = 1\nhours = 0.5",
        ).replace(
            "[[need]]\nfunction = \"home_visit\"\ngroup = \"segment:Long-term frailty\"\ncoverage = 0\nhours = 0",
            "[[need]]\nfunction = \"home_visit\"\ngroup = \"segment:Long-term frailty\"\ncoverage = 0.5\nhours = 10",
        );
        Model::from_sources(&[("paper.toml", &path_text)], &Vocabulary::default()).unwrap()
    }

    fn cell(dimension: &str, category: &str, people: Option<i64>) -> ProfileCell {
        ProfileCell {
            level: "practice".into(),
            place: "A81001".into(),
            place_name: Some("Small practice".into()),
            dimension: dimension.into(),
            category: category.into(),
            people,
        }
    }

    fn small_place() -> PlaceCounts {
        let cells = vec![
            cell("all", "all", Some(1000)),
            cell("segment", "Healthy", Some(800)),
            cell("segment", "Long-term frailty", Some(200)),
            cell("imd_quintile", "1", Some(300)),
            cell(
                "segment_by_imd_quintile",
                "Long-term frailty | IMD quintile 1",
                Some(100),
            ),
            cell(
                "segment_by_imd_quintile",
                "Healthy | IMD quintile 1",
                Some(200),
            ),
            cell("cohort_frailty", "on worklist", None),
            cell("ethnic_group", "White", Some(900)),
        ];
        let mut v = PlaceCounts::from_cells(&cells, &Vocabulary::default());
        assert_eq!(v.len(), 1);
        v.remove(0)
    }

    #[test]
    fn a_small_practice_is_computed_as_on_paper() {
        let m = small_model();
        let place = small_place();
        assert_eq!(place.hidden_cells, 1);
        let supply = vec![Post {
            role: "receptionist".into(),
            wte: 0.2,
            arrs: false,
            employer: None,
        }];
        let p = plan(&m, &place, &supply, &Scenario::as_is());
        // Care navigation: 1,000 × 1 × 0.5 = 500 core hours. Home visits: 200 × 0.5 × 10 = 1,000
        // core hours. Core 1,500 hours: reception 60% = 900, care coordinators 40% = 600.
        assert!((p.total_hours - 1500.0).abs() < 1e-9);
        assert!((p.hours_by_level[&Level::Core] - 1500.0).abs() < 1e-9);
        assert_eq!(
            p.hours_by_level
                .get(&Level::Generic)
                .copied()
                .unwrap_or(0.0),
            0.0
        );
        let rec = p.roles.iter().find(|r| r.role == "receptionist").unwrap();
        assert!((rec.demand_hours - 900.0).abs() < 1e-9);
        // 900 / 1,560 = 0.576923 WTE; × £24,071 × 1.25 = £17,358.89.
        assert!((rec.demand_wte - 0.576_923).abs() < 1e-6);
        assert!((rec.demand_cost - 17_358.894).abs() < 1e-2);
        assert!((rec.gap_wte - 0.376_923).abs() < 1e-6);
        let cc = p
            .roles
            .iter()
            .find(|r| r.role == "care_coordinator")
            .unwrap();
        assert!((cc.demand_wte - 600.0 / 1560.0).abs() < 1e-9);
        // Core20: 300 × 0.5 + 100 × 0.5 × 10 = 150 + 500 = 650 hours.
        assert!((p.core20_hours - 650.0).abs() < 1e-9);
        assert_eq!(p.people_core20, 300);
        assert!(rec
            .register
            .contains(&"allocation.core.receptionist.share".to_owned()));
    }

    #[test]
    fn a_scenario_shifts_hours_between_levels_and_adds_posts_against_the_arrs_budget() {
        let m = small_model();
        let place = small_place();
        let mut s = Scenario::named("to-be");
        s.shifts.push(Shift {
            from: Level::Core,
            to: Level::Generic,
            percent: 20.0,
        });
        s.posts.push(Post {
            role: "link_worker".into(),
            wte: 1.0,
            arrs: true,
            employer: None,
        });
        let p = plan(&m, &place, &[], &s);
        // 20% of 1,500 core hours = 300 move to generic: link workers 50% = 150 hours.
        assert!((p.hours_by_level[&Level::Core] - 1200.0).abs() < 1e-9);
        let lw = p.roles.iter().find(|r| r.role == "link_worker").unwrap();
        assert!((lw.demand_hours - 150.0).abs() < 1e-9);
        assert!((lw.supply_wte - 1.0).abs() < 1e-12);
        // One link worker costs £29,970 × 1.25 = £37,462.50, under the £43,000 cap.
        assert!((p.arrs.used - 37_462.5).abs() < 1e-6);
        assert!((p.arrs.left - 12_537.5).abs() < 1e-6);
        // The link worker's supply hours (1,560) all sit at the generic level, where its demand is.
        assert!((p.supply_by_level[&Level::Generic] - 1560.0).abs() < 1e-9);
    }

    #[test]
    fn a_coverage_change_scales_the_need() {
        let m = small_model();
        let mut s = Scenario::named("more visits");
        s.coverage.push(crate::scenario::CoverageChange {
            function: "home_visit".into(),
            group: Group::Segment("Long-term frailty".into()),
            coverage: 1.0,
        });
        let p = plan(&m, &small_place(), &[], &s);
        assert!((p.total_hours - 2500.0).abs() < 1e-9);
    }
}
