//! A self-contained HTML report per place (practice and PCN), with SVG charts, that a commissioner
//! can open offline: no scripts, no fonts, no links out. It is drawn from `place_profiles`, so it
//! carries the same disclosure control: a hidden count is written "7 or fewer" and drawn as an
//! empty bar with a hatched outline, never as zero.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::prelude::SessionContext;

use careweave_charts::{bar_chart, escape as esc, pyramid, shown};

use crate::PopulationError;

/// One bar: a category and its published count (`None` when suppressed).
type Bars = Vec<(String, Option<i64>)>;

/// The report's data for one place: dimension → bars.
#[derive(Debug, Default)]
struct Place {
    name: String,
    dims: BTreeMap<String, Bars>,
}

/// Writes `report_<level>_<place>.html` for every practice and PCN into `out`; returns the paths.
///
/// # Errors
/// A query failure, or a file that cannot be written.
pub async fn write_reports(
    ctx: &SessionContext,
    out: &Path,
    index_date: &str,
    charlson_variant: &str,
) -> Result<Vec<PathBuf>, PopulationError> {
    let batches = ctx
        .sql("SELECT level, place, place_name, dimension, category, people FROM place_profiles WHERE level IN ('practice', 'pcn') ORDER BY level, place, dimension, category")
        .await?
        .collect()
        .await?;
    let mut places: BTreeMap<(String, String), Place> = BTreeMap::new();
    for b in &batches {
        let cols = crate::run::utf8_columns(b, 5)?;
        let level = cols[0].as_string::<i32>();
        let place = cols[1].as_string::<i32>();
        let name = cols[2].as_string::<i32>();
        let dim = cols[3].as_string::<i32>();
        let cat = cols[4].as_string::<i32>();
        let people = b.column(5).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            let entry = places
                .entry((level.value(i).to_owned(), place.value(i).to_owned()))
                .or_default();
            if !name.is_null(i) {
                entry.name = name.value(i).to_owned();
            }
            let v = (!people.is_null(i)).then(|| people.value(i));
            entry
                .dims
                .entry(dim.value(i).to_owned())
                .or_default()
                .push((cat.value(i).to_owned(), v));
        }
    }
    let mut written = Vec::new();
    for ((level, code), place) in &places {
        let safe: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
        let path = out.join(format!("report_{level}_{safe}.html"));
        std::fs::write(
            &path,
            render(level, code, place, index_date, charlson_variant),
        )
        .map_err(|source| PopulationError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

fn render(
    level: &str,
    code: &str,
    place: &Place,
    index_date: &str,
    charlson_variant: &str,
) -> String {
    let mut h = String::new();
    let title = format!(
        "{} ({code})",
        if place.name.is_empty() {
            code
        } else {
            &place.name
        }
    );
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Population profile: {t}</title>\
         <style>body{{font-family:Arial,sans-serif;max-width:960px;margin:2em auto;color:#212b32}}h1{{font-size:1.8em}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border-bottom:1px solid #d8dde0;padding:4px 8px;text-align:left}}\
         .n{{text-align:right}}svg text{{font-size:12px;fill:#212b32}}</style></head><body>\
         <h1>Population profile: {t}</h1><p>{lvl} profile at {d}. Counts of 7 or fewer are hidden and other counts \
         are rounded to the nearest 5, so parts may not add up to totals.</p>",
        t = esc(&title),
        lvl = esc(&level.to_uppercase()),
        d = esc(index_date),
    );
    // One Charlson score is the default; the report names it so that nobody compares it with a
    // figure computed with other weights or with age points.
    let charlson_heading =
        format!("Charlson Comorbidity Index (default score: {charlson_variant})");
    let sections = [
        ("all", "Registered population"),
        ("age_band_sex", "Age and sex"),
        ("segment", "Bridges to Health segments"),
        ("tier", "Risk tiers"),
        (
            "imd_quintile",
            "Deprivation (IMD quintile, 1 = most deprived)",
        ),
        ("ethnic_group", "Ethnic group"),
        ("core20", "Core20"),
        (
            "efi_category",
            "Electronic Frailty Index (aged 65 and over)",
        ),
        (
            "hfrs_band",
            "Hospital Frailty Risk Score band (aged 75 and over, the ages it was validated for)",
        ),
        ("charlson", charlson_heading.as_str()),
        ("prevalence", "Long-term conditions (people with each)"),
        ("segment_by_imd_quintile", "Segments by deprivation"),
    ];
    for (dim, heading) in sections {
        if let Some(bars) = place.dims.get(dim) {
            let _ = write!(h, "<h2>{}</h2>", esc(heading));
            if dim == "age_band_sex" {
                h.push_str(&pyramid(heading, bars));
            } else if dim != "all" {
                h.push_str(&bar_chart(heading, bars));
            }
            h.push_str(
                "<table><thead><tr><th>Group</th><th class=\"n\">People</th></tr></thead><tbody>",
            );
            for (cat, v) in bars {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                    esc(cat),
                    shown(*v)
                );
            }
            h.push_str("</tbody></table>");
        }
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suppressed_count_is_written_as_seven_or_fewer_never_zero() {
        let mut place = Place {
            name: "Practice One".into(),
            ..Place::default()
        };
        place.dims.insert(
            "segment".into(),
            vec![
                ("Healthy".into(), Some(120)),
                ("Long-term frailty".into(), None),
            ],
        );
        place.dims.insert(
            "charlson".into(),
            vec![
                ("none recorded".into(), Some(100)),
                ("1 to 2".into(), Some(20)),
            ],
        );
        let html = render("practice", "P1", &place, "2025-03-31", "Quan 2011 weights");
        assert!(html.contains("7 or fewer"));
        assert!(html.contains("Charlson Comorbidity Index (default score: Quan 2011 weights)"));
        assert!(html.contains("<svg"));
        assert!(!html.contains("<script"));
        assert!(!html.contains(">0<"));
    }
}
