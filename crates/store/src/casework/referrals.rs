//! Referrals: receiving one (matched to a known person only by their details or an opened
//! record), the one waiting list, a referral's page with its candidates, linking it to a person and
//! the referrals a user has sent.

use super::*;
use crate::notifications::{NotificationKind, Recipients};
use crate::sql::IdList;

impl Store {
    /// Records a referral from anyone: a signed-in professional, the public form, a worklist row or
    /// another system. It is linked to a person at once only when the referrer proved they may
    /// read that person ([`NewReferral::known_person`], which must be the referrer's own proof), or
    /// when the NHS number, date of birth, family name and given name all match one person in the
    /// registry; otherwise triage links it (or merges it with a likely duplicate) later. The answer
    /// is the same either way.
    pub async fn create_referral(&self, new: &NewReferral) -> Result<ReferralCreated, ActionError> {
        self.casework_service(new.service).await?;
        let person = match (&new.known_person, new.person.nhs_number) {
            (Some(access), _) => {
                // The proof is the referrer's own: one user's check never names a person for
                // another, and an anonymous referral names no one.
                if new.referrer.user != Some(access.user()) {
                    return Err(ActionError::Denied);
                }
                Some(access.person())
            }
            (None, Some(nhs)) => self.demographic_match(nhs, &new.person).await?,
            (None, None) => None,
        };
        self.insert_referral(new, person).await
    }

    /// The registry person with this NHS number when their date of birth, family name and given
    /// name (trimmed, ignoring case) all match what the referrer typed too. An NHS number alone
    /// is not enough: it is printed on letters and prescriptions, and whoever knows one must not
    /// be able to tie that person to contact details of their choosing.
    pub(super) async fn demographic_match(
        &self,
        nhs: NhsNumber,
        typed: &ReferredPerson,
    ) -> Result<Option<PersonId>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT id, given_name, family_name, date_of_birth FROM people WHERE nhs_number = $1",
        )
        .bind(nhs.as_digits())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let same = |column: &str, typed: &str| -> Result<bool, StoreError> {
            let held: String = r.try_get(column)?;
            Ok(held.trim().to_lowercase() == typed.trim().to_lowercase())
        };
        let matched = get_date(&r, "date_of_birth")? == typed.date_of_birth
            && same("family_name", &typed.family_name)?
            && same("given_name", &typed.given_name)?;
        Ok(if matched {
            Some(PersonId::new(get_i64(&r, "id")?))
        } else {
            None
        })
    }

    /// Writes a referral linked to `person` (already decided by the caller) with its audit row.
    pub(super) async fn insert_referral(
        &self,
        new: &NewReferral,
        person: Option<PersonId>,
    ) -> Result<ReferralCreated, ActionError> {
        let service = self.casework_service(new.service).await?;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO casework_referrals (service_id, person_id, given_name, family_name, date_of_birth, \
             nhs_number, practice_id, contact, source, route, reason, needs, concerns, need_domains, \
             risk_flags, cohort, urgency, consent_share_detail, referrer_user_id, referrer_name, \
             referrer_contact, received_at, received_on, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, 'waiting') RETURNING id",
        )
        .bind(new.service.get())
        .bind(person.map(PersonId::get))
        .bind(new.person.given_name.trim())
        .bind(new.person.family_name.trim())
        .bind(new.person.date_of_birth.to_string())
        .bind(new.person.nhs_number.map(|n| n.as_digits()))
        .bind(new.person.practice.map(OrganisationId::get))
        .bind(&new.person.contact)
        .bind(new.source.code())
        .bind(new.route.code())
        .bind(&new.reason)
        .bind(&new.needs)
        .bind(&new.concerns)
        .bind(codes_text(&new.need_domains, NeedDomain::code))
        .bind(codes_text(&new.risk_flags, RiskFlag::code))
        .bind(new.cohort.clone())
        .bind(new.urgency.code())
        .bind(i64::from(new.consent_share_detail))
        .bind(new.referrer.user.map(UserId::get))
        .bind(&new.referrer.name)
        .bind(&new.referrer.contact)
        .bind(now_text())
        .bind(new.received_on.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let id = ReferralId::new(get_i64(&row, "id")?);
        audit_tx(
            &mut tx,
            new.referrer.user,
            AuditAction::Create,
            person,
            format!(
                "casework referral {id} ({}, {})",
                new.source.code(),
                new.route.code()
            ),
        )
        .await?;
        // The team that works the service's list hears of it with the referral; the text names
        // the service only, as not everyone told may open the person's record.
        self.notify(
            &mut tx,
            &Recipients::Team {
                organisations: service.organisations(),
                except: new.referrer.user,
            },
            NotificationKind::NewReferral,
            &format!(
                "A new referral is waiting for {}. Urgency: {}.",
                service.name,
                new.urgency.label()
            ),
            &format!("/referrals/{id}"),
        )
        .await?;
        tx.commit().await?;
        Ok(ReferralCreated { id })
    }

    /// The one waiting list across employers for the services `who` works, in priority order.
    /// Audited as one list read.
    pub async fn waiting_list(
        &self,
        who: &Principal,
        filter: &WaitingFilter,
        today: NaiveDate,
    ) -> Result<WaitingList, ActionError> {
        let services: Vec<CaseworkService> = self
            .services_worked_by(who)
            .await?
            .into_iter()
            .filter(|s| filter.service.is_none_or(|f| f == s.id))
            .filter(|s| filter.team.is_none_or(|t| s.team == Some(t)))
            .collect();
        let prioritisation = self.prioritisation().await?;
        if services.is_empty() {
            return Ok(WaitingList {
                prioritisation,
                referrals: Vec::new(),
                awaiting_worker: Vec::new(),
            });
        }
        let list = IdList::new(2, services.iter().map(|s| s.id.get()));
        let ids = list.placeholders();
        let name_of = |id: i64| {
            services
                .iter()
                .find(|s| s.id.get() == id)
                .map(|s| s.name.clone())
                .unwrap_or_default()
        };
        let rows = list
            .bind(sqlx::query(&format!(
            "SELECT r.id, r.person_id, r.given_name, r.family_name, r.nhs_number, r.service_id, r.source, \
             r.urgency, r.risk_flags, r.cohort, r.received_on, o.name AS practice_name \
             FROM casework_referrals r LEFT JOIN organisations o ON o.id = r.practice_id \
             WHERE r.status = 'waiting' AND r.service_id IN ({ids}) AND ($1 < 0 OR r.practice_id = $1)"
        ))
        .bind(filter.practice.map_or(-1, OrganisationId::get)))
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let received_on = get_date(r, "received_on")?;
            let facts = WaitingFacts {
                urgency: get_code(r, "urgency", Urgency::from_code)?,
                received_on,
                risk_flags: parse_codes(
                    &r.try_get::<String, _>("risk_flags")?,
                    RiskFlag::from_code,
                )
                .map_err(|detail| StoreError::Corrupt {
                    column: "casework_referrals.risk_flags",
                    detail,
                })?,
                from_cohort: r.try_get::<Option<String>, _>("cohort")?.is_some(),
            };
            let family: String = r.try_get("family_name")?;
            let given: String = r.try_get("given_name")?;
            let item = WaitingItem {
                referral: ReferralId::new(get_i64(r, "id")?),
                person: r.try_get::<Option<i64>, _>("person_id")?.map(PersonId::new),
                name: display_name(&family, &given),
                nhs_number: r
                    .try_get::<Option<String>, _>("nhs_number")?
                    .map(|n| parse_column("casework_referrals.nhs_number", &n))
                    .transpose()?,
                practice: r.try_get("practice_name")?,
                service: name_of(get_i64(r, "service_id")?),
                source: get_code(r, "source", ReferralSource::from_code)?,
                urgency: facts.urgency,
                received_on,
                days_waiting: (today - received_on).num_days(),
                priority: prioritisation.score(&facts, today),
            };
            items.push((item, facts));
        }
        let mut keyed: Vec<(ReferralId, WaitingFacts)> =
            items.iter().map(|(i, f)| (i.referral, f.clone())).collect();
        prioritisation.order(&mut keyed, today);
        let mut by_id: BTreeMap<ReferralId, WaitingItem> =
            items.into_iter().map(|(i, _)| (i.referral, i)).collect();
        let referrals: Vec<WaitingItem> =
            keyed.iter().filter_map(|(k, _)| by_id.remove(k)).collect();
        // Cases with no current worker, found through the kept count and its index rather than by
        // probing every active case's workers; the active states are named rather than written
        // as `<> 'discharged'` so that the index serves the status too.
        let awaiting = list
            .bind(sqlx::query(&format!(
            "SELECT c.id, c.service_id, c.opened_on, p.given_name, p.family_name FROM casework_cases c \
             JOIN people p ON p.id = c.person_id WHERE c.current_workers = 0 \
             AND c.status IN ('open', 'on_hold', 'reopened') AND c.service_id IN ({ids}) \
             AND ($1 < 0 OR p.registered_practice_id = $1) ORDER BY c.opened_on"
        ))
        .bind(filter.practice.map_or(-1, OrganisationId::get)))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AwaitingWorker {
                case: CaseId::new(get_i64(r, "id")?),
                name: display_name(
                    &r.try_get::<String, _>("family_name")?,
                    &r.try_get::<String, _>("given_name")?,
                ),
                service: name_of(get_i64(r, "service_id")?),
                opened_on: get_date(r, "opened_on")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "casework_waiting_list",
            entity_id: None,
            reason: format!(
                "waiting list ({} referrals, {} awaiting a worker)",
                referrals.len(),
                awaiting.len()
            ),
        })
        .await?;
        Ok(WaitingList {
            prioritisation,
            referrals,
            awaiting_worker: awaiting,
        })
    }

    /// Whether `who` works the list of the service a referral waits with.
    pub(super) fn may_triage(who: &Principal, service: &CaseworkService) -> bool {
        let mine = clinical_orgs(who);
        service.organisations().iter().any(|o| mine.contains(o))
    }

    /// A referral for triage or follow-up: what was sent and what became of it. It is shown to
    /// those who work the service's list (to triage it, and afterwards as their record of it),
    /// to the signed-in user who sent it (read-only, with the outcome), and to anyone the policy
    /// lets read the person it was linked to. Showing it reads the referral, never the person's
    /// record. Audited either way; possible duplicates are looked up only for the triager.
    pub async fn referral_for(
        &self,
        who: &Principal,
        id: ReferralId,
    ) -> Result<ReferralView, ActionError> {
        let row = sqlx::query(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM casework_referrals r \
             LEFT JOIN organisations o ON o.id = r.practice_id WHERE r.id = $1"
        ))
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(ActionError::Denied)?;
        let service = self
            .casework_service(ServiceId::new(get_i64(&row, "service_id")?))
            .await?;
        let person = row
            .try_get::<Option<i64>, _>("person_id")?
            .map(PersonId::new);
        let can_triage = Self::may_triage(who, &service);
        let referrer_user = row
            .try_get::<Option<i64>, _>("referrer_user_id")?
            .map(UserId::new);
        let reads_record = match person {
            Some(p) => match self.person_decision(who, p).await?.0 {
                Decision::Allow(grant) => Some(grant),
                Decision::Deny => None,
            },
            None => None,
        };
        let grant = if can_triage {
            "referral to my organisation's service".to_owned()
        } else if referrer_user == Some(who.user) {
            "referrer".to_owned()
        } else if let Some(g) = reads_record {
            g.code().to_owned()
        } else {
            self.audit(AuditEvent {
                user: Some(who.user),
                action: AuditAction::Denied,
                entity: "casework_referral",
                entity_id: Some(id.get()),
                reason: "neither the referrer nor the service's team".to_owned(),
            })
            .await?;
            return Err(ActionError::Denied);
        };
        let mut view = referral_from_row(&row, service)?;
        view.can_triage = can_triage && view.status == ReferralStatus::Waiting;
        view.can_open_case = view.case.is_some() && reads_record.is_some();
        if let Some(case) = view.case {
            view.case_status = sqlx::query("SELECT status FROM casework_cases WHERE id = $1")
                .bind(case.get())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| get_code(&r, "status", CaseStatus::from_code))
                .transpose()?;
        }
        if !can_triage && reads_record.is_none() {
            // The referrer is not told whether, or to whom, their referral was matched: that
            // would tell them who is in the registry.
            view.person = None;
        }
        if view.person.is_none() && can_triage {
            view.candidates = self.candidates(&view.referred).await?;
        }
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "casework_referral",
            entity_id: Some(id.get()),
            reason: format!(
                "{grant}{}",
                if view.candidates.is_empty() {
                    String::new()
                } else {
                    format!(" (duplicate check showed {} people)", view.candidates.len())
                }
            ),
        })
        .await?;
        Ok(view)
    }

    /// People who may be the referred person: same NHS number, or same name and date of birth.
    pub(super) async fn candidates(
        &self,
        p: &ReferredPerson,
    ) -> Result<Vec<Candidate>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.given_name, p.family_name, p.nhs_number, p.date_of_birth, o.name AS practice_name \
             FROM people p JOIN organisations o ON o.id = p.registered_practice_id \
             WHERE p.nhs_number = $1 OR (p.date_of_birth = $2 AND LOWER(p.family_name) = LOWER($3) \
             AND LOWER(p.given_name) = LOWER($4)) ORDER BY p.id LIMIT 10",
        )
        .bind(p.nhs_number.map(|n| n.as_digits()).unwrap_or_default())
        .bind(p.date_of_birth.to_string())
        .bind(p.family_name.trim())
        .bind(p.given_name.trim())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let nhs: NhsNumber =
                    parse_column("people.nhs_number", &r.try_get::<String, _>("nhs_number")?)?;
                Ok(Candidate {
                    person: PersonId::new(get_i64(r, "id")?),
                    name: display_name(
                        &r.try_get::<String, _>("family_name")?,
                        &r.try_get::<String, _>("given_name")?,
                    ),
                    nhs_number: nhs,
                    date_of_birth: get_date(r, "date_of_birth")?,
                    practice: r.try_get("practice_name")?,
                    matched_on: if Some(nhs) == p.nhs_number {
                        "same NHS number"
                    } else {
                        "same name and date of birth"
                    },
                })
            })
            .collect()
    }

    /// Links (merges) a waiting referral with a person already in the registry.
    pub async fn link_referral(
        &self,
        who: &Principal,
        id: ReferralId,
        person: PersonId,
    ) -> Result<(), ActionError> {
        let view = self.referral_for(who, id).await?;
        if !view.can_triage {
            return Err(ActionError::Denied);
        }
        if view.person.is_some() {
            return Err(ActionError::refused_at(
                "person",
                "This referral is already linked to a person".to_owned(),
            ));
        }
        if !view.candidates.iter().any(|c| c.person == person) {
            return Err(ActionError::refused_at(
                "person",
                "Choose one of the people found by the duplicate check".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE casework_referrals SET person_id = $1 WHERE id = $2 AND person_id IS NULL",
        )
        .bind(person.get())
        .bind(id.get())
        .execute(&mut *tx)
        .await?;
        audit_tx(
            &mut tx,
            Some(who.user),
            AuditAction::Update,
            Some(person),
            format!("casework referral {id} linked to this person (duplicate merged)"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The referrals `who` made, newest first (at most 50), with what became of each, so that a
    /// referrer can follow them up without phoning the team. Audited as one list event.
    pub async fn referrals_sent_by(
        &self,
        who: &Principal,
    ) -> Result<Vec<SentReferral>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.given_name, r.family_name, s.name AS service_name, r.received_on, r.status, \
             c.status AS case_status FROM casework_referrals r JOIN services s ON s.id = r.service_id \
             LEFT JOIN casework_cases c ON c.referral_id = r.id \
             WHERE r.referrer_user_id = $1 ORDER BY r.received_on DESC, r.id DESC LIMIT 50",
        )
        .bind(who.user.get())
        .fetch_all(&self.pool)
        .await?;
        let list = rows
            .iter()
            .map(|r| {
                let case_status: Option<String> = r.try_get("case_status")?;
                Ok(SentReferral {
                    referral: ReferralId::new(get_i64(r, "id")?),
                    name: format!(
                        "{} {}",
                        r.try_get::<String, _>("given_name")?,
                        r.try_get::<String, _>("family_name")?
                    ),
                    service: r.try_get("service_name")?,
                    received_on: get_date(r, "received_on")?,
                    status: get_code(r, "status", ReferralStatus::from_code)?,
                    case_status: case_status
                        .map(|c| text_code("case_status", &c, CaseStatus::from_code))
                        .transpose()?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "referrals_sent",
            entity_id: Some(who.user.get()),
            reason: format!("own referrals ({} listed)", list.len()),
        })
        .await?;
        Ok(list)
    }
}
