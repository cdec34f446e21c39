//! A case's MDT history and its flag for discussion, and the worklist cohorts.

use super::*;
use crate::access::CaseAccess;

impl Store {
    /// The meetings a case went to and its current flags, for anyone who may change the case;
    /// others (a referrer following it) get nothing. A non-empty answer is audited as one list.
    pub async fn case_mdt(&self, who: &Principal, case: CaseId) -> Result<CaseMdt, ActionError> {
        if self.changeable_case(who, case).await?.is_none() {
            // Refused in the same words whether or not the case exists, and audited.
            return Err(self
                .refuse(
                    who,
                    "mdt_case_flag",
                    Some(case.get()),
                    format!("case {case} MDT history: no care relationship"),
                )
                .await);
        }
        Ok(self.case_mdt_rows(who, case).await?)
    }

    /// [`Store::case_mdt`] for a case already opened through the policy by [`Store::case_for`]:
    /// the view carries the decision (whether `who` may change the case), so the case page does
    /// not ask the policy a second time.
    pub async fn case_mdt_of(
        &self,
        who: &Principal,
        view: &crate::casework::CaseView,
    ) -> Result<CaseMdt, StoreError> {
        if !view.can_edit {
            return Ok(CaseMdt::default());
        }
        self.case_mdt_rows(who, view.id).await
    }

    pub(super) async fn case_mdt_rows(
        &self,
        who: &Principal,
        case: CaseId,
    ) -> Result<CaseMdt, StoreError> {
        let mut meetings = sqlx::query(
            "SELECT m.id, m.title, m.held_on, i.reasons, i.decision, i.told_how, i.told_on \
             FROM mdt_items i JOIN mdt_meetings m ON m.id = i.meeting_id \
             WHERE i.case_id = $1 ORDER BY m.held_on DESC, m.id DESC",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(CaseMeeting {
                meeting: MeetingId::new(get_i64(r, "id")?),
                title: r.try_get("title")?,
                held_on: get_date(r, "held_on")?,
                reasons: reasons_of(&r.try_get::<String, _>("reasons")?)?,
                decision: r.try_get("decision")?,
                told: told_of(r)?,
                can_open: false,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        for m in &mut meetings {
            m.can_open = self
                .meeting_facts(m.meeting)
                .await?
                .is_some_and(|(_, facts)| can_see_meeting(who, &facts).is_some());
        }
        let flags = sqlx::query(
            "SELECT f.id, f.kind, f.noted_on, f.reason, u.display_name FROM mdt_case_flags f \
             JOIN users u ON u.id = f.set_by WHERE f.case_id = $1 AND f.cleared_on IS NULL \
             ORDER BY f.noted_on DESC, f.id DESC",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(CaseFlag {
                id: get_i64(r, "id")?,
                kind: CaseFlagKind::from_code(&kind).ok_or(StoreError::Corrupt {
                    column: "mdt_case_flags.kind",
                    detail: kind,
                })?,
                noted_on: get_date(r, "noted_on")?,
                reason: r.try_get("reason")?,
                set_by: r.try_get("display_name")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        if !meetings.is_empty() || !flags.is_empty() {
            let ids: Vec<String> = meetings.iter().map(|m| m.meeting.to_string()).collect();
            self.mdt_audit(
                who,
                AuditAction::List,
                ENTITY,
                None,
                format!(
                    "case {case}: meetings {}; {} flags",
                    ids.join(","),
                    flags.len()
                ),
            )
            .await?;
        }
        Ok(CaseMdt { meetings, flags })
    }

    /// Sets a flag on a case ("worried about", or a discharge from hospital) for the next MDT.
    /// Anyone who may open the case may (a read capability suffices: flagging asks the team to
    /// talk about the case, it changes nothing on it); a refusal was audited when it was opened.
    pub async fn set_case_flag(
        &self,
        access: &CaseAccess,
        flag: &NewCaseFlag,
    ) -> Result<i64, ActionError> {
        let (case, grant) = (access.case(), access.grant());
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO mdt_case_flags (case_id, kind, noted_on, reason, set_by, set_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(case.get())
        .bind(flag.kind.code())
        .bind(flag.noted_on.to_string())
        .bind(&flag.reason)
        .bind(access.user().get())
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(access.user()),
                action: AuditAction::Create,
                entity: FLAG_ENTITY,
                entity_id: Some(id),
                reason: format!("{} on case {case} ({})", flag.kind.code(), grant.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Clears a flag: the worry has passed, or the discharge has been followed up. Anyone who may
    /// open the case may, as for setting one.
    pub async fn clear_case_flag(
        &self,
        access: &CaseAccess,
        flag: i64,
        on: NaiveDate,
    ) -> Result<(), ActionError> {
        let (case, grant) = (access.case(), access.grant());
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE mdt_case_flags SET cleared_on = $3, cleared_by = $4 \
             WHERE id = $1 AND case_id = $2 AND cleared_on IS NULL",
        )
        .bind(flag)
        .bind(case.get())
        .bind(on.to_string())
        .bind(access.user().get())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ActionError::refused(
                "That flag is already cleared or is not on this case".to_owned(),
            ));
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(access.user()),
                action: AuditAction::Update,
                entity: FLAG_ENTITY,
                entity_id: Some(flag),
                reason: format!("cleared on case {case} ({})", grant.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The cohorts of the latest population run as (name, title), for the "population worklist"
    /// agenda list.
    pub async fn worklist_cohorts(&self) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query(
            "SELECT name, title FROM population_cohorts \
             WHERE run_id = (SELECT MAX(id) FROM population_runs) ORDER BY title, name",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("title")?)))
        .collect()
    }
}
