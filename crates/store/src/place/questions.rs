//! The clinical group's answers to the four questions with their evidence, and the partnership's
//! own good-practice entries.

use careweave_domain::place::{EvidenceKind, EvidenceStrength, Question};
use sqlx::Row;

use crate::audit::AuditAction;
use crate::change::ActionError;
use crate::{get_i64, Store, StoreError};

use super::{corrupt, Workspace};

/// The clinical group's answer to one question, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub question: Question,
    pub answer: String,
    /// (kind, reference): a profile dimension, a cohort name or a catalogue entry id.
    pub evidence: Vec<(EvidenceKind, String)>,
    pub updated_by: String,
}

/// A good-practice entry a partnership added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPractice {
    pub title: String,
    pub area: String,
    pub what: String,
    pub for_whom: String,
    pub result: String,
    pub strength: EvidenceStrength,
    pub source: String,
}

/// A stored entry of the partnership's own, with its reference (`own-N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnPractice {
    pub reference: String,
    pub entry: NewPractice,
    pub added_by: String,
}

impl Store {
    /// Saves the clinical group's answer to one question with its evidence, replacing the last.
    pub async fn save_place_answer(
        &self,
        ws: &Workspace,
        question: Question,
        answer: &str,
        evidence: &[(EvidenceKind, String)],
    ) -> Result<(), ActionError> {
        let mut tx = self.pool.begin().await?;
        for sql in [
            "DELETE FROM place_answers WHERE workspace_id = $1 AND question = $2",
            "DELETE FROM place_answer_evidence WHERE workspace_id = $1 AND question = $2",
        ] {
            sqlx::query(sql)
                .bind(ws.id)
                .bind(question.code())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO place_answers (workspace_id, question, answer, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(ws.id)
        .bind(question.code())
        .bind(answer)
        .bind(ws.user.get())
        .bind(self.place_now())
        .execute(&mut *tx)
        .await?;
        let mut evidence = evidence.to_vec();
        evidence.sort();
        evidence.dedup();
        for (kind, reference) in &evidence {
            sqlx::query(
                "INSERT INTO place_answer_evidence (workspace_id, question, kind, reference) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(ws.id)
            .bind(question.code())
            .bind(kind.code())
            .bind(reference)
            .execute(&mut *tx)
            .await?;
        }
        self.place_audit(
            &mut *tx,
            ws.user,
            AuditAction::Update,
            Some(ws.id),
            format!("answer to {} saved", question.code()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The answers given so far, in the questions' order.
    pub async fn place_answers(&self, ws: &Workspace) -> Result<Vec<Answer>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.question, a.answer, u.display_name FROM place_answers a \
             JOIN users u ON u.id = a.updated_by WHERE a.workspace_id = $1",
        )
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?;
        let evidence = sqlx::query(
            "SELECT question, kind, reference FROM place_answer_evidence WHERE workspace_id = $1 ORDER BY id",
        )
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let code: String = r.try_get("question")?;
            let question = Question::from_code(&code)
                .ok_or_else(|| corrupt("place_answers.question", code.clone()))?;
            let mut items = Vec::new();
            for e in evidence.iter() {
                if e.try_get::<String, _>("question")? == code {
                    let kind: String = e.try_get("kind")?;
                    items.push((
                        EvidenceKind::from_code(&kind)
                            .ok_or_else(|| corrupt("place_answer_evidence.kind", kind))?,
                        e.try_get("reference")?,
                    ));
                }
            }
            out.push(Answer {
                question,
                answer: r.try_get("answer")?,
                evidence: items,
                updated_by: r.try_get("display_name")?,
            });
        }
        out.sort_by_key(|a| a.question);
        Ok(out)
    }

    /// Adds the partnership's own good-practice entry; returns its reference (`own-N`).
    pub async fn add_place_practice(
        &self,
        ws: &Workspace,
        p: &NewPractice,
    ) -> Result<String, ActionError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO place_practices (workspace_id, title, area, what, for_whom, result, strength, source, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(ws.id)
        .bind(&p.title)
        .bind(&p.area)
        .bind(&p.what)
        .bind(&p.for_whom)
        .bind(&p.result)
        .bind(p.strength.code())
        .bind(&p.source)
        .bind(ws.user.get())
        .bind(self.place_now())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        self.place_audit(
            &mut *tx,
            ws.user,
            AuditAction::Create,
            Some(ws.id),
            format!("good practice {id} added"),
        )
        .await?;
        tx.commit().await?;
        Ok(format!("own-{id}"))
    }

    /// The partnership's own entries, oldest first.
    pub async fn place_practices(&self, ws: &Workspace) -> Result<Vec<OwnPractice>, StoreError> {
        sqlx::query(
            "SELECT p.id, p.title, p.area, p.what, p.for_whom, p.result, p.strength, p.source, u.display_name \
             FROM place_practices p JOIN users u ON u.id = p.added_by WHERE p.workspace_id = $1 ORDER BY p.id",
        )
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let strength: String = r.try_get("strength")?;
            Ok(OwnPractice {
                reference: format!("own-{}", get_i64(r, "id")?),
                entry: NewPractice {
                    title: r.try_get("title")?,
                    area: r.try_get("area")?,
                    what: r.try_get("what")?,
                    for_whom: r.try_get("for_whom")?,
                    result: r.try_get("result")?,
                    strength: EvidenceStrength::from_code(&strength)
                        .ok_or_else(|| corrupt("place_practices.strength", strength))?,
                    source: r.try_get("source")?,
                },
                added_by: r.try_get("display_name")?,
            })
        })
        .collect()
    }
}
