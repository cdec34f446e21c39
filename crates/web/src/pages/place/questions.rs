//! The four questions the place's clinical group answers, each answer linked to the evidence it
//! rests on (a chart of the profile, a cohort, a good-practice entry), and the good-practice
//! catalogue: the entries careweave ships (from `careweave_place::catalogue`) and the ones the
//! partnership adds.

use std::sync::LazyLock;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_domain::place::{EvidenceKind, EvidenceStrength, Question};
use careweave_place::catalogue::{self, Entry};
use careweave_store::place::{Answer, NewPractice, Workspace};

use super::workspace::CHARTS;
use super::{open, sections, SectionLink};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{choice, required, FormErrors, Pairs};
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

/// The shipped catalogue, read once: it is compiled in and checked by the place crate's tests.
static SHIPPED: LazyLock<Vec<Entry>> = LazyLock::new(catalogue::shipped);

/// A piece of evidence an answer can point at.
struct EvidenceOption {
    /// `kind:reference`, the checkbox's value.
    value: String,
    kind: EvidenceKind,
    label: String,
    href: String,
}

/// Everything an answer in `ws` can rest on: the charts, the latest run's cohorts and every
/// catalogue entry.
async fn evidence_options(
    state: &AppState,
    ws: &Workspace,
) -> Result<Vec<EvidenceOption>, AppError> {
    let mut out: Vec<EvidenceOption> = CHARTS
        .iter()
        .map(|&(dim, heading)| EvidenceOption {
            value: format!("chart:{dim}"),
            kind: EvidenceKind::Chart,
            label: heading.to_owned(),
            href: format!("/place/{}#chart-{dim}", ws.id),
        })
        .collect();
    if let Some(run) = state.store.latest_population_run().await? {
        for (name, title) in state.store.population_cohorts(run.id).await? {
            out.push(EvidenceOption {
                value: format!("cohort:{name}"),
                kind: EvidenceKind::Cohort,
                label: title,
                href: format!("/place/{}#cohorts", ws.id),
            });
        }
    }
    for (reference, title) in entries(state, ws).await? {
        out.push(EvidenceOption {
            value: format!("practice:{reference}"),
            kind: EvidenceKind::Practice,
            href: format!("/place/{}/catalogue#entry-{reference}", ws.id),
            label: title,
        });
    }
    Ok(out)
}

/// (reference, "title, area") of every catalogue entry the workspace sees.
async fn entries(state: &AppState, ws: &Workspace) -> Result<Vec<(String, String)>, AppError> {
    let mut out: Vec<(String, String)> = SHIPPED
        .iter()
        .map(|e| (e.id.clone(), format!("{} ({})", e.title, e.area)))
        .collect();
    for own in state.store.place_practices(ws).await? {
        out.push((
            own.reference,
            format!("{} ({})", own.entry.title, own.entry.area),
        ));
    }
    Ok(out)
}

/// One checkbox of a question's evidence.
struct Choice {
    value: String,
    label: String,
    group: &'static str,
    checked: bool,
}

/// One question with its answer, the evidence shown as links, and its form as typed (or as saved).
struct QuestionView {
    question: Question,
    answer: Option<Answer>,
    evidence: Vec<(String, String)>,
    typed: String,
    choices: Vec<Choice>,
    /// The error shown at the answer box and at the evidence checkboxes, if any.
    answer_error: Option<String>,
    evidence_error: Option<String>,
}

#[derive(Template)]
#[template(path = "place/questions.html")]
struct QuestionsPage {
    chrome: Chrome,
    ws: Workspace,
    sections: Vec<SectionLink>,
    questions: Vec<QuestionView>,
    errors: FormErrors,
}

async fn questions_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    ws: Workspace,
    form: Pairs,
    errors: FormErrors,
) -> Result<QuestionsPage, AppError> {
    let answers = state.store.place_answers(&ws).await?;
    let options = evidence_options(state, &ws).await?;
    let mut questions = Vec::new();
    for &q in Question::ALL {
        let answer = answers.iter().find(|a| a.question == q).cloned();
        let saved: Vec<String> = answer
            .iter()
            .flat_map(|a| &a.evidence)
            .map(|(kind, reference)| format!("{}:{reference}", kind.code()))
            .collect();
        let evidence = saved
            .iter()
            .map(|value| {
                options.iter().find(|o| &o.value == value).map_or_else(
                    || (String::new(), "Evidence no longer available".to_owned()),
                    |o| (o.href.clone(), o.label.clone()),
                )
            })
            .collect();
        // The form shows what was just typed for the question posted, and the saved answer for
        // the others.
        let answer_field = format!("answer-{}", q.code());
        let posted = !errors.is_empty() && form.0.iter().any(|(k, _)| k == &answer_field);
        let evidence_field = format!("evidence-{}", q.code());
        let typed = if posted {
            form.get(&answer_field).to_owned()
        } else {
            answer
                .as_ref()
                .map(|a| a.answer.clone())
                .unwrap_or_default()
        };
        let choices = options
            .iter()
            .map(|o| Choice {
                value: o.value.clone(),
                label: o.label.clone(),
                group: o.kind.label(),
                checked: if posted {
                    form.has(&evidence_field, &o.value)
                } else {
                    saved.contains(&o.value)
                },
            })
            .collect();
        questions.push(QuestionView {
            question: q,
            answer,
            evidence,
            typed,
            choices,
            answer_error: errors.get(&answer_field).map(str::to_owned),
            evidence_error: errors.get(&evidence_field).map(str::to_owned),
        });
    }
    Ok(QuestionsPage {
        chrome: Chrome::signed_in("The four questions", csrf, user, "/place"),
        sections: sections(&ws, "/questions"),
        questions,
        errors,
        ws,
    })
}

/// `GET /place/{id}/questions`.
pub(super) async fn page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let ws = open(&state, &user, id).await?;
    html(
        &questions_page(
            &state,
            &csrf,
            &user,
            ws,
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

/// `POST /place/{id}/questions/{question}`: saves one answer with its evidence.
pub(super) async fn save(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let ws = open(&state, &user, id).await?;
    let question = Question::from_code(&code).ok_or(AppError::NotFound)?;
    let mut e = FormErrors::default();
    let answer_field = format!("answer-{code}");
    let evidence_field = format!("evidence-{code}");
    let answer = required(&mut e, &form, &answer_field, "Enter the group's answer");
    let options = evidence_options(&state, &ws).await?;
    let mut evidence = Vec::new();
    for value in form.all(&evidence_field) {
        match options.iter().find(|o| o.value == value) {
            Some(o) => {
                let reference = value.split_once(':').map_or("", |(_, r)| r);
                evidence.push((o.kind, reference.to_owned()));
            }
            None => e.add(&evidence_field, "Select the evidence from the list"),
        }
    }
    if evidence.is_empty() && !e.has(&evidence_field) {
        e.add(
            &evidence_field,
            "Select at least one piece of evidence the answer rests on",
        );
    }
    if e.is_empty() {
        state
            .store
            .save_place_answer(&ws, question, &answer, &evidence)
            .await?;
        return Ok(Redirect::to(&format!("/place/{id}/questions#{code}")).into_response());
    }
    invalid(&questions_page(&state, &csrf, &user, ws, form, e).await?)
}

/// A catalogue entry as the page shows it: shipped or the partnership's own.
struct EntryView {
    reference: String,
    entry: Entry,
    own_by: Option<String>,
}

#[derive(Template)]
#[template(path = "place/catalogue.html")]
struct CataloguePage {
    chrome: Chrome,
    ws: Workspace,
    sections: Vec<SectionLink>,
    entries: Vec<EntryView>,
    strengths: &'static [EvidenceStrength],
    form: Pairs,
    errors: FormErrors,
}

async fn catalogue_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    ws: Workspace,
    form: Pairs,
    errors: FormErrors,
) -> Result<CataloguePage, AppError> {
    let mut entries: Vec<EntryView> = SHIPPED
        .iter()
        .map(|e| EntryView {
            reference: e.id.clone(),
            entry: e.clone(),
            own_by: None,
        })
        .collect();
    for own in state.store.place_practices(&ws).await? {
        let p = own.entry;
        entries.push(EntryView {
            entry: Entry {
                id: own.reference.clone(),
                title: p.title,
                area: p.area,
                what: p.what,
                for_whom: p.for_whom,
                result: p.result,
                strength: p.strength,
                source: p.source,
            },
            reference: own.reference,
            own_by: Some(own.added_by),
        });
    }
    Ok(CataloguePage {
        chrome: Chrome::signed_in("Good-practice catalogue", csrf, user, "/place"),
        sections: sections(&ws, "/catalogue"),
        entries,
        strengths: EvidenceStrength::ALL,
        form,
        errors,
        ws,
    })
}

/// `GET /place/{id}/catalogue`.
pub(super) async fn catalogue(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let ws = open(&state, &user, id).await?;
    html(
        &catalogue_page(
            &state,
            &csrf,
            &user,
            ws,
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

/// `POST /place/{id}/catalogue`: adds the partnership's own entry.
pub(super) async fn add_practice(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let ws = open(&state, &user, id).await?;
    let mut e = FormErrors::default();
    let title = required(&mut e, &form, "title", "Enter what the practice is called");
    let area = required(&mut e, &form, "area", "Enter where it was done");
    let what = required(&mut e, &form, "what", "Enter what they did");
    let for_whom = required(&mut e, &form, "for_whom", "Enter who it was for");
    let result = required(&mut e, &form, "result", "Enter the result they reported");
    let strength = choice(
        &mut e,
        &form,
        "strength",
        EvidenceStrength::from_code,
        "Select how strong the evidence is",
    );
    let source = required(
        &mut e,
        &form,
        "source",
        "Enter where the evidence comes from",
    );
    if let (Some(strength), true) = (strength, e.is_empty()) {
        let reference = state
            .store
            .add_place_practice(
                &ws,
                &NewPractice {
                    title,
                    area,
                    what,
                    for_whom,
                    result,
                    strength,
                    source,
                },
            )
            .await?;
        return Ok(
            Redirect::to(&format!("/place/{id}/catalogue#entry-{reference}")).into_response(),
        );
    }
    invalid(&catalogue_page(&state, &csrf, &user, ws, form, e).await?)
}
