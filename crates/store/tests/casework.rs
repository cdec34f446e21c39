//! Casework in the store, run identically on SQLite and PostgreSQL: the journey from referral to
//! discharge and reopening, the access rules it adds, the plan's refusal of a stale save, and the
//! consent rule of the message back to the GP.

use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::casework::{
    CaseRole, CaseStatus, ContactType, DischargeDestination, DischargeReason, EligibilityRule,
    GpAgreement, Intensity, NeedDomain, ReferralId, ReferralRoute, ReferralSource, ReferralStatus,
    ReviewInterval, ServiceKind, Urgency,
};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, ServiceId, Sex};
use careweave_store::audit::AuditFilter;
use careweave_store::casework::{
    CaseworkSettings, Discharge, NewContact, NewReferral, PlanItem, PlanText, ReferredPerson,
    Referrer, TriageDecision, WaitingFilter,
};
use careweave_store::change::ActionError;
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::records::RecordError;
use careweave_store::testing::{denied_rows, TestDatabase};
use careweave_store::{accounts::NewUser, Backend, Store};
use chrono::NaiveDate;
use secrecy::SecretString;

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

struct World {
    store: Store,
    practice: OrganisationId,
    focused: ServiceId,
    social: ServiceId,
    person: PersonId,
    /// Focused Care worker employed by the PCN.
    caseworker: Principal,
    /// Link worker employed by the charity.
    linkworker: Principal,
    referrer: Principal,
    other_referrer: Principal,
}

async fn user(store: &Store, name: &str, role: Role, org: OrganisationId) -> Principal {
    let id = store
        .create_user(NewUser {
            username: name.to_owned(),
            display_name: name.to_owned(),
            password: SecretString::from("correct horse battery staple".to_owned()),
            memberships: vec![Membership {
                organisation: org,
                role,
            }],
        })
        .await
        .unwrap();
    store.principal(id).await.unwrap()
}

async fn world(store: &Store) -> World {
    let org = |name: &str, kind| NewOrganisation {
        name: name.into(),
        kind,
        ods_code: None,
        place: None,
    };
    let practice = store
        .insert_organisation(&org("Riverside Surgery", OrganisationKind::GpPractice))
        .await
        .unwrap();
    let pcn = store
        .insert_organisation(&org("Riverside PCN", OrganisationKind::Pcn))
        .await
        .unwrap();
    let charity = store
        .insert_organisation(&org("Riverside Community Trust", OrganisationKind::Vcse))
        .await
        .unwrap();
    let focused = store
        .insert_service("Focused Care", pcn, None, "Casework for households")
        .await
        .unwrap();
    store
        .add_casework_settings(
            focused,
            &CaseworkSettings {
                kind: ServiceKind::FocusedCare,
                rule: EligibilityRule::NeedsInDomains(2),
                review_interval: ReviewInterval::days(92).unwrap(),
                worker_cap: Some(20),
                practice_cap: Some(1),
                partners: vec![],
            },
        )
        .await
        .unwrap();
    let social = store
        .insert_service("Social prescribing", charity, None, "Link workers")
        .await
        .unwrap();
    store
        .add_casework_settings(
            social,
            &CaseworkSettings {
                kind: ServiceKind::SocialPrescribing,
                rule: EligibilityRule::Open,
                review_interval: ReviewInterval::days(42).unwrap(),
                worker_cap: None,
                practice_cap: None,
                partners: vec![pcn],
            },
        )
        .await
        .unwrap();
    let person = store
        .register_person(
            None,
            &NewPerson {
                nhs_number: "9434765919".parse().unwrap(),
                given_name: "Ada".into(),
                family_name: "Example".into(),
                date_of_birth: NaiveDate::from_ymd_opt(1950, 5, 17).unwrap(),
                sex: Sex::Female,
                postcode: None,
                lsoa: None,
                imd_decile: None,
                registered_practice: practice,
                household: None,
                date_of_death: None,
            },
            "test",
        )
        .await
        .unwrap();
    World {
        caseworker: user(store, "caseworker", Role::Worker, pcn).await,
        linkworker: user(store, "linkworker", Role::Worker, charity).await,
        referrer: user(store, "referrer", Role::Referrer, practice).await,
        other_referrer: user(store, "other", Role::Referrer, practice).await,
        store: store.clone(),
        practice,
        focused,
        social,
        person,
    }
}

fn referral(w: &World, service: ServiceId, domains: &[NeedDomain], share: bool) -> NewReferral {
    NewReferral {
        service,
        known_person: None,
        person: ReferredPerson {
            given_name: "Ada".into(),
            family_name: "Example".into(),
            date_of_birth: NaiveDate::from_ymd_opt(1950, 5, 17).unwrap(),
            nhs_number: Some("9434765919".parse::<NhsNumber>().unwrap()),
            practice: Some(w.practice),
            contact: "07700 900000".into(),
        },
        source: ReferralSource::Gp,
        route: ReferralRoute::App,
        reason: "Isolated since her husband died".into(),
        needs: "Money worries and housing repairs".into(),
        concerns: "Falls".into(),
        need_domains: domains.to_vec(),
        risk_flags: vec![],
        cohort: None,
        urgency: Urgency::Soon,
        consent_share_detail: share,
        referrer: Referrer {
            user: Some(w.referrer.user),
            name: "Dr Rae Referrer".into(),
            contact: "Riverside Surgery".into(),
        },
        received_on: today(),
    }
}

fn accept(lead: Option<&Principal>, override_reason: Option<&str>) -> TriageDecision {
    TriageDecision::Accept {
        lead: lead.map(|p| p.user),
        reason: "Needs fit the service".into(),
        override_reason: override_reason.map(str::to_owned),
        intensity: Intensity::High,
        confirm_over_capacity: false,
    }
}

/// An eligible Focused Care referral for Ada, accepted with the PCN's caseworker as lead.
async fn open_focused_case(w: &World) -> careweave_domain::casework::CaseId {
    let created = w
        .store
        .create_referral(&referral(
            w,
            w.focused,
            &[NeedDomain::Housing, NeedDomain::Finances],
            true,
        ))
        .await
        .unwrap();
    w.store
        .triage(
            &w.caseworker,
            created.id,
            &accept(Some(&w.caseworker), None),
            today(),
        )
        .await
        .unwrap()
        .expect("an accepted referral opens a case")
}

/// Registers someone at Ada's practice who has nothing to do with anyone in the world.
async fn stranger(w: &World) -> PersonId {
    w.store
        .register_person(
            None,
            &NewPerson {
                nhs_number: "9434765870".parse().unwrap(),
                given_name: "Sam".into(),
                family_name: "Stranger".into(),
                date_of_birth: NaiveDate::from_ymd_opt(1961, 2, 3).unwrap(),
                sex: Sex::Male,
                postcode: None,
                lsoa: None,
                imd_decile: None,
                registered_practice: w.practice,
                household: None,
                date_of_death: None,
            },
            "test",
        )
        .await
        .unwrap()
}

/// The person a referral was linked to, as its triagers see it.
async fn linked(w: &World, triager: &Principal, id: ReferralId) -> Option<PersonId> {
    w.store.referral_for(triager, id).await.unwrap().person
}

on_both_backends!(
    a_referral_opens_the_referral_to_its_team_and_referrer_and_the_record_only_once_the_case_is_theirs,
    |w| {
        let created = w
            .store
            .create_referral(&referral(&w, w.focused, &[NeedDomain::Housing], true))
            .await
            .unwrap();
        assert_eq!(
            linked(&w, &w.caseworker, created.id).await,
            Some(w.person),
            "NHS number, date of birth and names all match: linked at once"
        );
        // The PCN's caseworker sees it on the one waiting list and reads what was sent...
        let list = w
            .store
            .waiting_list(&w.caseworker, &WaitingFilter::default(), today())
            .await
            .unwrap();
        assert_eq!(list.referrals.len(), 1);
        // ...but neither the receiving team, nor another, nor the referrer opens the record.
        for who in [&w.caseworker, &w.linkworker, &w.referrer, &w.other_referrer] {
            assert!(matches!(
                w.store.read_person(who, w.person).await,
                Err(RecordError::Denied)
            ));
        }
        // The referrer follows the referral (not told whom it was matched to) but cannot triage
        // it; another referrer cannot see it at all.
        let seen = w.store.referral_for(&w.referrer, created.id).await.unwrap();
        assert!(!seen.can_triage);
        assert_eq!(seen.person, None, "the referrer is not told who matched");
        assert!(matches!(
            w.store.referral_for(&w.other_referrer, created.id).await,
            Err(ActionError::Denied)
        ));
        assert!(matches!(
            w.store
                .triage(&w.referrer, created.id, &accept(None, None), today())
                .await,
            Err(ActionError::Refused { .. })
        ));
        // Accepted with the caseworker as lead: the case is theirs, and so is the record.
        let case = w
            .store
            .triage(
                &w.caseworker,
                created.id,
                &accept(Some(&w.caseworker), Some("Housing need is severe")),
                today(),
            )
            .await
            .unwrap()
            .unwrap();
        assert!(w.store.read_person(&w.caseworker, w.person).await.is_ok());
        // The referrer sees the outcome on the referral, still not the record or the case.
        let seen = w.store.referral_for(&w.referrer, created.id).await.unwrap();
        assert_eq!(seen.status, ReferralStatus::Accepted);
        assert_eq!(seen.case, Some(case));
        assert!(!seen.can_open_case);
        assert!(w.store.read_person(&w.referrer, w.person).await.is_err());
        assert!(matches!(
            w.store.case_for(&w.referrer, case).await,
            Err(ActionError::Denied)
        ));
        // Every look at the referral was audited, the refusals too.
        let audit = w
            .store
            .audit_entries(&AuditFilter {
                entity: Some("casework_referral".into()),
                entity_id: Some(created.id.get()),
                limit: 50,
            })
            .await
            .unwrap();
        assert!(audit
            .iter()
            .any(|e| e.action == "read" && e.reason.starts_with("referrer")));
        assert!(audit.iter().any(|e| e.action == "denied"));
    }
);

on_both_backends!(
    a_referral_naming_someone_by_id_needs_the_referrer_to_be_able_to_read_them,
    |w| {
        let sam = stranger(&w).await;
        // The attack of issue 12: a referrer names a stranger by id. They cannot get the proof a
        // referral needs, in the same words as for an id nobody has, and both are audited.
        for id in [sam, PersonId::new(987_654)] {
            assert!(matches!(
                w.store.open_person(&w.referrer, id).await,
                Err(RecordError::Denied)
            ));
        }
        let denied = w
            .store
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(sam.get()),
                limit: 10,
            })
            .await
            .unwrap();
        assert!(denied.iter().any(|e| e.action == "denied"));
        // A worker who may read Ada (her case's lead) names her by proof.
        let case = open_focused_case(&w).await;
        assert!(case.get() > 0);
        let access = w.store.open_person(&w.caseworker, w.person).await.unwrap();
        assert_eq!(access.person(), w.person);
        // A proof is its holder's only: it cannot name the person in someone else's referral.
        let mut r = referral(&w, w.social, &[], true);
        r.person.nhs_number = None;
        r.known_person = Some(access);
        assert!(matches!(
            w.store.create_referral(&r).await,
            Err(ActionError::Denied)
        ));
        let mut r = referral(&w, w.social, &[], true);
        r.person.nhs_number = None;
        r.referrer.user = Some(w.caseworker.user);
        r.known_person = Some(w.store.open_person(&w.caseworker, w.person).await.unwrap());
        let created = w.store.create_referral(&r).await.unwrap();
        assert_eq!(linked(&w, &w.linkworker, created.id).await, Some(w.person));
        // The stranger's record stays shut to the referrer and to the receiving teams.
        for who in [&w.referrer, &w.caseworker, &w.linkworker] {
            assert!(w.store.read_person(who, sam).await.is_err());
        }
    }
);

on_both_backends!(
    an_nhs_number_links_only_with_the_same_date_of_birth_and_names,
    |w| {
        let wrong_given = |r: &mut NewReferral| r.person.given_name = "Eve".into();
        let wrong_family = |r: &mut NewReferral| r.person.family_name = "Other".into();
        let wrong_birth = |r: &mut NewReferral| {
            r.person.date_of_birth = NaiveDate::from_ymd_opt(1950, 5, 18).unwrap();
        };
        let changes: [&dyn Fn(&mut NewReferral); 3] = [&wrong_given, &wrong_family, &wrong_birth];
        for change in changes {
            let mut r = referral(&w, w.social, &[], true);
            change(&mut r);
            let created = w.store.create_referral(&r).await.unwrap();
            let view = w
                .store
                .referral_for(&w.linkworker, created.id)
                .await
                .unwrap();
            assert_eq!(view.person, None, "left for triage to match");
            assert!(
                view.candidates.iter().any(|c| c.person == w.person),
                "triage's duplicate check still offers the NHS number's owner"
            );
        }
        // Case and surrounding spaces do not matter.
        let mut r = referral(&w, w.social, &[], true);
        r.person.given_name = "  ADA ".into();
        r.person.family_name = "example".into();
        let created = w.store.create_referral(&r).await.unwrap();
        assert_eq!(linked(&w, &w.linkworker, created.id).await, Some(w.person));
    }
);

on_both_backends!(
    a_referral_waiting_elsewhere_opens_neither_the_record_nor_another_services_case,
    |w| {
        // Ada has an open Focused Care case at the PCN, and a referral to the charity's social
        // prescribing waits for triage.
        let case = open_focused_case(&w).await;
        w.store
            .create_referral(&referral(&w, w.social, &[NeedDomain::Housing], true))
            .await
            .unwrap();
        // The charity triages from the referral itself: neither Ada's record nor the PCN's case
        // opens to it because of the referral.
        assert!(w.store.read_person(&w.linkworker, w.person).await.is_err());
        assert!(matches!(
            w.store.case_for(&w.linkworker, case).await,
            Err(ActionError::Denied)
        ));
        let contact = NewContact {
            contact_type: ContactType::Phone,
            on: today(),
            minutes: 5,
            present: String::new(),
            note: "Should not be here".into(),
            sensitive: None,
        };
        assert!(matches!(
            w.store.open_case(&w.linkworker, case, true).await,
            Err(ActionError::Denied)
        ));
        assert!(
            w.store
                .case_for(&w.caseworker, case)
                .await
                .unwrap()
                .can_edit
        );
        w.store
            .record_contact(
                &w.store.open_case(&w.caseworker, case, true).await.unwrap(),
                &contact,
            )
            .await
            .unwrap();
    }
);

on_both_backends!(
    triage_needs_an_override_reason_against_eligibility_advice,
    |w| {
        let created = w
            .store
            .create_referral(&referral(&w, w.focused, &[NeedDomain::Housing], true))
            .await
            .unwrap();
        let refused = w
            .store
            .triage(
                &w.caseworker,
                created.id,
                &accept(Some(&w.caseworker), None),
                today(),
            )
            .await;
        match refused {
            Err(ActionError::Refused { reason: m, .. }) => {
                assert!(m.contains("Needs in 1 of 8 domains"), "{m}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let case = w
            .store
            .triage(
                &w.caseworker,
                created.id,
                &accept(Some(&w.caseworker), Some("Mental health need is severe")),
                today(),
            )
            .await
            .unwrap()
            .unwrap();
        let view = w.store.case_for(&w.caseworker, case).await.unwrap();
        assert_eq!(view.status, CaseStatus::Open);
        assert_eq!(view.workers[0].role, CaseRole::Lead);
        assert!(view
            .timeline
            .iter()
            .any(|e| e.summary.contains("overridden")));
        // The lead is now in the care team, and the referral no longer waits.
        let facts = w.store.care_facts(w.person).await.unwrap();
        assert!(facts.care_team.contains(&w.caseworker.user));
        assert!(facts.case_awaits_worker_with.is_empty());
    }
);

on_both_backends!(
    a_redirect_keeps_the_place_in_the_queue_and_a_practice_cap_warns,
    |w| {
        let created = w
            .store
            .create_referral(&referral(&w, w.focused, &[], true))
            .await
            .unwrap();
        w.store
            .triage(
                &w.caseworker,
                created.id,
                &TriageDecision::Redirect {
                    to: w.social,
                    reason: "Needs are social, not complex".into(),
                },
                today(),
            )
            .await
            .unwrap();
        // The charity's link worker now sees it, and so does the PCN (a partner of that service).
        let list = w
            .store
            .waiting_list(&w.linkworker, &WaitingFilter::default(), today())
            .await
            .unwrap();
        assert_eq!(list.referrals.len(), 1);
        assert_eq!(list.referrals[0].received_on, today());
        // Focused Care's practice cap is 1: a second case at the same practice asks for confirmation.
        open_focused_case(&w).await;
        let second = w
            .store
            .create_referral(&referral(
                &w,
                w.focused,
                &[NeedDomain::Housing, NeedDomain::Finances],
                true,
            ))
            .await
            .unwrap();
        let warned = w
            .store
            .triage(
                &w.caseworker,
                second.id,
                &accept(Some(&w.caseworker), None),
                today(),
            )
            .await;
        assert!(
            matches!(warned, Err(ActionError::OverCapacity(m)) if m.contains("practice already has 1"))
        );
    }
);

on_both_backends!(
    a_self_referral_is_matched_by_name_and_birth_date_and_merged,
    |w| {
        let mut r = referral(&w, w.social, &[], true);
        r.person.nhs_number = None;
        r.person.given_name = "ada".into();
        r.source = ReferralSource::SelfReferral;
        r.route = ReferralRoute::PublicForm;
        r.referrer = Referrer {
            user: None,
            name: "Ada Example".into(),
            contact: "07700 900000".into(),
        };
        let created = w.store.create_referral(&r).await.unwrap();
        assert_eq!(linked(&w, &w.linkworker, created.id).await, None);
        let view = w
            .store
            .referral_for(&w.linkworker, created.id)
            .await
            .unwrap();
        assert_eq!(view.candidates.len(), 1);
        assert_eq!(view.candidates[0].matched_on, "same name and date of birth");
        assert!(matches!(
            w.store
                .triage(&w.linkworker, created.id, &accept(None, None), today())
                .await,
            Err(ActionError::Refused { .. })
        ));
        w.store
            .link_referral(&w.linkworker, created.id, w.person)
            .await
            .unwrap();
        // The team triages from the referral: the record is not theirs yet.
        assert!(w.store.read_person(&w.linkworker, w.person).await.is_err());
        // Accepted with no free worker: the case is the team's and waits for one, so the record
        // opens to the service's organisations to allocate it.
        let case = w
            .store
            .triage(&w.linkworker, created.id, &accept(None, None), today())
            .await
            .unwrap()
            .unwrap();
        let list = w
            .store
            .waiting_list(&w.linkworker, &WaitingFilter::default(), today())
            .await
            .unwrap();
        assert_eq!(list.awaiting_worker.len(), 1);
        // The allocation form's counts of open cases led come from the lead kept on each case.
        let service = w.store.case_for(&w.linkworker, case).await.unwrap().service;
        let leads = || async {
            w.store
                .worker_loads(&service)
                .await
                .unwrap()
                .iter()
                .find(|l| l.user == w.linkworker.user)
                .map(|l| l.open_cases)
        };
        assert_eq!(leads().await, Some(0));
        w.store
            .allocate(
                &w.store.open_case(&w.linkworker, case, true).await.unwrap(),
                w.linkworker.user,
                CaseRole::Lead,
                false,
                today(),
            )
            .await
            .unwrap();
        assert_eq!(w.store.my_cases(&w.linkworker).await.unwrap().len(), 1);
        assert_eq!(leads().await, Some(1));
        // With a worker the case leaves the list of cases awaiting one, and the record is no
        // longer open to the whole team because of it.
        let list = w
            .store
            .waiting_list(&w.linkworker, &WaitingFilter::default(), today())
            .await
            .unwrap();
        assert!(list.awaiting_worker.is_empty());
        assert!(w
            .store
            .care_facts(w.person)
            .await
            .unwrap()
            .case_awaits_worker_with
            .is_empty());
        w.store
            .discharge(
                &w.store.open_case(&w.linkworker, case, true).await.unwrap(),
                &Discharge {
                    on: today(),
                    reason: DischargeReason::GoalsMet,
                    destination: DischargeDestination::None,
                    gp: GpAgreement::Agreed,
                    summary: String::new(),
                    override_reason: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(leads().await, Some(0), "a discharged case is not led");
    }
);

on_both_backends!(
    a_stale_plan_save_is_refused_never_silently_overwritten,
    |w| {
        let created = w
            .store
            .create_referral(&referral(&w, w.social, &[], true))
            .await
            .unwrap();
        let case = w
            .store
            .triage(
                &w.linkworker,
                created.id,
                &accept(Some(&w.linkworker), None),
                today(),
            )
            .await
            .unwrap()
            .unwrap();
        let v0 = w
            .store
            .case_for(&w.linkworker, case)
            .await
            .unwrap()
            .plan
            .version;
        let text = |s: &str| PlanText {
            what_matters: s.into(),
            priorities: vec!["Get out of the house".into(), "Sort the boiler".into()],
            escalation: "Call the duty GP".into(),
        };
        let v1 = w
            .store
            .save_plan(
                &w.store.open_case(&w.linkworker, case, true).await.unwrap(),
                v0,
                &text("Seeing my grandchildren"),
                today(),
            )
            .await
            .unwrap();
        assert_eq!(v1, v0 + 1);
        let second = w
            .store
            .save_plan(
                &w.store.open_case(&w.linkworker, case, true).await.unwrap(),
                v0,
                &text("Something else"),
                today(),
            )
            .await;
        assert!(matches!(second, Err(ActionError::Conflict)));
        let stale_goal = w
            .store
            .change_plan(
                &w.store.open_case(&w.linkworker, case, true).await.unwrap(),
                v0,
                &PlanItem::Goal {
                    text: "Walk to the shop".into(),
                    target_on: None,
                },
                today(),
            )
            .await;
        assert!(matches!(stale_goal, Err(ActionError::Conflict)));
        let plan = w.store.case_for(&w.linkworker, case).await.unwrap().plan;
        assert_eq!(plan.what_matters, "Seeing my grandchildren");
        assert_eq!(plan.priorities[1], "Sort the boiler");
        assert!(plan.goals.is_empty());
    }
);

on_both_backends!(
    discharge_ends_the_care_team_and_the_gp_message_respects_consent,
    |w| {
        for share in [true, false] {
            let created = w
                .store
                .create_referral(&referral(&w, w.social, &[], share))
                .await
                .unwrap();
            let case = w
                .store
                .triage(
                    &w.linkworker,
                    created.id,
                    &accept(Some(&w.linkworker), None),
                    today(),
                )
                .await
                .unwrap()
                .unwrap();
            w.store
                .record_contact(
                    &w.store.open_case(&w.linkworker, case, true).await.unwrap(),
                    &NewContact {
                        contact_type: ContactType::HomeVisit,
                        on: today(),
                        minutes: 45,
                        present: "Ada and her daughter".into(),
                        note: "Talked about the lunch club".into(),
                        sensitive: None,
                    },
                )
                .await
                .unwrap();
            w.store
                .discharge(
                    &w.store.open_case(&w.linkworker, case, true).await.unwrap(),
                    &Discharge {
                        on: today(),
                        reason: DischargeReason::Declined,
                        destination: DischargeDestination::None,
                        gp: GpAgreement::Agreed,
                        summary: "Chose to stop after one visit".into(),
                        override_reason: None,
                    },
                )
                .await
                .unwrap();
            // The person leaves the worker's caseload, but the worker may still read the
            // discharged case for a while (to send the message to the GP, or to reopen it).
            assert!(w.store.my_people(&w.linkworker).await.unwrap().is_empty());
            assert!(w.store.my_cases(&w.linkworker).await.unwrap().is_empty());
            assert!(w.store.case_for(&w.linkworker, case).await.is_ok());
            // The referrer follows the outcome on their referral, never through the case; the
            // link worker may still send the message to the GP for a while.
            assert!(matches!(
                w.store.gp_message(&w.referrer, case).await,
                Err(ActionError::Denied)
            ));
            let seen = w.store.referral_for(&w.referrer, created.id).await.unwrap();
            assert_eq!(seen.case_status, Some(CaseStatus::Discharged));
            let message = w.store.gp_message(&w.linkworker, case).await.unwrap();
            let codes: Vec<&str> = message.codes.iter().map(|(c, _)| *c).collect();
            assert_eq!(codes, ["871731000000106", "871711000000103"]);
            assert_eq!(message.total_contacts, 1);
            assert_eq!(message.share_detail, share);
            assert_eq!(message.reason.is_some(), share);
            assert_eq!(
                message.discharge.unwrap().summary.is_empty(),
                !share,
                "detail only with consent"
            );
            // The referrer follows the case but may not change it: opening it for change is
            // refused. A capability opened only for reading cannot be spent on a change either,
            // even by the lead worker. Both refusals are audited.
            let before = denied_rows(&w.store, w.person).await;
            assert!(matches!(
                w.store.open_case(&w.referrer, case, true).await,
                Err(ActionError::Denied)
            ));
            let read = w.store.open_case(&w.linkworker, case, false).await.unwrap();
            assert!(!read.may_change());
            assert!(matches!(
                w.store
                    .record_contact(
                        &read,
                        &NewContact {
                            contact_type: ContactType::Phone,
                            on: today(),
                            minutes: 5,
                            present: String::new(),
                            note: String::new(),
                            sensitive: None,
                        },
                    )
                    .await,
                Err(ActionError::Denied)
            ));
            assert_eq!(denied_rows(&w.store, w.person).await, before + 2);
            // Reopening keeps the history and counts the re-entry.
            w.store
                .reopen(&w.linkworker, case, "Crisis after a fall", today())
                .await
                .unwrap();
            let view = w.store.case_for(&w.linkworker, case).await.unwrap();
            assert_eq!(view.status, CaseStatus::Reopened);
            assert_eq!(view.reopen_count, 1);
            assert_eq!(view.contacts.len(), 1);
            assert!(view.timeline.iter().any(|e| e.kind == "discharge"));
            w.store
                .discharge(
                    &w.store.open_case(&w.linkworker, case, true).await.unwrap(),
                    &Discharge {
                        on: today(),
                        reason: DischargeReason::GoalsMet,
                        destination: DischargeDestination::CommunityGroup,
                        gp: GpAgreement::Agreed,
                        summary: String::new(),
                        override_reason: None,
                    },
                )
                .await
                .unwrap();
        }
        let report = w
            .store
            .casework_report(&w.store.casework_services().await.unwrap(), today())
            .await
            .unwrap();
        assert_eq!(report.reopened, 2);
        assert_eq!(report.durations[0], 2);
        // Every open of the case was audited against the person.
        let audit = w
            .store
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(w.person.get()),
                limit: 500,
            })
            .await
            .unwrap();
        assert!(audit.iter().any(|e| e.reason.contains("message to GP")));
        assert!(audit.iter().any(|e| e.action == "denied"));
    }
);
