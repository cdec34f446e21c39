//! Solution building: an event's proposals and decisions and the actions agreed at it, each with
//! an owner, a due date and what it should move (a cohort or a service), followed up on the
//! workspace until done.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_domain::place::EventItemKind;
use careweave_store::change::ActionError;
use careweave_store::place::{ActionView, NewAction, PlaceEvent, Workspace};

use super::{open, sections, SectionLink};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{date_from, required, FormErrors, Pairs};
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

/// How many actions the event form takes at once.
const ACTION_ROWS: usize = 3;

/// One action row of the event form: its field names, what was typed and its errors.
struct ActionRow {
    n: usize,
    /// (field name, label, value typed, error)
    fields: Vec<(String, &'static str, String, Option<String>)>,
    due: (String, String, String),
    due_error: Option<String>,
}

fn action_rows(form: &Pairs, errors: &FormErrors) -> Vec<ActionRow> {
    (1..=ACTION_ROWS)
        .map(|n| {
            let field = |part: &str| format!("action{n}-{part}");
            ActionRow {
                n,
                fields: [
                    ("description", "What will be done"),
                    ("owner", "Owner"),
                    (
                        "link",
                        "What it should move (a cohort or a service, optional)",
                    ),
                ]
                .iter()
                .map(|&(part, label)| {
                    let name = field(part);
                    let value = form.get(&name).to_owned();
                    let error = errors.get(&name).map(str::to_owned);
                    (name, label, value, error)
                })
                .collect(),
                due: (
                    form.get(&field("due-day")).to_owned(),
                    form.get(&field("due-month")).to_owned(),
                    form.get(&field("due-year")).to_owned(),
                ),
                due_error: errors.get(&field("due-day")).map(str::to_owned),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "place/events.html")]
struct EventsPage {
    chrome: Chrome,
    ws: Workspace,
    sections: Vec<SectionLink>,
    events: Vec<PlaceEvent>,
    open: Vec<ActionView>,
    done: Vec<ActionView>,
    rows: Vec<ActionRow>,
    form: Pairs,
    errors: FormErrors,
}

async fn events_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    ws: Workspace,
    form: Pairs,
    errors: FormErrors,
) -> Result<EventsPage, AppError> {
    let (done, open): (Vec<ActionView>, Vec<ActionView>) = state
        .store
        .place_actions(&ws)
        .await?
        .into_iter()
        .partition(|a| a.done_on.is_some());
    Ok(EventsPage {
        chrome: Chrome::signed_in("Solution building", csrf, user, "/place"),
        sections: sections(&ws, "/events"),
        events: state.store.place_events(&ws).await?,
        open,
        done,
        rows: action_rows(&form, &errors),
        form,
        errors,
        ws,
    })
}

/// `GET /place/{id}/events`.
pub(super) async fn page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let ws = open(&state, &user, id).await?;
    html(
        &events_page(
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

/// The lines of a textarea, one item each.
fn lines(p: &Pairs, name: &str) -> Vec<String> {
    p.get(name)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A solution-building event as the form gives it.
struct ParsedEvent {
    title: String,
    held: chrono::NaiveDate,
    items: Vec<(EventItemKind, String)>,
    actions: Vec<NewAction>,
}

/// Reads the event form: the event, its items and the action rows that were filled in (a row
/// with anything typed must be complete).
fn parse_event(p: &Pairs) -> Result<ParsedEvent, FormErrors> {
    let mut e = FormErrors::default();
    let title = required(&mut e, p, "event_title", "Enter the event's name");
    let held = date_from(&mut e, p, "held", "The date of the event", None);
    let mut items: Vec<(EventItemKind, String)> = lines(p, "proposals")
        .into_iter()
        .map(|l| (EventItemKind::Proposal, l))
        .collect();
    items.extend(
        lines(p, "decisions")
            .into_iter()
            .map(|l| (EventItemKind::Decision, l)),
    );
    if items.is_empty() {
        e.add("proposals", "Enter at least one proposal or decision");
    }
    let mut actions = Vec::new();
    for n in 1..=ACTION_ROWS {
        let field = |part: &str| format!("action{n}-{part}");
        let typed = [
            "description",
            "owner",
            "link",
            "due-day",
            "due-month",
            "due-year",
        ]
        .iter()
        .any(|part| !p.get(&field(part)).trim().is_empty());
        if !typed {
            continue;
        }
        let description = required(&mut e, p, &field("description"), "Enter what will be done");
        let owner = required(&mut e, p, &field("owner"), "Enter who owns the action");
        let due = date_from(&mut e, p, &field("due"), "The due date", None);
        if let Some(due_on) = due {
            actions.push(NewAction {
                description,
                owner,
                due_on,
                link: p.trimmed(&field("link")),
            });
        }
    }
    match held {
        Some(held) if e.is_empty() => Ok(ParsedEvent {
            title,
            held,
            items,
            actions,
        }),
        _ => Err(e),
    }
}

/// `POST /place/{id}/events`: records an event with its items and actions.
pub(super) async fn add_event(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let ws = open(&state, &user, id).await?;
    match parse_event(&form) {
        Ok(ev) => {
            state
                .store
                .add_place_event(&ws, &ev.title, ev.held, &ev.items, &ev.actions)
                .await?;
            Ok(Redirect::to(&format!("/place/{id}/events")).into_response())
        }
        Err(e) => invalid(&events_page(&state, &csrf, &user, ws, form, e).await?),
    }
}

/// `POST /place/{id}/actions/{action}/done`: marks an action done today.
pub(super) async fn done(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let ws = open(&state, &user, id).await?;
    match state
        .store
        .complete_place_action(&ws, action, state.clock.today())
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/place/{id}/events#actions")).into_response()),
        Err(ActionError::Refused { reason, .. }) => {
            let mut e = FormErrors::default();
            e.add("actions", reason);
            invalid(&events_page(&state, &csrf, &user, ws, Pairs::default(), e).await?)
        }
        Err(other) => Err(other.into()),
    }
}
