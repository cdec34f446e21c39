//! The taxonomies the directory classifies services by.
//!
//! The need categories are data, not code: `taxonomy/needs.csv` (columns `id,name,description`) is
//! compiled in and versioned with the crate, so that a change of category is a reviewed diff. A
//! second, one-term taxonomy marks the services that take direct referrals; Open Referral UK has no
//! field for that, and a taxonomy term attached through `attributes` is how the standard carries
//! such flags without extending the schema.

use std::sync::OnceLock;

/// The id of the need-category taxonomy, as published on `/taxonomies`.
pub const NEEDS_TAXONOMY_ID: &str = "careweave-needs";
/// The need taxonomy's version: change it whenever `needs.csv` changes.
pub const NEEDS_TAXONOMY_VERSION: &str = "2026.1";
/// The id of the taxonomy of access routes.
pub const ACCESS_TAXONOMY_ID: &str = "careweave-access";
/// The one term of the access taxonomy: the provider accepts referrals sent through careweave.
pub const DIRECT_REFERRAL_TERM_ID: &str = "accepts-direct-referrals";
/// The access term's name.
pub const DIRECT_REFERRAL_TERM_NAME: &str = "Accepts direct referrals";

const NEEDS_CSV: &str = include_str!("../taxonomy/needs.csv");

/// A term of the need taxonomy (debt advice, befriending, food…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedTerm {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// A need category: a cheap handle on one term of the compiled-in taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Need(u16);

fn terms() -> &'static [NeedTerm] {
    static TERMS: OnceLock<Vec<NeedTerm>> = OnceLock::new();
    TERMS.get_or_init(|| {
        let mut reader = csv::Reader::from_reader(NEEDS_CSV.as_bytes());
        reader
            .records()
            .map(|r| {
                // The file is part of the source tree and checked by a test, so a bad row is a
                // build-time mistake rather than input to report.
                let r = r.expect("taxonomy/needs.csv is valid CSV");
                NeedTerm {
                    id: r[0].to_owned(),
                    name: r[1].to_owned(),
                    description: r[2].to_owned(),
                }
            })
            .collect()
    })
}

impl Need {
    /// Every need category, in the order of the taxonomy file.
    pub fn all() -> impl Iterator<Item = Need> {
        (0..terms().len()).map(|i| Need(u16::try_from(i).unwrap_or(u16::MAX)))
    }

    /// Finds a category by its id (`debt-advice`) or, failing that, by its name, ignoring case.
    #[must_use]
    pub fn find(text: &str) -> Option<Need> {
        let t = text.trim();
        Self::all()
            .find(|n| n.id() == t)
            .or_else(|| Self::all().find(|n| n.name().eq_ignore_ascii_case(t)))
    }

    fn term(self) -> &'static NeedTerm {
        &terms()[usize::from(self.0)]
    }

    /// The stable id, used in URLs, feeds and spreadsheets.
    #[must_use]
    pub fn id(self) -> &'static str {
        &self.term().id
    }

    /// The name people read.
    #[must_use]
    pub fn name(self) -> &'static str {
        &self.term().name
    }

    /// What the category covers.
    #[must_use]
    pub fn description(self) -> &'static str {
        &self.term().description
    }
}

/// The list of valid ids, for error messages.
#[must_use]
pub fn need_ids() -> String {
    Need::all().map(Need::id).collect::<Vec<_>>().join(", ")
}

/// The readable id of the taxonomy or term that `text` names, by its readable id or by the UUID
/// the ORUK API publishes it under; text that names none is returned as it is (it matches nothing).
#[must_use]
pub fn readable_taxonomy_id(text: &str) -> String {
    let t = text.trim();
    if t.len() == 36 {
        let fixed = [
            NEEDS_TAXONOMY_ID,
            ACCESS_TAXONOMY_ID,
            DIRECT_REFERRAL_TERM_ID,
        ];
        if let Some(id) = Need::all()
            .map(Need::id)
            .chain(fixed)
            .find(|id| crate::model::oruk_uuid(id).eq_ignore_ascii_case(t))
        {
            return id.to_owned();
        }
    }
    t.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_taxonomy_file_has_unique_well_formed_ids() {
        let ids: Vec<&str> = Need::all().map(Need::id).collect();
        assert!(ids.len() >= 12, "{ids:?}");
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "duplicate ids");
        for n in Need::all() {
            assert!(n.id().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
            assert!(!n.name().is_empty() && !n.description().is_empty());
        }
    }

    #[test]
    fn terms_are_found_by_id_or_name() {
        let debt = Need::find("debt-advice").unwrap();
        assert_eq!(debt.name(), "Debt advice");
        assert_eq!(Need::find("DEBT ADVICE"), Some(debt));
        assert_eq!(Need::find("astrology"), None);
    }

    #[test]
    fn terms_and_taxonomies_are_named_by_their_published_uuids() {
        let debt = crate::model::oruk_uuid("debt-advice");
        assert_eq!(readable_taxonomy_id(&debt), "debt-advice");
        assert_eq!(
            readable_taxonomy_id(&debt.to_ascii_uppercase()),
            "debt-advice"
        );
        let needs = crate::model::oruk_uuid(NEEDS_TAXONOMY_ID);
        assert_eq!(readable_taxonomy_id(&needs), NEEDS_TAXONOMY_ID);
        assert_eq!(readable_taxonomy_id("food"), "food");
        let stranger = "7d4c5f6e-0000-4000-8000-000000000000";
        assert_eq!(readable_taxonomy_id(stranger), stranger);
    }
}
