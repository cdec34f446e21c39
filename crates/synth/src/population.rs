//! Stage one: places, households and people (who lives where, registered with whom).
//!
//! This stage is sequential and cheap (a few dozen bytes per person), because households tie people
//! together; everything per person that is expensive (history, events) is generated later from the
//! person's own random stream.

use careweave_domain::{ImdDecile, LsoaCode, NhsNumber, OdsCode, Postcode, Sex};
use chrono::{Days, NaiveDate};
use rand::Rng;

use crate::names;
use crate::rng::{self, Stream};
use crate::{SynthConfig, SynthError};

/// The people of one LSOA, roughly: ONS builds LSOAs of 1,000 to 3,000 residents, typically 1,500.
const PEOPLE_PER_LSOA: u32 = 1_500;
/// SAPA 5 has about 34,000 people in seven practices, so a practice has about 4,860 on its list.
const PEOPLE_PER_PRACTICE: u32 = 4_860;
/// Seven practices to a PCN, as in SAPA 5.
const PRACTICES_PER_PCN: usize = 7;
/// A postcode unit holds about fifteen households.
const HOUSEHOLDS_PER_POSTCODE: u32 = 15;
/// The fictional postcode area. Royal Mail never uses Q as the first letter of an area, so no
/// synthetic postcode can be a real address.
const POSTCODE_AREA: &str = "QX";
/// Letters Royal Mail allows in the last two places of a postcode.
const UNIT_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
/// The fictional town's centre, placed in the north of England.
const CENTRE: (f64, f64) = (53.42, -1.43);

/// Letters for the postcode areas of multi-place extracts (`Q` and one of these).
const AREA_LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Districts `1` to `99` in each of the 26 areas, in the `AA99` shape.
const NUMBERED_DISTRICTS: u32 = 26 * 99;
/// Then districts `1A` to `9Z` in each area, in the `AA9A` shape.
const LETTERED_DISTRICTS: u32 = 26 * 9 * 26;
/// How many postcode districts multi-place extracts can name.
pub(crate) const MAX_DISTRICTS: u32 = NUMBERED_DISTRICTS + LETTERED_DISTRICTS;
/// Twelve LSOAs to a postcode district.
const LSOAS_PER_DISTRICT: usize = 12;

/// The number of LSOAs a neighbourhood of `people` people has.
pub(crate) fn lsoa_count(people: u32) -> usize {
    people.div_ceil(PEOPLE_PER_LSOA).max(1) as usize
}

/// The number of postcode districts a neighbourhood of `people` people uses.
pub(crate) fn district_count(people: u32) -> usize {
    lsoa_count(people).div_ceil(LSOAS_PER_DISTRICT)
}

/// How the places of a neighbourhood are labelled. A single-place extract keeps the codes it has
/// always had; each place of a multi-place extract gets codes that no other place uses, so that
/// every key is unique across the whole extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Labels {
    /// The place's number (from 1) in a multi-place extract, or `None` for a single-place one.
    pub place: Option<u32>,
    /// LSOAs of the earlier places.
    pub lsoa_offset: u32,
    /// Postcode districts of the earlier places.
    pub district_offset: u32,
}

impl Labels {
    /// The labels of a single-place extract.
    pub const SINGLE: Labels = Labels {
        place: None,
        lsoa_offset: 0,
        district_offset: 0,
    };

    fn lsoa_code(&self, i: usize) -> String {
        format!("E{:08}", 1_900_000 + self.lsoa_offset as usize + i)
    }

    /// A PCN code: `U9` and four digits for a single place; `UZ`, the place's four digits and two
    /// more for a place (real PCN codes are `U` and five digits, so `UZ` is never issued).
    fn pcn_code(&self, i: usize) -> String {
        match self.place {
            None => format!("U9{:04}", 9000 + i),
            Some(p) => format!("UZ{p:04}{i:02}"),
        }
    }

    /// A practice code: `Z` and five digits for a single place; `Z`, the place's four digits and
    /// three more for a place.
    fn practice_code(&self, i: usize) -> String {
        match self.place {
            None => format!("Z{:05}", 90_001 + i),
            Some(p) => format!("Z{p:04}{:03}", i + 1),
        }
    }

    /// A name, with the place it belongs to when there are several.
    fn name(&self, base: String) -> String {
        match self.place {
            None => base,
            Some(p) => format!("{base} (place {p})"),
        }
    }

    /// The outward code of the neighbourhood's `district` (1-based). A single place uses area `QX`
    /// and the district number; the places of a multi-place extract number their districts on
    /// from each other through areas `QA` to `QZ`, first as `QA1` to `QA99`, then as `QA1A` to
    /// `QA9Z`. Royal Mail never uses Q as the first letter of an area, so none is a real postcode.
    fn outward(&self, district: usize) -> String {
        if self.place.is_none() {
            return format!("{POSTCODE_AREA}{district}");
        }
        let d = self.district_offset as usize + district - 1;
        let numbered = NUMBERED_DISTRICTS as usize;
        if d < numbered {
            format!("Q{}{}", char::from(AREA_LETTERS[d / 99]), d % 99 + 1)
        } else {
            // The caller checked the number of districts against MAX_DISTRICTS.
            let r = (d - numbered) % LETTERED_DISTRICTS as usize;
            format!(
                "Q{}{}{}",
                char::from(AREA_LETTERS[r / 234]),
                r % 234 / 26 + 1,
                char::from(AREA_LETTERS[r % 26])
            )
        }
    }

    /// The town centre: the places of a multi-place extract sit side by side, ten to a row, so
    /// that their maps do not overlap.
    fn centre(&self) -> (f64, f64) {
        match self.place {
            None => CENTRE,
            Some(p) => (
                CENTRE.0 + f64::from((p - 1) / 10) * 0.25,
                CENTRE.1 + f64::from((p - 1) % 10) * 0.4,
            ),
        }
    }
}

/// A primary care network.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcn {
    /// An ODS-style code (fictional: the `U9` prefix is used here only for synthetic PCNs).
    pub code: OdsCode,
    pub name: String,
}

/// A GP practice.
#[derive(Debug, Clone, PartialEq)]
pub struct Practice {
    /// An ODS-style code (fictional: `Z` is not a prefix issued to real practices).
    pub ods_code: OdsCode,
    pub name: String,
    /// Index into [`crate::Registry::pcns`].
    pub pcn: usize,
    pub postcode: Postcode,
    pub latitude: f64,
    pub longitude: f64,
}

/// A lower layer super output area with its deprivation.
#[derive(Debug, Clone, PartialEq)]
pub struct Lsoa {
    /// A code in `E01900000` upwards, beyond the range ONS has issued.
    pub code: LsoaCode,
    pub name: String,
    pub imd_decile: ImdDecile,
    pub latitude: f64,
    pub longitude: f64,
}

/// A postcode unit with its centroid.
#[derive(Debug, Clone, PartialEq)]
pub struct PostcodeUnit {
    pub postcode: Postcode,
    /// Index into [`crate::Registry::lsoas`].
    pub lsoa: usize,
    pub latitude: f64,
    pub longitude: f64,
}

/// The kind of household, which shapes the ages and sexes of its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HouseholdKind {
    SingleAdult,
    SingleOlder,
    Couple,
    CoupleWithChildren,
    LoneParent,
    MultiAdult,
}

impl HouseholdKind {
    /// The value written to the `household_type` column.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            HouseholdKind::SingleAdult => "single_adult",
            HouseholdKind::SingleOlder => "single_older",
            HouseholdKind::Couple => "couple",
            HouseholdKind::CoupleWithChildren => "couple_with_children",
            HouseholdKind::LoneParent => "lone_parent",
            HouseholdKind::MultiAdult => "multi_adult",
        }
    }
}

/// A household as stage one keeps it.
#[derive(Debug, Clone)]
pub(crate) struct HouseholdCore {
    pub postcode: u32,
    pub lsoa: u32,
    pub kind: HouseholdKind,
    pub first_person: u32,
    pub size: u8,
}

/// A person as stage one keeps it: small, because a million of them are held at once.
#[derive(Debug, Clone)]
pub(crate) struct PersonCore {
    pub nhs_number: NhsNumber,
    pub given: u16,
    pub family: u16,
    pub name_group: u8,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub ethnicity: u8,
    pub household: u32,
    pub practice: u16,
    pub registration: NaiveDate,
}

/// Places and people: the output of stage one.
#[derive(Debug, Clone)]
pub(crate) struct Population {
    pub pcns: Vec<Pcn>,
    pub practices: Vec<Practice>,
    pub lsoas: Vec<Lsoa>,
    pub postcodes: Vec<PostcodeUnit>,
    pub households: Vec<HouseholdCore>,
    pub people: Vec<PersonCore>,
}

impl Population {
    /// The LSOA a person lives in.
    pub fn lsoa_of(&self, person: &PersonCore) -> usize {
        self.households[person.household as usize].lsoa as usize
    }
}

/// The NHS number `999` followed by the six digits of `k`, if its check digit exists.
pub(crate) fn test_nhs_number(k: u32) -> Option<NhsNumber> {
    let mut digits = [9u8, 9, 9, 0, 0, 0, 0, 0, 0];
    let mut rest = k;
    for d in digits[3..].iter_mut().rev() {
        *d = (rest % 10) as u8;
        rest /= 10;
    }
    NhsNumber::from_first_nine(digits)
}

/// NHS Data Dictionary ethnic category codes with their descriptions.
pub const ETHNIC_CATEGORIES: [(&str, &str); 16] = [
    ("A", "White - British"),
    ("B", "White - Irish"),
    ("C", "White - Any other White background"),
    ("D", "Mixed - White and Black Caribbean"),
    ("E", "Mixed - White and Black African"),
    ("F", "Mixed - White and Asian"),
    ("G", "Mixed - Any other mixed background"),
    ("H", "Asian or Asian British - Indian"),
    ("J", "Asian or Asian British - Pakistani"),
    ("K", "Asian or Asian British - Bangladeshi"),
    ("L", "Asian or Asian British - Any other Asian background"),
    ("M", "Black or Black British - Caribbean"),
    ("N", "Black or Black British - African"),
    ("P", "Black or Black British - Any other Black background"),
    ("R", "Other Ethnic Groups - Chinese"),
    ("S", "Other Ethnic Groups - Any other ethnic group"),
];

/// Census 2021-like shares of the ethnic categories above, per profile (percentages).
fn ethnicity_weights(profile: crate::Profile) -> [f64; 16] {
    match profile {
        crate::Profile::Mixed => [
            73.5, 0.9, 6.3, 0.9, 0.5, 0.8, 0.8, 3.3, 2.7, 1.1, 1.6, 1.1, 2.6, 0.5, 0.8, 2.2,
        ],
        crate::Profile::DeprivedUrban => [
            62.0, 0.6, 6.0, 1.6, 0.9, 0.8, 1.0, 1.5, 8.5, 2.2, 2.0, 2.2, 6.5, 0.9, 0.5, 2.8,
        ],
        crate::Profile::AffluentRural => [
            89.0, 0.8, 4.6, 0.4, 0.2, 0.6, 0.5, 1.3, 0.3, 0.1, 0.6, 0.2, 0.4, 0.1, 0.5, 0.4,
        ],
    }
}

/// Five-year age bands from 18 to 99 with England's mid-year shares (ONS mid-2022, percent).
const ADULT_BANDS: [(u32, u32, f64); 16] = [
    (18, 19, 2.3),
    (20, 24, 6.1),
    (25, 29, 6.6),
    (30, 34, 6.9),
    (35, 39, 6.7),
    (40, 44, 6.3),
    (45, 49, 6.2),
    (50, 54, 6.8),
    (55, 59, 6.7),
    (60, 64, 5.8),
    (65, 69, 5.0),
    (70, 74, 4.9),
    (75, 79, 3.9),
    (80, 84, 2.5),
    (85, 89, 1.5),
    (90, 99, 0.9),
];

/// How a profile tilts the adult age structure: deprived urban areas are younger, rural ones older.
fn age_tilt(profile: crate::Profile, age: u32) -> f64 {
    match profile {
        crate::Profile::Mixed => 1.0,
        crate::Profile::DeprivedUrban => {
            if age < 35 {
                1.2
            } else if age >= 65 {
                0.72
            } else {
                1.0
            }
        }
        crate::Profile::AffluentRural => {
            if (20..35).contains(&age) {
                0.7
            } else if age >= 65 {
                1.35
            } else {
                1.0
            }
        }
    }
}

/// Draws an adult age in `[lo, hi]` from the profile's adult pyramid.
fn adult_age(rng: &mut impl Rng, profile: crate::Profile, lo: u32, hi: u32) -> u32 {
    let weights: Vec<f64> = ADULT_BANDS
        .iter()
        .map(|&(a, b, w)| {
            let overlap = b.min(hi).saturating_add(1).saturating_sub(a.max(lo));
            w * f64::from(overlap) / f64::from(b - a + 1) * age_tilt(profile, a)
        })
        .collect();
    let (a, b, _) = ADULT_BANDS[rng::weighted(rng, &weights)];
    rng.gen_range(a.max(lo)..=b.min(hi))
}

/// The household mix (shares of households) per profile, in the order of [`HouseholdKind`] variants.
fn household_weights(profile: crate::Profile) -> [f64; 6] {
    match profile {
        crate::Profile::Mixed => [0.13, 0.195, 0.305, 0.16, 0.08, 0.13],
        crate::Profile::DeprivedUrban => [0.19, 0.13, 0.22, 0.16, 0.15, 0.15],
        crate::Profile::AffluentRural => [0.11, 0.19, 0.36, 0.17, 0.05, 0.12],
    }
}

const KINDS: [HouseholdKind; 6] = [
    HouseholdKind::SingleAdult,
    HouseholdKind::SingleOlder,
    HouseholdKind::Couple,
    HouseholdKind::CoupleWithChildren,
    HouseholdKind::LoneParent,
    HouseholdKind::MultiAdult,
];

fn opposite(sex: Sex) -> Sex {
    if sex == Sex::Female {
        Sex::Male
    } else {
        Sex::Female
    }
}

fn any_sex(rng: &mut impl Rng, p_female: f64) -> Sex {
    if rng.gen_bool(p_female) {
        Sex::Female
    } else {
        Sex::Male
    }
}

/// Ages and sexes of the members of one household of `kind`.
fn members(rng: &mut impl Rng, profile: crate::Profile, kind: HouseholdKind) -> Vec<(u32, Sex)> {
    let mut m = Vec::with_capacity(5);
    let children = |rng: &mut dyn rand::RngCore, parent: u32, m: &mut Vec<(u32, Sex)>| {
        let n = 1 + rng::weighted(rng, &[0.45, 0.38, 0.17]);
        let hi = parent.saturating_sub(18).min(17);
        let lo = parent.saturating_sub(45);
        for _ in 0..n {
            let age = if lo <= hi { rng.gen_range(lo..=hi) } else { 0 };
            m.push((
                age,
                if rng.gen_bool(0.51) {
                    Sex::Male
                } else {
                    Sex::Female
                },
            ));
        }
    };
    match kind {
        HouseholdKind::SingleAdult => m.push((adult_age(rng, profile, 18, 65), any_sex(rng, 0.45))),
        HouseholdKind::SingleOlder => m.push((adult_age(rng, profile, 66, 99), any_sex(rng, 0.62))),
        HouseholdKind::Couple => {
            let a = adult_age(rng, profile, 40, 95);
            let s = any_sex(rng, 0.5);
            let b = (f64::from(a) + 3.0 * rng::normal(rng))
                .round()
                .clamp(18.0, 99.0) as u32;
            m.push((a, s));
            m.push((b, if rng.gen_bool(0.97) { opposite(s) } else { s }));
        }
        HouseholdKind::CoupleWithChildren => {
            let a = adult_age(rng, profile, 22, 56);
            let s = any_sex(rng, 0.5);
            let b = (f64::from(a) + 3.0 * rng::normal(rng))
                .round()
                .clamp(19.0, 70.0) as u32;
            m.push((a, s));
            m.push((b, if rng.gen_bool(0.97) { opposite(s) } else { s }));
            children(rng, a.min(b), &mut m);
        }
        HouseholdKind::LoneParent => {
            let a = adult_age(rng, profile, 19, 56);
            m.push((a, any_sex(rng, 0.88)));
            children(rng, a, &mut m);
        }
        HouseholdKind::MultiAdult => {
            if rng.gen_bool(0.6) {
                // Parents with a grown-up child still at home.
                let a = adult_age(rng, profile, 42, 75);
                let s = any_sex(rng, 0.5);
                m.push((a, s));
                m.push((
                    (f64::from(a) + 3.0 * rng::normal(rng))
                        .round()
                        .clamp(38.0, 90.0) as u32,
                    opposite(s),
                ));
                let child = rng.gen_range(18..=(a - 20).clamp(18, 35));
                m.push((child, any_sex(rng, 0.45)));
            } else {
                for _ in 0..rng.gen_range(2..=4) {
                    m.push((adult_age(rng, profile, 18, 45), any_sex(rng, 0.5)));
                }
            }
        }
    }
    m
}

/// Builds the places and people of a single-place neighbourhood from the config.
pub(crate) fn build(config: &SynthConfig) -> Result<Population, SynthError> {
    build_labelled(config, &Labels::SINGLE)
}

/// Builds the places and people of a neighbourhood, with its places labelled by `labels`.
pub(crate) fn build_labelled(
    config: &SynthConfig,
    labels: &Labels,
) -> Result<Population, SynthError> {
    let n = config.people();
    let centre = labels.centre();
    let profile = config.profile();
    let mut rng = rng::stream(config.seed(), Stream::Places, 0);

    // LSOAs: deciles drawn for the profile, then laid out on a grid with the most deprived in the
    // middle, as in a typical English town whose inner estates are poorer than its edges.
    let n_lsoa = lsoa_count(n);
    let mut deciles: Vec<u8> = (0..n_lsoa)
        .map(|_| rng::weighted(&mut rng, &profile.imd_weights()) as u8 + 1)
        .collect();
    deciles.sort_unstable();
    let cols = (n_lsoa as f64).sqrt().ceil() as usize;
    let mut cells: Vec<(usize, usize)> = (0..n_lsoa).map(|i| (i / cols, i % cols)).collect();
    let mid = (cols as f64 - 1.0) / 2.0;
    let rows_mid = ((n_lsoa.div_ceil(cols)) as f64 - 1.0) / 2.0;
    let dist = |&(r, c): &(usize, usize)| {
        let (dr, dc) = (r as f64 - rows_mid, c as f64 - mid);
        // A tiny tie-break by position keeps the order total and deterministic.
        dr * dr + dc * dc + (r * cols + c) as f64 * 1e-9
    };
    cells.sort_by(|a, b| dist(a).total_cmp(&dist(b)));
    let cell_lat = 0.0065;
    let cell_lon = 0.0105;
    let lsoa_xy = |(r, c): (usize, usize)| {
        (
            centre.0 + (r as f64 - rows_mid) * cell_lat,
            centre.1 + (c as f64 - mid) * cell_lon,
        )
    };
    let mut lsoas = Vec::with_capacity(n_lsoa);
    for (i, (&decile, &cell)) in deciles.iter().zip(cells.iter()).enumerate() {
        let (lat, lon) = lsoa_xy(cell);
        lsoas.push(Lsoa {
            code: labels.lsoa_code(i).parse()?,
            name: labels.name(format!(
                "{} {:03}{}",
                names::TOWN,
                i / 4 + 1,
                char::from(b'A' + (i % 4) as u8)
            )),
            imd_decile: ImdDecile::new(decile)?,
            latitude: lat,
            longitude: lon,
        });
    }

    // Practices sit at evenly spaced LSOAs; an LSOA's nearest practice is where most of its
    // residents register.
    let n_practice =
        ((f64::from(n) / f64::from(PEOPLE_PER_PRACTICE)).round() as usize).clamp(1, n_lsoa);
    let n_pcn = n_practice.div_ceil(PRACTICES_PER_PCN);
    let pcns: Vec<Pcn> = (0..n_pcn)
        .map(|i| -> Result<Pcn, SynthError> {
            Ok(Pcn {
                code: labels.pcn_code(i).parse()?,
                name: labels.name(names::pcn_name(i)),
            })
        })
        .collect::<Result<_, _>>()?;
    let mut practice_lsoa: Vec<usize> = (0..n_practice)
        .map(|i| (i * n_lsoa + n_lsoa / 2) / n_practice)
        .collect();
    // Spread practices over the map rather than along the deprivation ordering alone.
    practice_lsoa.sort_by_key(|&l| (cells[l].1, cells[l].0));
    let mut practices = Vec::with_capacity(n_practice);
    let mut postcodes: Vec<PostcodeUnit> = Vec::new();
    let mut sector_units: Vec<u32> = Vec::new();
    let mut new_postcode =
        |lsoa: usize, lat: f64, lon: f64, out: &mut Vec<PostcodeUnit>| -> Result<u32, SynthError> {
            // Twelve LSOAs to a district, and each LSOA its own sector digit within its district.
            let district = lsoa / LSOAS_PER_DISTRICT + 1;
            let sector = (lsoa % 12) % 10;
            let key = (district - 1) * 10 + sector;
            if sector_units.len() <= key {
                sector_units.resize(key + 1, 0);
            }
            let u = sector_units[key] as usize;
            sector_units[key] += 1;
            let (a, b) = (
                u / UNIT_LETTERS.len() % UNIT_LETTERS.len(),
                u % UNIT_LETTERS.len(),
            );
            let text = format!(
                "{} {sector}{}{}",
                labels.outward(district),
                char::from(UNIT_LETTERS[a]),
                char::from(UNIT_LETTERS[b])
            );
            out.push(PostcodeUnit {
                postcode: text.parse()?,
                lsoa,
                latitude: lat,
                longitude: lon,
            });
            Ok((out.len() - 1) as u32)
        };
    for (i, &l) in practice_lsoa.iter().enumerate() {
        let (lat, lon) = (lsoas[l].latitude + 0.001, lsoas[l].longitude - 0.001);
        let pc = new_postcode(l, lat, lon, &mut postcodes)?;
        practices.push(Practice {
            ods_code: labels.practice_code(i).parse()?,
            name: labels.name(names::practice_name(i)),
            pcn: i / PRACTICES_PER_PCN,
            postcode: postcodes[pc as usize].postcode.clone(),
            latitude: lat,
            longitude: lon,
        });
    }
    // The three nearest practices of each LSOA, nearest first.
    let nearest: Vec<[u16; 3]> = lsoas
        .iter()
        .map(|l| {
            let mut d: Vec<(f64, u16)> = practices
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let (dy, dx) = (p.latitude - l.latitude, (p.longitude - l.longitude) * 0.6);
                    (dy * dy + dx * dx, i as u16)
                })
                .collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            [d[0].1, d[d.len().min(2) - 1].1, d[d.len().min(3) - 1].1]
        })
        .collect();

    // Households and people, LSOA by LSOA, until each LSOA holds its share of the population.
    let mut hrng = rng::stream(config.seed(), Stream::Households, 0);
    let mut households = Vec::new();
    let mut people: Vec<PersonCore> = Vec::with_capacity(n as usize);
    let extract = config.extract_date();
    let mut nhs_k: u64 = 0;
    let nhs_offset = hrng.gen_range(0..1_000_000u64);
    let eth_weights = ethnicity_weights(profile);
    let hh_weights = household_weights(profile);
    for l in 0..n_lsoa {
        let target = ((l as u64 + 1) * u64::from(n) / n_lsoa as u64) as usize;
        let mut in_lsoa: u32 = 0;
        while people.len() < target {
            let kind = KINDS[rng::weighted(&mut hrng, &hh_weights)];
            let mut m = members(&mut hrng, profile, kind);
            m.truncate(target - people.len());
            // A new postcode unit every fifteen households.
            if in_lsoa.checked_rem(HOUSEHOLDS_PER_POSTCODE) == Some(0) {
                let lat = lsoas[l].latitude + (hrng.gen::<f64>() - 0.5) * cell_lat * 0.9;
                let lon = lsoas[l].longitude + (hrng.gen::<f64>() - 0.5) * cell_lon * 0.9;
                new_postcode(l, lat, lon, &mut postcodes)?;
            }
            let postcode = (postcodes.len() - 1) as u32;
            in_lsoa += 1;
            let ethnicity = rng::weighted(&mut hrng, &eth_weights) as u8;
            let group = names::group_of(ethnicity);
            let family = hrng.gen_range(0..names::family_count(group)) as u16;
            let practice = {
                let r: f64 = hrng.gen();
                nearest[l][if r < 0.8 {
                    0
                } else if r < 0.93 {
                    1
                } else {
                    2
                }]
            };
            let hid = households.len() as u32;
            households.push(HouseholdCore {
                postcode,
                lsoa: l as u32,
                kind,
                first_person: people.len() as u32,
                size: m.len() as u8,
            });
            for (age, sex) in m {
                let nhs_number = loop {
                    let k = (nhs_k * 7919 + nhs_offset) % 1_000_000;
                    nhs_k += 1;
                    if let Some(num) = test_nhs_number(k as u32) {
                        break num;
                    }
                };
                let days_old = u64::from(age) * 365 + u64::from(age / 4) + hrng.gen_range(0..365);
                let date_of_birth = extract - Days::new(days_old);
                // Most people have been registered for years; children mostly since birth.
                let since_birth = days_old.saturating_sub(30);
                let years_reg = -11.0 * (1.0 - hrng.gen::<f64>()).ln();
                let reg_days = ((years_reg * 365.25) as u64).min(since_birth);
                let registration = extract - Days::new(reg_days);
                // Some adults keep a different surname from the household's.
                let fam = if age >= 18 && hrng.gen_bool(0.15) {
                    hrng.gen_range(0..names::family_count(group)) as u16
                } else {
                    family
                };
                people.push(PersonCore {
                    nhs_number,
                    given: hrng.gen_range(0..names::given_count(group, sex)) as u16,
                    family: fam,
                    name_group: group,
                    date_of_birth,
                    sex,
                    ethnicity,
                    household: hid,
                    practice,
                    registration,
                });
            }
        }
    }
    Ok(Population {
        pcns,
        practices,
        lsoas,
        postcodes,
        households,
        people,
    })
}
