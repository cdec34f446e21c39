//! `GET /workforce/simulate`: the waiting-list simulation of a service. The form starts from what
//! casework measured over the last year (referrals a week, the share accepted, episode length,
//! contacts and their length) where more than 7 cases allow, and from the model's assumptions
//! otherwise; with `run=1` it validates, runs the seeded replications off the async threads, and
//! shows the waiting-time percentiles, utilisation and caseload by week.
//! `GET /workforce/simulate.csv` gives the same results as CSV.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use careweave_domain::disclosure::SafeCount;
use careweave_store::workforce::{mean, Activity};
use careweave_workforce::sim::{self, Distribution, RunSpec, Service, Summary, Triage};
use serde::Deserialize;

use super::{allowed, csv_response, model, today};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> axum::Router<AppState> {
    Router::new()
        .route("/workforce/simulate", get(page))
        .route("/workforce/simulate.csv", get(csv))
}

/// The most replications the web page runs (the command line takes more).
const MAX_REPLICATIONS: u32 = 1000;

#[derive(Debug, Clone, Default, Deserialize)]
struct SimForm {
    run: Option<String>,
    #[serde(default)]
    workers: String,
    #[serde(default)]
    caseload_cap: String,
    #[serde(default)]
    arrivals_per_week: String,
    #[serde(default)]
    accept: String,
    #[serde(default)]
    episode_weeks: String,
    #[serde(default)]
    contacts_per_week: String,
    #[serde(default)]
    hours_per_contact: String,
    #[serde(default)]
    replications: String,
    #[serde(default)]
    seed: String,
}

fn num(v: f64) -> String {
    careweave_workforce::fmt_number((v * 100.0).round() / 100.0)
}

/// Measured when more than 7 values allow it, else `fallback`.
fn measured_or(values: &[f64], fallback: f64) -> f64 {
    match (
        SafeCount::from_raw(values.len() as u64).value(),
        mean(values),
    ) {
        (Some(_), Some(m)) if m > 0.0 => m,
        _ => fallback,
    }
}

impl SimForm {
    fn defaults(a: &Activity, m: &careweave_workforce::Model) -> SimForm {
        let enough = SafeCount::from_raw(a.referrals).value().is_some();
        #[allow(clippy::cast_precision_loss)]
        let (arrivals, accept) = if enough && a.weeks > 0.0 {
            (
                a.referrals as f64 / a.weeks,
                a.accepted as f64 / a.referrals as f64 * 100.0,
            )
        } else {
            (5.0, 80.0)
        };
        let weeks = measured_or(&a.episode_weeks, m.settings.episode_weeks);
        let contacts = measured_or(&a.contacts_per_case, m.settings.contacts_per_case);
        SimForm {
            run: None,
            workers: "10".into(),
            caseload_cap: "20".into(),
            arrivals_per_week: num(arrivals),
            accept: num(accept),
            episode_weeks: num(weeks),
            contacts_per_week: num(contacts / weeks.max(1.0)),
            hours_per_contact: num(a.minutes_per_contact.map_or(1.25, |m| m / 60.0)),
            replications: "200".into(),
            seed: "1".into(),
        }
    }

    /// The service and run it describes, or one error per field.
    fn parse(&self, productive_hours_a_week: f64) -> Result<(Service, RunSpec), FormErrors> {
        let mut errors = FormErrors::default();
        let mut float =
            |field: &str, text: &str, ok: &dyn Fn(f64) -> bool, message: &str| match text
                .trim()
                .trim_end_matches('%')
                .trim()
                .parse::<f64>()
            {
                Ok(v) if v.is_finite() && ok(v) => v,
                _ => {
                    errors.add(field, message);
                    0.0
                }
            };
        let workers = float(
            "workers",
            &self.workers,
            &|v| v.fract() == 0.0 && (1.0..=500.0).contains(&v),
            "Enter the number of workers, a whole number from 1 to 500",
        );
        let cap = float(
            "caseload_cap",
            &self.caseload_cap,
            &|v| v.fract() == 0.0 && (1.0..=500.0).contains(&v),
            "Enter the caseload cap, a whole number from 1 to 500",
        );
        let arrivals = float(
            "arrivals_per_week",
            &self.arrivals_per_week,
            &|v| v > 0.0 && v <= 1000.0,
            "Enter referrals a week, more than 0 and at most 1,000",
        );
        let accept = float(
            "accept",
            &self.accept,
            &|v| v > 0.0 && v <= 100.0,
            "Enter the share accepted as a percentage, more than 0 and at most 100",
        );
        let weeks = float(
            "episode_weeks",
            &self.episode_weeks,
            &|v| v > 0.0 && v <= 520.0,
            "Enter the average episode length in weeks, more than 0 and at most 520",
        );
        let contacts = float(
            "contacts_per_week",
            &self.contacts_per_week,
            &|v| v > 0.0 && v <= 14.0,
            "Enter contacts a week, more than 0 and at most 14",
        );
        let hours = float(
            "hours_per_contact",
            &self.hours_per_contact,
            &|v| v > 0.0 && v <= 24.0,
            "Enter hours per contact, more than 0 and at most 24",
        );
        let reps = float(
            "replications",
            &self.replications,
            &|v| v.fract() == 0.0 && v >= 1.0 && v <= f64::from(MAX_REPLICATIONS),
            "Enter the number of runs, a whole number from 1 to 1,000",
        );
        let seed = float(
            "seed",
            &self.seed,
            &|v| v.fract() == 0.0 && (0.0..=1e15).contains(&v),
            "Enter the seed, a whole number of 0 or more",
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let service = Service {
            name: "Simulated service".into(),
            arrivals_per_week: arrivals,
            triage: Triage {
                accept: accept / 100.0,
                redirect: 1.0 - accept / 100.0,
                reject: 0.0,
            },
            // Episode lengths vary widely (one visit to years): a log-normal with a spread half
            // its mean keeps them positive and skewed.
            episode_weeks: Distribution::LogNormal {
                mean: weeks,
                sd: weeks / 2.0,
            },
            contacts_per_week: Distribution::Fixed { value: contacts },
            hours_per_contact: hours,
            workers: workers as u32,
            caseload_cap: cap as u32,
            worker_hours_per_week: productive_hours_a_week,
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let spec = RunSpec {
            seed: seed as u64,
            replications: reps as u32,
            weeks: 52,
            warm_up_weeks: 26,
        };
        Ok((service, spec))
    }
}

struct WeekRow {
    week: usize,
    open: String,
    waiting: String,
}

#[derive(Template)]
#[template(path = "workforce/simulate.html")]
struct SimPage {
    chrome: Chrome,
    form: SimForm,
    errors: FormErrors,
    result: Option<SimResult>,
    csv_query: String,
}

struct SimResult {
    replications: u32,
    p50: String,
    p90: String,
    mean: String,
    ci: String,
    utilisation: String,
    contact_utilisation: String,
    still_waiting: String,
    chart: String,
    weeks: Vec<WeekRow>,
}

async fn run(service: Service, spec: RunSpec) -> Result<Summary, AppError> {
    tokio::task::spawn_blocking(move || sim::summarise(&sim::simulate(&service, &spec)))
        .await
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("the simulation stopped: {e}")))
}

async fn page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<SimForm>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    allowed(&user)?;
    let model = model()?;
    let chrome = Chrome::signed_in("Waiting-list simulation", &csrf, &user, "/workforce");
    if q.run.is_none() {
        let today = today(&state);
        let activity = state
            .store
            .measured_activity(None, today - chrono::Days::new(364), today)
            .await?;
        return html(&SimPage {
            chrome,
            form: SimForm::defaults(&activity, &model),
            errors: FormErrors::default(),
            result: None,
            csv_query: String::new(),
        });
    }
    let (service, spec) = match q.parse(model.settings.productive_hours() / 52.0) {
        Ok(v) => v,
        Err(errors) => {
            return invalid(&SimPage {
                chrome,
                form: q,
                errors,
                result: None,
                csv_query: String::new(),
            })
        }
    };
    let s = run(service, spec).await?;
    let result = SimResult {
        replications: s.replications,
        p50: num(s.wait_p50),
        p90: num(s.wait_p90),
        mean: num(s.wait_mean),
        ci: format!("{} to {}", num(s.wait_mean_ci.0), num(s.wait_mean_ci.1)),
        utilisation: format!("{:.0}%", s.utilisation * 100.0),
        contact_utilisation: format!("{:.0}%", s.contact_utilisation * 100.0),
        still_waiting: num(s.still_waiting_mean),
        chart: careweave_workforce::html::caseload_chart("Simulated service", &s),
        weeks: s
            .caseload_by_week
            .iter()
            .zip(&s.waiting_by_week)
            .enumerate()
            .map(|(i, (o, w))| WeekRow {
                week: i + 1,
                open: num(*o),
                waiting: num(*w),
            })
            .collect(),
    };
    let csv_query = query_of(&q);
    html(&SimPage {
        chrome,
        form: q,
        errors: FormErrors::default(),
        result: Some(result),
        csv_query,
    })
}

fn query_of(f: &SimForm) -> String {
    serde_urlencoded::to_string([
        ("run", "1"),
        ("workers", &f.workers),
        ("caseload_cap", &f.caseload_cap),
        ("arrivals_per_week", &f.arrivals_per_week),
        ("accept", &f.accept),
        ("episode_weeks", &f.episode_weeks),
        ("contacts_per_week", &f.contacts_per_week),
        ("hours_per_contact", &f.hours_per_contact),
        ("replications", &f.replications),
        ("seed", &f.seed),
    ])
    .unwrap_or_default()
}

/// `GET /workforce/simulate.csv`: the summary and the weekly figures of the same run (the same
/// seed gives the same figures as the page).
async fn csv(Query(q): Query<SimForm>, user: CurrentUser) -> Result<Response, AppError> {
    allowed(&user)?;
    let model = model()?;
    let (service, spec) = q
        .parse(model.settings.productive_hours() / 52.0)
        .map_err(|_| AppError::NotFound)?;
    let s = run(service, spec).await?;
    let results = vec![("Simulated service".to_owned(), s)];
    let mut body = careweave_workforce::output::simulation_csv(&results);
    body.push_str("\r\n");
    body.push_str(&careweave_workforce::output::weekly_csv(&results));
    Ok(csv_response("careweave-simulation.csv", body))
}
