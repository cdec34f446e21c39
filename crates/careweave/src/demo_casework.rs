//! The demo's live caseload: two casework services from two employers (Focused Care run by the PCN,
//! social prescribing run by the charity with the PCN as a partner on its list) and cases in every
//! state — waiting, accepted awaiting a worker, open, on hold, discharged and reopened — with
//! plausible histories (contacts, assessments, plans, reviews), so that a new user sees a working
//! team the moment they sign in. Everything goes through the same store functions the pages use,
//! so the demo's history is audited like real work.

use anyhow::Context;
use careweave_domain::access::Principal;
use careweave_domain::casework::{
    CaseId, CaseRole, ContactType, DischargeDestination, DischargeReason, DomainScore,
    EligibilityRule, GpAgreement, Intensity, NeedDomain, OutcomePoint, ReferralRoute,
    ReferralSource, ReviewInterval, RiskFlag, ServiceKind, Urgency,
};
use careweave_domain::clock::Clock;
use careweave_domain::lone_working::{PolicyRule, PolicyRuleKind};
use careweave_domain::{OrganisationId, ServiceId};
use careweave_store::casework::{
    CaseworkSettings, Discharge, NewAssessment, NewContact, NewReferral, PlanItem, PlanText,
    ReferredPerson, Referrer, TriageDecision,
};
use careweave_store::lone_working::{NewVisit, VisitStep};
use careweave_store::outcomes::NewOutcome;
use careweave_store::Store;
use careweave_synth::Registry;
use chrono::{Duration, NaiveDate, NaiveTime};

/// One referral waiting for triage: the service, who referred, how urgent, the risk flags, how
/// many days ago it arrived and the need domains the referrer named.
type WaitingSeed = (
    ServiceId,
    ReferralSource,
    Urgency,
    &'static [RiskFlag],
    i64,
    &'static [NeedDomain],
);

/// The demo workers and services casework needs.
struct Team {
    caseworker: Principal,
    linkworker: Principal,
    supervisor: Principal,
    referrer: Principal,
    focused: ServiceId,
    social: ServiceId,
}

async fn principal(store: &Store, username: &str) -> anyhow::Result<Principal> {
    let user = store
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.username == username)
        .with_context(|| format!("the demo has no account {username}"))?;
    Ok(store.principal(user.id).await?)
}

/// Loads the casework demo. `people` are living adults not already in a demo caseload, most
/// complex first; `practices` are the store ids of the registry's practices, in registry order.
pub async fn load(
    store: &Store,
    registry: &Registry,
    people: &[usize],
    practices: &[OrganisationId],
    pcn: OrganisationId,
    charity: OrganisationId,
    clock: &Clock,
) -> anyhow::Result<()> {
    let focused = store
        .insert_service(
            "Focused Care",
            pcn,
            None,
            "Senior caseworkers placed in GP practices supporting households with complex social \
             and health needs, for as long as it takes.",
        )
        .await?;
    store
        .add_casework_settings(
            focused,
            &CaseworkSettings {
                kind: ServiceKind::FocusedCare,
                rule: EligibilityRule::NeedsInDomains(2),
                review_interval: ReviewInterval::days(92)?,
                worker_cap: Some(20),
                practice_cap: Some(20),
                partners: vec![],
            },
        )
        .await?;
    let social = store
        .insert_service(
            "Social prescribing",
            charity,
            None,
            "Link workers connecting people to community groups and support, typically 6 to 12 \
             contacts over about three months.",
        )
        .await?;
    store
        .add_casework_settings(
            social,
            &CaseworkSettings {
                kind: ServiceKind::SocialPrescribing,
                rule: EligibilityRule::Open,
                review_interval: ReviewInterval::days(42)?,
                worker_cap: Some(40),
                practice_cap: None,
                partners: vec![pcn],
            },
        )
        .await?;
    let team = Team {
        caseworker: principal(store, "caseworker@demo.careweave").await?,
        linkworker: principal(store, "linkworker@demo.careweave").await?,
        supervisor: principal(store, "supervisor@demo.careweave").await?,
        referrer: principal(store, "referrer@demo.careweave").await?,
        focused,
        social,
    };
    let catalogue = careweave_instruments::load(&[careweave_instruments::Source::Shipped]);
    store
        .set_outcome_schedule(
            &team.supervisor,
            social,
            catalogue.get("ons4").context("ONS4 ships with careweave")?,
            Some(91),
            true,
        )
        .await?;
    let today = clock.today();
    let mut next = people.iter().copied();
    let mut take = || {
        next.next()
            .context("the demo ran out of people for casework")
    };

    // Waiting for triage: a spread of sources, urgencies and risks across both services.
    let waiting: [WaitingSeed; 7] = [
        (
            team.focused,
            ReferralSource::Gp,
            Urgency::Urgent,
            &[RiskFlag::Safeguarding],
            2,
            &[
                NeedDomain::Housing,
                NeedDomain::Parenting,
                NeedDomain::Finances,
            ],
        ),
        (
            team.focused,
            ReferralSource::Housing,
            Urgency::Soon,
            &[RiskFlag::LivesAlone],
            12,
            &[NeedDomain::Housing],
        ),
        (
            team.focused,
            ReferralSource::CaseFinding,
            Urgency::Routine,
            &[RiskFlag::MissedAppointments],
            20,
            &[NeedDomain::ManagingHealth, NeedDomain::AccessingServices],
        ),
        (
            team.social,
            ReferralSource::PracticeNurse,
            Urgency::Routine,
            &[],
            5,
            &[],
        ),
        (
            team.social,
            ReferralSource::Reception,
            Urgency::Soon,
            &[RiskFlag::LivesAlone],
            9,
            &[],
        ),
        (
            team.social,
            ReferralSource::Family,
            Urgency::Routine,
            &[RiskFlag::CarerStrain],
            30,
            &[],
        ),
        (
            team.social,
            ReferralSource::Gp,
            Urgency::Routine,
            &[],
            44,
            &[],
        ),
    ];
    for (service, source, urgency, risks, days_ago, domains) in waiting {
        let i = take()?;
        let mut r = referral(
            registry,
            practices,
            i,
            service,
            today - Duration::days(days_ago),
            &team,
        );
        r.source = source;
        r.urgency = urgency;
        r.risk_flags = risks.to_vec();
        r.need_domains = domains.to_vec();
        if source == ReferralSource::CaseFinding {
            r.route = ReferralRoute::Worklist;
            r.cohort = Some("Focused Care: needs in two or more domains".to_owned());
        }
        store.create_referral(&r).await?;
    }
    // A self-referral from the public form, without an NHS number: triage must match it.
    {
        let i = take()?;
        let mut r = referral(
            registry,
            practices,
            i,
            team.social,
            today - Duration::days(3),
            &team,
        );
        r.person.nhs_number = None;
        r.source = ReferralSource::SelfReferral;
        r.route = ReferralRoute::PublicForm;
        r.reason = "I have been on my own since I retired and would like to meet people".to_owned();
        r.referrer = Referrer {
            user: None,
            name: format!("{} {}", r.person.given_name, r.person.family_name),
            contact: r.person.contact.clone(),
        };
        store.create_referral(&r).await?;
    }

    // Open cases for each worker, with histories of different lengths.
    // The first social prescribing case, for the lone working example below.
    let mut first_social = None;
    for n in 0..8 {
        let (service, worker) = if n % 2 == 0 {
            (team.focused, &team.caseworker)
        } else {
            (team.social, &team.linkworker)
        };
        let opened = today - Duration::days(20 + 25 * n);
        let case = open_case(
            store,
            registry,
            practices,
            take()?,
            service,
            worker,
            opened,
            &team,
        )
        .await?;
        history(store, worker, case, opened, today, n, clock).await?;
        if service == team.social && first_social.is_none() {
            first_social = Some(case);
        }
        if n == 6 {
            store
                .set_on_hold(
                    &store.open_case(worker, case, true).await?,
                    true,
                    "In hospital after a fall; resume on discharge home",
                    today - Duration::days(4),
                )
                .await?;
        }
        if n == 3 {
            // A co-worker from the other employer on the same case (SAPA 5's joint working). It is
            // a social prescribing case because the PCN is a partner on that service's list: only
            // the teams that run a service can work its cases, so a charity worker cannot join a
            // Focused Care case.
            store
                .allocate(
                    &store.open_case(&team.linkworker, case, true).await?,
                    team.caseworker.user,
                    CaseRole::CoWorker,
                    true,
                    opened + Duration::days(10),
                )
                .await?;
        }
    }
    // Accepted but no worker free yet: it waits on the list for allocation.
    {
        let i = take()?;
        let r = referral(
            registry,
            practices,
            i,
            team.social,
            today - Duration::days(15),
            &team,
        );
        let created = store.create_referral(&r).await?;
        store
            .triage(
                &team.supervisor,
                created.id,
                &TriageDecision::Accept {
                    lead: None,
                    reason: "Good fit for the walking group; allocate when Lee has space"
                        .to_owned(),
                    override_reason: None,
                    intensity: Intensity::Low,
                    confirm_over_capacity: true,
                },
                today - Duration::days(8),
            )
            .await?;
    }
    // Discharged: goals met (to community groups), declined (no consent to share detail), and a
    // Focused Care case stepped down to social prescribing.
    let discharges = [
        (
            team.social,
            &team.linkworker,
            DischargeReason::GoalsMet,
            DischargeDestination::CommunityGroup,
            120,
            true,
        ),
        (
            team.social,
            &team.linkworker,
            DischargeReason::Declined,
            DischargeDestination::None,
            40,
            false,
        ),
        (
            team.focused,
            &team.caseworker,
            DischargeReason::SteppedDown,
            DischargeDestination::SocialPrescribing,
            260,
            true,
        ),
    ];
    for (k, (service, worker, reason, destination, length, share)) in
        discharges.into_iter().enumerate()
    {
        let i = take()?;
        let opened = today - Duration::days(length + 10);
        let mut r = referral(registry, practices, i, service, opened, &team);
        r.consent_share_detail = share;
        let case = accept(store, &r, worker, opened, &team).await?;
        history(
            store,
            worker,
            case,
            opened,
            today - Duration::days(10),
            k as i64 + 3,
            clock,
        )
        .await?;
        if reason == DischargeReason::GoalsMet {
            goals_met(store, worker, case, today - Duration::days(11)).await?;
        }
        store
            .discharge(
                &store.open_case(worker, case, true).await?,
                &Discharge {
                    on: today - Duration::days(10),
                    reason,
                    destination,
                    gp: GpAgreement::Agreed,
                    summary: "Feels more confident, attends the lunch club weekly and has a plan for the winter.".to_owned(),
                    // The social prescribing schedule asks for ONS4 at discharge, which these
                    // people were not asked again: the demo shows the override on their cases.
                    override_reason: Some(
                        "Did not want to answer the wellbeing questions again at the last visit"
                            .to_owned(),
                    ),
                },
            )
            .await?;
    }
    // Reopened after a crisis, keeping its history.
    {
        let opened = today - Duration::days(300);
        let case = open_case(
            store,
            registry,
            practices,
            take()?,
            team.focused,
            &team.caseworker,
            opened,
            &team,
        )
        .await?;
        history(
            store,
            &team.caseworker,
            case,
            opened,
            today - Duration::days(60),
            4,
            clock,
        )
        .await?;
        goals_met(store, &team.caseworker, case, today - Duration::days(61)).await?;
        store
            .discharge(
                &store.open_case(&team.caseworker, case, true).await?,
                &Discharge {
                    on: today - Duration::days(60),
                    reason: DischargeReason::GoalsMet,
                    destination: DischargeDestination::GpCare,
                    gp: GpAgreement::Agreed,
                    summary: "Tenancy secure and debts in a repayment plan.".to_owned(),
                    override_reason: None,
                },
            )
            .await?;
        store
            .reopen(
                &team.caseworker,
                case,
                "Eviction notice after a change in benefits",
                today - Duration::days(6),
            )
            .await?;
    }
    // MDT meetings of the social prescribing team, one past and one upcoming.
    crate::demo_mdt::load(
        store,
        &crate::demo_mdt::MdtTeam {
            linkworker: &team.linkworker,
            caseworker: &team.caseworker,
            supervisor: &team.supervisor,
        },
        team.social,
        today,
    )
    .await?;
    if let Some(case) = first_social {
        lone_working(store, &team, charity, case, today).await?;
    }
    crate::demo_supervision::load(store, &team.supervisor, &team.linkworker, today).await?;
    crate::demo_events::load(
        store,
        &crate::demo_events::EventsTeam {
            linkworker: &team.linkworker,
            caseworker: &team.caseworker,
            supervisor: &team.supervisor,
            social: team.social,
            focused: team.focused,
            social_case: first_social,
        },
        today,
    )
    .await?;
    Ok(())
}

/// ONS4 at the start and three months in, so the case pages show change and the team report has
/// pairs: most people improve, some do not, as in real services.
async fn outcome_measures(
    store: &Store,
    worker: &Principal,
    case: CaseId,
    opened: NaiveDate,
    n: i64,
) -> anyhow::Result<()> {
    let catalogue = careweave_instruments::load(&[careweave_instruments::Source::Shipped]);
    let ons4 = catalogue.get("ons4").context("ONS4 ships with careweave")?;
    let answers = |satisfied: i64, worthwhile: i64, happy: i64, anxious: i64| {
        let mut a = careweave_instruments::Answers::new();
        a.answer("satisfied", satisfied)
            .answer("worthwhile", worthwhile)
            .answer("happy", happy)
            .answer("anxious", anxious);
        a
    };
    let wobble = n % 3;
    let worse = n % 5 == 0;
    for (answers, on, point) in [
        (
            answers(3 + wobble, 4, 4, 7),
            opened + Duration::days(7),
            OutcomePoint::Baseline,
        ),
        (
            if worse {
                answers(2 + wobble, 4, 3, 8)
            } else {
                answers(6 + wobble, 6, 6, 4 - wobble)
            },
            opened + Duration::days(91),
            OutcomePoint::FollowUp,
        ),
    ] {
        store
            .record_outcome(
                &store.open_case(worker, case, true).await?,
                &NewOutcome {
                    instrument: ons4,
                    answers,
                    taken_on: on,
                    point,
                },
            )
            .await?;
    }
    Ok(())
}

/// The charity's visit rule from the SAPA 5 case study (its staff make home visits only with an
/// NHS colleague), a safety flag on one person, and a joint visit planned for this afternoon, so
/// that lone working has something to show.
async fn lone_working(
    store: &Store,
    team: &Team,
    charity: OrganisationId,
    case: CaseId,
    today: NaiveDate,
) -> anyhow::Result<()> {
    store
        .add_visit_rule(
            &team.supervisor,
            charity,
            &PolicyRule {
                name: "Home visits with an NHS colleague".to_owned(),
                kind: PolicyRuleKind::NhsCompanionRequired,
                after: None,
            },
            today,
        )
        .await?;
    store
        .raise_safety_flag(
            &store.open_case(&team.linkworker, case, true).await?,
            false,
            "Large dog in the house: ask for it to be shut in another room before going in",
            today,
        )
        .await?;
    let evening = NaiveTime::from_hms_opt(18, 0, 0).context("a demo visit time")?;
    store
        .plan_visit(
            &team.linkworker,
            &store.open_case(&team.linkworker, case, true).await?,
            &NewVisit {
                contact_type: ContactType::JointVisit,
                on: today,
                starts_at: evening - Duration::hours(1),
                back_by: evening,
                place: "The person's home".to_owned(),
                companion: Some(team.caseworker.user),
                note: "Joint visit with the Focused Care worker".to_owned(),
            },
        )
        .await?;
    Ok(())
}

fn referral(
    registry: &Registry,
    practices: &[OrganisationId],
    i: usize,
    service: ServiceId,
    received_on: NaiveDate,
    team: &Team,
) -> NewReferral {
    let p = &registry.people[i];
    NewReferral {
        service,
        // The referrer (a GP) names the person by their details, as any referrer does: the
        // store links the referral when the NHS number, date of birth and names all match.
        known_person: None,
        person: ReferredPerson {
            given_name: p.given_name.to_string(),
            family_name: p.family_name.to_string(),
            date_of_birth: p.date_of_birth,
            nhs_number: Some(p.nhs_number),
            practice: Some(practices[p.practice]),
            contact: "07700 900 123 (synthetic)".to_owned(),
        },
        source: ReferralSource::Gp,
        route: ReferralRoute::App,
        reason: "Struggling at home since a bereavement; frequent GP visits for low mood"
            .to_owned(),
        needs: "Loneliness, money worries, a damp flat".to_owned(),
        concerns: "Falls at night".to_owned(),
        need_domains: vec![
            NeedDomain::Finances,
            NeedDomain::Housing,
            NeedDomain::MentalHealth,
        ],
        risk_flags: vec![],
        cohort: None,
        urgency: Urgency::Routine,
        consent_share_detail: true,
        referrer: Referrer {
            user: Some(team.referrer.user),
            name: "Dr Rae Referrer".to_owned(),
            contact: "Via the practice".to_owned(),
        },
        received_on,
    }
}

async fn accept(
    store: &Store,
    r: &NewReferral,
    lead: &Principal,
    received_on: NaiveDate,
    team: &Team,
) -> anyhow::Result<CaseId> {
    let created = store.create_referral(r).await?;
    let triager = if r.service == team.focused {
        &team.caseworker
    } else {
        &team.linkworker
    };
    store
        .triage(
            triager,
            created.id,
            &TriageDecision::Accept {
                lead: Some(lead.user),
                reason: "Needs fit the service and the person wants support".to_owned(),
                override_reason: None,
                intensity: Intensity::High,
                confirm_over_capacity: true,
            },
            received_on + Duration::days(3),
        )
        .await?
        .context("accepting a referral opens a case")
}

#[allow(clippy::too_many_arguments)] // One place builds every open demo case; a struct would only rename the list.
async fn open_case(
    store: &Store,
    registry: &Registry,
    practices: &[OrganisationId],
    i: usize,
    service: ServiceId,
    worker: &Principal,
    opened: NaiveDate,
    team: &Team,
) -> anyhow::Result<CaseId> {
    let r = referral(
        registry,
        practices,
        i,
        service,
        opened - Duration::days(3),
        team,
    );
    accept(store, &r, worker, opened - Duration::days(3), team).await
}

/// Records every goal on the case's plan as fully met, as a worker does before a "goals met"
/// discharge (a "goals met" discharge with every goal at 0% is warned about).
async fn goals_met(
    store: &Store,
    worker: &Principal,
    case: CaseId,
    on: NaiveDate,
) -> anyhow::Result<()> {
    let view = store.case_for(worker, case).await?;
    let mut version = view.plan.version;
    for goal in &view.plan.goals {
        version = store
            .change_plan(
                &store.open_case(worker, case, true).await?,
                version,
                &PlanItem::Progress {
                    goal: goal.id,
                    progress: 100,
                },
                on,
            )
            .await?;
    }
    Ok(())
}

/// A plausible history: baseline assessment, plan, goals and actions, fortnightly contacts, a
/// review when one was due, a repeat assessment on longer cases, and a visit planned today.
async fn history(
    store: &Store,
    worker: &Principal,
    case: CaseId,
    opened: NaiveDate,
    until: NaiveDate,
    n: i64,
    clock: &Clock,
) -> anyhow::Result<()> {
    let score = |v: u8| DomainScore::new("demo", v.clamp(1, 5));
    let domains = [
        "personal",
        "mental_health",
        "physical_health",
        "social",
        "finances",
        "housing",
    ];
    let baseline: Vec<(String, DomainScore)> = domains
        .iter()
        .enumerate()
        .map(|(k, d)| Ok(((*d).to_owned(), score(1 + ((k as i64 + n) % 3) as u8)?)))
        .collect::<Result<_, careweave_domain::casework::DomainScoreError>>()?;
    store
        .record_assessment(
            &store.open_case(worker, case, true).await?,
            &NewAssessment {
                on: opened + Duration::days(7),
                scores: baseline.clone(),
                strengths: "Close to a daughter nearby; a keen gardener".to_owned(),
            },
        )
        .await?;
    let v = store
        .save_plan(
            &store.open_case(worker, case, true).await?,
            0,
            &PlanText {
                what_matters: "Staying in my own home and seeing my grandchildren at weekends".to_owned(),
                priorities: vec!["Get the damp fixed".to_owned(), "Sort out the bills".to_owned(), "Get out of the house once a week".to_owned()],
                escalation: "If she stops answering the phone for two days, call her daughter, then the duty GP.".to_owned(),
            },
            opened + Duration::days(8),
        )
        .await?;
    let v = store
        .change_plan(
            &store.open_case(worker, case, true).await?,
            v,
            &PlanItem::Goal {
                text: "Join the Tuesday lunch club".to_owned(),
                target_on: Some(opened + Duration::days(60)),
            },
            opened + Duration::days(8),
        )
        .await?;
    let v = store
        .change_plan(
            &store.open_case(worker, case, true).await?,
            v,
            &PlanItem::Action {
                text: "Ask the landlord to fix the damp".to_owned(),
                owner: "Worker".to_owned(),
                due_on: opened + Duration::days(21),
            },
            opened + Duration::days(8),
        )
        .await?;
    let v = store
        .change_plan(
            &store.open_case(worker, case, true).await?,
            v,
            &PlanItem::Action {
                text: "Bring the last three energy bills".to_owned(),
                owner: "The person".to_owned(),
                due_on: (until - Duration::days(2)).max(opened + Duration::days(9)),
            },
            opened + Duration::days(8),
        )
        .await?;
    let v = store
        .change_plan(
            &store.open_case(worker, case, true).await?,
            v,
            &PlanItem::Step {
                week: 1,
                text: "Walk to the end of the road with the coach".to_owned(),
            },
            opened + Duration::days(8),
        )
        .await?;
    store
        .change_plan(
            &store.open_case(worker, case, true).await?,
            v,
            &PlanItem::Step {
                week: 2,
                text: "Walk to the corner shop".to_owned(),
            },
            opened + Duration::days(8),
        )
        .await?;
    let types = [
        ContactType::HomeVisit,
        ContactType::Phone,
        ContactType::AccompaniedAppointment,
        ContactType::Practice,
        ContactType::JointVisit,
    ];
    let mut on = opened + Duration::days(7);
    let mut k = 0;
    while on <= until {
        store
            .record_contact(
                &store.open_case(worker, case, true).await?,
                &NewContact {
                    contact_type: types[(k + n as usize) % types.len()],
                    on,
                    minutes: 20 + 10 * ((k as u32 + 1) % 5),
                    present: "The person".to_owned(),
                    note: "Talked through the week and the next step of the plan.".to_owned(),
                    sensitive: None,
                },
            )
            .await?;
        on += Duration::days(14);
        k += 1;
    }
    if until - opened > Duration::days(90) {
        outcome_measures(store, worker, case, opened, n).await?;
        store
            .record_review(
                &store.open_case(worker, case, true).await?,
                opened + Duration::days(88),
                Intensity::Low,
                "Going out weekly; moving to low intensity.",
            )
            .await?;
        let later: Vec<(String, DomainScore)> = baseline
            .iter()
            .map(|(d, s)| Ok((d.clone(), score(s.get() + 1)?)))
            .collect::<Result<_, careweave_domain::casework::DomainScoreError>>()?;
        store
            .record_assessment(
                &store.open_case(worker, case, true).await?,
                &NewAssessment {
                    on: opened + Duration::days(90),
                    scores: later,
                    strengths: "Now volunteering at the garden project".to_owned(),
                },
            )
            .await?;
    }
    let today = clock.today();
    if until >= today - Duration::days(1) && n % 2 == 0 {
        // Spread through the working day; a visit whose time has passed was checked out on time,
        // so the demo starts with no false lone working alert.
        let hour = u32::try_from(9 + n % 8).unwrap_or(9);
        let starts_at = NaiveTime::from_hms_opt(hour, 0, 0).context("a demo visit time")?;
        let back_by = NaiveTime::from_hms_opt(hour + 1, 0, 0).context("a demo visit time")?;
        let visit = store
            .plan_visit(
                worker,
                &store.open_case(worker, case, true).await?,
                &NewVisit {
                    contact_type: ContactType::HomeVisit,
                    on: today,
                    starts_at,
                    back_by,
                    place: "The person's home".to_owned(),
                    companion: None,
                    note: "Check the landlord has booked the repair".to_owned(),
                },
            )
            .await?;
        let now = clock.local_now();
        if today.and_time(back_by) < now {
            store
                .visit_step(worker, visit, VisitStep::CheckOut, today.and_time(back_by))
                .await?;
        }
    }
    Ok(())
}
