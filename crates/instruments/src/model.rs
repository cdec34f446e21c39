//! The parsed definition of an instrument. Every value here has passed the checks in
//! [`crate::definition`], so code that holds an [`Instrument`] never re-checks it.

use std::collections::BTreeMap;
use std::fmt;

/// Two scores closer than this are the same score. Means and conversion tables produce decimals, and
/// binary floating point cannot hold 0.1 exactly, so comparisons allow for the rounding error.
pub(crate) const TOLERANCE: f64 = 1e-9;

/// An identifier from a definition file: 1 to 64 lowercase ASCII letters, digits, `-` or `_`,
/// starting with a letter or digit. Ids end up in URLs, database columns and answer keys, so they
/// are kept to characters that need no escaping anywhere.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(String);

impl Id {
    /// Parses an id, or says what is wrong with it.
    ///
    /// # Errors
    /// A message a definition author can act on when `text` is empty, too long or holds other
    /// characters.
    pub fn parse(text: &str) -> Result<Self, String> {
        let well_formed = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && text
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if well_formed {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not a valid id: use 1 to 64 lowercase letters, digits, `-` or `_`, \
                 starting with a letter or digit"
            ))
        }
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One questionnaire or measure, loaded from a definition file and known to be consistent.
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    pub(crate) id: Id,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) source: String,
    pub(crate) licence: String,
    pub(crate) about: String,
    pub(crate) items: Vec<Item>,
    pub(crate) scales: Vec<Scale>,
}

impl Instrument {
    /// The instrument's id, unique in a catalogue; a deployment's file with the same id replaces
    /// the shipped one.
    #[must_use]
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The name people see.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version of the instrument (not of the file format). Scores remember it, and change is
    /// only computed between scores of the same version.
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Where the instrument comes from.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Under which licence it may be used.
    #[must_use]
    pub fn licence(&self) -> &str {
        &self.licence
    }

    /// A short description for the people who use it.
    #[must_use]
    pub fn about(&self) -> &str {
        &self.about
    }

    /// The questions, in the order they are asked. An instrument whose every scale is external
    /// has none.
    #[must_use]
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The scales it reports, in file order; there is at least one.
    #[must_use]
    pub fn scales(&self) -> &[Scale] {
        &self.scales
    }

    /// The item with this id.
    #[must_use]
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.id.as_str() == id)
    }

    /// The scale with this id.
    #[must_use]
    pub fn scale(&self, id: &str) -> Option<&Scale> {
        self.scales.iter().find(|scale| scale.id.as_str() == id)
    }
}

/// One question with its answer options.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub(crate) id: Id,
    pub(crate) text: String,
    pub(crate) options: Vec<AnswerOption>,
    pub(crate) reverse: bool,
}

impl Item {
    /// The item's id, the key of its answer.
    #[must_use]
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The question as asked.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The answer options in file order; at least two, with distinct values and labels.
    #[must_use]
    pub fn options(&self) -> &[AnswerOption] {
        &self.options
    }

    /// Whether the item is reverse scored: the answer `v` counts as `lowest + highest - v`.
    #[must_use]
    pub fn is_reversed(&self) -> bool {
        self.reverse
    }

    /// The value an answer counts for in scales, or `None` when `answer` is not an option.
    #[must_use]
    pub fn scored_value(&self, answer: i64) -> Option<i64> {
        if !self.options.iter().any(|option| option.value == answer) {
            return None;
        }
        if self.reverse {
            let (lowest, highest) = self.value_range();
            Some(lowest + highest - answer)
        } else {
            Some(answer)
        }
    }

    /// Every value the item can count for, after reverse scoring.
    pub(crate) fn scored_values(&self) -> Vec<i64> {
        self.options
            .iter()
            .filter_map(|option| self.scored_value(option.value))
            .collect()
    }

    fn value_range(&self) -> (i64, i64) {
        let values = self.options.iter().map(|option| option.value);
        let lowest = values.clone().min().unwrap_or_default();
        let highest = values.max().unwrap_or_default();
        (lowest, highest)
    }
}

/// One answer option of an item, or one level of an external scale: a whole-number value and the
/// label people see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerOption {
    pub(crate) value: i64,
    pub(crate) label: String,
}

impl AnswerOption {
    /// The value recorded when this option is chosen.
    #[must_use]
    pub fn value(&self) -> i64 {
        self.value
    }

    /// The label people see.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// Which way is better on a scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A higher score is better (wellbeing, activation).
    HigherIsBetter,
    /// A lower score is better (anxiety, distress).
    LowerIsBetter,
}

/// How a computed scale combines its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The sum of the items' scored values.
    Sum,
    /// The mean of the items' scored values.
    Mean,
    /// One item's scored value.
    Item,
}

/// Where a scale's score comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ScaleKind {
    /// Computed from items by `method`, then converted through `conversion` if there is one.
    Computed {
        /// How the items are combined.
        method: Method,
        /// The items, in file order; exactly one for [`Method::Item`].
        items: Vec<Id>,
        /// The conversion of raw scores to reported scores, for sum and item scales.
        conversion: Option<Conversion>,
    },
    /// Produced by an external tool (often licensed software) and recorded as given.
    External(ExternalScore),
}

/// The allowed scores, and optionally levels, of an external scale.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalScore {
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) decimals: u32,
    pub(crate) levels: Vec<AnswerOption>,
}

impl ExternalScore {
    /// The lowest allowed score.
    #[must_use]
    pub fn min(&self) -> f64 {
        self.min
    }

    /// The highest allowed score.
    #[must_use]
    pub fn max(&self) -> f64 {
        self.max
    }

    /// How many decimal places a recorded score may have.
    #[must_use]
    pub fn decimals(&self) -> u32 {
        self.decimals
    }

    /// The levels the tool reports beside its score; empty when it reports none, and then no level
    /// may be recorded.
    #[must_use]
    pub fn levels(&self) -> &[AnswerOption] {
        &self.levels
    }
}

/// A table from raw scores to reported scores that covers every possible raw score exactly once.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    pub(crate) table: BTreeMap<i64, f64>,
}

impl Conversion {
    /// The converted score of a raw score.
    #[must_use]
    pub fn convert(&self, raw: i64) -> Option<f64> {
        self.table.get(&raw).copied()
    }

    /// The rows of the table in raw-score order.
    pub fn rows(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.table.iter().map(|(raw, converted)| (*raw, *converted))
    }
}

/// A range of reported scores with a label, both ends included.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub(crate) from: f64,
    pub(crate) to: f64,
    pub(crate) label: String,
}

impl Band {
    /// The lowest score in the band.
    #[must_use]
    pub fn from(&self) -> f64 {
        self.from
    }

    /// The highest score in the band.
    #[must_use]
    pub fn to(&self) -> f64 {
        self.to
    }

    /// The label people see.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn contains(&self, score: f64) -> bool {
        self.from - TOLERANCE <= score && score <= self.to + TOLERANCE
    }
}

/// One score an instrument reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    pub(crate) id: Id,
    pub(crate) name: String,
    pub(crate) kind: ScaleKind,
    pub(crate) direction: Direction,
    pub(crate) meaningful_change: Option<f64>,
    pub(crate) bands: Vec<Band>,
    pub(crate) range: (f64, f64),
}

impl Scale {
    /// The scale's id, the key of its score (and of its recorded answer if external).
    #[must_use]
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The name people see.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the score comes from.
    #[must_use]
    pub fn kind(&self) -> &ScaleKind {
        &self.kind
    }

    /// Which way is better.
    #[must_use]
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The smallest change that counts as improvement or worsening; `None` means any change does.
    #[must_use]
    pub fn meaningful_change(&self) -> Option<f64> {
        self.meaningful_change
    }

    /// The bands in ascending order; empty when the file gives none.
    #[must_use]
    pub fn bands(&self) -> &[Band] {
        &self.bands
    }

    /// The lowest and highest reported (converted if there is a table) score.
    #[must_use]
    pub fn range(&self) -> (f64, f64) {
        self.range
    }

    /// The band a reported score falls in.
    #[must_use]
    pub fn band(&self, reported: f64) -> Option<&Band> {
        self.bands.iter().find(|band| band.contains(reported))
    }
}
