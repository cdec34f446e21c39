//! A `ServiceRequest` a client sends (`POST /fhir/ServiceRequest`): a referral from another
//! system. The person is given as a contained `Patient` with their NHS number, name and date of
//! birth, so that careweave matches them exactly as it matches any referral (NHS number, date of
//! birth, family and given name all agreeing); a `Patient/{id}` reference is refused, because an
//! id a client sends never names anyone. Every problem is reported with the element's path.

use careweave_domain::casework::Urgency;
use careweave_domain::{NhsNumber, SnomedCode};
use chrono::NaiveDate;
use serde_json::Value;

use crate::bundle::{Issue, IssueCode};
use crate::{NHS_NUMBER, SNOMED};

/// A referral as a client sent it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingReferral {
    /// The casework service (`performer`: `HealthcareService/{id}`).
    pub service: i64,
    pub nhs_number: NhsNumber,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    /// How to reach the person (the contained Patient's first telecom), possibly empty.
    pub contact: String,
    pub reason: String,
    pub needs: String,
    pub urgency: Urgency,
    /// Who asked, as the sending system names them (`requester.display`).
    pub requester: Option<String>,
}

fn text<'a>(v: &'a Value, path: &str, issues: &mut Vec<Issue>, element: &str) -> Option<&'a str> {
    match v.pointer(path).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => Some(s),
        _ => {
            issues.push(Issue::at(
                IssueCode::Required,
                element,
                format!("{element} is required"),
            ));
            None
        }
    }
}

/// Checks a posted ServiceRequest and returns the referral it asks for, or every problem found.
pub fn parse_service_request(body: &[u8]) -> Result<IncomingReferral, Vec<Issue>> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        vec![Issue::general(
            IssueCode::Structure,
            format!("the body is not valid JSON: {e}"),
        )]
    })?;
    if v.get("resourceType").and_then(Value::as_str) != Some("ServiceRequest") {
        return Err(vec![Issue::at(
            IssueCode::Structure,
            "ServiceRequest.resourceType",
            "resourceType must be ServiceRequest",
        )]);
    }
    let mut issues = Vec::new();
    match v.get("status").and_then(Value::as_str) {
        Some("active") => {}
        Some(_) => issues.push(Issue::at(
            IssueCode::Value,
            "ServiceRequest.status",
            "status must be active for a new referral",
        )),
        None => issues.push(Issue::at(
            IssueCode::Required,
            "ServiceRequest.status",
            "ServiceRequest.status is required",
        )),
    }
    match v.get("intent").and_then(Value::as_str) {
        Some("order" | "proposal" | "plan" | "original-order") => {}
        Some(_) => issues.push(Issue::at(
            IssueCode::Value,
            "ServiceRequest.intent",
            "intent must be order, original-order, proposal or plan",
        )),
        None => issues.push(Issue::at(
            IssueCode::Required,
            "ServiceRequest.intent",
            "ServiceRequest.intent is required",
        )),
    }
    if let Some(codings) = v.pointer("/code/coding").and_then(Value::as_array) {
        for (i, c) in codings.iter().enumerate() {
            let element = format!("ServiceRequest.code.coding[{i}]");
            if c.get("system").and_then(Value::as_str) != Some(SNOMED) {
                issues.push(Issue::at(
                    IssueCode::CodeInvalid,
                    &format!("{element}.system"),
                    format!("only SNOMED CT ({SNOMED}) codes are accepted"),
                ));
            } else if c
                .get("code")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<SnomedCode>().ok())
                .is_none()
            {
                issues.push(Issue::at(
                    IssueCode::Value,
                    &format!("{element}.code"),
                    "the code is not a SNOMED CT concept id",
                ));
            }
        }
    }
    let urgency = match v.get("priority").and_then(Value::as_str) {
        None | Some("routine") => Urgency::Routine,
        Some("urgent") => Urgency::Soon,
        Some("asap" | "stat") => Urgency::Urgent,
        Some(_) => {
            issues.push(Issue::at(
                IssueCode::Value,
                "ServiceRequest.priority",
                "priority must be routine, urgent, asap or stat",
            ));
            Urgency::Routine
        }
    };
    let service = match v.pointer("/performer/0/reference").and_then(Value::as_str) {
        Some(r) => match r
            .strip_prefix("HealthcareService/")
            .and_then(|id| id.parse::<i64>().ok())
        {
            Some(id) => Some(id),
            None => {
                issues.push(Issue::at(
                    IssueCode::Value,
                    "ServiceRequest.performer[0].reference",
                    "performer must reference a HealthcareService of this server",
                ));
                None
            }
        },
        None => {
            issues.push(Issue::at(
                IssueCode::Required,
                "ServiceRequest.performer",
                "ServiceRequest.performer is required: the HealthcareService referred to",
            ));
            None
        }
    };
    let reason = v
        .pointer("/reasonCode/0/text")
        .or_else(|| v.pointer("/reasonCode/0/coding/0/display"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if reason.is_none() {
        issues.push(Issue::at(
            IssueCode::Required,
            "ServiceRequest.reasonCode",
            "ServiceRequest.reasonCode is required: why the person is referred",
        ));
    }
    let person = contained_patient(&v, &mut issues);
    match (service, person, reason) {
        (
            Some(service),
            Some((nhs_number, given_name, family_name, date_of_birth, contact)),
            Some(reason),
        ) if issues.is_empty() => Ok(IncomingReferral {
            service,
            nhs_number,
            given_name,
            family_name,
            date_of_birth,
            contact,
            reason: reason.to_owned(),
            needs: v
                .pointer("/note/0/text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_owned(),
            urgency,
            requester: v
                .pointer("/requester/display")
                .and_then(Value::as_str)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
        }),
        _ => Err(issues),
    }
}

type Demographics = (NhsNumber, String, String, NaiveDate, String);

/// The person the referral is about, from the Patient contained in the request that `subject`
/// points at (`#id`).
fn contained_patient(v: &Value, issues: &mut Vec<Issue>) -> Option<Demographics> {
    let Some(reference) = v.pointer("/subject/reference").and_then(Value::as_str) else {
        issues.push(Issue::at(
            IssueCode::Required,
            "ServiceRequest.subject",
            "ServiceRequest.subject is required: a reference to a contained Patient",
        ));
        return None;
    };
    let Some(local) = reference.strip_prefix('#') else {
        issues.push(Issue::at(
            IssueCode::Value,
            "ServiceRequest.subject.reference",
            "subject must reference a contained Patient (#id) with the NHS number, name and \
             date of birth; a patient id is not accepted",
        ));
        return None;
    };
    let contained = v.get("contained").and_then(Value::as_array);
    let Some((index, patient)) = contained.and_then(|list| {
        list.iter().enumerate().find(|(_, r)| {
            r.get("resourceType").and_then(Value::as_str) == Some("Patient")
                && r.get("id").and_then(Value::as_str) == Some(local)
        })
    }) else {
        issues.push(Issue::at(
            IssueCode::Required,
            "ServiceRequest.contained",
            format!("no contained Patient with id {local}"),
        ));
        return None;
    };
    let at = format!("ServiceRequest.contained[{index}]");
    let nhs = patient
        .get("identifier")
        .and_then(Value::as_array)
        .and_then(|ids| {
            ids.iter()
                .position(|i| i.get("system").and_then(Value::as_str) == Some(NHS_NUMBER))
                .map(|k| (k, &ids[k]))
        });
    let nhs_number = match nhs {
        None => {
            issues.push(Issue::at(
                IssueCode::Required,
                &format!("{at}.identifier"),
                format!("an identifier with system {NHS_NUMBER} is required"),
            ));
            None
        }
        Some((k, id)) => {
            match id
                .get("value")
                .and_then(Value::as_str)
                .map(str::parse::<NhsNumber>)
            {
                Some(Ok(n)) => Some(n),
                _ => {
                    issues.push(Issue::at(
                        IssueCode::Value,
                        &format!("{at}.identifier[{k}].value"),
                        "the NHS number is not valid (10 digits with a correct check digit)",
                    ));
                    None
                }
            }
        }
    };
    let family = text(
        patient,
        "/name/0/family",
        issues,
        &format!("{at}.name[0].family"),
    );
    let given = text(
        patient,
        "/name/0/given/0",
        issues,
        &format!("{at}.name[0].given[0]"),
    );
    let birth = text(patient, "/birthDate", issues, &format!("{at}.birthDate")).and_then(|b| {
        let parsed = NaiveDate::parse_from_str(b, "%Y-%m-%d").ok();
        if parsed.is_none() {
            issues.push(Issue::at(
                IssueCode::Value,
                &format!("{at}.birthDate"),
                "birthDate must be a full date (YYYY-MM-DD)",
            ));
        }
        parsed
    });
    let contact = patient
        .pointer("/telecom/0/value")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned();
    Some((
        nhs_number?,
        given?.to_owned(),
        family?.to_owned(),
        birth?,
        contact,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> Value {
        json!({
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "priority": "urgent",
            "code": { "coding": [{ "system": SNOMED, "code": "871731000000106" }] },
            "subject": { "reference": "#p" },
            "contained": [{
                "resourceType": "Patient",
                "id": "p",
                "identifier": [{ "system": NHS_NUMBER, "value": "9990000018" }],
                "name": [{ "family": "Okafor", "given": ["Ada"] }],
                "birthDate": "1950-03-04",
                "telecom": [{ "system": "phone", "value": "01234 567890" }],
            }],
            "performer": [{ "reference": "HealthcareService/3" }],
            "reasonCode": [{ "text": "Lonely since her husband died" }],
        })
    }

    fn issues(v: &Value) -> Vec<Issue> {
        parse_service_request(v.to_string().as_bytes()).unwrap_err()
    }

    #[test]
    fn a_complete_request_is_a_referral() {
        let r = parse_service_request(request().to_string().as_bytes()).unwrap();
        assert_eq!(r.service, 3);
        assert_eq!(r.nhs_number.as_digits(), "9990000018");
        assert_eq!(r.urgency, Urgency::Soon);
        assert_eq!(r.contact, "01234 567890");
    }

    #[test]
    fn each_problem_names_its_element() {
        assert_eq!(
            parse_service_request(b"{not json").unwrap_err()[0].code,
            IssueCode::Structure
        );
        let mut wrong = request();
        wrong["resourceType"] = json!("Patient");
        assert_eq!(
            issues(&wrong)[0].element.as_deref(),
            Some("ServiceRequest.resourceType")
        );
        let mut bad_nhs = request();
        bad_nhs["contained"][0]["identifier"][0]["value"] = json!("9990000019");
        assert_eq!(
            issues(&bad_nhs)[0].element.as_deref(),
            Some("ServiceRequest.contained[0].identifier[0].value")
        );
        let mut system = request();
        system["code"]["coding"][0]["system"] = json!("http://loinc.org");
        let found = issues(&system);
        assert_eq!(found[0].code, IssueCode::CodeInvalid);
        assert_eq!(
            found[0].element.as_deref(),
            Some("ServiceRequest.code.coding[0].system")
        );
        let mut missing = request();
        missing.as_object_mut().unwrap().remove("reasonCode");
        missing["contained"][0]
            .as_object_mut()
            .unwrap()
            .remove("birthDate");
        let found: Vec<_> = issues(&missing)
            .into_iter()
            .filter_map(|i| i.element)
            .collect();
        assert_eq!(
            found,
            [
                "ServiceRequest.reasonCode",
                "ServiceRequest.contained[0].birthDate"
            ]
        );
    }

    #[test]
    fn a_patient_id_never_names_the_person() {
        let mut by_id = request();
        by_id["subject"] = json!({ "reference": "Patient/1" });
        assert_eq!(
            issues(&by_id)[0].element.as_deref(),
            Some("ServiceRequest.subject.reference")
        );
    }
}
