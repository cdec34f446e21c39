//! The scalar functions the engine adds to DataFusion, each a thin wrapper over a `careweave_domain`
//! parser so that SQL and the rest of careweave agree on what a valid value is.
//!
//! Every function here is [`Volatility::Immutable`] (the same input always gives the same output, so
//! DataFusion may fold constants and reorder calls), takes exactly the argument types listed in its
//! contract, returns NULL for a NULL input, and never fails a query for a bad value: a bad value is
//! data, reported as a diagnostic by the caller.

use std::sync::Arc;

use careweave_domain::disclosure::SafeCount;
use careweave_domain::{NhsNumber, NhsNumberError, SnomedCode};
use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers every function of this module with `ctx`.
pub fn register_all(ctx: &SessionContext) {
    for f in all() {
        ctx.register_udf(f);
    }
}

/// Every function of this module. A cluster's scheduler and executors need the same functions as
/// the session that plans a run, so they take them from here rather than a list of their own.
#[must_use]
pub fn all() -> Vec<ScalarUDF> {
    let mut fns: Vec<ScalarUDF> = [
        TextFn::NhsNumberProblem,
        TextFn::NhsNumberDigits,
        TextFn::UnissuableIdProblem,
        TextFn::UnissuableIdDigits,
        TextFn::Icd10Normalise,
        TextFn::SnomedProblem,
    ]
    .into_iter()
    .map(|f| ScalarUDF::new_from_impl(TextUdf::new(f)))
    .collect();
    fns.push(ScalarUDF::new_from_impl(SafeCountUdf::new()));
    fns
}

/// The text-to-text functions, which share one implementation shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TextFn {
    /// `nhs_number_problem(Utf8) -> Utf8`: why the text is not a valid NHS number, or NULL when it
    /// is one (modulus-11 check digit, 10 digits, spaces and hyphens allowed).
    NhsNumberProblem,
    /// `nhs_number_digits(Utf8) -> Utf8`: the ten digits of a valid NHS number (spaces and hyphens
    /// removed), or NULL when the text is not one. The link key between tables.
    NhsNumberDigits,
    /// `unissuable_id_problem(Utf8) -> Utf8`: why the text is not an identifier of the synthetic
    /// unissuable scheme (see [`is_unissuable_identifier`]), or NULL when it is one. Ingest uses it
    /// in place of `nhs_number_problem` only for an extract whose manifest flags that scheme.
    UnissuableIdProblem,
    /// `unissuable_id_digits(Utf8) -> Utf8`: the ten digits of an identifier of the synthetic
    /// unissuable scheme, or NULL when the text is not one (a valid NHS number included, so that
    /// an extract flagged as synthetic cannot carry real people).
    UnissuableIdDigits,
    /// `icd10_normalise(Utf8) -> Utf8`: the ICD-10 code in its normal form (`E11.9`: upper case, a
    /// dot after the category, fillers and dagger/asterisk markers dropped; see [`crate::icd10`]),
    /// or NULL when the text does not have the shape of an ICD-10 code.
    Icd10Normalise,
    /// `snomed_problem(Utf8) -> Utf8`: why the text is not a SNOMED CT concept id, or NULL.
    SnomedProblem,
}

impl TextFn {
    fn name(self) -> &'static str {
        match self {
            TextFn::NhsNumberProblem => "nhs_number_problem",
            TextFn::NhsNumberDigits => "nhs_number_digits",
            TextFn::UnissuableIdProblem => "unissuable_id_problem",
            TextFn::UnissuableIdDigits => "unissuable_id_digits",
            TextFn::Icd10Normalise => "icd10_normalise",
            TextFn::SnomedProblem => "snomed_problem",
        }
    }

    fn apply(self, text: &str) -> Option<String> {
        match self {
            TextFn::NhsNumberProblem => match text.parse::<NhsNumber>() {
                Ok(_) => None,
                Err(e) => Some(describe_nhs_error(&e)),
            },
            TextFn::NhsNumberDigits => text.parse::<NhsNumber>().ok().map(|n| n.as_digits()),
            TextFn::UnissuableIdProblem => (!is_unissuable_identifier(text)).then(|| {
                "not an identifier of the synthetic unissuable scheme (ten digits, the first nine with no modulus-11 check digit, then 0)".to_owned()
            }),
            TextFn::UnissuableIdDigits => is_unissuable_identifier(text).then(|| text.to_owned()),
            TextFn::Icd10Normalise => crate::icd10::normalise(text),
            TextFn::SnomedProblem => text.parse::<SnomedCode>().err().map(|e| e.to_string()),
        }
    }
}

fn describe_nhs_error(e: &NhsNumberError) -> String {
    e.to_string()
}

/// Whether `text` is an identifier of the synthetic unissuable scheme that `careweave-synth` gives
/// the people of a multi-place extract (`docs/extract-schema.md`): exactly ten digits, the first
/// nine a body for which no modulus-11 check digit exists (so no NHS number is ever issued with
/// it), and 0 last. No such text is a valid NHS number.
#[must_use]
pub fn is_unissuable_identifier(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) || b[9] != b'0' {
        return false;
    }
    let mut body = [0u8; 9];
    for (d, c) in body.iter_mut().zip(b) {
        *d = c - b'0';
    }
    NhsNumber::check_digit(&body).is_none()
}

/// A scalar UDF `f(Utf8) -> Utf8` applying one [`TextFn`] row by row.
#[derive(Debug, PartialEq, Eq, Hash)]
struct TextUdf {
    which: TextFn,
    signature: Signature,
}

impl TextUdf {
    fn new(which: TextFn) -> Self {
        Self {
            which,
            // Any string type (Utf8, Utf8View, LargeUtf8); callers cast other types to text
            // explicitly, so that a Parquet column of integers is validated exactly as the same
            // column read from CSV.
            signature: Signature::string(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for TextUdf {
    fn name(&self) -> &str {
        self.which.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [input] = arrays.as_slice() else {
            return exec_err!("{} takes exactly one argument", self.name());
        };
        let input = cast(input, &DataType::Utf8)?;
        let input = input.as_string::<i32>();
        let out: StringArray = input
            .iter()
            .map(|v| v.and_then(|text| self.which.apply(text)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}

/// `safe_count(Int64) -> Int64`: disclosure control for one count, as
/// [`careweave_domain::disclosure::SafeCount`] defines it: NULL when the count is 7 or fewer
/// (including zero), otherwise the count rounded to the nearest 5. Negative counts are an error in
/// the query that produced them and fail the query.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SafeCountUdf {
    signature: Signature,
}

impl SafeCountUdf {
    fn new() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for SafeCountUdf {
    fn name(&self) -> &str {
        "safe_count"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [input] = arrays.as_slice() else {
            return exec_err!("safe_count takes exactly one argument");
        };
        let input = cast(input, &DataType::Int64)?;
        let input = input.as_primitive::<Int64Type>();
        let mut out = Vec::with_capacity(input.len());
        for v in input.iter() {
            out.push(match v {
                None => None,
                Some(n) => {
                    let Ok(raw) = u64::try_from(n) else {
                        return exec_err!("safe_count was given a negative count");
                    };
                    SafeCount::from_raw(raw)
                        .value()
                        .and_then(|v| i64::try_from(v).ok())
                }
            });
        }
        Ok(ColumnarValue::Array(
            Arc::new(Int64Array::from(out)) as ArrayRef
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;

    async fn one(sql: &str) -> String {
        let ctx = SessionContext::new();
        register_all(&ctx);
        let batches = ctx
            .sql(sql)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        pretty_format_batches(&batches).expect("format").to_string()
    }

    #[tokio::test]
    async fn nhs_numbers_are_checked_with_the_domain_rule() {
        let out = one(
            "SELECT nhs_number_digits('999 000 0018') AS ok, nhs_number_problem('9990000018') AS none, \
             nhs_number_problem('9990000019') IS NOT NULL AS bad, nhs_number_digits('12') AS short",
        )
        .await;
        assert!(out.contains("| 9990000018 |"), "{out}");
        assert!(out.contains("| true "), "{out}");
    }

    #[tokio::test]
    async fn unissuable_identifiers_are_a_separate_scheme() {
        // 000000006: weighted sum 12, so no check digit exists; 1000000010 likewise (sum 12).
        let out = one(
            "SELECT unissuable_id_digits('1000000010') AS ok, nhs_number_digits('1000000010') IS NULL AS not_nhs,              unissuable_id_digits('9990000018') IS NULL AS real_refused, unissuable_id_problem('1000000011') IS NOT NULL AS bad",
        )
        .await;
        assert!(out.contains("| 1000000010 | true"), "{out}");
        assert!(!out.contains("false"), "{out}");
        assert!(is_unissuable_identifier("0000000060"));
        assert!(!is_unissuable_identifier("9434765919"));
    }

    #[tokio::test]
    async fn icd10_codes_are_normalised_and_nonsense_is_null() {
        let out = one("SELECT icd10_normalise('e119') AS a, icd10_normalise('I10X') AS b, icd10_normalise('hello') IS NULL AS c, icd10_normalise('A170D') AS d").await;
        assert!(
            out.contains("E11.9")
                && out.contains("I10 ")
                && out.contains("true")
                && out.contains("A17.0"),
            "{out}"
        );
    }

    #[tokio::test]
    async fn safe_count_hides_small_numbers_and_rounds_the_rest() {
        let out = one("SELECT safe_count(CAST(7 AS BIGINT)) IS NULL AS hidden, safe_count(CAST(8 AS BIGINT)) AS eight, safe_count(CAST(1234 AS BIGINT)) AS big").await;
        assert!(
            out.contains("true") && out.contains("| 10 ") && out.contains("1235"),
            "{out}"
        );
    }
}
