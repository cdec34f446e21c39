//! Checks every rule of a configuration against the person schema before any data is read.
//!
//! A rule's `when` (segments, need domains, cohort populations and criteria) is SQL pasted into the
//! engine's queries. Without this check a misspelt column (`ltc_diabetis`) failed the run only after
//! the whole extract had been read, with a query-engine message naming neither the file nor the
//! rule. Here the stages are planned over an empty extract to learn the person table's columns and
//! their types, then each rule is parsed and planned by DataFusion's SQL front end against that
//! schema, and a problem is refused naming the file, the rule and the column.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::SchemaError;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use crate::config::RunSettings;
use crate::reference::Reference;
use crate::{engine, ingest, udf, Codelists, PopulationError};

/// The person table's schema, learnt by running the stages over an empty extract. The rules are
/// replaced by `FALSE` for this, so that a bad rule cannot stop its own check.
async fn person_schema(
    settings: &RunSettings,
    reference: &Reference,
) -> Result<SchemaRef, PopulationError> {
    let ctx = SessionContext::new();
    udf::register_all(&ctx);
    reference.register(&ctx)?;
    let batch = Codelists::default().to_batch()?;
    ctx.register_table(
        "codelists",
        Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?),
    )?;
    ingest::register_empty_extract(&ctx).await?;
    let mut neutral = settings.clone();
    for when in neutral.config.need_domains.values_mut() {
        "FALSE".clone_into(when);
    }
    for r in &mut neutral.segments {
        "TRUE".clone_into(&mut r.when);
    }
    neutral.cohorts.clear();
    engine::build_features(&ctx, &neutral, reference).await?;
    engine::build_person(&ctx, &neutral).await?;
    Ok(ctx.table("person").await?.schema().inner().clone())
}

/// The column a planning error complains about, if it is a missing column.
fn missing_column(e: &DataFusionError) -> Option<String> {
    match e.find_root() {
        DataFusionError::SchemaError(err, _) => match err.as_ref() {
            SchemaError::FieldNotFound { field, .. } => Some(field.name().to_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// Checks every rule of `settings`.
///
/// # Errors
/// [`PopulationError::Config`] naming the file, the rule and the unknown column (or the parser's
/// complaint, or that the rule is not a true/false condition).
pub async fn check_rules(
    settings: &RunSettings,
    reference: &Reference,
) -> Result<(), PopulationError> {
    let schema = person_schema(settings, reference).await?;
    let ctx = SessionContext::new();
    udf::register_all(&ctx);
    ctx.register_table(
        "person",
        Arc::new(MemTable::try_new(schema.clone(), vec![vec![]])?),
    )?;
    let mut rules: Vec<(String, String, &str)> = Vec::new();
    for (name, when) in &settings.config.need_domains {
        rules.push((
            settings.config_source.clone(),
            format!("need domain {name}"),
            when,
        ));
    }
    for r in &settings.segments {
        rules.push((
            r.source.clone(),
            format!("segment rule {}", r.name),
            &r.when,
        ));
    }
    for c in &settings.cohorts {
        rules.push((
            c.source.clone(),
            format!("cohort {} population", c.name),
            &c.population,
        ));
        for k in &c.criteria {
            rules.push((
                c.source.clone(),
                format!("cohort {} criterion {}", c.name, k.name),
                &k.when,
            ));
        }
        for column in &c.columns {
            if schema.field_with_name(column).is_err() {
                return Err(PopulationError::Config {
                    what: c.source.clone(),
                    why: format!(
                        "cohort {}: columns names {column:?}, which is not a person column",
                        c.name
                    ),
                });
            }
        }
    }
    for (source, rule, when) in rules {
        let refuse = |why: String| PopulationError::Config {
            what: source.clone(),
            why: format!("{rule}: {why} (in `{when}`)"),
        };
        let planned = ctx
            .sql(&format!("SELECT ({when}) AS holds FROM person"))
            .await;
        let df = match planned {
            Ok(df) => df,
            Err(e) => {
                return Err(refuse(match missing_column(&e) {
                    Some(column) => format!("there is no person column {column:?}"),
                    None => format!("not a valid condition: {}", e.find_root()),
                }))
            }
        };
        let holds = df.schema().field(0).data_type().clone();
        if !matches!(holds, DataType::Boolean | DataType::Null) {
            return Err(refuse(format!(
                "is not a true/false condition (it gives {holds})"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_shipped_rules_pass_and_a_misspelt_column_is_refused_with_file_rule_and_column() {
        let reference = Reference::shipped().expect("reference");
        let mut settings = RunSettings::defaults().expect("defaults");
        check_rules(&settings, &reference)
            .await
            .expect("the shipped rules are valid");

        settings.segments[1].when = "ltc_dementia OR ltc_diabetis".into();
        let err = check_rules(&settings, &reference)
            .await
            .expect_err("misspelt column")
            .to_string();
        assert!(
            err.contains("rules/segments.toml")
                && err.contains("segment rule dementia_or_severe_frailty")
                && err.contains("\"ltc_diabetis\""),
            "{err}"
        );

        let mut settings = RunSettings::defaults().expect("defaults");
        settings.cohorts[0].criteria[0].when = "age + 1".into();
        let err = check_rules(&settings, &reference)
            .await
            .expect_err("not a condition")
            .to_string();
        assert!(err.contains("true/false"), "{err}");

        let mut settings = RunSettings::defaults().expect("defaults");
        settings
            .config
            .need_domains
            .insert("x".into(), "age >".into());
        let err = check_rules(&settings, &reference)
            .await
            .expect_err("syntax")
            .to_string();
        assert!(err.contains("need domain x"), "{err}");
    }
}
