//! Workforce planning from need (issue 18): a readable model of care functions, competency levels
//! and roles ([`model`]) with its assumptions register ([`register`]); demand in hours, WTE and
//! cost for each place from the population engine's place profiles ([`demand`]); scenarios side by
//! side ([`scenario`]); a seeded discrete-event simulation of a service's waiting list ([`sim`]);
//! the command line's configuration ([`config`]) and CSV outputs ([`output`]).
//!
//! Pure Rust without DataFusion, so that the web app can plan from the profiles it holds.

pub mod config;
pub mod demand;
pub mod html;
pub mod model;
pub mod output;
pub mod register;
pub mod scenario;
pub mod sim;

pub use demand::{plan, PlaceCounts, Plan, Post, ProfileCell};
pub use model::{Group, Level, Model, ModelError, Vocabulary};
pub use register::{Assumption, Register};
pub use scenario::{FieldError, Scenario, ScenarioForm};

/// A number as the register and CSV files write it: no trailing zeros, at most four decimals.
#[must_use]
pub fn fmt_number(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_written_without_trailing_zeros() {
        assert_eq!(super::fmt_number(1950.0), "1950");
        assert_eq!(super::fmt_number(0.0225), "0.0225");
        assert_eq!(super::fmt_number(-0.00001), "0");
        assert_eq!(super::fmt_number(1.23456), "1.2346");
    }
}
