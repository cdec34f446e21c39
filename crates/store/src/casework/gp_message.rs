//! The discharge message back to the GP practice, with its coded entries.

use super::*;

impl Store {
    /// The message back to the GP and the referrer, through the policy, audited.
    pub async fn gp_message(
        &self,
        who: &Principal,
        case: CaseId,
    ) -> Result<GpMessage, ActionError> {
        let view = self.case_for(who, case).await?;
        let r = sqlx::query(
            "SELECT received_on, source, referrer_name, needs FROM casework_referrals WHERE id = $1",
        )
        .bind(view.referral.get())
        .fetch_one(&self.pool)
        .await?;
        let mut contacts: BTreeMap<ContactType, u32> = BTreeMap::new();
        for c in &view.contacts {
            *contacts.entry(c.contact_type).or_default() += 1;
        }
        let kind = view.service.settings.kind;
        let mut codes = Vec::new();
        if kind == ServiceKind::SocialPrescribing {
            codes.push((
                careweave_domain::casework::snomed::REFERRAL_TO_SOCIAL_PRESCRIBING,
                "Referral to social prescribing service",
            ));
            if view
                .discharge
                .as_ref()
                .is_some_and(|d| d.reason == DischargeReason::Declined)
            {
                codes.push((
                    careweave_domain::casework::snomed::SOCIAL_PRESCRIBING_DECLINED,
                    "Social prescribing declined",
                ));
            }
        }
        // The lead as the GP knows them: the current one, or on a discharged case (whose workers
        // have all left it) the last one, so that the message says who supported the person.
        let lead_worker = sqlx::query(
            "SELECT u.display_name FROM casework_workers w JOIN users u ON u.id = w.user_id \
             WHERE w.case_id = $1 AND w.role = 'lead' \
             ORDER BY CASE WHEN w.ended_on IS NULL THEN 0 ELSE 1 END, w.started_on DESC, w.ended_on DESC",
        )
        .bind(case.get())
        .fetch_optional(&self.pool)
        .await?
        .map(|w| w.try_get::<String, _>("display_name"))
        .transpose()?;
        // The person's current sharing preference with their GP, once recorded, decides: the
        // referral's consent is a snapshot from before the person met the service, and the person
        // may have changed their mind since.
        let share = self
            .sharing_preferences(view.person)
            .await?
            .gp
            .map_or(view.consent_share_detail, |gp| {
                gp == careweave_domain::consent::GpSharing::Detail
            });
        let needs: Option<String> = Some(r.try_get("needs")?);
        let detail = |s: &str| share.then(|| s.to_owned());
        let mut discharge = view.discharge.clone();
        if !share {
            if let Some(d) = discharge.as_mut() {
                d.summary.clear();
            }
        }
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(view.person.get()),
            reason: format!("casework case {case}: message to GP"),
        })
        .await?;
        Ok(GpMessage {
            case,
            person_name: view.person_name.clone(),
            nhs_number: view.nhs_number,
            date_of_birth: view.date_of_birth,
            practice: view.practice.clone(),
            service: view.service.name.clone(),
            service_kind: kind,
            provider: view.service.provider_name.clone(),
            referral_received_on: get_date(&r, "received_on")?,
            referral_source: get_code(&r, "source", ReferralSource::from_code)?,
            referrer: r.try_get("referrer_name")?,
            share_detail: share,
            codes,
            reason: detail(&view.referral_reason),
            needs: needs.filter(|_| share),
            what_matters: detail(&view.plan.what_matters),
            total_contacts: u32::try_from(view.contacts.len()).unwrap_or(u32::MAX),
            contacts: contacts.into_iter().collect(),
            outcomes: if share {
                view.assessment.domains.clone()
            } else {
                Vec::new()
            },
            goals: if share {
                view.plan.goals.clone()
            } else {
                Vec::new()
            },
            lead_worker,
            discharge,
            episode_started_on: view.episode_started_on,
        })
    }
}
