//! The FHIR R4 message Bundle of a message to the GP: a `MessageHeader` first, then a
//! `Composition` whose sections follow the PRSB Social Prescribing Information Standard's
//! headings, and the resources they reference (the Patient, the practice and the provider as
//! Organizations, the author as Practitioner and PractitionerRole, the coded entries and outcome
//! measures as Observations). Every resource claims its UK Core profile, SNOMED CT codes are
//! `Coding`s in the SNOMED CT system, and entries reference each other by `urn:uuid` full URLs,
//! as a message must (it is read without access to careweave's server).
//!
//! The Bundle is built here, in the store, because it is built in the transaction of the change
//! it reports, and the `careweave-fhir` crate (which serves the read API) depends on the store.
//! The identifier systems are the same NHS England ones that crate uses. Where careweave has no
//! published code (a section's heading, an outcome measure's scale) the element carries text only:
//! nothing here invents a code.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::new_uuid;
use crate::casework::GpMessage;

const SNOMED: &str = "http://snomed.info/sct";
const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const UK_CORE: &str = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-";
const VERIFICATION_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
const VERIFICATION_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
/// careweave's own code for the kind of message: there is no national message event for a
/// social prescribing or Focused Care update, so the code system says whose code it is.
const EVENT_SYSTEM: &str = "urn:careweave:message-event";

/// One resource of the Bundle with its `urn:uuid` address.
struct Entry {
    url: String,
    resource: Value,
}

impl Entry {
    fn new(kind: &str, mut body: Value) -> Self {
        let id = new_uuid();
        if let Some(o) = body.as_object_mut() {
            let mut head = Map::new();
            head.insert("resourceType".into(), json!(kind));
            head.insert("id".into(), json!(id));
            head.insert(
                "meta".into(),
                json!({ "profile": [format!("{UK_CORE}{kind}")] }),
            );
            head.append(o);
            body = Value::Object(head);
        }
        Self {
            url: format!("urn:uuid:{id}"),
            resource: body,
        }
    }

    fn reference(&self, display: Option<&str>) -> Value {
        let mut r = json!({ "reference": self.url });
        if let (Some(d), Some(o)) = (display, r.as_object_mut()) {
            o.insert("display".into(), json!(d));
        }
        r
    }
}

fn snomed(code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": SNOMED, "code": code, "display": display }] })
}

/// XHTML narrative of paragraphs, escaped.
fn narrative(lines: &[String]) -> Value {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body: String = lines
        .iter()
        .map(|l| format!("<p>{}</p>", escape(l)))
        .collect();
    json!({
        "status": "generated",
        "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{body}</div>"),
    })
}

fn section(title: &str, lines: &[String], entries: &[&Entry]) -> Value {
    let mut s = json!({ "title": title, "text": narrative(lines) });
    if !entries.is_empty() {
        s["entry"] = json!(entries
            .iter()
            .map(|e| e.reference(None))
            .collect::<Vec<_>>());
    }
    s
}

fn organisation(name: &str, ods: Option<&str>) -> Entry {
    let mut body = json!({ "name": name });
    if let Some(ods) = ods {
        body["identifier"] = json!([{ "system": ODS, "value": ods }]);
    }
    Entry::new("Organization", body)
}

/// The message Bundle of `m`, with id `message_id`, stamped `now`.
#[must_use]
pub fn build(m: &GpMessage, message_id: &str, now: DateTime<Utc>) -> Value {
    let stamp = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let practice = organisation(&m.practice, m.practice_ods.as_deref());
    let provider = organisation(&m.provider, m.provider_ods.as_deref());
    let mut patient = json!({
        "identifier": [{
            "extension": [{
                "url": VERIFICATION_EXTENSION,
                "valueCodeableConcept": { "coding": [{
                    "system": VERIFICATION_SYSTEM,
                    "code": "02",
                    "display": "Number present but not traced",
                }] },
            }],
            "system": NHS_NUMBER,
            "value": m.nhs_number.as_digits(),
        }],
        "name": [{ "family": m.family_name, "given": [m.given_name] }],
        "gender": m.sex.code(),
        "birthDate": m.date_of_birth.to_string(),
        "generalPractitioner": [practice.reference(Some(&m.practice))],
    });
    if let Some(p) = &m.postcode {
        patient["address"] = json!([{ "postalCode": p }]);
    }
    let patient = Entry::new("Patient", patient);
    let (practitioner, role) = match &m.author {
        Some(a) => {
            let practitioner = Entry::new("Practitioner", json!({ "name": [{ "text": a.name }] }));
            let role = Entry::new(
                "PractitionerRole",
                json!({
                    "practitioner": practitioner.reference(Some(&a.name)),
                    "organization": { "display": a.organisation },
                    "code": [{ "text": a.role }],
                    "telecom": [{ "system": "email", "value": a.contact }],
                }),
            );
            (Some(practitioner), Some(role))
        }
        None => (None, None),
    };
    let author_ref = role.as_ref().map_or_else(
        || provider.reference(Some(&m.provider)),
        |r| r.reference(m.author.as_ref().map(|a| a.name.as_str())),
    );
    // The date the coded entries happened: the discharge, or the decision (today).
    let effective = m
        .discharge
        .as_ref()
        .map_or_else(|| stamp.clone(), |d| d.on.to_string());
    let coded: Vec<Entry> = m
        .codes
        .iter()
        .map(|(code, term)| {
            Entry::new(
                "Observation",
                json!({
                    "status": "final",
                    "code": snomed(code, term),
                    "subject": patient.reference(None),
                    "effectiveDateTime": effective,
                    "performer": [author_ref.clone()],
                }),
            )
        })
        .collect();
    let measures: Vec<Entry> = m
        .measures
        .iter()
        .flat_map(|x| {
            x.scores.iter().map(|(scale, value)| {
                let mut body = json!({
                    "status": "final",
                    "code": { "text": format!("{}: {scale}", x.instrument) },
                    "subject": patient.reference(None),
                    "effectiveDateTime": x.taken_on.to_string(),
                });
                match value.parse::<f64>() {
                    Ok(v) => body["valueQuantity"] = json!({ "value": v }),
                    Err(_) => body["valueString"] = json!(value),
                }
                Entry::new("Observation", body)
            })
        })
        .collect();
    let sections = sections(m, &coded, &measures);
    let composition = Entry::new(
        "Composition",
        json!({
            "status": "final",
            "type": { "text": format!("{}: {}", m.service_kind.label(), m.event.label()) },
            "subject": patient.reference(Some(&m.person_name)),
            "date": stamp,
            "author": [author_ref.clone()],
            "title": format!("{}: {}", m.service, m.event.label()),
            "custodian": provider.reference(Some(&m.provider)),
            "section": sections,
        }),
    );
    // `endpoint` is a `url`: the practice's record in the NHS's Organisation Data Service names
    // it; without an ODS code, an address in the reserved `.invalid` domain says there is none.
    let destination_endpoint = match &m.practice_ods {
        Some(ods) => {
            format!("https://directory.spineservices.nhs.uk/ORD/2-0-0/organisations/{ods}")
        }
        None => format!(
            "https://careweave.invalid/organisation/{}",
            m.practice_id.get()
        ),
    };
    let header = Entry::new(
        "MessageHeader",
        json!({
            "eventCoding": {
                "system": EVENT_SYSTEM,
                "code": m.event.code(),
                "display": m.event.label(),
            },
            "destination": [{
                "name": m.practice,
                "endpoint": destination_endpoint,
                "receiver": practice.reference(Some(&m.practice)),
            }],
            "sender": provider.reference(Some(&m.provider)),
            "author": author_ref,
            "source": { "name": "careweave", "endpoint": "https://careweave.invalid/fhir" },
            "focus": [composition.reference(None)],
        }),
    );
    let mut entries = vec![header, composition, patient, practice, provider];
    entries.extend(practitioner);
    entries.extend(role);
    entries.extend(coded);
    entries.extend(measures);
    json!({
        "resourceType": "Bundle",
        "id": message_id,
        "meta": { "profile": [format!("{UK_CORE}Bundle")] },
        "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{message_id}") },
        "type": "message",
        "timestamp": stamp,
        "entry": entries
            .into_iter()
            .map(|e| json!({ "fullUrl": e.url, "resource": e.resource }))
            .collect::<Vec<_>>(),
    })
}

/// The Composition's sections: the letter's headings (see [`super::letter::sections`]), each
/// with its narrative, the coded entries and outcome measures referencing their Observations.
fn sections(m: &GpMessage, coded: &[Entry], measures: &[Entry]) -> Vec<Value> {
    super::letter::sections(m)
        .iter()
        .map(|s| {
            let entries: Vec<&Entry> = match s.heading {
                "Coded entries" => coded.iter().collect(),
                "Outcome measures" => measures.iter().collect(),
                _ => Vec::new(),
            };
            section(s.heading, &s.lines, &entries)
        })
        .collect()
}
