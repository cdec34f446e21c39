//! What to generate: the number of people, the seed, the profile and the extract date.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::SynthError;

/// The kind of neighbourhood to generate. It sets the mix of IMD deciles, the age structure and the
/// ethnic mix; the clinical model is the same for all profiles, so differences in need come only from
/// age and deprivation, as in the real world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Profile {
    /// A younger, ethnically diverse population mostly in the 30% most deprived areas (like SAPA 5).
    #[default]
    DeprivedUrban,
    /// An England-like mix: every IMD decile equally likely and England's age structure.
    Mixed,
    /// An older, mostly White British population in the less deprived deciles.
    AffluentRural,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 3] = [
        Profile::DeprivedUrban,
        Profile::Mixed,
        Profile::AffluentRural,
    ];

    /// The name used on the command line and in the manifest.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Profile::DeprivedUrban => "deprived-urban",
            Profile::Mixed => "mixed",
            Profile::AffluentRural => "affluent-rural",
        }
    }

    /// Relative weights of IMD deciles 1 (most deprived) to 10 for this profile's LSOAs.
    pub(crate) fn imd_weights(self) -> [f64; 10] {
        match self {
            Profile::DeprivedUrban => [0.40, 0.22, 0.13, 0.08, 0.06, 0.04, 0.03, 0.02, 0.01, 0.01],
            Profile::Mixed => [0.1; 10],
            Profile::AffluentRural => [0.01, 0.02, 0.03, 0.05, 0.08, 0.11, 0.14, 0.17, 0.19, 0.20],
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = SynthError;
    fn from_str(s: &str) -> Result<Self, SynthError> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s.trim())
            .ok_or_else(|| SynthError::UnknownProfile(s.to_owned()))
    }
}

/// The number of valid NHS numbers in the 999 test range: the generator never issues any other kind,
/// so this is the largest population it can make.
#[must_use]
pub fn max_people() -> u32 {
    static MAX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| {
        let mut n = 0;
        for k in 0..1_000_000u32 {
            if crate::population::test_nhs_number(k).is_some() {
                n += 1;
            }
        }
        n
    })
}

/// Everything that determines a generated neighbourhood. Two runs with equal configs and the same
/// generator version produce identical registries and byte-identical files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthConfig {
    people: u32,
    seed: u64,
    profile: Profile,
    extract_date: NaiveDate,
    intervention: Option<crate::Intervention>,
}

impl SynthConfig {
    /// The default extract date: the end of the 2024-25 financial year, so that the five-year history
    /// covers five whole financial years (1 April 2020 to 31 March 2025).
    #[must_use]
    pub fn default_extract_date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 31).unwrap_or_default()
    }

    /// A config for `people` people (at least 1, at most [`max_people`]) with the default extract date.
    pub fn new(people: i64, seed: u64, profile: Profile) -> Result<Self, SynthError> {
        let max = max_people();
        if people < 1 {
            return Err(SynthError::TooFewPeople(people));
        }
        if people > i64::from(max) {
            return Err(SynthError::TooManyPeople {
                requested: people,
                max,
            });
        }
        Ok(Self {
            people: u32::try_from(people).map_err(|_| SynthError::TooManyPeople {
                requested: people,
                max,
            })?,
            seed,
            profile,
            extract_date: Self::default_extract_date(),
            intervention: None,
        })
    }

    /// The same config with another extract date (the last day of the history).
    #[must_use]
    pub fn with_extract_date(mut self, date: NaiveDate) -> Self {
        self.extract_date = date;
        self
    }

    /// The same config with planted support episodes (see `Intervention`); without one the
    /// output is exactly what it was before interventions existed.
    #[must_use]
    pub fn with_intervention(mut self, plan: crate::Intervention) -> Self {
        self.intervention = Some(plan);
        self
    }

    /// The planted intervention, if any.
    #[must_use]
    pub fn intervention(&self) -> Option<crate::Intervention> {
        self.intervention
    }

    /// The number of people (including those who died during the history window).
    #[must_use]
    pub fn people(&self) -> u32 {
        self.people
    }

    /// The seed.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The profile.
    #[must_use]
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The extract date: the last day of the history and the date at which ages are stated.
    #[must_use]
    pub fn extract_date(&self) -> NaiveDate {
        self.extract_date
    }

    /// The first day of the five-year history window.
    #[must_use]
    pub fn history_start(&self) -> NaiveDate {
        use chrono::Datelike;
        let e = self.extract_date;
        let start = NaiveDate::from_ymd_opt(e.year() - 5, e.month(), e.day())
            .unwrap_or_else(|| e - chrono::Days::new(5 * 365));
        start + chrono::Days::new(1)
    }
}

/// The most people a multi-place extract holds: its identifiers (about 81.8 million of the
/// synthetic unissuable scheme) and postcode districts allow a little more, so this round number
/// leaves a margin above England's 60 million.
pub const MAX_EXTRACT_PEOPLE: u64 = 80_000_000;

/// The most places a multi-place extract holds: practice and PCN codes carry the place's number in
/// four digits.
pub const MAX_PLACES: u32 = 9_999;

/// A large synthetic extract made of several places, each a neighbourhood of its own generated from
/// a seed derived from the extract's seed and the place's number, written one place at a time as
/// partitioned Parquet (see [`crate::write_places`]). Its people have identifiers of the synthetic
/// unissuable scheme (see [`crate::is_unissuable_identifier`]), never NHS numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacesConfig {
    people: u64,
    seed: u64,
    profile: Profile,
    extract_date: NaiveDate,
    place_size: u32,
}

impl PlacesConfig {
    /// The default number of people per place: a large place (places have 150,000 to 500,000).
    pub const DEFAULT_PLACE_SIZE: u32 = 500_000;

    /// An extract of `people` people (at least 1, at most [`MAX_EXTRACT_PEOPLE`]) in places of at
    /// most [`PlacesConfig::DEFAULT_PLACE_SIZE`] people, with the default extract date.
    pub fn new(people: i64, seed: u64, profile: Profile) -> Result<Self, SynthError> {
        if people < 1 {
            return Err(SynthError::TooFewPeople(people));
        }
        let people = u64::try_from(people)
            .ok()
            .filter(|&p| p <= MAX_EXTRACT_PEOPLE)
            .ok_or(SynthError::TooManyForExtract {
                requested: people,
                max: MAX_EXTRACT_PEOPLE,
            })?;
        let config = Self {
            people,
            seed,
            profile,
            extract_date: SynthConfig::default_extract_date(),
            place_size: Self::DEFAULT_PLACE_SIZE,
        };
        config.check_places()?;
        Ok(config)
    }

    /// The same extract with places of at most `size` people (1 to [`max_people`]). Small places
    /// make a multi-place extract of a few thousand people, for tests and trials.
    pub fn with_place_size(mut self, size: i64) -> Result<Self, SynthError> {
        let max = max_people();
        self.place_size = u32::try_from(size)
            .ok()
            .filter(|&s| (1..=max).contains(&s))
            .ok_or(SynthError::BadPlaceSize { size, max })?;
        self.check_places()?;
        Ok(self)
    }

    /// The same extract with another extract date.
    #[must_use]
    pub fn with_extract_date(mut self, date: NaiveDate) -> Self {
        self.extract_date = date;
        self
    }

    /// Refuses more places, or more postcode districts, than the labels can name.
    fn check_places(&self) -> Result<(), SynthError> {
        let places = self.people.div_ceil(u64::from(self.place_size));
        if places > u64::from(MAX_PLACES) {
            return Err(SynthError::TooManyPlaces {
                places,
                max: MAX_PLACES,
            });
        }
        let districts: u64 = (0..self.places())
            .map(|p| crate::population::district_count(self.place_people(p)) as u64)
            .sum();
        if districts > u64::from(crate::population::MAX_DISTRICTS) {
            return Err(SynthError::TooManyPlaces {
                places,
                max: MAX_PLACES,
            });
        }
        Ok(())
    }

    /// The number of people in the whole extract.
    #[must_use]
    pub fn people(&self) -> u64 {
        self.people
    }

    /// The extract's seed.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The profile of every place.
    #[must_use]
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The extract date of every place.
    #[must_use]
    pub fn extract_date(&self) -> NaiveDate {
        self.extract_date
    }

    /// The most people in one place.
    #[must_use]
    pub fn place_size(&self) -> u32 {
        self.place_size
    }

    /// The number of places: as few as hold everyone at [`PlacesConfig::place_size`] or fewer
    /// people each.
    #[must_use]
    pub fn places(&self) -> u32 {
        // At most MAX_PLACES, checked on construction.
        u32::try_from(self.people.div_ceil(u64::from(self.place_size))).unwrap_or(MAX_PLACES)
    }

    /// The people of place `place` (0-based): everyone shared out as evenly as possible.
    #[must_use]
    pub fn place_people(&self, place: u32) -> u32 {
        let n = u64::from(self.places());
        let share = self.people / n + u64::from(u64::from(place) < self.people % n);
        // A share is at most the place size, which is a u32.
        u32::try_from(share).unwrap_or(self.place_size)
    }

    /// The seed of place `place`: a hash of the extract's seed and the place's number, so that
    /// places differ from each other and from a single-place run with the same seed.
    #[must_use]
    pub fn place_seed(&self, place: u32) -> u64 {
        crate::rng::derive(self.seed, u64::from(place))
    }

    /// The neighbourhood config of place `place`.
    pub fn place_config(&self, place: u32) -> Result<SynthConfig, SynthError> {
        Ok(SynthConfig::new(
            i64::from(self.place_people(place)),
            self.place_seed(place),
            self.profile,
        )?
        .with_extract_date(self.extract_date))
    }
}
