//! Impact evaluation results (issue 15) in the operational store, so that the web page shows them
//! without running the evaluation: the evaluation needs the population engine and DataFusion, which
//! the web process must not carry. `careweave evaluation run --database` and the demo store one
//! [`Summary`] a run; the page shows the latest.
//!
//! Only aggregates are stored: estimates with their intervals, the balance table, the RE-AIM
//! tables and the event-study series, every count already through disclosure control by the
//! evaluation. Nothing here names a person, so reading it needs no capability; who may see it is
//! `access::can_read_aggregates`, checked by the page. Storing a result is audited as a change.

use std::collections::BTreeMap;

use careweave_domain::UserId;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::{get_i64, now_text, Store, StoreError};

/// An estimate with its 95% interval. A figure that could not be estimated (no time at risk) is
/// `None`, which is how JSON carries a number that is not finite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Interval {
    pub estimate: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// One outcome's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutcomeResult {
    /// The outcome's key, e.g. `emergency_admissions`.
    pub outcome: String,
    pub label: String,
    /// Difference-in-differences per person-year.
    pub did: Interval,
    /// The same as a share of the counterfactual rate.
    pub relative: Interval,
    /// The naive before/after change of the supported group per person-year.
    pub naive: Interval,
    pub naive_relative: Interval,
    pub supported_rate_before: Option<f64>,
    pub supported_rate_after: Option<f64>,
    pub comparison_rate_before: Option<f64>,
    pub comparison_rate_after: Option<f64>,
    /// The plain-English sentence.
    pub sentence: String,
    /// The event study: one interval per month relative to the start, from `-months_before`.
    pub event_study: Vec<Interval>,
}

/// One row of the balance table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BalanceRow {
    pub variable: String,
    pub supported_mean: Option<f64>,
    pub comparison_mean_before: Option<f64>,
    pub comparison_mean_after: Option<f64>,
    pub smd_before: Option<f64>,
    pub smd_after: Option<f64>,
}

/// The value section: activity avoided priced at unit costs against the service's cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValueResult {
    pub avoided_cost: Interval,
    pub service_cost: Option<f64>,
    pub return_per_pound: Interval,
    pub note: String,
}

/// A table of already published figures (counts through disclosure control), as text cells: the
/// RE-AIM tables, the episodes and the outcome measures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Table {
    /// A short name for the address of its CSV, e.g. `reach_imd`.
    pub key: String,
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The aggregate summary of one evaluation run, as `careweave-evaluation` writes `summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub service: String,
    pub extract_date: String,
    pub method: String,
    pub months_before: u32,
    pub months_after: u32,
    pub disclosure_control: bool,
    pub outcomes: Vec<OutcomeResult>,
    pub balance: Vec<BalanceRow>,
    pub value: Option<ValueResult>,
    pub tables: Vec<Table>,
    /// Anything else the evaluation wrote, kept so that a stored summary loses nothing.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A stored result as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvaluation {
    pub id: i64,
    pub stored_at: String,
    pub summary: Summary,
}

impl Store {
    /// Stores one evaluation's summary and audits that it was stored (by `actor`, or the command
    /// line when `None`).
    pub async fn store_evaluation(
        &self,
        actor: Option<UserId>,
        summary: &Summary,
    ) -> Result<i64, StoreError> {
        self.store_evaluation_with_board_pack(actor, summary, None)
            .await
    }

    /// Stores one evaluation's summary and, when given, its board pack (the offline HTML report,
    /// aggregate and disclosure-controlled like the summary) in one transaction, audited once.
    pub async fn store_evaluation_with_board_pack(
        &self,
        actor: Option<UserId>,
        summary: &Summary,
        board_pack: Option<&str>,
    ) -> Result<i64, StoreError> {
        let text = serde_json::to_string(summary).map_err(|e| StoreError::Corrupt {
            column: "evaluation_results.summary",
            detail: format!("the summary cannot be written as JSON: {e}"),
        })?;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO evaluation_results (service, extract_date, stored_at, summary) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&summary.service)
        .bind(&summary.extract_date)
        .bind(now_text())
        .bind(text)
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        if let Some(html) = board_pack {
            sqlx::query("INSERT INTO evaluation_board_packs (evaluation_id, html) VALUES ($1, $2)")
                .bind(id)
                .bind(html)
                .execute(&mut *tx)
                .await?;
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: actor,
                action: AuditAction::Create,
                entity: "evaluation_result",
                entity_id: Some(id),
                reason: "impact evaluation results stored (aggregate, disclosure-controlled)"
                    .to_owned(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The board pack of the latest stored evaluation, when that evaluation was stored with one.
    /// An older evaluation's pack is never offered as the latest.
    pub async fn latest_board_pack(&self) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT b.html FROM evaluation_board_packs b \
             WHERE b.evaluation_id = (SELECT MAX(id) FROM evaluation_results)",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.try_get::<String, _>("html").map_err(StoreError::from))
            .transpose()
    }

    /// The latest stored evaluation, if any.
    pub async fn latest_evaluation(&self) -> Result<Option<StoredEvaluation>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT id, stored_at, summary FROM evaluation_results ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let text: String = row.try_get("summary")?;
        let summary = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            column: "evaluation_results.summary",
            detail: e.to_string(),
        })?;
        Ok(Some(StoredEvaluation {
            id: get_i64(&row, "id")?,
            stored_at: row.try_get("stored_at")?,
            summary,
        }))
    }
}

/// One support episode as the evaluation's exposure table holds it: a casework case with its
/// person's NHS number, the service, the day the referral arrived, the first contact, the
/// discharge and the number of contacts. Dates are ISO text as stored; the evaluation checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureRow {
    pub nhs_number: String,
    pub service: String,
    pub referral_date: String,
    pub first_contact_date: Option<String>,
    pub discharge_date: Option<String>,
    pub contacts: i64,
}

impl Store {
    /// Every casework episode as an exposure row, for the impact evaluation. This copies personal
    /// data (who was supported, and when) out of the store, so it is an export: one audit row per
    /// person exported, with `reason` (the purpose, recorded without personal details) and `by`
    /// (the account running it, or the command line when `None`), in the same transaction as the
    /// read, so that no export goes unrecorded.
    pub async fn export_exposures(
        &self,
        by: Option<UserId>,
        reason: &str,
    ) -> Result<Vec<ExposureRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT c.id AS case_id, p.id AS person_id, p.nhs_number, s.name AS service, r.received_on, \
             c.discharged_on, \
             (SELECT MIN(k.contact_on) FROM casework_contacts k WHERE k.case_id = c.id) AS first_contact, \
             (SELECT COUNT(*) FROM casework_contacts k WHERE k.case_id = c.id) AS contacts \
             FROM casework_cases c \
             JOIN casework_referrals r ON r.id = c.referral_id \
             JOIN people p ON p.id = c.person_id \
             JOIN services s ON s.id = c.service_id \
             ORDER BY c.id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut people = std::collections::BTreeSet::new();
        for row in &rows {
            people.insert(get_i64(row, "person_id")?);
            out.push(ExposureRow {
                nhs_number: row.try_get("nhs_number")?,
                service: row.try_get("service")?,
                referral_date: row.try_get("received_on")?,
                first_contact_date: row.try_get("first_contact")?,
                discharge_date: row.try_get("discharged_on")?,
                contacts: get_i64(row, "contacts")?,
            });
        }
        for person in people {
            audit_with(
                &mut *tx,
                &AuditEvent {
                    user: by,
                    action: AuditAction::Export,
                    entity: "person",
                    entity_id: Some(person),
                    reason: format!("impact evaluation exposures: {reason}"),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }
}
