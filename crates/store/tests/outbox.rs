//! The outbox in the store, on SQLite and PostgreSQL: accepting a referral, declining one and
//! discharging a case each queue one message in the change's own transaction, with the letter
//! and the FHIR message Bundle stored; delivery moves a message to sent, or retries it with
//! exponential backoff on the store's clock and marks it failed after the last attempt; the
//! "declined" code is sent only for an offer declined (a Focused Care discharge's code is a unit
//! test of `message_codes`, since a service's kind is cached by the store).

use careweave_domain::casework::{
    CaseId, ContactType, DischargeDestination, DischargeReason, GpAgreement, Intensity,
    ReferralRoute, ReferralSource, Urgency,
};
use careweave_domain::clock::Clock;
use careweave_store::casework::{
    Discharge, NewContact, NewReferral, PlanItem, ReferredPerson, Referrer, TriageDecision,
};
use careweave_store::outbox::{Delivery, DeliveryPolicy, MessageKind, MessageStatus};
use careweave_store::testing::{cross_employer_case, CrossEmployerCase, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::Row;

const PASSWORD: &str = "correct horse battery staple";

macro_rules! on_both_backends {
    ($name:ident, |$store:ident, $w:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($store: Store, $w: CrossEmployerCase) $body

            #[tokio::test]
            async fn sqlite() {
                let db = TestDatabase::new(Backend::Sqlite).await;
                let w = cross_employer_case(&db.store, PASSWORD).await;
                run(db.store.clone(), w).await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = TestDatabase::new(Backend::Postgres).await;
                let w = cross_employer_case(&db.store, PASSWORD).await;
                run(db.store.clone(), w).await;
            }
        }
    };
}

/// (kind, status, letter, bundle) of every message, oldest first.
async fn messages(store: &Store) -> Vec<(String, String, String, Value)> {
    sqlx::query("SELECT kind, status, letter, bundle FROM outbox_messages ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get("kind"),
                r.get("status"),
                r.get("letter"),
                serde_json::from_str(&r.get::<String, _>("bundle")).unwrap(),
            )
        })
        .collect()
}

fn resources<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

/// The SNOMED CT codes of a Bundle's coded entries.
fn codes(bundle: &Value) -> Vec<String> {
    resources(bundle, "Observation")
        .iter()
        .filter_map(|o| {
            let c = &o["code"]["coding"][0];
            (c["system"] == "http://snomed.info/sct")
                .then(|| c["code"].as_str().unwrap().to_owned())
        })
        .collect()
}

async fn discharge(store: &Store, w: &CrossEmployerCase, case: CaseId, reason: DischargeReason) {
    store
        .discharge(
            &store.open_case(&w.lead, case, true).await.unwrap(),
            &Discharge {
                on: store.clock().today(),
                reason,
                destination: DischargeDestination::CommunityGroup,
                gp: GpAgreement::Agreed,
                summary: "Goes to the lunch club on Tuesdays".into(),
                override_reason: Some("Confirmed with the person".into()),
            },
        )
        .await
        .unwrap();
}

async fn contact(store: &Store, w: &CrossEmployerCase, case: CaseId) {
    store
        .record_contact(
            &store.open_case(&w.lead, case, true).await.unwrap(),
            &NewContact {
                contact_type: ContactType::HomeVisit,
                on: store.clock().today(),
                minutes: 30,
                present: "Ada".into(),
                note: "Talked about the lunch club".into(),
                sensitive: None,
            },
        )
        .await
        .unwrap();
}

/// Adds `item` to the case's plan at its current version.
async fn plan(store: &Store, w: &CrossEmployerCase, case: CaseId, item: PlanItem) {
    let version = store.case_for(&w.lead, case).await.unwrap().plan.version;
    store
        .change_plan(
            &store.open_case(&w.lead, case, true).await.unwrap(),
            version,
            &item,
            store.clock().today(),
        )
        .await
        .unwrap();
}

/// A second referral of Ada to `service`, waiting for triage, linked to her by the registry match.
async fn refer(
    store: &Store,
    w: &CrossEmployerCase,
    service: i64,
) -> careweave_domain::casework::ReferralId {
    let created = store
        .create_referral(&NewReferral {
            service: careweave_domain::ServiceId::new(service),
            known_person: None,
            person: ReferredPerson {
                given_name: "Ada".into(),
                family_name: "Example".into(),
                date_of_birth: chrono::NaiveDate::from_ymd_opt(1950, 5, 17).unwrap(),
                nhs_number: Some("9434765919".parse().unwrap()),
                practice: Some(w.practice),
                contact: "07700 900000".into(),
            },
            source: ReferralSource::Gp,
            route: ReferralRoute::App,
            reason: "Struggling at home".into(),
            needs: "Help with the house".into(),
            concerns: String::new(),
            need_domains: vec![],
            risk_flags: vec![],
            cohort: None,
            urgency: Urgency::Routine,
            consent_share_detail: true,
            referrer: Referrer {
                user: None,
                name: "Dr Rae Referrer".into(),
                contact: "Riverside Surgery".into(),
            },
            received_on: store.clock().today(),
        })
        .await
        .unwrap();
    created.id
}

on_both_backends!(
    accepting_and_discharging_queue_one_message_each,
    |store, w| {
        // The fixture's acceptance queued the first message, with the case it opened.
        let sent = messages(&store).await;
        assert_eq!(sent.len(), 1);
        let (kind, status, letter, bundle) = &sent[0];
        assert_eq!(
            (kind.as_str(), status.as_str()),
            ("referral_accepted", "queued")
        );
        assert!(
            letter.contains("The service accepted the referral."),
            "{letter}"
        );
        assert!(
            letter.contains("Reason for the decision: Fits the service"),
            "{letter}"
        );
        assert!(
            letter.contains("Completed by\nTest lead, worker at Riverside Community Trust"),
            "{letter}"
        );
        assert_eq!(bundle["type"], "message");
        assert_eq!(
            bundle["entry"][0]["resource"]["resourceType"],
            "MessageHeader"
        );
        assert_eq!(
            bundle["entry"][1]["resource"]["resourceType"],
            "Composition"
        );
        assert_eq!(codes(bundle), ["871731000000106"]);

        contact(&store, &w, w.case).await;
        plan(
            &store,
            &w,
            w.case,
            PlanItem::Goal {
                text: "Join the lunch club".into(),
                target_on: None,
            },
        )
        .await;
        plan(
            &store,
            &w,
            w.case,
            PlanItem::Action {
                text: "Review the pain medication".into(),
                owner: "GP".into(),
                due_on: store.clock().today(),
            },
        )
        .await;
        let access = store.open_case(&w.lead, w.case, false).await.unwrap();
        discharge(&store, &w, w.case, DischargeReason::GoalsMet).await;
        let sent = messages(&store).await;
        assert_eq!(sent.len(), 2, "one message for the discharge");
        let (kind, _, letter, bundle) = &sent[1];
        assert_eq!(kind, "discharge");
        for words in [
            "Gender: Female",
            "NHS number: 943 476 5919",
            "Goal: Join the lunch club (0% done)",
            "Actions asked of the GP\nReview the pain medication",
            "Goes to the lunch club on Tuesdays",
        ] {
            assert!(letter.contains(words), "{words} in {letter}");
        }
        let patient = resources(bundle, "Patient")[0];
        assert_eq!(patient["gender"], "female");
        assert_eq!(patient["identifier"][0]["value"], "9434765919");
        let composition = resources(bundle, "Composition")[0];
        let titles: Vec<&str> = composition["section"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["title"].as_str().unwrap())
            .collect();
        assert!(titles.contains(&"Actions asked of the GP"), "{titles:?}");
        assert!(titles.contains(&"Completed by"), "{titles:?}");
        // Goals met: the referral code only, never "declined".
        assert_eq!(codes(bundle), ["871731000000106"]);
        // The case's list shows both, newest first; the stored letter is what was written.
        let listed = store.case_messages(&access).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].kind, MessageKind::Discharge);
        let stored = store
            .case_message(&w.lead, w.case, listed[0].id)
            .await
            .unwrap();
        assert_eq!(&stored.letter, letter);
    }
);

on_both_backends!(
    a_failing_delivery_backs_off_and_fails_after_the_last_try,
    |store, w| {
        // Whole seconds, as the store keeps instants to the microsecond.
        let start: DateTime<Utc> = DateTime::from_timestamp(Utc::now().timestamp() + 1, 0).unwrap();
        let at = |seconds: i64| {
            store.clone().with_clock(Clock::fixed(
                start + Duration::seconds(seconds),
                store.clock().zone(),
            ))
        };
        // The queued message was due when it was written, on the system clock before `start`.
        let policy = DeliveryPolicy {
            max_attempts: 3,
            backoff_seconds: 60,
        };
        let failed = Delivery::Failed {
            error: "The endpoint answered HTTP 503".into(),
        };
        let claimed = at(0)
            .claim_due_messages(10, Duration::seconds(120))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        // A claimed message is not claimed twice while its worker is on it.
        assert!(at(1)
            .claim_due_messages(10, Duration::seconds(120))
            .await
            .unwrap()
            .is_empty());
        let status = at(0)
            .record_delivery(&claimed[0], &failed, &policy)
            .await
            .unwrap();
        assert_eq!(status, MessageStatus::Queued);
        // The first wait is the backoff; the second twice that.
        assert!(at(59)
            .claim_due_messages(10, Duration::seconds(120))
            .await
            .unwrap()
            .is_empty());
        let again = at(60)
            .claim_due_messages(10, Duration::seconds(120))
            .await
            .unwrap();
        assert_eq!(again[0].attempts, 1);
        at(60)
            .record_delivery(&again[0], &failed, &policy)
            .await
            .unwrap();
        assert!(at(60 + 119)
            .claim_due_messages(10, Duration::seconds(120))
            .await
            .unwrap()
            .is_empty());
        let last = at(180)
            .claim_due_messages(10, Duration::seconds(120))
            .await
            .unwrap();
        assert_eq!(last[0].attempts, 2);
        let status = at(180)
            .record_delivery(&last[0], &failed, &policy)
            .await
            .unwrap();
        assert_eq!(status, MessageStatus::Failed);
        assert!(at(100_000)
            .claim_due_messages(10, Duration::seconds(120))
            .await
            .unwrap()
            .is_empty());
        let access = store.open_case(&w.lead, w.case, false).await.unwrap();
        let listed = store.case_messages(&access).await.unwrap();
        assert_eq!(listed[0].status, MessageStatus::Failed);
        assert_eq!(listed[0].attempts, 3);
        assert_eq!(
            listed[0].last_error.as_deref(),
            Some("The endpoint answered HTTP 503")
        );

        // A delivered message is recorded with where it went and audited as leaving. It is queued
        // on the fixed clock: on the system clock it would be due only once the test has run
        // longer than the second `start` allows, which a loaded machine passes.
        discharge(&at(0), &w, w.case, DischargeReason::GoalsMet).await;
        let due = at(0)
            .claim_due_messages(10, Duration::seconds(120))
            .await
            .unwrap();
        assert_eq!(due.len(), 1);
        let status = at(5)
            .record_delivery(
                &due[0],
                &Delivery::Delivered {
                    via: "folder /tmp/gp".into(),
                    acknowledged: false,
                },
                &policy,
            )
            .await
            .unwrap();
        assert_eq!(status, MessageStatus::Sent);
        let listed = store.case_messages(&access).await.unwrap();
        assert_eq!(listed[0].status, MessageStatus::Sent);
        assert_eq!(listed[0].sent_at, Some(start + Duration::seconds(5)));
        assert_eq!(listed[0].delivered_via.as_deref(), Some("folder /tmp/gp"));
    }
);

on_both_backends!(declined_is_coded_only_for_an_offer_declined, |store, w| {
    let service: i64 = sqlx::query("SELECT service_id FROM casework_cases WHERE id = $1")
        .bind(w.case.get())
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get("service_id");
    // Ada stopped part-way: two contacts and a goal. Not "declined".
    contact(&store, &w, w.case).await;
    contact(&store, &w, w.case).await;
    plan(
        &store,
        &w,
        w.case,
        PlanItem::Goal {
            text: "Walk to the shop".into(),
            target_on: None,
        },
    )
    .await;
    discharge(&store, &w, w.case, DischargeReason::Declined).await;
    let sent = messages(&store).await;
    assert_eq!(codes(&sent.last().unwrap().3), ["871731000000106"]);
    assert!(sent
        .last()
        .unwrap()
        .2
        .contains("Reason: Person chose to stop"));

    // Referred again, she declines the offer at the first contact.
    let referral = refer(&store, &w, service).await;
    let accept = TriageDecision::Accept {
        lead: Some(w.lead.user),
        reason: "Fits the service".into(),
        override_reason: None,
        intensity: Intensity::Low,
        confirm_over_capacity: false,
    };
    let case = store
        .triage(&w.lead, referral, &accept, store.clock().today())
        .await
        .unwrap()
        .unwrap();
    contact(&store, &w, case).await;
    discharge(&store, &w, case, DischargeReason::Declined).await;
    let sent = messages(&store).await;
    assert_eq!(
        codes(&sent.last().unwrap().3),
        ["871731000000106", "871711000000103"]
    );

    // A referral the service declines sends the GP its decision, with no code of the person's.
    let referral = refer(&store, &w, service).await;
    store
        .triage(
            &w.lead,
            referral,
            &TriageDecision::Decline {
                reason: "Needs a clinical service first".into(),
            },
            store.clock().today(),
        )
        .await
        .unwrap();
    let (kind, _, letter, bundle) = messages(&store).await.pop().unwrap();
    assert_eq!(kind, "referral_declined");
    assert!(letter.contains("Reason for the decision: Needs a clinical service first"));
    assert!(codes(&bundle).is_empty());
});
