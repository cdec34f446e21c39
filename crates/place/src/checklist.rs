//! The integration self-assessment checklist: the approaches a partnership considers, grouped in
//! sections (leading for integration, the universal approaches, then one section per theme), each
//! item with the ICS tier it belongs to. The shipped list is `data/checklist.toml`, written for
//! careweave after the structure of the 2018 guide to integrating health, social care and local
//! services; a file that is malformed is refused with the file and the field at fault.

use std::collections::HashSet;

use careweave_domain::place::Tier;

use crate::{Fields, FileError};

/// The shipped checklist's file name, as diagnostics name it.
pub const SHIPPED_FILE: &str = "checklist.toml";
const SHIPPED: &str = include_str!("../data/checklist.toml");

/// One approach to score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Stable across versions of the file, so that assessments a year apart compare.
    pub id: String,
    pub title: String,
    /// What "in place" looks like, in a sentence or two.
    pub prompt: String,
    pub tier: Tier,
}

/// A section of approaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub items: Vec<Item>,
}

/// The whole checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checklist {
    pub sections: Vec<Section>,
}

impl Checklist {
    /// The checklist careweave ships.
    ///
    /// # Panics
    /// Never in a build whose tests pass: the shipped file is checked by them.
    #[must_use]
    pub fn shipped() -> Self {
        Self::from_toml(SHIPPED_FILE, SHIPPED).expect("the shipped checklist is valid")
    }

    /// Reads a checklist file.
    ///
    /// # Errors
    /// The first problem, naming `file` and the field (`section[2].item[1].tier`).
    pub fn from_toml(file: &str, text: &str) -> Result<Self, FileError> {
        let f = Fields { file };
        let root = f.parse(text)?;
        f.only(&root, "", &["section"])?;
        let mut seen = HashSet::new();
        let mut sections = Vec::new();
        for (i, s) in f.tables(&root, "", "section")?.into_iter().enumerate() {
            let path = format!("section[{}]", i + 1);
            f.only(s, &path, &["id", "title", "item"])?;
            let mut items = Vec::new();
            for (j, t) in f.tables(s, &path, "item")?.into_iter().enumerate() {
                let at = format!("{path}.item[{}]", j + 1);
                f.only(t, &at, &["id", "title", "prompt", "tier"])?;
                let id = f.text(t, &at, "id")?;
                if !seen.insert(id.clone()) {
                    return Err(f.error(
                        format!("{at}.id"),
                        format!("'{id}' is used twice; every item needs its own id"),
                    ));
                }
                let tier_text = f.text(t, &at, "tier")?;
                let tier = Tier::from_code(&tier_text).ok_or_else(|| {
                    f.error(
                        format!("{at}.tier"),
                        format!("'{tier_text}' is not a tier: use system, place or neighbourhood"),
                    )
                })?;
                items.push(Item {
                    id,
                    title: f.text(t, &at, "title")?,
                    prompt: f.text(t, &at, "prompt")?,
                    tier,
                });
            }
            sections.push(Section {
                id: f.text(s, &path, "id")?,
                title: f.text(s, &path, "title")?,
                items,
            });
        }
        Ok(Self { sections })
    }

    /// Every item, in the file's order.
    pub fn items(&self) -> impl Iterator<Item = (&Section, &Item)> {
        self.sections
            .iter()
            .flat_map(|s| s.items.iter().map(move |i| (s, i)))
    }

    /// The item with `id`.
    #[must_use]
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items().map(|(_, i)| i).find(|i| i.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_checklist_covers_every_tier_and_section() {
        let c = Checklist::shipped();
        let titles: Vec<&str> = c.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles[0], "Leading for integration");
        assert_eq!(titles[1], "Universal approaches to integration");
        assert!(c.sections.len() >= 5, "{titles:?}");
        for tier in Tier::ALL {
            assert!(c.items().any(|(_, i)| i.tier == *tier), "{tier:?}");
        }
        assert!(c.item("governance").is_some());
    }

    fn refused(text: &str) -> FileError {
        Checklist::from_toml("mine.toml", text).unwrap_err()
    }

    #[test]
    fn a_malformed_file_is_refused_naming_file_and_field() {
        let e = refused(
            "[[section]]\nid = \"a\"\ntitle = \"A\"\n[[section.item]]\nid = \"x\"\ntitle = \"X\"\nprompt = \"P\"\ntier = \"county\"\n",
        );
        assert_eq!(e.file, "mine.toml");
        assert_eq!(e.field, "section[1].item[1].tier");
        assert!(e
            .to_string()
            .starts_with("mine.toml: section[1].item[1].tier: "));
        let e = refused("[[section]]\nid = \"a\"\ntitle = \"A\"\n");
        assert_eq!(e.field, "section[1].item");
        let e = refused(
            "[[section]]\nid = \"a\"\ntitle = \"A\"\n[[section.item]]\nid = \"x\"\ntitle = \"X\"\nprompt = \"P\"\ntier = \"place\"\ntitel = \"typo\"\n",
        );
        assert_eq!(e.field, "section[1].item[1].titel");
        let e = refused(
            "[[section]]\nid = \"a\"\ntitle = \"A\"\n[[section.item]]\nid = \"x\"\ntitle = \"X\"\nprompt = \"P\"\ntier = \"place\"\n[[section.item]]\nid = \"x\"\ntitle = \"Y\"\nprompt = \"P\"\ntier = \"place\"\n",
        );
        assert_eq!(e.field, "section[1].item[2].id");
        let e = refused("section = 3\n");
        assert_eq!(e.field, "section");
        let e = refused("not toml [");
        assert_eq!(e.field, "(file)");
        let e = refused(
            "[[section]]\nid = \"a\"\ntitle = \"  \"\n[[section.item]]\nid = \"x\"\ntitle = \"X\"\nprompt = \"P\"\ntier = \"place\"\n",
        );
        assert_eq!(e.field, "section[1].title");
    }
}
