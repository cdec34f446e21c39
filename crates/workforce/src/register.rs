//! The assumptions register: every number the model uses, with its source, so that a planner can
//! read, question and change each one, and every figure on a chart can name the lines it came from.

/// One assumption.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumption {
    /// A stable key (`need.home_visit.segment:Long-term frailty.hours`), also the field to change.
    pub id: String,
    /// What the number means, in words.
    pub what: String,
    pub value: f64,
    /// `hours`, `share` or `pounds`.
    pub unit: &'static str,
    pub source: String,
    /// The model file that set it.
    pub file: String,
    /// Whether that file labels its figures illustrative (the shipped defaults do).
    pub illustrative: bool,
}

/// The register, in the order the model was read.
#[derive(Debug, Clone, Default)]
pub struct Register {
    lines: Vec<Assumption>,
}

impl Register {
    pub(crate) fn push(&mut self, a: Assumption) {
        self.lines.push(a);
    }

    /// Every line.
    #[must_use]
    pub fn lines(&self) -> &[Assumption] {
        &self.lines
    }

    /// The line with this id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Assumption> {
        self.lines.iter().find(|a| a.id == id)
    }

    /// The line number (from 1) of an id, as the register page and CSV show it, so that a chart's
    /// note can say "register lines 3, 7".
    #[must_use]
    pub fn number(&self, id: &str) -> Option<usize> {
        self.lines.iter().position(|a| a.id == id).map(|i| i + 1)
    }

    /// The line numbers of `ids`, sorted and without repeats: what a table row or chart bar cites.
    #[must_use]
    pub fn numbers(&self, ids: &[String]) -> Vec<usize> {
        let mut n: Vec<usize> = ids.iter().filter_map(|id| self.number(id)).collect();
        n.sort_unstable();
        n.dedup();
        n
    }

    /// [`Register::numbers`] as text, joined by `separator`.
    #[must_use]
    pub fn cite(&self, ids: &[String], separator: &str) -> String {
        self.numbers(ids)
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(separator)
    }

    /// The register as CSV, through the one CSV writer.
    #[must_use]
    pub fn to_csv(&self) -> String {
        let mut w = careweave_csv::Writer::with_header([
            "line",
            "id",
            "what",
            "value",
            "unit",
            "source",
            "file",
            "illustrative",
        ]);
        for (i, a) in self.lines.iter().enumerate() {
            w.record([
                (i + 1).to_string(),
                a.id.clone(),
                a.what.clone(),
                crate::fmt_number(a.value),
                a.unit.to_owned(),
                a.source.clone(),
                a.file.clone(),
                if a.illustrative { "yes" } else { "no" }.to_owned(),
            ]);
        }
        w.finish()
    }
}
