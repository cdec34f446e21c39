//! The demo's MDT meetings: the social prescribing team (the charity's link workers with the PCN as
//! partner employer) met two weeks ago and meets again next week, so that a new user sees a past
//! meeting with its decisions, how each person was told and the actions, and an upcoming one whose
//! agenda was built from the team's lists. Everything goes through the store functions the pages
//! use, so the demo's meetings are audited like real ones.

use anyhow::Context;
use careweave_domain::access::Principal;
use careweave_domain::mdt::{AgendaList, CaseFlagKind, MeetingHost, ToldHow};
use careweave_domain::ServiceId;
use careweave_store::mdt::{Invitee, NewCaseFlag, NewMdtAction, NewMeeting, Outcome, Told};
use careweave_store::Store;
use chrono::{Duration, NaiveDate, NaiveTime};

/// The team's accounts: the charity's link worker and supervisor and the PCN's caseworker.
pub struct MdtTeam<'a> {
    pub linkworker: &'a Principal,
    pub caseworker: &'a Principal,
    pub supervisor: &'a Principal,
}

fn invitee(name: &str, organisation: &str, role: &str) -> Invitee {
    Invitee {
        name: name.to_owned(),
        organisation: organisation.to_owned(),
        role: role.to_owned(),
    }
}

/// Loads one past and one upcoming meeting of the `social` service's team.
pub async fn load(
    store: &Store,
    team: &MdtTeam<'_>,
    social: ServiceId,
    today: NaiveDate,
) -> anyhow::Result<()> {
    let cases: Vec<_> = store
        .my_cases(team.linkworker)
        .await?
        .into_iter()
        .filter(|c| c.status.is_active() && c.service == "Social prescribing")
        .map(|c| c.case)
        .collect();
    let [first, second, third, ..] = cases[..] else {
        anyhow::bail!("the MDT demo needs three open social prescribing cases");
    };
    let meeting = |title: &str, held_on, lists: Vec<AgendaList>| NewMeeting {
        title: title.to_owned(),
        host: MeetingHost::Team(social),
        held_on,
        starts_at: NaiveTime::from_hms_opt(13, 30, 0).expect("a valid time"),
        location: "Riverside Community Centre, meeting room 1".to_owned(),
        lists,
        cohort: None,
        core_members: vec![
            team.linkworker.user,
            team.caseworker.user,
            team.supervisor.user,
        ],
    };

    // Two weeks ago: two cases brought by hand, decided, told, with actions (one done).
    let past = store
        .plan_meeting(
            team.linkworker,
            &meeting(
                "Social prescribing MDT",
                today - Duration::days(14),
                vec![AgendaList::HighRisk, AgendaList::ReviewDue],
            ),
        )
        .await?;
    store
        .invite_to_meeting(
            team.linkworker,
            past,
            &invitee("Dr Amira Khan", "Riverside Surgery", "GP"),
        )
        .await?;
    store
        .invite_to_meeting(
            team.linkworker,
            past,
            &invitee(
                "Jo Hughes",
                "Riverside Housing Association",
                "Tenancy sustainment officer",
            ),
        )
        .await?;
    let decisions = [
        (
            first,
            "Rent arrears are growing and she is not opening post.",
            "Joint visit with the housing association to agree a repayment plan.",
            ToldHow::InPerson,
            "Arrange the joint visit",
            "Jo Hughes, Riverside Housing Association",
        ),
        (
            second,
            "Low mood since his wife died; stopped going to the lunch club.",
            "GP to review his medication; link worker to go with him to the club once.",
            ToldHow::Phone,
            "Book a medication review",
            "Dr Amira Khan",
        ),
    ];
    for (k, (case, discussion, decision, how, action, owner)) in decisions.into_iter().enumerate() {
        store
            .add_case_to_meeting(team.linkworker, past, case)
            .await?;
        let item = store
            .meeting_for(team.linkworker, past)
            .await?
            .items
            .iter()
            .find(|i| i.detail.as_ref().is_some_and(|d| d.case == case))
            .map(|i| i.id)
            .context("the case just added is on the agenda")?;
        store
            .record_mdt_outcome(
                team.linkworker,
                past,
                item,
                &Outcome {
                    discussion: discussion.to_owned(),
                    decision: decision.to_owned(),
                    told: Some(Told {
                        how,
                        on: today - Duration::days(12),
                    }),
                },
            )
            .await?;
        store
            .add_mdt_action(
                team.linkworker,
                past,
                item,
                &NewMdtAction {
                    text: action.to_owned(),
                    owner: owner.to_owned(),
                    due_on: today - Duration::days(7) + Duration::days(k as i64 * 14),
                },
            )
            .await?;
        if k == 0 {
            let done = store.meeting_for(team.linkworker, past).await?.items[0]
                .detail
                .as_ref()
                .and_then(|d| d.actions.first().map(|a| a.id))
                .context("the action just added")?;
            store
                .complete_mdt_action(team.linkworker, past, item, done, today - Duration::days(9))
                .await?;
        }
    }

    // Next week: the team's lists, fed by a "worried about" flag and a hospital discharge.
    store
        .set_case_flag(
            &store.open_case(team.supervisor, third, false).await?,
            &NewCaseFlag {
                kind: CaseFlagKind::WorriedAbout,
                noted_on: today - Duration::days(2),
                reason: "Did not answer the door at the planned visit and has missed two calls."
                    .to_owned(),
            },
        )
        .await?;
    store
        .set_case_flag(
            &store.open_case(team.linkworker, second, false).await?,
            &NewCaseFlag {
                kind: CaseFlagKind::HospitalDischarge,
                noted_on: today - Duration::days(5),
                reason: "Home after three nights on the respiratory ward.".to_owned(),
            },
        )
        .await?;
    let upcoming = store
        .plan_meeting(
            team.linkworker,
            &meeting(
                "Social prescribing MDT",
                today + Duration::days(7),
                vec![
                    AgendaList::HighRisk,
                    AgendaList::HospitalDischarge,
                    AgendaList::WorriedAbout,
                    AgendaList::ReviewDue,
                ],
            ),
        )
        .await?;
    store
        .invite_to_meeting(
            team.linkworker,
            upcoming,
            &invitee(
                "Priya Shah",
                "Riverside Community Health Trust",
                "District nurse",
            ),
        )
        .await?;
    store.build_agenda(team.linkworker, upcoming, today).await?;
    Ok(())
}
