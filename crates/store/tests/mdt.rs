//! MDT meetings in the store, run identically on SQLite and PostgreSQL: who may plan and see a
//! meeting (every role), an agenda built from the chosen lists and by hand, agenda cases shown only
//! to viewers the access policy allows, outcomes with actions and telling, the case's own list of
//! meetings and flags, and the audit of every read, write and refusal.

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::CaseId;
use careweave_domain::mdt::{
    AgendaList, AgendaReason, CaseFlagKind, MeetingGrant, MeetingHost, ToldHow,
};
use careweave_domain::safeguarding::{ConcernCategory, RiskLevel};
use careweave_store::audit::{AuditEntry, AuditFilter};
use careweave_store::change::ActionError;
use careweave_store::mdt::{
    Invitee, NewCaseFlag, NewMdtAction, NewMeeting, Outcome, Told, ENTITY, FLAG_ENTITY,
};
use careweave_store::population::{PopulationLoad, WorklistRow};
use careweave_store::safeguarding::NewConcern;
use careweave_store::testing::{cross_employer_case, denied_rows, test_user, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{Duration, NaiveDate, NaiveTime};

const PASSWORD: &str = "correct horse battery staple";

macro_rules! on_both_backends {
    ($name:ident, |$w:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($w: World) $body

            #[tokio::test]
            async fn sqlite() {
                let db = TestDatabase::new(Backend::Sqlite).await;
                run(world(&db.store).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = TestDatabase::new(Backend::Postgres).await;
                run(world(&db.store).await).await;
            }
        }
    };
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The shared cross-employer case (the charity runs the service, the PCN is its partner) with a
/// principal for every role around it.
struct World {
    store: Store,
    case: CaseId,
    team: MeetingHost,
    practice: MeetingHost,
    /// The charity's link worker, lead on the case.
    lead: Principal,
    /// The PCN's caseworker, co-worker on the case.
    coworker: Principal,
    /// A supervisor of the charity.
    supervisor: Principal,
    /// A worker of the GP practice with no part in the case.
    gp_worker: Principal,
    referrer: Principal,
    analyst: Principal,
    commissioner: Principal,
    admin: Principal,
}

async fn world(store: &Store) -> World {
    let shared = cross_employer_case(store, PASSWORD).await;
    let user = |name: &'static str, role, org| test_user(store, name, role, org, PASSWORD);
    let team = store
        .meeting_hosts(&shared.lead)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.host)
        .find(|h| matches!(h, MeetingHost::Team(_)))
        .expect("the lead may plan for their team");
    World {
        case: shared.case,
        team,
        practice: MeetingHost::Practice(shared.practice),
        supervisor: user("supervisor", Role::Supervisor, shared.charity).await,
        gp_worker: user("gpworker", Role::Worker, shared.practice).await,
        referrer: user("referrer", Role::Referrer, shared.practice).await,
        analyst: user("analyst", Role::Analyst, shared.charity).await,
        commissioner: user("commissioner", Role::Commissioner, shared.pcn).await,
        admin: user("admin", Role::Admin, shared.charity).await,
        lead: shared.lead,
        coworker: shared.coworker,
        store: store.clone(),
    }
}

fn meeting(host: MeetingHost, lists: &[AgendaList], core: Vec<Principal>) -> NewMeeting {
    NewMeeting {
        title: "Weekly MDT".into(),
        host,
        held_on: today() + Duration::days(60),
        starts_at: NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        location: "Riverside Surgery, room 2".into(),
        lists: lists.to_vec(),
        cohort: None,
        core_members: core.iter().map(|p| p.user).collect(),
    }
}

async fn audit_of(store: &Store, entity: &str, id: Option<i64>) -> Vec<AuditEntry> {
    store
        .audit_entries(&AuditFilter {
            entity: Some(entity.into()),
            entity_id: id,
            limit: 100,
        })
        .await
        .unwrap()
}

fn flag(kind: CaseFlagKind, noted_on: NaiveDate) -> NewCaseFlag {
    NewCaseFlag {
        kind,
        noted_on,
        reason: "Not answering the door".into(),
    }
}

on_both_backends!(
    workers_and_supervisors_of_the_host_see_a_meeting_and_no_other_role_does,
    |w| {
        let id = w
            .store
            .plan_meeting(&w.lead, &meeting(w.team, &[], vec![w.lead.clone()]))
            .await
            .unwrap();
        for (who, grant) in [
            (&w.lead, MeetingGrant::HostOrganisation),
            (&w.coworker, MeetingGrant::HostOrganisation),
            (&w.supervisor, MeetingGrant::HostOrganisation),
        ] {
            let m = w.store.meeting_for(who, id).await.unwrap();
            assert_eq!(m.grant, grant);
            assert_eq!(m.members.len(), 1);
            assert!(m.members[0].core);
            let (upcoming, past) = w.store.meetings_for(who, today()).await.unwrap();
            assert_eq!((upcoming.len(), past.len()), (1, 0));
        }
        for who in [
            &w.gp_worker,
            &w.referrer,
            &w.analyst,
            &w.commissioner,
            &w.admin,
        ] {
            assert!(matches!(
                w.store.meeting_for(who, id).await,
                Err(ActionError::Denied)
            ));
            assert!(matches!(
                w.store
                    .invite_to_meeting(
                        who,
                        id,
                        &Invitee {
                            name: "Sam".into(),
                            organisation: "Housing".into(),
                            role: "Officer".into()
                        }
                    )
                    .await,
                Err(ActionError::Denied)
            ));
            assert!(matches!(
                w.store
                    .plan_meeting(who, &meeting(w.team, &[], vec![]))
                    .await,
                Err(ActionError::Denied)
            ));
            assert!(w
                .store
                .meetings_for(who, today())
                .await
                .unwrap()
                .0
                .is_empty());
        }
        let log = audit_of(&w.store, ENTITY, Some(id.get())).await;
        assert_eq!(log.iter().filter(|e| e.action == "read").count(), 3);
        assert_eq!(log.iter().filter(|e| e.action == "denied").count(), 10);
        // The practice worker becomes a core member of a second meeting and sees that one only.
        let second = w
            .store
            .plan_meeting(&w.lead, &meeting(w.team, &[], vec![w.gp_worker.clone()]))
            .await
            .unwrap();
        assert_eq!(
            w.store
                .meeting_for(&w.gp_worker, second)
                .await
                .unwrap()
                .grant,
            MeetingGrant::CoreMember
        );
        let (upcoming, _) = w.store.meetings_for(&w.gp_worker, today()).await.unwrap();
        assert_eq!(
            upcoming.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![second]
        );
        let (upcoming, _) = w.store.meetings_for(&w.lead, today()).await.unwrap();
        assert_eq!(upcoming.len(), 2);
        // An admin cannot be made a core member: core members are workers or supervisors.
        assert!(matches!(
            w.store
                .plan_meeting(&w.lead, &meeting(w.team, &[], vec![w.admin.clone()]))
                .await,
            Err(ActionError::Refused { .. })
        ));
    }
);

on_both_backends!(the_agenda_is_built_from_the_chosen_lists_and_by_hand, |w| {
    w.store
        .set_case_flag(
            &w.store.open_case(&w.coworker, w.case, false).await.unwrap(),
            &flag(CaseFlagKind::WorriedAbout, today()),
        )
        .await
        .unwrap();
    let discharge = w
        .store
        .set_case_flag(
            &w.store.open_case(&w.lead, w.case, false).await.unwrap(),
            &flag(CaseFlagKind::HospitalDischarge, today()),
        )
        .await
        .unwrap();
    let lists = [
        AgendaList::WorriedAbout,
        AgendaList::HospitalDischarge,
        AgendaList::ReviewDue,
        AgendaList::HighRisk,
    ];
    let id = w
        .store
        .plan_meeting(&w.lead, &meeting(w.team, &lists, vec![]))
        .await
        .unwrap();
    let report = w.store.build_agenda(&w.lead, id, today()).await.unwrap();
    assert_eq!(
        (report.added, report.already, report.outside_access),
        (1, 0, 0)
    );
    let m = w.store.meeting_for(&w.lead, id).await.unwrap();
    assert_eq!(m.items.len(), 1);
    // The meeting is in 60 days, after the 42-day review; the discharge was today, within four
    // weeks of building the agenda; the referral was not urgent and flagged no risk.
    assert_eq!(
        m.items[0].reasons,
        vec![
            AgendaReason::List(AgendaList::HospitalDischarge),
            AgendaReason::List(AgendaList::WorriedAbout),
            AgendaReason::List(AgendaList::ReviewDue),
        ]
    );
    w.store
        .add_case_to_meeting(&w.coworker, id, w.case)
        .await
        .unwrap();
    let report = w
        .store
        .build_agenda(&w.supervisor, id, today())
        .await
        .unwrap();
    assert_eq!((report.added, report.already), (0, 1));
    let m = w.store.meeting_for(&w.lead, id).await.unwrap();
    assert_eq!(m.items.len(), 1, "a case is on an agenda once");
    assert!(m.items[0].reasons.contains(&AgendaReason::ByHand));

    // A cleared flag feeds no list, and a discharge long before the meeting is not recent.
    w.store
        .clear_case_flag(
            &w.store.open_case(&w.lead, w.case, false).await.unwrap(),
            discharge,
            today(),
        )
        .await
        .unwrap();
    let later = w
        .store
        .plan_meeting(
            &w.lead,
            &meeting(w.team, &[AgendaList::HospitalDischarge], vec![]),
        )
        .await
        .unwrap();
    assert_eq!(
        w.store
            .build_agenda(&w.lead, later, today())
            .await
            .unwrap()
            .added,
        0
    );
    assert!(matches!(
        w.store
            .clear_case_flag(
                &w.store.open_case(&w.lead, w.case, false).await.unwrap(),
                discharge,
                today()
            )
            .await,
        Err(ActionError::Refused { .. })
    ));
});

on_both_backends!(
    a_meeting_never_shows_a_person_to_someone_the_policy_refuses,
    |w| {
        // A practice meeting planned by a practice worker who is not in the person's care.
        let id = w
            .store
            .plan_meeting(
                &w.gp_worker,
                &meeting(w.practice, &[AgendaList::ReviewDue], vec![w.lead.clone()]),
            )
            .await
            .unwrap();
        let report = w
            .store
            .build_agenda(&w.gp_worker, id, today())
            .await
            .unwrap();
        assert_eq!((report.added, report.outside_access), (0, 1));
        assert!(matches!(
            w.store.add_case_to_meeting(&w.gp_worker, id, w.case).await,
            Err(ActionError::Refused { .. })
        ));
        // The lead, a core member, adds the case; the practice worker then sees only that an item
        // exists and why.
        assert_eq!(
            w.store
                .build_agenda(&w.lead, id, today())
                .await
                .unwrap()
                .added,
            1
        );
        // The case shows the meeting to its co-worker from the PCN, who is neither in the
        // practice nor a core member, without a link they could not follow.
        let open_for = |m: &careweave_store::mdt::CaseMdt| {
            m.meetings
                .iter()
                .find(|k| k.meeting == id)
                .map(|k| k.can_open)
        };
        let for_lead = w.store.case_mdt(&w.lead, w.case).await.unwrap();
        assert_eq!(open_for(&for_lead), Some(true));
        let for_coworker = w.store.case_mdt(&w.coworker, w.case).await.unwrap();
        assert_eq!(open_for(&for_coworker), Some(false));
        let seen = w.store.meeting_for(&w.gp_worker, id).await.unwrap();
        assert_eq!(seen.items.len(), 1);
        assert!(seen.items[0].detail.is_none());
        assert!(matches!(
            w.store
                .agenda_item(&w.gp_worker, id, seen.items[0].id)
                .await,
            Err(ActionError::Denied)
        ));
        let by_lead = w.store.meeting_for(&w.lead, id).await.unwrap();
        let detail = by_lead.items[0].detail.as_ref().unwrap();
        assert_eq!(detail.person_name, "EXAMPLE, Ada");
        assert_eq!(detail.case, w.case);
        let item = by_lead.items[0].id;
        let outcome = Outcome {
            discussion: "Lonely since her husband died".into(),
            decision: "Befriending".into(),
            told: None,
        };
        assert!(matches!(
            w.store
                .record_mdt_outcome(&w.gp_worker, id, item, &outcome)
                .await,
            Err(ActionError::Denied)
        ));
        let log = audit_of(&w.store, ENTITY, Some(id.get())).await;
        assert!(log
            .iter()
            .any(|e| e.action == "list" && e.reason.ends_with("shown: none; withheld: 1")));
        assert!(log.iter().any(|e| e.action == "denied"
            && e.user == Some(w.gp_worker.user)
            && e.reason.contains("may not change")));
        assert!(log.iter().any(|e| e.action == "denied"
            && e.user == Some(w.gp_worker.user)
            && e.reason.contains("open item")));
    }
);

on_both_backends!(
    outcomes_actions_and_telling_are_recorded_and_the_case_lists_its_meetings,
    |w| {
        let id = w
            .store
            .plan_meeting(&w.lead, &meeting(w.team, &[], vec![]))
            .await
            .unwrap();
        w.store
            .add_case_to_meeting(&w.lead, id, w.case)
            .await
            .unwrap();
        let item = w.store.meeting_for(&w.lead, id).await.unwrap().items[0].id;
        let told = Told {
            how: ToldHow::Phone,
            on: today(),
        };
        w.store
            .record_mdt_outcome(
                &w.coworker,
                id,
                item,
                &Outcome {
                    discussion: "Falls at home".into(),
                    decision: "Refer to the falls service".into(),
                    told: Some(told),
                },
            )
            .await
            .unwrap();
        w.store
            .add_mdt_action(
                &w.lead,
                id,
                item,
                &NewMdtAction {
                    text: "Make the falls referral".into(),
                    owner: "District nurse".into(),
                    due_on: today() + Duration::days(7),
                },
            )
            .await
            .unwrap();
        let action = w.store.meeting_for(&w.lead, id).await.unwrap().items[0]
            .detail
            .as_ref()
            .unwrap()
            .actions[0]
            .id;
        w.store
            .complete_mdt_action(&w.supervisor, id, item, action, today())
            .await
            .unwrap();
        assert!(matches!(
            w.store
                .complete_mdt_action(&w.lead, id, item, action, today())
                .await,
            Err(ActionError::Refused { .. })
        ));
        let m = w.store.meeting_for(&w.supervisor, id).await.unwrap();
        let detail = m.items[0].detail.as_ref().unwrap();
        assert_eq!(detail.outcome.decision, "Refer to the falls service");
        assert_eq!(detail.outcome.told, Some(told));
        assert_eq!(detail.actions[0].done_on, Some(today()));

        let on_case = w.store.case_mdt(&w.lead, w.case).await.unwrap();
        assert_eq!(on_case.meetings.len(), 1);
        assert_eq!(on_case.meetings[0].meeting, id);
        assert_eq!(on_case.meetings[0].decision, "Refer to the falls service");
        for who in [
            &w.gp_worker,
            &w.referrer,
            &w.analyst,
            &w.commissioner,
            &w.admin,
        ] {
            // Refused, not answered with an empty history, and the refusal is audited.
            assert!(matches!(
                w.store.case_mdt(who, w.case).await,
                Err(ActionError::Denied)
            ));
            let refusals = audit_of(&w.store, "mdt_case_flag", Some(w.case.get())).await;
            assert!(
                refusals
                    .iter()
                    .any(|e| e.action == "denied" && e.user == Some(who.user)),
                "{refusals:?}"
            );
        }
        let log = audit_of(&w.store, ENTITY, Some(id.get())).await;
        for what in [
            "outcome recorded",
            "action added",
            "action done",
            "added by hand",
        ] {
            assert!(
                log.iter()
                    .any(|e| e.action == "update" && e.reason.contains(what)),
                "{what}"
            );
        }
        assert!(audit_of(&w.store, ENTITY, None)
            .await
            .iter()
            .any(|e| e.action == "list" && e.reason.starts_with(&format!("case {}:", w.case))));
    }
);

on_both_backends!(
    only_people_who_may_change_a_case_set_its_flags_and_refusals_are_audited,
    |w| {
        // A flag is set through a capability, so those the policy refuses never get one: the
        // door refuses them and audits it against the person.
        let person = w.store.case_for(&w.lead, w.case).await.unwrap().person;
        let before = denied_rows(&w.store, person).await;
        for who in [
            &w.gp_worker,
            &w.referrer,
            &w.analyst,
            &w.commissioner,
            &w.admin,
        ] {
            assert!(matches!(
                w.store.open_case(who, w.case, false).await,
                Err(ActionError::Denied)
            ));
        }
        assert_eq!(denied_rows(&w.store, person).await, before + 5);
        for who in [&w.lead, &w.coworker, &w.supervisor] {
            w.store
                .set_case_flag(
                    &w.store.open_case(who, w.case, false).await.unwrap(),
                    &flag(CaseFlagKind::WorriedAbout, today()),
                )
                .await
                .unwrap();
        }
        let flags = w.store.case_mdt(&w.lead, w.case).await.unwrap().flags;
        assert_eq!(flags.len(), 3);
        assert_eq!(flags[0].reason, "Not answering the door");
        let log = audit_of(&w.store, FLAG_ENTITY, None).await;
        assert!(
            log.iter().all(|e| !e.reason.contains("door")),
            "no free text in the audit log"
        );
    }
);

on_both_backends!(
    high_risk_and_population_worklist_lists_find_their_cases,
    |w| {
        let lists = [AgendaList::HighRisk, AgendaList::Worklist];
        let mut planned = meeting(w.practice, &lists, vec![]);
        assert!(
            matches!(
                w.store.plan_meeting(&w.gp_worker, &planned).await,
                Err(ActionError::Refused { .. })
            ),
            "the worklist list needs a cohort"
        );
        planned.cohort = Some("frailty".into());
        // The lead works for the charity, not the practice, so may not plan the practice's meeting.
        assert!(matches!(
            w.store.plan_meeting(&w.lead, &planned).await,
            Err(ActionError::Denied)
        ));
        let id = w.store.plan_meeting(&w.gp_worker, &planned).await.unwrap();
        // The lead is not a member of that meeting; as a core member of a second one they may
        // build it, and at first nothing matches: the referral was not urgent and flagged no
        // risk, and no population run has been loaded.
        assert!(matches!(
            w.store.build_agenda(&w.lead, id, today()).await,
            Err(ActionError::Denied)
        ));
        let core = w
            .store
            .plan_meeting(
                &w.gp_worker,
                &NewMeeting {
                    core_members: vec![w.lead.user],
                    ..planned.clone()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            w.store
                .build_agenda(&w.lead, core, today())
                .await
                .unwrap()
                .added,
            0
        );

        // An open safeguarding concern at high risk puts the case on the high-risk list.
        w.store
            .raise_concern(
                &w.store.open_case(&w.lead, w.case, false).await.unwrap(),
                &NewConcern {
                    category: ConcernCategory::AdultSelfNeglect,
                    risk: RiskLevel::High,
                    noticed_on: today(),
                    description: "Not eating".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            w.store
                .build_agenda(&w.lead, core, today())
                .await
                .unwrap()
                .added,
            1
        );

        // A population run that finds the person on the "frailty" cohort adds that reason.
        w.store
            .load_population(
                None,
                &PopulationLoad {
                    index_date: today(),
                    disclosure_control: true,
                    cohorts: vec![("frailty".into(), "Moderate or severe frailty".into())],
                    criteria: vec![],
                    profiles: vec![],
                    worklist: vec![WorklistRow::found(
                        "frailty",
                        "9434765919".parse().unwrap(),
                        "efi_moderate",
                    )],
                },
            )
            .await
            .unwrap();
        assert_eq!(
            w.store.worklist_cohorts().await.unwrap(),
            vec![(
                "frailty".to_owned(),
                "Moderate or severe frailty".to_owned()
            )]
        );
        let report = w.store.build_agenda(&w.lead, core, today()).await.unwrap();
        assert_eq!((report.added, report.already), (0, 1));
        let m = w.store.meeting_for(&w.lead, core).await.unwrap();
        assert_eq!(
            m.items[0].reasons,
            vec![
                AgendaReason::List(AgendaList::HighRisk),
                AgendaReason::List(AgendaList::Worklist),
            ]
        );
        // Being on the worklist lets the practice's worker read the person (case finding), so
        // the practice worker now sees the item in full.
        let seen = w.store.meeting_for(&w.gp_worker, core).await.unwrap();
        assert!(seen.items[0].detail.is_some());
    }
);
