//! Spec tests: tiny inline patient tables and the expected per-person results, through one
//! `check()` helper. Each test is a hand-computed case from a score's published definition or a
//! rule file, and doubles as documentation of what the engine does.

use std::collections::BTreeMap;
use std::path::Path;

use careweave_domain::NhsNumber;
use careweave_population::{Codelists, Engine, RunSettings};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// The test person `n`: the `n`th valid NHS number in the 999 test range (some nine-digit stems
/// have no valid check digit, so they are skipped).
fn nhs(n: u32) -> String {
    let mut found = 0;
    for stem in 999_000_001u32.. {
        let digits = stem.to_string();
        let mut first = [0u8; 9];
        for (i, c) in digits.bytes().enumerate() {
            first[i] = c - b'0';
        }
        if let Some(number) = NhsNumber::from_first_nine(first) {
            found += 1;
            if found == n {
                return number.as_digits();
            }
        }
    }
    unreachable!("the test range holds more numbers than any test uses")
}

/// An extract in CSV: table name → rows after the header. Practices and LSOAs default to one
/// practice in a decile-1 LSOA.
#[derive(Default)]
struct Extract {
    tables: BTreeMap<&'static str, String>,
}

impl Extract {
    fn new() -> Self {
        let mut me = Self::default();
        me.tables
            .insert("pcns", "pcn_code,name\nU1,PCN One\n".into());
        me.tables.insert(
            "practices",
            "ods_code,name,pcn_code\nP1,Practice One,U1\n".into(),
        );
        me.tables.insert(
            "lsoas",
            "lsoa_code,name,imd_decile\nE01000001,Area one,1\nE01000002,Area two,8\n".into(),
        );
        me.tables.insert("persons", "person_id,nhs_number,date_of_birth,sex,ethnic_category,lsoa_code,practice_ods_code,date_of_death\n".into());
        me.tables.insert(
            "conditions",
            "person_id,condition,snomed_code,onset_date\n".into(),
        );
        me.tables.insert("admissions", "admission_id,person_id,admission_date,discharge_date,admission_method,primary_diagnosis\n".into());
        me.tables.insert(
            "admission_diagnoses",
            "admission_id,position,icd10_code\n".into(),
        );
        me.tables.insert(
            "medication_counts",
            "person_id,period_end,repeat_medications\n".into(),
        );
        me.tables.insert(
            "gp_appointments",
            "person_id,appointment_date,attended\n".into(),
        );
        me
    }

    /// Person `n` (person_id `n`) born on `dob`, in a decile-1 LSOA.
    fn person(mut self, n: u32, dob: &str, sex: &str) -> Self {
        let row = format!("{n},{},{dob},{sex},A,E01000001,P1,\n", nhs(n));
        self.tables
            .get_mut("persons")
            .expect("persons")
            .push_str(&row);
        self
    }

    fn row(mut self, table: &'static str, row: &str) -> Self {
        let t = self.tables.entry(table).or_default();
        t.push_str(row);
        t.push('\n');
        self
    }

    /// A coded event in the GP record (written to `conditions`, which the engine reads like any
    /// other coded table).
    fn event(self, n: u32, date: &str, code: &str) -> Self {
        self.row("conditions", &format!("{n},test,{code},{date}"))
    }

    /// An admission with its diagnoses (first is primary).
    fn admission(
        self,
        n: u32,
        id: u32,
        admitted: &str,
        discharged: &str,
        emergency: bool,
        codes: &[&str],
    ) -> Self {
        let method = if emergency { "emergency" } else { "elective" };
        let mut me = self.row(
            "admissions",
            &format!("{id},{n},{admitted},{discharged},{method},{}", codes[0]),
        );
        for (i, code) in codes.iter().enumerate() {
            me = me.row("admission_diagnoses", &format!("{id},{},{code}", i + 1));
        }
        me
    }

    fn write(&self, dir: &Path) {
        for (name, text) in &self.tables {
            std::fs::write(dir.join(format!("{name}.csv")), text).expect("write table");
        }
    }
}

/// Every ICD-10 code used in these tests, and the SNOMED lists the shipped configuration names.
fn test_codelists() -> Codelists {
    let icd = "code,term\nI21.9,a\nE11.2,a\nE11.9,a\nC78.0,a\nC50.9,a\nK70.3,a\nK72.1,a\nI50.0,a\nF03,a\nJ44.1,a\nN18.3,a\nF00.1,a\nW19,a\nG81.9,a\nR29.6,a\nN39.0,a\nJ18.9,a\nS72.0,a\n";
    let mut lists: Vec<(String, String)> = vec![("icd10/test".into(), icd.into())];
    for (name, code) in [
        ("hypertension", "38341003"),
        ("diabetes", "44054006"),
        ("asthma", "195967001"),
        ("copd", "13645005"),
        ("chd", "414545008"),
        ("heart_failure", "84114007"),
        ("atrial_fibrillation", "49436004"),
        ("stroke", "230690007"),
        ("ckd", "709044004"),
        ("cancer", "363346000"),
        ("dementia", "52448006"),
        ("depression", "35489007"),
        ("anxiety", "197480006"),
        ("severe_mental_illness", "58214004"),
        ("learning_disability", "110359009"),
        ("chronic_pain", "82423001"),
        ("obesity", "414916001"),
        ("substance_misuse", "66590003"),
        ("osteoarthritis", "396275006"),
    ] {
        lists.push((format!("snomed/{name}"), format!("code,term\n{code},x\n")));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in &lists {
        let path = dir.path().join(format!("{name}.csv"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    Codelists::load(&[dir.path().to_path_buf()]).expect("codelists")
}

/// The shipped settings at the index date the cases below were computed for.
fn settings() -> RunSettings {
    let mut s = RunSettings::defaults().expect("defaults");
    s.config.index_date = chrono::NaiveDate::from_ymd_opt(2026, 3, 31).expect("date");
    s
}

/// Runs the analysis over `extract` and checks `expected` (person, column, value as displayed).
async fn check(extract: &Extract, expected: &[(u32, &str, &str)]) -> Engine {
    let dir = tempfile::tempdir().expect("tempdir");
    extract.write(dir.path());
    let engine = Engine::new(settings(), test_codelists()).expect("engine");
    engine
        .analyse(dir.path(), &mut |_| {})
        .await
        .expect("analysis");
    for (n, column, want) in expected {
        let got = value(&engine, "person", *n, column).await;
        assert_eq!(got.as_deref(), Some(*want), "person {n}, column {column}");
    }
    engine
}

async fn value(engine: &Engine, table: &str, n: u32, column: &str) -> Option<String> {
    let batches = engine
        .context()
        .sql(&format!(
            "SELECT CAST({column} AS VARCHAR) AS v FROM {table} WHERE nhs_number = '{}'",
            nhs(n)
        ))
        .await
        .expect("plan")
        .collect()
        .await
        .expect("run");
    let b = batches.iter().find(|b| b.num_rows() > 0)?;
    let f = ArrayFormatter::try_new(
        b.column(0).as_ref(),
        &FormatOptions::default().with_null("NULL"),
    )
    .expect("fmt");
    Some(f.value(0).to_string())
}

#[tokio::test]
async fn charlson_applies_quan_2005_codes_both_weightings_and_the_severity_hierarchy() {
    // Person 1: MI (1987: 1, 2011: 0); diabetes with and without complication, so only the complicated
    // form counts (2 / 1); any malignancy and metastasis, so only metastasis (6 / 6); mild and severe
    // liver disease, so only severe (3 / 4). Totals 12 and 11.
    // Person 2: heart failure (1 / 2), dementia F03 (1 / 2), COPD J44 (1 / 1), CKD N18 (2 / 1): 5 and 6.
    // Person 3: an MI seven years ago is outside the five-year window: 0 and 0.
    // Age points (one a decade from 50, at most four) at the index date 2026-03-31: person 1 is 76
    // (3), person 2 is 85 (4, the cap), person 3 is 81 (4), person 4 is 36 (0), person 5 is 53 (1).
    // The default score `charlson` is Quan 2011 without age points.
    let e = Extract::new()
        .person(1, "1950-01-01", "M")
        .person(2, "1940-06-01", "F")
        .person(3, "1945-01-01", "F")
        .person(4, "1990-01-01", "F")
        .person(5, "1972-06-01", "M")
        .admission(
            1,
            6501,
            "2025-05-01",
            "2025-05-04",
            true,
            &["I21.9", "E11.2", "E11.9"],
        )
        .admission(
            1,
            6502,
            "2024-01-10",
            "2024-01-12",
            false,
            &["C50.9", "C78.0", "K70.3", "K72.1"],
        )
        .admission(
            2,
            6503,
            "2025-11-01",
            "2025-11-08",
            true,
            &["I50.0", "F03", "J44.1", "N18.3"],
        )
        .admission(3, 6504, "2019-02-01", "2019-02-03", true, &["I21.9"]);
    check(
        &e,
        &[
            (1, "charlson_1987", "12"),
            (1, "charlson_quan_2011", "11"),
            (1, "charlson_diab", "true"),
            (2, "charlson_1987", "5"),
            (2, "charlson_quan_2011", "6"),
            (3, "charlson_1987", "0"),
            (3, "charlson_quan_2011", "0"),
            (1, "charlson_age_points", "3"),
            (1, "charlson_1987_age_adjusted", "15"),
            (1, "charlson_quan_2011_age_adjusted", "14"),
            (1, "charlson", "11"),
            (1, "charlson_variant", "Quan 2011 weights"),
            (2, "charlson_age_points", "4"),
            (2, "charlson_quan_2011_age_adjusted", "10"),
            (3, "charlson_quan_2011_age_adjusted", "4"),
            (4, "charlson_age_points", "0"),
            (5, "charlson_age_points", "1"),
            (5, "charlson_1987_age_adjusted", "1"),
        ],
    )
    .await;
}

#[tokio::test]
async fn hfrs_counts_each_category_once_in_two_years_and_bands_at_5_and_15() {
    // Person 1: F00 (7.1) on two admissions counts once, plus W19 (3.2): 10.3, intermediate.
    // Person 2: G81 4.4 + F00 7.1 + R29 3.6 + N39 3.2 = 18.3, high.
    // Person 3: J18 (1.1) in the window; S72 (1.4) three years ago is outside it: 1.1, low.
    // Person 4 is 60: the score is given (7.1) but no band, which is validated from 75 only.
    let e = Extract::new()
        .person(1, "1935-01-01", "F")
        .person(2, "1932-01-01", "M")
        .person(3, "1940-01-01", "F")
        .person(4, "1966-01-01", "F")
        .admission(4, 6506, "2025-06-01", "2025-06-03", true, &["F00.1"])
        .admission(1, 6501, "2025-01-05", "2025-01-09", true, &["F00.1", "W19"])
        .admission(1, 6502, "2025-09-05", "2025-09-06", true, &["F00.1"])
        .admission(
            2,
            6503,
            "2025-03-01",
            "2025-03-20",
            true,
            &["G81.9", "F00.1", "R29.6", "N39.0"],
        )
        .admission(3, 6504, "2026-01-01", "2026-01-03", true, &["J18.9"])
        .admission(3, 6505, "2023-01-01", "2023-01-03", true, &["S72.0"]);
    check(
        &e,
        &[
            (1, "hfrs", "10.3"),
            (1, "hfrs_band", "intermediate"),
            (2, "hfrs", "18.3"),
            (2, "hfrs_band", "high"),
            (3, "hfrs", "1.1"),
            (3, "hfrs_band", "low"),
            (4, "hfrs", "7.1"),
            (4, "hfrs_band", "NULL"),
        ],
    )
    .await;
}

#[tokio::test]
async fn cms_sums_payne_2020_general_outcome_weights_once_per_condition() {
    // Person 1: dementia 2.50 + diabetes 0.75 + hypertension 0.08 = 3.33.
    // Person 2: anxiety and depression are one condition (0.50); a cancer first and last coded six
    // years ago is not a diagnosis in the last five years: 0.50.
    let e = Extract::new()
        .person(1, "1940-01-01", "F")
        .person(2, "1980-01-01", "M")
        .event(1, "2020-01-01", "52448006")
        .event(1, "2015-01-01", "44054006")
        .event(1, "2010-01-01", "38341003")
        .event(2, "2022-01-01", "197480006")
        .event(2, "2023-01-01", "35489007")
        .event(2, "2020-01-01", "363346000");
    check(
        &e,
        &[
            (1, "cms", "3.33"),
            (2, "cms", "0.5"),
            (1, "ltc_count", "3"),
            (2, "ltc_count", "3"),
        ],
    )
    .await;
}

#[tokio::test]
async fn efi_divides_deficits_by_36_and_categorises_from_65() {
    // Person 1 (76): four deficits, 4/36 = 0.1111, fit. Person 2 (76): five deficits, 0.1389, mild.
    // Person 3 (76): eight coded deficits plus polypharmacy (six repeat medicines) = 9, 0.25,
    // moderate. Person 4 (60): the same nine deficits, no category under 65.
    let four = ["161898004", "82971005", "165232002", "15188001"];
    let more = ["397540003", "404640003", "267036007", "160689007"];
    let mut e = Extract::new()
        .person(1, "1950-01-01", "F")
        .person(2, "1950-01-01", "F")
        .person(3, "1950-01-01", "M")
        .person(4, "1966-01-01", "M");
    for code in four {
        for n in 1..=4 {
            e = e.event(n, "2024-02-02", code);
        }
    }
    e = e.event(2, "2024-03-03", more[0]);
    for code in more {
        e = e.event(3, "2024-03-03", code).event(4, "2024-03-03", code);
    }
    e = e
        .row("medication_counts", "3,2026-01-01,6")
        .row("medication_counts", "4,2026-01-01,6");
    check(
        &e,
        &[
            (1, "efi_deficits", "4"),
            (1, "efi_category", "fit"),
            (2, "efi_category", "mild"),
            (3, "efi_deficits", "9"),
            (3, "efi", "0.25"),
            (3, "efi_category", "moderate"),
            (3, "efi_polypharmacy", "true"),
            (4, "efi_deficits", "9"),
            (4, "efi_category", "NULL"),
        ],
    )
    .await;
}

#[tokio::test]
async fn every_person_gets_exactly_one_segment_by_the_first_rule_that_holds() {
    // One person per Bridges to Health rule, highest priority first.
    let e = Extract::new()
        .person(1, "1950-01-01", "M")
        .admission(1, 6501, "2025-06-01", "2025-06-05", true, &["C78.0"])
        .person(2, "1935-01-01", "F")
        .event(2, "2020-01-01", "52448006")
        .person(3, "1950-01-01", "M")
        .event(3, "2020-01-01", "84114007")
        .admission(3, 6503, "2025-07-01", "2025-07-05", true, &["I50.0"])
        .person(4, "1990-01-01", "F")
        .event(4, "2010-01-01", "110359009")
        .person(5, "1970-01-01", "M")
        .event(5, "2015-01-01", "38341003")
        .person(6, "1995-01-01", "F")
        .admission(6, 6506, "2025-08-01", "2025-08-02", true, &["J18.9"])
        .person(7, "2025-12-01", "F")
        .person(8, "2000-01-01", "M")
        // Dementia outranks the chronic-condition rule that also holds for person 2.
        .event(2, "2019-01-01", "38341003");
    let engine = check(
        &e,
        &[
            (1, "segment_rule", "end_of_life_cancer"),
            (2, "segment_rule", "dementia_or_severe_frailty"),
            (2, "segment", "Long-term frailty"),
            (3, "segment_rule", "organ_failure_with_exacerbations"),
            (4, "segment_rule", "serious_disability"),
            (5, "segment_rule", "long_term_condition"),
            (6, "segment_rule", "acute_episode"),
            (7, "segment_rule", "infant"),
            (8, "segment", "Healthy"),
        ],
    )
    .await;
    let counts = engine.context().sql("SELECT count(*) AS n, count(DISTINCT nhs_number) AS d FROM person WHERE segment IS NOT NULL").await.expect("plan").collect().await.expect("run");
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&counts)
        .expect("fmt")
        .to_string();
    assert!(text.contains("| 8 | 8 |"), "{text}");
}

#[tokio::test]
async fn shipped_cohorts_say_which_criteria_each_person_met() {
    // Forty people; person 1 is the costliest (two emergency admissions, two falls, six medicines):
    // in the top 10% and the top 3% (1/40), Wokingham triggers unplanned_admissions, falls and
    // polypharmacy. Person 2 (one emergency admission) is in the top 10% (2/40) but meets no
    // trigger, so is not on the list, and is not in the top 3%.
    // Person 3 (70) has nine eFI deficits: moderate frailty. Everyone lives in a decile-1 LSOA, so
    // all are Core20; person 4 misses three GP appointments and has financial and housing problems:
    // Focused Care criteria two_or_more_need_domains and missed_appointments.
    let mut e = Extract::new();
    for n in 1..=40 {
        e = e.person(n, "1956-01-01", if n % 2 == 0 { "F" } else { "M" });
    }
    e = e
        .admission(1, 6501, "2025-06-01", "2025-06-20", true, &["J18.9", "W19"])
        .admission(1, 6502, "2025-09-01", "2025-09-25", true, &["S72.0", "W19"])
        .row("medication_counts", "1,2026-02-01,6")
        .admission(2, 6503, "2025-06-01", "2025-06-01", true, &["J18.9"]);
    for code in [
        "161898004",
        "82971005",
        "165232002",
        "15188001",
        "397540003",
        "404640003",
        "267036007",
        "160689007",
        "64859006",
    ] {
        e = e.event(3, "2024-01-01", code);
    }
    for d in ["2025-05-01", "2025-06-01", "2025-07-01"] {
        e = e.row("gp_appointments", &format!("4,{d},false"));
    }
    e = e
        .event(4, "2025-10-01", "160932005")
        .event(4, "2025-10-01", "105531004");
    let engine = check(
        &e,
        &[
            (1, "falls", "2"),
            (1, "emergency_admissions", "2"),
            (3, "efi_category", "moderate"),
        ],
    )
    .await;
    assert_eq!(
        value(&engine, "cohort_wokingham_mdt", 1, "criteria_met")
            .await
            .as_deref(),
        Some("unplanned_admissions, falls, polypharmacy")
    );
    assert_eq!(
        value(&engine, "cohort_wokingham_mdt", 2, "criteria_met").await,
        None
    );
    assert_eq!(
        value(&engine, "cohort_top3", 1, "criteria_met")
            .await
            .as_deref(),
        Some("top_3_percent_cost")
    );
    assert_eq!(value(&engine, "cohort_top3", 2, "criteria_met").await, None);
    assert_eq!(
        value(&engine, "cohort_frailty", 3, "criteria_met")
            .await
            .as_deref(),
        Some("moderate_frailty")
    );
    assert_eq!(
        value(&engine, "cohort_frailty", 1, "criteria_met").await,
        None
    );
    assert_eq!(
        value(&engine, "cohort_focused_care", 4, "criteria_met")
            .await
            .as_deref(),
        Some("two_or_more_need_domains, missed_appointments")
    );
    assert_eq!(
        value(&engine, "cohort_core20plus5", 5, "criteria_met")
            .await
            .as_deref(),
        Some("core20")
    );
}

#[tokio::test]
async fn broken_rows_are_reported_with_file_line_and_field_and_the_counts_reconcile() {
    let e = Extract::new()
        .person(1, "1950-01-01", "M")
        // Line 3: a bad check digit. Line 4: born in the future. Line 5: person 1 again.
        .row("persons", "9,9990000019,1960-01-01,F,A,E01000001,P1,")
        .row(
            "persons",
            &format!("2,{},2030-01-01,F,A,E01000001,P1,", nhs(2)),
        )
        .row(
            "persons",
            &format!("5,{},1950-01-01,M,A,E01000001,P1,", nhs(1)),
        )
        // Line 6: a value a spreadsheet would run as a formula; diagnostics.csv must defuse it.
        .row("persons", "6,@SUM(A1:A9),1960-01-01,F,A,E01000001,P1,")
        // Coded events: good (line 2), unknown code (3), orphan (4), not a date (5), before birth (6).
        .event(1, "2020-01-01", "38341003")
        .event(1, "2020-01-01", "999999999999")
        .event(3, "2020-01-01", "38341003")
        .event(1, "2020-13-45", "38341003")
        .event(1, "1940-01-01", "38341003");
    let dir = tempfile::tempdir().expect("tempdir");
    e.write(dir.path());
    let out = tempfile::tempdir().expect("out");
    let engine = Engine::new(settings(), test_codelists()).expect("engine");
    let summary = engine
        .run(dir.path(), out.path(), &mut |_| {})
        .await
        .expect("run");
    for t in &summary.tables {
        assert_eq!(t.read, t.accepted + t.rejected, "{}", t.table);
    }
    let patients = summary
        .tables
        .iter()
        .find(|t| t.table == "persons")
        .expect("persons");
    assert_eq!(
        (patients.read, patients.accepted, patients.rejected),
        (5, 1, 4)
    );
    let events = summary
        .tables
        .iter()
        .find(|t| t.table == "conditions")
        .expect("conditions");
    assert_eq!((events.read, events.accepted, events.rejected), (5, 1, 4));
    let diagnostics =
        std::fs::read_to_string(out.path().join("diagnostics.csv")).expect("diagnostics");
    assert!(diagnostics.contains(",'@SUM(A1:A9)"), "{diagnostics}");
    assert!(!diagnostics.contains(",@SUM"), "{diagnostics}");
    let lines: Vec<(String, String, String)> = diagnostics
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let file = Path::new(cells[0])
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (file, cells[1].to_owned(), cells[2].to_owned())
        })
        .collect();
    for expected in [
        ("persons.csv", "3", "nhs_number"),
        ("persons.csv", "4", "date_of_birth"),
        ("persons.csv", "5", "nhs_number"),
        ("persons.csv", "6", "nhs_number"),
        ("conditions.csv", "3", "snomed_code"),
        ("conditions.csv", "4", "person_id"),
        ("conditions.csv", "5", "onset_date"),
        ("conditions.csv", "6", "onset_date"),
    ] {
        let want = (
            expected.0.to_owned(),
            expected.1.to_owned(),
            expected.2.to_owned(),
        );
        assert!(
            lines.contains(&want),
            "{expected:?} missing from\n{diagnostics}"
        );
    }
    assert!(diagnostics.contains("orphan record"), "{diagnostics}");
    assert!(out.path().join("person.parquet").is_file());
    assert!(out.path().join("place_profiles.parquet").is_file());
}
