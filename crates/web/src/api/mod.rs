//! Machine interfaces that are not pages: the FHIR R4 API ([`fhir`]), authenticated by API tokens
//! rather than sessions.

pub mod fhir;
