//! Signposting and referring a person to a directory service, the provider's answer, the
//! lists of referrals and a person's directory activity, and unmet needs.

use super::*;
use crate::notifications::{NotificationKind, Recipients};

impl Store {
    /// Asks the policy whether `who` may read `person`; audits a refusal.
    pub(super) async fn require_person(
        &self,
        who: &Principal,
        person: PersonId,
    ) -> Result<&'static str, DirectoryError> {
        match self.person_decision(who, person).await?.0 {
            Decision::Allow(grant) => Ok(grant.code()),
            Decision::Deny => {
                self.audit(AuditEvent {
                    user: Some(who.user),
                    action: AuditAction::Denied,
                    entity: "person",
                    entity_id: Some(person.get()),
                    reason: "directory: no care relationship".to_owned(),
                })
                .await?;
                Err(DirectoryError::Denied)
            }
        }
    }

    /// Records that the holder of `access` gave its person the details of a service.
    pub async fn signpost(
        &self,
        access: &PersonAccess,
        service: &str,
        note: &str,
    ) -> Result<i64, DirectoryError> {
        let (person, user) = (access.person(), access.user());
        if self.directory_service(service).await?.is_none() {
            return Err(DirectoryError::NotFound("The service"));
        }
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO directory_signposts (person_id, service_id, user_id, note, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(person.get())
        .bind(service)
        .bind(user.get())
        .bind(note)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&r, "id")?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(user),
                action: AuditAction::Create,
                entity: "person",
                entity_id: Some(person.get()),
                reason: format!("directory signpost {id} to service {service}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Sends a referral for the person `access` proves `who` may read to the provider of a
    /// service that takes direct referrals.
    pub async fn refer(
        &self,
        who: &Principal,
        access: &PersonAccess,
        service: &str,
        reason: &str,
    ) -> Result<i64, DirectoryError> {
        // The proof must be this user's: one user's check never names a person for another.
        if access.user() != who.user {
            return Err(DirectoryError::Denied);
        }
        let person = access.person();
        let published = self
            .directory_service(service)
            .await?
            .ok_or(DirectoryError::NotFound("The service"))?;
        let provider = match published.provider {
            Some(p) if published.service.accepts_referrals => p,
            _ => return Err(DirectoryError::Refused(
                "This service does not take direct referrals: signpost the person to it instead",
            )),
        };
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "INSERT INTO directory_referrals (person_id, service_id, provider_id, referred_by, reason, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
        )
        .bind(person.get())
        .bind(service)
        .bind(provider.get())
        .bind(who.user.get())
        .bind(reason)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&r, "id")?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Create,
                entity: "person",
                entity_id: Some(person.get()),
                reason: format!("directory referral {id} to service {service}"),
            },
        )
        .await?;
        self.notify(
            &mut tx,
            &Recipients::Team {
                organisations: vec![provider],
                except: Some(who.user),
            },
            NotificationKind::NewDirectoryReferral,
            &format!(
                "A new directory referral to {} is waiting for your organisation.",
                published.service.name
            ),
            "/directory/referrals",
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The provider accepts or declines a waiting referral.
    pub async fn answer_referral(
        &self,
        who: &Principal,
        referral: i64,
        accept: bool,
        note: &str,
    ) -> Result<(), DirectoryError> {
        let row = sqlx::query(
            "SELECT r.person_id, r.provider_id, r.status, r.referred_by, s.name \
             FROM directory_referrals r JOIN directory_services s ON s.id = r.service_id \
             WHERE r.id = $1",
        )
        .bind(referral)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(DirectoryError::NotFound("The referral"))?;
        let provider = OrganisationId::new(get_i64(&row, "provider_id")?);
        let person = PersonId::new(get_i64(&row, "person_id")?);
        if !clinical_orgs(who).contains(&provider) {
            self.audit(AuditEvent {
                user: Some(who.user),
                action: AuditAction::Denied,
                entity: "person",
                entity_id: Some(person.get()),
                reason: format!("directory referral {referral}: not the provider"),
            })
            .await?;
            return Err(DirectoryError::Denied);
        }
        let status = if accept {
            ReferralStatus::Accepted
        } else {
            ReferralStatus::Declined
        };
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE directory_referrals SET status = $1, answered_by = $2, answered_at = $3, answer_note = $4 \
             WHERE id = $5 AND status = 'pending'",
        )
        .bind(status.code())
        .bind(who.user.get())
        .bind(now_text())
        .bind(note)
        .bind(referral)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(DirectoryError::Refused(
                "This referral has already been answered",
            ));
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: "person",
                entity_id: Some(person.get()),
                reason: format!("directory referral {referral} {}", status.code()),
            },
        )
        .await?;
        let referrer = UserId::new(get_i64(&row, "referred_by")?);
        if referrer != who.user {
            self.notify(
                &mut tx,
                &Recipients::User(referrer),
                NotificationKind::DirectoryReferralAnswered,
                &format!(
                    "Your directory referral to {} was {} by the service.",
                    row.try_get::<String, _>("name").map_err(StoreError::from)?,
                    if accept { "accepted" } else { "declined" }
                ),
                "/directory/referrals",
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Referrals waiting with the organisations `who` works for, oldest first. Audited as one list.
    pub async fn incoming_referrals(&self, who: &Principal) -> Result<Vec<Referral>, StoreError> {
        self.provider_referrals(who, ReferralStatus::Pending).await
    }

    /// Referrals the organisations `who` works for accepted in the last 90 days (the window in
    /// which an acceptance keeps the person's record open to them; see `Store::care_facts`):
    /// the people they are supporting. Audited as one list.
    pub async fn accepted_referrals(&self, who: &Principal) -> Result<Vec<Referral>, StoreError> {
        self.provider_referrals(who, ReferralStatus::Accepted).await
    }

    pub(super) async fn provider_referrals(
        &self,
        who: &Principal,
        status: ReferralStatus,
    ) -> Result<Vec<Referral>, StoreError> {
        let since = self.clock().today()
            - chrono::Duration::days(crate::casework::RECENTLY_DISCHARGED_DAYS);
        let mut out = Vec::new();
        for org in clinical_orgs(who) {
            let rows = sqlx::query(&format!(
                "{REFERRALS} WHERE r.provider_id = $1 AND r.status = $2 \
                 AND ($2 = 'pending' OR r.answered_at >= $3) ORDER BY r.id"
            ))
            .bind(org.get())
            .bind(status.code())
            .bind(since.to_string())
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                let mut referral = referral_from_row(r)?;
                // The query keeps accepted referrals within the window in which an acceptance
                // opens the record (`CareFacts::accepted_by`); a waiting one opens only itself.
                referral.record_open = status == ReferralStatus::Accepted;
                out.push(referral);
            }
        }
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "directory_referrals",
            entity_id: None,
            reason: format!("{} referrals ({} people)", status.code(), out.len()),
        })
        .await?;
        Ok(out)
    }

    /// Referrals `who` made, newest first, so they can follow them up. Audited as one list.
    pub async fn my_referrals(&self, who: &Principal) -> Result<Vec<Referral>, StoreError> {
        let rows = sqlx::query(&format!(
            "{REFERRALS} WHERE r.referred_by = $1 ORDER BY r.id DESC"
        ))
        .bind(who.user.get())
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(referral_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        // Making a referral opens nothing, so whether its author may still open the record is
        // the policy's answer today.
        let mut open: HashMap<PersonId, bool> = HashMap::new();
        for r in &mut out {
            if let std::collections::hash_map::Entry::Vacant(slot) = open.entry(r.person) {
                slot.insert(self.may_open_person(who, r.person).await?);
            }
            r.record_open = open[&r.person];
        }
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "directory_referrals",
            entity_id: None,
            reason: format!("own referrals ({} people)", out.len()),
        })
        .await?;
        Ok(out)
    }

    /// A person's signposts and referrals, for a holder of the person's capability, audited.
    pub async fn person_directory_activity(
        &self,
        access: &PersonAccess,
    ) -> Result<PersonActivity, DirectoryError> {
        let (person, grant) = (access.person(), access.grant().code());
        let signposts = sqlx::query(&format!(
            "{SIGNPOSTS} WHERE g.person_id = $1 ORDER BY g.id DESC"
        ))
        .bind(person.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(signpost_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let referrals = sqlx::query(&format!(
            "{REFERRALS} WHERE r.person_id = $1 ORDER BY r.id DESC"
        ))
        .bind(person.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            // Shown to someone the policy just let read the person.
            referral_from_row(r).map(|referral| Referral {
                record_open: true,
                ..referral
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
        self.audit(AuditEvent {
            user: Some(access.user()),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(person.get()),
            reason: format!("directory activity: {grant}"),
        })
        .await?;
        Ok(PersonActivity {
            signposts,
            referrals,
        })
    }

    /// One signpost, for its printable summary, through the access policy, audited.
    pub async fn signpost_for(&self, who: &Principal, id: i64) -> Result<Signpost, DirectoryError> {
        let s = sqlx::query(&format!("{SIGNPOSTS} WHERE g.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(signpost_from_row)
            .transpose()?
            // An unknown id is refused in the same words as a record the policy refuses.
            .ok_or(DirectoryError::Denied)?;
        let grant = self.require_person(who, s.person).await?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(s.person.get()),
            reason: format!("directory signpost {id}: {grant}"),
        })
        .await?;
        Ok(s)
    }

    /// Records a need the directory could not meet, in an area (a postcode district). No person is
    /// named: this feeds commissioning, not a record.
    pub async fn record_unmet_need(
        &self,
        who: UserId,
        need: Need,
        area: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO directory_unmet_needs (need, area, recorded_by, created_at) VALUES ($1, $2, $3, $4)")
            .bind(need.id())
            .bind(area)
            .bind(who.get())
            .bind(now_text())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Raw counts of unmet needs by category and area, recorded since `since` (a date).
    pub async fn unmet_need_counts(
        &self,
        since: NaiveDate,
    ) -> Result<Vec<UnmetNeedCount>, StoreError> {
        sqlx::query(
            "SELECT need, area, COUNT(*) AS n FROM directory_unmet_needs WHERE created_at >= $1 \
             GROUP BY need, area ORDER BY need, area",
        )
        .bind(since.format("%Y-%m-%d").to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(UnmetNeedCount {
                need: r.try_get("need")?,
                area: r.try_get("area")?,
                count: u64::try_from(get_i64(r, "n")?).unwrap_or(0),
            })
        })
        .collect()
    }
}
