//! The right of access and retention, run identically on SQLite and PostgreSQL.
//!
//! Subject access: a bundle holds a row of every record type seeded for one person and nothing
//! of another person seeded the same way; the export is audited against the person; every table
//! holding a person's rows is covered. Retention: a dry run changes nothing, a purge removes
//! exactly what is past retention and nothing else, and the audit log only gains the purge rows.
//!
//! The records are seeded with plain SQL (each marked with its person's name) because the point
//! is what the export and the purge find in the tables, whatever wrote them.

use careweave_domain::NhsNumber;
use careweave_store::audit::{AuditAction, AuditEvent, AuditFilter};
use careweave_store::retention::{RecordKind, RetentionPolicy};
use careweave_store::subject_access::{covered_tables, SubjectAccessError, Value};
use careweave_store::testing::{cross_employer_case, TestDatabase};
use careweave_store::{Backend, Store};
use chrono::{Duration, Utc};
use sqlx::Row;

const PASSWORD: &str = "correct horse battery staple";

macro_rules! on_both_backends {
    ($name:ident, |$s:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($s: Store) $body

            #[tokio::test]
            async fn sqlite() {
                let db = TestDatabase::new(Backend::Sqlite).await;
                run(db.store.clone()).await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = TestDatabase::new(Backend::Postgres).await;
                run(db.store.clone()).await;
            }
        }
    };
}

async fn exec(store: &Store, sql: &str) {
    sqlx::query(sql)
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn insert(store: &Store, sql: &str) -> i64 {
    sqlx::query(&format!("{sql} RETURNING id"))
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<i64, _>("id")
}

async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(store.pool())
        .await
        .expect("count")
        .get::<i64, _>("n")
}

async fn exists(store: &Store, table: &str, id: i64) -> bool {
    sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE id = {id}"
    ))
    .fetch_one(store.pool())
    .await
    .expect("exists")
    .get::<i64, _>("n")
        == 1
}

fn nhs(n: u8) -> NhsNumber {
    (0..=9)
        .find_map(|last| NhsNumber::from_first_nine([9, 9, 9, 4, 0, 0, 0, n, last]))
        .expect("a valid test number")
}

fn days_ago(n: i64) -> String {
    (Utc::now().date_naive() - Duration::days(n)).to_string()
}

fn instant_days_ago(n: i64) -> String {
    (Utc::now() - Duration::days(n)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The ids shared by everything seeded: a user, their organisation, the casework service and a
/// directory service.
struct Base {
    user: i64,
    org: i64,
    practice: i64,
    service: i64,
    ada_case: i64,
}

async fn base(store: &Store) -> Base {
    let world = cross_employer_case(store, PASSWORD).await;
    let service = sqlx::query("SELECT service_id FROM casework_cases WHERE id = $1")
        .bind(world.case.get())
        .fetch_one(store.pool())
        .await
        .expect("the case's service")
        .get::<i64, _>("service_id");
    exec(
        store,
        &format!(
            "INSERT INTO directory_services (id, name, organization_id, organization_name, \
             provider_id, owner_id, accepts_referrals, last_modified, document) VALUES \
             ('svc-1', 'Walking group', 'org-1', 'Riverside Community Trust', {org}, {org}, 1, \
             '2026-01-01T00:00:00.000000Z', '{{}}')",
            org = world.charity.get()
        ),
    )
    .await;
    Base {
        user: world.lead.user.get(),
        org: world.charity.get(),
        practice: world.practice.get(),
        service,
        ada_case: world.case.get(),
    }
}

async fn person(store: &Store, b: &Base, given: &str, number: NhsNumber, born: &str) -> i64 {
    insert(
        store,
        &format!(
            "INSERT INTO people (nhs_number, given_name, family_name, date_of_birth, sex, \
             registered_practice_id) VALUES ('{}', '{given}', 'Example', '{born}', 'female', {})",
            number.as_digits(),
            b.practice
        ),
    )
    .await
}

/// A casework referral (marked in its name, contact, reason and referrer), received on `on` and,
/// unless still waiting, triaged that day. `person` is an id or `NULL` (never matched).
async fn referral(
    store: &Store,
    b: &Base,
    person: &str,
    number: Option<NhsNumber>,
    marker: &str,
    status: &str,
    on: &str,
) -> i64 {
    let number = number.map_or("NULL".to_owned(), |n| format!("'{}'", n.as_digits()));
    let triaged = if status == "waiting" {
        "NULL".to_owned()
    } else {
        format!("'{on}'")
    };
    insert(
        store,
        &format!(
            "INSERT INTO casework_referrals (service_id, person_id, given_name, family_name, \
             date_of_birth, nhs_number, contact, source, route, reason, needs, concerns, \
             need_domains, risk_flags, urgency, consent_share_detail, referrer_name, \
             referrer_contact, received_at, received_on, status, triaged_on) VALUES ({}, {person}, \
             '{marker}', 'Example', '1950-01-01', {number}, '{marker} phone', 'self', 'app', \
             '{marker} reason', '{marker} needs', '', '', '', 'soon', 1, 'Dr {marker}', 'surgery', \
             '2010-01-01T00:00:00.000000Z', '{on}', '{status}', {triaged})",
            b.service
        ),
    )
    .await
}

/// A referral and a case for `person` in the given state, returning (referral, case).
async fn case(
    store: &Store,
    b: &Base,
    person: i64,
    marker: &str,
    status: &str,
    discharged_on: Option<&str>,
) -> (i64, i64) {
    let referral = referral(
        store,
        b,
        &person.to_string(),
        None,
        marker,
        "accepted",
        "2010-01-01",
    )
    .await;
    let discharged = discharged_on.map_or("NULL".to_owned(), |d| format!("'{d}'"));
    let case = insert(
        store,
        &format!(
            "INSERT INTO casework_cases (person_id, service_id, referral_id, status, opened_on, \
             episode_started_on, intensity, review_due_on, discharged_on, discharge_reason, \
             discharge_summary, what_matters) VALUES ({person}, {}, {referral}, '{status}', \
             '2010-01-01', '2010-01-01', 'high', '2010-03-01', {discharged}, \
             {reason}, '{marker} summary', '{marker} matters')",
            b.service,
            reason = if discharged_on.is_some() {
                "'goals_met'"
            } else {
                "NULL"
            }
        ),
    )
    .await;
    exec(
        store,
        &format!("UPDATE casework_referrals SET case_id = {case} WHERE id = {referral}"),
    )
    .await;
    (referral, case)
}

/// One row in every table recorded on a case, each marked. Returns the ids of the rows whose
/// fate the retention test follows: (contact, concern, MDT item, outcome record, event).
async fn case_records(
    store: &Store,
    b: &Base,
    case: i64,
    marker: &str,
) -> (i64, i64, i64, i64, i64) {
    let u = b.user;
    let contact = insert(store, &format!(
        "INSERT INTO casework_contacts (case_id, contact_type, contact_on, minutes, present, note, \
         recorded_by, recorded_at) VALUES ({case}, 'face_to_face', '2010-02-01', 30, '{marker} present', \
         '{marker} contact', {u}, '2010-02-01T10:00:00.000000Z')")).await;
    exec(
        store,
        &format!(
            "INSERT INTO casework_events (case_id, at, on_date, user_id, kind, summary) VALUES \
         ({case}, '2010-02-01T10:00:00.000000Z', '2010-02-01', {u}, 'note', '{marker} event')"
        ),
    )
    .await;
    exec(store, &format!(
        "INSERT INTO casework_workers (case_id, user_id, organisation_id, role, started_on, ended_on) \
         VALUES ({case}, {u}, {}, 'cover', '2010-01-02', '2010-01-03')", b.org)).await;
    exec(store, &format!(
        "INSERT INTO casework_visits (case_id, user_id, visit_on, contact_type, note, place) VALUES \
         ({case}, {u}, '2010-02-02', 'home_visit', '{marker} visit', '{marker} place')")).await;
    let assessment = insert(
        store,
        &format!(
            "INSERT INTO casework_assessments (case_id, assessed_on, user_id, strengths) VALUES \
         ({case}, '2010-02-03', {u}, '{marker} strengths')"
        ),
    )
    .await;
    exec(
        store,
        &format!(
            "INSERT INTO casework_assessment_scores (assessment_id, domain_code, score) VALUES \
         ({assessment}, 'housing', 3)"
        ),
    )
    .await;
    let goal = insert(store, &format!(
        "INSERT INTO casework_goals (case_id, text, progress) VALUES ({case}, '{marker} goal', 50)")).await;
    exec(
        store,
        &format!(
            "INSERT INTO casework_goal_attainment (goal_id, rated_on, level, rated_by) VALUES \
         ({goal}, '2010-02-04', 1, {u})"
        ),
    )
    .await;
    exec(
        store,
        &format!(
            "INSERT INTO casework_actions (case_id, text, owner, due_on) VALUES \
         ({case}, '{marker} action', '{marker} owner', '2010-03-01')"
        ),
    )
    .await;
    exec(
        store,
        &format!(
            "INSERT INTO casework_steps (case_id, week, text) VALUES ({case}, 1, '{marker} step')"
        ),
    )
    .await;
    exec(
        store,
        &format!(
        "INSERT INTO casework_reviews (case_id, reviewed_on, user_id, intensity, summary) VALUES \
         ({case}, '2010-02-05', {u}, 'low', '{marker} review')"),
    )
    .await;
    let outcome = insert(store, &format!(
        "INSERT INTO outcome_records (case_id, instrument_id, instrument_version, instrument_name, \
         taken_on, point, answers, recorded_by, recorded_at) VALUES ({case}, 'ons4', '1', \
         '{marker} measure', '2010-02-06', 'baseline', 'i:q1=5', {u}, '2010-02-06T10:00:00.000000Z')")).await;
    exec(
        store,
        &format!(
            "INSERT INTO outcome_scores (record_id, scale_id, scale_name, reported, raw) VALUES \
         ({outcome}, 'life', 'Life satisfaction', 5.5, 5.5)"
        ),
    )
    .await;
    let concern = insert(store, &format!(
        "INSERT INTO safeguarding_concerns (case_id, person_id, category, risk, status, noticed_on, \
         description, raised_by, raised_at) VALUES ({case}, (SELECT person_id FROM casework_cases \
         WHERE id = {case}), 'neglect', 'high', 'open', '2010-02-07', '{marker} concern', {u}, \
         '2010-02-07T10:00:00.000000Z')")).await;
    exec(
        store,
        &format!(
        "INSERT INTO safeguarding_actions (concern_id, text, owner, due_on, added_by, added_at) \
         VALUES ({concern}, '{marker} safeguarding action', 'duty team', '2010-02-08', {u}, \
         '2010-02-07T10:00:00.000000Z')"),
    )
    .await;
    let meeting =
        insert(
            store,
            &format!(
        "INSERT INTO mdt_meetings (title, service_id, held_on, starts_at, location, lists, \
         created_by, created_at) VALUES ('{marker} meeting', {}, '2010-02-09', '10:00', 'Room 1', \
         'high_risk', {u}, '2010-02-01T10:00:00.000000Z')", b.service),
        )
        .await;
    let item = insert(
        store,
        &format!(
            "INSERT INTO mdt_items (meeting_id, case_id, reasons, added_by, added_at, discussion) \
         VALUES ({meeting}, {case}, 'by_hand', {u}, '2010-02-01T10:00:00.000000Z', \
         '{marker} discussion')"
        ),
    )
    .await;
    exec(
        store,
        &format!(
            "INSERT INTO mdt_actions (item_id, text, owner, due_on, added_by, added_at) VALUES \
         ({item}, '{marker} mdt action', 'district nurse', '2010-02-10', {u}, \
         '2010-02-09T10:00:00.000000Z')"
        ),
    )
    .await;
    exec(store, &format!(
        "INSERT INTO mdt_case_flags (case_id, kind, noted_on, reason, set_by, set_at) VALUES \
         ({case}, 'worried_about', '2010-02-01', '{marker} worry', {u}, '2010-02-01T10:00:00.000000Z')")).await;
    let event = insert(
        store,
        &format!(
        "INSERT INTO significant_events (kind, service_id, organisation_id, case_id, occurred_on, \
         description, escalate, recorded_by, recorded_at) VALUES ('good_news', {}, {}, {case}, \
         '2010-02-11', '{marker} event', 0, {u}, '2010-02-11T10:00:00.000000Z')", b.service, b.org),
    )
    .await;
    (contact, concern, item, outcome, event)
}

/// The records held about a person outside their cases, each marked.
async fn person_records(store: &Store, b: &Base, person: i64, number: NhsNumber, marker: &str) {
    let u = b.user;
    exec(
        store,
        &format!(
        "INSERT INTO care_team (person_id, user_id, organisation_id, started_on, ended_on) VALUES \
         ({person}, {u}, {}, '2009-01-01', '2009-06-01')", b.org),
    )
    .await;
    referral(
        store,
        b,
        "NULL",
        Some(number),
        &format!("{marker} unmatched"),
        "waiting",
        "2026-01-01",
    )
    .await;
    exec(
        store,
        &format!(
            "INSERT INTO safety_flags (person_id, reason, raised_by, raised_on) VALUES \
         ({person}, '{marker} dog', {u}, '2010-01-01')"
        ),
    )
    .await;
    exec(
        store,
        &format!(
        "INSERT INTO directory_signposts (person_id, service_id, user_id, note, created_at) VALUES \
         ({person}, 'svc-1', {u}, '{marker} signpost', '2026-01-01T00:00:00.000000Z')"),
    )
    .await;
    exec(
        store,
        &format!(
        "INSERT INTO directory_referrals (person_id, service_id, provider_id, referred_by, reason, \
         status, created_at) VALUES ({person}, 'svc-1', {}, {u}, '{marker} walking', 'pending', \
         '2026-01-01T00:00:00.000000Z')", b.org),
    )
    .await;
    exec(store, &format!(
        "INSERT INTO casework_carers (person_id, name, relationship, contact, involve, recorded_by) \
         VALUES ({person}, '{marker} carer', 'daughter', '{marker} carer phone', 'yes', {u})")).await;
    // Sharing preferences (one version naming the organisation) and an emergency access.
    let preference = insert(
        store,
        &format!(
            "INSERT INTO consent_preferences (person_id, version, gp_sharing, share_with_carers, \
             sensitive_with_care_team, method, recorded_by, recorded_at) VALUES ({person}, 1, \
             'detail', 1, 0, 'in_person', {u}, '2026-01-01T00:00:00.000000Z')"
        ),
    )
    .await;
    exec(
        store,
        &format!(
            "INSERT INTO consent_organisations (preference_id, organisation_id, shares) VALUES \
             ({preference}, {}, 1)",
            b.org
        ),
    )
    .await;
    exec(
        store,
        &format!(
            "INSERT INTO break_glass (person_id, user_id, organisation_id, category, reason, \
             opened_at, expires_at) VALUES ({person}, {u}, {}, 'risk_to_life', '{marker} collapsed', \
             '2026-01-01T00:00:00.000000Z', '2026-01-01T04:00:00.000000Z')",
            b.org
        ),
    )
    .await;
    let run = insert(
        store,
        "INSERT INTO population_runs (index_date, loaded_at, disclosure_control) \
         VALUES ('2026-01-01', '2026-01-02T00:00:00.000000Z', 1)",
    )
    .await;
    exec(store, &format!(
        "INSERT INTO population_worklist (run_id, cohort, nhs_number, practice, segment, criteria_met) \
         VALUES ({run}, 'frailty', '{}', 'A81001', 'frail', '{marker} criteria')", number.as_digits())).await;
    exec(store, &format!(
        "INSERT INTO worklist_decisions (cohort, nhs_number, decision, reason, review_on, decided_by, \
         organisation_id, decided_at) VALUES ('frailty', '{}', 'snoozed', '{marker} in hospital', \
         '2026-03-01', {u}, {}, '2026-01-03T00:00:00.000000Z')", number.as_digits(), b.org)).await;
    store
        .audit(AuditEvent {
            user: Some(careweave_domain::UserId::new(u)),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(person),
            reason: format!("{marker} read"),
        })
        .await
        .expect("audit a read");
}

/// Ada (the shared case's person, with a second, discharged case) and Bob, with the same records.
async fn seed_two_people(store: &Store) -> (Base, NhsNumber, NhsNumber) {
    let b = base(store).await;
    let ada_number: NhsNumber = "9434765919".parse().expect("Ada's number");
    let ada: i64 = sqlx::query("SELECT person_id FROM casework_cases WHERE id = $1")
        .bind(b.ada_case)
        .fetch_one(store.pool())
        .await
        .expect("Ada")
        .get("person_id");
    let bob_number = nhs(2);
    let bob = person(store, &b, "Bob", bob_number, "1960-02-02").await;
    let (_, bob_case) = case(store, &b, bob, "Bob", "open", None).await;
    let (_, bob_old) = case(store, &b, bob, "Bob", "discharged", Some("2011-01-01")).await;
    let (_, ada_old) = case(store, &b, ada, "Ada", "discharged", Some("2011-01-01")).await;
    for (case, marker) in [
        (b.ada_case, "Ada"),
        (bob_case, "Bob"),
        (ada_old, "Ada"),
        (bob_old, "Bob"),
    ] {
        case_records(store, &b, case, marker).await;
    }
    person_records(store, &b, ada, ada_number, "Ada").await;
    person_records(store, &b, bob, bob_number, "Bob").await;
    (b, ada_number, bob_number)
}

on_both_backends!(
    export_holds_every_record_type_of_the_person_and_nobody_else,
    |store| {
        let (_, ada, bob) = seed_two_people(&store).await;
        let bundle = store
            .subject_access_export(ada, None, "SAR 2026/014")
            .await
            .expect("the export");
        assert_eq!(bundle.name, "Ada Example");
        for section in &bundle.sections {
            assert!(!section.rows.is_empty(), "{} is empty", section.key);
            for row in &section.rows {
                assert_eq!(row.len(), section.columns.len(), "{}", section.key);
                let text: Vec<String> = row.iter().map(Value::display).collect();
                let text = text.join("|");
                assert!(
                    !text.contains("Bob") && !text.contains(&bob.as_digits()),
                    "{} holds another person's row: {text}",
                    section.key
                );
            }
        }
        let section = |key: &str| {
            bundle
                .sections
                .iter()
                .find(|s| s.key == key)
                .unwrap_or_else(|| panic!("no section {key}"))
        };
        // Rows without a marker are counted: Ada has exactly what was seeded for her two cases.
        assert_eq!(section("assessment_scores").rows.len(), 2);
        assert_eq!(section("outcome_scores").rows.len(), 2);
        assert_eq!(section("goal_attainment").rows.len(), 2);
        assert_eq!(section("discharges").rows.len(), 1);
        // The public-form referral that named her number before it was matched is hers too.
        let referrals = section("referrals");
        assert!(referrals
            .rows
            .iter()
            .any(|r| r.contains(&Value::Text("Ada unmatched".into()))));
        // Safeguarding is marked for review before release.
        assert!(section("safeguarding_concerns")
            .review
            .is_some_and(|r| r.starts_with("REVIEW BEFORE RELEASE")));
        // The access log holds the read seeded above and this export, last.
        let log = section("access_log");
        let last = log.rows.last().expect("the export's row");
        assert!(last.contains(&Value::Text("export".into())), "{last:?}");
        assert!(log
            .rows
            .iter()
            .any(|r| r.contains(&Value::Text("Ada read".into()))));

        // The export is audited against the person with the reason.
        let ada_id: i64 = bundle.person.get();
        let entries = store
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(ada_id),
                limit: 1,
            })
            .await
            .expect("the audit log");
        assert_eq!(entries[0].action, "export");
        assert_eq!(entries[0].reason, "subject access request: SAR 2026/014");
    }
);

on_both_backends!(
    export_of_an_unknown_number_is_refused_and_audited,
    |store| {
        let before = count(&store, "audit_log").await;
        let err = store
            .subject_access_export(nhs(7), None, "SAR 2026/015")
            .await
            .expect_err("nobody has that number");
        assert!(matches!(err, SubjectAccessError::NotFound));
        assert_eq!(count(&store, "audit_log").await, before + 1);
        let err = store
            .subject_access_export(nhs(7), None, "  ")
            .await
            .expect_err("a reason is required");
        assert!(matches!(err, SubjectAccessError::NoReason));
        assert_eq!(count(&store, "audit_log").await, before + 1);
    }
);

/// Every table with a person's rows (by person, case, NHS number, or a row of one of those) is
/// in the export, or named here as holding none of the person's own data.
#[tokio::test]
async fn every_table_about_a_person_is_exported() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let rows = sqlx::query(
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table'",
    )
    .fetch_all(db.store.pool())
    .await
    .expect("the schema");
    let keys = [
        "person_id",
        "case_id",
        "nhs_number",
        "concern_id",
        "item_id",
        "goal_id",
        "assessment_id",
        "record_id",
        "household_id",
    ];
    // Tables that reference people or cases without holding anything about them.
    let not_personal = [
        // Household postcodes are exported as the person's `household_postcode`.
        "households",
        // A place partnership's scores of its own integration: `assessment_id` there is the
        // self-assessment's, not a person's assessment.
        "place_assessment_scores",
    ];
    let covered = covered_tables();
    let mut missing = Vec::new();
    for r in &rows {
        let (table, column): (String, String) = (r.get("t"), r.get("c"));
        if keys.contains(&column.as_str())
            && !covered.contains(&table.as_str())
            && !not_personal.contains(&table.as_str())
            && !missing.contains(&table)
        {
            missing.push(table);
        }
    }
    assert!(missing.is_empty(), "not in the export: {missing:?}");
}

on_both_backends!(
    retention_dry_run_changes_nothing_and_purge_removes_exactly_what_is_past,
    |store| {
        let b = base(&store).await;
        let u = b.user;
        let adult = person(&store, &b, "Old", nhs(3), "1950-01-01").await;
        // A child of ten when discharged nine years ago: kept until their 25th birthday.
        let child_born = (Utc::now().date_naive() - Duration::days(19 * 366)).to_string();
        let child = person(&store, &b, "Young", nhs(4), &child_born).await;
        let (old_referral, old_case) = case(
            &store,
            &b,
            adult,
            "Old",
            "discharged",
            Some(&days_ago(9 * 366)),
        )
        .await;
        let (old_contact, old_concern, old_item, old_outcome, old_event) =
            case_records(&store, &b, old_case, "Old").await;
        let (_, recent_case) =
            case(&store, &b, adult, "Old", "discharged", Some(&days_ago(366))).await;
        let (_, child_case) = case(
            &store,
            &b,
            child,
            "Young",
            "discharged",
            Some(&days_ago(9 * 366)),
        )
        .await;
        let (_, open_case) = case(&store, &b, adult, "Old", "open", None).await;
        let declined_old = referral(
            &store,
            &b,
            &adult.to_string(),
            None,
            "R",
            "declined",
            &days_ago(9 * 366),
        )
        .await;
        let declined_new = referral(
            &store,
            &b,
            &adult.to_string(),
            None,
            "R",
            "declined",
            &days_ago(366),
        )
        .await;
        let unlinked_old = referral(
            &store,
            &b,
            "NULL",
            None,
            "R",
            "redirected",
            &days_ago(3 * 366),
        )
        .await;
        let unlinked_new =
            referral(&store, &b, "NULL", None, "R", "declined", &days_ago(366)).await;
        let unlinked_waiting =
            referral(&store, &b, "NULL", None, "R", "waiting", &days_ago(3 * 366)).await;
        let signpost = |at: String| {
            format!(
            "INSERT INTO directory_signposts (person_id, service_id, user_id, note, created_at) \
             VALUES ({adult}, 'svc-1', {u}, 'n', '{at}')"
        )
        };
        let signpost_old = insert(&store, &signpost(instant_days_ago(9 * 366))).await;
        let signpost_new = insert(&store, &signpost(instant_days_ago(366))).await;
        let dir_referral = |status: &str, at: String| {
            format!(
            "INSERT INTO directory_referrals (person_id, service_id, provider_id, referred_by, \
             reason, status, created_at, answered_at) VALUES ({adult}, 'svc-1', {}, {u}, 'r', \
             '{status}', '{at}', {answered})",
            b.org,
            answered = if status == "pending" { "NULL".to_owned() } else { format!("'{at}'") }
        )
        };
        let dir_old = insert(&store, &dir_referral("accepted", instant_days_ago(9 * 366))).await;
        let dir_pending = insert(&store, &dir_referral("pending", instant_days_ago(9 * 366))).await;
        let dir_new = insert(&store, &dir_referral("declined", instant_days_ago(366))).await;
        for (token, expires) in [("old", 8), ("recent", 1), ("live", -1)] {
            exec(
                &store,
                &format!(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES \
                 ('{token}', {u}, '{}', '{}')",
                    instant_days_ago(expires + 1),
                    instant_days_ago(expires)
                ),
            )
            .await;
        }

        let tables = [
            "casework_cases",
            "casework_referrals",
            "casework_contacts",
            "casework_events",
            "casework_workers",
            "casework_visits",
            "casework_assessments",
            "casework_assessment_scores",
            "casework_goals",
            "casework_goal_attainment",
            "casework_actions",
            "casework_steps",
            "casework_reviews",
            "outcome_records",
            "outcome_scores",
            "safeguarding_concerns",
            "safeguarding_actions",
            "mdt_meetings",
            "mdt_items",
            "mdt_actions",
            "mdt_case_flags",
            "significant_events",
            "directory_signposts",
            "directory_referrals",
            "sessions",
            "people",
            "audit_log",
        ];
        let mut before = Vec::new();
        for t in tables {
            before.push(count(&store, t).await);
        }
        let audit_before = store
            .audit_entries(&AuditFilter {
                limit: 10_000,
                ..AuditFilter::default()
            })
            .await
            .expect("the audit log");
        let policy = RetentionPolicy::default();
        let expected = [
            (RecordKind::ClosedCases, 1),
            (RecordKind::DeclinedReferrals, 1),
            (RecordKind::UnlinkedReferrals, 1),
            (RecordKind::DirectorySignposts, 1),
            (RecordKind::DirectoryReferrals, 1),
            (RecordKind::ExpiredSessions, 1),
        ];

        // The dry run lists exactly what is past retention and changes nothing, not even the log.
        let dry = store
            .retention_purge(&policy, Utc::now(), true, None)
            .await
            .expect("dry run");
        let found: Vec<(RecordKind, u64)> = dry.iter().map(|c| (c.kind, c.count)).collect();
        assert_eq!(found, expected);
        for (t, n) in tables.iter().zip(&before) {
            assert_eq!(count(&store, t).await, *n, "the dry run changed {t}");
        }

        // The purge removes those and nothing else.
        let done = store
            .retention_purge(&policy, Utc::now(), false, None)
            .await
            .expect("purge");
        let found: Vec<(RecordKind, u64)> = done.iter().map(|c| (c.kind, c.count)).collect();
        assert_eq!(found, expected);
        for (table, id) in [
            ("casework_cases", old_case),
            ("casework_referrals", old_referral),
            ("casework_contacts", old_contact),
            ("safeguarding_concerns", old_concern),
            ("mdt_items", old_item),
            ("outcome_records", old_outcome),
            ("casework_referrals", declined_old),
            ("casework_referrals", unlinked_old),
            ("directory_signposts", signpost_old),
            ("directory_referrals", dir_old),
        ] {
            assert!(!exists(&store, table, id).await, "{table} {id} was kept");
        }
        for (table, id) in [
            ("casework_cases", recent_case),
            ("casework_cases", child_case),
            ("casework_cases", open_case),
            ("casework_referrals", declined_new),
            ("casework_referrals", unlinked_new),
            ("casework_referrals", unlinked_waiting),
            ("directory_signposts", signpost_new),
            ("directory_referrals", dir_pending),
            ("directory_referrals", dir_new),
            ("significant_events", old_event),
            ("people", adult),
        ] {
            assert!(exists(&store, table, id).await, "{table} {id} was purged");
        }
        // The team's significant event stays, no longer linked to the purged case.
        let linked: Option<i64> =
            sqlx::query("SELECT case_id FROM significant_events WHERE id = $1")
                .bind(old_event)
                .fetch_one(store.pool())
                .await
                .expect("the event")
                .get("case_id");
        assert_eq!(linked, None);
        // Exactly one row per case-recorded table went (the old case's), and the referrals and
        // directory rows counted above.
        for (t, n) in tables.iter().zip(&before) {
            let gone = match *t {
                "casework_referrals" => 3,
                "mdt_meetings" | "significant_events" | "people" => 0,
                "audit_log" => -6,
                _ => 1,
            };
            assert_eq!(count(&store, t).await, n - gone, "{t}");
        }
        let sessions: Vec<String> =
            sqlx::query("SELECT token_hash FROM sessions ORDER BY token_hash")
                .fetch_all(store.pool())
                .await
                .expect("sessions")
                .iter()
                .map(|r| r.get("token_hash"))
                .collect();
        assert_eq!(sessions, ["live", "recent"]);

        // The audit log is untouched but for one purge row per type, with counts and no values.
        let after = store
            .audit_entries(&AuditFilter {
                limit: 10_000,
                ..AuditFilter::default()
            })
            .await
            .expect("the audit log");
        assert_eq!(after.len(), audit_before.len() + 6);
        assert_eq!(after[6..], audit_before[..]);
        let mut entities: Vec<&str> = after[..6].iter().map(|e| e.entity.as_str()).collect();
        entities.reverse();
        let codes: Vec<&str> = RecordKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(entities, codes);
        for e in &after[..6] {
            assert_eq!(e.action, "purge");
            assert_eq!(e.entity_id, None);
            assert!(
                e.reason.starts_with("retention: 1 purged ("),
                "{}",
                e.reason
            );
        }

        // Nothing is left past retention.
        let again = store
            .retention_purge(&policy, Utc::now(), true, None)
            .await
            .expect("dry run");
        assert!(again.iter().all(|c| c.count == 0), "{again:?}");
    }
);
