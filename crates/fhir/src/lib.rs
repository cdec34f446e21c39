//! FHIR R4 for careweave: the resources careweave's records become (with the UK Core profile each
//! claims in `meta.profile`), the search-set `Bundle`, the `CapabilityStatement`, the
//! `OperationOutcome` every refusal answers with, and the parsing of a `ServiceRequest` a client
//! sends.
//!
//! This crate does no IO and no access checks: the web app's FHIR module reads records through the
//! store's doors (which ask the policy and audit) and hands the results here. Resources are built
//! as `serde_json::Value`s; the domain derives no `Serialize`, so every field that leaves is chosen
//! here explicitly. Code systems and identifier systems are the NHS England and HL7 ones named in
//! the constants below; nothing here invents a code: where careweave holds free text or a local
//! code without a published coding, the element carries `text` only.

mod bundle;
mod capability;
mod incoming;
mod resources;

pub use bundle::{operation_outcome, searchset, Issue, IssueCode, Page};
pub use capability::{capability_statement, search_params};
pub use incoming::{parse_service_request, IncomingReferral};
pub use resources::*;

use serde_json::{json, Value};

/// FHIR version this crate speaks.
pub const FHIR_VERSION: &str = "4.0.1";
/// The media type of FHIR JSON.
pub const MEDIA_TYPE: &str = "application/fhir+json";

// The system addresses are shared with the crates that write and read FHIR without this one.
pub use careweave_domain::fhir_systems::{
    ACT_CODE, NHS_NUMBER, NHS_NUMBER_VERIFICATION_EXTENSION, NHS_NUMBER_VERIFICATION_SYSTEM, ODS,
    SNOMED, UK_CORE,
};

/// The `meta` of a resource claiming UK Core profile `name` (e.g. `Patient`).
#[must_use]
pub fn meta(name: &str) -> Value {
    json!({ "profile": [format!("{UK_CORE}{name}")] })
}

/// A reference to `Type/id`, with a display when one helps a reader.
#[must_use]
pub fn reference(kind: &str, id: i64, display: Option<&str>) -> Value {
    let mut r = json!({ "reference": format!("{kind}/{id}") });
    if let (Some(d), Some(o)) = (display, r.as_object_mut()) {
        o.insert("display".into(), json!(d));
    }
    r
}

/// A CodeableConcept with one coding.
#[must_use]
pub fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": system, "code": code, "display": display }] })
}

/// The NHS number identifier, with UK Core's verification status. careweave checks the modulus
/// 11 digit but does not trace numbers against the Personal Demographics Service, so it says
/// "number present but not traced" (code `02`) rather than claiming a verification it did not do.
#[must_use]
pub fn nhs_number_identifier(nhs: &careweave_domain::NhsNumber) -> Value {
    json!({
        "extension": [{
            "url": NHS_NUMBER_VERIFICATION_EXTENSION,
            "valueCodeableConcept": concept(
                NHS_NUMBER_VERIFICATION_SYSTEM,
                "02",
                "Number present but not traced",
            ),
        }],
        "system": NHS_NUMBER,
        "value": nhs.as_digits(),
    })
}
