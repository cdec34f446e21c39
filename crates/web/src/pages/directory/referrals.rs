//! A person's directory activity, unmet needs, and the referrals a provider answers.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use careweave_directory::Need;
use careweave_domain::access::{self};
use careweave_domain::PersonId;
use careweave_store::directory::{
    DirectoryError, PersonActivity, Referral, ReferralStatus, Signpost,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{can_use_directory, message_page, require, DecisionForm, MessagePage};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{html, Chrome};
use crate::session::CurrentUser;
use crate::AppState;

/// A referral line with its flag.
pub struct ReferralRow {
    r: Referral,
    days: i64,
    overdue: bool,
}

/// `now` is the clock's instant, against which days waiting are counted.
fn referral_rows(list: Vec<Referral>, flag_days: i64, now: DateTime<Utc>) -> Vec<ReferralRow> {
    list.into_iter()
        .map(|r| {
            let days = r.days_waiting(now);
            ReferralRow {
                overdue: r.status == ReferralStatus::Pending && days > flag_days,
                days,
                r,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "directory/person.html")]
struct PersonPage {
    chrome: Chrome,
    person: i64,
    name: String,
    signposts: Vec<Signpost>,
    referrals: Vec<ReferralRow>,
    flag_days: i64,
}

pub(super) async fn person_activity(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let record = state
        .store
        .read_person(&user.principal, PersonId::new(id))
        .await?;
    let PersonActivity {
        signposts,
        referrals,
    } = state
        .store
        .person_directory_activity(
            &state
                .store
                .person_for(&user.principal, PersonId::new(id), "directory: ")
                .await?,
        )
        .await?;
    let settings = state.store.directory_settings().await?;
    let name = record.person.display_name();
    html(&PersonPage {
        chrome: Chrome::signed_in(
            &format!("Community services for {name}"),
            &csrf,
            &user,
            "/people",
        ),
        person: id,
        name,
        signposts,
        referrals: referral_rows(
            referrals,
            settings.referral_flag_days,
            state.clock.now_utc(),
        ),
        flag_days: settings.referral_flag_days,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UnmetForm {
    need: String,
    area: String,
}

pub(super) async fn unmet_need(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Form(f): Form<UnmetForm>,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let need = Need::find(&f.need);
    let area = f.area.trim().to_ascii_uppercase();
    let area_ok = (2..=4).contains(&area.len()) && area.bytes().all(|b| b.is_ascii_alphanumeric());
    let (Some(need), true) = (need, area_ok) else {
        return message_page(
            &csrf,
            &user,
            "Unmet need not recorded",
            "Choose the need and the area (a postcode district such as RV1), then record it again.",
            "/directory",
        );
    };
    state
        .store
        .record_unmet_need(user.principal.user, need, &area)
        .await?;
    html(&MessagePage {
        chrome: Chrome::signed_in("Unmet need recorded", &csrf, &user, "/directory"),
        heading: "Unmet need recorded".to_owned(),
        message: format!(
            "Thank you. \"{}\" in {area} has been added to the gaps report that commissioners use to plan services. No one's details were recorded.",
            need.name()
        ),
        back: "/directory".to_owned(),
    })
}

#[derive(Template)]
#[template(path = "directory/referrals.html")]
struct ReferralsPage {
    chrome: Chrome,
    incoming: Vec<ReferralRow>,
    /// Referrals the viewer's organisations accepted in the last 90 days: the people they support.
    accepted: Vec<careweave_store::directory::Referral>,
    mine: Vec<ReferralRow>,
    flag_days: i64,
    provider: bool,
}

pub(super) async fn referrals_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    require(can_use_directory(&user.principal))?;
    let settings = state.store.directory_settings().await?;
    let provider = access::has_caseload(&user.principal);
    let (incoming, accepted) = if provider {
        (
            state.store.incoming_referrals(&user.principal).await?,
            state.store.accepted_referrals(&user.principal).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mine = state.store.my_referrals(&user.principal).await?;
    html(&ReferralsPage {
        chrome: Chrome::signed_in("Referrals", &csrf, &user, "/directory"),
        incoming: referral_rows(incoming, settings.referral_flag_days, state.clock.now_utc()),
        accepted,
        mine: referral_rows(mine, settings.referral_flag_days, state.clock.now_utc()),
        flag_days: settings.referral_flag_days,
        provider,
    })
}

pub(super) async fn answer(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let accept = match f.decision.as_str() {
        "accept" => true,
        "decline" => false,
        _ => {
            return message_page(
                &csrf,
                &user,
                "Answer not sent",
                "Choose accept or decline.",
                "/directory/referrals",
            )
        }
    };
    match state
        .store
        .answer_referral(&user.principal, id, accept, f.note.trim())
        .await
    {
        Ok(()) => Ok(Redirect::to("/directory/referrals").into_response()),
        Err(DirectoryError::Refused(m)) => {
            message_page(&csrf, &user, "Answer not sent", m, "/directory/referrals")
        }
        Err(e) => Err(e.into()),
    }
}
