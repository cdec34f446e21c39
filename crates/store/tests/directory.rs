//! The directory's persistence on SQLite and PostgreSQL: imports are all-or-nothing and update by
//! id, signposts and referrals go through the access policy and are audited, and a waiting referral
//! opens the record to the provider until it is answered.

use careweave_directory::{demo, Need, Service};
use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, Sex};
use careweave_store::accounts::NewUser;
use careweave_store::audit::AuditFilter;
use careweave_store::directory::{DirectoryError, DirectorySettings, ReferralStatus};
use careweave_store::people::{NewOrganisation, NewPerson};
use careweave_store::records::RecordError;
use careweave_store::testing::TestDatabase;
use careweave_store::{Backend, Store};
use chrono::NaiveDate;
use secrecy::SecretString;

macro_rules! on_both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($store: Store) $body

            #[tokio::test]
            async fn sqlite() {
                run(TestDatabase::new(Backend::Sqlite).await.store).await;
            }

            #[tokio::test]
            async fn postgres() {
                run(TestDatabase::new(Backend::Postgres).await.store).await;
            }
        }
    };
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

struct World {
    charity: OrganisationId,
    person: PersonId,
    worker: Principal,
    colleague: Principal,
    provider_worker: Principal,
    provider_supervisor: Principal,
    other_worker: Principal,
    services: Vec<Service>,
}

async fn org(store: &Store, name: &str, kind: OrganisationKind) -> OrganisationId {
    store
        .insert_organisation(&NewOrganisation {
            name: name.into(),
            kind,
            ods_code: None,
            place: None,
        })
        .await
        .unwrap()
}

async fn user(store: &Store, name: &str, role: Role, at: OrganisationId) -> Principal {
    let id = store
        .create_user(NewUser {
            username: name.to_owned(),
            display_name: name.to_owned(),
            password: SecretString::from("correct horse battery staple".to_owned()),
            memberships: vec![Membership {
                organisation: at,
                role,
            }],
        })
        .await
        .unwrap();
    store.principal(id).await.unwrap()
}

async fn world(store: &Store) -> World {
    let practice = org(store, "Riverside Surgery", OrganisationKind::GpPractice).await;
    let charity = org(store, "Riverside Community Trust", OrganisationKind::Vcse).await;
    let hillside = org(store, "Hillside Wellbeing Network", OrganisationKind::Vcse).await;
    let council = org(store, "Riverside City Council", OrganisationKind::Council).await;
    let person = store
        .register_person(
            None,
            &NewPerson {
                nhs_number: "9434765919".parse::<NhsNumber>().unwrap(),
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
    let worker = user(store, "worker", Role::Worker, charity).await;
    let colleague = user(store, "colleague", Role::Worker, charity).await;
    let provider_worker = user(store, "provider", Role::Worker, hillside).await;
    let provider_supervisor = user(store, "provider-supervisor", Role::Supervisor, hillside).await;
    let other_worker = user(store, "council-worker", Role::Worker, council).await;
    store
        .add_to_care_team(None, person, worker.user, charity, today())
        .await
        .unwrap();
    let d = demo::generate(3, 60, &careweave_directory::PostcodeTable::new(), today()).unwrap();
    store.load_postcodes(&d.postcodes).await.unwrap();
    World {
        charity,
        person,
        worker,
        colleague,
        provider_worker,
        provider_supervisor,
        other_worker,
        services: d.services,
    }
}

/// The world with its directory published by the charity.
async fn published_world(store: &Store) -> World {
    let w = world(store).await;
    store
        .import_directory(None, w.charity, &w.services, "test")
        .await
        .unwrap();
    w
}

on_both_backends!(
    imports_publish_update_by_id_and_bump_the_revision,
    |store| {
        let w = world(&store).await;
        let before = store.directory_revision().await.unwrap();
        let outcome = store
            .import_directory(None, w.charity, &w.services, "test")
            .await
            .unwrap();
        assert_eq!((outcome.added, outcome.updated), (w.services.len(), 0));
        assert!(store.directory_revision().await.unwrap() > before);
        let published = store.directory_services().await.unwrap();
        assert_eq!(published.len(), w.services.len());
        // Every service comes back exactly as it went in.
        let mut back: Vec<Service> = published.into_iter().map(|p| p.service).collect();
        let mut sent = w.services.clone();
        back.sort_by(|a, b| a.id.cmp(&b.id));
        sent.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(back, sent);

        // Re-importing the same ids updates rather than duplicates (the charity's own entries:
        // those another organisation keeps are refused, see the test below).
        let mut changed: Vec<Service> = w
            .services
            .iter()
            .filter(|s| s.organization.name != "Hillside Wellbeing Network")
            .take(5)
            .cloned()
            .collect();
        changed[0].name = "Renamed service".into();
        let outcome = store
            .import_directory(None, w.charity, &changed, "test")
            .await
            .unwrap();
        assert_eq!((outcome.added, outcome.updated), (0, 5));
        assert_eq!(
            store.directory_services().await.unwrap().len(),
            w.services.len()
        );
        let one = store
            .directory_service(changed[0].id.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(one.service.name, "Renamed service");

        // Services of a careweave organisation are linked to it as provider and owned by it.
        let flagship = store
            .directory_service(demo::FLAGSHIP_ID)
            .await
            .unwrap()
            .unwrap();
        assert!(flagship.provider.is_some());
        assert_eq!(flagship.owner_name, "Hillside Wellbeing Network");
        let unlinked = store
            .directory_services()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.provider.is_none())
            .unwrap();
        assert_eq!(unlinked.owner, w.charity);
    }
);

on_both_backends!(
    an_import_never_changes_an_entry_another_organisation_keeps,
    |store| {
        let w = published_world(&store).await;
        let council = w.other_worker.memberships[0].organisation;
        let flagship = store
            .directory_service(demo::FLAGSHIP_ID)
            .await
            .unwrap()
            .unwrap();
        let kept = store
            .directory_services()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.owner == w.charity)
            .unwrap();
        // The council imports both entries under its own name (which would make it their provider,
        // and so the recipient of their direct referrals), and one new service of its own.
        let sheet = format!(
            "id,organization_id,organization_name,name,needs,opening_times\n\
             {},o9,Riverside City Council,Taken over,social-groups,TU 12:00-14:00\n\
             {},o9,Riverside City Council,Taken over,social-groups,TU 12:00-14:00\n\
             council-lunch,o9,Riverside City Council,Council lunch club,social-groups,TU 12:00-14:00\n",
            demo::FLAGSHIP_ID,
            kept.service.id
        );
        let (report, outcome) = store
            .import_directory_file(
                None,
                council,
                careweave_directory::Format::Csv,
                &sheet,
                "test",
            )
            .await
            .unwrap();
        assert_eq!(
            (report.read, report.accepted.len(), report.rejected),
            (3, 1, 2)
        );
        assert!(report.reconciles());
        assert_eq!(
            (outcome.added, outcome.updated, outcome.refused.len()),
            (1, 0, 2)
        );
        let said: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
        assert!(
            said.contains(&format!(
                "line 2 ({}), id: this service is kept by Hillside Wellbeing Network; only they can change it (ask them, or propose an edit)",
                demo::FLAGSHIP_ID
            )),
            "{said:?}"
        );
        assert!(
            said.iter().any(|d| d.starts_with(&format!(
                "line 3 ({}), id: this service is kept by Riverside Community Trust",
                kept.service.id
            ))),
            "{said:?}"
        );
        // Neither entry changed in any way: content, owner, and the provider referrals go to.
        assert_eq!(
            store
                .directory_service(demo::FLAGSHIP_ID)
                .await
                .unwrap()
                .unwrap(),
            flagship
        );
        assert_eq!(
            store
                .directory_service(kept.service.id.as_str())
                .await
                .unwrap()
                .unwrap(),
            kept
        );
        let added = store
            .directory_service("council-lunch")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((added.owner, added.provider), (council, Some(council)));

        // The same rule holds for a list of services published directly.
        let mut renamed = flagship.service.clone();
        renamed.name = "Taken over".into();
        let outcome = store
            .import_directory(None, council, &[renamed.clone()], "test")
            .await
            .unwrap();
        assert_eq!(
            outcome.refused,
            vec![(
                demo::FLAGSHIP_ID.to_owned(),
                "Hillside Wellbeing Network".to_owned()
            )]
        );
        // The organisation that keeps an entry still updates it.
        let hillside = flagship.owner;
        let outcome = store
            .import_directory(None, hillside, &[renamed], "test")
            .await
            .unwrap();
        assert_eq!((outcome.updated, outcome.refused.len()), (1, 0));
        let after = store
            .directory_service(demo::FLAGSHIP_ID)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (after.service.name.as_str(), after.owner, after.provider),
            ("Taken over", hillside, flagship.provider)
        );
    }
);

on_both_backends!(a_failing_import_leaves_nothing_behind, |store| {
    let w = world(&store).await;
    // An owner that does not exist breaks the import part-way (foreign key): nothing may remain.
    let missing_owner = OrganisationId::new(w.charity.get() + 1_000);
    let before = store.directory_revision().await.unwrap();
    assert!(store
        .import_directory(None, missing_owner, &w.services, "test")
        .await
        .is_err());
    assert!(store.directory_services().await.unwrap().is_empty());
    assert_eq!(store.directory_revision().await.unwrap(), before);
});

on_both_backends!(postcodes_are_found_and_unknown_ones_are_not, |store| {
    let w = world(&store).await;
    let known = w.services[0]
        .locations
        .iter()
        .find_map(|l| l.location.postcode().cloned())
        .unwrap();
    assert!(store.locate_postcode(&known).await.unwrap().is_some());
    let unknown = "ZZ1 1ZZ".parse().unwrap();
    assert!(store.locate_postcode(&unknown).await.unwrap().is_none());
    let table = store
        .postcode_table_for(&[known.clone(), unknown])
        .await
        .unwrap();
    assert_eq!(table.len(), 1);
});

on_both_backends!(
    a_directory_referral_opens_the_record_to_the_provider_only_once_accepted,
    |store| {
        let w = published_world(&store).await;
        let flagship = demo::FLAGSHIP_ID;

        // Before any referral the provider has no reason to see the person.
        assert!(matches!(
            store.read_person(&w.provider_worker, w.person).await,
            Err(RecordError::Denied)
        ));
        // A worker outside the care team may neither signpost nor refer (a referral needs the
        // proof that its author may read the person, which they cannot get), and the attempt is
        // audited.
        assert!(matches!(
            store.open_person(&w.colleague, w.person).await,
            Err(RecordError::Denied)
        ));
        // One user's proof does not send another user's referral.
        let workers_proof = store.open_person(&w.worker, w.person).await.unwrap();
        assert!(matches!(
            store
                .refer(&w.colleague, &workers_proof, flagship, "lonely")
                .await,
            Err(DirectoryError::Denied)
        ));
        // Signposting takes the person's capability, which the colleague cannot get.
        assert!(store
            .person_for(&w.colleague, w.person, "directory: ")
            .await
            .is_err());

        let worker_access = store
            .person_for(&w.worker, w.person, "directory: ")
            .await
            .unwrap();
        let signpost = store
            .signpost(&worker_access, flagship, "Gave the leaflet")
            .await
            .unwrap();
        let referral = store
            .refer(
                &w.worker,
                &workers_proof,
                flagship,
                "Feels lonely since moving",
            )
            .await
            .unwrap();

        // The referral waits with the provider, whose staff see what was sent (and not yet the
        // record: it opens when they accept).
        assert!(matches!(
            store.read_person(&w.provider_worker, w.person).await,
            Err(RecordError::Denied)
        ));
        let incoming = store.incoming_referrals(&w.provider_worker).await.unwrap();
        assert_eq!(incoming.len(), 1);
        assert_eq!(incoming[0].status, ReferralStatus::Pending);
        assert_eq!(incoming[0].person_name, "Ada Example");
        assert!(!incoming[0].record_open);
        assert!(store
            .incoming_referrals(&w.other_worker)
            .await
            .unwrap()
            .is_empty());

        // Only the provider answers, and only once.
        assert!(matches!(
            store
                .answer_referral(&w.other_worker, referral, true, "")
                .await,
            Err(DirectoryError::Denied)
        ));
        store
            .answer_referral(&w.provider_worker, referral, true, "Volunteer matched")
            .await
            .unwrap();
        assert!(matches!(
            store
                .answer_referral(&w.provider_supervisor, referral, false, "")
                .await,
            Err(DirectoryError::Refused(_))
        ));
        // Accepted, the referral keeps the record open to the provider, who is now giving the
        // support, and lists it; 90 days after the acceptance it no longer does.
        assert!(store
            .read_person(&w.provider_worker, w.person)
            .await
            .is_ok());
        let accepted = store.accepted_referrals(&w.provider_worker).await.unwrap();
        assert_eq!(accepted.len(), 1);
        assert!(accepted[0].record_open);
        assert!(store
            .incoming_referrals(&w.provider_worker)
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            store.read_person(&w.other_worker, w.person).await,
            Err(RecordError::Denied)
        ));
        sqlx::query("UPDATE directory_referrals SET answered_at = $1 WHERE id = $2")
            .bind("2020-01-01T09:00:00.000000Z")
            .bind(referral)
            .execute(store.pool())
            .await
            .unwrap();
        assert!(matches!(
            store.read_person(&w.provider_worker, w.person).await,
            Err(RecordError::Denied)
        ));
        assert!(store
            .accepted_referrals(&w.provider_worker)
            .await
            .unwrap()
            .is_empty());

        // The care team sees the outcome, and the author's list links to the record they may read.
        let mine = store.my_referrals(&w.worker).await.unwrap();
        assert!(mine[0].record_open);
        let activity = store
            .person_directory_activity(&worker_access)
            .await
            .unwrap();
        assert_eq!(activity.signposts.len(), 1);
        assert_eq!(activity.referrals[0].status, ReferralStatus::Accepted);
        assert_eq!(
            activity.referrals[0].answer_note.as_deref(),
            Some("Volunteer matched")
        );

        assert_eq!(
            store.signpost_for(&w.worker, signpost).await.unwrap().note,
            "Gave the leaflet"
        );
        assert!(matches!(
            store.signpost_for(&w.colleague, signpost).await,
            Err(DirectoryError::Denied)
        ));

        // A service without direct referrals refuses one, with words a worker can act on.
        let signposting_only = w.services.iter().find(|s| !s.accepts_referrals).unwrap();
        let err = store
            .refer(
                &w.worker,
                &store.open_person(&w.worker, w.person).await.unwrap(),
                signposting_only.id.as_str(),
                "x",
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("does not take direct referrals"),
            "{err}"
        );

        // Every write and read is in the audit log, against the person.
        let log = store
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(w.person.get()),
                limit: 100,
            })
            .await
            .unwrap();
        let said = |text: &str| log.iter().any(|e| e.reason.contains(text));
        assert!(said(&format!("directory signpost {signpost}")));
        assert!(said(&format!("directory referral {referral} to service")));
        assert!(said(&format!("directory referral {referral} accepted")));
        assert!(said("referral_accepted_by_my_organisation"));
        assert!(said("named the person"));
        assert!(log
            .iter()
            .any(|e| e.action == "denied" && e.reason.starts_with("directory")));
    }
);

on_both_backends!(
    entries_are_kept_true_by_owners_providers_and_reviewers,
    |store| {
        let w = published_world(&store).await;
        store
            .set_directory_settings(
                w.worker.user,
                DirectorySettings {
                    referral_flag_days: 5,
                    stale_after_days: 200,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            store.directory_settings().await.unwrap().stale_after_days,
            200
        );

        // Stale entries are listed to their owner, and marking one reviewed takes it off the list.
        let stale = store.stale_entries(&w.worker, today()).await.unwrap();
        assert!(!stale.is_empty());
        assert!(stale.iter().all(|p| p.owner == w.charity));
        let first = stale[0].service.id.to_string();
        store
            .mark_reviewed(&w.worker, &first, today())
            .await
            .unwrap();
        assert!(!store
            .stale_entries(&w.worker, today())
            .await
            .unwrap()
            .iter()
            .any(|p| p.service.id.as_str() == first));
        assert!(matches!(
            store.mark_reviewed(&w.other_worker, &first, today()).await,
            Err(DirectoryError::Refused(_))
        ));

        // Anyone reports a wrong entry; the owner sees and closes the report.
        let report = store
            .report_entry(w.other_worker.user, &first, "The phone number is wrong")
            .await
            .unwrap();
        assert_eq!(store.open_reports(&w.worker).await.unwrap().len(), 1);
        assert!(store
            .open_reports(&w.other_worker)
            .await
            .unwrap()
            .is_empty());
        store.resolve_report(&w.worker, report).await.unwrap();
        assert!(store.open_reports(&w.worker).await.unwrap().is_empty());

        // A provider proposes an edit to its own entry; it is published only after review.
        let current = store
            .directory_service(demo::FLAGSHIP_ID)
            .await
            .unwrap()
            .unwrap();
        let mut edited = current.service.clone();
        edited.description = "Now also on Saturdays".into();
        assert!(matches!(
            store
                .propose_edit(&w.other_worker, &edited, "not mine")
                .await,
            Err(DirectoryError::Refused(_))
        ));
        let proposal = store
            .propose_edit(&w.provider_worker, &edited, "New day")
            .await
            .unwrap();
        assert_eq!(
            store
                .directory_service(demo::FLAGSHIP_ID)
                .await
                .unwrap()
                .unwrap()
                .service
                .description,
            current.service.description,
            "not published before review"
        );
        assert!(matches!(
            store
                .decide_proposal(&w.provider_worker, proposal, true, today())
                .await,
            Err(DirectoryError::Refused(_))
        ));
        let revision = store.directory_revision().await.unwrap();
        store
            .decide_proposal(&w.provider_supervisor, proposal, true, today())
            .await
            .unwrap();
        let after = store
            .directory_service(demo::FLAGSHIP_ID)
            .await
            .unwrap()
            .unwrap()
            .service;
        assert_eq!(after.description, "Now also on Saturdays");
        assert_eq!(after.last_reviewed, Some(today()));
        assert!(store.directory_revision().await.unwrap() > revision);
        assert!(store.pending_proposals().await.unwrap().is_empty());
    }
);

on_both_backends!(unmet_needs_are_counted_by_category_and_area, |store| {
    let w = world(&store).await;
    let food = Need::find("food").unwrap();
    let debt = Need::find("debt-advice").unwrap();
    for _ in 0..9 {
        store
            .record_unmet_need(w.worker.user, food, "RV1")
            .await
            .unwrap();
    }
    store
        .record_unmet_need(w.worker.user, debt, "RV2")
        .await
        .unwrap();
    let counts = store
        .unmet_need_counts(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap())
        .await
        .unwrap();
    assert_eq!(counts.len(), 2);
    assert_eq!(
        (
            counts[0].need.as_str(),
            counts[0].area.as_str(),
            counts[0].count
        ),
        ("debt-advice", "RV2", 1)
    );
    assert_eq!(
        (
            counts[1].need.as_str(),
            counts[1].area.as_str(),
            counts[1].count
        ),
        ("food", "RV1", 9)
    );
    assert!(store
        .unmet_need_counts(NaiveDate::from_ymd_opt(2999, 1, 1).unwrap())
        .await
        .unwrap()
        .is_empty());
});
