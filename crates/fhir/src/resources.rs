//! careweave's records as FHIR R4 resources. Ids are careweave's own numeric ids, so a reference
//! (`Patient/12`) resolves on the same server. Every resource claims the UK Core profile for its
//! type, except `Goal`, for which UK Core publishes none.

use careweave_domain::casework::{CaseStatus, ContactType, ReferralStatus, ServiceKind, Urgency};
use careweave_domain::{Organisation, Sex};
use careweave_store::casework::{CaseView, Contact, Goal, ReferralView};
use careweave_store::outcomes::OutcomeRecord;
use careweave_store::records::PersonRecord;
use serde_json::{json, Map, Value};

use crate::{concept, meta, nhs_number_identifier, reference, ACT_CODE, ODS, SNOMED};

/// Adds an optional element to a resource built with `json!`.
fn insert(resource: &mut Value, key: &str, value: Value) {
    if let Some(o) = resource.as_object_mut() {
        o.insert(key.to_owned(), value);
    }
}

fn gender(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::Other => "other",
        Sex::Unknown => "unknown",
    }
}

/// A person's record as a UK Core Patient. The registered practice is referenced as the
/// `Organization` this server serves, with its ODS code when it has one.
#[must_use]
pub fn patient(record: &PersonRecord, practice_ods: Option<&str>) -> Value {
    let p = &record.person;
    let mut gp = reference(
        "Organization",
        p.registered_practice.get(),
        Some(&record.practice),
    );
    if let Some(ods) = practice_ods {
        insert(
            &mut gp,
            "identifier",
            json!({ "system": ODS, "value": ods }),
        );
    }
    let mut resource = json!({
        "resourceType": "Patient",
        "id": p.id.get().to_string(),
        "meta": meta("Patient"),
        "identifier": [nhs_number_identifier(&p.nhs_number)],
        "name": [{ "use": "official", "family": p.family_name, "given": [p.given_name] }],
        "gender": gender(p.sex),
        "birthDate": p.date_of_birth.to_string(),
        "generalPractitioner": [gp],
    });
    if let Some(postcode) = &p.postcode {
        insert(
            &mut resource,
            "address",
            json!([{ "use": "home", "postalCode": postcode.to_string() }]),
        );
    }
    if let Some(death) = p.date_of_death {
        insert(&mut resource, "deceasedDateTime", json!(death.to_string()));
    }
    resource
}

/// An organisation as a UK Core Organization.
#[must_use]
pub fn organization(o: &Organisation) -> Value {
    let mut resource = json!({
        "resourceType": "Organization",
        "id": o.id.get().to_string(),
        "meta": meta("Organization"),
        "active": true,
        "name": o.name,
        "type": [{ "text": o.kind.label() }],
    });
    if let Some(ods) = &o.ods_code {
        insert(
            &mut resource,
            "identifier",
            json!([{ "system": ODS, "value": ods.to_string() }]),
        );
    }
    resource
}

/// A casework service as a UK Core HealthcareService (the directory of what the team offers).
#[must_use]
pub fn healthcare_service(s: &careweave_store::casework::CaseworkService) -> Value {
    json!({
        "resourceType": "HealthcareService",
        "id": s.id.get().to_string(),
        "meta": meta("HealthcareService"),
        "active": true,
        "providedBy": reference("Organization", s.provider.get(), Some(&s.provider_name)),
        "name": s.name,
        "type": [{ "text": s.settings.kind.label() }],
    })
}

/// The SNOMED CT code of a referral to this kind of service, where a national code exists.
fn referral_code(kind: ServiceKind) -> Value {
    match kind {
        ServiceKind::SocialPrescribing => concept(
            SNOMED,
            careweave_domain::casework::snomed::REFERRAL_TO_SOCIAL_PRESCRIBING,
            "Referral to social prescribing service",
        ),
        ServiceKind::FocusedCare | ServiceKind::Other => json!({ "text": kind.label() }),
    }
}

fn request_status(status: ReferralStatus) -> &'static str {
    match status {
        ReferralStatus::Waiting => "active",
        ReferralStatus::Accepted => "completed",
        // Declined and redirected referrals were not taken up by this service.
        ReferralStatus::Declined | ReferralStatus::Redirected => "revoked",
    }
}

/// FHIR's priorities run routine < urgent < asap; careweave's run routine < soon < urgent.
fn request_priority(urgency: Urgency) -> &'static str {
    match urgency {
        Urgency::Routine => "routine",
        Urgency::Soon => "urgent",
        Urgency::Urgent => "asap",
    }
}

/// A referral as a UK Core ServiceRequest. Its subject references the registered person it was
/// matched to only when `show_person` (the reader may open that record); otherwise it carries the
/// NHS number the referrer gave (or the name they gave), so the sender of a referral never learns
/// whether or to whom it was matched.
#[must_use]
pub fn service_request(r: &ReferralView, show_person: bool) -> Value {
    let subject = match (r.person.filter(|_| show_person), r.referred.nhs_number) {
        (Some(person), _) => reference("Patient", person.get(), None),
        (None, Some(nhs)) => json!({
            "identifier": { "system": crate::NHS_NUMBER, "value": nhs.as_digits() },
        }),
        (None, None) => json!({
            "display": format!("{} {}", r.referred.given_name, r.referred.family_name),
        }),
    };
    let mut resource = json!({
        "resourceType": "ServiceRequest",
        "id": r.id.get().to_string(),
        "meta": meta("ServiceRequest"),
        "status": request_status(r.status),
        "intent": "order",
        "category": [concept(SNOMED, "3457005", "Patient referral")],
        "priority": request_priority(r.urgency),
        "code": referral_code(r.service.settings.kind),
        "subject": subject,
        "authoredOn": r.received_on.to_string(),
        "requester": { "display": r.referrer.name },
        "performer": [reference("HealthcareService", r.service.id.get(), Some(&r.service.name))],
        "reasonCode": [{ "text": r.reason }],
    });
    if !r.needs.is_empty() {
        insert(&mut resource, "note", json!([{ "text": r.needs }]));
    }
    resource
}

fn episode_status(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Open | CaseStatus::Reopened => "active",
        CaseStatus::OnHold => "onhold",
        CaseStatus::Discharged => "finished",
    }
}

/// A case as a UK Core EpisodeOfCare: the episode of support from acceptance to discharge.
#[must_use]
pub fn episode_of_care(c: &CaseView) -> Value {
    let mut period = Map::new();
    period.insert("start".into(), json!(c.episode_started_on.to_string()));
    if let Some(d) = &c.discharge {
        period.insert("end".into(), json!(d.on.to_string()));
    }
    let mut resource = json!({
        "resourceType": "EpisodeOfCare",
        "id": c.id.get().to_string(),
        "meta": meta("EpisodeOfCare"),
        "status": episode_status(c.status),
        "type": [{ "text": c.service.settings.kind.label() }],
        "patient": reference("Patient", c.person.get(), None),
        "managingOrganization": reference(
            "Organization",
            c.service.provider.get(),
            Some(&c.service.provider_name),
        ),
        "period": Value::Object(period),
        "referralRequest": [reference("ServiceRequest", c.referral.get(), None)],
    });
    if let Some(lead) = c
        .workers
        .iter()
        .find(|w| w.role == careweave_domain::casework::CaseRole::Lead)
    {
        insert(
            &mut resource,
            "careManager",
            json!({ "display": format!("{} ({})", lead.name, lead.organisation) }),
        );
    }
    resource
}

/// The personalised care and support plan of a case as a UK Core CarePlan. Its id is the case's
/// id (one plan per case, versioned inside careweave); its goals are the `Goal` resources.
#[must_use]
pub fn care_plan(c: &CaseView) -> Value {
    let status = if c.status == CaseStatus::Discharged {
        "completed"
    } else {
        "active"
    };
    let mut description = c.plan.what_matters.clone();
    if !c.plan.priorities.is_empty() {
        description.push_str(&format!("\nPriorities: {}", c.plan.priorities.join("; ")));
    }
    let activities: Vec<Value> = c
        .plan
        .actions
        .iter()
        .map(|a| {
            json!({ "detail": {
                "status": if a.done_on.is_some() { "completed" } else { "scheduled" },
                "description": format!("{} (by {}, due {})", a.text, a.owner, a.due_on),
            }})
        })
        .collect();
    let mut resource = json!({
        "resourceType": "CarePlan",
        "id": c.id.get().to_string(),
        "meta": {
            "versionId": c.plan.version.to_string(),
            "profile": [format!("{}CarePlan", crate::UK_CORE)],
        },
        "status": status,
        "intent": "plan",
        "title": "Personalised care and support plan",
        "subject": reference("Patient", c.person.get(), None),
        "period": { "start": c.episode_started_on.to_string() },
        "goal": c
            .plan
            .goals
            .iter()
            .map(|g| json!({ "reference": format!("Goal/{}", part_id(c, g.id)) }))
            .collect::<Vec<_>>(),
    });
    if !description.trim().is_empty() {
        insert(&mut resource, "description", json!(description));
    }
    if !activities.is_empty() {
        insert(&mut resource, "activity", json!(activities));
    }
    resource
}

/// The id of a resource recorded on a case (a goal, a contact, an outcome measure):
/// `{case}-{row}`, so that reading it opens the case through the casework door first.
#[must_use]
pub fn part_id(c: &CaseView, row: i64) -> String {
    format!("{}-{row}", c.id.get())
}

/// Splits a [`part_id`] into the case id and the row id.
#[must_use]
pub fn split_part_id(id: &str) -> Option<(i64, i64)> {
    let (case, row) = id.split_once('-')?;
    Some((case.parse().ok()?, row.parse().ok()?))
}

/// A goal of a care plan as an R4 Goal (UK Core has no Goal profile, so none is claimed).
#[must_use]
pub fn goal(c: &CaseView, g: &Goal) -> Value {
    let achieved = g.progress >= 100;
    let mut resource = json!({
        "resourceType": "Goal",
        "id": part_id(c, g.id),
        "lifecycleStatus": if achieved { "completed" } else { "active" },
        "achievementStatus": concept(
            "http://terminology.hl7.org/CodeSystem/goal-achievement",
            if achieved { "achieved" } else { "in-progress" },
            if achieved { "Achieved" } else { "In Progress" },
        ),
        "description": { "text": g.text },
        "subject": reference("Patient", c.person.get(), None),
        "note": [{ "text": format!("Progress {}%", g.progress) }],
    });
    if let Some(target) = g.target_on {
        insert(
            &mut resource,
            "target",
            json!([{ "dueDate": target.to_string() }]),
        );
    }
    resource
}

/// The v3 ActCode class of a contact: a visit at home is home health, a call or video virtual,
/// anything face to face elsewhere ambulatory.
fn encounter_class(kind: ContactType) -> (&'static str, &'static str) {
    match kind {
        ContactType::HomeVisit | ContactType::JointVisit | ContactType::UnannouncedVisit => {
            ("HH", "home health")
        }
        ContactType::Phone | ContactType::Video => ("VR", "virtual"),
        ContactType::Practice
        | ContactType::DropIn
        | ContactType::AccompaniedAppointment
        | ContactType::Group => ("AMB", "ambulatory"),
    }
}

/// A recorded contact as a UK Core Encounter, part of the case's EpisodeOfCare. The note is not
/// sent: an Encounter says that support happened, and the note's text stays behind the case
/// page's sensitive-note rule.
#[must_use]
pub fn encounter(c: &CaseView, contact: &Contact) -> Value {
    let (code, display) = encounter_class(contact.contact_type);
    json!({
        "resourceType": "Encounter",
        "id": part_id(c, contact.id),
        "meta": meta("Encounter"),
        "status": "finished",
        "class": { "system": ACT_CODE, "code": code, "display": display },
        "type": [{ "text": contact.contact_type.label() }],
        "subject": reference("Patient", c.person.get(), None),
        "episodeOfCare": [reference("EpisodeOfCare", c.id.get(), None)],
        "participant": [{ "individual": { "display": contact.by } }],
        "period": { "start": contact.on.to_string(), "end": contact.on.to_string() },
        "length": {
            "value": contact.minutes,
            "unit": "min",
            "system": "http://unitsofmeasure.org",
            "code": "min",
        },
    })
}

/// An outcome measure (e.g. ONS4) as a UK Core Observation with one component per scale. No
/// national code exists for ONS4's scales, so codes carry the instrument's words as text.
#[must_use]
pub fn observation(c: &CaseView, o: &OutcomeRecord) -> Value {
    let components: Vec<Value> = o
        .scores
        .iter()
        .map(|s| {
            json!({
                "code": { "text": s.name },
                "valueQuantity": { "value": s.reported },
            })
        })
        .collect();
    json!({
        "resourceType": "Observation",
        "id": part_id(c, o.id),
        "meta": meta("Observation"),
        "status": "final",
        "category": [concept(
            "http://terminology.hl7.org/CodeSystem/observation-category",
            "survey",
            "Survey",
        )],
        "code": { "text": format!("{} ({})", o.instrument_name, o.point.label()) },
        "subject": reference("Patient", c.person.get(), None),
        "effectiveDateTime": o.taken_on.to_string(),
        "performer": [{ "display": o.by }],
        "component": components,
    })
}
