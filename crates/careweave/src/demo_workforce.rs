//! The demo's staff in post for workforce planning: posts without accounts (the team members who
//! never sign in to the demo), with part-time WTEs and a mix of ARRS, practice and charity
//! funding, so that the demo PCN shows demand against supply on first sign-in. The demo accounts'
//! own staff records stay full time.

use careweave_domain::{FundingStream, OrganisationId, StaffRole};
use careweave_store::people::NewStaff;
use careweave_store::Store;

/// (name, role, WTE in hundredths, employer is the PCN rather than the charity, funding).
const POSTS: &[(&str, StaffRole, i64, bool, FundingStream)] = &[
    (
        "Amrit Navigator",
        StaffRole::Receptionist,
        100,
        false,
        FundingStream::PracticeCore,
    ),
    (
        "Beth Navigator",
        StaffRole::Receptionist,
        60,
        false,
        FundingStream::PracticeCore,
    ),
    (
        "Chris Coordinator",
        StaffRole::CareCoordinator,
        100,
        true,
        FundingStream::Arrs,
    ),
    (
        "Dana Coordinator",
        StaffRole::CareCoordinator,
        80,
        true,
        FundingStream::Arrs,
    ),
    (
        "Eli Coach",
        StaffRole::WellbeingCoach,
        100,
        true,
        FundingStream::Arrs,
    ),
    (
        "Fran Link",
        StaffRole::LinkWorker,
        60,
        false,
        FundingStream::Charity,
    ),
    (
        "Gus Caseworker",
        StaffRole::Caseworker,
        40,
        true,
        FundingStream::PracticeCore,
    ),
    (
        "Hana Therapist",
        StaffRole::OccupationalTherapist,
        50,
        true,
        FundingStream::Arrs,
    ),
    (
        "Ife Specialist",
        StaffRole::SeniorClinician,
        20,
        false,
        FundingStream::NhsTrust,
    ),
];

/// Adds the posts.
pub async fn load(
    store: &Store,
    practice: OrganisationId,
    pcn: OrganisationId,
    charity: OrganisationId,
) -> anyhow::Result<()> {
    for &(name, role, hundredths, at_pcn, funding) in POSTS {
        let id = store
            .insert_staff(&NewStaff {
                user: None,
                name: name.to_owned(),
                role,
                specialism: None,
                employer: if at_pcn { pcn } else { charity },
                base_practice: Some(practice),
                funding,
            })
            .await?;
        store.set_staff_wte(id.get(), hundredths).await?;
    }
    Ok(())
}
