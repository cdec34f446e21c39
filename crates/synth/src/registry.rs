//! The in-memory registry: places and people as `careweave_domain` types, for the demo and the store.

use careweave_domain::{HouseholdId, LsoaCode, NhsNumber, OdsCode, Postcode, Sex};
use chrono::NaiveDate;

use crate::history::{self, Clinical, Context, PersonHistory};
use crate::population::{
    self, HouseholdKind, Lsoa, Pcn, Population, PostcodeUnit, Practice, ETHNIC_CATEGORIES,
};
use crate::{names, SynthConfig, SynthError};

/// A household: the people who share an address.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryHousehold {
    pub id: HouseholdId,
    pub kind: HouseholdKind,
    pub postcode: Postcode,
    pub lsoa: LsoaCode,
    /// Indices into [`Registry::people`].
    pub members: std::ops::Range<usize>,
}

/// A person as the demo needs them, with a compact clinical summary for plausible casework.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryPerson {
    /// 1-based and equal to the `person_id` column of the extract.
    pub person_id: i64,
    pub nhs_number: NhsNumber,
    pub given_name: &'static str,
    pub family_name: &'static str,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    /// NHS Data Dictionary ethnic category code (`A` = White British … `S` = any other group).
    pub ethnicity: &'static str,
    pub postcode: Postcode,
    pub lsoa: LsoaCode,
    /// Index into [`Registry::practices`].
    pub practice: usize,
    pub practice_ods: OdsCode,
    pub household: HouseholdId,
    pub registration_date: NaiveDate,
    pub date_of_death: Option<NaiveDate>,
    /// Long-term conditions, social needs, frailty deficits and medicine counts: exactly what the
    /// extract holds for this person.
    pub clinical: Clinical,
}

/// Everything about a neighbourhood except the service-use events, which only the files hold.
#[derive(Debug, Clone)]
pub struct Registry {
    pub config: SynthConfig,
    pub pcns: Vec<Pcn>,
    pub practices: Vec<Practice>,
    pub lsoas: Vec<Lsoa>,
    pub postcodes: Vec<PostcodeUnit>,
    pub households: Vec<RegistryHousehold>,
    pub people: Vec<RegistryPerson>,
}

/// Generates the registry for `config`: the same places, households and people (with the same
/// clinical summaries) that [`crate::write_dataset`] writes for that config.
pub fn generate_registry(config: &SynthConfig) -> Result<Registry, SynthError> {
    let pop = population::build(config)?;
    let households = pop
        .households
        .iter()
        .enumerate()
        .map(|(i, h)| RegistryHousehold {
            id: HouseholdId::new(i as i64 + 1),
            kind: h.kind,
            postcode: pop.postcodes[h.postcode as usize].postcode.clone(),
            lsoa: pop.lsoas[h.lsoa as usize].code.clone(),
            members: h.first_person as usize..(h.first_person as usize + usize::from(h.size)),
        })
        .collect();
    let people = (0..pop.people.len() as u32)
        .map(|i| {
            let ctx = Context::of(&pop, i);
            registry_person(&pop, i, history::clinical(config, &ctx))
        })
        .collect();
    Ok(Registry {
        config: config.clone(),
        pcns: pop.pcns,
        practices: pop.practices,
        lsoas: pop.lsoas,
        postcodes: pop.postcodes,
        households,
        people,
    })
}

pub(crate) fn registry_person(pop: &Population, index: u32, clinical: Clinical) -> RegistryPerson {
    let p = &pop.people[index as usize];
    let h = &pop.households[p.household as usize];
    RegistryPerson {
        person_id: i64::from(index) + 1,
        nhs_number: p.nhs_number,
        given_name: names::given(p.name_group, p.sex, p.given),
        family_name: names::family(p.name_group, p.family),
        date_of_birth: p.date_of_birth,
        sex: p.sex,
        ethnicity: ETHNIC_CATEGORIES[usize::from(p.ethnicity)].0,
        postcode: pop.postcodes[h.postcode as usize].postcode.clone(),
        lsoa: pop.lsoas[h.lsoa as usize].code.clone(),
        practice: usize::from(p.practice),
        practice_ods: pop.practices[usize::from(p.practice)].ods_code.clone(),
        household: HouseholdId::new(i64::from(p.household) + 1),
        registration_date: p.registration,
        date_of_death: clinical.date_of_death,
        clinical,
    }
}

/// The full history (clinical picture and every service-use event) of one person, by their
/// 0-based index in [`Registry::people`]. It regenerates the population's places and people, so call
/// it for a handful of people, not in a loop over everyone.
pub fn person_history(
    config: &SynthConfig,
    person_index: usize,
) -> Result<PersonHistory, SynthError> {
    let pop = population::build(config)?;
    let index = u32::try_from(person_index)
        .ok()
        .filter(|&i| (i as usize) < pop.people.len())
        .ok_or(SynthError::NoSuchPerson(person_index))?;
    Ok(history::history(config, &Context::of(&pop, index)))
}
