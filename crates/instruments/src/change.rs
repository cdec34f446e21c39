//! Change between a baseline and a follow-up.

use crate::model::{Direction, Id, Instrument, Scale, TOLERANCE};
use crate::score::{ScaleScore, Scores};

/// Whether a person's score moved in the better direction by at least the meaningful change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Better by at least the meaningful change (any change when the scale names none).
    Improved,
    /// Changed by less than the meaningful change, or not at all.
    Stayed,
    /// Worse by at least the meaningful change (any change when the scale names none).
    Worsened,
}

impl Scale {
    /// Judges the move from `baseline` to `follow_up` reported scores. The meaningful change
    /// applies both ways, so that a report's "improved" and "worsened" shares use one yardstick.
    #[must_use]
    pub fn outcome(&self, baseline: f64, follow_up: f64) -> Outcome {
        let better_by = match self.direction {
            Direction::HigherIsBetter => follow_up - baseline,
            Direction::LowerIsBetter => baseline - follow_up,
        };
        let threshold = self.meaningful_change.unwrap_or(0.0);
        if better_by > TOLERANCE && better_by + TOLERANCE >= threshold {
            Outcome::Improved
        } else if -better_by > TOLERANCE && -better_by + TOLERANCE >= threshold {
            Outcome::Worsened
        } else {
            Outcome::Stayed
        }
    }
}

/// One scale's change between a baseline and a follow-up.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleChange {
    /// The scale's id.
    pub scale: Id,
    /// The baseline's reported score.
    pub baseline: f64,
    /// The follow-up's reported score.
    pub follow_up: f64,
    /// `follow_up - baseline`, whatever the direction: on a lower-is-better scale an improvement
    /// is negative.
    pub change: f64,
    /// The baseline's band label.
    pub baseline_band: Option<String>,
    /// The follow-up's band label.
    pub follow_up_band: Option<String>,
    /// The verdict under the scale's direction and meaningful change.
    pub outcome: Outcome,
}

/// Why two sets of scores cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The scores came from another instrument or another version of it, whose scales may mean
    /// something else.
    #[error(
        "the {which} was scored with `{instrument}` version {version}, not `{expected}` version \
         {expected_version}"
    )]
    OtherInstrument {
        /// `baseline` or `follow-up`.
        which: &'static str,
        /// The instrument that scored it.
        instrument: String,
        /// Its version.
        version: String,
        /// The instrument asked to compare.
        expected: String,
        /// Its version.
        expected_version: String,
    },
    /// A scale is missing from one of the score sets.
    #[error("the {which} has no score for scale `{scale}`")]
    MissingScale {
        /// `baseline` or `follow-up`.
        which: &'static str,
        /// The scale's id.
        scale: String,
    },
}

impl Instrument {
    /// The change on every scale from `baseline` to `follow_up`, in scale order.
    ///
    /// # Errors
    /// When either set of scores came from another instrument or version, or lacks a scale.
    pub fn change(
        &self,
        baseline: &Scores,
        follow_up: &Scores,
    ) -> Result<Vec<ScaleChange>, ChangeError> {
        for (which, scores) in [("baseline", baseline), ("follow-up", follow_up)] {
            if scores.instrument != self.id || scores.version != self.version {
                return Err(ChangeError::OtherInstrument {
                    which,
                    instrument: scores.instrument.to_string(),
                    version: scores.version.clone(),
                    expected: self.id.to_string(),
                    expected_version: self.version.clone(),
                });
            }
        }
        self.scales
            .iter()
            .map(|scale| {
                let before = scale_score(scale, "baseline", baseline)?;
                let after = scale_score(scale, "follow-up", follow_up)?;
                Ok(ScaleChange {
                    scale: scale.id.clone(),
                    baseline: before.reported(),
                    follow_up: after.reported(),
                    change: after.reported() - before.reported(),
                    baseline_band: before.band.clone(),
                    follow_up_band: after.band.clone(),
                    outcome: scale.outcome(before.reported(), after.reported()),
                })
            })
            .collect()
    }
}

fn scale_score<'s>(
    scale: &Scale,
    which: &'static str,
    scores: &'s Scores,
) -> Result<&'s ScaleScore, ChangeError> {
    scores
        .scale(scale.id.as_str())
        .ok_or_else(|| ChangeError::MissingScale {
            which,
            scale: scale.id.to_string(),
        })
}

/// How many people improved, stayed and worsened on one scale: the counts behind a report's
/// "share improved". Counts here are raw; anything that leaves the care team must still go through
/// the disclosure control in `careweave-domain`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// People who improved.
    pub improved: u64,
    /// People who stayed.
    pub stayed: u64,
    /// People who worsened.
    pub worsened: u64,
}

impl OutcomeCounts {
    /// Counts a list of outcomes.
    #[must_use]
    pub fn tally(outcomes: impl IntoIterator<Item = Outcome>) -> Self {
        let mut counts = Self::default();
        for outcome in outcomes {
            match outcome {
                Outcome::Improved => counts.improved += 1,
                Outcome::Stayed => counts.stayed += 1,
                Outcome::Worsened => counts.worsened += 1,
            }
        }
        counts
    }

    /// Everyone counted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.improved + self.stayed + self.worsened
    }

    /// The share who improved, between 0 and 1; `None` when no one was counted, so that an empty
    /// cohort is never shown as 0 %.
    #[must_use]
    pub fn share_improved(&self) -> Option<f64> {
        #[expect(
            clippy::cast_precision_loss,
            reason = "people counts are far below 2^52"
        )]
        let share = (self.total() > 0).then(|| self.improved as f64 / self.total() as f64);
        share
    }
}
