//! Consent and break-glass in the store, run identically on SQLite and PostgreSQL: a declined
//! organisation loses an otherwise allowed grant (audited), the GP message follows the person's
//! current preference, break-glass opens a record for its time limit only, and the review queue
//! belongs to the accessing worker's organisation's admins.

use careweave_domain::access::{Grant, Principal, Role};
use careweave_domain::consent::{BreakGlassCategory, ConsentMethod, GpSharing, SensitiveCategory};
use careweave_domain::{OrganisationId, OrganisationKind, PersonId};
use careweave_store::access::PersonAccess;
use careweave_store::audit::AuditFilter;
use careweave_store::consent::{BreakGlassError, ConsentError, NewConsent};
use careweave_store::people::NewOrganisation;
use careweave_store::records::RecordError;
use careweave_store::testing::{cross_employer_case, test_user, CrossEmployerCase, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{Duration, Utc};

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

struct World {
    store: Store,
    shared: CrossEmployerCase,
    person: PersonId,
    /// A worker of the council, with no care relationship to the person.
    stranger: Principal,
    council: OrganisationId,
}

async fn world(store: &Store) -> World {
    let shared = cross_employer_case(store, PASSWORD).await;
    let person = store
        .case_for(&shared.lead, shared.case)
        .await
        .unwrap()
        .person;
    let council = store
        .insert_organisation(&NewOrganisation {
            name: "Riverside Council".into(),
            kind: OrganisationKind::Council,
            ods_code: None,
            place: None,
        })
        .await
        .unwrap();
    let stranger = test_user(store, "stranger", Role::Worker, council, PASSWORD).await;
    World {
        store: store.clone(),
        shared,
        person,
        stranger,
        council,
    }
}

/// The case lead's capability for the person, which the consent functions take.
async fn lead_access(w: &World) -> PersonAccess {
    w.store
        .person_for(&w.shared.lead, w.person, "consent: ")
        .await
        .unwrap()
}

fn consent(gp: GpSharing, organisations: Vec<(OrganisationId, bool)>) -> NewConsent {
    NewConsent {
        gp,
        share_with_carers: false,
        sensitive_with_care_team: false,
        organisations,
        method: ConsentMethod::InPerson,
    }
}

on_both_backends!(
    a_declined_organisation_loses_its_grant_and_the_refusal_is_audited,
    |w| {
        let s = &w.store;
        // The PCN's co-worker reads Ada as a member of her care team.
        assert!(s.read_person(&w.shared.coworker, w.person).await.is_ok());
        let declined = consent(
            GpSharing::Detail,
            vec![(w.shared.charity, true), (w.shared.pcn, false)],
        );
        assert_eq!(
            s.record_consent(&lead_access(&w).await, &declined, 0)
                .await
                .unwrap(),
            1
        );
        assert!(matches!(
            s.read_person(&w.shared.coworker, w.person).await,
            Err(RecordError::Denied)
        ));
        // The charity's lead, whom she agreed to share with, still reads.
        assert!(s.read_person(&w.shared.lead, w.person).await.is_ok());
        let audit = s
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(w.person.get()),
                limit: 0,
            })
            .await
            .unwrap();
        assert!(audit.iter().any(|e| e.action == "denied"
            && e.user == Some(w.shared.coworker.user)
            && e.reason.contains("declined sharing")));
        // A form opened before that change cannot overwrite it.
        assert!(matches!(
            s.record_consent(&lead_access(&w).await, &declined, 0).await,
            Err(ConsentError::Stale)
        ));
        // The person changes their mind: a new version, the history keeps both.
        let shared = consent(
            GpSharing::CodesOnly,
            vec![(w.shared.charity, true), (w.shared.pcn, true)],
        );
        s.record_consent(&lead_access(&w).await, &shared, 1)
            .await
            .unwrap();
        assert!(s.read_person(&w.shared.coworker, w.person).await.is_ok());
        let history = s.consent_history(&lead_access(&w).await).await.unwrap();
        let versions: Vec<i64> = history.iter().map(|v| v.version).collect();
        assert_eq!(versions, [2, 1]);
        assert_eq!(history[1].declined(), ["Riverside PCN"]);
        assert_eq!(history[0].recorded_by, "Test lead");
        // Someone who may not read the person neither reads nor records their preferences.
        // Both take the person's capability, which the door refuses (and audits) for them.
        assert!(matches!(
            s.person_for(&w.stranger, w.person, "consent: ").await,
            Err(RecordError::Denied)
        ));
        let consent_audit = s
            .audit_entries(&AuditFilter {
                entity: Some("consent".into()),
                entity_id: Some(w.person.get()),
                limit: 0,
            })
            .await
            .unwrap();
        let actions: Vec<&str> = consent_audit.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions.iter().filter(|a| **a == "create").count(), 2);
        assert!(actions.contains(&"read"));
    }
);

on_both_backends!(
    the_gp_message_follows_the_person_s_current_gp_preference,
    |w| {
        let s = &w.store;
        // The referral said "share the detail"; the person since asked for codes only.
        let before = s.gp_message(&w.shared.lead, w.shared.case).await.unwrap();
        assert!(before.share_detail);
        s.record_consent(
            &lead_access(&w).await,
            &consent(GpSharing::CodesOnly, vec![]),
            0,
        )
        .await
        .unwrap();
        let after = s.gp_message(&w.shared.lead, w.shared.case).await.unwrap();
        assert!(!after.share_detail);
        assert!(after.reason.is_none() && after.needs.is_none());
    }
);

on_both_backends!(
    break_glass_opens_the_record_for_its_limit_and_not_after,
    |w| {
        let s = &w.store;
        let limit = Duration::hours(4);
        assert!(matches!(
            s.read_person(&w.stranger, w.person).await,
            Err(RecordError::Denied)
        ));
        // An access opened five hours ago with a four-hour limit has expired.
        s.break_glass(
            &w.stranger,
            w.person,
            BreakGlassCategory::RiskToLife,
            "Found collapsed at the day centre",
            Utc::now() - Duration::hours(5),
            limit,
        )
        .await
        .unwrap();
        assert!(matches!(
            s.read_person(&w.stranger, w.person).await,
            Err(RecordError::Denied)
        ));
        // One opened three hours and fifty-nine minutes ago still counts.
        s.break_glass(
            &w.stranger,
            w.person,
            BreakGlassCategory::RiskToLife,
            "Found collapsed again",
            Utc::now() - Duration::minutes(239),
            limit,
        )
        .await
        .unwrap();
        let record = s.read_person(&w.stranger, w.person).await.unwrap();
        assert_eq!(record.grant, Grant::BreakGlass);
        assert_eq!(record.break_glass.len(), 1);
        assert_eq!(record.break_glass[0].reason, "Found collapsed again");
        // Everyone who opens the record sees the banner while it is active.
        let seen_by_lead = s.read_person(&w.shared.lead, w.person).await.unwrap();
        assert_eq!(seen_by_lead.break_glass[0].user_name, "Test stranger");
        let audit = s
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(w.person.get()),
                limit: 0,
            })
            .await
            .unwrap();
        assert!(audit
            .iter()
            .any(|e| e.action == "read" && e.reason == "break_glass"));
        // Break-glass even overrides a declined organisation, and is the only thing that does.
        s.record_consent(
            &lead_access(&w).await,
            &consent(GpSharing::Detail, vec![(w.council, false)]),
            0,
        )
        .await
        .unwrap();
        assert_eq!(
            s.read_person(&w.stranger, w.person).await.unwrap().grant,
            Grant::BreakGlass
        );
        // No reason, no access; roles that never break glass are refused and audited.
        assert!(matches!(
            s.break_glass(
                &w.stranger,
                w.person,
                BreakGlassCategory::UrgentCare,
                "  ",
                Utc::now(),
                limit
            )
            .await,
            Err(BreakGlassError::NoReason)
        ));
        for (name, role) in [
            ("admin", Role::Admin),
            ("analyst", Role::Analyst),
            ("commissioner", Role::Commissioner),
            ("referrer", Role::Referrer),
        ] {
            let who = test_user(s, name, role, w.council, PASSWORD).await;
            assert!(matches!(
                s.break_glass(
                    &who,
                    w.person,
                    BreakGlassCategory::RiskToLife,
                    "Urgent",
                    Utc::now(),
                    limit
                )
                .await,
                Err(BreakGlassError::Refused)
            ));
            assert!(s.read_person(&who, w.person).await.is_err());
        }
        // A record that does not exist is refused in the same words.
        assert!(matches!(
            s.break_glass(
                &w.stranger,
                PersonId::new(987_654),
                BreakGlassCategory::RiskToLife,
                "Urgent",
                Utc::now(),
                limit
            )
            .await,
            Err(BreakGlassError::Refused)
        ));
    }
);

on_both_backends!(
    only_the_worker_s_organisation_s_admins_review_break_glass,
    |w| {
        let s = &w.store;
        let id = s
            .break_glass(
                &w.stranger,
                w.person,
                BreakGlassCategory::SeriousHarm,
                "Police asked for a welfare check",
                Utc::now(),
                Duration::hours(4),
            )
            .await
            .unwrap();
        let council_admin = test_user(s, "ig", Role::Admin, w.council, PASSWORD).await;
        let charity_admin =
            test_user(s, "charityadmin", Role::Admin, w.shared.charity, PASSWORD).await;
        let council_supervisor = test_user(s, "boss", Role::Supervisor, w.council, PASSWORD).await;
        let queue = s.break_glass_queue(&council_admin).await.unwrap();
        assert_eq!(queue.len(), 1);
        assert_eq!(queue[0].person, w.person);
        assert_eq!(queue[0].user_name, "Test stranger");
        assert!(queue[0].reviewed.is_none());
        for other in [&charity_admin, &council_supervisor, &w.stranger] {
            assert!(s.break_glass_queue(other).await.unwrap().is_empty());
            assert!(matches!(
                s.review_break_glass(other, id, "Looks fine").await,
                Err(BreakGlassError::Refused)
            ));
        }
        s.review_break_glass(&council_admin, id, "Confirmed with the worker's manager")
            .await
            .unwrap();
        let queue = s.break_glass_queue(&council_admin).await.unwrap();
        let (by, _, note) = queue[0].reviewed.clone().unwrap();
        assert_eq!(by, "Test ig");
        assert_eq!(note, "Confirmed with the worker's manager");
        // Reviewed once only.
        assert!(s
            .review_break_glass(&council_admin, id, "Again")
            .await
            .is_err());
        let audit = s
            .audit_entries(&AuditFilter {
                entity: Some("break_glass".into()),
                entity_id: None,
                limit: 0,
            })
            .await
            .unwrap();
        let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        for action in ["create", "list", "update", "denied"] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
    }
);

on_both_backends!(
    a_sensitive_note_is_read_by_its_author_and_the_lead_and_by_the_team_only_with_agreement,
    |w| {
        let s = &w.store;
        let note = |text: &str, sensitive| careweave_store::casework::NewContact {
            contact_type: careweave_domain::casework::ContactType::Phone,
            on: Utc::now().date_naive(),
            minutes: 10,
            present: String::new(),
            note: text.into(),
            sensitive,
        };
        // The PCN co-worker writes a domestic abuse note; the charity's lead writes another.
        s.record_contact(
            &s.open_case(&w.shared.coworker, w.shared.case, true)
                .await
                .unwrap(),
            &note(
                "Disclosed abuse at home",
                Some(SensitiveCategory::DomesticAbuse),
            ),
        )
        .await
        .unwrap();
        s.record_contact(
            &s.open_case(&w.shared.lead, w.shared.case, true)
                .await
                .unwrap(),
            &note("Clinic visit", Some(SensitiveCategory::SexualHealth)),
        )
        .await
        .unwrap();
        s.record_contact(
            &s.open_case(&w.shared.lead, w.shared.case, true)
                .await
                .unwrap(),
            &note("Lunch club", None),
        )
        .await
        .unwrap();
        let seen = |view: careweave_store::casework::CaseView| {
            let mut notes: Vec<(String, bool)> = view
                .contacts
                .into_iter()
                .map(|k| (k.note, k.restricted))
                .collect();
            notes.sort();
            notes
        };
        // The lead reads every note: their own, and the co-worker's as the case's lead.
        let lead = seen(s.case_for(&w.shared.lead, w.shared.case).await.unwrap());
        assert_eq!(
            lead,
            [
                ("Clinic visit".to_owned(), false),
                ("Disclosed abuse at home".to_owned(), false),
                ("Lunch club".to_owned(), false)
            ]
        );
        // The co-worker reads their own note and the ordinary one, and sees that the lead's
        // sensitive note exists without its text.
        let coworker = seen(s.case_for(&w.shared.coworker, w.shared.case).await.unwrap());
        assert_eq!(
            coworker,
            [
                (String::new(), true),
                ("Disclosed abuse at home".to_owned(), false),
                ("Lunch club".to_owned(), false)
            ]
        );
        // Once the person agrees to share sensitive items with their care team, the co-worker
        // reads it too.
        let mut agreed = consent(
            GpSharing::Detail,
            vec![(w.shared.charity, true), (w.shared.pcn, true)],
        );
        agreed.sensitive_with_care_team = true;
        s.record_consent(&lead_access(&w).await, &agreed, 0)
            .await
            .unwrap();
        let coworker = seen(s.case_for(&w.shared.coworker, w.shared.case).await.unwrap());
        assert!(coworker.iter().all(|(_, restricted)| !restricted));
    }
);
