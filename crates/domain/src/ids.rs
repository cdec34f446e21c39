//! Typed identifiers, so that a person's id can never be passed where an organisation's is expected.

use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a raw database key. Only the store should need this.
            #[must_use]
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw key, for binding into a query or building a URL.
            #[must_use]
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    )*};
}

typed_id!(
    /// Identifies a person (patient, client) in the store.
    PersonId,
    /// Identifies a household.
    HouseholdId,
    /// Identifies an organisation: a GP practice, a PCN, a VCSE organisation, a council or a trust.
    OrganisationId,
    /// Identifies a place in the hierarchy (practice area, PCN, locality, ICS, LSOA).
    PlaceId,
    /// Identifies a staff member's professional record.
    StaffId,
    /// Identifies a team, whose members may come from several employers.
    TeamId,
    /// Identifies a service offered by a team or an organisation.
    ServiceId,
    /// Identifies a sign-in account.
    UserId,
    /// Identifies a referral to a casework service.
    ReferralId,
    /// Identifies a case: one person's episode of support by one service.
    CaseId,
    /// Identifies a safeguarding concern raised from a case.
    ConcernId,
    /// Identifies an MDT meeting.
    MeetingId,
);
