//! FHIR R4 bulk data (NDJSON, one resource per line) for the same people as the tables.
//!
//! Resources claim the UK Core profiles in `meta.profile`. GP appointments are `Appointment`s, whose
//! `noshow` status is FHIR's own word for a missed appointment; hospital, community and mental health
//! activity are `Encounter`s, admissions carrying their ICD-10 diagnoses (with their terms) in
//! `reasonCode`. Every reference resolves within the output: `Patient/p1`, and each practice as
//! `Organization/{ODS code}`. The NHS number carries UK Core's verification status (a GP extract's
//! numbers are traced and verified, `01`), the ethnic category UK Core's extension with the NHS
//! Data Dictionary codes, and `Encounter.class` the v3 ActCode system R4 binds it to. The output is
//! checked by an independent FHIR R4 model validator in `scripts/test` (`scripts/validate-fhir`).

use std::io::Write;

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::history::{Context, PersonHistory};
use crate::population::{Population, ETHNIC_CATEGORIES};

const SNOMED: &str = "http://snomed.info/sct";
use careweave_domain::{DERIVED_COUNTS_SYSTEM as DERIVED, REPEAT_MEDICINES_CODE as REPEAT};
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

const UK: &str = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-";
const NHS_NUMBER_VERIFICATION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
const NHS_NUMBER_VERIFICATION_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";

/// The term of each ICD-10 code the generator emits, for `Coding.display`.
fn icd10_term(code: &str) -> Option<&'static str> {
    static TERMS: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static str>> =
        std::sync::OnceLock::new();
    TERMS
        .get_or_init(|| {
            use crate::codes::{
                exacerbation_icd10, external_cause_icd10, Condition, ACUTE_DIAGNOSES,
                ELECTIVE_DIAGNOSES,
            };
            let mut all: Vec<(&'static str, &'static str)> = ACUTE_DIAGNOSES
                .iter()
                .chain(&ELECTIVE_DIAGNOSES)
                .copied()
                .collect();
            for c in Condition::ALL {
                all.extend((0..c.snomed().len()).map(|v| c.icd10(v)));
                all.extend(exacerbation_icd10(c));
                // Secondary codes an admission carries: a cancer's metastatic site and an
                // overdose's external cause.
                all.extend((0..c.snomed().len()).filter_map(|v| c.metastasis_icd10(v)));
                all.extend(external_cause_icd10(c));
            }
            all.into_iter().collect()
        })
        .get(code)
        .copied()
}

/// The v3 ActCode display of each `Encounter.class` code written.
fn act_display(code: &str) -> &'static str {
    match code {
        "EMER" => "emergency",
        "IMP" => "inpatient encounter",
        "HH" => "home health",
        _ => "ambulatory",
    }
}

fn profile(name: &str) -> Value {
    json!({ "profile": [format!("{UK}{name}")] })
}

/// Why a resource could not be written: only a failure to serialise, which would be a bug.
pub(crate) type FhirError = std::io::Error;

/// Writes `text` as a JSON string, quoted and escaped.
fn esc(b: &mut Vec<u8>, text: &str) -> Result<(), FhirError> {
    serde_json::to_writer(b, text).map_err(FhirError::from)
}

/// An ISO date without chrono's general-purpose formatter.
fn date(d: NaiveDate) -> crate::tables::IsoDate {
    crate::tables::IsoDate(d)
}

/// The resource types written, in file order; each goes to `fhir/<Type>.ndjson`.
pub(crate) const RESOURCES: [&str; 6] = [
    "Organization",
    "Patient",
    "Condition",
    "Observation",
    "Encounter",
    "Appointment",
];

/// NDJSON lines per resource type for one chunk, in the order of [`RESOURCES`].
#[derive(Debug, Default)]
pub(crate) struct FhirBuf {
    pub lines: [Vec<u8>; 6],
    pub counts: [u64; 6],
}

impl FhirBuf {
    fn push(&mut self, kind: usize, v: &Value) -> Result<(), FhirError> {
        serde_json::to_writer(&mut self.lines[kind], v)?;
        self.lines[kind].push(b'\n');
        self.counts[kind] += 1;
        Ok(())
    }
}

/// The practices as `Organization`s.
pub(crate) fn organisations(pop: &Population, out: &mut FhirBuf) -> Result<(), FhirError> {
    for p in &pop.practices {
        out.push(
            0,
            &json!({
                "resourceType": "Organization",
                "id": p.ods_code.as_str(),
                "meta": profile("Organization"),
                "identifier": [{ "system": ODS, "value": p.ods_code.as_str() }],
                "name": p.name,
                "address": [{ "postalCode": p.postcode.as_str() }],
            }),
        )?;
    }
    Ok(())
}

/// Appends one person's resources.
pub(crate) fn person(
    pop: &Population,
    ctx: &Context,
    h: &PersonHistory,
    medications: &[(NaiveDate, u8)],
    out: &mut FhirBuf,
) -> Result<(), FhirError> {
    let core = &pop.people[ctx.index as usize];
    let pid = format!("p{}", ctx.index + 1);
    let hh = &pop.households[core.household as usize];
    let practice = &pop.practices[usize::from(core.practice)];
    let (eth_code, eth_label) = ETHNIC_CATEGORIES[usize::from(core.ethnicity)];
    let mut patient = json!({
        "resourceType": "Patient",
        "id": pid,
        "meta": profile("Patient"),
        "identifier": [{
            "extension": [{
                "url": NHS_NUMBER_VERIFICATION,
                "valueCodeableConcept": { "coding": [{
                    "system": NHS_NUMBER_VERIFICATION_SYSTEM,
                    "code": "01",
                    "display": "Number present and verified",
                }] },
            }],
            "system": NHS_NUMBER,
            "value": core.nhs_number.as_digits(),
        }],
        "name": [{
            "use": "official",
            "family": crate::names::family(core.name_group, core.family),
            "given": [crate::names::given(core.name_group, core.sex, core.given)],
        }],
        "gender": core.sex.code(),
        "birthDate": core.date_of_birth.to_string(),
        "address": [{ "postalCode": pop.postcodes[hh.postcode as usize].postcode.as_str() }],
        "generalPractitioner": [{
            "reference": format!("Organization/{}", practice.ods_code.as_str()),
            "identifier": { "system": ODS, "value": practice.ods_code.as_str() },
            "display": practice.name,
        }],
        "extension": [{
            "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
            "valueCodeableConcept": { "coding": [{
                "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland",
                "code": eth_code,
                "display": eth_label,
            }] },
        }],
    });
    if let (Some(death), Some(obj)) = (h.clinical.date_of_death, patient.as_object_mut()) {
        obj.insert("deceasedDateTime".into(), json!(death.to_string()));
    }
    out.push(1, &patient)?;

    // The high-volume resources are written directly rather than through `serde_json::Value`, which
    // allocates a map per object and dominated the run time. Free text goes through `esc`.
    for (k, c) in h.clinical.conditions.iter().enumerate() {
        let (code, term) = c.snomed();
        let b = &mut out.lines[2];
        write!(
            b,
            r#"{{"resourceType":"Condition","id":"{pid}-c{k}","meta":{{"profile":["{UK}Condition"]}},"clinicalStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}}]}},"category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item","display":"Problem List Item"}}]}}],"code":{{"coding":[{{"system":"{SNOMED}","code":"{code}","display":"#
        )?;
        esc(b, term)?;
        writeln!(
            b,
            r#"}}]}},"subject":{{"reference":"Patient/{pid}"}},"onsetDateTime":"{}"}}"#,
            date(c.onset)
        )?;
        out.counts[2] += 1;
    }
    for (k, n) in h.clinical.social_needs.iter().enumerate() {
        let (code, term) = n.need.snomed();
        let b = &mut out.lines[2];
        write!(
            b,
            r#"{{"resourceType":"Condition","id":"{pid}-s{k}","meta":{{"profile":["{UK}Condition"]}},"clinicalStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}}]}},"category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item","display":"Problem List Item"}}]}}],"code":{{"coding":[{{"system":"{SNOMED}","code":"{code}","display":"#
        )?;
        esc(b, term)?;
        writeln!(
            b,
            r#"}}]}},"subject":{{"reference":"Patient/{pid}"}},"recordedDate":"{}"}}"#,
            date(n.recorded)
        )?;
        out.counts[2] += 1;
    }
    for (k, d) in h.clinical.frailty_deficits.iter().enumerate() {
        // Polypharmacy has no code: it is derived from prescribing, so it is not an Observation.
        let Some((code, term)) = d.deficit.snomed() else {
            continue;
        };
        let b = &mut out.lines[3];
        write!(
            b,
            r#"{{"resourceType":"Observation","id":"{pid}-o{k}","meta":{{"profile":["{UK}Observation"]}},"status":"final","code":{{"coding":[{{"system":"{SNOMED}","code":"{code}","display":"#
        )?;
        esc(b, term)?;
        writeln!(
            b,
            r#"}}]}},"subject":{{"reference":"Patient/{pid}"}},"effectiveDateTime":"{}"}}"#,
            date(d.recorded)
        )?;
        out.counts[3] += 1;
    }

    // The repeat medicines count at each year end, which the eFI's polypharmacy deficit reads. No
    // SNOMED CT concept holds a count of medicines, so it is coded in careweave's own system (see
    // `careweave_domain::DERIVED_COUNTS_SYSTEM`); a real export would give MedicationRequests.
    for (k, (end, n)) in medications.iter().enumerate() {
        let b = &mut out.lines[3];
        writeln!(
            b,
            r#"{{"resourceType":"Observation","id":"{pid}-rm{k}","meta":{{"profile":["{UK}Observation"]}},"status":"final","code":{{"coding":[{{"system":"{DERIVED}","code":"{REPEAT}","display":"Repeat medicines on record"}}]}},"subject":{{"reference":"Patient/{pid}"}},"effectiveDateTime":"{}","valueInteger":{n}}}"#,
            date(*end)
        )?;
        out.counts[3] += 1;
    }

    let e = &h.events;
    let mut encounter = |id: std::fmt::Arguments<'_>,
                         class: &str,
                         status: &str,
                         from: NaiveDate,
                         to: NaiveDate,
                         kind: &str,
                         reasons: &[&str]|
     -> Result<(), FhirError> {
        let b = &mut out.lines[4];
        write!(
            b,
            r#"{{"resourceType":"Encounter","id":"{id}","meta":{{"profile":["{UK}Encounter"]}},"status":"{status}","class":{{"system":"{ACT_CODE}","code":"{class}","display":"{}"}},"type":[{{"text":"#,
            act_display(class)
        )?;
        esc(b, kind)?;
        write!(
            b,
            r#"}}],"subject":{{"reference":"Patient/{pid}"}},"period":{{"start":"{}","end":"{}"}}"#,
            date(from),
            date(to)
        )?;
        if !reasons.is_empty() {
            b.extend_from_slice(br#","reasonCode":["#);
            for (i, r) in reasons.iter().enumerate() {
                let sep = if i == 0 { "" } else { "," };
                write!(b, r#"{sep}{{"coding":[{{"system":"{ICD10}","code":"{r}""#)?;
                if let Some(term) = icd10_term(r) {
                    b.extend_from_slice(br#","display":"#);
                    esc(b, term)?;
                }
                b.extend_from_slice(b"}]}");
            }
            b.push(b']');
        }
        b.extend_from_slice(b"}\n");
        out.counts[4] += 1;
        Ok(())
    };
    for (k, a) in e.ae_attendances.iter().enumerate() {
        encounter(
            format_args!("{pid}-ae{k}"),
            "EMER",
            "finished",
            a.date,
            a.date,
            "A&E attendance",
            &[],
        )?;
    }
    for (k, a) in e.admissions.iter().enumerate() {
        let kind = if a.emergency {
            "emergency admission"
        } else {
            "elective admission"
        };
        encounter(
            format_args!("{pid}-ad{k}"),
            "IMP",
            "finished",
            a.admitted,
            a.discharged,
            kind,
            &a.diagnoses,
        )?;
    }
    for (k, o) in e.outpatients.iter().enumerate() {
        let status = if o.attended { "finished" } else { "cancelled" };
        let kind = format!("outpatient treatment function {}", o.treatment_function);
        encounter(
            format_args!("{pid}-op{k}"),
            "AMB",
            status,
            o.date,
            o.date,
            &kind,
            &[],
        )?;
    }
    for (k, c) in e.community_contacts.iter().enumerate() {
        encounter(
            format_args!("{pid}-cc{k}"),
            "HH",
            "finished",
            c.date,
            c.date,
            c.service,
            &[],
        )?;
    }
    for (k, c) in e.mental_health_contacts.iter().enumerate() {
        encounter(
            format_args!("{pid}-mh{k}"),
            "AMB",
            "finished",
            c.date,
            c.date,
            c.service,
            &[],
        )?;
    }
    let ods = practice.ods_code.as_str();
    for (k, a) in e.gp_appointments.iter().enumerate() {
        let day = date(a.date);
        let status = if a.attended { "fulfilled" } else { "noshow" };
        let b = &mut out.lines[5];
        write!(
            b,
            r#"{{"resourceType":"Appointment","id":"{pid}-gp{k}","meta":{{"profile":["{UK}Appointment"]}},"status":"{status}","serviceType":[{{"text":"#
        )?;
        esc(b, a.staff)?;
        write!(
            b,
            r#"}}],"start":"{day}T09:00:00Z","end":"{day}T09:10:00Z","participant":[{{"actor":{{"reference":"Patient/{pid}"}},"status":"accepted"}},{{"type":[{{"text":"#
        )?;
        // R4 allows no Organization as a participant's actor: the practice's clinician is a
        // participant by type (their role at the practice), with no actor resource to point at.
        esc(b, &format!("{} at {ods}", a.staff))?;
        writeln!(b, r#"}}],"status":"accepted"}}]}}"#)?;
        out.counts[5] += 1;
    }
    Ok(())
}
