//! Reading a definition file into an [`Instrument`].
//!
//! The file is parsed as a plain TOML table and walked by hand rather than through serde derives,
//! so that every refusal can name its field by path (`items[2].options`), report several problems
//! at once, and avoid repeating itself: a scale that uses a broken item is not checked further,
//! because its range cannot be known and the item's own error already says what to fix.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use toml::{Table, Value};

use crate::model::{
    AnswerOption, Band, Conversion, Direction, ExternalScore, Id, Instrument, Item, Method, Scale,
    ScaleKind, TOLERANCE,
};

/// One problem in a definition file, naming the file and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct DefinitionError {
    /// The file as the caller named it.
    pub file: String,
    /// The path of the field, such as `scales[1].bands[0]`, or `line 12` for a TOML syntax error.
    pub field: String,
    /// What is wrong, in words a definition author can act on.
    pub message: String,
}

/// Every problem found in one definition file; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DefinitionErrors(pub(crate) Vec<DefinitionError>);

impl DefinitionErrors {
    /// The problems in the order they were found.
    #[must_use]
    pub fn errors(&self) -> &[DefinitionError] {
        &self.0
    }

    /// Consumes the list.
    #[must_use]
    pub fn into_errors(self) -> Vec<DefinitionError> {
        self.0
    }
}

impl fmt::Display for DefinitionErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// The most values a scale may have. It bounds the work of checking bands against every possible
/// score; an external score of 0–100 with three decimals is 100,001 values.
const MAX_POSSIBLE_SCORES: usize = 1_000_000;

impl Instrument {
    /// Reads an instrument from the text of a TOML definition file. `file` names the file in
    /// error messages.
    ///
    /// # Errors
    /// Every problem found, each naming `file` and the field.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, DefinitionErrors> {
        let mut ctx = Ctx {
            file,
            errors: Vec::new(),
        };
        let instrument = match text.parse::<Table>() {
            Ok(root) => instrument(&mut ctx, &root),
            Err(error) => {
                let line = error.span().map_or(1, |span| line_of(text, span.start));
                ctx.fail(&format!("line {line}"), error.message().trim());
                None
            }
        };
        match instrument {
            Some(instrument) if ctx.errors.is_empty() => Ok(instrument),
            _ => {
                // Every path that returns `None` has recorded why; this guards the invariant that
                // an error list is never empty.
                if ctx.errors.is_empty() {
                    ctx.fail("", "the definition could not be read");
                }
                Err(DefinitionErrors(ctx.errors))
            }
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

struct Ctx<'f> {
    file: &'f str,
    errors: Vec<DefinitionError>,
}

impl Ctx<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(DefinitionError {
            file: self.file.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        });
    }
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Formats a score the way people write it: `4`, `30.5`.
pub(crate) fn num(value: f64) -> String {
    format!("{value}")
}

fn range_text(low: f64, high: f64) -> String {
    format!("{}–{}", num(low), num(high))
}

/// Refuses keys the format does not know, so that a misspelt optional field (`reversed` for
/// `reverse`) is an error rather than silently ignored.
fn known_keys(ctx: &mut Ctx<'_>, table: &Table, path: &str, allowed: &[&str]) {
    for key in table.keys() {
        if !allowed.contains(&key.as_str()) {
            ctx.fail(
                &at(path, key),
                format!("unknown field; the fields here are {}", allowed.join(", ")),
            );
        }
    }
}

fn required<'t>(ctx: &mut Ctx<'_>, table: &'t Table, path: &str, key: &str) -> Option<&'t Value> {
    let value = table.get(key);
    if value.is_none() {
        ctx.fail(&at(path, key), "this field is required");
    }
    value
}

fn as_text(ctx: &mut Ctx<'_>, value: &Value, field: &str) -> Option<String> {
    match value.as_str().map(str::trim) {
        Some("") => {
            ctx.fail(field, "must not be empty");
            None
        }
        Some(text) => Some(text.to_owned()),
        None => {
            ctx.fail(field, "expected text in quotes");
            None
        }
    }
}

fn text(ctx: &mut Ctx<'_>, table: &Table, path: &str, key: &str) -> Option<String> {
    let value = required(ctx, table, path, key)?;
    as_text(ctx, value, &at(path, key))
}

fn id(ctx: &mut Ctx<'_>, value: &Value, field: &str) -> Option<Id> {
    let text = as_text(ctx, value, field)?;
    Id::parse(&text)
        .map_err(|message| ctx.fail(field, message))
        .ok()
}

fn whole(ctx: &mut Ctx<'_>, value: &Value, field: &str) -> Option<i64> {
    let number = value.as_integer();
    if number.is_none() {
        ctx.fail(field, "expected a whole number");
    }
    number
}

fn number(ctx: &mut Ctx<'_>, value: &Value, field: &str) -> Option<f64> {
    #[expect(
        clippy::cast_precision_loss,
        reason = "scores in definition files are far below 2^52"
    )]
    let number = match value {
        Value::Integer(whole) => Some(*whole as f64),
        Value::Float(float) if float.is_finite() => Some(*float),
        _ => None,
    };
    if number.is_none() {
        ctx.fail(field, "expected a number");
    }
    number
}

fn list<'t>(ctx: &mut Ctx<'_>, value: &'t Value, field: &str) -> Option<&'t Vec<Value>> {
    let items = value.as_array();
    if items.is_none() {
        ctx.fail(field, "expected a list in square brackets");
    }
    items
}

fn table<'t>(ctx: &mut Ctx<'_>, value: &'t Value, field: &str) -> Option<&'t Table> {
    let table = value.as_table();
    if table.is_none() {
        ctx.fail(field, "expected a table in curly brackets");
    }
    table
}

fn instrument(ctx: &mut Ctx<'_>, root: &Table) -> Option<Instrument> {
    known_keys(
        ctx,
        root,
        "",
        &[
            "id",
            "name",
            "version",
            "source",
            "licence",
            "about",
            "answer_sets",
            "items",
            "scales",
        ],
    );
    let id = required(ctx, root, "", "id").and_then(|value| id(ctx, value, "id"));
    let name = text(ctx, root, "", "name");
    let version = text(ctx, root, "", "version");
    let source = text(ctx, root, "", "source");
    let licence = text(ctx, root, "", "licence");
    let about = text(ctx, root, "", "about");
    let answer_sets = answer_sets(ctx, root);
    let items = items(ctx, root, &answer_sets);
    let scales = scales(ctx, root, &items);
    Some(Instrument {
        id: id?,
        name: name?,
        version: version?,
        source: source?,
        licence: licence?,
        about: about?,
        items: items.good,
        scales: scales?,
    })
}

/// Named option lists that several items share, so that ten items on the same five-point scale
/// list its options once. A set that fails its checks maps to `None`, so that items using it do
/// not repeat the error.
fn answer_sets(ctx: &mut Ctx<'_>, root: &Table) -> BTreeMap<String, Option<Vec<AnswerOption>>> {
    let mut sets = BTreeMap::new();
    let Some(value) = root.get("answer_sets") else {
        return sets;
    };
    let Some(table) = table(ctx, value, "answer_sets") else {
        return sets;
    };
    for (name, options) in table {
        let parsed = option_list(
            ctx,
            options,
            &at("answer_sets", name),
            "an answer set needs at least two answer options",
        );
        sets.insert(name.clone(), parsed);
    }
    sets
}

/// Reads a list of `{ value, label }` tables: answer options or external levels.
fn option_list(
    ctx: &mut Ctx<'_>,
    value: &Value,
    field: &str,
    too_few: &str,
) -> Option<Vec<AnswerOption>> {
    let entries = list(ctx, value, field)?;
    if entries.len() < 2 {
        ctx.fail(field, too_few);
        return None;
    }
    let errors_before = ctx.errors.len();
    let mut options: Vec<AnswerOption> = Vec::new();
    let mut first_of_value: BTreeMap<i64, usize> = BTreeMap::new();
    let mut first_of_label: BTreeMap<String, usize> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("{field}[{index}]");
        let Some(entry) = table(ctx, entry, &path) else {
            continue;
        };
        known_keys(ctx, entry, &path, &["value", "label"]);
        let Some(value) = required(ctx, entry, &path, "value")
            .and_then(|value| whole(ctx, value, &at(&path, "value")))
        else {
            continue;
        };
        // A label may be left out where the number says it all, as on a 0–10 scale whose ends
        // alone carry words.
        let label = match entry.get("label") {
            Some(label) => match as_text(ctx, label, &at(&path, "label")) {
                Some(label) => label,
                None => continue,
            },
            None => value.to_string(),
        };
        if let Some(first) = first_of_value.get(&value) {
            ctx.fail(
                &at(&path, "value"),
                format!("the value {value} is used twice (also [{first}])"),
            );
            continue;
        }
        if let Some(first) = first_of_label.get(&label) {
            ctx.fail(
                &at(&path, "label"),
                format!("the label `{label}` is used twice (also [{first}])"),
            );
            continue;
        }
        first_of_value.insert(value, index);
        first_of_label.insert(label.clone(), index);
        options.push(AnswerOption { value, label });
    }
    (ctx.errors.len() == errors_before).then_some(options)
}

/// The items read so far: the good ones, and the ids of every item whose id could be read, so
/// that a scale naming a broken item is not also told the item does not exist.
struct Items {
    good: Vec<Item>,
    named: BTreeSet<String>,
}

fn items(
    ctx: &mut Ctx<'_>,
    root: &Table,
    answer_sets: &BTreeMap<String, Option<Vec<AnswerOption>>>,
) -> Items {
    let mut result = Items {
        good: Vec::new(),
        named: BTreeSet::new(),
    };
    // An instrument whose scales are all external (scores from another tool) has no items.
    let Some(value) = root.get("items") else {
        return result;
    };
    let Some(entries) = list(ctx, value, "items") else {
        return result;
    };
    let mut first_of_id: BTreeMap<String, usize> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("items[{index}]");
        let Some(entry) = table(ctx, entry, &path) else {
            continue;
        };
        known_keys(
            ctx,
            entry,
            &path,
            &["id", "text", "options", "answer_set", "reverse"],
        );
        let errors_before = ctx.errors.len();
        let id =
            required(ctx, entry, &path, "id").and_then(|value| id(ctx, value, &at(&path, "id")));
        if let Some(id) = &id {
            if let Some(first) = first_of_id.get(id.as_str()) {
                ctx.fail(
                    &at(&path, "id"),
                    format!("the id `{id}` is used by items[{first}] too"),
                );
                continue;
            }
            first_of_id.insert(id.as_str().to_owned(), index);
            result.named.insert(id.as_str().to_owned());
        }
        let text = text(ctx, entry, &path, "text");
        let options = item_options(ctx, entry, &path, answer_sets);
        let reverse = match entry.get("reverse") {
            None => Some(false),
            Some(value) => {
                let flag = value.as_bool();
                if flag.is_none() {
                    ctx.fail(&at(&path, "reverse"), "expected true or false");
                }
                flag
            }
        };
        if let (Some(id), Some(text), Some(options), Some(reverse)) = (id, text, options, reverse) {
            if ctx.errors.len() == errors_before {
                result.good.push(Item {
                    id,
                    text,
                    options,
                    reverse,
                });
            }
        }
    }
    result
}

fn item_options(
    ctx: &mut Ctx<'_>,
    entry: &Table,
    path: &str,
    answer_sets: &BTreeMap<String, Option<Vec<AnswerOption>>>,
) -> Option<Vec<AnswerOption>> {
    let too_few = "an item needs at least two answer options";
    match (entry.get("options"), entry.get("answer_set")) {
        (Some(_), Some(_)) => {
            ctx.fail(path, "give either `options` or `answer_set`, not both");
            None
        }
        (Some(options), None) => option_list(ctx, options, &at(path, "options"), too_few),
        (None, Some(name)) => {
            let field = at(path, "answer_set");
            let name = as_text(ctx, name, &field)?;
            match answer_sets.get(&name) {
                Some(set) => set.clone(),
                None => {
                    ctx.fail(&field, format!("there is no answer set named `{name}`"));
                    None
                }
            }
        }
        (None, None) => {
            ctx.fail(&at(path, "options"), too_few);
            None
        }
    }
}

fn scales(ctx: &mut Ctx<'_>, root: &Table, items: &Items) -> Option<Vec<Scale>> {
    let value = required(ctx, root, "", "scales")?;
    let entries = list(ctx, value, "scales")?;
    if entries.is_empty() {
        ctx.fail("scales", "an instrument needs at least one scale");
        return None;
    }
    let mut scales = Vec::new();
    let mut first_of_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut all_good = true;
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("scales[{index}]");
        let scale = table(ctx, entry, &path).and_then(|entry| scale(ctx, entry, &path, items));
        match scale {
            Some(scale) => {
                if let Some(first) = first_of_id.get(scale.id.as_str()) {
                    ctx.fail(
                        &at(&path, "id"),
                        format!("the id `{}` is used by scales[{first}] too", scale.id),
                    );
                    all_good = false;
                } else {
                    first_of_id.insert(scale.id.as_str().to_owned(), index);
                    scales.push(scale);
                }
            }
            None => all_good = false,
        }
    }
    all_good.then_some(scales)
}

/// The reported scores a scale can produce, ascending: what its bands must cover.
struct Possible {
    reported: Vec<f64>,
}

fn scale(ctx: &mut Ctx<'_>, entry: &Table, path: &str, items: &Items) -> Option<Scale> {
    known_keys(
        ctx,
        entry,
        path,
        &[
            "id",
            "name",
            "method",
            "items",
            "item",
            "direction",
            "meaningful_change",
            "bands",
            "conversion",
            "score",
            "levels",
        ],
    );
    let errors_before = ctx.errors.len();
    let id = required(ctx, entry, path, "id").and_then(|value| id(ctx, value, &at(path, "id")));
    let name = text(ctx, entry, path, "name");
    let direction = text(ctx, entry, path, "direction").and_then(|text| match text.as_str() {
        "higher_is_better" => Some(Direction::HigherIsBetter),
        "lower_is_better" => Some(Direction::LowerIsBetter),
        other => {
            ctx.fail(
                &at(path, "direction"),
                format!("`{other}` is not a direction: use higher_is_better or lower_is_better"),
            );
            None
        }
    });
    let method = text(ctx, entry, path, "method");
    let kind_and_possible = match method.as_deref() {
        Some("sum") => computed(ctx, entry, path, items, Method::Sum),
        Some("mean") => computed(ctx, entry, path, items, Method::Mean),
        Some("item") => computed(ctx, entry, path, items, Method::Item),
        Some("external") => external(ctx, entry, path),
        Some(other) => {
            ctx.fail(
                &at(path, "method"),
                format!("`{other}` is not a method: use sum, mean, item or external"),
            );
            None
        }
        None => None,
    };
    // Bands and the meaningful change are checked against the possible scores, which are known
    // only when the method and its items are good.
    let possible = kind_and_possible.as_ref().map(|(_, possible)| possible);
    let bands = bands(ctx, entry, path, possible);
    let meaningful_change = meaningful_change(ctx, entry, path, possible);
    let (kind, possible) = kind_and_possible?;
    if ctx.errors.len() != errors_before {
        return None;
    }
    let low = possible.reported.first().copied()?;
    let high = possible.reported.last().copied()?;
    Some(Scale {
        id: id?,
        name: name?,
        kind,
        direction: direction?,
        meaningful_change: meaningful_change?,
        bands: bands?,
        range: (low, high),
    })
}

fn refuse_keys(ctx: &mut Ctx<'_>, entry: &Table, path: &str, keys: &[&str], why: &str) {
    for key in keys {
        if entry.contains_key(*key) {
            ctx.fail(&at(path, key), why);
        }
    }
}

fn computed(
    ctx: &mut Ctx<'_>,
    entry: &Table,
    path: &str,
    items: &Items,
    method: Method,
) -> Option<(ScaleKind, Possible)> {
    refuse_keys(
        ctx,
        entry,
        path,
        &["score", "levels"],
        "only an external scale has this field",
    );
    let ids = match method {
        Method::Item => {
            refuse_keys(
                ctx,
                entry,
                path,
                &["items"],
                "method item takes one `item`, not a list of `items`",
            );
            let field = at(path, "item");
            let value = required(ctx, entry, path, "item")?;
            vec![(field.clone(), id(ctx, value, &field)?)]
        }
        Method::Sum | Method::Mean => {
            refuse_keys(
                ctx,
                entry,
                path,
                &["item"],
                "methods sum and mean take a list of `items`",
            );
            let field = at(path, "items");
            let value = required(ctx, entry, path, "items")?;
            let values = list(ctx, value, &field)?;
            if values.is_empty() {
                ctx.fail(&field, "a scale needs at least one item");
                return None;
            }
            let mut ids = Vec::new();
            for (index, value) in values.iter().enumerate() {
                let field = format!("{field}[{index}]");
                ids.push((field.clone(), id(ctx, value, &field)?));
            }
            ids
        }
    };
    let mut used: Vec<&Item> = Vec::new();
    let mut broken = false;
    for (field, id) in &ids {
        if used.iter().any(|item| item.id == *id) {
            ctx.fail(field, format!("the item `{id}` is listed twice"));
            return None;
        }
        match items.good.iter().find(|item| item.id == *id) {
            Some(item) => used.push(item),
            // The item's own error already says what is wrong with it.
            None if items.named.contains(id.as_str()) => broken = true,
            None => {
                ctx.fail(field, format!("no item has the id `{id}`"));
                return None;
            }
        }
    }
    let conversion_value = entry.get("conversion");
    if method == Method::Mean && conversion_value.is_some() {
        ctx.fail(
            &at(path, "conversion"),
            "a conversion table needs whole-number raw scores, so it works only with method sum \
             or item",
        );
        return None;
    }
    if broken {
        return None;
    }
    let Some(raw) = possible_sums(&used) else {
        ctx.fail(path, "the items allow more than a million raw scores");
        return None;
    };
    let conversion = match conversion_value {
        Some(value) => Some(conversion(ctx, value, &at(path, "conversion"), &raw)?),
        None => None,
    };
    let reported: Vec<f64> = match (&conversion, method) {
        (Some(conversion), _) => sorted(conversion.table.values().copied().collect()),
        #[expect(
            clippy::cast_precision_loss,
            reason = "sums of answer values are far below 2^52"
        )]
        (None, Method::Mean) => raw
            .iter()
            .map(|sum| *sum as f64 / used.len() as f64)
            .collect(),
        #[expect(
            clippy::cast_precision_loss,
            reason = "sums of answer values are far below 2^52"
        )]
        (None, Method::Sum | Method::Item) => raw.iter().map(|sum| *sum as f64).collect(),
    };
    let kind = ScaleKind::Computed {
        method,
        items: ids.into_iter().map(|(_, id)| id).collect(),
        conversion,
    };
    Some((kind, Possible { reported }))
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values.dedup_by(|a, b| (*a - *b).abs() <= TOLERANCE);
    values
}

/// Every sum the items' scored values can make, built item by item. The set stays small: it
/// cannot exceed the span between the lowest and highest sum.
fn possible_sums(items: &[&Item]) -> Option<BTreeSet<i64>> {
    let mut sums = BTreeSet::from([0_i64]);
    for item in items {
        let values = item.scored_values();
        sums = sums
            .iter()
            .flat_map(|sum| values.iter().map(move |value| sum.saturating_add(*value)))
            .collect();
        if sums.len() > MAX_POSSIBLE_SCORES {
            return None;
        }
    }
    Some(sums)
}

fn conversion(
    ctx: &mut Ctx<'_>,
    value: &Value,
    field: &str,
    raw: &BTreeSet<i64>,
) -> Option<Conversion> {
    let rows = list(ctx, value, field)?;
    let errors_before = ctx.errors.len();
    let (low, high) = (raw.first().copied()?, raw.last().copied()?);
    let mut converted: BTreeMap<i64, f64> = BTreeMap::new();
    let mut first_of_raw: BTreeMap<i64, usize> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        let path = format!("{field}[{index}]");
        let Some(row) = table(ctx, row, &path) else {
            continue;
        };
        known_keys(ctx, row, &path, &["raw", "score"]);
        let raw_score =
            required(ctx, row, &path, "raw").and_then(|v| whole(ctx, v, &at(&path, "raw")));
        let score =
            required(ctx, row, &path, "score").and_then(|v| number(ctx, v, &at(&path, "score")));
        let (Some(raw_score), Some(score)) = (raw_score, score) else {
            continue;
        };
        if let Some(first) = first_of_raw.get(&raw_score) {
            ctx.fail(
                &at(&path, "raw"),
                format!("the raw score {raw_score} appears twice (also conversion[{first}])"),
            );
            continue;
        }
        if !raw.contains(&raw_score) {
            ctx.fail(
                &at(&path, "raw"),
                format!(
                    "the raw score {raw_score} cannot occur (possible raw scores {low}–{high})"
                ),
            );
            continue;
        }
        first_of_raw.insert(raw_score, index);
        converted.insert(raw_score, score);
    }
    if ctx.errors.len() != errors_before {
        return None;
    }
    let missing: Vec<String> = raw
        .iter()
        .filter(|raw_score| !converted.contains_key(raw_score))
        .map(ToString::to_string)
        .collect();
    if !missing.is_empty() {
        ctx.fail(
            field,
            format!(
                "no converted score for the raw score{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ),
        );
        return None;
    }
    Some(Conversion { table: converted })
}

fn external(ctx: &mut Ctx<'_>, entry: &Table, path: &str) -> Option<(ScaleKind, Possible)> {
    refuse_keys(
        ctx,
        entry,
        path,
        &["items", "item", "conversion"],
        "an external scale takes its score as recorded from the external tool, so it has no \
         items or conversion",
    );
    let field = at(path, "score");
    let Some(score) = entry.get("score") else {
        ctx.fail(
            &field,
            "an external scale needs its score range, e.g. score = { min = 0, max = 100 }",
        );
        return None;
    };
    let score = table(ctx, score, &field)?;
    known_keys(ctx, score, &field, &["min", "max", "decimals"]);
    let min = required(ctx, score, &field, "min").and_then(|v| number(ctx, v, &at(&field, "min")));
    let max = required(ctx, score, &field, "max").and_then(|v| number(ctx, v, &at(&field, "max")));
    let decimals = match score.get("decimals") {
        None => Some(0),
        Some(value) => match whole(ctx, value, &at(&field, "decimals")) {
            Some(decimals @ 0..=3) => u32::try_from(decimals).ok(),
            Some(_) => {
                ctx.fail(&at(&field, "decimals"), "use 0, 1, 2 or 3 decimal places");
                None
            }
            None => None,
        },
    };
    let levels = match entry.get("levels") {
        None => Some(Vec::new()),
        Some(value) => option_list(
            ctx,
            value,
            &at(path, "levels"),
            "an external scale with levels needs at least two of them",
        ),
    };
    let (min, max, decimals, levels) = (min?, max?, decimals?, levels?);
    if min >= max {
        ctx.fail(
            &field,
            format!("min ({}) must be below max ({})", num(min), num(max)),
        );
        return None;
    }
    let steps_per_unit = 10_f64.powi(i32::try_from(decimals).ok()?);
    let (low_steps, high_steps) = (
        (min * steps_per_unit).round(),
        (max * steps_per_unit).round(),
    );
    if (low_steps - min * steps_per_unit).abs() > 1e-6
        || (high_steps - max * steps_per_unit).abs() > 1e-6
    {
        ctx.fail(
            &field,
            format!("min and max must have at most {decimals} decimal places, as the scores do"),
        );
        return None;
    }
    if high_steps - low_steps >= MAX_POSSIBLE_SCORES as f64 {
        ctx.fail(
            &field,
            "the range allows more than a million scores; use fewer decimals",
        );
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "both ends are whole numbers of steps, bounded by the check above"
    )]
    let reported = ((low_steps as i64)..=(high_steps as i64))
        .map(|step| {
            #[expect(
                clippy::cast_precision_loss,
                reason = "at most a million steps, far below 2^52"
            )]
            let step = step as f64;
            step / steps_per_unit
        })
        .collect();
    Some((
        ScaleKind::External(ExternalScore {
            min,
            max,
            decimals,
            levels,
        }),
        Possible { reported },
    ))
}

fn bands(
    ctx: &mut Ctx<'_>,
    entry: &Table,
    path: &str,
    possible: Option<&Possible>,
) -> Option<Vec<Band>> {
    let field = at(path, "bands");
    let Some(value) = entry.get("bands") else {
        return Some(Vec::new());
    };
    let rows = list(ctx, value, &field)?;
    if rows.is_empty() {
        ctx.fail(&field, "give at least one band, or leave `bands` out");
        return None;
    }
    let errors_before = ctx.errors.len();
    let mut bands: Vec<(usize, Band)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let path = format!("{field}[{index}]");
        let Some(row) = table(ctx, row, &path) else {
            continue;
        };
        known_keys(ctx, row, &path, &["from", "to", "label"]);
        let from =
            required(ctx, row, &path, "from").and_then(|v| number(ctx, v, &at(&path, "from")));
        let to = required(ctx, row, &path, "to").and_then(|v| number(ctx, v, &at(&path, "to")));
        let label = text(ctx, row, &path, "label");
        let (Some(from), Some(to), Some(label)) = (from, to, label) else {
            continue;
        };
        if from > to {
            ctx.fail(
                &path,
                format!("`from` ({}) is above `to` ({})", num(from), num(to)),
            );
            continue;
        }
        if let Some(possible) = possible {
            let (low, high) = (
                possible.reported.first().copied()?,
                possible.reported.last().copied()?,
            );
            if from < low - TOLERANCE || to > high + TOLERANCE {
                ctx.fail(
                    &path,
                    format!(
                        "the band {} reaches outside the possible range {}",
                        range_text(from, to),
                        range_text(low, high)
                    ),
                );
                continue;
            }
        }
        bands.push((index, Band { from, to, label }));
    }
    if ctx.errors.len() != errors_before {
        return None;
    }
    bands.sort_by(|(_, a), (_, b)| a.from.total_cmp(&b.from));
    for pair in bands.windows(2) {
        let [(earlier_index, earlier), (later_index, later)] = pair else {
            continue;
        };
        if later.from <= earlier.to + TOLERANCE {
            ctx.fail(
                &format!("{field}[{later_index}]"),
                format!(
                    "the band {} overlaps bands[{earlier_index}] ({})",
                    range_text(later.from, later.to),
                    range_text(earlier.from, earlier.to)
                ),
            );
            return None;
        }
    }
    let bands: Vec<Band> = bands.into_iter().map(|(_, band)| band).collect();
    // A gap is a possible score that no band covers; the space between `to = 4` and `from = 5` on a
    // whole-number scale holds no score and is not a gap.
    if let Some(possible) = possible {
        if let Some(uncovered) = possible
            .reported
            .iter()
            .find(|score| !bands.iter().any(|band| band.contains(**score)))
        {
            ctx.fail(
                &field,
                format!("no band covers the possible score {}", num(*uncovered)),
            );
            return None;
        }
    }
    Some(bands)
}

fn meaningful_change(
    ctx: &mut Ctx<'_>,
    entry: &Table,
    path: &str,
    possible: Option<&Possible>,
) -> Option<Option<f64>> {
    let field = at(path, "meaningful_change");
    let Some(value) = entry.get("meaningful_change") else {
        return Some(None);
    };
    let change = number(ctx, value, &field)?;
    if change <= 0.0 {
        ctx.fail(&field, "must be above 0");
        return None;
    }
    if let Some(possible) = possible {
        let (low, high) = (
            possible.reported.first().copied()?,
            possible.reported.last().copied()?,
        );
        if change > high - low + TOLERANCE {
            ctx.fail(
                &field,
                format!(
                    "the meaningful change {} is larger than the whole possible range {}",
                    num(change),
                    range_text(low, high)
                ),
            );
            return None;
        }
    }
    Some(Some(change))
}
