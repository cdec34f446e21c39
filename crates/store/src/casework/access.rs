//! The door to a case: the case's person and service after asking the access policy.

use super::*;

impl Store {
    /// The case's person and service, after asking the policy; `edit` also requires a worker's grant
    /// (a referrer follows a case but does not change it).
    pub(crate) async fn case_access(
        &self,
        who: &Principal,
        case: CaseId,
        what: &str,
        edit: bool,
    ) -> Result<(PersonId, CaseworkService, CaseStatus, Grant), ActionError> {
        let r = sqlx::query(
            "SELECT id, person_id, service_id, status FROM casework_cases WHERE id = $1",
        )
        .bind(case.get())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(ActionError::Denied)?;
        self.case_row_access(who, &r, what, edit).await
    }

    /// The access decision of [`Store::case_access`] for a case row already read (with its
    /// `person_id`, `service_id` and `status`), so that a page reading the whole row asks once.
    pub(super) async fn case_row_access(
        &self,
        who: &Principal,
        r: &AnyRow,
        what: &str,
        edit: bool,
    ) -> Result<(PersonId, CaseworkService, CaseStatus, Grant), ActionError> {
        let person = PersonId::new(get_i64(r, "person_id")?);
        let grant = self.casework_grant(who, person, what).await?;
        let service = self
            .casework_service(ServiceId::new(get_i64(r, "service_id")?))
            .await?;
        if edit {
            let case = CaseId::new(get_i64(r, "id")?);
            // The case's own workers are asked about only when the service's organisations do not
            // already decide it, since most changes come from the service's own staff.
            let allowed = can_change_case(who, &service.organisations(), false)
                || can_change_case(who, &[], self.works_on_case(who.user, case).await?);
            if !allowed {
                self.audit(AuditEvent {
                    user: Some(who.user),
                    action: AuditAction::Denied,
                    entity: "person",
                    entity_id: Some(person.get()),
                    reason: format!(
                        "casework {what}: only the service's teams and the case's workers change \
                         case {case}"
                    ),
                })
                .await?;
                return Err(ActionError::Denied);
            }
        }
        let status = get_code(r, "status", CaseStatus::from_code)?;
        Ok((person, service, status, grant))
    }
}
