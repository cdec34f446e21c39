//! The case view (timeline, contacts, assessment, plan, reviews, carers) and the lists of cases:
//! a worker's caseload, their day and a person's casework.

use super::*;

/// The cases a worker has a part in, with what a case list shows of each (see `summary_from_row`).
const MY_CASES: &str =
    "SELECT c.id, c.status, c.intensity, c.review_due_on, w.role, p.given_name, p.family_name, \
     s.name AS service_name FROM casework_workers w JOIN casework_cases c ON c.id = w.case_id \
     JOIN people p ON p.id = c.person_id JOIN services s ON s.id = c.service_id";

impl Store {
    /// Everything on a case, through the policy, audited as one read.
    pub async fn case_for(&self, who: &Principal, case: CaseId) -> Result<CaseView, ActionError> {
        // One read of the case with everything the page shows about the person, checked through
        // the policy before anything else is read.
        let c = sqlx::query(
            "SELECT c.*, p.given_name, p.family_name, p.nhs_number, p.date_of_birth, \
             (SELECT COUNT(*) FROM people h WHERE h.household_id = p.household_id) AS household_size, \
             o.name AS practice_name, r.reason AS referral_reason, r.consent_share_detail \
             FROM casework_cases c JOIN people p ON p.id = c.person_id \
             JOIN organisations o ON o.id = p.registered_practice_id \
             JOIN casework_referrals r ON r.id = c.referral_id WHERE c.id = $1",
        )
        .bind(case.get())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(ActionError::Denied)?;
        let (access, service, _) = self.case_row_capability(who, &c, "case", false).await?;
        let (person, grant) = (access.person(), access.grant());
        // Someone in no household counts as a household of one.
        let household_size = get_i64(&c, "household_size")?.max(1);
        // The parts of the page are read side by side, each on its own pooled connection: one
        // after another, the case page's dozen round trips made its latency grow with every other
        // request the database was serving (issue 19's place-scale load).
        let workers = async {
            sqlx::query(
                "SELECT w.user_id, u.display_name, o.name AS org_name, w.role, w.started_on \
                 FROM casework_workers w JOIN users u ON u.id = w.user_id JOIN organisations o ON o.id = w.organisation_id \
                 WHERE w.case_id = $1 AND w.ended_on IS NULL ORDER BY w.started_on, u.display_name",
            )
            .bind(case.get())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(CaseWorker {
                    user: UserId::new(get_i64(r, "user_id")?),
                    name: r.try_get("display_name")?,
                    organisation: r.try_get("org_name")?,
                    role: get_code(r, "role", CaseRole::from_code)?,
                    since: get_date(r, "started_on")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
        };
        let timeline = async {
            sqlx::query(
                "SELECT e.on_date, e.kind, e.summary, u.display_name FROM casework_events e \
                 LEFT JOIN users u ON u.id = e.user_id WHERE e.case_id = $1 ORDER BY e.on_date DESC, e.id DESC",
            )
            .bind(case.get())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(TimelineEntry {
                    on: get_date(r, "on_date")?,
                    by: r.try_get("display_name")?,
                    kind: r.try_get("kind")?,
                    summary: r.try_get("summary")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
        };
        // Sensitive notes are read only by those the consent rule names; the person's current
        // preferences say whether the rest of the care team shares them.
        let lead_worker = c
            .try_get::<Option<i64>, _>("lead_user_id")?
            .map(UserId::new);
        let contacts = async {
            let sensitive = SensitiveContext {
                lead_worker,
                service_providers: service.organisations(),
                shared_with_care_team: self
                    .sharing_preferences(person)
                    .await?
                    .sensitive_with_care_team,
                viewer_in_care_team: grant == Grant::CareTeamMember,
            };
            self.contacts(who, case, &sensitive).await
        };
        let reviews = async {
            sqlx::query(
                "SELECT v.reviewed_on, v.intensity, v.summary, u.display_name FROM casework_reviews v \
                 JOIN users u ON u.id = v.user_id WHERE v.case_id = $1 ORDER BY v.reviewed_on DESC, v.id DESC",
            )
            .bind(case.get())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Review {
                    on: get_date(r, "reviewed_on")?,
                    by: r.try_get("display_name")?,
                    intensity: get_code(r, "intensity", Intensity::from_code)?,
                    summary: r.try_get("summary")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
        };
        let carers = async {
            sqlx::query(
                "SELECT name, relationship, contact, involve FROM casework_carers WHERE person_id = $1 ORDER BY id",
            )
            .bind(person.get())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Carer {
                    name: r.try_get("name")?,
                    relationship: r.try_get("relationship")?,
                    contact: r.try_get("contact")?,
                    involve: r.try_get("involve")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
        };
        let (workers, timeline, contacts, assessment, plan, reviews, carers, outcomes) = tokio::try_join!(
            async { workers.await.map_err(ActionError::from) },
            async { timeline.await.map_err(ActionError::from) },
            async { contacts.await.map_err(ActionError::from) },
            async {
                self.assessment_summary(case)
                    .await
                    .map_err(ActionError::from)
            },
            async { self.plan(case, &c).await.map_err(ActionError::from) },
            async { reviews.await.map_err(ActionError::from) },
            async { carers.await.map_err(ActionError::from) },
            async { self.outcomes_of(case).await.map_err(ActionError::from) },
        )?;
        let can_edit = Self::case_change_allowed(
            who,
            &service.organisations(),
            workers.iter().any(|w| w.user == who.user),
        );
        let view = CaseView {
            access,
            id: case,
            person,
            person_name: display_name(
                &c.try_get::<String, _>("family_name")?,
                &c.try_get::<String, _>("given_name")?,
            ),
            nhs_number: parse_column("people.nhs_number", &c.try_get::<String, _>("nhs_number")?)?,
            date_of_birth: get_date(&c, "date_of_birth")?,
            practice: c.try_get("practice_name")?,
            household_size,
            referral: ReferralId::new(get_i64(&c, "referral_id")?),
            referral_reason: c.try_get("referral_reason")?,
            consent_share_detail: get_i64(&c, "consent_share_detail")? == 1,
            status: get_code(&c, "status", CaseStatus::from_code)?,
            opened_on: get_date(&c, "opened_on")?,
            episode_started_on: get_date(&c, "episode_started_on")?,
            intensity: get_code(&c, "intensity", Intensity::from_code)?,
            reopen_count: get_i64(&c, "reopen_count")?,
            review_due_on: get_date(&c, "review_due_on")?,
            discharge: discharge_from_row(&c)?,
            discharge_warnings: c
                .try_get::<Option<String>, _>("discharge_warnings")?
                .map(|w| w.lines().map(str::to_owned).collect())
                .unwrap_or_default(),
            service,
            workers,
            timeline,
            contacts,
            assessment,
            plan,
            reviews,
            carers,
            outcomes,
            can_edit,
        };
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(person.get()),
            reason: format!("casework case {case}: {}", grant.code()),
        })
        .await?;
        Ok(view)
    }

    pub(super) async fn contacts(
        &self,
        who: &Principal,
        case: CaseId,
        sensitive: &SensitiveContext,
    ) -> Result<Vec<Contact>, StoreError> {
        sqlx::query(
            "SELECT k.*, u.display_name FROM casework_contacts k JOIN users u ON u.id = k.recorded_by \
             WHERE k.case_id = $1 ORDER BY k.contact_on DESC, k.id DESC",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let category = r
                .try_get::<Option<String>, _>("sensitive_category")?
                .map(|c| text_code("sensitive_category", &c, SensitiveCategory::from_code))
                .transpose()?;
            let restricted = category.is_some()
                && !can_see_sensitive(
                    who,
                    &SensitiveFacts {
                        author: UserId::new(get_i64(r, "recorded_by")?),
                        lead_worker: sensitive.lead_worker,
                        service_providers: sensitive.service_providers.clone(),
                        shared_with_care_team: sensitive.shared_with_care_team,
                        viewer_in_care_team: sensitive.viewer_in_care_team,
                    },
                );
            Ok(Contact {
                id: get_i64(r, "id")?,
                contact_type: get_code(r, "contact_type", ContactType::from_code)?,
                on: get_date(r, "contact_on")?,
                minutes: u32_of(get_i64(r, "minutes")?),
                present: r.try_get("present")?,
                note: if restricted {
                    String::new()
                } else {
                    r.try_get("note")?
                },
                by: r.try_get("display_name")?,
                sensitive: category,
                restricted,
            })
        })
        .collect()
    }

    pub(super) async fn assessment_summary(
        &self,
        case: CaseId,
    ) -> Result<AssessmentSummary, StoreError> {
        let assessments = sqlx::query(
            "SELECT id, assessed_on, strengths FROM casework_assessments WHERE case_id = $1 \
             ORDER BY assessed_on, id",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?;
        let domains = self.life_domains().await?;
        // The first and the latest assessments' scores in one query (they are the same row when
        // there has been only one assessment).
        let ids = assessments
            .first()
            .zip(assessments.last())
            .map(|(b, l)| Ok::<_, StoreError>((get_i64(b, "id")?, get_i64(l, "id")?)))
            .transpose()?;
        let mut baseline = BTreeMap::new();
        let mut latest = BTreeMap::new();
        if let Some((first, last)) = ids {
            let rows = sqlx::query(
                "SELECT assessment_id, domain_code, score FROM casework_assessment_scores \
                 WHERE assessment_id IN ($1, $2)",
            )
            .bind(first)
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                let score = get_i64(r, "score")?;
                let code: String = r.try_get("domain_code")?;
                let s = DomainScore::new(&code, u8::try_from(score).unwrap_or(0)).map_err(|e| {
                    StoreError::Corrupt {
                        column: "casework_assessment_scores.score",
                        detail: e.to_string(),
                    }
                })?;
                let id = get_i64(r, "assessment_id")?;
                if id == first {
                    baseline.insert(code.clone(), s);
                }
                if id == last {
                    latest.insert(code, s);
                }
            }
        }
        let repeated = assessments.len() > 1;
        Ok(AssessmentSummary {
            count: assessments.len(),
            baseline_on: assessments
                .first()
                .map(|r| get_date(r, "assessed_on"))
                .transpose()?,
            latest_on: assessments
                .last()
                .map(|r| get_date(r, "assessed_on"))
                .transpose()?,
            strengths: assessments
                .last()
                .map(|r| r.try_get::<String, _>("strengths"))
                .transpose()?,
            domains: domains
                .into_iter()
                .map(|(code, label)| {
                    let b = baseline.get(&code).copied();
                    let l = if repeated {
                        latest.get(&code).copied()
                    } else {
                        None
                    };
                    DomainResult {
                        change: b.zip(l).map(|(b, l)| Change::between(b, l)),
                        code,
                        label,
                        baseline: b,
                        latest: l,
                    }
                })
                .collect(),
        })
    }

    pub(super) async fn plan(&self, case: CaseId, c: &AnyRow) -> Result<Plan, StoreError> {
        // Goals, actions and graded steps in one round trip (the case page pays one per query),
        // each kind then put in its own order.
        let rows = sqlx::query(
            "SELECT 'goal' AS kind, id, text, target_on AS day, NULL AS done_on, progress AS n, '' AS owner \
             FROM casework_goals WHERE case_id = $1 \
             UNION ALL SELECT 'action', id, text, due_on, done_on, CAST(0 AS BIGINT), owner \
             FROM casework_actions WHERE case_id = $1 \
             UNION ALL SELECT 'step', id, text, NULL, NULL, week, '' FROM casework_steps WHERE case_id = $1 \
             UNION ALL SELECT 'attainment', a.goal_id, '', a.rated_on, NULL, a.level, '' \
             FROM casework_goal_attainment a JOIN casework_goals g ON g.id = a.goal_id WHERE g.case_id = $1",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?;
        let mut goals = Vec::new();
        let mut actions = Vec::new();
        let mut steps = Vec::new();
        let mut ratings = Vec::new();
        for r in &rows {
            let id = get_i64(r, "id")?;
            let text: String = r.try_get("text")?;
            match r.try_get::<String, _>("kind")?.as_str() {
                "goal" => goals.push(Goal {
                    id,
                    text,
                    target_on: opt_date(r, "day")?,
                    progress: u8::try_from(get_i64(r, "n")?).unwrap_or(0),
                    attainment: Vec::new(),
                }),
                "attainment" => {
                    let level = get_i64(r, "n")?;
                    let rating = careweave_domain::casework::GoalAttainment::from_level(level)
                        .ok_or(StoreError::Corrupt {
                            column: "casework_goal_attainment.level",
                            detail: level.to_string(),
                        })?;
                    ratings.push((id, get_date(r, "day")?, rating));
                }
                "action" => actions.push(PlanAction {
                    id,
                    text,
                    owner: r.try_get("owner")?,
                    due_on: get_date(r, "day")?,
                    done_on: opt_date(r, "done_on")?,
                }),
                _ => steps.push((
                    id,
                    Step {
                        week: u32_of(get_i64(r, "n")?),
                        text,
                    },
                )),
            }
        }
        goals.sort_by_key(|g| g.id);
        // Ratings in the order made; the attainment rows carry their goal's id.
        ratings.sort_by_key(|(goal, on, _)| (*goal, *on));
        for (goal, on, rating) in ratings {
            if let Some(g) = goals.iter_mut().find(|g| g.id == goal) {
                g.attainment.push((on, rating));
            }
        }
        actions.sort_by_key(|a| (a.due_on, a.id));
        steps.sort_by_key(|(id, s)| (s.week, *id));
        let steps = steps.into_iter().map(|(_, s)| s).collect();
        let priorities: String = c.try_get("priorities")?;
        Ok(Plan {
            what_matters: c.try_get("what_matters")?,
            priorities: priorities
                .lines()
                .map(str::to_owned)
                .filter(|l| !l.trim().is_empty())
                .collect(),
            escalation: c.try_get("escalation")?,
            version: get_i64(c, "plan_version")?,
            goals,
            actions,
            steps,
        })
    }

    /// The cases `who` works on now. Audited as one list read.
    pub async fn my_cases(&self, who: &Principal) -> Result<Vec<CaseSummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "{MY_CASES} WHERE w.user_id = $1 AND w.ended_on IS NULL AND c.status <> 'discharged' \
                 ORDER BY c.review_due_on, p.family_name"
        ))
        .bind(who.user.get())
        .fetch_all(&self.pool)
        .await?;
        let list = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "caseload",
            entity_id: Some(who.user.get()),
            reason: format!("own casework caseload ({} cases)", list.len()),
        })
        .await?;
        Ok(list)
    }

    /// The cases `who` works on or worked on, by status: open ones (as [`Store::my_cases`]), or
    /// those discharged in the last [`super::RECENTLY_DISCHARGED_DAYS`] days whose last workers
    /// included `who` (they can still open and reopen them), or both. Audited as one list read.
    pub async fn my_cases_by_status(
        &self,
        who: &Principal,
        filter: CaseListFilter,
        today: NaiveDate,
    ) -> Result<Vec<CaseSummary>, StoreError> {
        let mut list = if filter == CaseListFilter::Discharged {
            Vec::new()
        } else {
            self.my_cases(who).await?
        };
        if filter == CaseListFilter::Open {
            return Ok(list);
        }
        let since = today - chrono::Duration::days(super::RECENTLY_DISCHARGED_DAYS);
        // A discharge ends every worker's part on the case, so the worker's latest part names the
        // role they had; one row per case, from the part that ended last.
        let rows = sqlx::query(
            &format!(
                "{MY_CASES} WHERE w.user_id = $1 AND c.status = 'discharged' AND c.discharged_on >= $2 \
                 AND w.started_on = (SELECT MAX(w2.started_on) FROM casework_workers w2 \
                 WHERE w2.case_id = c.id AND w2.user_id = $1) \
                 ORDER BY c.discharged_on DESC, p.family_name"
            ),
        )
        .bind(who.user.get())
        .bind(since.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut discharged = Vec::new();
        for r in &rows {
            let summary = summary_from_row(r)?;
            if !discharged
                .iter()
                .any(|d: &CaseSummary| d.case == summary.case)
            {
                discharged.push(summary);
            }
        }
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "caseload",
            entity_id: Some(who.user.get()),
            reason: format!(
                "own recently discharged casework cases ({} cases)",
                discharged.len()
            ),
        })
        .await?;
        list.extend(discharged);
        Ok(list)
    }

    /// A worker's day: today's planned visits, reviews due within a week, overdue actions.
    pub async fn my_day(&self, who: &Principal, today: NaiveDate) -> Result<MyDay, StoreError> {
        let visits = self.visits_on(who.user, today).await?;
        let soon = today + chrono::Duration::days(7);
        // Overdue reviews are due too, however long ago they fell due.
        let long_ago = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(today);
        let reviews_due = self.reviews_due_between(who.user, long_ago, soon).await?;
        let overdue_actions = sqlx::query(
            "SELECT a.case_id, a.text, a.owner, a.due_on, p.given_name, p.family_name \
             FROM casework_actions a JOIN casework_cases c ON c.id = a.case_id JOIN people p ON p.id = c.person_id \
             WHERE a.done_on IS NULL AND a.due_on < $2 AND c.status <> 'discharged' AND EXISTS \
             (SELECT 1 FROM casework_workers w WHERE w.case_id = c.id AND w.user_id = $1 AND w.ended_on IS NULL) \
             ORDER BY a.due_on",
        )
        .bind(who.user.get())
        .bind(today.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(OverdueAction {
                case: CaseId::new(get_i64(r, "case_id")?),
                name: display_name(
                    &r.try_get::<String, _>("family_name")?,
                    &r.try_get::<String, _>("given_name")?,
                ),
                text: r.try_get("text")?,
                owner: r.try_get("owner")?,
                due_on: get_date(r, "due_on")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "caseload",
            entity_id: Some(who.user.get()),
            reason: format!(
                "my day ({} visits, {} reviews, {} actions)",
                visits.len(),
                reviews_due.len(),
                overdue_actions.len()
            ),
        })
        .await?;
        Ok(MyDay {
            visits,
            reviews_due,
            overdue_actions,
        })
    }

    /// The open cases the worker leads or covers whose review falls due from `from` to `to`
    /// (both included), soonest first: the diary's reviews. The caller audits the read (see
    /// `Store::diary`).
    pub(crate) async fn reviews_due_between(
        &self,
        user: UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CaseSummary>, StoreError> {
        sqlx::query(&format!(
            "{MY_CASES} WHERE w.user_id = $1 AND w.ended_on IS NULL AND w.role IN ('lead', 'cover') \
             AND c.status <> 'discharged' AND c.review_due_on >= $2 AND c.review_due_on <= $3 \
             ORDER BY c.review_due_on, c.id"
        ))
        .bind(user.get())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(summary_from_row)
        .collect()
    }

    /// A person's casework (cases and referrals) for their record page, through the policy.
    pub async fn person_casework(
        &self,
        who: &Principal,
        person: PersonId,
    ) -> Result<
        (
            Vec<(CaseId, String, CaseStatus)>,
            Vec<(ReferralId, String, ReferralStatus)>,
        ),
        ActionError,
    > {
        let grant = self.casework_grant(who, person, "summary").await?;
        let cases = sqlx::query(
            "SELECT c.id, s.name, c.status FROM casework_cases c JOIN services s ON s.id = c.service_id \
             WHERE c.person_id = $1 ORDER BY c.id DESC",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                CaseId::new(get_i64(r, "id")?),
                r.try_get("name")?,
                get_code(r, "status", CaseStatus::from_code)?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let referrals = sqlx::query(
            "SELECT r.id, s.name, r.status FROM casework_referrals r JOIN services s ON s.id = r.service_id \
             WHERE r.person_id = $1 ORDER BY r.id DESC",
        )
        .bind(person.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                ReferralId::new(get_i64(r, "id")?),
                r.try_get("name")?,
                get_code(r, "status", ReferralStatus::from_code)?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(person.get()),
            reason: format!("casework summary: {}", grant.code()),
        })
        .await?;
        Ok((cases, referrals))
    }
}
