//! Place profiles: aggregates of the `person` table for every practice, PCN, LSOA and locality.
//!
//! The result `place_profiles(level, place, place_name, dimension, category, measure, value)` is in
//! long form so that new breakdowns need no schema change. Counts go through `safe_count`
//! (≤ 7 hidden, others rounded to 5) when disclosure control is on; costs are hidden where the
//! cell holds 7 or fewer people and otherwise rounded to £100. Cells are computed from raw
//! counts, never from other rounded cells.

use crate::config::RunSettings;
use crate::PopulationError;
use datafusion::prelude::SessionContext;

/// (level, place code column, place name expression).
const LEVELS: &[(&str, &str, &str)] = &[
    ("practice", "practice", "practice_name"),
    ("pcn", "pcn", "pcn_name"),
    ("lsoa", "lsoa", "lsoa"),
    ("locality", "locality", "locality"),
];

/// Builds `place_profiles` from `person`.
///
/// # Errors
/// A query failure.
pub async fn build_place_profiles(
    ctx: &SessionContext,
    settings: &RunSettings,
) -> Result<(), PopulationError> {
    let safe = settings.config.disclosure_control;
    let count = |e: &str| {
        if safe {
            format!("safe_count(CAST({e} AS BIGINT))")
        } else {
            format!("CAST({e} AS BIGINT)")
        }
    };
    let cost = |people: &str, e: &str| {
        if safe {
            format!("CASE WHEN {people} > 7 THEN CAST(round({e} / 100.0) * 100 AS BIGINT) END")
        } else {
            format!("CAST(round({e}) AS BIGINT)")
        }
    };
    let age_band = "CASE WHEN age >= 90 THEN '90+' ELSE lpad(CAST(age / 5 * 5 AS VARCHAR), 2, '0') || '-' || lpad(CAST(age / 5 * 5 + 4 AS VARCHAR), 2, '0') END";
    let mut dims: Vec<(String, String)> = vec![
        ("all".into(), "'all'".into()),
        ("age_band_sex".into(), format!("{age_band} || ' ' || sex")),
        ("segment".into(), "segment".into()),
        ("tier".into(), "tier".into()),
        (
            "imd_quintile".into(),
            "CAST(imd_quintile AS VARCHAR)".into(),
        ),
        ("ethnic_group".into(), "ethnic_group".into()),
        (
            "core20".into(),
            "CASE WHEN core20 THEN 'Core20' ELSE 'Not Core20' END".into(),
        ),
        (
            "efi_category".into(),
            "COALESCE(efi_category, 'under 65')".into(),
        ),
        // HFRS bands are validated from 75; younger people are counted apart, not banded.
        ("hfrs_band".into(), "COALESCE(hfrs_band, 'under 75')".into()),
        (
            "charlson".into(),
            "CASE WHEN charlson = 0 THEN 'none recorded' WHEN charlson <= 2 THEN '1 to 2' WHEN charlson <= 4 THEN '3 to 4' ELSE '5 or more' END".into(),
        ),
        (
            "segment_by_imd_quintile".into(),
            "segment || ' | IMD quintile ' || CAST(imd_quintile AS VARCHAR)".into(),
        ),
        (
            "segment_by_ethnic_group".into(),
            "segment || ' | ' || ethnic_group".into(),
        ),
    ];
    for cohort in &settings.cohorts {
        dims.push((
            format!("cohort_{}", cohort.name),
            format!(
                "CASE WHEN on_{} THEN 'on worklist' ELSE 'not on worklist' END",
                cohort.name
            ),
        ));
    }
    let mut base = String::from("SELECT p.*");
    let mut joins = String::new();
    for c in &settings.cohorts {
        base.push_str(&format!(", c_{0}.nhs_number IS NOT NULL AS on_{0}", c.name));
        joins.push_str(&format!(" LEFT JOIN (SELECT DISTINCT nhs_number FROM cohort_{0}) c_{0} ON c_{0}.nhs_number = p.nhs_number", c.name));
    }
    let base = ctx.sql(&format!("{base} FROM person p{joins}")).await?;
    crate::hold::hold(ctx, "profile_base", base).await?;
    let mut parts = Vec::new();
    for (level, code, name) in LEVELS {
        for (dim, category) in &dims {
            parts.push(format!(
                "SELECT '{level}' AS level, {code} AS place, max({name}) AS place_name, '{dim}' AS dimension, {category} AS category, \
                   {people} AS people, {em} AS emergency_admissions, {ae} AS ae_attendances, {gp} AS gp_appointments, \
                   {bd} AS bed_days, {cost} AS cost \
                 FROM profile_base WHERE {code} IS NOT NULL GROUP BY {code}, {category}",
                people = count("count(*)"),
                em = count("sum(emergency_admissions)"),
                ae = count("sum(ae_attendances)"),
                gp = count("sum(gp_appointments)"),
                bd = count("sum(bed_days)"),
                cost = cost("count(*)", "sum(cost)"),
            ));
        }
        for ltc in settings.config.long_term_conditions.keys() {
            parts.push(format!(
                "SELECT '{level}' AS level, {code} AS place, max({name}) AS place_name, 'prevalence' AS dimension, '{ltc}' AS category, \
                   {people} AS people, CAST(NULL AS BIGINT) AS emergency_admissions, CAST(NULL AS BIGINT) AS ae_attendances, \
                   CAST(NULL AS BIGINT) AS gp_appointments, CAST(NULL AS BIGINT) AS bed_days, CAST(NULL AS BIGINT) AS cost \
                 FROM profile_base WHERE {code} IS NOT NULL GROUP BY {code}",
                people = count(&format!("sum(CASE WHEN ltc_{ltc} THEN 1 ELSE 0 END)")),
            ));
        }
    }
    let df = ctx.sql(&parts.join(" UNION ALL ")).await?;
    crate::hold::hold(ctx, "place_profiles", df).await
}
