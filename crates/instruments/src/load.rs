//! Loading the shipped definitions and folders of definition files into a [`Catalogue`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::definition::DefinitionError;
use crate::model::Instrument;

/// The definition files that ship with careweave, compiled in so that the web app needs no
/// deployment folder to offer them. Each is `(file name, text)`; a test checks that this list
/// matches the `definitions/` folder.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "example-made-up.toml",
        include_str!("../definitions/example-made-up.toml"),
    ),
    ("ons4.toml", include_str!("../definitions/ons4.toml")),
];

/// Where definitions come from. In a list of sources a later one replaces an earlier one's
/// instrument with the same id, so a deployment puts its folder after [`Source::Shipped`].
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The definitions compiled into this crate ([`SHIPPED`]).
    Shipped,
    /// Every `*.toml` file directly in this folder, in file-name order. Other files (a README, a
    /// licence text) are left alone.
    Folder(&'a Path),
}

/// An instrument and the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    instrument: Instrument,
    origin: String,
}

impl Loaded {
    /// The instrument.
    #[must_use]
    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// The file it came from: a path, or `name (shipped)` for a compiled-in definition.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// A later source's instrument replaced an earlier one with the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The instrument id.
    pub id: String,
    /// The file whose instrument is used.
    pub winner: String,
    /// The file whose instrument was replaced.
    pub replaced: String,
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "instrument `{}`: {} replaces {}",
            self.id, self.winner, self.replaced
        )
    }
}

/// A problem met while loading: a refused definition, or a folder or file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A definition file was refused, or repeated an id already used in its folder.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// A folder or file could not be read.
    #[error("{path}: cannot be read: {error}")]
    Read {
        /// The folder or file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
}

/// The instruments available, by id, with every problem met while loading them. Partial success
/// is normal: a refused file leaves the others usable, and its errors say what to fix.
#[derive(Debug, Default)]
pub struct Catalogue {
    instruments: BTreeMap<String, Loaded>,
    errors: Vec<LoadError>,
    overrides: Vec<Override>,
}

impl Catalogue {
    /// The instrument with this id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Instrument> {
        self.instruments.get(id).map(Loaded::instrument)
    }

    /// Every instrument, in id order.
    pub fn instruments(&self) -> impl Iterator<Item = &Loaded> {
        self.instruments.values()
    }

    /// Every problem, in the order met.
    #[must_use]
    pub fn errors(&self) -> &[LoadError] {
        &self.errors
    }

    /// Every replacement of one source's instrument by a later source's.
    #[must_use]
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    fn add_source(&mut self, files: Vec<(String, Result<String, std::io::Error>)>) {
        // Within one source the first file (in name order) to use an id keeps it; across sources
        // the later one wins. Two files claiming one id in the same folder is a mistake to report,
        // while a deployment folder replacing a shipped file is the intended way to customise.
        let mut claimed_here: BTreeMap<String, String> = BTreeMap::new();
        for (origin, text) in files {
            let text = match text {
                Ok(text) => text,
                Err(error) => {
                    self.errors.push(LoadError::Read {
                        path: origin,
                        error,
                    });
                    continue;
                }
            };
            let instrument = match Instrument::from_toml(&origin, &text) {
                Ok(instrument) => instrument,
                Err(errors) => {
                    self.errors
                        .extend(errors.into_errors().into_iter().map(LoadError::Definition));
                    continue;
                }
            };
            let id = instrument.id().to_string();
            if let Some(first) = claimed_here.get(&id) {
                self.errors.push(LoadError::Definition(DefinitionError {
                    file: origin,
                    field: "id".to_owned(),
                    message: format!(
                        "the id `{id}` is already used by {first} in the same folder; this file \
                         is ignored"
                    ),
                }));
                continue;
            }
            claimed_here.insert(id.clone(), origin.clone());
            let loaded = Loaded { instrument, origin };
            if let Some(replaced) = self.instruments.insert(id.clone(), loaded.clone()) {
                self.overrides.push(Override {
                    id,
                    winner: loaded.origin,
                    replaced: replaced.origin,
                });
            }
        }
    }
}

/// Loads definitions from the sources in order; see [`Source`] for which wins.
#[must_use]
pub fn load(sources: &[Source<'_>]) -> Catalogue {
    let mut catalogue = Catalogue::default();
    for source in sources {
        match source {
            Source::Shipped => catalogue.add_source(
                SHIPPED
                    .iter()
                    .map(|(name, text)| (format!("{name} (shipped)"), Ok((*text).to_owned())))
                    .collect(),
            ),
            Source::Folder(dir) => match toml_files(dir) {
                Ok(paths) => catalogue.add_source(
                    paths
                        .into_iter()
                        .map(|path| {
                            let text = std::fs::read_to_string(&path);
                            (path.display().to_string(), text)
                        })
                        .collect(),
                ),
                // A missing deployment folder is reported, never treated as an empty one, so a
                // mistyped path does not quietly leave a deployment on the shipped instruments.
                Err(error) => catalogue.errors.push(LoadError::Read {
                    path: dir.display().to_string(),
                    error,
                }),
            },
        }
    }
    catalogue
}

/// Loads the `*.toml` files of one folder.
#[must_use]
pub fn load_folder(dir: &Path) -> Catalogue {
    load(&[Source::Folder(dir)])
}

fn toml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|ext| ext == "toml") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}
