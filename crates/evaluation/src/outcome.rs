//! The outcomes the evaluation measures, in the order they are reported.

use crate::config::UnitCosts;

/// A kind of service use counted per person per month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    GpAppointments,
    GpDnas,
    AeAttendances,
    EmergencyAdmissions,
    ElectiveAdmissions,
    BedDays,
    Outpatients,
    CommunityContacts,
    MentalHealthContacts,
    /// Every activity above priced with the unit costs (the population engine's cost of care).
    Cost,
}

impl Outcome {
    /// Every outcome, cost last.
    pub const ALL: [Outcome; 10] = [
        Outcome::GpAppointments,
        Outcome::GpDnas,
        Outcome::AeAttendances,
        Outcome::EmergencyAdmissions,
        Outcome::ElectiveAdmissions,
        Outcome::BedDays,
        Outcome::Outpatients,
        Outcome::CommunityContacts,
        Outcome::MentalHealthContacts,
        Outcome::Cost,
    ];
    /// How many outcomes there are.
    pub const COUNT: usize = Self::ALL.len();

    /// The position in [`Outcome::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The outcome at a position of [`Outcome::ALL`].
    #[must_use]
    pub fn from_index(i: usize) -> Option<Self> {
        Self::ALL.get(i).copied()
    }

    /// The column name in output files.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Outcome::GpAppointments => "gp_appointments",
            Outcome::GpDnas => "gp_dnas",
            Outcome::AeAttendances => "ae_attendances",
            Outcome::EmergencyAdmissions => "emergency_admissions",
            Outcome::ElectiveAdmissions => "elective_admissions",
            Outcome::BedDays => "bed_days",
            Outcome::Outpatients => "outpatients",
            Outcome::CommunityContacts => "community_contacts",
            Outcome::MentalHealthContacts => "mental_health_contacts",
            Outcome::Cost => "cost",
        }
    }

    /// The outcome in words, as the start of a sentence.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Outcome::GpAppointments => "GP practice appointments attended",
            Outcome::GpDnas => "Missed GP practice appointments",
            Outcome::AeAttendances => "A&E attendances",
            Outcome::EmergencyAdmissions => "Emergency admissions",
            Outcome::ElectiveAdmissions => "Planned admissions",
            Outcome::BedDays => "Days in hospital",
            Outcome::Outpatients => "Outpatient appointments attended",
            Outcome::CommunityContacts => "Community health contacts",
            Outcome::MentalHealthContacts => "Mental health contacts",
            Outcome::Cost => "The cost of care",
        }
    }

    /// Pounds per unit (zero for outcomes that are not priced, such as missed appointments).
    #[must_use]
    pub fn unit_cost(self, u: &UnitCosts) -> f64 {
        match self {
            Outcome::GpAppointments => u.gp_appointment,
            Outcome::AeAttendances => u.ae_attendance,
            Outcome::EmergencyAdmissions => u.emergency_admission,
            Outcome::ElectiveAdmissions => u.elective_admission,
            Outcome::BedDays => u.bed_day,
            Outcome::Outpatients => u.outpatient,
            Outcome::CommunityContacts => u.community_contact,
            Outcome::MentalHealthContacts => u.mental_health_contact,
            Outcome::GpDnas | Outcome::Cost => 0.0,
        }
    }
}

/// Amounts of every outcome over some window; cost is filled in by [`Amounts::price`].
pub type Amounts = [f64; Outcome::COUNT];

/// Sets the cost outcome from the others.
pub fn price(a: &mut Amounts, u: &UnitCosts) {
    a[Outcome::Cost.index()] = Outcome::ALL
        .iter()
        .map(|o| a[o.index()] * o.unit_cost(u))
        .sum();
}
