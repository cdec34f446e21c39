//! The message back to the GP practice, with its coded entries: read on its own (a preview of a
//! case still open) and built for the outbox when a case is discharged or a referral is accepted
//! or declined (see `store::outbox`).

use super::*;
use crate::outbox::MessageKind;
use careweave_domain::casework::snomed;

impl Store {
    /// The message back to the GP and the referrer as the case stands now, through the policy,
    /// audited. What was actually sent is kept in the outbox ([`Store::case_messages`]).
    pub async fn gp_message(
        &self,
        who: &Principal,
        case: CaseId,
    ) -> Result<GpMessage, ActionError> {
        let view = self.case_for(who, case).await?;
        let message = self
            .message_from_case(&view, MessageKind::Discharge, None)
            .await?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(view.person.get()),
            reason: format!("casework case {case}: message to GP"),
        })
        .await?;
        Ok(message)
    }

    /// The message a case gives the GP, from a view the caller has already read through the
    /// policy (on discharge the view carries the discharge being recorded). `author` is the
    /// worker whose change produces the message.
    pub(super) async fn message_from_case(
        &self,
        view: &CaseView,
        event: MessageKind,
        author: Option<UserId>,
    ) -> Result<GpMessage, ActionError> {
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
        // The lead as the GP knows them: the current one, or on a discharged case (whose workers
        // have all left it) the last one, so that the message says who supported the person.
        let lead_worker = sqlx::query(
            "SELECT u.display_name FROM casework_workers w JOIN users u ON u.id = w.user_id \
             WHERE w.case_id = $1 AND w.role = 'lead' \
             ORDER BY CASE WHEN w.ended_on IS NULL THEN 0 ELSE 1 END, w.started_on DESC, w.ended_on DESC",
        )
        .bind(view.id.get())
        .fetch_optional(&self.pool)
        .await?
        .map(|w| w.try_get::<String, _>("display_name"))
        .transpose()?;
        let share = self
            .shares_detail_with_gp(view.person, view.consent_share_detail)
            .await?;
        let mut m = self
            .message_base(view.person, &view.service, event, share, author)
            .await?;
        let total_contacts = u32::try_from(view.contacts.len()).unwrap_or(u32::MAX);
        m.codes = message_codes(
            view.service.settings.kind,
            event,
            view.discharge.as_ref(),
            total_contacts,
            !view.plan.goals.is_empty(),
        );
        m.case = Some(view.id);
        m.referral = view.referral;
        m.referral_received_on = get_date(&r, "received_on")?;
        m.referral_source = get_code(&r, "source", ReferralSource::from_code)?;
        m.referrer = r.try_get("referrer_name")?;
        let needs: String = r.try_get("needs")?;
        let detail = |s: &str| share.then(|| s.to_owned());
        m.reason = detail(&view.referral_reason);
        m.needs = detail(&needs);
        m.what_matters = detail(&view.plan.what_matters);
        m.total_contacts = total_contacts;
        m.contacts = contacts.into_iter().collect();
        m.lead_worker = lead_worker;
        m.episode_started_on = Some(view.episode_started_on);
        m.discharge = view.discharge.clone();
        if !share {
            if let Some(d) = m.discharge.as_mut() {
                d.summary.clear();
            }
        }
        // The services the person was connected to are named only with consent: a service's
        // name can say as much as a note (a debt advice or a domestic abuse service).
        if share {
            m.outcomes = view.assessment.domains.clone();
            m.goals = view.plan.goals.clone();
            m.measures = view.outcomes.iter().map(measure_line).collect();
            m.connected_services = self
                .connected_services(view.person, view.episode_started_on)
                .await?;
            m.gp_actions = view
                .plan
                .actions
                .iter()
                .filter(|a| a.done_on.is_none() && asks_the_gp(&a.owner))
                .map(|a| format!("{} (by {})", a.text, a.due_on.format("%-d %B %Y")))
                .collect();
        }
        Ok(m)
    }

    /// The message a triage decision on a linked referral gives the GP: acceptance (with the case
    /// it opened) or decline, with the decision's reason when detail may be shared.
    pub(super) async fn message_from_referral(
        &self,
        view: &ReferralView,
        person: PersonId,
        event: MessageKind,
        decision: &str,
        author: UserId,
    ) -> Result<GpMessage, ActionError> {
        let share = self
            .shares_detail_with_gp(person, view.consent_share_detail)
            .await?;
        let mut m = self
            .message_base(person, &view.service, event, share, Some(author))
            .await?;
        m.codes = message_codes(view.service.settings.kind, event, None, 0, false);
        m.referral = view.id;
        m.referral_received_on = view.received_on;
        m.referral_source = view.source;
        m.referrer = view.referrer.name.clone();
        let detail = |s: &str| share.then(|| s.to_owned());
        m.reason = detail(&view.reason);
        m.needs = detail(&view.needs);
        m.decision = detail(decision);
        Ok(m)
    }

    /// The person's current sharing preference with their GP, once recorded, decides: the
    /// referral's consent is a snapshot from before the person met the service, and the person
    /// may have changed their mind since.
    async fn shares_detail_with_gp(
        &self,
        person: PersonId,
        at_referral: bool,
    ) -> Result<bool, StoreError> {
        Ok(self
            .sharing_preferences(person)
            .await?
            .gp
            .map_or(at_referral, |gp| {
                gp == careweave_domain::consent::GpSharing::Detail
            }))
    }

    /// What every message holds whatever its event: the person as registered, their practice,
    /// the service and who completed the message. The event's own parts start empty.
    async fn message_base(
        &self,
        person: PersonId,
        service: &CaseworkService,
        event: MessageKind,
        share: bool,
        author: Option<UserId>,
    ) -> Result<GpMessage, ActionError> {
        let p = sqlx::query(
            "SELECT p.given_name, p.family_name, p.nhs_number, p.date_of_birth, p.sex, p.postcode, \
             p.registered_practice_id, o.name AS practice_name, o.ods_code, \
             (SELECT ods_code FROM organisations WHERE id = $2) AS provider_ods \
             FROM people p JOIN organisations o ON o.id = p.registered_practice_id WHERE p.id = $1",
        )
        .bind(person.get())
        .bind(service.provider.get())
        .fetch_one(&self.pool)
        .await?;
        let given_name: String = p.try_get("given_name")?;
        let family_name: String = p.try_get("family_name")?;
        let author = match author {
            Some(user) => Some(self.message_author(user, service).await?),
            None => None,
        };
        Ok(GpMessage {
            event,
            case: None,
            referral: ReferralId::new(0),
            person,
            person_name: format!("{given_name} {family_name}"),
            given_name,
            family_name,
            nhs_number: parse_column("people.nhs_number", &p.try_get::<String, _>("nhs_number")?)?,
            date_of_birth: get_date(&p, "date_of_birth")?,
            sex: get_code(&p, "sex", careweave_domain::Sex::from_code)?,
            postcode: p.try_get("postcode")?,
            practice: p.try_get("practice_name")?,
            practice_id: OrganisationId::new(get_i64(&p, "registered_practice_id")?),
            practice_ods: p.try_get("ods_code")?,
            service: service.name.clone(),
            service_kind: service.settings.kind,
            provider: service.provider_name.clone(),
            provider_ods: p.try_get("provider_ods")?,
            referral_received_on: NaiveDate::MIN,
            referral_source: ReferralSource::OtherProfessional,
            referrer: String::new(),
            share_detail: share,
            codes: Vec::new(),
            reason: None,
            needs: None,
            what_matters: None,
            decision: None,
            contacts: Vec::new(),
            total_contacts: 0,
            outcomes: Vec::new(),
            measures: Vec::new(),
            goals: Vec::new(),
            connected_services: Vec::new(),
            gp_actions: Vec::new(),
            lead_worker: None,
            author,
            discharge: None,
            episode_started_on: None,
        })
    }

    /// Who completed a message: the worker's name, their role in the organisation they work the
    /// service for (the provider or a partner), that organisation and their email address.
    async fn message_author(
        &self,
        user: UserId,
        service: &CaseworkService,
    ) -> Result<MessageAuthor, StoreError> {
        let rows = sqlx::query(
            "SELECT u.display_name, u.username, m.organisation_id, m.role, o.name \
             FROM users u JOIN memberships m ON m.user_id = u.id \
             JOIN organisations o ON o.id = m.organisation_id WHERE u.id = $1 \
             ORDER BY m.organisation_id, m.role",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await?;
        let orgs = service.organisations();
        let chosen = rows
            .iter()
            .find(|r| {
                get_i64(r, "organisation_id").is_ok_and(|o| orgs.contains(&OrganisationId::new(o)))
            })
            .or_else(|| rows.first())
            .ok_or_else(|| StoreError::Corrupt {
                column: "memberships.user_id",
                detail: format!("account {user} has no membership"),
            })?;
        Ok(MessageAuthor {
            user,
            name: chosen.try_get("display_name")?,
            role: get_code(chosen, "role", Role::from_code)?
                .label()
                .to_owned(),
            organisation: chosen.try_get("name")?,
            contact: chosen.try_get("username")?,
        })
    }

    /// The community services the person was signposted to, or referred to and accepted by,
    /// since `since` (the episode's start), by name, first connection first.
    async fn connected_services(
        &self,
        person: PersonId,
        since: NaiveDate,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.name, g.created_at AS at FROM directory_signposts g \
             JOIN directory_services s ON s.id = g.service_id \
             WHERE g.person_id = $1 AND g.created_at >= $2 \
             UNION ALL SELECT s.name, r.created_at AS at FROM directory_referrals r \
             JOIN directory_services s ON s.id = r.service_id \
             WHERE r.person_id = $1 AND r.created_at >= $2 AND r.status = 'accepted' \
             ORDER BY at",
        )
        .bind(person.get())
        .bind(since.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut names: Vec<String> = Vec::new();
        for r in rows {
            let name: String = r.try_get("name")?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Ok(names)
    }
}

/// Whether a plan action's owner is the GP practice ("GP", "Dr Shah (GP)", "practice nurse").
fn asks_the_gp(owner: &str) -> bool {
    let owner = owner.to_lowercase();
    owner
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w == "gp" || w == "practice")
}

/// One outcome measure with its scores as recorded.
fn measure_line(o: &crate::outcomes::OutcomeRecord) -> MeasureLine {
    MeasureLine {
        instrument: o.instrument_name.clone(),
        taken_on: o.taken_on,
        point: o.point.label().to_owned(),
        scores: o
            .scores
            .iter()
            .map(|s| (s.name.clone(), format!("{}", s.reported)))
            .collect(),
    }
}

/// The SNOMED CT concepts a message carries.
///
/// Social prescribing: "Referral to social prescribing service" on every message, and "Social
/// prescribing declined" only when the person declined the offer, that is chose to stop with
/// at most one contact and no goal agreed. Someone who stopped part-way has taken up the offer;
/// no national concept for stopping social prescribing was found, so their discharge carries
/// the referral code only and says why in words. Focused Care and other services: a discharge
/// carries "Patient discharge".
#[must_use]
pub fn message_codes(
    kind: ServiceKind,
    event: MessageKind,
    discharge: Option<&Discharge>,
    contacts: u32,
    has_goals: bool,
) -> Vec<(&'static str, &'static str)> {
    let mut codes = Vec::new();
    if kind == ServiceKind::SocialPrescribing {
        if event != MessageKind::ReferralDeclined {
            codes.push((
                snomed::REFERRAL_TO_SOCIAL_PRESCRIBING,
                "Referral to social prescribing service",
            ));
        }
        let declined_offer = discharge.is_some_and(|d| d.reason == DischargeReason::Declined)
            && contacts <= 1
            && !has_goals;
        if declined_offer {
            codes.push((
                snomed::SOCIAL_PRESCRIBING_DECLINED,
                "Social prescribing declined",
            ));
        }
    } else if discharge.is_some() && event == MessageKind::Discharge {
        codes.push((snomed::PATIENT_DISCHARGE, "Patient discharge"));
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discharge(reason: DischargeReason) -> Discharge {
        Discharge {
            on: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            reason,
            destination: DischargeDestination::None,
            gp: GpAgreement::Agreed,
            summary: String::new(),
            override_reason: None,
        }
    }

    #[test]
    fn declined_only_for_an_offer_declined_and_focused_care_has_a_discharge_code() {
        let sp = ServiceKind::SocialPrescribing;
        let declined = discharge(DischargeReason::Declined);
        let codes = |kind, event, d: Option<&Discharge>, contacts, goals| {
            message_codes(kind, event, d, contacts, goals)
                .into_iter()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
        };
        let d = MessageKind::Discharge;
        assert_eq!(
            codes(sp, d, Some(&declined), 1, false),
            ["871731000000106", "871711000000103"]
        );
        assert_eq!(codes(sp, d, Some(&declined), 3, false), ["871731000000106"]);
        assert_eq!(codes(sp, d, Some(&declined), 1, true), ["871731000000106"]);
        let met = discharge(DischargeReason::GoalsMet);
        assert_eq!(codes(sp, d, Some(&met), 0, false), ["871731000000106"]);
        assert_eq!(
            codes(sp, MessageKind::ReferralDeclined, None, 0, false),
            Vec::<&str>::new()
        );
        let fc = ServiceKind::FocusedCare;
        assert_eq!(codes(fc, d, Some(&met), 4, true), ["58000006"]);
        assert!(codes(fc, MessageKind::ReferralAccepted, None, 0, false).is_empty());
    }
}
