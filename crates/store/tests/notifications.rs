//! Notifications in the store, on SQLite and PostgreSQL: a new referral tells the workers and
//! supervisors of the service's organisations and nobody else; triage and discharge tell the
//! signed-in referrer, in the same transaction (a refused triage tells nobody); the words never
//! name the person; read and unread belong to the recipient alone; the header's counts include
//! the tasks of the user's own cases and stop counting unread notifications at a cap; an opted-in user's notification queues one email, which
//! delivery marks sent or, after the last attempt, failed.

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::{
    DischargeDestination, DischargeReason, GpAgreement, Intensity, ReferralId, ReferralRoute,
    ReferralSource, Urgency,
};
use careweave_domain::OrganisationKind;
use careweave_store::casework::{
    Discharge, NewReferral, PlanItem, ReferredPerson, Referrer, TriageDecision,
};
use careweave_store::change::ActionError;
use careweave_store::notifications::{NotificationKind, EMAIL_SUBJECT, UNREAD_COUNTED};
use careweave_store::outbox::{Delivery, DeliveryPolicy, MessageStatus};
use careweave_store::people::NewOrganisation;
use careweave_store::testing::{cross_employer_case, test_user, CrossEmployerCase, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::Duration;

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

/// A GP of the fixture's practice refers Ada to the fixture's service.
async fn gp_refers(store: &Store, w: &CrossEmployerCase, gp: &Principal) -> ReferralId {
    let service = store.case_for(&w.lead, w.case).await.unwrap().service.id;
    store
        .create_referral(&NewReferral {
            service,
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
            reason: "Lonely since her husband died".into(),
            needs: "Company".into(),
            concerns: String::new(),
            need_domains: vec![],
            risk_flags: vec![],
            cohort: None,
            urgency: Urgency::Urgent,
            consent_share_detail: true,
            referrer: Referrer {
                user: Some(gp.user),
                name: "Test gp".into(),
                contact: "Riverside Surgery".into(),
            },
            received_on: store.clock().today(),
        })
        .await
        .unwrap()
        .id
}

/// (kind, text, link, read) of the user's notifications, newest first.
async fn list(store: &Store, who: &Principal) -> Vec<(NotificationKind, String, String, bool)> {
    store
        .notifications(who, 0, 100)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| (n.kind, n.text, n.link, n.read))
        .collect()
}

fn accept(lead: &Principal) -> TriageDecision {
    TriageDecision::Accept {
        lead: Some(lead.user),
        reason: "Fits the service".into(),
        // Ada has a case with the service already, which the eligibility advice may flag.
        override_reason: Some("Checked with the GP".into()),
        intensity: Intensity::Low,
        confirm_over_capacity: true,
    }
}

on_both_backends!(
    referrals_tell_the_team_and_outcomes_tell_the_referrer,
    |store, w| {
        let gp = test_user(&store, "gp", Role::Referrer, w.practice, PASSWORD).await;
        let elsewhere = store
            .insert_organisation(&NewOrganisation {
                name: "Hilltop Trust".into(),
                kind: OrganisationKind::Vcse,
                ods_code: None,
                place: None,
            })
            .await
            .unwrap();
        let outsider = test_user(&store, "outsider", Role::Worker, elsewhere, PASSWORD).await;
        // The fixture's own referral told the two workers of the service's organisations.
        assert_eq!(list(&store, &w.lead).await.len(), 1);
        assert_eq!(list(&store, &w.coworker).await.len(), 1);

        let referral = gp_refers(&store, &w, &gp).await;
        for worker in [&w.lead, &w.coworker] {
            let seen = list(&store, worker).await;
            assert_eq!(seen.len(), 2);
            let (kind, text, link, read) = &seen[0];
            assert_eq!(*kind, NotificationKind::NewReferral);
            assert_eq!(
                text,
                "A new referral is waiting for Social prescribing. Urgency: Urgent."
            );
            assert_eq!(link, &format!("/referrals/{referral}"));
            assert!(!read);
        }
        // Neither the referrer nor a worker of another organisation hears of it.
        assert!(list(&store, &gp).await.is_empty());
        assert!(list(&store, &outsider).await.is_empty());

        // A refused triage (no reason to accept over the advice is needed here, but a second
        // triage of the same referral is refused) writes nothing: the notification is part of
        // the change's transaction.
        let today = store.clock().today();
        store
            .triage(&w.lead, referral, &accept(&w.lead), today)
            .await
            .unwrap()
            .unwrap();
        assert!(store
            .triage(&w.coworker, referral, &accept(&w.lead), today)
            .await
            .is_err());
        let told = list(&store, &gp).await;
        assert_eq!(told.len(), 1, "{told:?}");
        let (kind, text, link, _) = &told[0];
        assert_eq!(*kind, NotificationKind::ReferralOutcome);
        assert!(
            text.starts_with("Your referral to Social prescribing, sent on "),
            "{text}"
        );
        assert!(text.ends_with(", was accepted."), "{text}");
        assert_eq!(link, &format!("/referrals/{referral}"));
        // The one who triaged is not told of their own decision.
        assert_eq!(list(&store, &w.lead).await.len(), 2);

        // A declined referral and a discharge tell the referrer too.
        let second = gp_refers(&store, &w, &gp).await;
        store
            .triage(
                &w.lead,
                second,
                &TriageDecision::Decline {
                    reason: "Already supported".into(),
                },
                today,
            )
            .await
            .unwrap();
        let case = store
            .referral_for(&w.lead, referral)
            .await
            .unwrap()
            .case
            .unwrap();
        store
            .discharge(
                &store.open_case(&w.lead, case, true).await.unwrap(),
                &Discharge {
                    on: today,
                    reason: DischargeReason::GoalsMet,
                    destination: DischargeDestination::CommunityGroup,
                    gp: GpAgreement::Agreed,
                    summary: "Goes to the lunch club".into(),
                    override_reason: Some("Confirmed with the person".into()),
                },
            )
            .await
            .unwrap();
        let told = list(&store, &gp).await;
        assert_eq!(told.len(), 3);
        assert!(
            told[0].1.ends_with("has ended: the person was discharged."),
            "{told:?}"
        );
        assert!(told[1].1.ends_with("was declined."), "{told:?}");
        // No notification names the person.
        for who in [&w.lead, &w.coworker, &gp] {
            for (_, text, _, _) in list(&store, who).await {
                assert!(!text.contains("Ada") && !text.contains("Example"), "{text}");
            }
        }

        // Read and unread are the recipient's alone.
        let page = store.notifications(&gp, 0, 100).await.unwrap();
        assert_eq!((page.total, page.unread), (3, 3));
        let first = page.items[0].id;
        assert!(matches!(
            store.mark_notification_read(&w.lead, first).await,
            Err(ActionError::NotFound(_))
        ));
        store.mark_notification_read(&gp, first).await.unwrap();
        assert_eq!(store.notifications(&gp, 0, 100).await.unwrap().unread, 2);
        assert_eq!(store.notifications(&gp, 0, 1).await.unwrap().items.len(), 1);
        assert_eq!(store.mark_all_notifications_read(&gp).await.unwrap(), 2);
        assert_eq!(store.notifications(&gp, 0, 100).await.unwrap().unread, 0);
        // The lead was told of the fixture's referral and both of the GP's.
        assert_eq!(
            store.notifications(&w.lead, 0, 100).await.unwrap().unread,
            3
        );
        assert_eq!(
            store.notice_counts(gp.user, today).await.unwrap().total(),
            0
        );
    }
);

on_both_backends!(
    the_header_counts_reviews_and_overdue_actions_of_own_cases,
    |store, w| {
        let today = store.clock().today();
        let access = store.open_case(&w.lead, w.case, true).await.unwrap();
        let version = store.case_for(&w.lead, w.case).await.unwrap().plan.version;
        store
            .change_plan(
                &access,
                version,
                &PlanItem::Action {
                    text: "Ring the lunch club".into(),
                    owner: "Link worker".into(),
                    due_on: today + Duration::days(3),
                },
                today,
            )
            .await
            .unwrap();
        // Today: the fixture's referral is unread, nothing is due.
        let now = store.notice_counts(w.lead.user, today).await.unwrap();
        assert_eq!((now.unread, now.tasks), (1, 0));
        // In six weeks the review (42 days) is due within the week and the action is past its
        // date; the co-worker works the case too, so the action is theirs to see, but only the
        // lead and cover are asked for reviews.
        let later = today + Duration::days(40);
        let lead = store.notice_counts(w.lead.user, later).await.unwrap();
        assert_eq!(lead.tasks, 2);
        let coworker = store.notice_counts(w.coworker.user, later).await.unwrap();
        assert_eq!(coworker.tasks, 1);
        let day = store.my_day(&w.lead, later).await.unwrap();
        assert_eq!((day.reviews_due.len(), day.overdue_actions.len()), (1, 1));
    }
);

on_both_backends!(
    the_header_counts_unread_notifications_only_up_to_its_cap,
    |store, w| {
        let today = store.clock().today();
        // The fixture's referral told the lead once; a busy list tells them many more times.
        for n in 0..UNREAD_COUNTED + 5 {
            sqlx::query(
                "INSERT INTO notifications (user_id, kind, text, link, created_at) \
                 VALUES ($1, 'new_referral', 'A new referral is waiting.', $2, '2026-01-01T00:00:00Z')",
            )
            .bind(w.lead.user.get())
            .bind(format!("/referrals/{n}"))
            .execute(store.pool())
            .await
            .unwrap();
        }
        let counts = store.notice_counts(w.lead.user, today).await.unwrap();
        assert_eq!(counts.unread, UNREAD_COUNTED);
        // The notifications page still counts every one.
        let page = store.notifications(&w.lead, 0, 10).await.unwrap();
        assert_eq!(page.unread, UNREAD_COUNTED + 6);
    }
);

on_both_backends!(
    an_opted_in_user_gets_one_email_that_delivery_records,
    |store, w| {
        let gp = test_user(&store, "gp", Role::Referrer, w.practice, PASSWORD).await;
        store
            .set_notification_email(&w.lead, Some(" lead@example.nhs.uk "))
            .await
            .unwrap();
        assert_eq!(
            store
                .notification_email(w.lead.user)
                .await
                .unwrap()
                .as_deref(),
            Some("lead@example.nhs.uk")
        );
        // Only notifications written after opting in are emailed.
        assert!(store
            .notification_emails_for(w.lead.user)
            .await
            .unwrap()
            .is_empty());
        gp_refers(&store, &w, &gp).await;
        gp_refers(&store, &w, &gp).await;
        let queued = store.notification_emails_for(w.lead.user).await.unwrap();
        assert_eq!(queued.len(), 2);
        assert_eq!(queued[0].recipient, "lead@example.nhs.uk");
        assert_eq!(queued[0].subject, EMAIL_SUBJECT);
        assert!(queued[0]
            .body
            .starts_with("A new referral is waiting for Social prescribing."));
        assert!(!queued[0].body.contains("Ada"));
        assert_eq!(queued[0].status, MessageStatus::Queued);
        // The co-worker did not opt in.
        assert!(store
            .notification_emails_for(w.coworker.user)
            .await
            .unwrap()
            .is_empty());

        let policy = DeliveryPolicy {
            max_attempts: 1,
            backoff_seconds: 60,
        };
        let claimed = store
            .claim_due_emails(10, Duration::seconds(60))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2);
        // Claimed emails are not claimed again while their worker is on them.
        assert!(store
            .claim_due_emails(10, Duration::seconds(60))
            .await
            .unwrap()
            .is_empty());
        let sent = store
            .record_email_delivery(
                &claimed[0],
                &Delivery::Delivered {
                    via: "SMTP relay".into(),
                    acknowledged: false,
                },
                &policy,
            )
            .await
            .unwrap();
        assert_eq!(sent, MessageStatus::Sent);
        let failed = store
            .record_email_delivery(
                &claimed[1],
                &Delivery::Failed {
                    error: "The SMTP relay refused RCPT TO (550)".into(),
                },
                &policy,
            )
            .await
            .unwrap();
        assert_eq!(failed, MessageStatus::Failed);
        let after = store.notification_emails_for(w.lead.user).await.unwrap();
        let by_id = |id| after.iter().find(|e| e.id == id).unwrap();
        assert_eq!(
            by_id(claimed[0].id).delivered_via.as_deref(),
            Some("SMTP relay")
        );
        assert_eq!(by_id(claimed[0].id).attempts, 1);
        assert_eq!(
            by_id(claimed[1].id).last_error.as_deref(),
            Some("The SMTP relay refused RCPT TO (550)")
        );

        // Stopping emails stops new ones.
        store.set_notification_email(&w.lead, None).await.unwrap();
        gp_refers(&store, &w, &gp).await;
        assert_eq!(
            store
                .notification_emails_for(w.lead.user)
                .await
                .unwrap()
                .len(),
            2
        );
    }
);
