//! Allocation: which organisation a worker acts for, and adding or ending a case's workers (who
//! become, or stop being, the person's care team).

use super::*;

impl Store {
    pub(super) async fn worker_org(
        &self,
        service: &CaseworkService,
        user: UserId,
    ) -> Result<OrganisationId, ActionError> {
        self.worker_loads(service)
            .await?
            .into_iter()
            .find(|w| w.user == user)
            .map(|w| w.organisation)
            .ok_or_else(|| {
                ActionError::refused(
                    "Choose a worker from the teams that run this service".to_owned(),
                )
            })
    }

    /// Adds a lead, co-worker or covering supervisor to a case; a new lead replaces the old one.
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn allocate(
        &self,
        access: &CaseAccess,
        user: UserId,
        role: CaseRole,
        confirm_over_capacity: bool,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        let (service, status) = self.changing(access, "allocation").await?;
        let (case, person) = (access.case(), access.person());
        if !status.is_active() {
            return Err(ActionError::refused(
                "Reopen the case before allocating workers".to_owned(),
            ));
        }
        if role == CaseRole::Lead && !confirm_over_capacity {
            if let Some(w) = self
                .capacity_warning(&service, person, Some(user), false)
                .await?
            {
                return Err(ActionError::OverCapacity(w));
            }
        }
        let org = self.worker_org(&service, user).await?;
        let mut tx = self.pool.begin().await?;
        if role == CaseRole::Lead {
            let old = sqlx::query(
                "SELECT user_id FROM casework_workers WHERE case_id = $1 AND role = 'lead' AND ended_on IS NULL",
            )
            .bind(case.get())
            .fetch_all(&mut *tx)
            .await?;
            for o in old {
                let old_user = UserId::new(get_i64(&o, "user_id")?);
                end_worker(&mut tx, case, person, old_user, Some(CaseRole::Lead), today).await?;
            }
        }
        add_worker(&mut tx, case, person, user, org, role, today).await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on: today,
                kind: "allocation",
                summary: &format!("{} allocated", role.label()),
                action: AuditAction::Update,
                audit: format!("casework case {case}: {} allocated", role.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether `user` is one of the case's current workers.
    pub(crate) async fn works_on_case(
        &self,
        user: UserId,
        case: CaseId,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 AS x FROM casework_workers WHERE case_id = $1 AND user_id = $2 AND ended_on IS NULL",
        )
        .bind(case.get())
        .bind(user.get())
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }
}
