//! The command line's configuration file (`careweave workforce plan|simulate --config FILE`):
//! which model files to lay over the shipped model, where the population run's outputs are, the
//! posts in post, the scenarios, and the services to simulate. Paths are relative to the file.

use crate::demand::Post;
use crate::model::{Model, ModelError, Vocabulary};
use crate::scenario::{RawPost, RawScenario, Scenario};
use crate::sim::{RunSpec, Service};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    model: Vec<PathBuf>,
    population: Option<PathBuf>,
    level: Option<String>,
    out: Option<PathBuf>,
    #[serde(default)]
    post: Vec<RawPost>,
    #[serde(default)]
    scenario: Vec<RawScenario>,
    simulation: Option<RunSpec>,
    #[serde(default)]
    service: Vec<Service>,
}

/// A read and checked configuration.
#[derive(Debug)]
pub struct Config {
    pub model: Model,
    /// A population run's output folder (holding `place_profiles.parquet`).
    pub population: Option<PathBuf>,
    /// The place level to plan for (`practice`, `pcn`, `lsoa`, `locality`).
    pub level: String,
    pub out: PathBuf,
    pub posts: Vec<Post>,
    /// The as-is scenario first, then the file's scenarios in order.
    pub scenarios: Vec<Scenario>,
    pub simulation: Option<RunSpec>,
    pub services: Vec<Service>,
}

const LEVELS: [&str; 4] = ["practice", "pcn", "lsoa", "locality"];

impl Config {
    /// Reads `path`, the model files it names, and checks every scenario, post and service.
    ///
    /// # Errors
    /// The first problem, naming the file and the field.
    pub fn load(path: &Path, vocab: &Vocabulary) -> Result<Config, ModelError> {
        let file = path.display().to_string();
        let fail = |field: &str, message: String| ModelError {
            file: file.clone(),
            field: field.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| fail("(file)", format!("could not be read: {e}")))?;
        Config::from_str(&file, &text, path.parent().unwrap_or(Path::new(".")), vocab)
    }

    /// Reads a configuration from text; `dir` is the folder relative paths start from.
    ///
    /// # Errors
    /// The first problem, naming `file` and the field.
    pub fn from_str(
        file: &str,
        text: &str,
        dir: &Path,
        vocab: &Vocabulary,
    ) -> Result<Config, ModelError> {
        let fail = |field: &str, message: String| ModelError {
            file: file.to_owned(),
            field: field.to_owned(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            fail(
                "(syntax)",
                e.to_string().replace('\n', " ").trim().to_owned(),
            )
        })?;
        let paths: Vec<PathBuf> = raw.model.iter().map(|p| dir.join(p)).collect();
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        let model = Model::load(&refs, vocab)?;
        let level = raw.level.unwrap_or_else(|| "pcn".to_owned());
        if !LEVELS.contains(&level.as_str()) {
            return Err(fail(
                "level",
                format!("\"{level}\" is not a place level: write practice, pcn, lsoa or locality"),
            ));
        }
        let posts: Vec<Post> = raw.post.into_iter().map(RawPost::into_post).collect();
        let probe = Scenario {
            name: "posts".into(),
            posts: posts.clone(),
            ..Scenario::default()
        };
        if let Some(e) = probe.validate(&model, "").into_iter().next() {
            return Err(fail(&e.field, e.message));
        }
        let mut scenarios = vec![Scenario::as_is()];
        for (i, s) in raw.scenario.into_iter().enumerate() {
            let prefix = format!("scenario[{i}].");
            let s = s
                .into_scenario(&model, vocab, &prefix)
                .map_err(|errors| fail(&errors[0].field, errors[0].message.clone()))?;
            scenarios.push(s);
        }
        if let Some(spec) = &raw.simulation {
            if spec.replications == 0 || spec.replications > 100_000 {
                return Err(fail(
                    "simulation.replications",
                    "must be from 1 to 100,000".into(),
                ));
            }
            if spec.weeks == 0 || spec.weeks > 5_200 {
                return Err(fail("simulation.weeks", "must be from 1 to 5,200".into()));
            }
        }
        for (i, s) in raw.service.iter().enumerate() {
            if let Some(e) = s.validate(&format!("service[{i}].")).into_iter().next() {
                let (field, message) = e.split_once(": ").unwrap_or((&e, ""));
                return Err(fail(field, message.to_owned()));
            }
        }
        Ok(Config {
            model,
            population: raw.population.map(|p| dir.join(p)),
            level,
            out: dir.join(raw.out.unwrap_or_else(|| PathBuf::from("workforce-out"))),
            posts,
            scenarios,
            simulation: raw.simulation,
            services: raw.service,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
population = "pop"
level = "practice"

[[post]]
role = "link_worker"
wte = 2
arrs = true

[[scenario]]
name = "Coordinators take generic work"
shift = [{ from = "advanced", to = "generic", percent = 10 }]
post = [{ role = "care_coordinator", wte = 1, arrs = true }]

[simulation]
seed = 1
replications = 10
weeks = 52

[[service]]
name = "Link workers"
arrivals_per_week = 9
triage = { accept = 0.8, redirect = 0.15, reject = 0.05 }
episode_weeks = { kind = "log_normal", mean = 12, sd = 4 }
contacts_per_week = { kind = "fixed", value = 0.75 }
hours_per_contact = 1.25
workers = 10
caseload_cap = 25
worker_hours_per_week = 26.6
"#;

    #[test]
    fn a_configuration_reads_with_its_scenarios_and_services() {
        let c =
            Config::from_str("w.toml", GOOD, Path::new("/tmp/x"), &Vocabulary::default()).unwrap();
        assert_eq!(c.scenarios.len(), 2);
        assert_eq!(c.population.as_deref(), Some(Path::new("/tmp/x/pop")));
        assert_eq!(c.services[0].workers, 10);
    }

    #[test]
    fn a_bad_scenario_or_service_is_refused_naming_the_field() {
        let bad = GOOD.replace("percent = 10", "percent = 120");
        let e =
            Config::from_str("w.toml", &bad, Path::new("."), &Vocabulary::default()).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.field.as_str()),
            ("w.toml", "scenario[0].shift[0].percent")
        );
        let bad = GOOD.replace("workers = 10", "workers = 0");
        let e =
            Config::from_str("w.toml", &bad, Path::new("."), &Vocabulary::default()).unwrap_err();
        assert_eq!(e.field, "service[0].workers");
        let bad = GOOD.replace("role = \"link_worker\"", "role = \"wizard\"");
        let e =
            Config::from_str("w.toml", &bad, Path::new("."), &Vocabulary::default()).unwrap_err();
        assert_eq!(e.field, "post[0].role");
    }
}
