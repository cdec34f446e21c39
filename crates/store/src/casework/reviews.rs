//! Reviews, putting a case on hold, discharge, reopening and carers.

use super::*;

impl Store {
    /// Records a review, sets the intensity and the next review date from the service's interval.
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn record_review(
        &self,
        access: &CaseAccess,
        on: NaiveDate,
        intensity: Intensity,
        summary: &str,
    ) -> Result<NaiveDate, ActionError> {
        let (service, status) = self.changing(access, "review").await?;
        let (case, person) = (access.case(), access.person());
        if !status.is_active() {
            return Err(ActionError::refused("This case is discharged".to_owned()));
        }
        let episode = get_date(
            &sqlx::query("SELECT episode_started_on FROM casework_cases WHERE id = $1")
                .bind(case.get())
                .fetch_one(&self.pool)
                .await?,
            "episode_started_on",
        )?;
        let due = review_due(episode, Some(on), service.settings.review_interval);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO casework_reviews (case_id, reviewed_on, user_id, intensity, summary) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(case.get())
        .bind(on.to_string())
        .bind(access.user().get())
        .bind(intensity.code())
        .bind(summary)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE casework_cases SET last_review_on = $1, review_due_on = $2, intensity = $3 WHERE id = $4",
        )
        .bind(on.to_string())
        .bind(due.to_string())
        .bind(intensity.code())
        .bind(case.get())
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on,
                kind: "review",
                summary: &format!("Reviewed: {}; next review due {due}", intensity.label()),
                action: AuditAction::Update,
                audit: format!("casework case {case}: review"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(due)
    }

    /// Puts an active case on hold ("backburner") or takes it off hold, with a reason.
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn set_on_hold(
        &self,
        access: &CaseAccess,
        hold: bool,
        reason: &str,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        let (_, status) = self.changing(access, "hold").await?;
        let (case, person) = (access.case(), access.person());
        // The states the change starts from, bound as parameters (holding starts from either
        // active state; resuming only from on hold, named twice to keep one statement).
        let (from, to) = if hold {
            ([CaseStatus::Open, CaseStatus::Reopened], CaseStatus::OnHold)
        } else {
            ([CaseStatus::OnHold, CaseStatus::OnHold], CaseStatus::Open)
        };
        if !status.is_active() || (status == CaseStatus::OnHold) == hold {
            return Err(ActionError::refused(format!(
                "This case is {}",
                status.label().to_lowercase()
            )));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE casework_cases SET status = $1 WHERE id = $2 AND status IN ($3, $4)")
            .bind(to.code())
            .bind(case.get())
            .bind(from[0].code())
            .bind(from[1].code())
            .execute(&mut *tx)
            .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on: today,
                kind: "status",
                summary: &format!(
                    "{}: {reason}",
                    if hold {
                        "Put on hold"
                    } else {
                        "Taken off hold"
                    }
                ),
                action: AuditAction::Update,
                audit: format!("casework case {case}: {}", to.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Discharges a case: records reason, destination and the GP's agreement, ends the workers'
    /// part in the care team (unless another active case keeps them there).
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn discharge(&self, access: &CaseAccess, d: &Discharge) -> Result<(), ActionError> {
        let (_, status) = self.changing(access, "discharge").await?;
        let (case, person) = (access.case(), access.person());
        if !status.is_active() {
            return Err(ActionError::refused(
                "This case is already discharged".to_owned(),
            ));
        }
        let warnings = self.discharge_warnings(case, d.reason).await?;
        // Warnings are advice, not a gate: the worker confirms with a reason, which is kept
        // only when there was something to confirm.
        let confirmed = match (&warnings[..], &d.override_reason) {
            ([], _) => None,
            (_, Some(reason)) if !reason.trim().is_empty() => Some(reason.trim()),
            (w, _) => {
                return Err(ActionError::refused_at(
                    "discharge_override",
                    format!(
                        "{}. Check the discharge, or give a reason to discharge anyway.",
                        w.join(". ")
                    ),
                ))
            }
        };
        // The message back to the GP is built from the case as discharged, before the
        // transaction (its reads go through the pool), and queued inside it, so the discharge
        // and its message are committed together or not at all.
        let who = self.principal(access.user()).await?;
        let mut view = self.case_for(&who, case).await?;
        view.discharge = Some(d.clone());
        let message = self
            .message_from_case(&view, crate::outbox::MessageKind::Discharge, Some(who.user))
            .await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE casework_cases SET status = 'discharged', discharged_on = $1, discharge_reason = $2, \
             discharge_destination = $3, gp_agreement = $4, discharge_summary = $5, \
             discharge_warnings = $6, discharge_override = $7 WHERE id = $8",
        )
        .bind(d.on.to_string())
        .bind(d.reason.code())
        .bind(d.destination.code())
        .bind(d.gp.code())
        .bind(&d.summary)
        .bind(confirmed.map(|_| warnings.join("\n")))
        .bind(confirmed)
        .bind(case.get())
        .execute(&mut *tx)
        .await?;
        let workers = sqlx::query(
            "SELECT DISTINCT user_id FROM casework_workers WHERE case_id = $1 AND ended_on IS NULL",
        )
        .bind(case.get())
        .fetch_all(&mut *tx)
        .await?;
        for w in workers {
            end_worker(
                &mut tx,
                case,
                person,
                UserId::new(get_i64(&w, "user_id")?),
                None,
                d.on,
            )
            .await?;
        }
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on: d.on,
                kind: "discharge",
                summary: &match confirmed {
                    None => format!(
                        "Discharged: {}; {}; {}",
                        d.reason.label(),
                        d.destination.label(),
                        d.gp.label()
                    ),
                    Some(reason) => format!(
                        "Discharged: {}; {}; {}. Confirmed despite: {}. Reason: {reason}",
                        d.reason.label(),
                        d.destination.label(),
                        d.gp.label(),
                        warnings.join("; ")
                    ),
                },
                action: AuditAction::Update,
                // The audit row names the override and how many warnings it confirmed, not the
                // worker's words, which stay on the case.
                audit: match confirmed {
                    None => format!("casework case {case}: discharged"),
                    Some(_) => format!(
                        "casework case {case}: discharged with an override of {} warning(s)",
                        warnings.len()
                    ),
                },
            },
        )
        .await?;
        self.queue_message(&mut tx, &message, who.user).await?;
        let referral = sqlx::query("SELECT referral_id FROM casework_cases WHERE id = $1")
            .bind(case.get())
            .fetch_one(&mut *tx)
            .await?;
        self.notify_referrer(
            &mut tx,
            get_i64(&referral, "referral_id")?,
            who.user,
            "has ended: the person was discharged",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The warnings a discharge with `reason` would be recorded with now (see
    /// [`careweave_domain::casework::discharge_warnings`]): the goals' progress, and the measures
    /// the service's schedule asks for at discharge that this episode has not recorded.
    async fn discharge_warnings(
        &self,
        case: CaseId,
        reason: DischargeReason,
    ) -> Result<Vec<String>, StoreError> {
        let progress = sqlx::query("SELECT progress FROM casework_goals WHERE case_id = $1")
            .bind(case.get())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(u8::try_from(get_i64(r, "progress")?).unwrap_or(u8::MAX)))
            .collect::<Result<Vec<u8>, StoreError>>()?;
        let missing = sqlx::query(
            "SELECT COALESCE(o.instrument_name, (SELECT r.instrument_name FROM outcome_records r \
             WHERE r.instrument_id = o.instrument_id ORDER BY r.id DESC LIMIT 1), o.instrument_id) AS name \
             FROM outcome_schedules o JOIN casework_cases c ON c.service_id = o.service_id \
             WHERE c.id = $1 AND o.at_discharge = 1 AND NOT EXISTS (SELECT 1 FROM outcome_records r \
             WHERE r.case_id = c.id AND r.instrument_id = o.instrument_id AND r.point = 'discharge' \
             AND r.taken_on >= c.episode_started_on) ORDER BY o.instrument_id",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get("name").map_err(StoreError::from))
        .collect::<Result<Vec<String>, StoreError>>()?;
        Ok(careweave_domain::casework::discharge_warnings(
            reason, &progress, &missing,
        ))
    }

    /// Reopens a discharged case after a crisis: the history stays, the re-entry is counted, the
    /// reopening worker becomes lead. Allowed to whoever works the service's list, since the
    /// discharged person's care team has ended.
    pub async fn reopen(
        &self,
        who: &Principal,
        case: CaseId,
        reason: &str,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        let r =
            sqlx::query("SELECT person_id, service_id, status FROM casework_cases WHERE id = $1")
                .bind(case.get())
                .fetch_optional(&self.pool)
                .await?
                .ok_or(ActionError::Denied)?;
        let person = PersonId::new(get_i64(&r, "person_id")?);
        let service = self
            .casework_service(ServiceId::new(get_i64(&r, "service_id")?))
            .await?;
        let allowed = Self::may_triage(who, &service)
            || matches!(
                self.casework_grant(who, person, "reopen").await,
                Ok(Grant::CareTeamMember | Grant::SupervisesCareTeam)
            );
        if !allowed {
            return Err(ActionError::Denied);
        }
        if get_code(&r, "status", CaseStatus::from_code)? != CaseStatus::Discharged {
            return Err(ActionError::refused(
                "Only a discharged case can be reopened".to_owned(),
            ));
        }
        let org = self.worker_org(&service, who.user).await?;
        let due = review_due(today, None, service.settings.review_interval);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE casework_cases SET status = 'reopened', reopen_count = reopen_count + 1, \
             episode_started_on = $1, review_due_on = $2, discharged_on = NULL, discharge_reason = NULL, \
             discharge_destination = NULL, gp_agreement = NULL, discharge_summary = NULL, \
             discharge_warnings = NULL, discharge_override = NULL WHERE id = $3",
        )
        .bind(today.to_string())
        .bind(due.to_string())
        .bind(case.get())
        .execute(&mut *tx)
        .await?;
        add_worker(&mut tx, case, person, who.user, org, CaseRole::Lead, today).await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: who.user,
                on: today,
                kind: "reopened",
                summary: &format!("Reopened: {reason}"),
                action: AuditAction::Update,
                audit: format!("casework case {case}: reopened"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a carer and whether the person wants them involved.
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn add_carer(
        &self,
        access: &CaseAccess,
        carer: &Carer,
        today: NaiveDate,
    ) -> Result<(), ActionError> {
        self.changing(access, "carer").await?;
        let (case, person) = (access.case(), access.person());
        if !["yes", "no", "ask"].contains(&carer.involve.as_str()) {
            return Err(ActionError::refused(
                "Say whether the person wants the carer involved".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO casework_carers (person_id, name, relationship, contact, involve, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(person.get())
        .bind(&carer.name)
        .bind(&carer.relationship)
        .bind(&carer.contact)
        .bind(&carer.involve)
        .bind(access.user().get())
        .execute(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on: today,
                kind: "carer",
                summary: "Carer recorded",
                action: AuditAction::Create,
                audit: format!("casework case {case}: carer"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
