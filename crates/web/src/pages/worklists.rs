//! Case-finding worklists as a practice or PCN team works them (`/population/worklists/…`).
//!
//! A list of 25,000 people is shown 50 at a time, sorted and filtered by the database
//! (`store::worklists`), with readable criteria, the practice's name and the figures behind each
//! reason. A worker can set a person aside ("snoozed" or "not suitable") with a reason and a review
//! date, so that the list shrinks as it is worked, and can export the filtered list as CSV through
//! the one CSV writer; the export is audited like the page. GPs and practice staff who refer see
//! their own practice's lists; only workers and supervisors get a link to open a record, since the
//! access policy lets only them read one.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use careweave_domain::access::Role;
use careweave_domain::dates::parse_date_parts;
use careweave_domain::NhsNumber;
use careweave_store::population::can_read_worklists;
use careweave_store::worklists::{
    SetAsideKind, WorklistEntry, WorklistQuery, WorklistSort, PAGE_SIZE,
};
use serde::Deserialize;

use super::{html, invalid, Chrome, Pagination};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::FormErrors;
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/population/worklists", get(worklists))
        .route("/population/worklists/{cohort}", get(worklist))
        .route("/population/worklists/{cohort}/export.csv", get(export))
        .route(
            "/population/worklists/{cohort}/set-aside",
            get(set_aside_form).post(set_aside),
        )
}

struct CohortLink {
    name: String,
    title: String,
}

#[derive(Template)]
#[template(path = "population_worklists.html")]
struct WorklistsPage {
    chrome: Chrome,
    cohorts: Vec<CohortLink>,
}

async fn worklists(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if !can_read_worklists(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let cohorts = match state.store.latest_population_run().await? {
        Some(run) => state.store.population_cohorts(run.id).await?,
        None => Vec::new(),
    };
    html(&WorklistsPage {
        chrome: Chrome::signed_in("Worklists", &csrf, &user, "/population/worklists"),
        cohorts: cohorts
            .into_iter()
            .map(|(name, title)| CohortLink { name, title })
            .collect(),
    })
}

/// The query string of a worklist page; every field as typed, so that links keep it.
#[derive(Debug, Default, Deserialize)]
struct ListParams {
    #[serde(default)]
    sort: String,
    #[serde(default)]
    practice: String,
    #[serde(default)]
    segment: String,
    #[serde(default)]
    criterion: String,
    #[serde(default)]
    set_aside: String,
    #[serde(default)]
    page: String,
    /// Set after a decision was saved, to show the confirmation.
    #[serde(default)]
    saved: String,
}

impl ListParams {
    fn query(&self) -> WorklistQuery {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        WorklistQuery {
            sort: WorklistSort::from_code(&self.sort),
            practice: some(&self.practice),
            segment: some(&self.segment),
            criterion: some(&self.criterion),
            set_aside: self.set_aside == "1",
            page: self.page.trim().parse().unwrap_or(1),
        }
    }

    /// The filters to keep in page and sort links.
    fn keep(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("sort", self.sort.as_str()),
            ("practice", self.practice.as_str()),
            ("segment", self.segment.as_str()),
            ("criterion", self.criterion.as_str()),
            ("set_aside", self.set_aside.as_str()),
        ]
    }
}

/// One option of a filter or sort select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choices(options: &[(String, String)], current: &str) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, label)| Choice {
            value: value.clone(),
            label: label.clone(),
            selected: value == current,
        })
        .collect()
}

/// A row as the page shows it: everything already in words.
struct Row {
    person: Option<i64>,
    name: Option<String>,
    nhs_number: String,
    nhs_digits: String,
    practice: String,
    segment: String,
    criteria: Vec<String>,
    age_sex: String,
    figures: String,
    last_contact: String,
    set_aside: Option<String>,
}

/// The segments the engine's rules name, in the order a filter offers them. A segment a run
/// writes that is not here still shows on rows; it simply cannot be filtered on.
const SEGMENTS: [&str; 8] = [
    "Healthy",
    "Maternal and infant health",
    "Acute illness, mostly curable",
    "Chronic conditions, normal function",
    "Stable but serious disability",
    "Limited reserve and exacerbations (organ failure)",
    "Long-term frailty",
    "Short period of decline before dying",
];

fn sex_label(sex: Option<&str>) -> &'static str {
    match sex.map(str::to_ascii_lowercase).as_deref() {
        Some("female" | "f") => "female",
        Some("male" | "m") => "male",
        Some(_) => "another sex",
        None => "",
    }
}

/// The figures behind the criteria, in words: the frailty index with its category, the Charlson
/// score, the Hospital Frailty Risk Score and emergency admissions.
fn figures(e: &WorklistEntry) -> String {
    let mut parts = Vec::new();
    if let Some(efi) = e.efi {
        let band = match efi {
            x if x <= 0.12 => "fit",
            x if x <= 0.24 => "mild frailty",
            x if x <= 0.36 => "moderate frailty",
            _ => "severe frailty",
        };
        parts.push(format!("eFI {efi:.2} ({band})"));
    }
    if let Some(c) = e.charlson {
        parts.push(format!("Charlson {c}"));
    }
    if let Some(h) = e.hfrs {
        parts.push(format!("HFRS {h:.1}"));
    }
    if let Some(a) = e.emergency_admissions {
        parts.push(match a {
            1 => "1 emergency admission".to_owned(),
            n => format!("{n} emergency admissions"),
        });
    }
    parts.join(" · ")
}

fn row(e: &WorklistEntry, criteria: &[(String, String)]) -> Row {
    let describe = |name: &String| {
        criteria
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| name.replace('_', " "), |(_, d)| d.clone())
    };
    let sex = sex_label(e.sex.as_deref());
    Row {
        person: e.person.map(|p| p.get()),
        name: e.display_name.clone(),
        nhs_number: e.nhs_number.formatted(),
        nhs_digits: e.nhs_number.as_digits().to_owned(),
        practice: e
            .practice_name
            .clone()
            .or_else(|| e.practice.clone())
            .unwrap_or_default(),
        segment: e.segment.clone().unwrap_or_default(),
        criteria: e.criteria.iter().map(describe).collect(),
        age_sex: match (e.age, sex) {
            (Some(age), "") => format!("{age}"),
            (Some(age), sex) => format!("{age}, {sex}"),
            (None, sex) => sex.to_owned(),
        },
        figures: figures(e),
        last_contact: e
            .last_contact
            .map_or_else(|| "None".to_owned(), |d| d.format("%-d %B %Y").to_string()),
        set_aside: e.set_aside.as_ref().map(|s| {
            format!(
                "{} until {}: {}",
                s.kind.label(),
                s.review_on.format("%-d %B %Y"),
                s.reason
            )
        }),
    }
}

#[derive(Template)]
#[template(path = "population_worklist.html")]
struct WorklistPage {
    chrome: Chrome,
    title: String,
    /// The cohort's name, carried into links and a referral started from a row.
    cohort: String,
    rows: Vec<Row>,
    pager: Pagination,
    /// Whether the reader may open records (workers and supervisors), so rows link to them.
    opens_records: bool,
    sorts: Vec<Choice>,
    practices: Vec<Choice>,
    segments: Vec<Choice>,
    criteria: Vec<Choice>,
    set_aside: bool,
    saved: bool,
    /// The export link, with the filters shown.
    export: String,
    /// The other view (to consider, or set aside), with the filters shown.
    other_view: String,
}

/// The latest run and the title of `cohort` in it, or not found.
async fn cohort_title(state: &AppState, cohort: &str) -> Result<(i64, String, String), AppError> {
    let run = state
        .store
        .latest_population_run()
        .await?
        .ok_or(AppError::NotFound)?;
    let (name, title) = state
        .store
        .population_cohorts(run.id)
        .await?
        .into_iter()
        .find(|(n, _)| n == cohort)
        .ok_or(AppError::NotFound)?;
    Ok((run.id, name, title))
}

fn link(path: &str, params: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = params
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&kept).unwrap_or_default()
        )
    }
}

async fn worklist(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(cohort): Path<String>,
    Query(params): Query<ListParams>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let (run, name, title) = cohort_title(&state, &cohort).await?;
    let mut query = params.query();
    let today = state.clock.today();
    let mut page = state
        .store
        .worklist_page(&user.principal, run, &name, &query, today)
        .await?
        .ok_or(AppError::Forbidden)?;
    let path = format!("/population/worklists/{name}");
    let keep = params.keep();
    let pager = Pagination::new(
        usize::try_from(page.total).unwrap_or(0),
        PAGE_SIZE as usize,
        &params.page,
        &path,
        &keep,
    );
    // A page number past the end shows the last page, as the pagination says.
    if u32::try_from(pager.page).ok() != Some(query.page) {
        query.page = u32::try_from(pager.page).unwrap_or(1);
        page = state
            .store
            .worklist_page(&user.principal, run, &name, &query, today)
            .await?
            .ok_or(AppError::Forbidden)?;
    }
    let sorts = [
        ("criteria", "Most criteria met"),
        ("age", "Oldest first"),
        ("last-contact", "Longest since last contact"),
        ("practice", "Practice"),
    ]
    .map(|(v, l)| (v.to_owned(), l.to_owned()));
    let segments = SEGMENTS.map(|s| (s.to_owned(), s.to_owned()));
    let mut other = keep.clone();
    other.retain(|(k, _)| *k != "set_aside");
    if !query.set_aside {
        other.push(("set_aside", "1"));
    }
    html(&WorklistPage {
        chrome: Chrome::signed_in(&title, &csrf, &user, "/population/worklists"),
        title,
        rows: page
            .entries
            .iter()
            .map(|e| row(e, &page.criteria))
            .collect(),
        pager,
        opens_records: user
            .principal
            .memberships
            .iter()
            .any(|m| matches!(m.role, Role::Worker | Role::Supervisor)),
        sorts: choices(&sorts, query.sort.code()),
        practices: choices(&page.practices, &params.practice),
        segments: choices(&segments, &params.segment),
        criteria: choices(&page.criteria, &params.criterion),
        set_aside: query.set_aside,
        saved: params.saved == "1",
        export: link(&format!("{path}/export.csv"), &keep),
        other_view: link(&path, &other),
        cohort: name,
    })
}

/// The worklist as CSV with the page's filters, through the one CSV writer.
async fn export(
    State(state): State<AppState>,
    Path(cohort): Path<String>,
    Query(params): Query<ListParams>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let (run, name, _) = cohort_title(&state, &cohort).await?;
    let entries = state
        .store
        .worklist_export(
            &user.principal,
            run,
            &name,
            &params.query(),
            state.clock.today(),
        )
        .await?
        .ok_or(AppError::Forbidden)?;
    let criteria = state.store.cohort_criteria(run, &name).await?;
    let mut csv = careweave_csv::Writer::with_header([
        "NHS number",
        "Name",
        "Practice code",
        "Practice",
        "Segment",
        "Criteria met",
        "Age",
        "Sex",
        "eFI",
        "Charlson",
        "HFRS",
        "Emergency admissions",
        "Last casework contact",
        "Set aside",
    ]);
    for e in &entries {
        let r = row(e, &criteria);
        csv.record([
            r.nhs_digits,
            r.name.unwrap_or_default(),
            e.practice.clone().unwrap_or_default(),
            r.practice,
            r.segment,
            r.criteria.join("; "),
            e.age.map(|a| a.to_string()).unwrap_or_default(),
            sex_label(e.sex.as_deref()).to_owned(),
            e.efi.map(|v| format!("{v:.3}")).unwrap_or_default(),
            e.charlson.map(|v| v.to_string()).unwrap_or_default(),
            e.hfrs.map(|v| format!("{v:.1}")).unwrap_or_default(),
            e.emergency_admissions
                .map(|v| v.to_string())
                .unwrap_or_default(),
            e.last_contact.map(|d| d.to_string()).unwrap_or_default(),
            r.set_aside.unwrap_or_default(),
        ]);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"worklist-{name}.csv\""),
            ),
        ],
        csv.finish(),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
struct SetAsideParams {
    #[serde(default)]
    nhs: String,
}

#[derive(Template)]
#[template(path = "worklist_set_aside.html")]
struct SetAsidePage {
    chrome: Chrome,
    title: String,
    cohort: String,
    nhs_digits: String,
    nhs_number: String,
    errors: FormErrors,
    decision: String,
    reason: String,
    day: String,
    month: String,
    year: String,
}

async fn set_aside_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(cohort): Path<String>,
    Query(params): Query<SetAsideParams>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if !can_read_worklists(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let (_, name, title) = cohort_title(&state, &cohort).await?;
    let nhs: NhsNumber = params.nhs.parse().map_err(|_| AppError::NotFound)?;
    html(&SetAsidePage {
        chrome: Chrome::signed_in(
            "Set aside from a worklist",
            &csrf,
            &user,
            "/population/worklists",
        ),
        title,
        cohort: name,
        nhs_digits: nhs.as_digits().to_owned(),
        nhs_number: nhs.formatted(),
        errors: FormErrors::default(),
        decision: String::new(),
        reason: String::new(),
        day: String::new(),
        month: String::new(),
        year: String::new(),
    })
}

#[derive(Debug, Default, Deserialize)]
struct SetAsideForm {
    #[serde(default)]
    nhs: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default, rename = "review-day")]
    day: String,
    #[serde(default, rename = "review-month")]
    month: String,
    #[serde(default, rename = "review-year")]
    year: String,
}

async fn set_aside(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(cohort): Path<String>,
    user: CurrentUser,
    Form(form): Form<SetAsideForm>,
) -> Result<Response, AppError> {
    if !can_read_worklists(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let (run, name, title) = cohort_title(&state, &cohort).await?;
    let nhs: NhsNumber = form.nhs.parse().map_err(|_| AppError::NotFound)?;
    let mut errors = FormErrors::default();
    let kind = SetAsideKind::from_code(&form.decision);
    if kind.is_none() {
        errors.add(
            "decision",
            "Select whether to snooze this person or mark them not suitable",
        );
    }
    if form.reason.trim().is_empty() {
        errors.add("reason", "Enter why this person is being set aside");
    }
    let review = errors.parse(
        "review-day",
        parse_date_parts("Review date", &form.day, &form.month, &form.year),
    );
    if let (Some(kind), Some(review), true) = (kind, review, errors.is_empty()) {
        match state
            .store
            .set_aside_on_worklist(
                &user.principal,
                run,
                &name,
                nhs,
                kind,
                &form.reason,
                review,
                state.clock.today(),
            )
            .await?
        {
            Ok(()) => {
                return Ok(
                    Redirect::to(&format!("/population/worklists/{name}?saved=1")).into_response(),
                )
            }
            Err(refused) => {
                let field = match refused.field {
                    "review" => "review-day",
                    "person" => return Err(AppError::NotFound),
                    other => other,
                };
                errors.add(field, refused.reason);
            }
        }
    }
    invalid(&SetAsidePage {
        chrome: Chrome::signed_in(
            "Set aside from a worklist",
            &csrf,
            &user,
            "/population/worklists",
        ),
        title,
        cohort: name,
        nhs_digits: nhs.as_digits().to_owned(),
        nhs_number: nhs.formatted(),
        errors,
        decision: form.decision,
        reason: form.reason,
        day: form.day,
        month: form.month,
        year: form.year,
    })
}
