//! Scenarios: the as-is and any number of to-be changes to it (a group's coverage, a share of one
//! level's work moved to another, posts added, a new mix of roles for a level), validated against
//! the model with one message per field, the way a form shows them.

use crate::demand::Post;
use crate::model::{Group, Level, Model, Vocabulary};
use serde::Deserialize;

/// A new coverage for one need.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageChange {
    pub function: String,
    pub group: Group,
    /// The share of the group reached, 0 to 1.
    pub coverage: f64,
}

/// A percentage of one level's hours done at another level instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub from: Level,
    pub to: Level,
    pub percent: f64,
}

/// A role's share of one level's hours, replacing the model's shares for that level.
#[derive(Debug, Clone, PartialEq)]
pub struct Mix {
    pub level: Level,
    pub role: String,
    pub share: f64,
}

/// A scenario. The as-is scenario changes nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scenario {
    pub name: String,
    pub coverage: Vec<CoverageChange>,
    pub shifts: Vec<Shift>,
    pub posts: Vec<Post>,
    pub mix: Vec<Mix>,
}

/// A refusal of one field of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field (a form field's name, or a path in a configuration file).
    pub field: String,
    pub message: String,
}

impl Scenario {
    /// The model as it stands.
    #[must_use]
    pub fn as_is() -> Scenario {
        Scenario::named("As is")
    }

    /// An empty scenario with a name.
    #[must_use]
    pub fn named(name: &str) -> Scenario {
        Scenario {
            name: name.to_owned(),
            ..Scenario::default()
        }
    }

    /// The coverage this scenario sets for a need, if it changes it.
    #[must_use]
    pub fn coverage_for(&self, function: &str, group: &Group) -> Option<f64> {
        self.coverage
            .iter()
            .rev()
            .find(|c| c.function == function && &c.group == group)
            .map(|c| c.coverage)
    }

    /// Each level's shares by role: the model's, except for levels the scenario's mix sets.
    #[must_use]
    pub fn allocations(&self, model: &Model) -> Vec<(Level, String, f64)> {
        let mut out = Vec::new();
        for level in Level::ALL {
            let own: Vec<&Mix> = self.mix.iter().filter(|m| m.level == level).collect();
            if own.is_empty() {
                out.extend(
                    model
                        .allocations
                        .iter()
                        .filter(|a| a.level == level)
                        .map(|a| (level, a.role.clone(), a.share)),
                );
            } else {
                out.extend(own.iter().map(|m| (level, m.role.clone(), m.share)));
            }
        }
        out
    }

    /// Every problem with this scenario against `model`, each naming its field (`prefix` then the
    /// part, e.g. `scenario[1].shift[0].percent`).
    #[must_use]
    pub fn validate(&self, model: &Model, prefix: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut push = |field: String, message: String| errors.push(FieldError { field, message });
        if self.name.trim().is_empty() {
            push(
                format!("{prefix}name"),
                "Enter a name for the scenario".into(),
            );
        }
        for (i, c) in self.coverage.iter().enumerate() {
            if !model
                .needs
                .iter()
                .any(|n| n.function == c.function && n.group == c.group)
            {
                push(
                    format!("{prefix}coverage[{i}].function"),
                    "Choose a need the model has".into(),
                );
            }
            if !(0.0..=1.0).contains(&c.coverage) {
                push(
                    format!("{prefix}coverage[{i}].coverage"),
                    "Coverage must be between 0% and 100%".into(),
                );
            }
        }
        for (i, s) in self.shifts.iter().enumerate() {
            if s.from == s.to {
                push(
                    format!("{prefix}shift[{i}].to"),
                    "Choose a different level to move the work to".into(),
                );
            }
            if !(s.percent > 0.0 && s.percent <= 100.0) {
                push(
                    format!("{prefix}shift[{i}].percent"),
                    "The share to move must be more than 0% and at most 100%".into(),
                );
            }
        }
        for (i, p) in self.posts.iter().enumerate() {
            match model.role(&p.role) {
                None => push(
                    format!("{prefix}post[{i}].role"),
                    "Choose a role the model has".into(),
                ),
                Some(r) if p.arrs && !r.arrs => push(
                    format!("{prefix}post[{i}].arrs"),
                    format!("{} is not reimbursable through ARRS", r.name),
                ),
                Some(_) => {}
            }
            if !(p.wte > 0.0 && p.wte <= 100.0) {
                push(
                    format!("{prefix}post[{i}].wte"),
                    "WTE must be more than 0 and at most 100".into(),
                );
            }
        }
        for level in Level::ALL {
            let own: Vec<(usize, &Mix)> = self
                .mix
                .iter()
                .enumerate()
                .filter(|(_, m)| m.level == level)
                .collect();
            if own.is_empty() {
                continue;
            }
            for (i, m) in &own {
                match model.role(&m.role) {
                    Some(r) if r.levels.contains(&level) => {}
                    Some(r) => push(
                        format!("{prefix}mix[{i}].role"),
                        format!("{} does not hold the {} level", r.name, level.code()),
                    ),
                    None => push(
                        format!("{prefix}mix[{i}].role"),
                        "Choose a role the model has".into(),
                    ),
                }
            }
            let total: f64 = own.iter().map(|(_, m)| m.share).sum();
            if (total - 1.0).abs() > 1e-6 {
                push(
                    format!("{prefix}mix[{}].share", own[0].0),
                    format!(
                        "The shares of the {} level must add up to 100%, not {:.1}%",
                        level.code(),
                        total * 100.0
                    ),
                );
            }
        }
        errors
    }
}

/// A scenario as written in a configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    name: String,
    #[serde(default)]
    coverage: Vec<RawCoverage>,
    #[serde(default)]
    shift: Vec<RawShift>,
    #[serde(default)]
    post: Vec<RawPost>,
    #[serde(default)]
    mix: Vec<RawMix>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoverage {
    function: String,
    group: String,
    coverage: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShift {
    from: String,
    to: String,
    percent: f64,
}

/// A post as written in a configuration file (also the supply list of a plan).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPost {
    role: String,
    wte: f64,
    #[serde(default)]
    arrs: bool,
    employer: Option<String>,
}

impl RawPost {
    pub(crate) fn into_post(self) -> Post {
        Post {
            role: self.role,
            wte: self.wte,
            arrs: self.arrs,
            employer: self.employer,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMix {
    level: String,
    role: String,
    share: f64,
}

fn level(field: String, text: &str, errors: &mut Vec<FieldError>) -> Level {
    Level::from_code(text).unwrap_or_else(|| {
        errors.push(FieldError {
            field,
            message: format!(
                "unknown level \"{text}\": write core, generic, advanced or specialist"
            ),
        });
        Level::Core
    })
}

impl RawScenario {
    /// Parses names into the model's types, then validates; `prefix` names the scenario's place in
    /// the file.
    pub(crate) fn into_scenario(
        self,
        model: &Model,
        vocab: &Vocabulary,
        prefix: &str,
    ) -> Result<Scenario, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut s = Scenario::named(&self.name);
        for (i, c) in self.coverage.into_iter().enumerate() {
            match vocab.parse_group(&c.group) {
                Ok(group) => s.coverage.push(CoverageChange {
                    function: c.function,
                    group,
                    coverage: c.coverage,
                }),
                Err(message) => errors.push(FieldError {
                    field: format!("{prefix}coverage[{i}].group"),
                    message,
                }),
            }
        }
        for (i, sh) in self.shift.into_iter().enumerate() {
            s.shifts.push(Shift {
                from: level(format!("{prefix}shift[{i}].from"), &sh.from, &mut errors),
                to: level(format!("{prefix}shift[{i}].to"), &sh.to, &mut errors),
                percent: sh.percent,
            });
        }
        s.posts = self.post.into_iter().map(RawPost::into_post).collect();
        for (i, m) in self.mix.into_iter().enumerate() {
            s.mix.push(Mix {
                level: level(format!("{prefix}mix[{i}].level"), &m.level, &mut errors),
                role: m.role,
                share: m.share,
            });
        }
        errors.extend(s.validate(model, prefix));
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }
}

/// The scenario form of the web page: every field as typed, so that a refused form comes back
/// with what was entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ScenarioForm {
    #[serde(default)]
    pub name: String,
    /// `function|group` of the need to change, or empty.
    #[serde(default)]
    pub need: String,
    /// Coverage in percent.
    #[serde(default)]
    pub coverage: String,
    #[serde(default)]
    pub shift_from: String,
    #[serde(default)]
    pub shift_to: String,
    #[serde(default)]
    pub shift_percent: String,
    #[serde(default)]
    pub post_role: String,
    #[serde(default)]
    pub post_wte: String,
    /// `yes` when the added post is claimed from ARRS.
    #[serde(default)]
    pub post_arrs: String,
}

fn number(text: &str) -> Option<f64> {
    text.trim()
        .trim_end_matches('%')
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

impl ScenarioForm {
    /// The scenario the form describes, or one error per field in the form's field names.
    ///
    /// # Errors
    /// Each field that is missing, not a number or not allowed by the model.
    pub fn parse(&self, model: &Model, vocab: &Vocabulary) -> Result<Scenario, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: &str, message: &str| {
            errors.push(FieldError {
                field: field.to_owned(),
                message: message.to_owned(),
            });
        };
        let mut s = Scenario::named(self.name.trim());
        if s.name.is_empty() {
            err("name", "Enter a name for the scenario");
        } else if s.name.chars().count() > 80 {
            err("name", "Name must be 80 characters or fewer");
        }
        if !self.need.is_empty() {
            let parsed = self
                .need
                .split_once('|')
                .and_then(|(f, g)| vocab.parse_group(g).ok().map(|g| (f.to_owned(), g)))
                .filter(|(f, g)| {
                    model
                        .needs
                        .iter()
                        .any(|n| &n.function == f && &n.group == g)
                });
            match (parsed, number(&self.coverage)) {
                (None, _) => err("need", "Choose a need from the list"),
                (Some(_), None) => err("coverage", "Enter the coverage as a percentage, like 40"),
                (Some(_), Some(v)) if !(0.0..=100.0).contains(&v) => {
                    err("coverage", "Coverage must be between 0% and 100%");
                }
                (Some((function, group)), Some(v)) => s.coverage.push(CoverageChange {
                    function,
                    group,
                    coverage: v / 100.0,
                }),
            }
        } else if !self.coverage.trim().is_empty() {
            err("need", "Choose the need whose coverage changes");
        }
        if !self.shift_from.is_empty() || !self.shift_percent.trim().is_empty() {
            let from = Level::from_code(&self.shift_from);
            let to = Level::from_code(&self.shift_to);
            let pct = number(&self.shift_percent);
            if from.is_none() {
                err("shift_from", "Choose the level to move work from");
            }
            if to.is_none() {
                err("shift_to", "Choose the level to move work to");
            }
            if pct.is_none() {
                err(
                    "shift_percent",
                    "Enter the share to move as a percentage, like 20",
                );
            }
            if let (Some(from), Some(to), Some(percent)) = (from, to, pct) {
                let shift = Shift { from, to, percent };
                let probe = Scenario {
                    name: s.name.clone(),
                    shifts: vec![shift.clone()],
                    ..Scenario::default()
                };
                for e in probe.validate(model, "") {
                    if e.field.ends_with(".to") {
                        err("shift_to", &e.message);
                    } else if e.field.ends_with(".percent") {
                        err("shift_percent", &e.message);
                    }
                }
                s.shifts.push(shift);
            }
        }
        if !self.post_role.is_empty() || !self.post_wte.trim().is_empty() {
            let role = model.role(&self.post_role);
            let wte = number(&self.post_wte);
            let arrs = self.post_arrs == "yes";
            match role {
                None => err("post_role", "Choose the role of the post to add"),
                Some(r) if arrs && !r.arrs => {
                    err(
                        "post_arrs",
                        &format!("{} is not reimbursable through ARRS", r.name),
                    );
                }
                Some(_) => {}
            }
            match wte {
                None => err("post_wte", "Enter the WTE of the post, like 1 or 0.6"),
                Some(v) if !(v > 0.0 && v <= 100.0) => {
                    err("post_wte", "WTE must be more than 0 and at most 100");
                }
                Some(v) => {
                    if role.is_some() {
                        s.posts.push(Post {
                            role: self.post_role.clone(),
                            wte: v,
                            arrs,
                            employer: None,
                        });
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        Model::defaults(&Vocabulary::default()).unwrap()
    }

    #[test]
    fn a_valid_form_becomes_a_scenario() {
        let f = ScenarioForm {
            name: "More link workers".into(),
            need: "home_visit|segment:Long-term frailty".into(),
            coverage: "80%".into(),
            shift_from: "generic".into(),
            shift_to: "core".into(),
            shift_percent: "20".into(),
            post_role: "link_worker".into(),
            post_wte: "1.5".into(),
            post_arrs: "yes".into(),
        };
        let s = f.parse(&model(), &Vocabulary::default()).unwrap();
        assert!((s.coverage[0].coverage - 0.8).abs() < 1e-12);
        assert_eq!(s.shifts[0].from, Level::Generic);
        assert!(s.posts[0].arrs);
    }

    #[test]
    fn a_bad_form_names_each_field() {
        let f = ScenarioForm {
            name: String::new(),
            need: "home_visit|segment:Nope".into(),
            coverage: "abc".into(),
            shift_from: "core".into(),
            shift_to: "core".into(),
            shift_percent: "150".into(),
            post_role: "receptionist".into(),
            post_wte: "0".into(),
            post_arrs: "yes".into(),
        };
        let errors = f.parse(&model(), &Vocabulary::default()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "need",
                "shift_to",
                "shift_percent",
                "post_arrs",
                "post_wte"
            ]
        );
    }

    #[test]
    fn a_mix_must_add_up_and_go_to_roles_holding_the_level() {
        let mut s = Scenario::named("mix");
        s.mix.push(Mix {
            level: Level::Generic,
            role: "receptionist".into(),
            share: 0.5,
        });
        let e = s.validate(&model(), "");
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].field, "mix[0].role");
        assert_eq!(e[1].field, "mix[0].share");
    }
}
