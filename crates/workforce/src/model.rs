//! The workforce model as readable data: settings, care functions, the hours each group of people
//! needs, roles with the competency levels they hold, and who does each level's work.
//!
//! The shipped file (`model/default.toml`) is loaded first and deployment files after it; a later
//! file replaces an entry with the same key (a function or role by id, a need by function and group,
//! an allocation by level and role, a setting by name). Inside one file a key may appear once:
//! two definitions of the same thing are refused rather than silently picking one. Every refusal
//! names the file and the field (`need[3].hours`), so that a planner can find the line.

use crate::register::{Assumption, Register};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The shipped model, compiled in so that the binary needs no file to plan.
pub const DEFAULT_MODEL: &str = include_str!("../model/default.toml");
/// The name the shipped model is reported under.
pub const DEFAULT_MODEL_NAME: &str = "default.toml (shipped)";

/// The eight Bridges to Health segments the population engine assigns, in its words.
pub const SEGMENTS: [&str; 8] = [
    "Healthy",
    "Maternal and infant health",
    "Acute illness, mostly curable",
    "Chronic conditions, normal function",
    "Stable but serious disability",
    "Short period of decline before dying",
    "Limited reserve and exacerbations (organ failure)",
    "Long-term frailty",
];

/// The cohorts the population engine ships (`crates/population/rules/cohorts`).
pub const COHORTS: [&str; 5] = [
    "core20plus5",
    "focused_care",
    "frailty",
    "top3",
    "wokingham_mdt",
];

/// A refusal of a model file, naming the file and the field.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{file}: {field}: {message}")]
pub struct ModelError {
    pub file: String,
    pub field: String,
    pub message: String,
}

fn err(file: &str, field: impl Into<String>, message: impl Into<String>) -> ModelError {
    ModelError {
        file: file.to_owned(),
        field: field.into(),
        message: message.into(),
    }
}

/// A competency level of the care-function method, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Core,
    Generic,
    Advanced,
    Specialist,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::Core,
        Level::Generic,
        Level::Advanced,
        Level::Specialist,
    ];

    /// The word used in model files.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Level::Core => "core",
            Level::Generic => "generic",
            Level::Advanced => "advanced",
            Level::Specialist => "specialist",
        }
    }

    /// The words shown to people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Level::Core => "Core",
            Level::Generic => "Generic",
            Level::Advanced => "Advanced",
            Level::Specialist => "Specialist",
        }
    }

    /// Parses the word used in model files and forms.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.code() == code)
    }
}

/// Which people a need applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Everyone registered in the place.
    All,
    /// One Bridges to Health segment.
    Segment(String),
    /// One case-finding cohort.
    Cohort(String),
}

impl Group {
    /// The form used in model files: `all`, `segment:<name>` or `cohort:<name>`.
    #[must_use]
    pub fn code(&self) -> String {
        match self {
            Group::All => "all".to_owned(),
            Group::Segment(s) => format!("segment:{s}"),
            Group::Cohort(c) => format!("cohort:{c}"),
        }
    }

    /// The words shown to people.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Group::All => "Everyone".to_owned(),
            Group::Segment(s) => format!("Segment: {s}"),
            Group::Cohort(c) => format!("Cohort: {}", c.replace('_', " ")),
        }
    }
}

/// The groups a model may name: the segments and cohorts the population engine produces.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub segments: BTreeSet<String>,
    pub cohorts: BTreeSet<String>,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary {
            segments: SEGMENTS.iter().map(|s| (*s).to_owned()).collect(),
            cohorts: COHORTS.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl Vocabulary {
    /// Parses a group as written in a model file, refusing one the population engine never produces.
    ///
    /// # Errors
    /// The reason, for the caller to put beside the file and field.
    pub fn parse_group(&self, text: &str) -> Result<Group, String> {
        if text == "all" {
            return Ok(Group::All);
        }
        if let Some(s) = text.strip_prefix("segment:") {
            return if self.segments.contains(s) {
                Ok(Group::Segment(s.to_owned()))
            } else {
                Err(format!(
                    "unknown segment \"{s}\" (known: {})",
                    self.segments
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            };
        }
        if let Some(c) = text.strip_prefix("cohort:") {
            return if self.cohorts.contains(c) {
                Ok(Group::Cohort(c.to_owned()))
            } else {
                Err(format!(
                    "unknown cohort \"{c}\" (known: {})",
                    self.cohorts
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            };
        }
        Err(format!(
            "\"{text}\" is not a group: write all, segment:<name> or cohort:<name>"
        ))
    }
}

/// A number with where it came from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub value: f64,
    pub source: String,
}

/// The figures that turn hours into WTE and cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Contracted hours a year for one WTE.
    pub contracted_hours: f64,
    /// Shares of contracted hours lost to leave, training and travel.
    pub leave: f64,
    pub training: f64,
    pub travel: f64,
    /// Employer on-costs as a share of salary.
    pub on_costs: f64,
    /// The PCN's ARRS budget for the year, in pounds.
    pub arrs_budget: f64,
    /// The activity the plan assumes for one supported person, to set against what casework
    /// measures: contacts in an episode, its length in weeks, and days from referral to the first
    /// contact.
    pub contacts_per_case: f64,
    pub episode_weeks: f64,
    pub days_to_first_contact: f64,
}

impl Settings {
    /// Hours a year one WTE spends with or for people.
    #[must_use]
    pub fn productive_hours(&self) -> f64 {
        self.contracted_hours * (1.0 - self.leave - self.training - self.travel)
    }
}

/// A care function and the competency level it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub id: String,
    pub name: String,
    pub level: Level,
}

/// Hours a year a function needs for each person of a group, for the share of the group it reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    pub function: String,
    pub group: Group,
    /// Share of the group who receive the function in a year (0 to 1).
    pub coverage: f64,
    /// Hours a year for each person who receives it.
    pub hours: f64,
    pub source: String,
}

/// A role, the levels it holds, and what a WTE costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub levels: Vec<Level>,
    pub band: Option<String>,
    /// Salary for one WTE before on-costs.
    pub salary: f64,
    pub arrs: bool,
    /// The most ARRS reimburses for one WTE, on-costs included.
    pub arrs_cap: Option<f64>,
    pub source: String,
}

impl Role {
    /// One WTE for a year with on-costs.
    #[must_use]
    pub fn cost_per_wte(&self, settings: &Settings) -> f64 {
        self.salary * (1.0 + settings.on_costs)
    }

    /// What ARRS reimburses for one WTE of this role: the cost up to the cap, nothing for a role
    /// outside the scheme.
    #[must_use]
    pub fn reimbursable_per_wte(&self, settings: &Settings) -> f64 {
        match (self.arrs, self.arrs_cap) {
            (true, Some(cap)) => self.cost_per_wte(settings).min(cap),
            _ => 0.0,
        }
    }
}

/// A share of one level's hours done by one role.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    pub level: Level,
    pub role: String,
    pub share: f64,
    pub source: String,
}

/// A validated model with its assumptions register.
#[derive(Debug, Clone)]
pub struct Model {
    pub settings: Settings,
    pub functions: Vec<Function>,
    pub needs: Vec<Need>,
    pub roles: Vec<Role>,
    pub allocations: Vec<Allocation>,
    pub register: Register,
    /// The files the model was read from, in order.
    pub files: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    illustrative: Option<bool>,
    settings: Option<RawSettings>,
    #[serde(default)]
    function: Vec<RawFunction>,
    #[serde(default)]
    need: Vec<RawNeed>,
    #[serde(default)]
    role: Vec<RawRole>,
    #[serde(default)]
    allocation: Vec<RawAllocation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    contracted_hours: Option<Figure>,
    leave: Option<Figure>,
    training: Option<Figure>,
    travel: Option<Figure>,
    on_costs: Option<Figure>,
    arrs_budget: Option<Figure>,
    contacts_per_case: Option<Figure>,
    episode_weeks: Option<Figure>,
    days_to_first_contact: Option<Figure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunction {
    id: String,
    name: String,
    level: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNeed {
    function: String,
    group: String,
    coverage: f64,
    hours: f64,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    id: String,
    name: String,
    #[serde(default)]
    levels: Vec<String>,
    band: Option<String>,
    salary: f64,
    #[serde(default)]
    arrs: bool,
    arrs_cap: Option<f64>,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllocation {
    level: String,
    role: String,
    share: f64,
    source: String,
}

/// Where an entry came from: the file, the field path and whether the file calls itself illustrative.
#[derive(Debug, Clone)]
struct Origin {
    file: String,
    field: String,
    illustrative: bool,
}

/// The model being assembled from files, each entry with its origin.
#[derive(Debug, Default)]
struct Builder {
    settings: BTreeMap<&'static str, (Figure, Origin)>,
    functions: BTreeMap<String, (Function, Origin)>,
    needs: BTreeMap<(String, Group), (Need, Origin)>,
    roles: BTreeMap<String, (Role, Origin)>,
    allocations: BTreeMap<(Level, String), (Allocation, Origin)>,
    files: Vec<String>,
}

fn need_text(file: &str, field: &str, text: &str) -> Result<(), ModelError> {
    if text.trim().is_empty() {
        return Err(err(file, field, "must not be empty"));
    }
    Ok(())
}

fn finite(file: &str, field: &str, v: f64) -> Result<f64, ModelError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(err(file, field, "must be a number"))
    }
}

impl Builder {
    #[allow(clippy::too_many_lines)]
    fn add(&mut self, file: &str, text: &str, vocab: &Vocabulary) -> Result<(), ModelError> {
        let raw: RawModel = toml::from_str(text).map_err(|e| {
            err(
                file,
                "(syntax)",
                e.to_string().replace('\n', " ").trim().to_owned(),
            )
        })?;
        let illustrative = raw.illustrative.unwrap_or(false);
        let origin = |field: String| Origin {
            file: file.to_owned(),
            field,
            illustrative,
        };
        if let Some(s) = raw.settings {
            for (name, fig) in [
                ("contracted_hours", s.contracted_hours),
                ("leave", s.leave),
                ("training", s.training),
                ("travel", s.travel),
                ("on_costs", s.on_costs),
                ("arrs_budget", s.arrs_budget),
                ("contacts_per_case", s.contacts_per_case),
                ("episode_weeks", s.episode_weeks),
                ("days_to_first_contact", s.days_to_first_contact),
            ] {
                if let Some(fig) = fig {
                    let field = format!("settings.{name}");
                    finite(file, &format!("{field}.value"), fig.value)?;
                    need_text(file, &format!("{field}.source"), &fig.source)?;
                    let ok = match name {
                        "contracted_hours" => fig.value > 0.0,
                        "leave" | "training" | "travel" => (0.0..1.0).contains(&fig.value),
                        _ => fig.value >= 0.0,
                    };
                    if !ok {
                        return Err(err(
                            file,
                            format!("{field}.value"),
                            match name {
                                "contracted_hours" => "must be more than 0 hours".to_owned(),
                                "leave" | "training" | "travel" => {
                                    "must be a share from 0 up to (not including) 1".to_owned()
                                }
                                _ => "must not be negative".to_owned(),
                            },
                        ));
                    }
                    self.settings.insert(name, (fig, origin(field)));
                }
            }
        }
        let mut seen = BTreeSet::new();
        for (i, f) in raw.function.into_iter().enumerate() {
            let field = format!("function[{i}]");
            need_text(file, &format!("{field}.id"), &f.id)?;
            need_text(file, &format!("{field}.name"), &f.name)?;
            let level = Level::from_code(&f.level).ok_or_else(|| {
                err(
                    file,
                    format!("{field}.level"),
                    format!(
                        "unknown level \"{}\": write core, generic, advanced or specialist",
                        f.level
                    ),
                )
            })?;
            if !seen.insert(f.id.clone()) {
                return Err(err(
                    file,
                    format!("{field}.id"),
                    format!(
                        "overlapping definitions: function \"{}\" is defined twice",
                        f.id
                    ),
                ));
            }
            self.functions.insert(
                f.id.clone(),
                (
                    Function {
                        id: f.id,
                        name: f.name,
                        level,
                    },
                    origin(field),
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, n) in raw.need.into_iter().enumerate() {
            let field = format!("need[{i}]");
            let group = vocab
                .parse_group(&n.group)
                .map_err(|m| err(file, format!("{field}.group"), m))?;
            finite(file, &format!("{field}.hours"), n.hours)?;
            if n.hours < 0.0 {
                return Err(err(
                    file,
                    format!("{field}.hours"),
                    format!("negative hours ({}): hours must be 0 or more", n.hours),
                ));
            }
            finite(file, &format!("{field}.coverage"), n.coverage)?;
            if !(0.0..=1.0).contains(&n.coverage) {
                return Err(err(
                    file,
                    format!("{field}.coverage"),
                    format!("{} is not a share from 0 to 1", n.coverage),
                ));
            }
            need_text(file, &format!("{field}.source"), &n.source)?;
            let key = (n.function.clone(), group.clone());
            if !seen.insert(key.clone()) {
                return Err(err(
                    file,
                    format!("{field}.group"),
                    format!(
                        "overlapping definitions: function \"{}\" for {} is defined twice",
                        n.function,
                        group.code()
                    ),
                ));
            }
            self.needs.insert(
                key,
                (
                    Need {
                        function: n.function,
                        group,
                        coverage: n.coverage,
                        hours: n.hours,
                        source: n.source,
                    },
                    origin(field),
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, r) in raw.role.into_iter().enumerate() {
            let field = format!("role[{i}]");
            need_text(file, &format!("{field}.id"), &r.id)?;
            need_text(file, &format!("{field}.name"), &r.name)?;
            need_text(file, &format!("{field}.source"), &r.source)?;
            if r.levels.is_empty() {
                return Err(err(
                    file,
                    format!("{field}.levels"),
                    format!(
                        "role \"{}\" holds no competency level: list at least one",
                        r.id
                    ),
                ));
            }
            let mut levels = Vec::new();
            for (j, l) in r.levels.iter().enumerate() {
                let level = Level::from_code(l).ok_or_else(|| {
                    err(
                        file,
                        format!("{field}.levels[{j}]"),
                        format!(
                            "unknown level \"{l}\": write core, generic, advanced or specialist"
                        ),
                    )
                })?;
                if levels.contains(&level) {
                    return Err(err(
                        file,
                        format!("{field}.levels[{j}]"),
                        format!("overlapping definitions: level \"{l}\" is listed twice"),
                    ));
                }
                levels.push(level);
            }
            finite(file, &format!("{field}.salary"), r.salary)?;
            if r.salary < 0.0 {
                return Err(err(file, format!("{field}.salary"), "must not be negative"));
            }
            if r.arrs && r.arrs_cap.is_none() {
                return Err(err(
                    file,
                    format!("{field}.arrs_cap"),
                    "an ARRS-reimbursable role needs its reimbursement cap",
                ));
            }
            if let Some(cap) = r.arrs_cap {
                finite(file, &format!("{field}.arrs_cap"), cap)?;
                if cap < 0.0 {
                    return Err(err(
                        file,
                        format!("{field}.arrs_cap"),
                        "must not be negative",
                    ));
                }
            }
            if !seen.insert(r.id.clone()) {
                return Err(err(
                    file,
                    format!("{field}.id"),
                    format!(
                        "overlapping definitions: role \"{}\" is defined twice",
                        r.id
                    ),
                ));
            }
            self.roles.insert(
                r.id.clone(),
                (
                    Role {
                        id: r.id,
                        name: r.name,
                        levels,
                        band: r.band,
                        salary: r.salary,
                        arrs: r.arrs,
                        arrs_cap: r.arrs_cap,
                        source: r.source,
                    },
                    origin(field),
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, a) in raw.allocation.into_iter().enumerate() {
            let field = format!("allocation[{i}]");
            let level = Level::from_code(&a.level).ok_or_else(|| {
                err(
                    file,
                    format!("{field}.level"),
                    format!(
                        "unknown level \"{}\": write core, generic, advanced or specialist",
                        a.level
                    ),
                )
            })?;
            finite(file, &format!("{field}.share"), a.share)?;
            if !(0.0..=1.0).contains(&a.share) {
                return Err(err(
                    file,
                    format!("{field}.share"),
                    format!("{} is not a share from 0 to 1", a.share),
                ));
            }
            need_text(file, &format!("{field}.source"), &a.source)?;
            if !seen.insert((level, a.role.clone())) {
                return Err(err(
                    file,
                    format!("{field}.role"),
                    format!(
                        "overlapping definitions: the {} share of role \"{}\" is defined twice",
                        level.code(),
                        a.role
                    ),
                ));
            }
            self.allocations.insert(
                (level, a.role.clone()),
                (
                    Allocation {
                        level,
                        role: a.role,
                        share: a.share,
                        source: a.source,
                    },
                    origin(field),
                ),
            );
        }
        self.files.push(file.to_owned());
        Ok(())
    }

    #[allow(clippy::too_many_lines)]
    fn finish(self) -> Result<Model, ModelError> {
        let last = self.files.last().cloned().unwrap_or_default();
        let mut register = Register::default();
        let mut setting = |name: &'static str| -> Result<f64, ModelError> {
            let (fig, o) = self.settings.get(name).ok_or_else(|| {
                err(
                    &last,
                    format!("settings.{name}"),
                    "missing: no file sets it",
                )
            })?;
            register.push(Assumption {
                id: o.field.clone(),
                what: setting_label(name).to_owned(),
                value: fig.value,
                unit: setting_unit(name),
                source: fig.source.clone(),
                file: o.file.clone(),
                illustrative: o.illustrative,
            });
            Ok(fig.value)
        };
        let settings = Settings {
            contracted_hours: setting("contracted_hours")?,
            leave: setting("leave")?,
            training: setting("training")?,
            travel: setting("travel")?,
            on_costs: setting("on_costs")?,
            arrs_budget: setting("arrs_budget")?,
            contacts_per_case: setting("contacts_per_case")?,
            episode_weeks: setting("episode_weeks")?,
            days_to_first_contact: setting("days_to_first_contact")?,
        };
        if settings.productive_hours() <= 0.0 {
            let o = &self.settings["travel"].1;
            return Err(err(
                &o.file,
                "settings",
                "leave, training and travel together take every contracted hour",
            ));
        }
        // A need for everyone and a need for a segment or cohort of the same function would count
        // the people of that group twice.
        let mut all_functions = BTreeSet::new();
        for (function, group) in self.needs.keys() {
            if *group == Group::All {
                all_functions.insert(function.clone());
            }
        }
        for ((function, group), (need, o)) in &self.needs {
            let Some((f, _)) = self.functions.get(function) else {
                return Err(err(
                    &o.file,
                    format!("{}.function", o.field),
                    format!("no function \"{function}\" is defined"),
                ));
            };
            if *group != Group::All && all_functions.contains(function) {
                return Err(err(
                    &o.file,
                    format!("{}.group", o.field),
                    format!(
                        "overlapping definitions: function \"{function}\" is already needed by everyone, so {} would be counted twice",
                        group.code()
                    ),
                ));
            }
            let key = format!("need.{function}.{}", group.code());
            register.push(Assumption {
                id: format!("{key}.coverage"),
                what: format!("{}: share of {} reached", f.name, group.label()),
                value: need.coverage,
                unit: "share",
                source: need.source.clone(),
                file: o.file.clone(),
                illustrative: o.illustrative,
            });
            register.push(Assumption {
                id: format!("{key}.hours"),
                what: format!(
                    "{}: hours a year for each person reached ({} level)",
                    f.name,
                    f.level.code()
                ),
                value: need.hours,
                unit: "hours",
                source: need.source.clone(),
                file: o.file.clone(),
                illustrative: o.illustrative,
            });
        }
        for (id, (role, o)) in &self.roles {
            register.push(Assumption {
                id: format!("role.{id}.salary"),
                what: format!(
                    "{}: salary for one WTE{}",
                    role.name,
                    role.band
                        .as_ref()
                        .map(|b| format!(" (band {b})"))
                        .unwrap_or_default()
                ),
                value: role.salary,
                unit: "pounds",
                source: role.source.clone(),
                file: o.file.clone(),
                illustrative: o.illustrative,
            });
            if let (true, Some(cap)) = (role.arrs, role.arrs_cap) {
                register.push(Assumption {
                    id: format!("role.{id}.arrs_cap"),
                    what: format!("{}: ARRS reimbursement cap for one WTE", role.name),
                    value: cap,
                    unit: "pounds",
                    source: role.source.clone(),
                    file: o.file.clone(),
                    illustrative: o.illustrative,
                });
            }
        }
        let mut totals: BTreeMap<Level, f64> = BTreeMap::new();
        for ((level, role_id), (a, o)) in &self.allocations {
            let Some((role, _)) = self.roles.get(role_id) else {
                return Err(err(
                    &o.file,
                    format!("{}.role", o.field),
                    format!("no role \"{role_id}\" is defined"),
                ));
            };
            if !role.levels.contains(level) {
                return Err(err(
                    &o.file,
                    format!("{}.role", o.field),
                    format!(
                        "role \"{role_id}\" does not hold the {} level, so it cannot take its work",
                        level.code()
                    ),
                ));
            }
            *totals.entry(*level).or_default() += a.share;
            register.push(Assumption {
                id: format!("allocation.{}.{role_id}.share", level.code()),
                what: format!(
                    "Share of {} level hours done by {}",
                    level.code(),
                    role.name
                ),
                value: a.share,
                unit: "share",
                source: a.source.clone(),
                file: o.file.clone(),
                illustrative: o.illustrative,
            });
        }
        let used: BTreeSet<Level> = self.functions.values().map(|(f, _)| f.level).collect();
        for level in used {
            let total = totals.get(&level).copied().unwrap_or(0.0);
            if (total - 1.0).abs() > 1e-6 {
                return Err(err(
                    &last,
                    "allocation",
                    format!(
                        "the shares of the {} level add up to {total:.3}, not 1",
                        level.code()
                    ),
                ));
            }
        }
        Ok(Model {
            settings,
            functions: self.functions.into_values().map(|(f, _)| f).collect(),
            needs: self.needs.into_values().map(|(n, _)| n).collect(),
            roles: self.roles.into_values().map(|(r, _)| r).collect(),
            allocations: self.allocations.into_values().map(|(a, _)| a).collect(),
            register,
            files: self.files,
        })
    }
}

fn setting_label(name: &str) -> &'static str {
    match name {
        "contracted_hours" => "Contracted hours a year for one WTE",
        "leave" => "Share of contracted hours on leave",
        "training" => "Share of contracted hours in training and supervision",
        "travel" => "Share of contracted hours travelling",
        "on_costs" => "Employer on-costs as a share of salary",
        "contacts_per_case" => "Contacts in one episode of support",
        "episode_weeks" => "Weeks from the start of support to discharge",
        "days_to_first_contact" => "Days from referral to the first contact",
        _ => "ARRS budget for the year",
    }
}

fn setting_unit(name: &str) -> &'static str {
    match name {
        "contracted_hours" => "hours",
        "arrs_budget" => "pounds",
        "contacts_per_case" => "contacts",
        "episode_weeks" => "weeks",
        "days_to_first_contact" => "days",
        _ => "share",
    }
}

impl Model {
    /// The shipped model alone.
    ///
    /// # Errors
    /// Only if the shipped file is broken, which a unit test rules out.
    pub fn defaults(vocab: &Vocabulary) -> Result<Model, ModelError> {
        Model::from_sources(&[], vocab)
    }

    /// The shipped model with each `(name, text)` applied on top, in order.
    ///
    /// # Errors
    /// The first refusal, naming its file and field.
    pub fn from_sources(sources: &[(&str, &str)], vocab: &Vocabulary) -> Result<Model, ModelError> {
        let mut b = Builder::default();
        b.add(DEFAULT_MODEL_NAME, DEFAULT_MODEL, vocab)?;
        for (name, text) in sources {
            b.add(name, text, vocab)?;
        }
        b.finish()
    }

    /// The shipped model with the files at `paths` applied on top, in order.
    ///
    /// # Errors
    /// A file that cannot be read, or the first refusal.
    pub fn load(paths: &[&Path], vocab: &Vocabulary) -> Result<Model, ModelError> {
        let mut texts = Vec::new();
        for p in paths {
            let name = p.display().to_string();
            let text = std::fs::read_to_string(p)
                .map_err(|e| err(&name, "(file)", format!("could not be read: {e}")))?;
            texts.push((name, text));
        }
        let refs: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Model::from_sources(&refs, vocab)
    }

    /// The role with this id.
    #[must_use]
    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// The function with this id.
    #[must_use]
    pub fn function(&self, id: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(extra: &str) -> Result<Model, ModelError> {
        Model::from_sources(&[("local.toml", extra)], &Vocabulary::default())
    }

    #[test]
    fn the_shipped_model_loads_and_every_figure_is_in_the_register_as_illustrative() {
        let m = Model::defaults(&Vocabulary::default()).unwrap();
        assert!(m.register.lines().iter().all(|a| a.illustrative));
        assert!(m.register.lines().iter().all(|a| !a.source.is_empty()));
        // 9 settings, 2 per need, salary per role, cap per ARRS role, one per allocation.
        let arrs = m.roles.iter().filter(|r| r.arrs).count();
        assert_eq!(
            m.register.lines().len(),
            9 + 2 * m.needs.len() + m.roles.len() + arrs + m.allocations.len()
        );
        assert!((m.settings.productive_hours() - 1384.5).abs() < 1e-9);
    }

    #[test]
    fn the_segment_names_match_the_population_engines_rules() {
        let rules = include_str!("../../population/rules/segments.toml");
        for line in rules.lines().filter(|l| l.starts_with("segment = ")) {
            let name = line.trim_start_matches("segment = ").trim_matches('"');
            assert!(SEGMENTS.contains(&name), "{name} is missing from SEGMENTS");
        }
    }

    #[test]
    fn an_unknown_segment_is_refused_naming_file_and_field() {
        let e = load(
            "[[need]]\nfunction = \"home_visit\"\ngroup = \"segment:Heathy\"\ncoverage = 1\nhours = 1\nsource = \"x\"\n",
        )
        .unwrap_err();
        assert_eq!(e.file, "local.toml");
        assert_eq!(e.field, "need[0].group");
        assert!(e.message.contains("unknown segment \"Heathy\""), "{e}");
    }

    #[test]
    fn negative_hours_are_refused() {
        let e = load(
            "[[need]]\nfunction = \"home_visit\"\ngroup = \"segment:Healthy\"\ncoverage = 1\nhours = -2\nsource = \"x\"\n",
        )
        .unwrap_err();
        assert_eq!(e.field, "need[0].hours");
        assert!(e
            .to_string()
            .starts_with("local.toml: need[0].hours: negative hours"));
    }

    #[test]
    fn a_role_with_no_level_is_refused() {
        let e =
            load("[[role]]\nid = \"x\"\nname = \"X\"\nlevels = []\nsalary = 1\nsource = \"s\"\n")
                .unwrap_err();
        assert_eq!(e.field, "role[0].levels");
        let e =
            load("[[role]]\nid = \"x\"\nname = \"X\"\nsalary = 1\nsource = \"s\"\n").unwrap_err();
        assert_eq!(e.field, "role[0].levels");
    }

    #[test]
    fn overlapping_definitions_are_refused() {
        let twice = "[[function]]\nid = \"a\"\nname = \"A\"\nlevel = \"core\"\n".repeat(2);
        let e = load(&twice).unwrap_err();
        assert_eq!(e.field, "function[1].id");
        assert!(e.message.contains("overlapping definitions"));
        let need = "[[need]]\nfunction = \"home_visit\"\ngroup = \"segment:Healthy\"\ncoverage = 1\nhours = 1\nsource = \"x\"\n";
        let e = load(&need.repeat(2)).unwrap_err();
        assert_eq!(e.field, "need[1].group");
        // Everyone and a segment for the same function would count the segment twice.
        let e = load(&need.replace("home_visit", "care_navigation")).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.field.as_str()),
            ("local.toml", "need[0].group")
        );
        assert!(e.message.contains("counted twice"), "{e}");
    }

    #[test]
    fn a_later_file_replaces_a_figure_and_the_register_says_where_it_came_from() {
        let m = load(
            "illustrative = false\n[settings]\ntravel = { value = 0.2, source = \"Measured in our diary study\" }\n",
        )
        .unwrap();
        assert!((m.settings.travel - 0.2).abs() < 1e-12);
        let line = m.register.get("settings.travel").unwrap();
        assert_eq!(line.file, "local.toml");
        assert!(!line.illustrative);
        assert!(m.register.get("settings.leave").unwrap().illustrative);
    }

    #[test]
    fn shares_must_go_to_a_role_holding_the_level_and_add_up_to_one() {
        let e = load(
            "[[allocation]]\nlevel = \"specialist\"\nrole = \"receptionist\"\nshare = 0\nsource = \"x\"\n",
        )
        .unwrap_err();
        assert!(
            e.message.contains("does not hold the specialist level"),
            "{e}"
        );
        let e = load(
            "[[allocation]]\nlevel = \"core\"\nrole = \"receptionist\"\nshare = 0.5\nsource = \"x\"\n",
        )
        .unwrap_err();
        assert!(e.message.contains("add up to 0.900"), "{e}");
    }

    #[test]
    fn unknown_fields_and_arrs_roles_without_a_cap_are_refused() {
        let e = load("[settings]\nleeve = { value = 0.1, source = \"x\" }\n").unwrap_err();
        assert_eq!(e.file, "local.toml");
        assert!(e.message.contains("leeve"), "{e}");
        let e = load(
            "[[role]]\nid = \"x\"\nname = \"X\"\nlevels = [\"core\"]\nsalary = 1\narrs = true\nsource = \"s\"\n",
        )
        .unwrap_err();
        assert_eq!(e.field, "role[0].arrs_cap");
    }
}
