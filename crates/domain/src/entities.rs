//! The core entities of a neighbourhood: who the organisations are, who lives there, who works there.
//!
//! These are plain data built from already-parsed parts; the store constructs them from rows and the
//! web layer renders them. Required facts are not `Option`s.

use chrono::NaiveDate;

use crate::{
    HouseholdId, ImdDecile, LsoaCode, NhsNumber, OdsCode, OrganisationId, PersonId, PlaceId,
    Postcode, ServiceId, StaffId, TeamId,
};

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $code:literal, $label:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),* }

        impl $name {
            /// Every variant, in display order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The stable code stored in databases and files.
            #[must_use]
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),* }
            }

            /// The words shown to people.
            #[must_use]
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),* }
            }

            /// Parses a stored code; `None` for anything unknown.
            #[must_use]
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(Self::$variant),)* _ => None }
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// The kinds of organisation that take part in a neighbourhood.
    OrganisationKind {
        GpPractice => "gp_practice", "GP practice";
        Pcn => "pcn", "Primary care network";
        Vcse => "vcse", "Voluntary, community or social enterprise organisation";
        Council => "council", "Local authority";
        NhsTrust => "nhs_trust", "NHS trust";
        Icb => "icb", "Integrated care board";
    }
);

text_enum!(
    /// Levels of the place hierarchy, from the smallest statistical area to the integrated care system.
    PlaceLevel {
        Lsoa => "lsoa", "Lower layer super output area";
        Practice => "practice", "GP practice population";
        Pcn => "pcn", "Primary care network";
        Locality => "locality", "Locality";
        Ics => "ics", "Integrated care system";
    }
);

text_enum!(
    /// Sex as recorded in the GP record.
    Sex {
        Female => "female", "Female";
        Male => "male", "Male";
        Other => "other", "Other";
        Unknown => "unknown", "Not known";
    }
);

text_enum!(
    /// The professional roles of a neighbourhood team (distinct from sign-in roles, see
    /// [`crate::access::Role`]).
    StaffRole {
        LinkWorker => "link_worker", "Social prescribing link worker";
        WellbeingCoach => "wellbeing_coach", "Health and wellbeing coach";
        CareCoordinator => "care_coordinator", "Care coordinator";
        Caseworker => "caseworker", "Focused Care worker";
        OccupationalTherapist => "occupational_therapist", "Occupational therapist";
        Dietitian => "dietitian", "Dietitian";
        SeniorClinician => "senior_clinician", "Senior clinical specialist";
        Gp => "gp", "GP";
        PracticeNurse => "practice_nurse", "Practice nurse";
        Receptionist => "receptionist", "Receptionist";
        Supervisor => "hub_supervisor", "Hub supervisor";
        PcnManager => "pcn_manager", "PCN manager";
        Commissioner => "commissioner", "Commissioner";
        Analyst => "analyst", "Analyst";
    }
);

text_enum!(
    /// How a post is paid for; ARRS roles are reimbursed to the PCN.
    FundingStream {
        Arrs => "arrs", "Additional Roles Reimbursement Scheme";
        PracticeCore => "practice_core", "GP practice core funding";
        Charity => "charity", "Charity or grant funding";
        NhsTrust => "nhs_trust", "NHS trust funding";
        Council => "council", "Local authority funding";
    }
);

/// An organisation, with its ODS code where it has one (VCSE organisations usually do not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub kind: OrganisationKind,
    pub ods_code: Option<OdsCode>,
    /// The place this organisation serves or sits in (a practice's PCN, a PCN's locality).
    pub place: Option<PlaceId>,
}

/// A person registered with a practice and living in an LSOA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: PersonId,
    pub nhs_number: NhsNumber,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub postcode: Option<Postcode>,
    pub lsoa: Option<LsoaCode>,
    pub imd_decile: Option<ImdDecile>,
    pub registered_practice: OrganisationId,
    pub household: Option<HouseholdId>,
    pub date_of_death: Option<NaiveDate>,
}

impl Person {
    /// The name as shown in lists: family name first, the way clinical systems sort.
    #[must_use]
    pub fn display_name(&self) -> String {
        format!("{}, {}", self.family_name.to_uppercase(), self.given_name)
    }
}

/// People who live at one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Household {
    pub id: HouseholdId,
    pub postcode: Option<Postcode>,
    pub lsoa: Option<LsoaCode>,
}

/// A member of staff: their role, who employs them and where they are based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: StaffId,
    pub name: String,
    pub role: StaffRole,
    pub specialism: Option<String>,
    pub employer: OrganisationId,
    pub base_practice: Option<OrganisationId>,
    pub funding: FundingStream,
}

/// A team, whose members may be employed by several organisations (SAPA 5 had four employers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub hosted_by: OrganisationId,
    pub members: Vec<StaffId>,
}

/// A service offered by a team or an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
    pub provider: OrganisationId,
    pub team: Option<TeamId>,
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_for_every_variant() {
        for k in OrganisationKind::ALL {
            assert_eq!(OrganisationKind::from_code(k.code()), Some(*k));
        }
        for r in StaffRole::ALL {
            assert_eq!(StaffRole::from_code(r.code()), Some(*r));
        }
        assert_eq!(Sex::from_code("nonsense"), None);
    }
}
