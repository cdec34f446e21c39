//! Outcome-measure instruments (questionnaires) as readable definition files: loading, scoring
//! and change over time.
//!
//! The main types:
//!
//! - [`Instrument`] is one questionnaire, read from a TOML definition by
//!   [`Instrument::from_toml`] and known to be consistent from then on: its [`Item`]s (questions
//!   with [`AnswerOption`]s, optionally reverse scored) and its [`Scale`]s. A scale is computed from
//!   items ([`Method::Sum`], [`Method::Mean`] or [`Method::Item`]), optionally through a
//!   [`Conversion`] table, or recorded as an [`ExternalScore`] (with optional levels) that a
//!   licensed tool produced. Each scale has a [`Direction`], optional [`Band`]s and an optional
//!   meaningful change.
//! - [`DefinitionError`] names the file, the field (`items[2].options`) and the problem; a file
//!   with problems yields all of them as [`DefinitionErrors`].
//! - [`load`] reads [`Source`]s (the [`SHIPPED`] definitions, then deployment folders, a later
//!   source replacing an instrument with the same id) into a [`Catalogue`] of good instruments,
//!   [`LoadError`]s and [`Override`]s.
//! - [`Instrument::score`] turns [`Answers`] into [`Scores`]: per scale a [`ScaleScore`] with the
//!   raw score, the converted score and the band, or a [`ScoreError`] naming the item.
//! - [`Instrument::change`] compares a baseline with a follow-up: per scale a [`ScaleChange`] with
//!   an [`Outcome`] (improved, stayed, worsened); [`OutcomeCounts`] tallies them for a report.
//!
//! The file format is shown by the shipped definitions in `definitions/`: `ons4.toml` (the ONS
//! personal wellbeing questions) and `example-made-up.toml`, an invented instrument that uses every
//! feature and is the template for new definitions.
//!
//! **Licensing rule.** careweave ships only instruments that are free to ship, such as ONS4 under
//! the Open Government Licence. Licensed instruments (WEMWBS, SWEMWBS, PAM, EQ-5D and others) are
//! supported by the engine, but their definition files are written and loaded by each deployment
//! under its own licence. No item text, scoring table or conversion table of a licensed instrument
//! may appear anywhere in this crate: not in definitions, tests, examples or comments. Tests use
//! made-up instruments.
//!
//! This crate is pure apart from reading definition folders: it knows nothing of the database,
//! HTTP or HTML, and derives no `Serialize`.
//!
//! ```
//! use careweave_instruments::{load, Answers, Outcome, Source};
//!
//! let catalogue = load(&[Source::Shipped]);
//! assert!(catalogue.errors().is_empty());
//! let ons4 = catalogue.get("ons4").expect("ONS4 ships with careweave");
//!
//! let mut baseline = Answers::new();
//! baseline.answer("satisfied", 4).answer("worthwhile", 6).answer("happy", 5).answer("anxious", 7);
//! let baseline = ons4.score(&baseline)?;
//! assert_eq!(baseline.scale("anxiety").and_then(|s| s.band()), Some("High"));
//!
//! let mut follow_up = Answers::new();
//! follow_up.answer("satisfied", 7).answer("worthwhile", 6).answer("happy", 5).answer("anxious", 3);
//! let follow_up = ons4.score(&follow_up)?;
//!
//! let changes = ons4.change(&baseline, &follow_up)?;
//! let outcomes: Vec<Outcome> = changes.iter().map(|c| c.outcome).collect();
//! assert_eq!(
//!     outcomes,
//!     [Outcome::Improved, Outcome::Stayed, Outcome::Stayed, Outcome::Improved]
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod change;
mod definition;
mod load;
mod model;
mod score;

pub use change::{ChangeError, Outcome, OutcomeCounts, ScaleChange};
pub use definition::{DefinitionError, DefinitionErrors};
pub use load::{load, load_folder, Catalogue, LoadError, Loaded, Override, Source, SHIPPED};
pub use model::{
    AnswerOption, Band, Conversion, Direction, ExternalScore, Id, Instrument, Item, Method, Scale,
    ScaleKind,
};
pub use score::{Answers, Recorded, ScaleScore, ScoreError, Scores};
