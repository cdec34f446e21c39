//! Triage: accepting (opening a case, with capacity warnings), declining or redirecting a referral.

use super::*;
use crate::sql::IdList;

impl Store {
    /// Staff who may work a service's cases, with their open caseload for it.
    pub async fn worker_loads(
        &self,
        service: &CaseworkService,
    ) -> Result<Vec<WorkerLoad>, StoreError> {
        let list = IdList::new(2, service.organisations().iter().map(|o| o.get()));
        let orgs = list.placeholders();
        // The service's workers with their open lead cases in one query. The case page asks this
        // on every view, so the counts come from the lead kept on each case (migration 0015): its
        // index holds the service's cases in lead order, so counting needs neither the worker rows
        // nor a sort.
        let rows = list
            .bind(sqlx::query(&format!(
            "SELECT DISTINCT u.id, u.display_name, m.organisation_id, o.name AS org_name, \
             COALESCE(n.n, 0) AS open_cases \
             FROM users u JOIN memberships m ON m.user_id = u.id JOIN organisations o ON o.id = m.organisation_id \
             LEFT JOIN (SELECT c.lead_user_id AS user_id, COUNT(*) AS n FROM casework_cases c \
             WHERE c.service_id = $1 AND c.lead_user_id IS NOT NULL \
             AND c.status IN ('open', 'on_hold', 'reopened') GROUP BY c.lead_user_id) n \
             ON n.user_id = u.id \
             WHERE u.active = 1 AND m.role IN ('worker', 'supervisor') AND m.organisation_id IN ({orgs}) \
             ORDER BY u.display_name"
        ))
        .bind(service.id.get()))
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<WorkerLoad> = Vec::new();
        for r in &rows {
            let user = UserId::new(get_i64(r, "id")?);
            if out.iter().any(|w| w.user == user) {
                continue;
            }
            out.push(WorkerLoad {
                user,
                name: r.try_get("display_name")?,
                organisation: OrganisationId::new(get_i64(r, "organisation_id")?),
                organisation_name: r.try_get("org_name")?,
                open_cases: u32_of(get_i64(r, "open_cases")?),
                cap: service.settings.worker_cap,
            });
        }
        Ok(out)
    }

    /// Open cases of a service at one practice, for the per-practice cap.
    pub(super) async fn practice_load(
        &self,
        service: ServiceId,
        person: PersonId,
    ) -> Result<u32, StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n FROM casework_cases c JOIN people p ON p.id = c.person_id \
             WHERE c.service_id = $1 AND c.status <> 'discharged' AND p.registered_practice_id = \
             (SELECT registered_practice_id FROM people WHERE id = $2)",
        )
        .bind(service.get())
        .bind(person.get())
        .fetch_one(&self.pool)
        .await?;
        Ok(u32_of(get_i64(&r, "n")?))
    }

    /// Checks the capacity caps for giving `lead` one more case of `service` for `person`.
    pub(super) async fn capacity_warning(
        &self,
        service: &CaseworkService,
        person: PersonId,
        lead: Option<UserId>,
        new_case: bool,
    ) -> Result<Option<String>, ActionError> {
        let mut warnings = Vec::new();
        if let Some(lead) = lead {
            let loads = self.worker_loads(service).await?;
            let w = loads.iter().find(|w| w.user == lead).ok_or_else(|| {
                ActionError::refused(
                    "Choose a worker from the teams that run this service".to_owned(),
                )
            })?;
            if careweave_domain::casework::over_capacity(w.open_cases, w.cap) {
                warnings.push(format!(
                    "{} already leads {} open cases for this service (the cap is {})",
                    w.name,
                    w.open_cases,
                    w.cap.unwrap_or_default()
                ));
            }
        }
        if new_case {
            let at_practice = self.practice_load(service.id, person).await?;
            if careweave_domain::casework::over_capacity(at_practice, service.settings.practice_cap)
            {
                warnings.push(format!(
                    "the person's practice already has {at_practice} open cases for this service (the cap is {})",
                    service.settings.practice_cap.unwrap_or_default()
                ));
            }
        }
        Ok(if warnings.is_empty() {
            None
        } else {
            Some(format!(
                "Over capacity: {}. Tick the box to go ahead anyway.",
                warnings.join("; and ")
            ))
        })
    }

    /// Triage: accept (opening a case, with a lead worker now or later), decline or redirect, each
    /// with a reason; accepting against the eligibility advice needs an override reason.
    pub async fn triage(
        &self,
        who: &Principal,
        id: ReferralId,
        decision: &TriageDecision,
        today: NaiveDate,
    ) -> Result<Option<CaseId>, ActionError> {
        let view = self.referral_for(who, id).await?;
        if !view.can_triage {
            return Err(ActionError::refused(
                "This referral has already been triaged, or is not for your team".to_owned(),
            ));
        }
        let Some(person) = view.person else {
            return Err(ActionError::refused(
                "Link the referral to the right person before triage".to_owned(),
            ));
        };
        match decision {
            TriageDecision::Accept {
                lead,
                reason,
                override_reason,
                intensity,
                confirm_over_capacity,
            } => {
                if view.advice.needs_override() && override_reason.is_none() {
                    return Err(ActionError::refused_at(
                        "override_reason",
                        format!("{} Give a reason for accepting anyway.", view.advice.text()),
                    ));
                }
                if !confirm_over_capacity {
                    if let Some(w) = self
                        .capacity_warning(&view.service, person, *lead, true)
                        .await?
                    {
                        return Err(ActionError::OverCapacity(w));
                    }
                }
                let lead_org = match lead {
                    Some(l) => Some(self.worker_org(&view.service, *l).await?),
                    None => None,
                };
                let due = review_due(today, None, view.service.settings.review_interval);
                // Built before the transaction (its reads go through the pool) and queued in it
                // with the case it opened.
                let mut message = self
                    .message_from_referral(
                        &view,
                        person,
                        crate::outbox::MessageKind::ReferralAccepted,
                        reason,
                        who.user,
                    )
                    .await?;
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE casework_referrals SET status = 'accepted', triaged_by = $1, triaged_on = $2, \
                     triage_reason = $3, override_reason = $4 WHERE id = $5 AND status = 'waiting'",
                )
                .bind(who.user.get())
                .bind(today.to_string())
                .bind(reason)
                .bind(override_reason.clone())
                .bind(id.get())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(ActionError::refused(
                        "Someone else has triaged this referral already".to_owned(),
                    ));
                }
                let r = sqlx::query(
                    "INSERT INTO casework_cases (person_id, service_id, referral_id, status, opened_on, \
                     episode_started_on, intensity, review_due_on) VALUES ($1, $2, $3, 'open', $4, $4, $5, $6) RETURNING id",
                )
                .bind(person.get())
                .bind(view.service.id.get())
                .bind(id.get())
                .bind(today.to_string())
                .bind(intensity.code())
                .bind(due.to_string())
                .fetch_one(&mut *tx)
                .await?;
                let case = CaseId::new(get_i64(&r, "id")?);
                sqlx::query("UPDATE casework_referrals SET case_id = $1 WHERE id = $2")
                    .bind(case.get())
                    .bind(id.get())
                    .execute(&mut *tx)
                    .await?;
                let mut summary = format!("Referral accepted: {reason}");
                if let Some(o) = override_reason {
                    summary.push_str(&format!(" (eligibility advice overridden: {o})"));
                }
                event(&mut tx, case, today, Some(who.user), "triage", &summary).await?;
                if let (Some(l), Some(org)) = (lead, lead_org) {
                    add_worker(&mut tx, case, person, *l, org, CaseRole::Lead, today).await?;
                    event(
                        &mut tx,
                        case,
                        today,
                        Some(who.user),
                        "allocation",
                        "Lead worker allocated",
                    )
                    .await?;
                }
                audit_tx(
                    &mut tx,
                    Some(who.user),
                    AuditAction::Create,
                    Some(person),
                    format!(
                        "casework referral {id} accepted, case {case} opened{}",
                        if override_reason.is_some() {
                            " (override)"
                        } else {
                            ""
                        }
                    ),
                )
                .await?;
                message.case = Some(case);
                self.queue_message(&mut tx, &message, who.user).await?;
                self.notify_referrer(&mut tx, id.get(), who.user, "was accepted")
                    .await?;
                tx.commit().await?;
                Ok(Some(case))
            }
            TriageDecision::Decline { reason } => {
                let message = self
                    .message_from_referral(
                        &view,
                        person,
                        crate::outbox::MessageKind::ReferralDeclined,
                        reason,
                        who.user,
                    )
                    .await?;
                self.close_referral(
                    who,
                    id,
                    person,
                    "declined",
                    reason,
                    None,
                    today,
                    Some(&message),
                )
                .await?;
                Ok(None)
            }
            TriageDecision::Redirect { to, reason } => {
                if *to == view.service.id {
                    return Err(ActionError::refused(
                        "Choose a different service to redirect to".to_owned(),
                    ));
                }
                self.casework_service(*to).await?;
                let copy = NewReferral {
                    service: *to,
                    known_person: None,
                    person: view.referred.clone(),
                    source: ReferralSource::AnotherTeam,
                    route: ReferralRoute::App,
                    reason: format!(
                        "Redirected from {}: {reason}. {}",
                        view.service.name, view.reason
                    ),
                    needs: view.needs.clone(),
                    concerns: view.concerns.clone(),
                    need_domains: view.need_domains.clone(),
                    risk_flags: view.risk_flags.clone(),
                    cohort: view.cohort.clone(),
                    urgency: view.urgency,
                    consent_share_detail: view.consent_share_detail,
                    referrer: view.referrer.clone(),
                    // The person keeps their place: time waiting counts from the first referral.
                    received_on: view.received_on,
                };
                // The copy keeps the link triage made: the store decided it, not a client.
                let created = self.insert_referral(&copy, Some(person)).await?;
                self.close_referral(
                    who,
                    id,
                    person,
                    "redirected",
                    reason,
                    Some(created.id),
                    today,
                    None,
                )
                .await?;
                Ok(None)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn close_referral(
        &self,
        who: &Principal,
        id: ReferralId,
        person: PersonId,
        status: &str,
        reason: &str,
        redirected_to: Option<ReferralId>,
        today: NaiveDate,
        message: Option<&GpMessage>,
    ) -> Result<(), ActionError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE casework_referrals SET status = $1, triaged_by = $2, triaged_on = $3, triage_reason = $4, \
             redirected_to = $5 WHERE id = $6 AND status = 'waiting'",
        )
        .bind(status)
        .bind(who.user.get())
        .bind(today.to_string())
        .bind(reason)
        .bind(redirected_to.map(ReferralId::get))
        .bind(id.get())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ActionError::refused(
                "Someone else has triaged this referral already".to_owned(),
            ));
        }
        audit_tx(
            &mut tx,
            Some(who.user),
            AuditAction::Update,
            Some(person),
            format!("casework referral {id} {status}"),
        )
        .await?;
        if let Some(m) = message {
            self.queue_message(&mut tx, m, who.user).await?;
        }
        let outcome = if redirected_to.is_some() {
            "was passed to another service"
        } else {
            "was declined"
        };
        self.notify_referrer(&mut tx, id.get(), who.user, outcome)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
