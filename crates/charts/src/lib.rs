//! The one chart module every careweave page and report draws with: the population pages, the
//! offline population report, and the evaluation, workforce and casework reports and the board.
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

/// The width of `s` in SVG units at font size `size`, from Arial's advance widths (in em) by
/// character class. It errs wide, so a label fitted with it does not run into what is beside it.
fn text_width(s: &str, size: f64) -> f64 {
    let em: f64 = s
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '\'' | '|' | '.' | ',' | ':' | ';' | '!' | ' ' | 'I' => 0.28,
            'f' | 't' | 'r' | '(' | ')' | '-' | '/' => 0.39,
            'm' | 'w' | 'M' | 'W' | '…' => 0.94,
            'A'..='Z' | '&' | '%' => 0.72,
            'a'..='z' | '0'..='9' => 0.56,
            _ => 0.7,
        })
        .sum();
    em * size
}

/// Shortens a label with an ellipsis until it fits `width` units at font size `size`.
fn fit(s: &str, size: f64, width: f64) -> String {
    if text_width(s, size) <= width {
        return s.to_owned();
    }
    let mut kept: String = s.to_owned();
    while !kept.is_empty() && text_width(&format!("{kept}…"), size) > width {
        kept.pop();
    }
    format!("{}…", kept.trim_end())
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
/// Labels take the left 330 units (shortened by their drawn width to fit, so a label of wide
/// letters cannot reach the bars or the values), bars the next 300, and each value is written
/// just past the end of its bar in the space kept free for it, so values never overlap labels or
/// bars.
#[must_use]
pub fn bar_chart(label: &str, bars: &[(String, Option<i64>)]) -> String {
    let max = bars.iter().filter_map(|b| b.1).max().unwrap_or(1).max(1);
    let row = 24;
    let mut s = open(label, row * bars.len() + 8);
    for (i, (category, value)) in bars.iter().enumerate() {
        let y = i * row + 4;
        text(
            &mut s,
            0.0,
            y + 15,
            14,
            "start",
            &fit(category, 14.0, 330.0),
        );
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

/// A column chart of counts over ordered categories, most often months ("Jan 2026"), for trends;
/// `None` is a count hidden by disclosure control, drawn as a dashed box at the baseline with
/// "7 or fewer" above it, never as an empty column.
///
/// Each value is written above its column and each label below it. When the labels are too wide
/// for their columns (two years of months), they are turned 45 degrees so that neighbours never
/// overlap, and the chart grows downwards to make room for them.
#[must_use]
pub fn column_chart(label: &str, columns: &[(String, Option<i64>)]) -> String {
    let (left, right, top, base) = (10.0, 750.0, 34.0, 214.0);
    let max = columns.iter().filter_map(|c| c.1).max().unwrap_or(1).max(1);
    let step = (right - left) / columns.len().max(1) as f64;
    let width = (step * 0.6).min(48.0);
    let widest = columns
        .iter()
        .map(|(l, _)| text_width(l, 12.0))
        .fold(0.0_f64, f64::max);
    let turned = widest + 6.0 > step;
    // A turned label of width w reaches w·sin 45° below the baseline.
    let below = if turned {
        (widest.min(140.0) * std::f64::consts::FRAC_1_SQRT_2).ceil() + 24.0
    } else {
        24.0
    };
    let height = (base + below) as usize;
    let mut s = open(label, height);
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{right}\" y2=\"{base}\" stroke=\"{GREY}\"></line>"
    );
    // The value above a column is smaller when the columns are narrow, so it stays over its own.
    let value_size: u8 = if step < 36.0 { 10 } else { 12 };
    for (i, (category, value)) in columns.iter().enumerate() {
        let centre = left + step * (i as f64 + 0.5);
        let x = (centre - width / 2.0).round();
        match value {
            Some(n) => {
                let h = (*n as f64 / max as f64 * (base - top)).round();
                let _ = write!(
                    s,
                    "<rect x=\"{x}\" y=\"{}\" width=\"{width}\" height=\"{h}\" fill=\"{BLUE}\"><title>{}: {n}</title></rect>",
                    base - h,
                    escape(category)
                );
                text_at(&mut s, centre, base - h - 4.0, value_size, &n.to_string());
            }
            None => {
                let _ = write!(
                    s,
                    "<rect x=\"{x}\" y=\"{}\" width=\"{width}\" height=\"14\" fill=\"none\" stroke=\"{GREY}\" stroke-dasharray=\"3 2\"><title>{}: {HIDDEN}</title></rect>",
                    base - 14.0,
                    escape(category)
                );
                // Two short lines fit over a narrow column where one long one would not.
                text_at(&mut s, centre, base - 32.0, 10, "7 or");
                text_at(&mut s, centre, base - 20.0, 10, "fewer");
            }
        }
        let shown = fit(category, 12.0, 140.0);
        if turned {
            let y = base + 14.0;
            let _ = write!(
                s,
                "<text x=\"{centre}\" y=\"{y}\" font-size=\"12\" fill=\"{INK}\" text-anchor=\"end\" transform=\"rotate(-45 {centre} {y})\">{}</text>",
                escape(&shown)
            );
        } else {
            text_at(&mut s, centre, base + 16.0, 12, &shown);
        }
    }
    s.push_str("</svg>");
    s
}

/// Text centred on `x`, for the column chart's values and labels.
fn text_at(s: &mut String, x: f64, y: f64, size: u8, content: &str) {
    let _ = write!(
        s,
        "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\" fill=\"{INK}\" text-anchor=\"middle\">{}</text>",
        escape(content)
    );
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

/// One row of a [`paired_bar_chart`]: two values side by side (for example demand and supply) and
/// a note drawn under the label (for example the register lines the figures came from).
#[derive(Debug, Clone, PartialEq)]
pub struct PairedBar {
    pub label: String,
    pub values: [f64; 2],
    pub note: String,
}

/// A horizontal chart of two values per row on one scale, with a legend naming the two series.
/// Negative and non-finite values are drawn as no bar with their value written, so a chart never
/// draws a bar the wrong way or at a made-up length.
#[must_use]
pub fn paired_bar_chart(label: &str, names: [&str; 2], rows: &[PairedBar]) -> String {
    let max = rows
        .iter()
        .flat_map(|r| r.values)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let row = 44;
    let mut s = open(label, row * rows.len() + 34);
    for (n, (name, colour)) in names.iter().zip([BLUE, GREEN]).enumerate() {
        let x = 340.0 + 180.0 * n as f64;
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"4\" width=\"12\" height=\"12\" fill=\"{colour}\"></rect>"
        );
        text(&mut s, x + 18.0, 15, 13, "start", &truncate(name, 22));
    }
    for (i, r) in rows.iter().enumerate() {
        let y = i * row + 28;
        text(
            &mut s,
            0.0,
            y + 15,
            14,
            "start",
            &fit(&r.label, 14.0, 330.0),
        );
        text(&mut s, 0.0, y + 32, 11, "start", &fit(&r.note, 11.0, 330.0));
        for (k, (v, colour)) in r.values.iter().zip([BLUE, GREEN]).enumerate() {
            let by = y + 2 + k * 18;
            let w = if v.is_finite() && *v > 0.0 {
                (v / max * 300.0).round()
            } else {
                0.0
            };
            if w > 0.0 {
                let _ = write!(
                    s,
                    "<rect x=\"340\" y=\"{by}\" width=\"{w}\" height=\"15\" fill=\"{colour}\"></rect>"
                );
            }
            let shown = if v.is_finite() {
                format_value(*v)
            } else {
                "not known".to_owned()
            };
            text(&mut s, 346.0 + w, by + 12, 12, "start", &shown);
        }
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
    fn a_long_label_of_wide_letters_is_shortened_to_stay_clear_of_the_bars() {
        // Issue 16: the equity chart's labels ("segment | ethnic group") ran into the values.
        let long = "LONG-TERM CONDITIONS WITH MANY WORDS | WHITE: ANY OTHER WHITE BACKGROUND";
        let svg = bar_chart("Equity", &cells(&[(long, Some(10))]));
        let drawn = svg
            .split(
                "<text x=\"0\" y=\"19\" font-size=\"14\" fill=\"#212b32\" text-anchor=\"start\">",
            )
            .nth(1)
            .and_then(|rest| rest.split("</text>").next())
            .expect("the label is drawn");
        assert!(drawn.ends_with('…'), "{drawn}");
        assert!(text_width(drawn, 14.0) <= 330.0);
        assert!(drawn.len() < long.len());
        // A short label is left alone.
        assert_eq!(fit("Core20", 14.0, 330.0), "Core20");
    }

    #[test]
    fn a_column_chart_draws_hidden_months_as_seven_or_fewer() {
        let svg = column_chart(
            "Referrals by month",
            &cells(&[
                ("Jan 2026", Some(40)),
                ("Feb 2026", None),
                ("Mar <b>", Some(0)),
            ]),
        );
        assert!(svg.contains("Feb 2026: 7 or fewer") && svg.contains("stroke-dasharray"));
        assert!(svg.contains(">7 or<") && svg.contains(">fewer<"));
        assert!(svg.contains("Jan 2026: 40") && svg.contains(">40<"));
        assert!(svg.contains("Mar &lt;b&gt;: 0"), "a real zero is a zero");
        assert!(!svg.contains("<b>") && !svg.contains("rotate("));
        assert!(svg.contains("role=\"img\"") && svg.contains("<title>Referrals by month</title>"));
    }

    #[test]
    fn a_column_chart_turns_its_labels_when_they_would_overlap() {
        let months: Vec<(String, Option<i64>)> = (1..=24)
            .map(|m| (format!("Month {m} of 2026"), Some(m)))
            .collect();
        let svg = column_chart("Two years", &months);
        assert_eq!(svg.matches("rotate(-45").count(), 24);
        // The chart is taller than one with level labels, so the turned ones fit inside it.
        let level = column_chart("One", &cells(&[("Jan", Some(1))]));
        let height = |svg: &str| -> usize {
            svg.split("viewBox=\"0 0 760 ")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .and_then(|h| h.parse().ok())
                .unwrap()
        };
        assert!(height(&svg) > height(&level));
    }

    #[test]
    fn an_empty_column_chart_is_still_valid_svg() {
        let svg = column_chart("Nothing yet", &[]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
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
    #[test]
    fn a_paired_bar_chart_draws_both_values_on_one_scale_with_their_notes() {
        let svg = paired_bar_chart(
            "Demand and supply",
            ["Demand", "In post"],
            &[
                PairedBar {
                    label: "Link worker".into(),
                    values: [2.0, 1.0],
                    note: "register lines 3, 7".into(),
                },
                PairedBar {
                    label: "Coach <b>".into(),
                    values: [-1.0, f64::NAN],
                    note: String::new(),
                },
            ],
        );
        assert!(svg.contains("width=\"300\"") && svg.contains("width=\"150\""));
        assert!(svg.contains("register lines 3, 7"));
        assert!(svg.contains("not known") && svg.contains(">-1<"));
        assert!(!svg.contains("<b>"));
        assert_eq!(
            svg.matches("<rect").count(),
            4,
            "two legend keys and two bars"
        );
    }
}
