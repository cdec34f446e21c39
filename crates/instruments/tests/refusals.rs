//! Every refusal names the file and the field. Each test loads a tiny made-up definition with one
//! mistake and checks the exact message a definition author would read.

use std::fs;

use careweave_instruments::{load, Answers, Instrument, Source};

const HEAD: &str = r#"
id = "tiny"
name = "Tiny made-up test instrument"
version = "1"
source = "Made up for these tests."
licence = "Apache-2.0"
about = "Made up; measures nothing."
"#;

/// Two items on a made-up 0–2 scale and one summed scale over both, the base that each test
/// breaks in one place.
const ITEMS: &str = r#"
[[items]]
id = "a"
text = "Made-up question A"
options = [{ value = 0, label = "No" }, { value = 1, label = "Bit" }, { value = 2, label = "Yes" }]

[[items]]
id = "b"
text = "Made-up question B"
options = [{ value = 0, label = "No" }, { value = 1, label = "Bit" }, { value = 2, label = "Yes" }]
"#;

fn errors(body: &str) -> Vec<String> {
    match Instrument::from_toml("tiny.toml", &format!("{HEAD}{body}")) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.errors().iter().map(ToString::to_string).collect(),
    }
}

fn refused(body: &str, expected: &str) {
    assert_eq!(errors(body), [expected]);
}

fn sum_scale(extra: &str) -> String {
    format!(
        r#"{ITEMS}
[[scales]]
id = "total"
name = "Total"
method = "sum"
items = ["a", "b"]
direction = "higher_is_better"
{extra}
"#
    )
}

#[test]
fn the_base_definition_is_accepted() {
    assert_eq!(errors(&sum_scale("")), Vec::<String>::new());
}

#[test]
fn an_item_without_options() {
    refused(
        r#"
[[items]]
id = "a"
text = "Made-up question A"

[[scales]]
id = "total"
name = "Total"
method = "item"
item = "a"
direction = "higher_is_better"
"#,
        "tiny.toml: items[0].options: an item needs at least two answer options",
    );
}

#[test]
fn an_item_with_one_option() {
    refused(
        &format!(
            r#"{ITEMS}
[[items]]
id = "c"
text = "Made-up question C"
options = [{{ value = 1, label = "Only" }}]

[[scales]]
id = "total"
name = "Total"
method = "item"
item = "a"
direction = "higher_is_better"
"#
        ),
        "tiny.toml: items[2].options: an item needs at least two answer options",
    );
}

#[test]
fn a_duplicate_option_value() {
    refused(
        r#"
[[items]]
id = "a"
text = "Made-up question A"
options = [{ value = 0, label = "No" }, { value = 1, label = "Bit" }, { value = 0, label = "Yes" }]

[[scales]]
id = "total"
name = "Total"
method = "item"
item = "a"
direction = "higher_is_better"
"#,
        "tiny.toml: items[0].options[2].value: the value 0 is used twice (also [0])",
    );
}

#[test]
fn a_duplicate_item_id() {
    refused(
        &format!(
            r#"{ITEMS}
[[items]]
id = "a"
text = "Made-up question A again"
options = [{{ value = 0 }}, {{ value = 1 }}]

[[scales]]
id = "total"
name = "Total"
method = "item"
item = "a"
direction = "higher_is_better"
"#
        ),
        "tiny.toml: items[2].id: the id `a` is used by items[0] too",
    );
}

#[test]
fn a_duplicate_scale_id() {
    refused(
        &sum_scale(
            r#"
[[scales]]
id = "total"
name = "Total again"
method = "item"
item = "a"
direction = "higher_is_better"
"#,
        ),
        "tiny.toml: scales[1].id: the id `total` is used by scales[0] too",
    );
}

#[test]
fn a_scale_naming_an_unknown_item() {
    refused(
        &format!(
            r#"{ITEMS}
[[scales]]
id = "total"
name = "Total"
method = "sum"
items = ["a", "z"]
direction = "higher_is_better"
"#
        ),
        "tiny.toml: scales[0].items[1]: no item has the id `z`",
    );
}

#[test]
fn a_band_outside_the_possible_range() {
    refused(
        &sum_scale(
            r#"bands = [{ from = 0, to = 2, label = "Low" }, { from = 3, to = 5, label = "High" }]"#,
        ),
        "tiny.toml: scales[0].bands[1]: the band 3–5 reaches outside the possible range 0–4",
    );
}

#[test]
fn overlapping_bands() {
    refused(
        &sum_scale(
            r#"bands = [{ from = 2, to = 4, label = "High" }, { from = 0, to = 2, label = "Low" }]"#,
        ),
        "tiny.toml: scales[0].bands[0]: the band 2–4 overlaps bands[1] (0–2)",
    );
}

#[test]
fn a_gap_between_bands() {
    refused(
        &sum_scale(
            r#"bands = [{ from = 0, to = 1, label = "Low" }, { from = 3, to = 4, label = "High" }]"#,
        ),
        "tiny.toml: scales[0].bands: no band covers the possible score 2",
    );
}

#[test]
fn bands_that_stop_short_of_the_top() {
    refused(
        &sum_scale(
            r#"bands = [{ from = 0, to = 1, label = "Low" }, { from = 2, to = 3, label = "High" }]"#,
        ),
        "tiny.toml: scales[0].bands: no band covers the possible score 4",
    );
}

#[test]
fn a_gap_on_a_mean_scale_is_a_possible_half_score_without_a_band() {
    refused(
        &format!(
            r#"{ITEMS}
[[scales]]
id = "average"
name = "Average"
method = "mean"
items = ["a", "b"]
direction = "higher_is_better"
bands = [{{ from = 0, to = 1, label = "Low" }}, {{ from = 1.6, to = 2, label = "High" }}]
"#
        ),
        "tiny.toml: scales[0].bands: no band covers the possible score 1.5",
    );
}

const TABLE_START: &str =
    "conversion = [{ raw = 0, score = 10 }, { raw = 1, score = 12.5 }, { raw = 2, score = 15 }";

#[test]
fn a_conversion_table_missing_a_raw_score() {
    refused(
        &sum_scale(&format!("{TABLE_START}, {{ raw = 4, score = 30 }}]")),
        "tiny.toml: scales[0].conversion: no converted score for the raw score 3",
    );
}

#[test]
fn a_conversion_table_with_a_raw_score_twice() {
    refused(
        &sum_scale(&format!(
            "{TABLE_START}, {{ raw = 3, score = 20 }}, {{ raw = 4, score = 30 }}, {{ raw = 1, score = 13 }}]"
        )),
        "tiny.toml: scales[0].conversion[5].raw: the raw score 1 appears twice (also conversion[1])",
    );
}

#[test]
fn a_conversion_table_with_an_impossible_raw_score() {
    refused(
        &sum_scale(&format!(
            "{TABLE_START}, {{ raw = 3, score = 20 }}, {{ raw = 4, score = 30 }}, {{ raw = 9, score = 99 }}]"
        )),
        "tiny.toml: scales[0].conversion[5].raw: the raw score 9 cannot occur (possible raw scores 0–4)",
    );
}

#[test]
fn bands_are_checked_against_the_converted_scores() {
    let table = format!("{TABLE_START}, {{ raw = 3, score = 20 }}, {{ raw = 4, score = 30 }}]");
    assert_eq!(
        errors(&sum_scale(&format!(
            "{table}\nbands = [{{ from = 10, to = 15, label = \"Low\" }}, {{ from = 20, to = 30, label = \"High\" }}]"
        ))),
        Vec::<String>::new()
    );
    refused(
        &sum_scale(&format!(
            "{table}\nbands = [{{ from = 0, to = 4, label = \"Raw, by mistake\" }}]"
        )),
        "tiny.toml: scales[0].bands[0]: the band 0–4 reaches outside the possible range 10–30",
    );
}

#[test]
fn a_conversion_table_on_a_mean_scale() {
    refused(
        &format!(
            r#"{ITEMS}
[[scales]]
id = "average"
name = "Average"
method = "mean"
items = ["a", "b"]
direction = "higher_is_better"
conversion = [{{ raw = 0, score = 0 }}]
"#
        ),
        "tiny.toml: scales[0].conversion: a conversion table needs whole-number raw scores, so it \
         works only with method sum or item",
    );
}

#[test]
fn a_meaningful_change_larger_than_the_range() {
    refused(
        &sum_scale("meaningful_change = 5"),
        "tiny.toml: scales[0].meaningful_change: the meaningful change 5 is larger than the whole \
         possible range 0–4",
    );
}

#[test]
fn an_external_scale_without_a_range() {
    refused(
        r#"
[[scales]]
id = "outside"
name = "Made-up outside score"
method = "external"
direction = "higher_is_better"
"#,
        "tiny.toml: scales[0].score: an external scale needs its score range, e.g. score = { min = 0, \
         max = 100 }",
    );
}

#[test]
fn an_external_scale_with_an_upside_down_range() {
    refused(
        r#"
[[scales]]
id = "outside"
name = "Made-up outside score"
method = "external"
score = { min = 10, max = 0 }
direction = "higher_is_better"
"#,
        "tiny.toml: scales[0].score: min (10) must be below max (0)",
    );
}

#[test]
fn an_unknown_field_is_refused_rather_than_ignored() {
    refused(
        &sum_scale("meaningfull_change = 1"),
        "tiny.toml: scales[0].meaningfull_change: unknown field; the fields here are id, name, \
         method, items, item, direction, meaningful_change, bands, conversion, score, levels",
    );
}

#[test]
fn a_toml_syntax_error_names_the_line() {
    let errors = errors("scales = [\n  { id = \"x\" \n");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("tiny.toml: line "), "{errors:?}");
}

#[test]
fn several_problems_are_reported_together() {
    assert_eq!(
        errors(&format!(
            r#"{ITEMS}
[[scales]]
id = "total"
name = "Total"
method = "sum"
items = ["a", "b"]
direction = "sideways"
"#
        ))
        .len(),
        1
    );
    let errors = errors(
        r#"
[[items]]
id = "Bad Id"
text = "Made-up question"
options = [{ value = 0 }]

[[scales]]
id = "total"
name = "Total"
method = "item"
item = "a"
direction = "sideways"
"#,
    );
    assert_eq!(
        errors,
        [
            "tiny.toml: items[0].id: `Bad Id` is not a valid id: use 1 to 64 lowercase letters, \
             digits, `-` or `_`, starting with a letter or digit",
            "tiny.toml: items[0].options: an item needs at least two answer options",
            "tiny.toml: scales[0].direction: `sideways` is not a direction: use higher_is_better or \
             lower_is_better",
            "tiny.toml: scales[0].item: no item has the id `a`",
        ]
    );
}

#[test]
fn a_scale_over_a_broken_item_is_not_blamed_twice() {
    refused(
        r#"
[[items]]
id = "a"
text = "Made-up question"
options = [{ value = 0 }]

[[scales]]
id = "total"
name = "Total"
method = "item"
item = "a"
direction = "higher_is_better"
bands = [{ from = 0, to = 99, label = "All" }]
"#,
        "tiny.toml: items[0].options: an item needs at least two answer options",
    );
}

// Scoring refusals.

fn tiny_with_external() -> Instrument {
    Instrument::from_toml(
        "tiny.toml",
        &format!(
            r#"{HEAD}{ITEMS}
[[scales]]
id = "total"
name = "Total"
method = "sum"
items = ["a", "b"]
direction = "higher_is_better"

[[scales]]
id = "outside"
name = "Made-up outside score"
method = "external"
score = {{ min = 0, max = 50, decimals = 1 }}
levels = [{{ value = 1, label = "One" }}, {{ value = 2, label = "Two" }}]
direction = "lower_is_better"
"#
        ),
    )
    .expect("valid")
}

fn score_error(items: &[(&str, i64)], recorded: Option<(f64, Option<i64>)>) -> String {
    let mut answers = Answers::new();
    for (item, value) in items {
        answers.answer(*item, *value);
    }
    if let Some((score, level)) = recorded {
        answers.record("outside", score, level);
    }
    tiny_with_external()
        .score(&answers)
        .expect_err("refused")
        .to_string()
}

#[test]
fn scoring_refuses_an_answer_that_is_not_an_option() {
    assert_eq!(
        score_error(&[("a", 1), ("b", 3)], Some((10.0, Some(1)))),
        "item `b`: 3 is not one of its answer options (0, 1, 2)"
    );
}

#[test]
fn scoring_refuses_a_missing_or_unknown_item() {
    assert_eq!(
        score_error(&[("a", 1)], Some((10.0, Some(1)))),
        "item `b`: no answer"
    );
    assert_eq!(
        score_error(&[("a", 1), ("b", 1), ("c", 1)], Some((10.0, Some(1)))),
        "item `c`: the instrument has no such item"
    );
}

#[test]
fn scoring_refuses_external_results_outside_the_definition() {
    let items = [("a", 1), ("b", 1)];
    assert_eq!(
        score_error(&items, None),
        "scale `outside`: no recorded score"
    );
    assert_eq!(
        score_error(&items, Some((50.5, Some(1)))),
        "scale `outside`: the score 50.5 is not allowed (0 to 50 with at most 1 decimal places)"
    );
    assert_eq!(
        score_error(&items, Some((12.25, Some(1)))),
        "scale `outside`: the score 12.25 is not allowed (0 to 50 with at most 1 decimal places)"
    );
    assert_eq!(
        score_error(&items, Some((12.5, None))),
        "scale `outside`: no recorded level"
    );
    assert_eq!(
        score_error(&items, Some((12.5, Some(3)))),
        "scale `outside`: the level 3 is not one of its levels (1, 2)"
    );
    let mut answers = Answers::new();
    answers
        .answer("a", 1)
        .answer("b", 1)
        .record("outside", 12.5, Some(2))
        .record("total", 3.0, None);
    assert_eq!(
        tiny_with_external()
            .score(&answers)
            .expect_err("refused")
            .to_string(),
        "scale `total`: the instrument has no external scale with this id"
    );
    let mut answers = Answers::new();
    answers
        .answer("a", 1)
        .answer("b", 1)
        .record("outside", 12.3, Some(2));
    let scores = tiny_with_external().score(&answers).expect("valid");
    assert_eq!(scores.scale("outside").map(|s| s.raw()), Some(12.3));
}

// Loading folders.

fn write(dir: &std::path::Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).expect("writable temporary folder");
}

fn definition(id: &str, name: &str) -> String {
    format!(
        r#"id = "{id}"
name = "{name}"
version = "1"
source = "Made up for these tests."
licence = "Apache-2.0"
about = "Made up."
{}"#,
        sum_scale("")
    )
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "careweave-instruments-{tag}-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temporary folder");
    dir
}

#[test]
fn a_folder_returns_its_good_instruments_and_names_each_bad_file() {
    let dir = temp_dir("folder");
    write(&dir, "good.toml", &definition("good", "Good made-up"));
    write(&dir, "bad.toml", &definition("Bad!", "Bad made-up"));
    write(&dir, "README.md", "Not a definition; left alone.");
    let catalogue = load(&[Source::Folder(&dir)]);
    let ids: Vec<&str> = catalogue
        .instruments()
        .map(|l| l.instrument().id().as_str())
        .collect();
    assert_eq!(ids, ["good"]);
    let errors: Vec<String> = catalogue.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [format!(
            "{}: id: `Bad!` is not a valid id: use 1 to 64 lowercase letters, digits, `-` or `_`, \
             starting with a letter or digit",
            dir.join("bad.toml").display()
        )]
    );
    fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn two_files_with_one_id_in_a_folder_keep_the_first_and_name_the_second() {
    let dir = temp_dir("dup");
    write(&dir, "a.toml", &definition("same", "First made-up"));
    write(&dir, "b.toml", &definition("same", "Second made-up"));
    let catalogue = load(&[Source::Folder(&dir)]);
    assert_eq!(
        catalogue.get("same").map(Instrument::name),
        Some("First made-up")
    );
    let errors: Vec<String> = catalogue.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [format!(
            "{}: id: the id `same` is already used by {} in the same folder; this file is ignored",
            dir.join("b.toml").display(),
            dir.join("a.toml").display()
        )]
    );
    fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_deployment_folder_overrides_a_shipped_instrument_and_says_so() {
    let dir = temp_dir("override");
    write(
        &dir,
        "local-ons4.toml",
        &definition("ons4", "Local made-up replacement"),
    );
    let catalogue = load(&[Source::Shipped, Source::Folder(&dir)]);
    assert!(catalogue.errors().is_empty());
    assert_eq!(
        catalogue.get("ons4").map(Instrument::name),
        Some("Local made-up replacement")
    );
    let overrides: Vec<String> = catalogue
        .overrides()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        overrides,
        [format!(
            "instrument `ons4`: {} replaces ons4.toml (shipped)",
            dir.join("local-ons4.toml").display()
        )]
    );
    assert!(catalogue.get("example-made-up").is_some());
    fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_missing_folder_is_an_error_not_an_empty_folder() {
    let dir = std::env::temp_dir().join("careweave-instruments-no-such-folder");
    let catalogue = load(&[Source::Shipped, Source::Folder(&dir)]);
    assert_eq!(catalogue.errors().len(), 1);
    assert!(catalogue.errors()[0]
        .to_string()
        .starts_with(&format!("{}: cannot be read: ", dir.display())));
    assert_eq!(catalogue.instruments().count(), 2);
}
