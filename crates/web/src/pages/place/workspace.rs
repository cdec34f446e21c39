//! The workspaces list, starting a workspace, and a workspace's overview: the place's population
//! profile from the latest run (counts already through the engine's disclosure control, charts
//! from careweave-charts with the same figures as tables), cohort sizes through `SafeCount`,
//! links to the workforce and evaluation results when they exist, the partners and the actions
//! still open.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_charts::{bar_chart, pyramid, shown};
use careweave_domain::disclosure::SafeCount;
use careweave_domain::place::{can_start_workspace, place_access, PlaceAccess};
use careweave_domain::{OrganisationId, PlaceId};
use careweave_store::change::ActionError;
use careweave_store::place::{ActionView, NewWorkspace, PlaceRef, Workspace, WorkspaceSummary};

use super::{open, sections, SectionLink};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::forms::{required, FormErrors, Pairs};
use crate::pages::{html, invalid, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

#[derive(Template)]
#[template(path = "place/list.html")]
struct ListPage {
    chrome: Chrome,
    workspaces: Vec<WorkspaceSummary>,
    may_start: bool,
}

/// `GET /place`: the workspaces the user takes part in.
pub(super) async fn list(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    if !super::can_see(&user.principal) {
        return Err(AppError::Forbidden);
    }
    html(&ListPage {
        chrome: Chrome::signed_in("Place partnerships", &csrf, &user, "/place"),
        workspaces: state.store.workspaces_for(&user.principal).await?,
        may_start: can_start_workspace(&user.principal),
    })
}

#[derive(Template)]
#[template(path = "place/new.html")]
struct NewPage {
    chrome: Chrome,
    places: Vec<PlaceRef>,
    /// The organisations the user would lead a workspace for.
    organisations: Vec<(OrganisationId, String)>,
    form: Pairs,
    errors: FormErrors,
}

async fn new_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    form: Pairs,
    errors: FormErrors,
) -> Result<NewPage, AppError> {
    if !can_start_workspace(&user.principal) {
        return Err(AppError::Forbidden);
    }
    let organisations = state
        .store
        .organisations()
        .await?
        .into_iter()
        .filter(|o| place_access(&user.principal, &[o.id]) == Some(PlaceAccess::Lead))
        .map(|o| (o.id, o.name))
        .collect();
    Ok(NewPage {
        chrome: Chrome::signed_in("Start a place workspace", csrf, user, "/place"),
        places: state.store.workspace_places().await?,
        organisations,
        form,
        errors,
    })
}

/// `GET /place/new`: the form to start a workspace.
pub(super) async fn new_form(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    html(
        &new_page(
            &state,
            &csrf,
            &user,
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

fn id_of(e: &mut FormErrors, p: &Pairs, name: &str, message: &str) -> Option<i64> {
    let v = p.get(name).trim().parse::<i64>().ok();
    if v.is_none() {
        e.add(name, message);
    }
    v
}

/// `POST /place/new`: starts the workspace and opens it, or shows the form again with the errors.
pub(super) async fn create(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let mut e = FormErrors::default();
    let name = required(&mut e, &form, "name", "Enter the workspace's name");
    let place = id_of(&mut e, &form, "place", "Select the place");
    let organisation = id_of(
        &mut e,
        &form,
        "organisation",
        "Select your organisation, the first partner",
    );
    if let (Some(place), Some(organisation), true) = (place, organisation, e.is_empty()) {
        let new = NewWorkspace {
            name,
            place: PlaceId::new(place),
            description: form.trimmed("description"),
            organisation: OrganisationId::new(organisation),
        };
        match state.store.create_workspace(&user.principal, &new).await {
            Ok(ws) => return Ok(Redirect::to(&format!("/place/{}", ws.id)).into_response()),
            Err(ActionError::Refused { field, reason }) => e.add(field.unwrap_or("name"), reason),
            Err(other) => return Err(other.into()),
        }
    }
    invalid(&new_page(&state, &csrf, &user, form, e).await?)
}

/// One breakdown of the profile: a chart and the same figures as a table.
struct Breakdown {
    id: &'static str,
    heading: &'static str,
    chart: String,
    cells: Vec<(String, String)>,
}

/// The profile's dimensions the workspace charts, with their headings. An answer to one of the
/// four questions may point at any of them as evidence.
pub(super) const CHARTS: [(&str, &str); 4] = [
    ("age_band_sex", "Age and sex"),
    ("segment", "Bridges to Health segments"),
    ("tier", "Risk tiers"),
    (
        "imd_quintile",
        "People by deprivation quintile (1 = most deprived)",
    ),
];

fn breakdowns(cells: &[careweave_store::population::ProfileCell]) -> Vec<Breakdown> {
    let mut by_dim: BTreeMap<&str, Vec<(String, Option<i64>)>> = BTreeMap::new();
    for c in cells {
        by_dim
            .entry(c.dimension.as_str())
            .or_default()
            .push((c.category.clone(), c.people));
    }
    CHARTS
        .iter()
        .filter_map(|&(dim, heading)| {
            let bars = by_dim.get(dim)?;
            Some(Breakdown {
                id: dim,
                heading,
                chart: if dim == "age_band_sex" {
                    pyramid(heading, bars)
                } else {
                    bar_chart(heading, bars)
                },
                cells: bars.iter().map(|(l, v)| (l.clone(), shown(*v))).collect(),
            })
        })
        .collect()
}

#[derive(Template)]
#[template(path = "place/show.html")]
struct ShowPage {
    chrome: Chrome,
    ws: Workspace,
    sections: Vec<SectionLink>,
    run_date: Option<String>,
    breakdowns: Vec<Breakdown>,
    /// (cohort title, people through disclosure control).
    cohorts: Vec<(String, SafeCount)>,
    evaluation: bool,
    open_actions: Vec<ActionView>,
    /// Organisations that are not partners yet, for a lead's form.
    others: Vec<(OrganisationId, String)>,
    form: Pairs,
    errors: FormErrors,
}

async fn show_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    id: i64,
    form: Pairs,
    errors: FormErrors,
) -> Result<ShowPage, AppError> {
    let ws = open(state, user, id).await?;
    let mut page = ShowPage {
        chrome: Chrome::signed_in(&ws.name, csrf, user, "/place"),
        sections: sections(&ws, ""),
        run_date: None,
        breakdowns: Vec::new(),
        cohorts: Vec::new(),
        evaluation: state.store.latest_evaluation().await?.is_some(),
        open_actions: state
            .store
            .place_actions(&ws)
            .await?
            .into_iter()
            .filter(|a| a.done_on.is_none())
            .collect(),
        others: Vec::new(),
        form,
        errors,
        ws,
    };
    if let Some(run) = state.store.latest_population_run().await? {
        let cells = state
            .store
            .population_profile(run.id, &page.ws.place.level, &page.ws.place.code)
            .await?;
        page.breakdowns = breakdowns(&cells);
        page.run_date = Some(run.index_date.format("%-d %B %Y").to_string());
        page.cohorts = state
            .store
            .place_cohort_sizes(&page.ws)
            .await?
            .into_iter()
            .map(|(_, title, n)| (title, SafeCount::from_raw(n)))
            .collect();
    }
    if page.ws.access.may_manage_partners() {
        page.others = state
            .store
            .organisations()
            .await?
            .into_iter()
            .filter(|o| !page.ws.partners.iter().any(|(p, _)| *p == o.id))
            .map(|o| (o.id, o.name))
            .collect();
    }
    Ok(page)
}

/// `GET /place/{id}`: the workspace's overview.
pub(super) async fn show(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    html(
        &show_page(
            &state,
            &csrf,
            &user,
            id,
            Pairs::default(),
            FormErrors::default(),
        )
        .await?,
    )
}

/// `POST /place/{id}/partners`: a lead adds a partner organisation.
pub(super) async fn add_partner(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = Pairs(pairs);
    let ws = open(&state, &user, id).await?;
    let mut e = FormErrors::default();
    if let Some(org) = id_of(
        &mut e,
        &form,
        "organisation",
        "Select the organisation to add",
    ) {
        match state.store.add_partner(&ws, OrganisationId::new(org)).await {
            Ok(()) => return Ok(Redirect::to(&format!("/place/{id}")).into_response()),
            Err(ActionError::Refused { reason, .. }) => e.add("organisation", reason),
            Err(other) => return Err(other.into()),
        }
    }
    invalid(&show_page(&state, &csrf, &user, id, form, e).await?)
}
