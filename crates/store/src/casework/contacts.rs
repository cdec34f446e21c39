//! Recording contacts and assessments on a case.

use super::*;

impl Store {
    /// Records a contact on an active case.
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn record_contact(
        &self,
        access: &CaseAccess,
        contact: &NewContact,
    ) -> Result<(), ActionError> {
        let (_, status) = self.changing(access, "contact").await?;
        let (case, person) = (access.case(), access.person());
        if !status.is_active() {
            return Err(ActionError::refused(
                "This case is discharged: reopen it to record a contact".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO casework_contacts (case_id, contact_type, contact_on, minutes, present, note, \
             recorded_by, recorded_at, sensitive_category) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(case.get())
        .bind(contact.contact_type.code())
        .bind(contact.on.to_string())
        .bind(i64::from(contact.minutes))
        .bind(&contact.present)
        .bind(&contact.note)
        .bind(access.user().get())
        .bind(now_text())
        .bind(contact.sensitive.map(SensitiveCategory::code))
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on: contact.on,
                kind: "contact",
                summary: &format!(
                    "{}, {} minutes",
                    contact.contact_type.label(),
                    contact.minutes
                ),
                action: AuditAction::Create,
                audit: format!("casework case {case}: contact"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a holistic assessment; the first is the baseline, later ones show change.
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn record_assessment(
        &self,
        access: &CaseAccess,
        a: &NewAssessment,
    ) -> Result<(), ActionError> {
        let (_, status) = self.changing(access, "assessment").await?;
        let (case, person) = (access.case(), access.person());
        if !status.is_active() {
            return Err(ActionError::refused("This case is discharged".to_owned()));
        }
        let known = self.life_domains().await?;
        if let Some((code, _)) = a
            .scores
            .iter()
            .find(|(c, _)| !known.iter().any(|(k, _)| k == c))
        {
            return Err(ActionError::refused(format!("Unknown life domain {code}")));
        }
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO casework_assessments (case_id, assessed_on, user_id, strengths) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(case.get())
        .bind(a.on.to_string())
        .bind(access.user().get())
        .bind(&a.strengths)
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&r, "id")?;
        for (code, score) in &a.scores {
            sqlx::query(
                "INSERT INTO casework_assessment_scores (assessment_id, domain_code, score) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(code)
            .bind(i64::from(score.get()))
            .execute(&mut *tx)
            .await?;
        }
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on: a.on,
                kind: "assessment",
                summary: &format!("Holistic assessment across {} life domains", a.scores.len()),
                action: AuditAction::Create,
                audit: format!("casework case {case}: assessment"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
