//! The analysis stages after ingest, each one DataFusion SQL over the accepted tables:
//! features at the index date, scores, tiers, Bridges to Health segments, cohorts and worklists.
//!
//! The stages build named intermediate tables, each one row per person, so that any of them can be
//! read on its own:
//!
//! - `population`: people alive on the index date with their place (practice, PCN, LSOA, locality,
//!   IMD decile) and age.
//! - `person_features`: condition flags (`ltc_*`), social needs (`social_*`), service use in the
//!   utilisation window, repeat medicines, falls, unstable conditions, estimated cost, and the four
//!   scores with their components (`charlson_*`, `hfrs`, `cms`, `efi`, `efi_*`).
//! - `person`: the features plus need domains, tier, segment and the rule that placed the person.
//! - `worklist`: one row per person per cohort, with the criteria met.
//!
//! Rule text from the configuration is pasted into SQL as an expression; the configuration is
//! trusted input written by the deployer (like a dataset definition), not text from the public.

use std::fmt::Write as _;

use chrono::{Months, NaiveDate};
use datafusion::prelude::SessionContext;

use crate::config::RunSettings;
use crate::reference::Reference;
use crate::PopulationError;

/// Every codelist name the configuration and the score tables refer to, for the missing-list check.
#[must_use]
pub fn referenced_codelists(settings: &RunSettings, reference: &Reference) -> Vec<String> {
    let mut names: Vec<String> = settings
        .config
        .long_term_conditions
        .values()
        .chain(settings.config.social_needs.values())
        .flatten()
        .cloned()
        .collect();
    // `@polypharmacy` names a derived deficit, not a codelist.
    names.extend(
        reference
            .codelist_names()
            .filter(|c| !c.starts_with('@'))
            .map(str::to_owned),
    );
    names.sort();
    names.dedup();
    names
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A unit cost as a SQL floating-point literal, so that cost arithmetic is never integer arithmetic.
fn money(x: f64) -> String {
    format!("{x:.4}")
}

fn date(d: NaiveDate) -> String {
    format!("DATE '{d}'")
}

fn months_before(d: NaiveDate, m: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(m))
        .unwrap_or(NaiveDate::MIN)
}

async fn run(ctx: &SessionContext, sql: &str) -> Result<(), PopulationError> {
    ctx.sql(sql).await?.collect().await?;
    Ok(())
}

/// Runs `sql` and registers its result, computed once and held in memory, as `name`.
async fn materialise(ctx: &SessionContext, name: &str, sql: &str) -> Result<(), PopulationError> {
    crate::hold::hold(ctx, name, ctx.sql(sql).await?).await
}

/// Builds `population` and `person_features` from the accepted extract tables.
///
/// # Errors
/// A rule that does not compile as SQL over the person columns, or a query failure.
pub async fn build_features(
    ctx: &SessionContext,
    settings: &RunSettings,
    reference: &Reference,
) -> Result<(), PopulationError> {
    let c = &settings.config;
    let idx = date(c.index_date);
    let util_start = date(months_before(c.index_date, c.windows.utilisation_months));
    let charlson_start = date(months_before(c.index_date, c.windows.charlson_months));
    let hfrs_start = date(months_before(c.index_date, c.windows.hfrs_months));
    let ymd = |col: &str| {
        format!("(CAST(date_part('year', {col}) AS BIGINT) * 10000 + CAST(date_part('month', {col}) AS BIGINT) * 100 + CAST(date_part('day', {col}) AS BIGINT))")
    };

    materialise(
        ctx,
        "population",
        &format!(
            "SELECT p.nhs_number, p.date_of_birth, p.sex, p.ethnicity, p.lsoa, p.practice, pr.practice_name, pr.pcn, pr.pcn_name, \
               l.locality, l.imd_decile, CAST((l.imd_decile + 1) / 2 AS BIGINT) AS imd_quintile, \
               (({}) - ({})) / 10000 AS age \
             FROM patients p JOIN practices pr ON pr.practice = p.practice JOIN lsoas l ON l.lsoa = p.lsoa \
             WHERE p.date_of_birth <= {idx} AND (p.date_of_death IS NULL OR p.date_of_death > {idx})",
            ymd(&idx),
            ymd("p.date_of_birth")
        ),
    )
    .await?;

    // Coded events joined to every codelist they are in, summarised per person and codelist.
    //
    // The distinct dates are found first and then counted, rather than with `count(DISTINCT …)`:
    // DataFusion has no grouped form of a distinct count, so it keeps one hash set per group, and
    // with one group per person and codelist those sets cost far more memory and time than the
    // rows. Each statement in this module that counts distinct values does the same.
    materialise(
        ctx,
        "person_codelists",
        &format!(
            "SELECT nhs_number, codelist, min(date) AS first_date, max(date) AS last_date, \
               count(CASE WHEN date > {util_start} THEN 1 END) AS dates_in_window \
             FROM (SELECT DISTINCT e.nhs_number, c.codelist, e.date \
                   FROM clinical_events e JOIN codelists c ON c.system = 'snomed' AND c.code = e.code \
                   WHERE e.date <= {idx}) d \
             GROUP BY nhs_number, codelist"
        ),
    )
    .await?;

    let in_lists = |lists: &[String]| {
        format!(
            "codelist IN ({})",
            lists
                .iter()
                .map(|l| quote(l))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut flags = Vec::new();
    for (name, lists) in &c.long_term_conditions {
        flags.push(format!("bool_or({}) AS ltc_{name}", in_lists(lists)));
    }
    for (name, lists) in &c.social_needs {
        flags.push(format!(
            "bool_or({} AND last_date > {util_start}) AS social_{name}",
            in_lists(lists)
        ));
    }
    flags.push("sum(CASE WHEN codelist = 'snomed/efi/falls' THEN dates_in_window ELSE 0 END) AS falls_coded".to_owned());
    let ltc_names: Vec<&String> = c.long_term_conditions.keys().collect();
    let social_names: Vec<&String> = c.social_needs.keys().collect();

    let deficits: Vec<&str> = reference.efi.iter().map(|d| d.deficit.as_str()).collect();
    let efi_flags: String = deficits
        .iter()
        .map(|d| format!(", bool_or(deficit = {}) AS efi_{d}", quote(d)))
        .collect();
    let charlson = &reference.charlson_weights;
    let charlson_flags: String = charlson
        .iter()
        .map(|w| {
            format!(
                ", bool_or(category = {}) AS charlson_{}",
                quote(&w.category),
                w.category
            )
        })
        .collect();
    // The hierarchy comes from `replaced_by` in charlson_weights.csv: the severe form of a pair
    // replaces the mild form.
    let score = |weight: fn(&crate::reference::CharlsonWeight) -> i64| {
        let mut terms = Vec::new();
        for w in charlson {
            let k = &w.category;
            let unless = w
                .replaced_by
                .as_ref()
                .map(|severe| format!(" AND NOT COALESCE(charlson_{severe}, false)"))
                .unwrap_or_default();
            terms.push(format!(
                "CASE WHEN COALESCE(charlson_{k}, false){unless} THEN {} ELSE 0 END",
                weight(w)
            ));
        }
        terms.join(" + ")
    };
    let charlson_1987 = score(|w| w.charlson_1987);
    let quan_2011 = score(|w| w.quan_2011);
    // Age-adjusted Charlson (Charlson et al. 1994): one point per decade from 50, at most four.
    let age_points = "LEAST(GREATEST((p.age - 40) / 10, 0), 4)";
    let variant = c.charlson.default;
    let base = if variant.weights_1987() {
        &charlson_1987
    } else {
        &quan_2011
    };
    let charlson_default = if variant.age_adjusted() {
        format!("{base} + {age_points}")
    } else {
        base.clone()
    };
    let charlson_variant = quote(variant.describe());
    let u = &c.unit_costs;
    // A condition with a window counts only when first recorded within it (Payne et al.: cancer is
    // a new diagnosis in the last five years). One clause per distinct window in the table.
    let mut windows: Vec<u32> = reference
        .cms
        .iter()
        .filter_map(|r| r.window_years)
        .collect();
    windows.sort_unstable();
    windows.dedup();
    let mut cms_windows = String::new();
    for years in &windows {
        let _ = write!(
            cms_windows,
            " OR (k.window_years = {years} AND pc.first_date > {})",
            date(months_before(c.index_date, years * 12))
        );
    }
    let coalesce_flags: String = ltc_names
        .iter()
        .map(|n| format!(", COALESCE(f.ltc_{n}, false) AS ltc_{n}"))
        .chain(
            social_names
                .iter()
                .map(|n| format!(", COALESCE(f.social_{n}, false) AS social_{n}")),
        )
        .chain(
            deficits
                .iter()
                .map(|d| format!(", COALESCE(efi.efi_{d}, false) AS efi_{d}")),
        )
        .chain(charlson.iter().map(|w| {
            format!(
                ", COALESCE(ch.charlson_{k}, false) AS charlson_{k}",
                k = w.category
            )
        }))
        .collect();
    let ltc_count = if ltc_names.is_empty() {
        "0".to_owned()
    } else {
        ltc_names
            .iter()
            .map(|n| format!("CASE WHEN COALESCE(f.ltc_{n}, false) THEN 1 ELSE 0 END"))
            .collect::<Vec<_>>()
            .join(" + ")
    };

    // Each per-person summary is computed and held on its own, one at a time, and only then joined
    // to the population. As one query with fifteen CTEs every summary's aggregation ran at the same
    // time and their hash tables were all alive together, which made this stage's peak several times
    // the size of the rows it keeps; one at a time, only one aggregation's working memory is alive.
    let summaries: Vec<(&str, String)> = vec![
        (
            "flags",
            format!(
                "SELECT nhs_number, {} FROM person_codelists GROUP BY nhs_number",
                flags.join(", ")
            ),
        ),
        (
            "meds",
            format!(
                "SELECT m.nhs_number, max(m.repeat_medicines) AS repeat_medicines FROM medications m \
                 JOIN (SELECT nhs_number, max(date) AS d FROM medications WHERE date <= {idx} GROUP BY nhs_number) l \
                 ON l.nhs_number = m.nhs_number AND l.d = m.date GROUP BY m.nhs_number"
            ),
        ),
        (
            "efi",
            format!(
                "SELECT x.nhs_number, count(x.deficit) AS efi_deficits {efi_flags} FROM (SELECT DISTINCT nhs_number, deficit FROM ( \
                   SELECT pc.nhs_number, d.deficit FROM person_codelists pc JOIN efi_codelists d ON d.codelist = pc.codelist \
                   UNION ALL SELECT nhs_number, 'polypharmacy' FROM feature_meds WHERE repeat_medicines >= 5) u) x GROUP BY x.nhs_number"
            ),
        ),
        (
            "cms",
            format!(
                "SELECT nhs_number, round(sum(weight), 2) AS cms, string_agg(condition, ' ' ORDER BY condition) AS cms_conditions FROM ( \
                   SELECT DISTINCT pc.nhs_number, k.condition, k.weight FROM person_codelists pc JOIN cms_codelists k ON k.codelist = pc.codelist \
                   WHERE k.window_years IS NULL{cms_windows}) y GROUP BY nhs_number"
            ),
        ),
        (
            "gp",
            format!(
                "SELECT nhs_number, count(*) FILTER (WHERE attended) AS gp_appointments, count(*) FILTER (WHERE NOT attended) AS gp_dnas \
                 FROM gp_appointments WHERE date > {util_start} AND date <= {idx} GROUP BY nhs_number"
            ),
        ),
        (
            "ae",
            format!(
                "SELECT nhs_number, count(*) AS ae_attendances FROM ae_attendances WHERE date > {util_start} AND date <= {idx} GROUP BY nhs_number"
            ),
        ),
        (
            "op",
            format!(
                "SELECT nhs_number, count(*) FILTER (WHERE attended) AS outpatient_attendances FROM outpatients \
                 WHERE date > {util_start} AND date <= {idx} GROUP BY nhs_number"
            ),
        ),
        (
            "cc",
            format!(
                "SELECT nhs_number, count(*) AS community_contacts FROM community_contacts WHERE date > {util_start} AND date <= {idx} GROUP BY nhs_number"
            ),
        ),
        (
            "mh",
            format!(
                "SELECT nhs_number, count(*) AS mental_health_contacts FROM mental_health_contacts WHERE date > {util_start} AND date <= {idx} GROUP BY nhs_number"
            ),
        ),
        (
            "adm",
            format!(
                "SELECT nhs_number, count(*) FILTER (WHERE emergency) AS emergency_admissions, count(*) FILTER (WHERE NOT emergency) AS elective_admissions, \
                   sum(CAST(CAST(LEAST(discharged, {idx}) AS INT) - CAST(admitted AS INT) AS BIGINT)) AS bed_days \
                 FROM admissions WHERE admitted > {util_start} AND admitted <= {idx} GROUP BY nhs_number"
            ),
        ),
        (
            "emerg_dx",
            format!(
                "SELECT d.nhs_number, d.admission_id, d.code FROM diagnoses d JOIN admissions a ON a.admission_id = d.admission_id AND a.nhs_number = d.nhs_number \
                 WHERE a.emergency AND a.admitted > {util_start} AND a.admitted <= {idx}"
            ),
        ),
        (
            "unstable",
            // A table row names a category (`F32`) or a four-character code (`F05.1`: delirium on
            // dementia, not every delirium).
            "SELECT nhs_number, count(condition) AS unstable_ltc_count FROM (SELECT DISTINCT e.nhs_number, l.condition \
             FROM feature_emerg_dx e JOIN ltc_icd10 l ON l.code = substr(e.code, 1, 3) \
             UNION SELECT DISTINCT e.nhs_number, l.condition \
             FROM feature_emerg_dx e JOIN ltc_icd10 l ON l.code = substr(e.code, 1, 5)) u GROUP BY nhs_number"
                .to_owned(),
        ),
        (
            "hosp_falls",
            "SELECT nhs_number, count(DISTINCT admission_id) AS falls_admitted FROM feature_emerg_dx \
             WHERE substr(code, 1, 3) BETWEEN 'W00' AND 'W19' GROUP BY nhs_number"
                .to_owned(),
        ),
        (
            "ch",
            format!(
                "SELECT nhs_number {charlson_flags}, string_agg(category, ' ' ORDER BY category) AS charlson_categories FROM ( \
                  SELECT DISTINCT d.nhs_number, m.category FROM diagnoses d JOIN charlson_map m ON m.code = substr(d.code, 1, 3) WHERE d.date > {charlson_start} AND d.date <= {idx} \
                  UNION SELECT DISTINCT d.nhs_number, m.category FROM diagnoses d JOIN charlson_map m ON m.code = substr(d.code, 1, 5) WHERE d.date > {charlson_start} AND d.date <= {idx}) z \
                GROUP BY nhs_number"
            ),
        ),
        (
            "hfrs",
            format!(
                "SELECT nhs_number, round(sum(weight), 1) AS hfrs, string_agg(code, ' ' ORDER BY code) AS hfrs_codes FROM ( \
                   SELECT DISTINCT d.nhs_number, h.code, h.weight FROM diagnoses d JOIN hfrs_weights h ON h.code = substr(d.code, 1, 3) \
                   WHERE d.date > {hfrs_start} AND d.date <= {idx}) w GROUP BY nhs_number"
            ),
        ),
    ];
    for (name, sql) in &summaries {
        materialise(ctx, &format!("feature_{name}"), sql).await?;
    }

    let sql = format!(
        "SELECT p.* {coalesce_flags}, \
           CAST({ltc_count} AS BIGINT) AS ltc_count, \
           COALESCE(meds.repeat_medicines, 0) AS repeat_medicines, \
           COALESCE(gp.gp_appointments, 0) AS gp_appointments, COALESCE(gp.gp_dnas, 0) AS gp_dnas, \
           COALESCE(ae.ae_attendances, 0) AS ae_attendances, COALESCE(op.outpatient_attendances, 0) AS outpatient_attendances, \
           COALESCE(cc.community_contacts, 0) AS community_contacts, COALESCE(mh.mental_health_contacts, 0) AS mental_health_contacts, \
           COALESCE(adm.emergency_admissions, 0) AS emergency_admissions, COALESCE(adm.elective_admissions, 0) AS elective_admissions, \
           COALESCE(adm.bed_days, 0) AS bed_days, \
           COALESCE(f.falls_coded, 0) + COALESCE(hosp_falls.falls_admitted, 0) AS falls, \
           COALESCE(unstable.unstable_ltc_count, 0) AS unstable_ltc_count, \
           round({gp} * COALESCE(gp.gp_appointments, 0) + {op} * COALESCE(op.outpatient_attendances, 0) + {ae} * COALESCE(ae.ae_attendances, 0) \
             + {em} * COALESCE(adm.emergency_admissions, 0) + {el} * COALESCE(adm.elective_admissions, 0) + {bd} * COALESCE(adm.bed_days, 0) \
             + {cm} * COALESCE(cc.community_contacts, 0) + {mhc} * COALESCE(mh.mental_health_contacts, 0), 2) AS cost, \
           CAST({charlson_1987} AS BIGINT) AS charlson_1987, CAST({quan_2011} AS BIGINT) AS charlson_quan_2011, \
           CAST({age_points} AS BIGINT) AS charlson_age_points, \
           CAST({charlson_1987} + {age_points} AS BIGINT) AS charlson_1987_age_adjusted, \
           CAST({quan_2011} + {age_points} AS BIGINT) AS charlson_quan_2011_age_adjusted, \
           CAST({charlson_default} AS BIGINT) AS charlson, {charlson_variant} AS charlson_variant, \
           COALESCE(ch.charlson_categories, '') AS charlson_categories, \
           COALESCE(hfrs.hfrs, 0.0) AS hfrs, COALESCE(hfrs.hfrs_codes, '') AS hfrs_codes, \
           CASE WHEN p.age < 75 THEN NULL WHEN COALESCE(hfrs.hfrs, 0.0) < 5 THEN 'low' WHEN hfrs.hfrs <= 15 THEN 'intermediate' ELSE 'high' END AS hfrs_band, \
           COALESCE(cms.cms, 0.0) AS cms, COALESCE(cms.cms_conditions, '') AS cms_conditions, \
           COALESCE(efi.efi_deficits, 0) AS efi_deficits, round(CAST(COALESCE(efi.efi_deficits, 0) AS DOUBLE) / 36.0, 4) AS efi \
         FROM population p \
           LEFT JOIN feature_flags f ON f.nhs_number = p.nhs_number LEFT JOIN feature_meds meds ON meds.nhs_number = p.nhs_number \
           LEFT JOIN feature_efi efi ON efi.nhs_number = p.nhs_number LEFT JOIN feature_cms cms ON cms.nhs_number = p.nhs_number \
           LEFT JOIN feature_gp gp ON gp.nhs_number = p.nhs_number LEFT JOIN feature_ae ae ON ae.nhs_number = p.nhs_number \
           LEFT JOIN feature_op op ON op.nhs_number = p.nhs_number LEFT JOIN feature_cc cc ON cc.nhs_number = p.nhs_number \
           LEFT JOIN feature_mh mh ON mh.nhs_number = p.nhs_number LEFT JOIN feature_adm adm ON adm.nhs_number = p.nhs_number \
           LEFT JOIN feature_unstable unstable ON unstable.nhs_number = p.nhs_number LEFT JOIN feature_hosp_falls hosp_falls ON hosp_falls.nhs_number = p.nhs_number \
           LEFT JOIN feature_ch ch ON ch.nhs_number = p.nhs_number LEFT JOIN feature_hfrs hfrs ON hfrs.nhs_number = p.nhs_number",
        gp = money(u.gp_appointment),
        op = money(u.outpatient),
        ae = money(u.ae_attendance),
        em = money(u.emergency_admission),
        el = money(u.elective_admission),
        bd = money(u.bed_day),
        cm = money(u.community_contact),
        mhc = money(u.mental_health_contact),
    );
    materialise(ctx, "person_features", &sql).await?;
    // The summaries are all in `person_features` now; holding them on would only keep memory.
    for (name, _) in &summaries {
        ctx.deregister_table(format!("feature_{name}").as_str())?;
    }
    Ok(())
}

/// Builds `person` from `person_features`: need domains, eFI category, tier, segment.
///
/// # Errors
/// A rule that does not compile as SQL over the person columns, or a query failure.
pub async fn build_person(
    ctx: &SessionContext,
    settings: &RunSettings,
) -> Result<(), PopulationError> {
    let c = &settings.config;
    let mut domains = String::new();
    let mut domain_count = Vec::new();
    for (name, when) in &c.need_domains {
        let _ = write!(domains, ", COALESCE(({when}), false) AS need_{name}");
        domain_count.push(format!(
            "CASE WHEN COALESCE(({when}), false) THEN 1 ELSE 0 END"
        ));
    }
    let domain_count = if domain_count.is_empty() {
        "0".to_owned()
    } else {
        domain_count.join(" + ")
    };
    let mut tier = String::from("CASE");
    for band in &c.tiers.bands {
        let _ = write!(
            tier,
            " WHEN tier_share <= {} THEN {}",
            band.up_to,
            quote(&band.name)
        );
    }
    let _ = write!(
        tier,
        " ELSE {} END",
        quote(
            &c.tiers
                .bands
                .last()
                .map(|b| b.name.clone())
                .unwrap_or_default()
        )
    );
    let mut segment = String::from("CASE");
    let mut rule = String::from("CASE");
    for r in &settings.segments {
        let _ = write!(
            segment,
            " WHEN COALESCE(({}), false) THEN {}",
            r.when,
            quote(&r.segment)
        );
        let _ = write!(
            rule,
            " WHEN COALESCE(({}), false) THEN {}",
            r.when,
            quote(&r.name)
        );
    }
    segment.push_str(" END");
    rule.push_str(" END");
    let measure = &c.tiers.measure;
    let sql = format!(
        "WITH a AS (SELECT f.*, \
            CASE WHEN age < 65 THEN NULL WHEN efi_deficits * 100 <= 432 THEN 'fit' WHEN efi_deficits * 100 <= 864 THEN 'mild' \
                 WHEN efi_deficits * 100 <= 1296 THEN 'moderate' ELSE 'severe' END AS efi_category, \
            imd_quintile = 1 AS core20, \
            CASE WHEN ethnicity IN ('A','B','C') OR ethnicity LIKE 'White%' THEN 'White' \
                 WHEN ethnicity IN ('D','E','F','G') OR ethnicity LIKE 'Mixed%' THEN 'Mixed' \
                 WHEN ethnicity IN ('H','J','K','L') OR ethnicity LIKE 'Asian%' THEN 'Asian or Asian British' \
                 WHEN ethnicity IN ('M','N','P') OR ethnicity LIKE 'Black%' THEN 'Black or Black British' \
                 WHEN ethnicity IN ('R','S') OR ethnicity LIKE 'Other%' THEN 'Other ethnic group' \
                 ELSE 'Not stated' END AS ethnic_group, \
            avg(CASE WHEN imd_decile = 1 THEN 1.0 ELSE 0.0 END) OVER (PARTITION BY practice) AS practice_most_deprived_share, \
            cume_dist() OVER (ORDER BY cost DESC) AS cost_share, \
            cume_dist() OVER (ORDER BY {measure} DESC) AS tier_share \
          FROM person_features f), \
         b AS (SELECT a.*, ethnic_group NOT IN ('White', 'Not stated') AS ethnic_minority {domains}, CAST({domain_count} AS BIGINT) AS need_domains FROM a) \
         SELECT b.*, {tier} AS tier, {segment} AS segment, {rule} AS segment_rule FROM b"
    );
    materialise(ctx, "person", &sql).await
}

/// Builds `worklist(cohort, nhs_number, criteria_met, criteria_count)` and one table
/// `cohort_<name>` per cohort with the cohort's columns.
///
/// # Errors
/// A cohort rule or column that does not compile over the person columns.
pub async fn build_cohorts(
    ctx: &SessionContext,
    settings: &RunSettings,
) -> Result<(), PopulationError> {
    let mut parts = Vec::new();
    for cohort in &settings.cohorts {
        let met: Vec<String> = cohort
            .criteria
            .iter()
            .map(|k| {
                format!(
                    "CASE WHEN COALESCE(({}), false) THEN {} END",
                    k.when,
                    quote(&k.name)
                )
            })
            .collect();
        let count: Vec<String> = cohort
            .criteria
            .iter()
            .map(|k| format!("CASE WHEN COALESCE(({}), false) THEN 1 ELSE 0 END", k.when))
            .collect();
        let select = format!(
            "SELECT {name} AS cohort, nhs_number, concat_ws(', ', {met}) AS criteria_met, CAST({count} AS BIGINT) AS criteria_count \
             FROM person WHERE COALESCE(({pop}), false)",
            name = quote(&cohort.name),
            met = met.join(", "),
            count = count.join(" + "),
            pop = cohort.population
        );
        let filtered = format!(
            "SELECT * FROM ({select}) s WHERE criteria_count >= {}",
            cohort.minimum_criteria
        );
        materialise(
            ctx,
            &format!("cohort_{}", cohort.name),
            &format!(
                "SELECT w.cohort, w.nhs_number, w.criteria_met, w.criteria_count{} FROM ({filtered}) w JOIN person p ON p.nhs_number = w.nhs_number",
                cohort.columns.iter().map(|c| format!(", p.{c}")).collect::<String>()
            ),
        )
        .await?;
        parts.push(format!(
            "SELECT cohort, nhs_number, criteria_met, criteria_count FROM cohort_{}",
            cohort.name
        ));
    }
    if parts.is_empty() {
        run(ctx, "CREATE OR REPLACE VIEW worklist AS SELECT CAST(NULL AS VARCHAR) AS cohort, CAST(NULL AS VARCHAR) AS nhs_number, CAST(NULL AS VARCHAR) AS criteria_met, CAST(0 AS BIGINT) AS criteria_count WHERE false").await
    } else {
        materialise(ctx, "worklist", &parts.join(" UNION ALL ")).await
    }
}
