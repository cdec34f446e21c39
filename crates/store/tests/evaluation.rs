//! Impact evaluation in the store, on SQLite and PostgreSQL: casework episodes exported as the
//! evaluation's exposure table with every person audited as an export, and a result stored and
//! read back (a figure that could not be estimated survives as "none").

use careweave_store::audit::AuditFilter;
use careweave_store::evaluation::{Interval, OutcomeResult, Summary};
use careweave_store::testing::{cross_employer_case, TestDatabase};
use careweave_store::{Backend, Store};

const PASSWORD: &str = "correct horse battery staple";

macro_rules! on_both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($store: Store) $body

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

on_both_backends!(
    casework_episodes_export_as_exposures_and_each_person_is_audited,
    |store| {
        let shared = cross_employer_case(&store, PASSWORD).await;
        let rows = store.export_exposures(None, "IG ref EV-1").await.unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        let row = &rows[0];
        assert_eq!(row.nhs_number.len(), 10, "NHS number as digits");
        assert!(!row.service.is_empty());
        assert_eq!(
            row.referral_date.len(),
            10,
            "an ISO date: {}",
            row.referral_date
        );
        assert_eq!(row.discharge_date, None, "the case is open");
        let person = store
            .case_for(&shared.lead, shared.case)
            .await
            .unwrap()
            .person;
        let audit = store
            .audit_entries(&AuditFilter {
                entity: Some("person".into()),
                entity_id: Some(person.get()),
                limit: 50,
            })
            .await
            .unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "export" && e.reason.contains("IG ref EV-1")),
            "{audit:?}"
        );
    }
);

on_both_backends!(a_stored_result_reads_back_as_it_was_written, |store| {
    assert_eq!(store.latest_evaluation().await.unwrap(), None);
    // The evaluation writes a figure it could not estimate as JSON null.
    let written = serde_json::json!({
        "service": "Personalised care",
        "extract_date": "2026-10-31",
        "months_before": 12,
        "months_after": 12,
        "disclosure_control": true,
        "outcomes": [{
            "outcome": "emergency_admissions",
            "label": "Emergency admissions",
            "did": {"estimate": -0.2, "low": null, "high": 0.1},
            "event_study": [{"estimate": 0.0, "low": -0.1, "high": 0.1}],
        }],
        "episodes": {"matched": 40},
    });
    let summary: Summary = serde_json::from_value(written).unwrap();
    let id = store.store_evaluation(None, &summary).await.unwrap();
    let stored = store.latest_evaluation().await.unwrap().unwrap();
    assert_eq!(stored.id, id);
    assert_eq!(stored.summary, summary);
    let o: &OutcomeResult = &stored.summary.outcomes[0];
    assert_eq!(
        o.did,
        Interval {
            estimate: Some(-0.2),
            low: None,
            high: Some(0.1)
        }
    );
    assert!(
        stored.summary.other.contains_key("episodes"),
        "nothing is lost"
    );
    let audit = store
        .audit_entries(&AuditFilter {
            entity: Some("evaluation_result".into()),
            entity_id: Some(id),
            limit: 5,
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
});
