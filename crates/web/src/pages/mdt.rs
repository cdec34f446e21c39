//! MDT meetings: the list of meetings, planning one, the meeting page (members, invited others,
//! the agenda built from lists or by hand), a page per agenda case (discussion, decision, how the
//! person was told, actions), the flags on the case page that feed the lists, and the same actions
//! as JSON under `/api/v1/mdt`.
//!
//! The store decides who may see a meeting and which agenda cases each viewer may see in full
//! (see `store::mdt`) and audits everything; this module parses with the casework parsers (one
//! parser per action for forms and JSON) and renders. A refusal is the usual 403 page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use careweave_domain::access::Principal;
use careweave_domain::casework::CaseId;
use careweave_domain::mdt::{AgendaList, CaseFlagKind, MeetingHost, MeetingId, ToldHow};
use careweave_domain::{OrganisationId, ServiceId};
use careweave_store::casework::CaseSummary;
use careweave_store::change::ActionError;
use careweave_store::mdt::{
    AgendaItem, CaseMdt, HostChoice, Invitee, MeetingSummary, MeetingView, NewCaseFlag,
    NewMdtAction, NewMeeting, Outcome, StaffChoice, Told,
};
use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

use super::casework::case_page;
use super::{html, invalid, Chrome};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{body_pairs, choice, date_from, errors_json, required, FormErrors, Pairs};
use crate::session::CurrentUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mdt", get(list))
        .route("/mdt/new", get(new_form).post(create))
        .route("/mdt/{id}", get(show))
        .route("/mdt/{id}/minutes", get(minutes))
        .route("/mdt/{id}/{action}", post(act))
        .route("/mdt/{id}/items/{item}", get(item_show))
        .route("/mdt/{id}/items/{item}/{action}", post(item_act))
        .route("/cases/{id}/mdt-flags", post(flag_set))
        .route("/cases/{id}/mdt-flags/{flag}/clear", post(flag_clear))
        .route("/api/v1/mdt", get(api_list).post(api_create))
        .route("/api/v1/mdt/{id}", get(api_meeting))
        .route("/api/v1/mdt/{id}/{action}", post(api_act))
        .route("/api/v1/mdt/{id}/items/{item}/{action}", post(api_item_act))
        .route("/api/v1/cases/{id}/mdt", get(api_case))
        .route("/api/v1/cases/{id}/mdt-flags", post(api_flag_set))
        .route(
            "/api/v1/cases/{id}/mdt-flags/{flag}/clear",
            post(api_flag_clear),
        )
}

/// The form value of a host: `team-ID` or `practice-ID`.
fn host_code(host: &MeetingHost) -> String {
    match host {
        MeetingHost::Team(s) => format!("team-{s}"),
        MeetingHost::Practice(p) => format!("practice-{p}"),
    }
}

fn host_from_code(code: &str) -> Option<MeetingHost> {
    let (kind, id) = code.split_once('-')?;
    let id: i64 = id.parse().ok()?;
    match kind {
        "team" => Some(MeetingHost::Team(ServiceId::new(id))),
        "practice" => Some(MeetingHost::Practice(OrganisationId::new(id))),
        _ => None,
    }
}

// ----- Parsers (forms and JSON) ------------------------------------------------------------------

/// What the planning form offers the signed-in user.
struct PlanChoices {
    hosts: Vec<HostChoice>,
    staff: Vec<StaffChoice>,
    cohorts: Vec<(String, String)>,
}

async fn plan_choices(state: &AppState, who: &Principal) -> Result<PlanChoices, AppError> {
    Ok(PlanChoices {
        hosts: state.store.meeting_hosts(who).await?,
        staff: state.store.core_member_choices().await?,
        cohorts: state.store.worklist_cohorts().await?,
    })
}

/// Reads the planning form. Hosts, core members and cohorts must be among those offered.
fn parse_meeting(p: &Pairs, choices: &PlanChoices) -> Result<NewMeeting, FormErrors> {
    let mut errors = FormErrors::default();
    let title = required(&mut errors, p, "title", "Enter a name for the meeting");
    let host =
        host_from_code(p.get("host").trim()).filter(|h| choices.hosts.iter().any(|c| c.host == *h));
    if host.is_none() {
        errors.add("host", "Select the team or practice holding the meeting");
    }
    let held_on = date_from(&mut errors, p, "held_on", "The date of the meeting", None);
    let starts_at = NaiveTime::parse_from_str(p.get("starts_at").trim(), "%H:%M").ok();
    if starts_at.is_none() {
        errors.add(
            "starts_at",
            "Enter the start time in hours and minutes, like 09:30",
        );
    }
    let location = required(
        &mut errors,
        p,
        "location",
        "Enter where the meeting is held, or the video link's name",
    );
    let mut lists = Vec::new();
    for code in p.all("lists") {
        match AgendaList::from_code(code) {
            Some(l) if !lists.contains(&l) => lists.push(l),
            Some(_) => {}
            None => errors.add("lists", "Select lists from those shown"),
        }
    }
    let cohort = Some(p.get("cohort").trim().to_owned()).filter(|c| !c.is_empty());
    if lists.contains(&AgendaList::Worklist)
        && !cohort
            .as_ref()
            .is_some_and(|c| choices.cohorts.iter().any(|(k, _)| k == c))
    {
        errors.add(
            "cohort",
            "Select the population worklist the agenda should draw on",
        );
    }
    let mut core_members = Vec::new();
    for code in p.all("core") {
        match choices
            .staff
            .iter()
            .find(|s| s.user.get().to_string() == code.trim())
        {
            Some(s) if !core_members.contains(&s.user) => core_members.push(s.user),
            Some(_) => {}
            None => errors.add("core", "Select core members from those shown"),
        }
    }
    // A cohort chosen without the worklist list is not kept: it would draw on nothing.
    let cohort = cohort.filter(|_| lists.contains(&AgendaList::Worklist));
    match (host, held_on, starts_at) {
        (Some(host), Some(held_on), Some(starts_at)) if errors.is_empty() => Ok(NewMeeting {
            title,
            host,
            held_on,
            starts_at,
            location,
            lists,
            cohort,
            core_members,
        }),
        _ => Err(errors),
    }
}

/// One change to a meeting, parsed from its form or JSON body.
enum MeetingChange {
    Invite(Invitee),
    Build,
    AddCase(CaseId),
}

fn parse_meeting_change(action: &str, p: &Pairs) -> Result<Option<MeetingChange>, FormErrors> {
    let mut errors = FormErrors::default();
    let change = match action {
        "invite" => {
            let name = required(&mut errors, p, "invite_name", "Enter the person's name");
            let organisation = required(
                &mut errors,
                p,
                "invite_organisation",
                "Enter the organisation they work for",
            );
            let role = required(
                &mut errors,
                p,
                "invite_role",
                "Enter their role, for example district nurse",
            );
            MeetingChange::Invite(Invitee {
                name,
                organisation,
                role,
            })
        }
        "build" => MeetingChange::Build,
        "add-case" => match p.get("case").trim().parse::<i64>() {
            Ok(c) => MeetingChange::AddCase(CaseId::new(c)),
            Err(_) => {
                errors.add("case", "Select the case to add");
                MeetingChange::Build
            }
        },
        _ => return Ok(None),
    };
    if errors.is_empty() {
        Ok(Some(change))
    } else {
        Err(errors)
    }
}

/// One change to an agenda case.
enum ItemChange {
    Outcome(Outcome),
    AddAction(NewMdtAction),
    Done(i64),
}

fn parse_item_change(
    action: &str,
    p: &Pairs,
    today: NaiveDate,
) -> Result<Option<ItemChange>, FormErrors> {
    let mut errors = FormErrors::default();
    let change = match action {
        "outcome" => {
            let discussion = required(
                &mut errors,
                p,
                "discussion",
                "Summarise what the meeting discussed",
            );
            let decision = required(&mut errors, p, "decision", "Enter what the meeting decided");
            // "Not told yet" (or no choice) leaves the telling to record later; a date typed with
            // it is a contradiction to point out rather than drop.
            let told = if matches!(p.get("told_how").trim(), "" | "not_yet") {
                let dated = ["told_on", "told_on-day", "told_on-month", "told_on-year"]
                    .iter()
                    .any(|f| !p.get(f).trim().is_empty());
                if dated {
                    errors.add(
                        "told_how",
                        "Select how the person was told, or clear the date if they have not been told yet",
                    );
                }
                None
            } else {
                let how = choice(
                    &mut errors,
                    p,
                    "told_how",
                    ToldHow::from_code,
                    "Select how the person was told",
                );
                let on = date_from(
                    &mut errors,
                    p,
                    "told_on",
                    "The date the person was told",
                    Some(today),
                );
                how.zip(on).map(|(how, on)| Told { how, on })
            };
            ItemChange::Outcome(Outcome {
                discussion,
                decision,
                told,
            })
        }
        "actions" => {
            let text = required(&mut errors, p, "action_text", "Describe the action");
            let owner = required(&mut errors, p, "action_owner", "Enter who will do it");
            let due = date_from(&mut errors, p, "action_due", "The due date", None);
            match due {
                Some(due_on) => ItemChange::AddAction(NewMdtAction {
                    text,
                    owner,
                    due_on,
                }),
                None => return Err(errors),
            }
        }
        "done" => match p.get("action_id").trim().parse::<i64>() {
            Ok(a) => ItemChange::Done(a),
            Err(_) => return Ok(None),
        },
        _ => return Ok(None),
    };
    if errors.is_empty() {
        Ok(Some(change))
    } else {
        Err(errors)
    }
}

fn parse_flag(p: &Pairs, today: NaiveDate) -> Result<NewCaseFlag, FormErrors> {
    let mut errors = FormErrors::default();
    let kind = choice(
        &mut errors,
        p,
        "flag_kind",
        CaseFlagKind::from_code,
        "Select what the flag is for",
    );
    let noted_on = date_from(
        &mut errors,
        p,
        "flag_on",
        "The date you became worried or the person left hospital",
        Some(today),
    );
    let reason = required(
        &mut errors,
        p,
        "flag_reason",
        "Say why, so the meeting knows what to discuss",
    );
    match (kind, noted_on) {
        (Some(kind), Some(noted_on)) if errors.is_empty() => Ok(NewCaseFlag {
            kind,
            noted_on,
            reason,
        }),
        _ => Err(errors),
    }
}

// ----- Pages -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "mdt/list.html")]
struct ListPage {
    chrome: Chrome,
    upcoming: Vec<MeetingSummary>,
    past: Vec<MeetingSummary>,
    can_plan: bool,
}

/// `GET /mdt`: the meetings the user may see.
async fn list(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if !careweave_domain::access::has_caseload(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let (upcoming, past) = state
        .store
        .meetings_for(&user.principal, state.clock.today())
        .await?;
    html(&ListPage {
        chrome: Chrome::signed_in("MDT meetings", &csrf, &user, "/mdt"),
        upcoming,
        past,
        can_plan: !state.store.meeting_hosts(&user.principal).await?.is_empty(),
    })
}

#[derive(Template)]
#[template(path = "mdt/new.html")]
struct NewPage {
    chrome: Chrome,
    hosts: Vec<(String, String)>,
    staff: Vec<StaffChoice>,
    cohorts: Vec<(String, String)>,
    lists: &'static [AgendaList],
    form: Pairs,
    errors: FormErrors,
}

fn new_page(
    csrf: &CsrfToken,
    user: &CurrentUser,
    choices: PlanChoices,
    form: Pairs,
    errors: FormErrors,
) -> NewPage {
    NewPage {
        chrome: Chrome::signed_in("Plan an MDT meeting", csrf, user, "/mdt"),
        hosts: choices
            .hosts
            .iter()
            .map(|h| (host_code(&h.host), h.name.clone()))
            .collect(),
        staff: choices.staff,
        cohorts: choices.cohorts,
        lists: AgendaList::ALL,
        form,
        errors,
    }
}

/// `GET /mdt/new`: the planning form, for workers and supervisors of a team or practice.
async fn new_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let choices = plan_choices(&state, &user.principal).await?;
    if choices.hosts.is_empty() {
        return Err(AppError::Forbidden);
    }
    html(&new_page(
        &csrf,
        &user,
        choices,
        Pairs::default(),
        FormErrors::default(),
    ))
}

/// `POST /mdt/new`: plans the meeting, or shows the form again with the errors and what was typed.
async fn create(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let choices = plan_choices(&state, &user.principal).await?;
    if choices.hosts.is_empty() {
        return Err(AppError::Forbidden);
    }
    let form = Pairs(pairs);
    match parse_meeting(&form, &choices) {
        Ok(new) => {
            let id = state.store.plan_meeting(&user.principal, &new).await?;
            Ok(Redirect::to(&format!("/mdt/{id}")).into_response())
        }
        Err(errors) => invalid(&new_page(&csrf, &user, choices, form, errors)),
    }
}

#[derive(Template)]
#[template(path = "mdt/meeting.html")]
struct MeetingPage {
    chrome: Chrome,
    m: MeetingView,
    /// The viewer's own active cases, offered for adding by hand.
    my_cases: Vec<CaseSummary>,
    built: Option<BuiltQuery>,
    form: Pairs,
    errors: FormErrors,
}

/// What the last "Build the agenda" did, carried in the redirect's query.
#[derive(Debug, Clone, Copy)]
struct BuiltQuery {
    added: usize,
    outside: usize,
}

/// The meeting page's query: present after building the agenda.
#[derive(Debug, Default, Deserialize)]
struct MeetingQuery {
    added: Option<usize>,
    outside: Option<usize>,
}

async fn meeting_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: MeetingId,
    built: Option<BuiltQuery>,
    form: Pairs,
    errors: FormErrors,
) -> Result<MeetingPage, AppError> {
    let m = state.store.meeting_for(&user.principal, id).await?;
    let my_cases = state
        .store
        .my_cases(&user.principal)
        .await?
        .into_iter()
        .filter(|c| c.status.is_active())
        .collect();
    Ok(MeetingPage {
        chrome: Chrome::signed_in(
            &format!("{} – {}", m.title, m.held_on.format("%-d %B %Y")),
            csrf,
            user,
            "/mdt",
        ),
        m,
        my_cases,
        built,
        form,
        errors,
    })
}

/// `GET /mdt/{id}`: one meeting with its members and agenda.
async fn show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<MeetingQuery>,
) -> Result<Response, AppError> {
    let built = q
        .added
        .zip(q.outside)
        .map(|(added, outside)| BuiltQuery { added, outside });
    let page = meeting_page(
        &state,
        &csrf,
        &user,
        MeetingId::new(id),
        built,
        Pairs::default(),
        FormErrors::default(),
    )
    .await?;
    html(&page)
}

#[derive(Template)]
#[template(path = "mdt/minutes.html")]
struct MinutesPage {
    chrome: Chrome,
    m: MeetingView,
    /// Agenda cases the reader may not see, counted rather than shown.
    hidden: usize,
}

/// `GET /mdt/{id}/minutes`: the meeting's minutes as a page to print (who was there, and for
/// each case the discussion, the decision, how the person was told and the actions). The
/// meeting is read through the same door as its page, so each reader sees only the cases the
/// policy lets them see, and the read is audited the same way.
async fn minutes(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let m = state
        .store
        .meeting_for(&user.principal, MeetingId::new(id))
        .await?;
    let hidden = m.items.iter().filter(|i| i.detail.is_none()).count();
    html(&MinutesPage {
        chrome: Chrome::signed_in(&format!("Minutes: {}", m.title), &csrf, &user, "/mdt"),
        m,
        hidden,
    })
}

/// Runs one meeting change; `Ok(None)` for an action that does not exist, `Err` for the errors
/// to show (invalid input, or the store's refusal against `field`).
async fn run_meeting_change(
    state: &AppState,
    who: &Principal,
    id: MeetingId,
    action: &str,
    p: &Pairs,
) -> Result<Result<Option<Option<BuiltQuery>>, FormErrors>, AppError> {
    let change = match parse_meeting_change(action, p) {
        Ok(Some(change)) => change,
        Ok(None) => return Ok(Ok(None)),
        Err(errors) => return Ok(Err(errors)),
    };
    let s = &state.store;
    let (result, field) = match change {
        MeetingChange::Invite(i) => (s.invite_to_meeting(who, id, &i).await, "invite_name"),
        MeetingChange::AddCase(c) => (s.add_case_to_meeting(who, id, c).await, "case"),
        MeetingChange::Build => {
            let report = s.build_agenda(who, id, state.clock.today()).await?;
            return Ok(Ok(Some(Some(BuiltQuery {
                added: report.added,
                outside: report.outside_access,
            }))));
        }
    };
    match result {
        Ok(()) => Ok(Ok(Some(None))),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut errors = FormErrors::default();
            errors.add(field, m);
            Ok(Err(errors))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /mdt/{id}/{action}`: invites someone, builds the agenda from the lists or adds a case.
async fn act(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = MeetingId::new(id);
    let form = Pairs(pairs);
    match run_meeting_change(&state, &user.principal, id, &action, &form).await? {
        Ok(None) => Err(AppError::NotFound),
        Ok(Some(Some(b))) => Ok(Redirect::to(&format!(
            "/mdt/{id}?added={}&outside={}#agenda",
            b.added, b.outside
        ))
        .into_response()),
        Ok(Some(None)) => Ok(Redirect::to(&format!("/mdt/{id}#agenda")).into_response()),
        Err(errors) => invalid(&meeting_page(&state, &csrf, &user, id, None, form, errors).await?),
    }
}

#[derive(Template)]
#[template(path = "mdt/item.html")]
struct ItemPage {
    chrome: Chrome,
    m: MeetingView,
    item: AgendaItem,
    told_hows: &'static [ToldHow],
    /// The outcome form's values: what was typed, or else what is saved.
    discussion: String,
    decision: String,
    told_code: String,
    told_day: String,
    told_month: String,
    told_year: String,
    form: Pairs,
    errors: FormErrors,
    today: NaiveDate,
}

async fn item_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: MeetingId,
    item: i64,
    form: Pairs,
    errors: FormErrors,
) -> Result<ItemPage, AppError> {
    let (m, item) = state.store.agenda_item(&user.principal, id, item).await?;
    // The store has refused (and audited) viewers without the detail; this only names it.
    let Some(detail) = &item.detail else {
        return Err(AppError::Forbidden);
    };
    // After a failed outcome save the form shows what was typed; otherwise what is saved.
    let typed = form
        .0
        .iter()
        .any(|(k, _)| ["discussion", "decision", "told_how"].contains(&k.as_str()));
    let saved = &detail.outcome;
    let pick = |name: &str, saved: String| {
        if typed {
            form.get(name).to_owned()
        } else {
            saved
        }
    };
    let told = saved.told;
    let discussion = pick("discussion", saved.discussion.clone());
    let decision = pick("decision", saved.decision.clone());
    let told_code = pick(
        "told_how",
        told.map_or("not_yet", |t| t.how.code()).to_owned(),
    );
    let told_day = pick(
        "told_on-day",
        told.map(|t| t.on.format("%-d").to_string())
            .unwrap_or_default(),
    );
    let told_month = pick(
        "told_on-month",
        told.map(|t| t.on.format("%-m").to_string())
            .unwrap_or_default(),
    );
    let told_year = pick(
        "told_on-year",
        told.map(|t| t.on.format("%Y").to_string())
            .unwrap_or_default(),
    );
    Ok(ItemPage {
        chrome: Chrome::signed_in(
            &format!("{} – {}", detail.person_name, m.title),
            csrf,
            user,
            "/mdt",
        ),
        m,
        item,
        told_hows: ToldHow::ALL,
        discussion,
        decision,
        told_code,
        told_day,
        told_month,
        told_year,
        form,
        errors,
        today: state.clock.today(),
    })
}

/// `GET /mdt/{id}/items/{item}`: one case's discussion, decision, telling and actions.
async fn item_show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, item)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let page = item_page(
        &state,
        &csrf,
        &user,
        MeetingId::new(id),
        item,
        Pairs::default(),
        FormErrors::default(),
    )
    .await?;
    html(&page)
}

/// Runs one change to an agenda case; `Ok(Ok(false))` for an unknown action.
async fn run_item_change(
    state: &AppState,
    who: &Principal,
    id: MeetingId,
    item: i64,
    action: &str,
    p: &Pairs,
) -> Result<Result<bool, FormErrors>, AppError> {
    let change = match parse_item_change(action, p, state.clock.today()) {
        Ok(Some(change)) => change,
        Ok(None) => return Ok(Ok(false)),
        Err(errors) => return Ok(Err(errors)),
    };
    let s = &state.store;
    let (result, field) = match change {
        ItemChange::Outcome(o) => (s.record_mdt_outcome(who, id, item, &o).await, "discussion"),
        ItemChange::AddAction(a) => (s.add_mdt_action(who, id, item, &a).await, "action_text"),
        ItemChange::Done(a) => (
            s.complete_mdt_action(who, id, item, a, state.clock.today())
                .await,
            "actions",
        ),
    };
    match result {
        Ok(()) => Ok(Ok(true)),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut errors = FormErrors::default();
            errors.add(field, m);
            Ok(Err(errors))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /mdt/{id}/items/{item}/{action}`: records the outcome, adds an action or marks one done.
async fn item_act(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, item, action)): Path<(i64, i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = MeetingId::new(id);
    let form = Pairs(pairs);
    match run_item_change(&state, &user.principal, id, item, &action, &form).await? {
        Ok(true) => Ok(Redirect::to(&format!("/mdt/{id}/items/{item}")).into_response()),
        Ok(false) => Err(AppError::NotFound),
        Err(errors) => invalid(&item_page(&state, &csrf, &user, id, item, form, errors).await?),
    }
}

/// `POST /cases/{id}/mdt-flags`: sets a flag for the next MDT, or shows the case page again with
/// the errors and what was typed.
async fn flag_set(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let case = CaseId::new(id);
    let form = Pairs(pairs);
    match parse_flag(&form, state.clock.today()) {
        Ok(flag) => {
            let access = state.store.open_case(&user.principal, case, false).await?;
            state.store.set_case_flag(&access, &flag).await?;
            Ok(Redirect::to(&format!("/cases/{case}#mdt")).into_response())
        }
        Err(errors) => invalid(&case_page(&state, &csrf, &user, case, form, errors, false).await?),
    }
}

/// `POST /cases/{id}/mdt-flags/{flag}/clear`: clears a flag.
async fn flag_clear(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path((id, flag)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let case = CaseId::new(id);
    let access = state.store.open_case(&user.principal, case, false).await?;
    match state
        .store
        .clear_case_flag(&access, flag, state.clock.today())
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/cases/{case}#mdt")).into_response()),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut errors = FormErrors::default();
            errors.add("flag_kind", m);
            invalid(&case_page(&state, &csrf, &user, case, Pairs::default(), errors, false).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The meetings a case went to and its flags. A viewer who may not change the case is refused
/// (403) and the refusal audited.
pub async fn case_section(
    state: &AppState,
    who: &Principal,
    case: CaseId,
) -> Result<CaseMdt, AppError> {
    Ok(state.store.case_mdt(who, case).await?)
}

// ----- JSON API --------------------------------------------------------------------------------

fn summary_json(m: &MeetingSummary) -> serde_json::Value {
    serde_json::json!({
        "id": m.id.get(),
        "title": m.title,
        "host": m.host_name,
        "held_on": m.held_on.to_string(),
        "starts_at": m.starts_at,
        "location": m.location,
        "cases": m.cases,
        "href": format!("/api/v1/mdt/{}", m.id),
    })
}

fn told_json(t: Option<Told>) -> serde_json::Value {
    t.map_or(
        serde_json::Value::Null,
        |t| serde_json::json!({ "how": t.how.code(), "on": t.on.to_string() }),
    )
}

fn meeting_json(m: &MeetingView) -> serde_json::Value {
    use serde_json::json;
    json!({
        "id": m.id.get(),
        "title": m.title,
        "host": { "kind": match m.host { MeetingHost::Team(_) => "team", MeetingHost::Practice(_) => "practice" }, "code": host_code(&m.host), "name": m.host_name },
        "held_on": m.held_on.to_string(),
        "starts_at": m.starts_at,
        "location": m.location,
        "lists": m.lists.iter().map(|l| l.code()).collect::<Vec<_>>(),
        "cohort": m.cohort,
        "members": m.members.iter().map(|p| json!({ "name": p.name, "organisation": p.organisation, "role": p.role, "core": p.core })).collect::<Vec<_>>(),
        "agenda": m.items.iter().map(|i| json!({
            "item_id": i.id,
            "reasons": i.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(),
            // Null when the viewer may not read this person: the item exists, who it is does not show.
            "case": i.detail.as_ref().map(|d| json!({
                "case_id": d.case.get(),
                "name": d.person_name,
                "service": d.service_name,
                "discussion": d.outcome.discussion,
                "decision": d.outcome.decision,
                "told": told_json(d.outcome.told),
                "actions": d.actions.iter().map(|a| json!({ "id": a.id, "text": a.text, "owner": a.owner, "due_on": a.due_on.to_string(), "done_on": a.done_on.map(|d| d.to_string()) })).collect::<Vec<_>>(),
            })),
        })).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/mdt`: the meetings the user may see.
async fn api_list(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    if !careweave_domain::access::has_caseload(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let (upcoming, past) = state
        .store
        .meetings_for(&user.principal, state.clock.today())
        .await?;
    Ok(Json(serde_json::json!({
        "upcoming": upcoming.iter().map(summary_json).collect::<Vec<_>>(),
        "past": past.iter().map(summary_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/mdt`: plans a meeting from the planning form's fields.
async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    let choices = plan_choices(&state, &user.principal).await?;
    if choices.hosts.is_empty() {
        return Err(AppError::Forbidden);
    }
    match parse_meeting(&p, &choices) {
        Ok(new) => {
            let id = state.store.plan_meeting(&user.principal, &new).await?;
            Ok((
                StatusCode::CREATED,
                Json(serde_json::json!({ "id": id.get(), "href": format!("/api/v1/mdt/{id}") })),
            )
                .into_response())
        }
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `GET /api/v1/mdt/{id}`: a meeting with members and agenda.
async fn api_meeting(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let m = state
        .store
        .meeting_for(&user.principal, MeetingId::new(id))
        .await?;
    Ok(Json(meeting_json(&m)).into_response())
}

/// `POST /api/v1/mdt/{id}/{action}`: `invite`, `build` or `add-case`.
async fn api_act(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_meeting_change(&state, &user.principal, MeetingId::new(id), &action, &p).await? {
        Ok(None) => Err(AppError::NotFound),
        Ok(Some(built)) => Ok(Json(serde_json::json!({
            "ok": true,
            "added": built.map(|b| b.added),
            "outside_your_access": built.map(|b| b.outside),
            "href": format!("/api/v1/mdt/{id}"),
        }))
        .into_response()),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `POST /api/v1/mdt/{id}/items/{item}/{action}`: `outcome`, `actions` or `done`.
async fn api_item_act(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, item, action)): Path<(i64, i64, String)>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match run_item_change(
        &state,
        &user.principal,
        MeetingId::new(id),
        item,
        &action,
        &p,
    )
    .await?
    {
        Ok(true) => Ok(Json(
            serde_json::json!({ "ok": true, "href": format!("/api/v1/mdt/{id}") }),
        )
        .into_response()),
        Ok(false) => Err(AppError::NotFound),
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `GET /api/v1/cases/{id}/mdt`: the meetings a case went to and its flags.
async fn api_case(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let c = case_section(&state, &user.principal, CaseId::new(id)).await?;
    Ok(Json(serde_json::json!({
        "meetings": c.meetings.iter().map(|m| serde_json::json!({
            "meeting_id": m.meeting.get(),
            "title": m.title,
            "held_on": m.held_on.to_string(),
            "reasons": m.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(),
            "decision": m.decision,
            "told": told_json(m.told),
        })).collect::<Vec<_>>(),
        "flags": c.flags.iter().map(|f| serde_json::json!({
            "id": f.id,
            "kind": f.kind.code(),
            "noted_on": f.noted_on.to_string(),
            "reason": f.reason,
            "set_by": f.set_by,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/cases/{id}/mdt-flags`: sets a flag (`flag_kind`, `flag_on`, `flag_reason`).
async fn api_flag_set(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = match body_pairs(&body) {
        Ok(p) => p,
        Err(r) => return Ok(*r),
    };
    match parse_flag(&p, state.clock.today()) {
        Ok(flag) => {
            let access = state
                .store
                .open_case(&user.principal, CaseId::new(id), false)
                .await?;
            let flag = state.store.set_case_flag(&access, &flag).await?;
            Ok((
                StatusCode::CREATED,
                Json(serde_json::json!({ "id": flag, "href": format!("/api/v1/cases/{id}/mdt") })),
            )
                .into_response())
        }
        Err(errors) => Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors)),
    }
}

/// `POST /api/v1/cases/{id}/mdt-flags/{flag}/clear`: clears a flag.
async fn api_flag_clear(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, flag)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let access = state
        .store
        .open_case(&user.principal, CaseId::new(id), false)
        .await?;
    match state
        .store
        .clear_case_flag(&access, flag, state.clock.today())
        .await
    {
        Ok(()) => Ok(Json(
            serde_json::json!({ "ok": true, "href": format!("/api/v1/cases/{id}/mdt") }),
        )
        .into_response()),
        Err(ActionError::Refused { reason: m, .. }) => {
            let mut errors = FormErrors::default();
            errors.add("flag", m);
            Ok(errors_json(StatusCode::UNPROCESSABLE_ENTITY, &errors))
        }
        Err(e) => Err(e.into()),
    }
}
