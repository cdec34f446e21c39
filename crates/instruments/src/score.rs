//! Scoring one completed instrument.

use std::collections::BTreeMap;

use crate::definition::num;
use crate::model::{Id, Instrument, Method, Scale, ScaleKind, TOLERANCE};

/// What a person answered: a value per item, and for each external scale the score (and level)
/// that the external tool produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    items: BTreeMap<String, i64>,
    recorded: BTreeMap<String, Recorded>,
}

/// A score recorded from an external tool, with its level when the tool gives one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recorded {
    /// The score as the tool gave it.
    pub score: f64,
    /// The level as the tool gave it.
    pub level: Option<i64>,
}

impl Answers {
    /// No answers yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the value of the option chosen for `item`, as listed in the definition (before any
    /// reverse scoring). A second answer for the same item replaces the first.
    pub fn answer(&mut self, item: impl Into<String>, value: i64) -> &mut Self {
        self.items.insert(item.into(), value);
        self
    }

    /// Records what the external tool produced for the external scale `scale`.
    pub fn record(
        &mut self,
        scale: impl Into<String>,
        score: f64,
        level: Option<i64>,
    ) -> &mut Self {
        self.recorded
            .insert(scale.into(), Recorded { score, level });
        self
    }

    /// The item answers by item id.
    #[must_use]
    pub fn items(&self) -> &BTreeMap<String, i64> {
        &self.items
    }

    /// The recorded external results by scale id.
    #[must_use]
    pub fn recorded(&self) -> &BTreeMap<String, Recorded> {
        &self.recorded
    }
}

/// Why a set of answers cannot be scored. Each names the item or scale to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// An answer for an item the instrument does not have.
    #[error("item `{item}`: the instrument has no such item")]
    UnknownItem {
        /// The item id given.
        item: String,
    },
    /// An item was not answered.
    #[error("item `{item}`: no answer")]
    MissingItem {
        /// The item's id.
        item: String,
    },
    /// The answer is not one of the item's options.
    #[error("item `{item}`: {value} is not one of its answer options ({allowed})")]
    NotAnOption {
        /// The item's id.
        item: String,
        /// The value given.
        value: i64,
        /// The allowed values, comma separated.
        allowed: String,
    },
    /// A recorded result for a scale that is not an external scale of this instrument.
    #[error("scale `{scale}`: the instrument has no external scale with this id")]
    UnknownExternalScale {
        /// The scale id given.
        scale: String,
    },
    /// An external scale has no recorded result.
    #[error("scale `{scale}`: no recorded score")]
    MissingExternal {
        /// The scale's id.
        scale: String,
    },
    /// A recorded score outside the scale's range, or with too many decimal places.
    #[error("scale `{scale}`: the score {score} is not allowed ({allowed})")]
    ExternalScore {
        /// The scale's id.
        scale: String,
        /// The score given, as text.
        score: String,
        /// What is allowed.
        allowed: String,
    },
    /// A recorded level that the scale does not list, a missing level, or a level where the
    /// scale has none.
    #[error("scale `{scale}`: {problem}")]
    ExternalLevel {
        /// The scale's id.
        scale: String,
        /// What is wrong.
        problem: String,
    },
}

/// The scores of one completed instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub(crate) instrument: Id,
    pub(crate) version: String,
    pub(crate) scales: Vec<ScaleScore>,
}

impl Scores {
    /// The id of the instrument that produced these scores.
    #[must_use]
    pub fn instrument(&self) -> &Id {
        &self.instrument
    }

    /// The version of the instrument that produced these scores.
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// One score per scale, in the instrument's scale order.
    #[must_use]
    pub fn scales(&self) -> &[ScaleScore] {
        &self.scales
    }

    /// The score of one scale.
    #[must_use]
    pub fn scale(&self, id: &str) -> Option<&ScaleScore> {
        self.scales.iter().find(|score| score.scale.as_str() == id)
    }
}

/// One scale's score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleScore {
    pub(crate) scale: Id,
    pub(crate) raw: f64,
    pub(crate) converted: Option<f64>,
    pub(crate) band: Option<String>,
    pub(crate) level: Option<(i64, String)>,
}

impl ScaleScore {
    /// The scale's id.
    #[must_use]
    pub fn scale(&self) -> &Id {
        &self.scale
    }

    /// The raw score: the sum, mean or item value after reverse scoring, or the recorded external
    /// score.
    #[must_use]
    pub fn raw(&self) -> f64 {
        self.raw
    }

    /// The converted score, when the scale has a conversion table.
    #[must_use]
    pub fn converted(&self) -> Option<f64> {
        self.converted
    }

    /// The score that is reported, banded and compared over time: the converted score if there is
    /// one, otherwise the raw score.
    #[must_use]
    pub fn reported(&self) -> f64 {
        self.converted.unwrap_or(self.raw)
    }

    /// The label of the band the reported score falls in, when the scale has bands.
    #[must_use]
    pub fn band(&self) -> Option<&str> {
        self.band.as_deref()
    }

    /// The recorded level's value and label, for an external scale with levels.
    #[must_use]
    pub fn level(&self) -> Option<(i64, &str)> {
        self.level
            .as_ref()
            .map(|(value, label)| (*value, label.as_str()))
    }
}

impl Instrument {
    /// Scores a completed instrument.
    ///
    /// # Errors
    /// The first problem found, naming its item or scale: an answer for an unknown item, a missing
    /// answer, an answer that is not an option, or an external result that is missing, unknown or
    /// outside what the scale allows.
    pub fn score(&self, answers: &Answers) -> Result<Scores, ScoreError> {
        if let Some(item) = answers.items.keys().find(|id| self.item(id).is_none()) {
            return Err(ScoreError::UnknownItem { item: item.clone() });
        }
        if let Some(scale) = answers.recorded.keys().find(|id| {
            !self
                .scale(id)
                .is_some_and(|scale| matches!(scale.kind, ScaleKind::External(_)))
        }) {
            return Err(ScoreError::UnknownExternalScale {
                scale: scale.clone(),
            });
        }
        let mut scored: BTreeMap<&str, i64> = BTreeMap::new();
        for item in &self.items {
            let Some(&answer) = answers.items.get(item.id.as_str()) else {
                return Err(ScoreError::MissingItem {
                    item: item.id.to_string(),
                });
            };
            let Some(value) = item.scored_value(answer) else {
                let allowed: Vec<String> = item
                    .options
                    .iter()
                    .map(|option| option.value.to_string())
                    .collect();
                return Err(ScoreError::NotAnOption {
                    item: item.id.to_string(),
                    value: answer,
                    allowed: allowed.join(", "),
                });
            };
            scored.insert(item.id.as_str(), value);
        }
        let scales = self
            .scales
            .iter()
            .map(|scale| score_scale(scale, &scored, answers))
            .collect::<Result<_, _>>()?;
        Ok(Scores {
            instrument: self.id.clone(),
            version: self.version.clone(),
            scales,
        })
    }
}

fn score_scale(
    scale: &Scale,
    scored: &BTreeMap<&str, i64>,
    answers: &Answers,
) -> Result<ScaleScore, ScoreError> {
    let (raw, converted, level) = match &scale.kind {
        ScaleKind::Computed {
            method,
            items,
            conversion,
        } => {
            // Every item was answered and checked above, and the definition guarantees that each
            // scale names existing items, so a missing value here would be a bug in this crate.
            let values: Vec<i64> = items
                .iter()
                .map(|id| scored.get(id.as_str()).copied().unwrap_or_default())
                .collect();
            let sum: i64 = values.iter().sum();
            #[expect(
                clippy::cast_precision_loss,
                reason = "sums of answer values are far below 2^52"
            )]
            let raw = match method {
                Method::Sum | Method::Item => sum as f64,
                Method::Mean => sum as f64 / values.len() as f64,
            };
            let converted = conversion
                .as_ref()
                .and_then(|conversion| conversion.convert(sum));
            (raw, converted, None)
        }
        ScaleKind::External(external) => {
            let id = scale.id.to_string();
            let Some(recorded) = answers.recorded.get(scale.id.as_str()) else {
                return Err(ScoreError::MissingExternal { scale: id });
            };
            let steps = recorded.score * 10_f64.powi(i32::try_from(external.decimals).unwrap_or(0));
            let in_range = recorded.score.is_finite()
                && recorded.score >= external.min - TOLERANCE
                && recorded.score <= external.max + TOLERANCE;
            if !in_range || (steps - steps.round()).abs() > 1e-6 {
                return Err(ScoreError::ExternalScore {
                    scale: id,
                    score: num(recorded.score),
                    allowed: format!(
                        "{} to {} with at most {} decimal places",
                        num(external.min),
                        num(external.max),
                        external.decimals
                    ),
                });
            }
            let level = match (recorded.level, external.levels.as_slice()) {
                (None, []) => None,
                (Some(level), []) => {
                    return Err(ScoreError::ExternalLevel {
                        scale: id,
                        problem: format!("a level ({level}) was given but the scale has no levels"),
                    })
                }
                (None, _) => {
                    return Err(ScoreError::ExternalLevel {
                        scale: id,
                        problem: "no recorded level".to_owned(),
                    })
                }
                (Some(level), levels) => match levels.iter().find(|known| known.value == level) {
                    Some(known) => Some((known.value, known.label.clone())),
                    None => {
                        let allowed: Vec<String> =
                            levels.iter().map(|known| known.value.to_string()).collect();
                        return Err(ScoreError::ExternalLevel {
                            scale: id,
                            problem: format!(
                                "the level {level} is not one of its levels ({})",
                                allowed.join(", ")
                            ),
                        });
                    }
                },
            };
            (recorded.score, None, level)
        }
    };
    let reported = converted.unwrap_or(raw);
    Ok(ScaleScore {
        scale: scale.id.clone(),
        raw,
        converted,
        band: scale.band(reported).map(|band| band.label.clone()),
        level,
    })
}
