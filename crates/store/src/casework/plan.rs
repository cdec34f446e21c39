//! The personalised care and support plan: saving its text and changing its goals, actions and
//! steps, each refused when another worker saved a newer version first.

use super::*;

impl Store {
    /// Bumps the plan version if it still is `version`, inside `tx`; refuses a stale save.
    pub(super) async fn claim_plan_version(
        tx: &mut Transaction<'_, Any>,
        case: CaseId,
        version: i64,
    ) -> Result<i64, ActionError> {
        let done = sqlx::query(
            "UPDATE casework_cases SET plan_version = plan_version + 1 WHERE id = $1 AND plan_version = $2",
        )
        .bind(case.get())
        .bind(version)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ActionError::Conflict);
        }
        Ok(version + 1)
    }

    /// Saves the words of the plan, if nobody else saved since `version` was read.
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn save_plan(
        &self,
        access: &CaseAccess,
        version: i64,
        text: &PlanText,
        today: NaiveDate,
    ) -> Result<i64, ActionError> {
        self.changing(access, "plan").await?;
        let (case, person) = (access.case(), access.person());
        let mut tx = self.pool.begin().await?;
        let new = Self::claim_plan_version(&mut tx, case, version).await?;
        sqlx::query(
            "UPDATE casework_cases SET what_matters = $1, priorities = $2, escalation = $3 WHERE id = $4",
        )
        .bind(&text.what_matters)
        .bind(text.priorities.join("\n"))
        .bind(&text.escalation)
        .bind(case.get())
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on: today,
                kind: "plan",
                summary: "Care and support plan updated",
                action: AuditAction::Update,
                audit: format!("casework case {case}: plan version {new}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Adds to or updates the plan's goals, actions and graded steps, versioned like the plan.
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn change_plan(
        &self,
        access: &CaseAccess,
        version: i64,
        item: &PlanItem,
        today: NaiveDate,
    ) -> Result<i64, ActionError> {
        self.changing(access, "plan").await?;
        let (case, person) = (access.case(), access.person());
        let mut tx = self.pool.begin().await?;
        let new = Self::claim_plan_version(&mut tx, case, version).await?;
        let (query, summary) = match item {
            PlanItem::Goal { text, target_on } => (
                sqlx::query(
                    "INSERT INTO casework_goals (case_id, text, target_on, progress) VALUES ($1, $2, $3, 0)",
                )
                .bind(case.get())
                .bind(text.clone())
                .bind(target_on.map(|d| d.to_string())),
                "Goal added".to_owned(),
            ),
            PlanItem::Progress { goal, progress } => (
                sqlx::query("UPDATE casework_goals SET progress = $1 WHERE id = $2 AND case_id = $3")
                    .bind(i64::from(*progress))
                    .bind(*goal)
                    .bind(case.get()),
                format!("Goal progress now {progress}%"),
            ),
            PlanItem::Attainment { goal, rating, on } => (
                sqlx::query(
                    "INSERT INTO casework_goal_attainment (goal_id, rated_on, level, rated_by) \
                     SELECT id, $1, $2, $3 FROM casework_goals WHERE id = $4 AND case_id = $5",
                )
                .bind(on.to_string())
                .bind(rating.level())
                .bind(access.user().get())
                .bind(*goal)
                .bind(case.get()),
                format!("Goal attainment rated {}", rating.label().to_lowercase()),
            ),
            PlanItem::Action { text, owner, due_on } => (
                sqlx::query(
                    "INSERT INTO casework_actions (case_id, text, owner, due_on) VALUES ($1, $2, $3, $4)",
                )
                .bind(case.get())
                .bind(text.clone())
                .bind(owner.clone())
                .bind(due_on.to_string()),
                format!("Action added for {owner}"),
            ),
            PlanItem::ActionDone { action, on } => (
                sqlx::query(
                    "UPDATE casework_actions SET done_on = $1 WHERE id = $2 AND case_id = $3 AND done_on IS NULL",
                )
                .bind(on.to_string())
                .bind(*action)
                .bind(case.get()),
                "Action done".to_owned(),
            ),
            PlanItem::Step { week, text } => (
                sqlx::query("INSERT INTO casework_steps (case_id, week, text) VALUES ($1, $2, $3)")
                    .bind(case.get())
                    .bind(i64::from(*week))
                    .bind(text.clone()),
                format!("Graded step added for week {week}"),
            ),
        };
        if query.execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(ActionError::NotFound("That goal or action"));
        }
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on: today,
                kind: "plan",
                summary: &summary,
                action: AuditAction::Update,
                audit: format!("casework case {case}: plan version {new}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(new)
    }
}
