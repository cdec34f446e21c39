//! Fresh databases for tests, on either backend (enabled by the `test-support` feature).
//!
//! SQLite databases are files in a temporary directory. PostgreSQL databases are created on the
//! server named by `CAREWEAVE_TEST_POSTGRES_URL`, one new database per test, so tests never share
//! state. Without that variable PostgreSQL tests fail with a message saying how to provide it:
//! a test is never skipped silently. `scripts/test` starts a throwaway server and sets it.
//! [`cross_employer_case`] builds a case shared by two employers for the tests of both the store
//! and the web crate.

use std::str::FromStr;

use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::casework::{
    CaseId, CaseRole, EligibilityRule, Intensity, ReferralRoute, ReferralSource, ReviewInterval,
    ServiceKind, Urgency,
};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, Sex};
use chrono::NaiveDate;
use secrecy::SecretString;

use crate::accounts::NewUser;
use crate::casework::{CaseworkSettings, NewReferral, ReferredPerson, Referrer, TriageDecision};
use crate::people::{NewOrganisation, NewPerson};
use crate::{Backend, DatabaseUrl, Store};

/// The `denied` audit rows about one person, so that a test can prove a refusal was recorded.
///
/// # Panics
///
/// Panics when the audit log cannot be read, which fails the test that asked.
pub async fn denied_rows(store: &Store, person: careweave_domain::PersonId) -> usize {
    store
        .audit_entries(&crate::audit::AuditFilter {
            entity: Some("person".into()),
            entity_id: Some(person.get()),
            limit: 1000,
        })
        .await
        .expect("the audit log reads")
        .iter()
        .filter(|e| e.action == "denied")
        .count()
}

/// The variable naming a PostgreSQL server (a URL to any database on it) for tests.
pub const POSTGRES_ENV: &str = "CAREWEAVE_TEST_POSTGRES_URL";

/// A migrated, empty database that lives as long as this value.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: DatabaseUrl,
    pub store: Store,
    // Keeps the SQLite file's directory alive until the test ends.
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// Creates a fresh database on `backend` and runs the migrations.
    ///
    /// # Panics
    /// When the database cannot be created, or PostgreSQL is asked for without `CAREWEAVE_TEST_POSTGRES_URL`.
    pub async fn new(backend: Backend) -> Self {
        let db = Self::unmigrated(backend).await;
        db.store.migrate().await.expect("migrate the test database");
        db
    }

    /// Creates a fresh, empty database on `backend` without running any migration, for the
    /// upgrade test, which builds an older release's schema first.
    ///
    /// # Panics
    /// As [`TestDatabase::new`].
    pub async fn unmigrated(backend: Backend) -> Self {
        let (url, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                (
                    DatabaseUrl::sqlite_file(&dir.path().join("careweave.db")),
                    Some(dir),
                )
            }
            Backend::Postgres => (fresh_postgres_database().await, None),
        };
        let store = Store::connect(&url)
            .await
            .expect("connect to the test database");
        Self {
            url,
            store,
            _dir: dir,
        }
    }
}

async fn fresh_postgres_database() -> DatabaseUrl {
    let server = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_ENV} is not set: PostgreSQL tests need a server. Run scripts/test, which starts \
             one, or set {POSTGRES_ENV}=postgres://USER@HOST:PORT/postgres"
        )
    });
    let admin = DatabaseUrl::from_str(&server).expect("a postgres:// URL");
    assert_eq!(
        admin.backend(),
        Backend::Postgres,
        "{POSTGRES_ENV} must be a postgres:// URL"
    );
    let admin_store = Store::connect(&admin)
        .await
        .expect("connect to the PostgreSQL test server");
    let name = format!(
        "careweave_test_{}",
        crate::accounts::random_token()
            .to_lowercase()
            .replace(['-', '_'], "")
    );
    let name: String = name.chars().take(48).collect();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin_store.pool())
        .await
        .expect("create a test database");
    admin_store.close().await;
    // Replace the database part of the URL (after the last '/', before any '?').
    let (base, query) = server
        .split_once('?')
        .map_or((server.as_str(), ""), |(b, q)| (b, q));
    let base = &base[..base.rfind('/').expect("URL has a path")];
    let url = if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    };
    DatabaseUrl::from_str(&url).expect("a postgres:// URL")
}

/// A social prescribing case run by a charity whose waiting list the PCN also works (SAPA 5's
/// shape): the charity's worker leads it and the PCN's worker is a co-worker from another
/// employer. Tests of rules that tell employers apart (safeguarding) start from here.
#[derive(Debug, Clone)]
pub struct CrossEmployerCase {
    pub case: CaseId,
    pub practice: OrganisationId,
    pub pcn: OrganisationId,
    /// Runs the case's service.
    pub charity: OrganisationId,
    /// `lead@test`, a worker of the charity and the case's lead.
    pub lead: Principal,
    /// `coworker@test`, a worker of the PCN and a co-worker on the case.
    pub coworker: Principal,
}

/// The first valid NHS number in the 999 test range at or after `999 nnnnnn`, for tests that
/// need many distinct people.
///
/// # Panics
/// When `n` is beyond the six digits the range leaves.
#[must_use]
pub fn test_nhs_number(n: u32) -> NhsNumber {
    (n..1_000_000)
        .find_map(|k| {
            let d: Vec<u8> = format!("{k:06}").bytes().map(|b| b - b'0').collect();
            NhsNumber::from_first_nine([9, 9, 9, d[0], d[1], d[2], d[3], d[4], d[5]])
        })
        .expect("a valid NHS number in the test range")
}

/// Creates the account `{name}@test` ("Test {name}") with one role and returns its principal.
///
/// # Panics
/// When the account cannot be created.
pub async fn test_user(
    store: &Store,
    name: &str,
    role: Role,
    organisation: OrganisationId,
    password: &str,
) -> Principal {
    let id = store
        .create_user(NewUser {
            username: format!("{name}@test"),
            display_name: format!("Test {name}"),
            password: SecretString::from(password.to_owned()),
            memberships: vec![Membership { organisation, role }],
        })
        .await
        .expect("create a test user");
    store.principal(id).await.expect("read the test user")
}

/// Builds a [`CrossEmployerCase`] in `store`, opened today through referral, triage and
/// allocation, with `password` for both accounts.
///
/// # Panics
/// When any step of the journey fails.
pub async fn cross_employer_case(store: &Store, password: &str) -> CrossEmployerCase {
    let org = |name: &str, kind| NewOrganisation {
        name: name.into(),
        kind,
        ods_code: None,
        place: None,
    };
    let mut orgs = Vec::new();
    for (name, kind) in [
        ("Riverside Surgery", OrganisationKind::GpPractice),
        ("Riverside PCN", OrganisationKind::Pcn),
        ("Riverside Community Trust", OrganisationKind::Vcse),
    ] {
        orgs.push(
            store
                .insert_organisation(&org(name, kind))
                .await
                .expect("organisation"),
        );
    }
    let (practice, pcn, charity) = (orgs[0], orgs[1], orgs[2]);
    let service = store
        .insert_service("Social prescribing", charity, None, "Link workers")
        .await
        .expect("service");
    store
        .add_casework_settings(
            service,
            &CaseworkSettings {
                kind: ServiceKind::SocialPrescribing,
                rule: EligibilityRule::Open,
                review_interval: ReviewInterval::days(42).expect("a valid interval"),
                worker_cap: None,
                practice_cap: None,
                partners: vec![pcn],
            },
        )
        .await
        .expect("casework settings");
    let nhs: NhsNumber = "9434765919".parse().expect("a valid NHS number");
    let born = NaiveDate::from_ymd_opt(1950, 5, 17).expect("a date");
    store
        .register_person(
            None,
            &NewPerson {
                nhs_number: nhs,
                given_name: "Ada".into(),
                family_name: "Example".into(),
                date_of_birth: born,
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
        .expect("person");
    let lead = test_user(store, "lead", Role::Worker, charity, password).await;
    let coworker = test_user(store, "coworker", Role::Worker, pcn, password).await;
    let today = store.clock().today();
    let referral = store
        .create_referral(&NewReferral {
            service,
            known_person: None,
            person: ReferredPerson {
                given_name: "Ada".into(),
                family_name: "Example".into(),
                date_of_birth: born,
                nhs_number: Some(nhs),
                practice: Some(practice),
                contact: "07700 900000".into(),
            },
            source: ReferralSource::Gp,
            route: ReferralRoute::App,
            reason: "Isolated".into(),
            needs: "Company".into(),
            concerns: String::new(),
            need_domains: vec![],
            risk_flags: vec![],
            cohort: None,
            urgency: Urgency::Soon,
            consent_share_detail: true,
            referrer: Referrer {
                user: None,
                name: "Dr Rae Referrer".into(),
                contact: "Riverside Surgery".into(),
            },
            received_on: today,
        })
        .await
        .expect("referral");
    let accept = TriageDecision::Accept {
        lead: Some(lead.user),
        reason: "Fits the service".into(),
        override_reason: None,
        intensity: Intensity::High,
        confirm_over_capacity: false,
    };
    let case = store
        .triage(&lead, referral.id, &accept, today)
        .await
        .expect("triage")
        .expect("a case");
    let access = store
        .open_case(&lead, case, true)
        .await
        .expect("the lead opens the case");
    store
        .allocate(&access, coworker.user, CaseRole::CoWorker, false, today)
        .await
        .expect("allocate the co-worker");
    CrossEmployerCase {
        case,
        practice,
        pcn,
        charity,
        lead,
        coworker,
    }
}
