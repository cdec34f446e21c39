//! The FHIR identifier and code system addresses careweave reads and writes. They live here, in
//! the crate every other depends on, because four crates speak FHIR (the FHIR API, the outbox's
//! message to the GP, the synthetic export and the population engine's NDJSON reader) and a
//! system address typed twice is one that can drift: a reader that looks for a slightly
//! different URL than the writer emits silently finds nothing.

/// SNOMED CT.
pub const SNOMED: &str = "http://snomed.info/sct";
/// ICD-10 (the WHO edition's FHIR system; the NHS uses the 5th edition's codes in it).
pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
/// The NHS number identifier system.
pub const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// The ODS organisation code identifier system.
pub const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// HL7 v3 ActCode, which R4 binds `Encounter.class` to (`v3-ActEncounterCode`).
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/// The prefix of every UK Core profile URL.
pub const UK_CORE: &str = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-";
/// UK Core's NHS number verification status extension.
pub const NHS_NUMBER_VERIFICATION_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
/// The code system of that extension's values.
pub const NHS_NUMBER_VERIFICATION_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
