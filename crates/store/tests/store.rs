//! The store's behaviour, run identically on SQLite and PostgreSQL.

use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, PersonId, PlaceLevel, Sex};
use careweave_store::audit::{AuditAction, AuditEvent, AuditFilter};
use careweave_store::people::{NewOrganisation, NewPerson, NewPlace};
use careweave_store::records::RecordError;
use careweave_store::testing::TestDatabase;
use careweave_store::{accounts::NewUser, Backend, Store, StoreError};
use chrono::NaiveDate;
use secrecy::SecretString;

/// Runs one async test body against a fresh database on each backend.
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

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn test_nhs_number(n: u32) -> NhsNumber {
    // Walk the 999 range until a prefix has a valid check digit.
    (n..)
        .find_map(|k| {
            let s = format!("{k:06}");
            let d: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
            NhsNumber::from_first_nine([9, 9, 9, d[0], d[1], d[2], d[3], d[4], d[5]])
        })
        .unwrap()
}

struct World {
    practice: OrganisationId,
    charity: OrganisationId,
    person: PersonId,
    worker: Principal,
    colleague: Principal,
    admin: Principal,
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
    let pcn = store
        .insert_place(&NewPlace {
            level: PlaceLevel::Pcn,
            code: "U00001".into(),
            name: "Riverside PCN".into(),
            parent: None,
            imd_decile: None,
        })
        .await
        .unwrap();
    let practice = store
        .insert_organisation(&NewOrganisation {
            name: "Riverside Surgery".into(),
            kind: OrganisationKind::GpPractice,
            ods_code: Some("Y00001".parse().unwrap()),
            place: Some(pcn),
        })
        .await
        .unwrap();
    let charity = store
        .insert_organisation(&NewOrganisation {
            name: "Riverside Community Trust".into(),
            kind: OrganisationKind::Vcse,
            ods_code: None,
            place: None,
        })
        .await
        .unwrap();
    let person = store
        .register_person(
            None,
            &NewPerson {
                nhs_number: test_nhs_number(1),
                given_name: "Ada".into(),
                family_name: "Example".into(),
                date_of_birth: date(1950, 5, 17),
                sex: Sex::Female,
                postcode: Some("LS1 4AP".parse().unwrap()),
                lsoa: Some("E01000001".parse().unwrap()),
                imd_decile: Some(careweave_domain::ImdDecile::new(1).unwrap()),
                registered_practice: practice,
                household: None,
                date_of_death: None,
            },
            "test setup",
        )
        .await
        .unwrap();
    let worker = user(store, "worker@example.org", Role::Worker, charity).await;
    let colleague = user(store, "colleague@example.org", Role::Worker, charity).await;
    let admin = user(store, "admin@example.org", Role::Admin, charity).await;
    store
        .add_to_care_team(None, person, worker.user, charity, date(2026, 1, 5))
        .await
        .unwrap();
    World {
        practice,
        charity,
        person,
        worker,
        colleague,
        admin,
    }
}

on_both_backends!(migrations_enforce_foreign_keys, |store| {
    let w = world(&store).await;
    // A person registered with an organisation that does not exist must be refused by the database.
    let orphan = NewPerson {
        nhs_number: test_nhs_number(500),
        given_name: "Orphan".into(),
        family_name: "Record".into(),
        date_of_birth: date(1980, 1, 1),
        sex: Sex::Unknown,
        postcode: None,
        lsoa: None,
        imd_decile: None,
        registered_practice: OrganisationId::new(w.practice.get() + 1000),
        household: None,
        date_of_death: None,
    };
    assert!(store.register_person(None, &orphan, "test").await.is_err());
});

on_both_backends!(nhs_numbers_are_unique, |store| {
    let w = world(&store).await;
    let mut again = NewPerson {
        nhs_number: test_nhs_number(1),
        given_name: "Dup".into(),
        family_name: "Licate".into(),
        date_of_birth: date(1950, 5, 17),
        sex: Sex::Female,
        postcode: None,
        lsoa: None,
        imd_decile: None,
        registered_practice: w.practice,
        household: None,
        date_of_death: None,
    };
    let err = store
        .register_person(None, &again, "test")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
    again.nhs_number = test_nhs_number(2);
    store.register_person(None, &again, "test").await.unwrap();
});

on_both_backends!(passwords_and_sessions, |store| {
    let w = world(&store).await;
    let good = SecretString::from("correct horse battery staple".to_owned());
    let bad = SecretString::from("wrong".to_owned());
    assert_eq!(
        store
            .verify_password("WORKER@example.org ", &good)
            .await
            .unwrap(),
        Some(w.worker.user)
    );
    assert_eq!(
        store
            .verify_password("worker@example.org", &bad)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .verify_password("nobody@example.org", &good)
            .await
            .unwrap(),
        None
    );

    let token = store
        .create_session(w.worker.user, chrono::Duration::hours(8))
        .await
        .unwrap();
    let now = chrono::Utc::now();
    assert_eq!(
        store.session_user(&token, now).await.unwrap(),
        Some(w.worker.user)
    );
    // The one-call lookup every signed-in page uses agrees with the separate ones.
    let signed_in = store.signed_in(&token, now).await.unwrap().unwrap();
    assert_eq!(
        signed_in.principal,
        store.principal(w.worker.user).await.unwrap()
    );
    assert_eq!(
        signed_in.display_name,
        store.display_name(w.worker.user).await.unwrap()
    );
    assert_eq!(
        signed_in.labels,
        store.membership_labels(w.worker.user).await.unwrap()
    );
    // The same token after its expiry no longer signs anyone in.
    let later = now + chrono::Duration::hours(9);
    assert_eq!(store.session_user(&token, later).await.unwrap(), None);
    assert_eq!(store.signed_in(&token, later).await.unwrap(), None);
    store.delete_session(&token).await.unwrap();
    assert_eq!(store.session_user(&token, now).await.unwrap(), None);
    assert_eq!(store.signed_in(&token, now).await.unwrap(), None);
});

on_both_backends!(duplicate_usernames_are_refused, |store| {
    let w = world(&store).await;
    let err = store
        .create_user(NewUser {
            username: "Worker@Example.org".into(),
            display_name: "Someone else".into(),
            password: SecretString::from("another long password".to_owned()),
            memberships: vec![Membership {
                organisation: w.charity,
                role: Role::Worker,
            }],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
});

on_both_backends!(reads_follow_the_policy_and_are_audited, |store| {
    let w = world(&store).await;
    let record = store.read_person(&w.worker, w.person).await.unwrap();
    assert_eq!(record.person.given_name, "Ada");
    assert_eq!(record.care_team.len(), 1);

    assert!(matches!(
        store.read_person(&w.colleague, w.person).await,
        Err(RecordError::Denied)
    ));
    assert!(matches!(
        store.read_person(&w.admin, w.person).await,
        Err(RecordError::Denied)
    ));

    let log = store
        .audit_entries(&AuditFilter {
            entity: Some("person".into()),
            entity_id: Some(w.person.get()),
            limit: 50,
        })
        .await
        .unwrap();
    let actions: Vec<(&str, Option<&str>)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.username.as_deref()))
        .collect();
    assert!(
        actions.contains(&("read", Some("worker@example.org"))),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("denied", Some("colleague@example.org"))),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("denied", Some("admin@example.org"))),
        "{actions:?}"
    );
    assert!(actions.contains(&("create", None)), "{actions:?}");
    let read = log.iter().find(|e| e.action == "read").unwrap();
    assert_eq!(read.reason, "care_team_member");

    let caseload = store.my_people(&w.worker).await.unwrap();
    assert_eq!(caseload.len(), 1);
    assert!(store.my_people(&w.colleague).await.unwrap().is_empty());
});

on_both_backends!(audit_log_is_append_only, |store| {
    let _ = world(&store).await;
    for sql in [
        "UPDATE audit_log SET reason = 'tampered'",
        "DELETE FROM audit_log",
    ] {
        let result = sqlx::query(sql).execute(store.pool()).await;
        let message = result.expect_err("the database must refuse").to_string();
        assert!(message.contains("append-only"), "{message}");
    }
});

on_both_backends!(
    concurrent_audited_reads_commit_together_and_fail_alone,
    |store| {
        let w = world(&store).await;
        // Forty reads at once, one naming a user who does not exist (the log's foreign key refuses
        // it): they share a commit, and the bad one must fail alone rather than take its neighbours'
        // rows with it.
        let mut reads = tokio::task::JoinSet::new();
        for n in 0..40_i64 {
            let store = store.clone();
            let user = if n == 17 {
                careweave_domain::UserId::new(999_999)
            } else {
                w.worker.user
            };
            reads.spawn(async move {
                let outcome = store
                    .audit(AuditEvent {
                        user: Some(user),
                        action: AuditAction::Read,
                        entity: "group_commit_test",
                        entity_id: Some(n),
                        reason: "test".into(),
                    })
                    .await;
                (n, outcome.is_ok())
            });
        }
        let mut failed = Vec::new();
        while let Some(done) = reads.join_next().await {
            let (n, ok) = done.expect("the task ran");
            if !ok {
                failed.push(n);
            }
        }
        assert_eq!(failed, [17]);
        let mut logged: Vec<i64> = store
            .audit_entries(&AuditFilter {
                entity: Some("group_commit_test".into()),
                entity_id: None,
                limit: 100,
            })
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| e.entity_id)
            .collect();
        logged.sort_unstable();
        let expected: Vec<i64> = (0..40).filter(|n| *n != 17).collect();
        assert_eq!(logged, expected);
    }
);

on_both_backends!(practice_list_sizes_count_registered_people, |store| {
    let w = world(&store).await;
    let sizes = store.practice_list_sizes().await.unwrap();
    assert_eq!(sizes.len(), 1);
    assert_eq!(sizes[0].practice, "Riverside Surgery");
    assert_eq!(sizes[0].people, 1);
    let _ = w;
});

#[tokio::test]
async fn a_broken_database_gives_a_clear_error() {
    // A file that is not a database: connecting or migrating must fail loudly, never recreate it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-database.db");
    std::fs::write(&path, b"this is not an SQLite file, and it is longer than one hundred bytes so that SQLite reads its header and refuses it").unwrap();
    let url = careweave_store::DatabaseUrl::sqlite_file(&path);
    let outcome = async { Store::connect(&url).await?.migrate().await }.await;
    assert!(outcome.is_err(), "a corrupt file must not be accepted");
    assert!(
        std::fs::read(&path).unwrap().starts_with(b"this is not"),
        "the file was overwritten"
    );
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_on() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let mode: (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(mode.0.to_lowercase(), "wal");
    let fk: (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    assert_eq!(fk.0, 1);
}

/// The access policy is asked from one place: `src/access.rs`, the door that builds the
/// capabilities. Any other module calling `can_read_person` or `can_change_case` would be a second
/// door (issue 13), so this reads the sources and fails naming the file.
#[test]
fn only_the_access_door_asks_the_access_policy() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    for file in files {
        if file.ends_with("access.rs") && file.parent() == Some(src.as_path()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for call in ["can_read_person(", "can_change_case("] {
            assert!(
                !text.contains(call),
                "{} calls {call}: ask the access door (store::access) instead",
                file.display()
            );
        }
        assert!(
            !text.contains("use crate::casework::{") || !text.contains("record_change"),
            "{} borrows change helpers from casework: take them from store::change",
            file.display()
        );
    }
}

/// The Rust source files below `dir`, failing when there are too few to be the real tree.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    assert!(
        files.len() > 10,
        "the sources below {} were found",
        dir.display()
    );
    files
}

/// Everything each `casework::` path in `text` names, up to the end of its statement, so that a
/// multi-line `use super::casework::{…};` is read whole.
fn casework_paths(text: &str) -> Vec<&str> {
    text.match_indices("casework::")
        .map(|(at, _)| {
            let rest = &text[at..];
            &rest[..rest.find([';', ')', '\n']).map_or(rest.len(), |end| {
                // A braced list runs to its closing brace, across lines.
                if rest.starts_with("casework::{") {
                    rest.find('}').unwrap_or(end)
                } else {
                    end
                }
            })]
        })
        .collect()
}

/// No feature module borrows casework's helpers (issue 13): the audited change helpers live in
/// `store::change` and the form and error helpers in `web::forms` and `web::error`, so a new
/// context never has to reach into casework. A module may still use casework's own types (a
/// case page, a service); this reads the sources of the store and the web crates and fails
/// naming the file and the helper.
#[test]
fn no_module_borrows_helpers_from_casework() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let rules: [(&str, &str, &[&str]); 2] = [
        (
            "store/src",
            "store/src/casework",
            &[
                "record_change",
                "change_audited",
                "Bind",
                "audit_tx",
                "get_code",
                "display_name",
                "ActionError",
                "CaseworkError",
            ],
        ),
        (
            "web/src",
            "web/src/pages/casework",
            &[
                "Pairs",
                "FormErrors",
                "date_from",
                "required",
                "choice",
                "errors_json",
                "body_pairs",
                "AppError",
            ],
        ),
    ];
    for (tree, feature, helpers) in rules {
        for file in rust_files(&crates.join(tree)) {
            if file.starts_with(crates.join(feature)) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for path in casework_paths(&text) {
                for helper in helpers {
                    let named = path
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .any(|word| word == *helper);
                    assert!(
                        !named,
                        "{} takes {helper} from casework ({path}): take it from the shared module",
                        file.display()
                    );
                }
            }
        }
    }
}
