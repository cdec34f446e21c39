//! A meeting's agenda: putting cases on it (one by one or from a worklist), the discussion and
//! decision recorded per item, and the actions agreed.

use super::*;

impl Store {
    /// One agenda case of a meeting, for a viewer allowed to read its person; a viewer the policy
    /// refuses for that person is refused here too, and the refusal is audited.
    pub async fn agenda_item(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
    ) -> Result<(MeetingView, AgendaItem), ActionError> {
        let view = self.meeting_for(who, id).await?;
        let found = view
            .items
            .iter()
            .find(|i| i.id == item)
            .cloned()
            .ok_or(ActionError::NotFound("agenda item"))?;
        if found.detail.is_none() {
            return Err(self
                .refuse(
                    who,
                    ENTITY,
                    Some(id.get()),
                    format!("mdt open item {item}: no care relationship"),
                )
                .await);
        }
        Ok((view, found))
    }

    pub(super) async fn item_actions(&self, item: i64) -> Result<Vec<MdtAction>, StoreError> {
        sqlx::query(
            "SELECT id, text, owner, due_on, done_on FROM mdt_actions WHERE item_id = $1 \
             ORDER BY due_on, id",
        )
        .bind(item)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|a| {
            Ok(MdtAction {
                id: get_i64(a, "id")?,
                text: a.try_get("text")?,
                owner: a.try_get("owner")?,
                due_on: get_date(a, "due_on")?,
                done_on: opt_date(a, "done_on")?,
            })
        })
        .collect()
    }

    /// Puts `case` on the agenda for `reason`, or adds the reason to the item already there.
    /// Returns whether the case is new to the agenda. The caller has checked access and audits.
    pub(super) async fn put_on_agenda(
        &self,
        who: &Principal,
        id: MeetingId,
        case: CaseId,
        reason: AgendaReason,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<bool, StoreError> {
        let existing =
            sqlx::query("SELECT id, reasons FROM mdt_items WHERE meeting_id = $1 AND case_id = $2")
                .bind(id.get())
                .bind(case.get())
                .fetch_optional(&mut **tx)
                .await?;
        match existing {
            Some(r) => {
                let mut reasons = reasons_of(&r.try_get::<String, _>("reasons")?)?;
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                    reasons.sort();
                    sqlx::query("UPDATE mdt_items SET reasons = $2 WHERE id = $1")
                        .bind(get_i64(&r, "id")?)
                        .bind(reasons_text(&reasons))
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(false)
            }
            None => {
                sqlx::query(
                    "INSERT INTO mdt_items (meeting_id, case_id, reasons, added_by, added_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id.get())
                .bind(case.get())
                .bind(reason.code())
                .bind(who.user.get())
                .bind(now_text())
                .execute(&mut **tx)
                .await?;
                Ok(true)
            }
        }
    }

    /// Adds a case to the agenda by hand. The adder must be allowed to change the case, so that no
    /// one can put a stranger's case on an agenda to read it there.
    pub async fn add_case_to_meeting(
        &self,
        who: &Principal,
        id: MeetingId,
        case: CaseId,
    ) -> Result<(), ActionError> {
        let (_, grant) = self.meeting_access(who, id, "add case").await?;
        if self.changeable_case(who, case).await?.is_none() {
            self.mdt_audit(
                who,
                AuditAction::Denied,
                ENTITY,
                Some(id.get()),
                format!("mdt add case {case}: may not change this case"),
            )
            .await?;
            return Err(ActionError::refused(
                "You can only add cases you work on or supervise: ask the case's lead worker to add it"
                    .to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let new = self
            .put_on_agenda(who, id, case, AgendaReason::ByHand, &mut tx)
            .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: ENTITY,
                entity_id: Some(id.get()),
                reason: format!(
                    "case {case} added by hand{} ({})",
                    if new { "" } else { " (already on the agenda)" },
                    grant.code()
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The active cases in the host's scope that `list` picks for a meeting on `held_on` whose
    /// agenda is built on `from`: (case, person). A team's scope is its service's cases; a practice's, the cases of people
    /// registered with it.
    pub(super) async fn list_matches(
        &self,
        host: MeetingHost,
        list: AgendaList,
        from: NaiveDate,
        held_on: NaiveDate,
        cohort: Option<&str>,
    ) -> Result<Vec<(CaseId, PersonId)>, StoreError> {
        let (scope, host_id) = match host {
            MeetingHost::Team(s) => ("c.service_id = $1", s.get()),
            MeetingHost::Practice(p) => ("p.registered_practice_id = $1", p.get()),
        };
        // Each list's condition, with the text values it binds as $2, $3, …
        let (condition, binds): (&str, Vec<String>) = match list {
            // High risk: the referral was urgent or flagged a safeguarding risk or a recent crisis,
            // or a safeguarding concern at high or immediate risk is open. The agenda shows only
            // "High risk", never which, because a concern is seen by fewer people than the case.
            AgendaList::HighRisk => (
                "(r.urgency = 'urgent' OR ',' || r.risk_flags || ',' LIKE '%,safeguarding,%' \
                 OR ',' || r.risk_flags || ',' LIKE '%,recent_crisis,%' \
                 OR EXISTS (SELECT 1 FROM safeguarding_concerns sc WHERE sc.case_id = c.id \
                 AND sc.status <> 'closed' AND sc.risk IN ('high', 'immediate')))",
                vec![],
            ),
            AgendaList::HospitalDischarge => (
                "EXISTS (SELECT 1 FROM mdt_case_flags f WHERE f.case_id = c.id \
                 AND f.kind = 'hospital_discharge' AND f.cleared_on IS NULL \
                 AND f.noted_on >= $2 AND f.noted_on <= $3)",
                vec![
                    (from - chrono::Duration::days(RECENT_HOSPITAL_DISCHARGE_DAYS)).to_string(),
                    held_on.to_string(),
                ],
            ),
            AgendaList::WorriedAbout => (
                "EXISTS (SELECT 1 FROM mdt_case_flags f WHERE f.case_id = c.id \
                 AND f.kind = 'worried_about' AND f.cleared_on IS NULL)",
                vec![],
            ),
            AgendaList::ReviewDue => ("c.review_due_on <= $2", vec![held_on.to_string()]),
            AgendaList::Worklist => match cohort {
                Some(cohort) => (
                    "p.nhs_number IN (SELECT w.nhs_number FROM population_worklist w \
                     WHERE w.cohort = $2 AND w.run_id = (SELECT MAX(id) FROM population_runs))",
                    vec![cohort.to_owned()],
                ),
                None => return Ok(Vec::new()),
            },
        };
        let sql = format!(
            "SELECT c.id, c.person_id FROM casework_cases c JOIN people p ON p.id = c.person_id \
             JOIN casework_referrals r ON r.id = c.referral_id \
             WHERE c.status <> 'discharged' AND {scope} AND {condition} ORDER BY c.id"
        );
        let mut q = sqlx::query(&sql).bind(host_id);
        for b in binds {
            q = q.bind(b);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    CaseId::new(get_i64(r, "id")?),
                    PersonId::new(get_i64(r, "person_id")?),
                ))
            })
            .collect()
    }

    /// Builds (or brings up to date) the agenda from the meeting's chosen lists. Only cases the
    /// builder may change are added; the others are counted, not named, so a supervisor or a
    /// worker on those cases can add them.
    ///
    /// "Recently discharged from hospital" counts discharges in the four weeks before the earlier
    /// of `today` and the meeting day, so an agenda built a week ahead still finds last week's.
    pub async fn build_agenda(
        &self,
        who: &Principal,
        id: MeetingId,
        today: NaiveDate,
    ) -> Result<BuildReport, ActionError> {
        let (host, grant) = self.meeting_access(who, id, "build agenda").await?;
        let m = sqlx::query("SELECT held_on, lists, cohort FROM mdt_meetings WHERE id = $1")
            .bind(id.get())
            .fetch_one(&self.pool)
            .await?;
        let held_on = get_date(&m, "held_on")?;
        let cohort: Option<String> = m.try_get("cohort")?;
        let lists: Vec<AgendaList> = m
            .try_get::<String, _>("lists")?
            .split(',')
            .filter_map(AgendaList::from_code)
            .collect();
        let mut picked: Vec<(CaseId, PersonId, AgendaList)> = Vec::new();
        for list in lists {
            for (case, person) in self
                .list_matches(host, list, held_on.min(today), held_on, cohort.as_deref())
                .await?
            {
                picked.push((case, person, list));
            }
        }
        // The policy is asked once per case, before the transaction opens.
        let mut report = BuildReport::default();
        let mut allowed: Vec<(CaseId, bool)> = Vec::new();
        for (case, person, _) in &picked {
            if allowed.iter().all(|(c, _)| c != case) {
                let may = matches!(
                    self.person_decision(who, *person).await?.0,
                    Decision::Allow(_)
                );
                if !may {
                    report.outside_access += 1;
                }
                allowed.push((*case, may));
            }
        }
        let mut added: Vec<String> = Vec::new();
        let mut tx = self.pool.begin().await?;
        for (case, _, list) in picked {
            if !allowed.iter().any(|(c, may)| *c == case && *may) {
                continue;
            }
            let new = self
                .put_on_agenda(who, id, case, AgendaReason::List(list), &mut tx)
                .await?;
            if new {
                report.added += 1;
                added.push(case.to_string());
            }
        }
        report.already = allowed.iter().filter(|(_, may)| *may).count() - report.added;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: ENTITY,
                entity_id: Some(id.get()),
                reason: format!(
                    "agenda built from lists: added cases {}; {} outside the builder's access ({})",
                    if added.is_empty() {
                        "none".to_owned()
                    } else {
                        added.join(",")
                    },
                    report.outside_access,
                    grant.code()
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Checks that `item` is on meeting `id` and that `who` may see the meeting and change the
    /// item's case; returns the case and the grant for the audit row. Refusals are audited.
    pub(super) async fn item_access(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
        what: &str,
    ) -> Result<(CaseId, Grant), ActionError> {
        self.meeting_access(who, id, what).await?;
        let case = sqlx::query("SELECT case_id FROM mdt_items WHERE id = $1 AND meeting_id = $2")
            .bind(item)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| get_i64(&r, "case_id").map(CaseId::new))
            .transpose()?;
        let allowed = match case {
            Some(case) => self
                .changeable_case(who, case)
                .await?
                .map(|(_, g)| (case, g)),
            None => None,
        };
        match allowed {
            Some(ok) => Ok(ok),
            None => Err(self
                .refuse(
                    who,
                    ENTITY,
                    Some(id.get()),
                    format!("mdt {what} on item {item}: may not change the case"),
                )
                .await),
        }
    }

    /// Runs one change to an agenda item after [`Store::item_access`], with its audit row in the
    /// same transaction. `sql` takes the item as `$1` and then `binds` (text or integers).
    pub(super) async fn change_item(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
        (what, stale): (&str, &str),
        sql: &str,
        binds: Vec<Bind>,
    ) -> Result<(), ActionError> {
        let (case, grant) = self.item_access(who, id, item, what).await?;
        change_audited(
            &self.pool,
            sql,
            item,
            binds,
            stale,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: ENTITY,
                entity_id: Some(id.get()),
                reason: format!("case {case}: {what} ({})", grant.code()),
            },
        )
        .await
    }

    /// Records (or corrects) the discussion, the decision and how the person was told.
    pub async fn record_mdt_outcome(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
        outcome: &Outcome,
    ) -> Result<(), ActionError> {
        self.change_item(
            who,
            id,
            item,
            ("outcome recorded", "The outcome could not be saved"),
            "UPDATE mdt_items SET discussion = $2, decision = $3, told_how = $4, told_on = $5, \
             recorded_by = $6, recorded_at = $7 WHERE id = $1",
            vec![
                Bind::Text(outcome.discussion.clone()),
                Bind::Text(outcome.decision.clone()),
                Bind::OptText(outcome.told.map(|t| t.how.code().to_owned())),
                Bind::OptText(outcome.told.map(|t| t.on.to_string())),
                Bind::Int(who.user.get()),
                Bind::Text(now_text()),
            ],
        )
        .await
    }

    /// Adds an action agreed for a case, with its owner and due date.
    pub async fn add_mdt_action(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
        action: &NewMdtAction,
    ) -> Result<(), ActionError> {
        self.change_item(
            who,
            id,
            item,
            ("action added", "The action could not be added"),
            "INSERT INTO mdt_actions (item_id, text, owner, due_on, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Bind::Text(action.text.clone()),
                Bind::Text(action.owner.clone()),
                Bind::Text(action.due_on.to_string()),
                Bind::Int(who.user.get()),
                Bind::Text(now_text()),
            ],
        )
        .await
    }

    /// Marks one of an item's actions done.
    pub async fn complete_mdt_action(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
        action: i64,
        on: NaiveDate,
    ) -> Result<(), ActionError> {
        self.change_item(
            who,
            id,
            item,
            (
                "action done",
                "That action is already done or is not on this case",
            ),
            "UPDATE mdt_actions SET done_on = $2 WHERE item_id = $1 AND id = $3 AND done_on IS NULL",
            vec![Bind::Text(on.to_string()), Bind::Int(action)],
        )
        .await
    }
}
