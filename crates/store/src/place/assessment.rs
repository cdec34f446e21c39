//! Integration self-assessments: a score and an evidence note per checklist item, kept over time.

use std::collections::BTreeMap;

use careweave_domain::place::Score;
use chrono::NaiveDate;
use sqlx::Row;

use crate::audit::AuditAction;
use crate::change::ActionError;
use crate::{get_date, get_i64, Store, StoreError};

use super::{corrupt, Workspace};

/// One self-assessment: per checklist item, the score and the evidence note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub id: i64,
    pub assessed_on: NaiveDate,
    pub recorded_by: String,
    pub scores: BTreeMap<String, (Score, String)>,
}

impl Store {
    /// Records a self-assessment: for each checklist item scored, the score and an evidence note.
    pub async fn record_self_assessment(
        &self,
        ws: &Workspace,
        assessed_on: NaiveDate,
        scores: &[(String, Score, String)],
    ) -> Result<i64, ActionError> {
        if scores.is_empty() {
            return Err(ActionError::refused("Score at least one approach"));
        }
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO place_assessments (workspace_id, assessed_on, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(ws.id)
        .bind(assessed_on.to_string())
        .bind(ws.user.get())
        .bind(self.place_now())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        for (item, score, evidence) in scores {
            sqlx::query(
                "INSERT INTO place_assessment_scores (assessment_id, item_id, score, evidence) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(item)
            .bind(score.code())
            .bind(evidence)
            .execute(&mut *tx)
            .await?;
        }
        self.place_audit(
            &mut *tx,
            ws.user,
            AuditAction::Create,
            Some(ws.id),
            format!("assessment {id} of {} items", scores.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The workspace's self-assessments, newest first.
    pub async fn self_assessments(&self, ws: &Workspace) -> Result<Vec<Assessment>, StoreError> {
        let scores = sqlx::query(
            "SELECT s.assessment_id, s.item_id, s.score, s.evidence FROM place_assessment_scores s \
             JOIN place_assessments a ON a.id = s.assessment_id WHERE a.workspace_id = $1",
        )
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in sqlx::query(
            "SELECT a.id, a.assessed_on, u.display_name FROM place_assessments a \
             JOIN users u ON u.id = a.recorded_by WHERE a.workspace_id = $1 ORDER BY a.assessed_on DESC, a.id DESC",
        )
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?
        {
            let id = get_i64(&r, "id")?;
            let mut map = BTreeMap::new();
            for s in &scores {
                if get_i64(s, "assessment_id")? == id {
                    let code: String = s.try_get("score")?;
                    map.insert(
                        s.try_get("item_id")?,
                        (
                            Score::from_code(&code)
                                .ok_or_else(|| corrupt("place_assessment_scores.score", code))?,
                            s.try_get("evidence")?,
                        ),
                    );
                }
            }
            out.push(Assessment {
                id,
                assessed_on: get_date(&r, "assessed_on")?,
                recorded_by: r.try_get("display_name")?,
                scores: map,
            });
        }
        Ok(out)
    }
}
