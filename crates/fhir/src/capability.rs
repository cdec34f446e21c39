//! The CapabilityStatement served at `/fhir/metadata`: what this server reads, searches and
//! accepts, and how a client authenticates.

use serde_json::{json, Value};

use crate::{FHIR_VERSION, UK_CORE};

/// A resource type served: its name, whether UK Core has a profile for it, its search parameters
/// (name, type) and whether a client may create it.
struct Served {
    kind: &'static str,
    profiled: bool,
    params: &'static [(&'static str, &'static str)],
    create: bool,
}

const fn served(
    kind: &'static str,
    profiled: bool,
    params: &'static [(&'static str, &'static str)],
    create: bool,
) -> Served {
    Served {
        kind,
        profiled,
        params,
        create,
    }
}

const RESOURCES: &[Served] = &[
    served(
        "Patient",
        true,
        &[("_id", "token"), ("identifier", "token")],
        false,
    ),
    served("Organization", true, &[("_id", "token")], false),
    served("HealthcareService", true, &[("_id", "token")], false),
    served(
        "ServiceRequest",
        true,
        &[
            ("patient", "reference"),
            ("status", "token"),
            ("authored", "date"),
        ],
        true,
    ),
    served(
        "EpisodeOfCare",
        true,
        &[
            ("patient", "reference"),
            ("status", "token"),
            ("date", "date"),
        ],
        false,
    ),
    served(
        "CarePlan",
        true,
        &[("patient", "reference"), ("status", "token")],
        false,
    ),
    served("Goal", false, &[("patient", "reference")], false),
    served(
        "Encounter",
        true,
        &[("patient", "reference"), ("date", "date")],
        false,
    ),
    served(
        "Observation",
        true,
        &[("patient", "reference"), ("date", "date")],
        false,
    ),
];

/// The search parameters of a resource type this server serves (besides `_count`), or `None`
/// for a type it does not serve: the one list the CapabilityStatement and the search handler share.
#[must_use]
pub fn search_params(kind: &str) -> Option<impl Iterator<Item = &'static str>> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind)
        .map(|r| r.params.iter().map(|(name, _)| *name))
}

/// The CapabilityStatement, dated `today`, for a server at `base` (ending in `/fhir`).
#[must_use]
pub fn capability_statement(base: &str, software_version: &str, today: &str) -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .map(
            |Served {
                 kind,
                 profiled,
                 params,
                 create,
             }| {
                let mut interactions =
                    vec![json!({ "code": "read" }), json!({ "code": "search-type" })];
                if *create {
                    interactions.push(json!({ "code": "create" }));
                }
                let mut params: Vec<Value> = params
                    .iter()
                    .map(|(name, kind)| json!({ "name": name, "type": kind }))
                    .collect();
                params.push(json!({ "name": "_count", "type": "number" }));
                let mut r = json!({
                    "type": kind,
                    "interaction": interactions,
                    "searchParam": params,
                });
                if *profiled {
                    if let Some(o) = r.as_object_mut() {
                        o.insert("profile".into(), json!(format!("{UK_CORE}{kind}")));
                    }
                }
                r
            },
        )
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": today,
        "kind": "instance",
        "software": { "name": "careweave", "version": software_version },
        "implementation": { "description": "careweave FHIR R4 API", "url": base },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Every request carries an API token issued by an organisation's \
                administrator (Authorization: Bearer). A token acts for one account within one \
                organisation, read-only or read and write, and reaches exactly the records that \
                account may open, each read audited.",
            "security": {
                "service": [{ "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "OAuth",
                    "display": "OAuth",
                }] }],
                "description": "Bearer tokens issued on the administration pages; SMART on FHIR \
                    backend services (client credentials with a signed JWT) are the planned next step.",
            },
            "resource": resources,
        }],
    })
}
