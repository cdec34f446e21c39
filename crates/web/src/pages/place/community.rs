//! Community views: survey results imported from CSV (pasted in), the themes their free text was
//! tagged with, counted by each demographic group through disclosure control, and notes from
//! roadshows and engagement events. A file with a column that identifies people is refused whole,
//! naming the column; rows that cannot be used are listed with their line and field.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_charts::bar_chart;
use careweave_domain::disclosure::SafeCount;
use careweave_domain::place::NoteKind;
use careweave_place::survey::{self, Rejected};
use careweave_store::change::ActionError;
use careweave_store::place::{Note, PlaceTheme, SurveySummary, Workspace};

use super::{open, sections, SectionLink};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{choice, date_from, required, FormErrors, Pairs};
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

/// What the last import did, shown above the page.
struct ImportReport {
    title: String,
    accepted: usize,
    rejected: Vec<Rejected>,
}

/// Theme counts for one demographic field: (group, answers, [(theme, answers)]).
struct GroupTable {
    field: String,
    themes: Vec<String>,
    rows: Vec<(String, SafeCount, Vec<SafeCount>)>,
}

#[derive(Template)]
#[template(path = "place/community.html")]
struct CommunityPage {
    chrome: Chrome,
    ws: Workspace,
    sections: Vec<SectionLink>,
    surveys: Vec<SurveySummary>,
    chart: String,
    overall: Vec<(String, SafeCount)>,
    groups: Vec<GroupTable>,
    notes: Vec<Note>,
    themes: Vec<PlaceTheme>,
    kinds: &'static [NoteKind],
    report: Option<ImportReport>,
    form: Pairs,
    errors: FormErrors,
}

async fn community_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    ws: Workspace,
    report: Option<ImportReport>,
    form: Pairs,
    errors: FormErrors,
) -> Result<CommunityPage, AppError> {
    let counts = state.store.survey_theme_counts(&ws).await?;
    let overall: Vec<(String, SafeCount)> = counts
        .overall
        .iter()
        .map(|(t, n)| (t.clone(), SafeCount::from_raw(*n)))
        .collect();
    let bars: Vec<(String, Option<i64>)> = overall
        .iter()
        .map(|(t, c)| (t.clone(), c.value().and_then(|v| i64::try_from(v).ok())))
        .collect();
    let themes = state.store.place_themes().await?;
    let mut groups: Vec<GroupTable> = Vec::new();
    for (field, value, answers) in &counts.groups {
        if groups.last().is_none_or(|g| &g.field != field) {
            groups.push(GroupTable {
                field: field.clone(),
                themes: themes.iter().map(|t| t.label.clone()).collect(),
                rows: Vec::new(),
            });
        }
        let table = groups.last_mut().expect("pushed above");
        let per_theme = themes
            .iter()
            .map(|t| {
                let n = counts
                    .by_group
                    .iter()
                    .find(|(f, v, l, _)| f == field && v == value && *l == t.label)
                    .map_or(0, |r| r.3);
                SafeCount::from_raw(n)
            })
            .collect();
        table
            .rows
            .push((value.clone(), SafeCount::from_raw(*answers), per_theme));
    }
    Ok(CommunityPage {
        chrome: Chrome::signed_in("Community views", csrf, user, "/place"),
        sections: sections(&ws, "/community"),
        surveys: state.store.surveys(&ws).await?,
        chart: if bars.is_empty() {
            String::new()
        } else {
            bar_chart("Answers by theme", &bars)
        },
        overall,
        groups,
        notes: state.store.place_notes(&ws).await?,
        themes,
        kinds: NoteKind::ALL,
        report,
        form,
        errors,
        ws,
    })
}

/// `GET /place/{id}/community`.
pub(super) async fn page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let ws = open(&state, &user, id).await?;
    html(
        &community_page(
            &state,
            &csrf,
            &user,
            ws,
            None,
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

/// `POST /place/{id}/surveys`: imports a survey pasted as CSV. The page comes back with what was
/// imported and every rejected row, or with the error that refused the file and the text typed.
pub(super) async fn import(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let ws = open(&state, &user, id).await?;
    let mut e = FormErrors::default();
    let title = required(&mut e, &form, "title", "Enter the survey's title");
    let content = form.get("content").to_owned();
    if content.trim().is_empty() {
        e.add(
            "content",
            "Paste the survey results, as CSV with a header line",
        );
    }
    if !e.is_empty() {
        return invalid(&community_page(&state, &csrf, &user, ws, None, form, e).await?);
    }
    let themes = state.store.survey_themes().await?;
    let file_name = format!("{title}.csv");
    match survey::read(&file_name, &content, &themes) {
        Err(refused) => {
            e.add("content", refused.reason);
            invalid(&community_page(&state, &csrf, &user, ws, None, form, e).await?)
        }
        Ok(parsed) => match state
            .store
            .import_survey(&ws, &title, &file_name, &parsed)
            .await
        {
            Ok(_) => {
                let report = ImportReport {
                    title,
                    accepted: parsed.responses.len(),
                    rejected: parsed.rejected,
                };
                html(
                    &community_page(
                        &state,
                        &csrf,
                        &user,
                        ws,
                        Some(report),
                        Pairs::default(),
                        FormErrors::default(),
                    )
                    .await?,
                )
            }
            Err(ActionError::Refused { reason, .. }) => {
                e.add("content", reason);
                for r in parsed.rejected.iter().take(20) {
                    e.add(
                        "content",
                        format!("Line {}, {}: {}", r.line, r.field, r.reason),
                    );
                }
                invalid(&community_page(&state, &csrf, &user, ws, None, form, e).await?)
            }
            Err(other) => Err(other.into()),
        },
    }
}

/// `POST /place/{id}/notes`: records notes from a roadshow or engagement event.
pub(super) async fn add_note(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let ws = open(&state, &user, id).await?;
    let mut e = FormErrors::default();
    let kind = choice(
        &mut e,
        &form,
        "kind",
        NoteKind::from_code,
        "Select what kind of event it was",
    );
    let held = date_from(
        &mut e,
        &form,
        "held",
        "The date it was held",
        Some(state.clock.today()),
    );
    let title = required(&mut e, &form, "note_title", "Enter where or what it was");
    let notes = required(&mut e, &form, "notes", "Enter what people said");
    if let (Some(kind), Some(held), true) = (kind, held, e.is_empty()) {
        state
            .store
            .add_place_note(&ws, kind, held, &title, &notes)
            .await?;
        return Ok(Redirect::to(&format!("/place/{id}/community#notes")).into_response());
    }
    invalid(&community_page(&state, &csrf, &user, ws, None, form, e).await?)
}

/// `POST /place/{id}/themes`: a lead adds a theme with the words that tag answers with it.
pub(super) async fn add_theme(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let ws = open(&state, &user, id).await?;
    let mut e = FormErrors::default();
    let label = required(&mut e, &form, "label", "Enter the theme's name");
    let keywords: Vec<String> = form
        .get("keywords")
        .split(',')
        .map(|k| k.trim().to_lowercase())
        .filter(|k| !k.is_empty())
        .collect();
    if keywords.is_empty() {
        e.add("keywords", "Enter at least one word, separated by commas");
    }
    if e.is_empty() {
        match state.store.add_place_theme(&ws, &label, &keywords).await {
            Ok(_) => {
                return Ok(Redirect::to(&format!("/place/{id}/community#themes")).into_response())
            }
            Err(ActionError::Refused { field, reason }) => e.add(field.unwrap_or("label"), reason),
            Err(other) => return Err(other.into()),
        }
    }
    invalid(&community_page(&state, &csrf, &user, ws, None, form, e).await?)
}
