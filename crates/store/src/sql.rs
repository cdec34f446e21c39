//! Lists of ids as bound parameters, so that no value is ever formatted into SQL text.
//!
//! A statement that filters on a list (`service_id IN (…)`) takes an [`IdList`]: the statement
//! text gets only the list's placeholders (`$3, $4, $5`), generated from its length, and the ids
//! are bound like every other parameter. Numbered placeholders are the one form both SQLite and
//! PostgreSQL accept through sqlx's `Any` driver, which is why this does not use a JSON array
//! (`json_each` exists only on SQLite, `= ANY($1)` only on PostgreSQL).

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

/// Ids bound as the parameters `$first`, `$first + 1`, … of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdList {
    ids: Vec<i64>,
    first: usize,
}

impl IdList {
    /// A list whose first placeholder is `$first` (the statement's fixed parameters come before).
    pub(crate) fn new(first: usize, ids: impl IntoIterator<Item = i64>) -> Self {
        Self {
            ids: ids.into_iter().collect(),
            first,
        }
    }

    /// The text inside `IN (…)`: the placeholders, or `NULL` for an empty list (which matches
    /// no row, as an empty list should).
    pub(crate) fn placeholders(&self) -> String {
        if self.ids.is_empty() {
            return "NULL".to_owned();
        }
        (self.first..self.first + self.ids.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Binds the ids, in order, after the parameters already bound to `query`.
    pub(crate) fn bind<'q>(
        &self,
        mut query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        for id in &self.ids {
            query = query.bind(*id);
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::IdList;

    #[test]
    fn placeholders_follow_the_fixed_parameters_and_an_empty_list_matches_nothing() {
        assert_eq!(IdList::new(2, [7, 9, 11]).placeholders(), "$2, $3, $4");
        assert_eq!(IdList::new(1, []).placeholders(), "NULL");
    }
}
