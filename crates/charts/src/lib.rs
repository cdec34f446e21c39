//! The one chart module every careweave page and report draws with: the population pages, the
//! offline population report, and the evaluation, workforce and casework reports.
//!
//! Charts are plain SVG strings with no scripts, fonts or links, so the same markup works inside an
//! NHS.UK page and in an HTML file opened offline. Each chart:
//!
//! - carries `role="img"`, an `aria-label` and a `<title>` naming it, and is always shown beside a
//!   table of the same figures (the caller's job), because a chart alone is not accessible data;
//! - draws a count hidden by disclosure control (`None`) as a dashed empty box labelled
//!   "7 or fewer", never as a zero-length bar, since zero would be a false statement;
//! - escapes every label, since labels come from data (practice names, place names, codes);
//! - sizes itself with a `viewBox` and `width="100%"`, so it scales down to a 390 px phone
//!   without scrolling sideways.
//!
//! Colours are from the NHS identity palette and meet WCAG 2.2 AA contrast against white for
//! text (`#212b32`) and graphical objects (`#005eb8`, `#007f3b`, `#4c6272`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Text and axis colour (NHS black).
const INK: &str = "#212b32";
/// The first series colour (NHS blue).
const BLUE: &str = "#005eb8";
/// The second series colour (NHS dark green).
const GREEN: &str = "#007f3b";
/// Outlines of hidden counts and grid lines (NHS dark grey).
const GREY: &str = "#4c6272";
/// What a hidden count reads as, everywhere.
pub const HIDDEN: &str = "7 or fewer";

/// Escapes text for use in SVG (or HTML) content and attribute values.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A published count as a reader sees it: the number, or "7 or fewer" when it was hidden.
#[must_use]
pub fn shown(count: Option<i64>) -> String {
    count.map_or_else(|| HIDDEN.to_owned(), |n| n.to_string())
}

/// Shortens a label to `max` characters with an ellipsis, so a long name cannot run into the bars.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!(
            "{}…",
            s.chars().take(max.saturating_sub(1)).collect::<String>()
        )
    }
}

/// Opens an SVG element of the given height with its accessible name.
fn open(label: &str, height: usize) -> String {
    let label = escape(label);
    format!(
        "<svg class=\"app-chart\" role=\"img\" aria-label=\"{label}\" width=\"100%\" \
         viewBox=\"0 0 760 {height}\" focusable=\"false\" font-family=\"Arial, sans-serif\">\
         <title>{label}</title>"
    )
}

fn text(s: &mut String, x: f64, y: usize, size: u8, anchor: &str, content: &str) {
    let _ = write!(
        s,
        "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\" fill=\"{INK}\" text-anchor=\"{anchor}\">{}</text>",
        escape(content)
    );
}

/// A horizontal bar chart of labelled counts; `None` is a count hidden by disclosure control.
///
/// Labels take the left 330 units (truncated to fit), bars the next 300, and each value is
/// written just past the end of its bar in the space kept free for it, so values never overlap
/// labels or bars.
#[must_use]
pub fn bar_chart(label: &str, bars: &[(String, Option<i64>)]) -> String {
    let max = bars.iter().filter_map(|b| b.1).max().unwrap_or(1).max(1);
    let row = 24;
    let mut s = open(label, row * bars.len() + 8);
    for (i, (category, value)) in bars.iter().enumerate() {
        let y = i * row + 4;
        text(&mut s, 0.0, y + 15, 14, "start", &truncate(category, 40));
        match value {
            Some(n) => {
                let w = (*n as f64 / max as f64 * 300.0).round();
                let _ = write!(
                    s,
                    "<rect x=\"340\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"{BLUE}\"></rect>"
                );
                text(&mut s, 346.0 + w, y + 15, 14, "start", &n.to_string());
            }
            None => {
                let _ = write!(
                    s,
                    "<rect x=\"340\" y=\"{y}\" width=\"18\" height=\"18\" fill=\"none\" stroke=\"{GREY}\" stroke-dasharray=\"3 2\"></rect>"
                );
                text(&mut s, 364.0, y + 15, 14, "start", HIDDEN);
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// Which side of a pyramid a sex label belongs on, accepting the spellings data sources use
/// (`F`/`M`, `female`/`male` in any case). Anything else (unknown, indeterminate) is not drawn,
/// and stays in the caller's table.
fn pyramid_side(sex: &str) -> Option<bool> {
    match sex.to_ascii_lowercase().as_str() {
        "f" | "female" => Some(false),
        "m" | "male" => Some(true),
        _ => None,
    }
}

/// An age/sex pyramid from `"<age band> <sex>"` categories: females on the left, males on the
/// right, youngest at the bottom. Age bands sort as the engine writes them (`00-04` … `90+`).
#[must_use]
pub fn pyramid(label: &str, cells: &[(String, Option<i64>)]) -> String {
    let mut bands: BTreeMap<String, [Option<Option<i64>>; 2]> = BTreeMap::new();
    for (category, value) in cells {
        let (band, sex) = category.rsplit_once(' ').unwrap_or((category.as_str(), ""));
        if let Some(right) = pyramid_side(sex) {
            bands.entry(band.to_owned()).or_default()[usize::from(right)] = Some(*value);
        }
    }
    let max = bands
        .values()
        .flatten()
        .filter_map(|v| v.flatten())
        .max()
        .unwrap_or(1)
        .max(1);
    let row = 18;
    let mut s = open(label, row * bands.len() + 28);
    text(&mut s, 190.0, 14, 14, "middle", "Female");
    text(&mut s, 570.0, 14, 14, "middle", "Male");
    for (i, (band, sides)) in bands.iter().rev().enumerate() {
        let y = i * row + 22;
        text(&mut s, 380.0, y + 12, 12, "middle", band);
        for (side, value) in sides.iter().enumerate() {
            let right = side == 1;
            match value {
                Some(Some(n)) => {
                    let w = (*n as f64 / max as f64 * 300.0).round();
                    let x = if right { 415.0 } else { 345.0 - w };
                    let fill = if right { BLUE } else { GREEN };
                    let _ = write!(
                        s,
                        "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"14\" fill=\"{fill}\"><title>{} {}: {n}</title></rect>",
                        escape(band),
                        if right { "male" } else { "female" }
                    );
                }
                Some(None) => {
                    let x = if right { 415.0 } else { 331.0 };
                    let _ = write!(
                        s,
                        "<rect x=\"{x}\" y=\"{y}\" width=\"14\" height=\"14\" fill=\"none\" stroke=\"{GREY}\" stroke-dasharray=\"3 2\"><title>{} {}: {HIDDEN}</title></rect>",
                        escape(band),
                        if right { "male" } else { "female" }
                    );
                }
                None => {}
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// One point of a line chart: its x label, the value and an optional interval around it (for
/// example a 95% confidence interval), drawn as a shaded band.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: String,
    pub y: f64,
    pub interval: Option<(f64, f64)>,
}

/// A named series of points for [`line_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<Point>,
}

/// A line chart of one or two series over the same x labels (months, quarters, months relative to
/// a start), with an optional vertical marker before the x label given in `marker` (for example
/// "start of support") and a zero line when the range crosses zero.
///
/// Non-finite values are left out rather than drawn at a made-up height.
#[must_use]
pub fn line_chart(label: &str, series: &[Series], marker: Option<&str>) -> String {
    let (left, right, top, bottom) = (60.0, 740.0, 30.0, 250.0);
    let height = 290;
    let xs: Vec<&str> = series
        .first()
        .map(|s| s.points.iter().map(|p| p.x.as_str()).collect())
        .unwrap_or_default();
    let values = series.iter().flat_map(|s| &s.points).flat_map(|p| {
        let (lo, hi) = p.interval.unwrap_or((p.y, p.y));
        [p.y, lo, hi]
    });
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if (hi - lo).abs() < f64::EPSILON {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let step = if xs.len() > 1 {
        (right - left) / (xs.len() - 1) as f64
    } else {
        0.0
    };
    let px = |i: usize| left + step * i as f64;
    let py = |v: f64| bottom - (v - lo) / (hi - lo) * (bottom - top);
    let mut s = open(label, height);
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"{GREY}\"></line>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" stroke=\"{GREY}\"></line>"
    );
    text(
        &mut s,
        left - 6.0,
        top as usize + 4,
        12,
        "end",
        &format_value(hi),
    );
    text(
        &mut s,
        left - 6.0,
        bottom as usize + 4,
        12,
        "end",
        &format_value(lo),
    );
    if lo < 0.0 && hi > 0.0 {
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{y}\" x2=\"{right}\" y2=\"{y}\" stroke=\"{GREY}\" stroke-dasharray=\"4 3\"></line>",
            y = py(0.0)
        );
        text(&mut s, left - 6.0, py(0.0) as usize + 4, 12, "end", "0");
    }
    // Label at most about twelve ticks so that month labels never overlap.
    let every = xs.len().div_ceil(12).max(1);
    for (i, x) in xs.iter().enumerate() {
        if i % every == 0 || i + 1 == xs.len() {
            text(
                &mut s,
                px(i),
                bottom as usize + 18,
                12,
                "middle",
                &truncate(x, 9),
            );
        }
    }
    if let Some(at) = marker.and_then(|m| xs.iter().position(|x| *x == m)) {
        let x = if at == 0 { px(0) } else { px(at) - step / 2.0 };
        let _ = write!(
            s,
            "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\" stroke=\"{INK}\" stroke-dasharray=\"2 2\"></line>"
        );
    }
    for (n, one) in series.iter().enumerate() {
        let colour = if n % 2 == 0 { BLUE } else { GREEN };
        let band: Vec<(usize, f64, f64)> = one
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.interval.map(|(a, b)| (i, a, b)))
            .filter(|(_, a, b)| a.is_finite() && b.is_finite())
            .collect();
        if band.len() > 1 {
            let upper = band
                .iter()
                .map(|(i, _, b)| format!("{:.1},{:.1}", px(*i), py(*b)));
            let lower = band
                .iter()
                .rev()
                .map(|(i, a, _)| format!("{:.1},{:.1}", px(*i), py(*a)));
            let points: Vec<String> = upper.chain(lower).collect();
            let _ = write!(
                s,
                "<polygon points=\"{}\" fill=\"{colour}\" fill-opacity=\"0.15\"></polygon>",
                points.join(" ")
            );
        }
        let line: Vec<String> = one
            .points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.y.is_finite())
            .map(|(i, p)| format!("{:.1},{:.1}", px(i), py(p.y)))
            .collect();
        let _ = write!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"></polyline>",
            line.join(" ")
        );
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"6\" width=\"12\" height=\"12\" fill=\"{colour}\"></rect>",
            left + 200.0 * n as f64
        );
        text(
            &mut s,
            left + 200.0 * n as f64 + 18.0,
            16,
            13,
            "start",
            &truncate(&one.name, 24),
        );
    }
    s.push_str("</svg>");
    s
}

/// A value on an axis: whole numbers as they are, others to two significant decimals.
fn format_value(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(items: &[(&str, Option<i64>)]) -> Vec<(String, Option<i64>)> {
        items.iter().map(|(c, v)| ((*c).to_owned(), *v)).collect()
    }

    #[test]
    fn a_hidden_count_is_drawn_as_seven_or_fewer_never_as_zero() {
        let svg = bar_chart(
            "Segments",
            &cells(&[("Healthy", Some(120)), ("Long-term frailty", None)]),
        );
        assert!(svg.contains(HIDDEN));
        assert!(svg.contains("stroke-dasharray"));
        assert!(!svg.contains(">0<"));
        assert!(svg.contains("role=\"img\"") && svg.contains("<title>Segments</title>"));
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bar_chart("A & B", &cells(&[("<script>", Some(10))]));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;") && svg.contains("A &amp; B"));
    }

    #[test]
    fn a_value_is_written_past_its_bar_not_over_its_label() {
        let svg = bar_chart("x", &cells(&[("Core20", Some(100))]));
        // The longest bar ends at 340 + 300; its value starts just past it.
        assert!(svg.contains("width=\"300\""));
        assert!(svg.contains("<text x=\"646\""));
    }

    #[test]
    fn the_pyramid_draws_bars_whichever_way_sex_is_spelt() {
        for (f, m) in [("F", "M"), ("female", "male"), ("Female", "Male")] {
            let svg = pyramid(
                "Age and sex",
                &cells(&[
                    (&format!("00-04 {f}"), Some(50)),
                    (&format!("00-04 {m}"), Some(60)),
                    (&format!("90+ {f}"), None),
                ]),
            );
            assert_eq!(svg.matches("fill=\"#007f3b\"").count(), 1, "{f}: {svg}");
            assert_eq!(svg.matches("fill=\"#005eb8\"").count(), 1, "{m}: {svg}");
            assert!(svg.contains("90+ female: 7 or fewer"));
        }
    }

    #[test]
    fn the_pyramid_puts_the_oldest_band_at_the_top() {
        let svg = pyramid(
            "p",
            &cells(&[("00-04 female", Some(1)), ("90+ female", Some(1))]),
        );
        assert!(svg.find(">90+<").unwrap() < svg.find(">00-04<").unwrap());
    }

    #[test]
    fn a_line_chart_draws_each_series_its_band_and_the_marker() {
        let points = |ys: &[f64]| {
            ys.iter()
                .enumerate()
                .map(|(i, y)| Point {
                    x: format!("{}", i as i64 - 2),
                    y: *y,
                    interval: Some((y - 0.5, y + 0.5)),
                })
                .collect()
        };
        let svg = line_chart(
            "Event study",
            &[
                Series {
                    name: "Supported".into(),
                    points: points(&[1.0, 1.2, -0.4, -0.2]),
                },
                Series {
                    name: "Comparison".into(),
                    points: points(&[1.0, 1.1, 1.0, f64::NAN]),
                },
            ],
            Some("0"),
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<polygon").count(), 2);
        assert!(
            svg.contains("stroke-dasharray=\"2 2\""),
            "the start marker is drawn"
        );
        assert!(
            svg.contains("stroke-dasharray=\"4 3\""),
            "the zero line is drawn"
        );
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn an_empty_line_chart_is_still_valid_svg() {
        let svg = line_chart("Nothing yet", &[], None);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
