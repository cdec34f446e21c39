//! careweave's domain: the words of integrated neighbourhood care as Rust types.
//!
//! Everything that enters careweave as text is parsed here exactly once into a type that cannot hold
//! an invalid value: [`NhsNumber`] (modulus-11 checked), [`OdsCode`], [`LsoaCode`], [`Postcode`],
//! [`ImdDecile`], and one type per coding system ([`SnomedCode`], checked for shape and partition,
//! [`Icd10Code`]). The core entities ([`Organisation`], [`Person`], [`Household`], [`StaffMember`],
//! [`Team`], [`Service`]) are built from those types, and [`access`] decides who may see what.
//!
//! This crate does no IO and knows nothing of HTTP, SQL, HTML or any wire format; it does not derive
//! `Serialize` so that no core type becomes a public format by accident.

pub mod access;
pub mod account;
pub mod casework;
pub mod clock;
mod codes;
pub mod consent;
pub mod dates;
pub mod disclosure;
mod entities;
pub mod events;
pub mod fhir_systems;
mod ids;
pub mod lone_working;
pub mod mdt;
mod nhs_number;
pub mod place;
pub mod safeguarding;
pub mod search;
pub mod supervision;

pub use codes::{
    CodeError, Icd10Code, ImdDecile, ImdQuintile, LsoaCode, OdsCode, Postcode, SnomedCode,
    DERIVED_COUNTS_SYSTEM, REPEAT_MEDICINES_CODE,
};
pub use entities::{
    FundingStream, Household, Organisation, OrganisationKind, Person, PlaceLevel, Service, Sex,
    StaffMember, StaffRole, Team,
};
pub use ids::{HouseholdId, OrganisationId, PersonId, PlaceId, ServiceId, StaffId, TeamId, UserId};
pub use nhs_number::{NhsNumber, NhsNumberError};
