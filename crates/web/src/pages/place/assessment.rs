//! The integration self-assessment by ICS tier: the partnership scores each approach of the
//! shipped checklist (`careweave_place::checklist`) as not started, developing, established or
//! embedded with an evidence note; assessments are kept, any two are compared item by item, the
//! lowest-scored items of the latest become the action plan, and each assessment downloads as CSV
//! (through careweave-csv) and opens as a printable page.

use std::sync::LazyLock;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_domain::place::{Score, Tier};
use careweave_place::checklist::Checklist;
use careweave_store::place::{Assessment, Workspace};
use serde::Deserialize;

use super::{open, sections, SectionLink};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{date_from, FormErrors, Pairs};
use crate::pages::{html, invalid, Chrome};
use crate::reporting::csv_download;
use crate::session::CurrentUser;
use crate::AppState;

/// The shipped checklist, read once: it is compiled in and checked by the place crate's tests.
static CHECKLIST: LazyLock<Checklist> = LazyLock::new(Checklist::shipped);

/// How many of the lowest-scored items make the action plan.
const PLAN_ITEMS: usize = 5;

/// One row of the comparison: an item with its score in the earlier and later assessment.
struct CompareRow {
    section: String,
    title: String,
    tier: Tier,
    earlier: Option<Score>,
    later: Option<Score>,
}

impl CompareRow {
    fn change(&self) -> &'static str {
        match (self.earlier, self.later) {
            (Some(a), Some(b)) if b.rank() > a.rank() => "Moved forward",
            (Some(a), Some(b)) if b.rank() < a.rank() => "Fell back",
            (Some(_), Some(_)) => "No change",
            _ => "Not scored in both",
        }
    }
}

/// An item of the action plan: the approach, its score and what "in place" looks like.
struct PlanItem {
    title: String,
    tier: Tier,
    score: Score,
    evidence: String,
    prompt: String,
}

/// Per tier, how many items of the latest assessment have each score.
struct TierSummary {
    tier: Tier,
    counts: Vec<usize>,
}

#[derive(Template)]
#[template(path = "place/assessment.html")]
struct AssessmentPage {
    chrome: Chrome,
    ws: Workspace,
    sections: Vec<SectionLink>,
    assessments: Vec<Assessment>,
    /// The dates of the earlier (empty when there is one assessment) and later assessment.
    compared: Option<(String, String)>,
    from_id: i64,
    to_id: i64,
    rows: Vec<CompareRow>,
    plan: Vec<PlanItem>,
    tiers: Vec<TierSummary>,
    scores: &'static [Score],
}

#[derive(Debug, Deserialize)]
pub(super) struct CompareQuery {
    from: Option<i64>,
    to: Option<i64>,
}

fn date_text(a: &Assessment) -> String {
    a.assessed_on.format("%-d %B %Y").to_string()
}

/// `GET /place/{id}/assessment` (`?from=&to=` picks the two compared; the two latest otherwise).
pub(super) async fn page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<CompareQuery>,
) -> Result<Response, AppError> {
    let ws = open(&state, &user, id).await?;
    let assessments = state.store.self_assessments(&ws).await?;
    let find = |wanted: Option<i64>, fallback: usize| {
        wanted
            .and_then(|w| assessments.iter().find(|a| a.id == w))
            .or_else(|| assessments.get(fallback))
    };
    let later = find(q.to, 0);
    let earlier = find(q.from, 1).filter(|e| Some(e.id) != later.map(|l| l.id));
    let rows = CHECKLIST
        .items()
        .map(|(s, i)| CompareRow {
            section: s.title.clone(),
            title: i.title.clone(),
            tier: i.tier,
            earlier: earlier.and_then(|a| a.scores.get(&i.id)).map(|x| x.0),
            later: later.and_then(|a| a.scores.get(&i.id)).map(|x| x.0),
        })
        .collect();
    let mut plan: Vec<PlanItem> = later
        .map(|a| {
            CHECKLIST
                .items()
                .filter_map(|(_, i)| {
                    a.scores.get(&i.id).map(|(score, evidence)| PlanItem {
                        title: i.title.clone(),
                        tier: i.tier,
                        score: *score,
                        evidence: evidence.clone(),
                        prompt: i.prompt.clone(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    // The sort is stable, so items with the same score keep the checklist's order.
    plan.sort_by_key(|p| p.score.rank());
    plan.retain(|p| p.score != Score::Embedded);
    plan.truncate(PLAN_ITEMS);
    let tiers = Tier::ALL
        .iter()
        .map(|&tier| TierSummary {
            tier,
            counts: Score::ALL
                .iter()
                .map(|&score| {
                    CHECKLIST
                        .items()
                        .filter(|(_, i)| i.tier == tier)
                        .filter(|(_, i)| {
                            later
                                .and_then(|a| a.scores.get(&i.id))
                                .is_some_and(|x| x.0 == score)
                        })
                        .count()
                })
                .collect(),
        })
        .collect();
    let compared = later.map(|l| (earlier.map(date_text).unwrap_or_default(), date_text(l)));
    html(&AssessmentPage {
        chrome: Chrome::signed_in("Integration self-assessment", &csrf, &user, "/place"),
        sections: sections(&ws, "/assessment"),
        compared,
        from_id: earlier.map_or(0, |a| a.id),
        to_id: later.map_or(0, |a| a.id),
        rows,
        plan,
        tiers,
        scores: Score::ALL,
        assessments,
        ws,
    })
}

/// One item of the form, with what was typed and its error.
struct FormItem {
    id: String,
    title: String,
    prompt: String,
    tier: Tier,
    score: String,
    evidence: String,
    error: Option<String>,
}

/// A section of the form.
struct FormSection {
    title: String,
    items: Vec<FormItem>,
}

#[derive(Template)]
#[template(path = "place/assessment_new.html")]
struct NewPage {
    chrome: Chrome,
    ws: Workspace,
    sections: Vec<SectionLink>,
    checklist: Vec<FormSection>,
    scores: &'static [Score],
    form: Pairs,
    errors: FormErrors,
}

fn new_page(
    csrf: &CsrfToken,
    user: &CurrentUser,
    ws: Workspace,
    form: Pairs,
    errors: FormErrors,
) -> NewPage {
    let checklist = CHECKLIST
        .sections
        .iter()
        .map(|s| FormSection {
            title: s.title.clone(),
            items: s
                .items
                .iter()
                .map(|i| FormItem {
                    score: form.get(&format!("score-{}", i.id)).to_owned(),
                    evidence: form.get(&format!("evidence-{}", i.id)).to_owned(),
                    error: errors.get(&format!("score-{}", i.id)).map(str::to_owned),
                    id: i.id.clone(),
                    title: i.title.clone(),
                    prompt: i.prompt.clone(),
                    tier: i.tier,
                })
                .collect(),
        })
        .collect();
    NewPage {
        chrome: Chrome::signed_in("New self-assessment", csrf, user, "/place"),
        sections: sections(&ws, "/assessment"),
        checklist,
        scores: Score::ALL,
        form,
        errors,
        ws,
    }
}

/// `GET /place/{id}/assessment/new`: the checklist to score.
pub(super) async fn new_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let ws = open(&state, &user, id).await?;
    html(&new_page(
        &csrf,
        &user,
        ws,
        Pairs::default(),
        FormErrors::default(),
    ))
}

/// `POST /place/{id}/assessment/new`: records the assessment; every item must be scored.
pub(super) async fn create(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let ws = open(&state, &user, id).await?;
    let mut e = FormErrors::default();
    let assessed_on = date_from(
        &mut e,
        &form,
        "assessed",
        "The date of the assessment",
        Some(state.clock.today()),
    );
    let mut scores = Vec::new();
    for (_, item) in CHECKLIST.items() {
        let field = format!("score-{}", item.id);
        match Score::from_code(form.get(&field).trim()) {
            Some(score) => scores.push((
                item.id.clone(),
                score,
                form.trimmed(&format!("evidence-{}", item.id)),
            )),
            None => e.add(
                &field,
                format!("Select how far '{}' is in place", item.title),
            ),
        }
    }
    if let (Some(on), true) = (assessed_on, e.is_empty()) {
        let assessment = state.store.record_self_assessment(&ws, on, &scores).await?;
        return Ok(
            Redirect::to(&format!("/place/{id}/assessment?to={assessment}")).into_response(),
        );
    }
    invalid(&new_page(&csrf, &user, ws, form, e))
}

#[derive(Debug, Deserialize)]
pub(super) struct OneQuery {
    assessment: i64,
}

async fn one(state: &AppState, ws: &Workspace, id: i64) -> Result<Assessment, AppError> {
    state
        .store
        .self_assessments(ws)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(AppError::NotFound)
}

/// The assessment as CSV through careweave's one writer: one row per checklist item.
fn csv_of(a: &Assessment) -> String {
    let mut w = careweave_csv::Writer::with_header([
        "Assessed on",
        "Section",
        "Approach",
        "Tier",
        "Score",
        "Evidence",
    ]);
    for (s, i) in CHECKLIST.items() {
        let (score, evidence) = a
            .scores
            .get(&i.id)
            .map_or(("Not scored", ""), |(s, e)| (s.label(), e.as_str()));
        w.record([
            a.assessed_on.to_string().as_str(),
            s.title.as_str(),
            i.title.as_str(),
            i.tier.label(),
            score,
            evidence,
        ]);
    }
    w.finish()
}

/// `GET /place/{id}/assessment.csv?assessment=…`.
pub(super) async fn csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OneQuery>,
) -> Result<Response, AppError> {
    let ws = open(&state, &user, id).await?;
    let a = one(&state, &ws, q.assessment).await?;
    Ok(csv_download(
        &format!("careweave-self-assessment-{}.csv", a.assessed_on),
        csv_of(&a),
    ))
}

/// One printed row.
struct PrintRow {
    section: String,
    title: String,
    tier: Tier,
    score: String,
    evidence: String,
}

#[derive(Template)]
#[template(path = "place/assessment_print.html")]
struct PrintPage {
    chrome: Chrome,
    ws: Workspace,
    date: String,
    recorded_by: String,
    rows: Vec<PrintRow>,
}

/// `GET /place/{id}/assessment/{assessment}/print`: the assessment on one printable page.
pub(super) async fn print(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, assessment)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let ws = open(&state, &user, id).await?;
    let a = one(&state, &ws, assessment).await?;
    let rows = CHECKLIST
        .items()
        .map(|(s, i)| {
            let (score, evidence) = a
                .scores
                .get(&i.id)
                .map_or(("Not scored".to_owned(), String::new()), |(s, e)| {
                    (s.label().to_owned(), e.clone())
                });
            PrintRow {
                section: s.title.clone(),
                title: i.title.clone(),
                tier: i.tier,
                score,
                evidence,
            }
        })
        .collect();
    html(&PrintPage {
        chrome: Chrome::signed_in("Integration self-assessment", &csrf, &user, "/place"),
        date: date_text(&a),
        recorded_by: a.recorded_by.clone(),
        rows,
        ws,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_csv_has_every_item_and_defuses_typed_evidence() {
        let mut scores = BTreeMap::new();
        scores.insert(
            "governance".to_owned(),
            (Score::Developing, "=cmd|' /C calc'!A0".to_owned()),
        );
        let a = Assessment {
            id: 1,
            assessed_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            recorded_by: "Someone".into(),
            scores,
        };
        let text = csv_of(&a);
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), CHECKLIST.items().count() + 1);
        assert!(
            text.contains("Joint governance,System,Developing,'=cmd"),
            "{text}"
        );
        assert!(text.contains("Not scored"));
    }
}
