//! Every clinical code the generator emits, grouped by the codelist file that holds it.
//!
//! The CSV codelists under the repository's top-level `codelists/` folder are the published form of
//! these tables; a test checks that every code here appears in the file named by its `codelist`, so the
//! population engine, which reads the files, recognises everything the generator writes.

/// A long-term condition the generator can give a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    Hypertension,
    Diabetes,
    Asthma,
    Copd,
    Chd,
    HeartFailure,
    AtrialFibrillation,
    Stroke,
    Ckd,
    Cancer,
    Dementia,
    Depression,
    Anxiety,
    SevereMentalIllness,
    LearningDisability,
    ChronicPain,
    Obesity,
    SubstanceMisuse,
    Osteoarthritis,
    Epilepsy,
}

impl Condition {
    /// Every condition, in the order the generator decides them (causes before consequences).
    pub const ALL: [Condition; 20] = [
        Condition::Obesity,
        Condition::Hypertension,
        Condition::Diabetes,
        Condition::Ckd,
        Condition::Chd,
        Condition::AtrialFibrillation,
        Condition::HeartFailure,
        Condition::Stroke,
        Condition::Asthma,
        Condition::Copd,
        Condition::Cancer,
        Condition::Dementia,
        Condition::LearningDisability,
        Condition::SevereMentalIllness,
        Condition::SubstanceMisuse,
        Condition::Depression,
        Condition::Anxiety,
        Condition::Osteoarthritis,
        Condition::ChronicPain,
        // Last, so that adding it left the draws of every earlier condition as they were.
        Condition::Epilepsy,
    ];

    /// The codelist name: the file `codelists/snomed/<name>.csv` and the `condition` column value.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Condition::Hypertension => "hypertension",
            Condition::Diabetes => "diabetes",
            Condition::Asthma => "asthma",
            Condition::Copd => "copd",
            Condition::Chd => "chd",
            Condition::HeartFailure => "heart_failure",
            Condition::AtrialFibrillation => "atrial_fibrillation",
            Condition::Stroke => "stroke",
            Condition::Ckd => "ckd",
            Condition::Cancer => "cancer",
            Condition::Dementia => "dementia",
            Condition::Depression => "depression",
            Condition::Anxiety => "anxiety",
            Condition::SevereMentalIllness => "severe_mental_illness",
            Condition::LearningDisability => "learning_disability",
            Condition::ChronicPain => "chronic_pain",
            Condition::Obesity => "obesity",
            Condition::SubstanceMisuse => "substance_misuse",
            Condition::Osteoarthritis => "osteoarthritis",
            Condition::Epilepsy => "epilepsy",
        }
    }

    /// The SNOMED CT concepts used for this condition, with their terms; the generator picks one.
    #[must_use]
    pub fn snomed(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Condition::Hypertension => &[("38341003", "Hypertensive disorder, systemic arterial")],
            Condition::Diabetes => &[
                ("44054006", "Diabetes mellitus type 2"),
                ("46635009", "Diabetes mellitus type 1"),
            ],
            Condition::Asthma => &[("195967001", "Asthma")],
            Condition::Copd => &[("13645005", "Chronic obstructive lung disease")],
            Condition::Chd => &[("414545008", "Ischaemic heart disease")],
            Condition::HeartFailure => &[("84114007", "Heart failure")],
            Condition::AtrialFibrillation => &[("49436004", "Atrial fibrillation")],
            Condition::Stroke => &[("230690007", "Cerebrovascular accident")],
            Condition::Ckd => &[("709044004", "Chronic kidney disease")],
            // Cancer by site, in the variant order of `cancer_site`: a hospital codes the site.
            Condition::Cancer => &[
                ("254837009", "Malignant neoplasm of breast"),
                ("399068003", "Malignant tumor of prostate"),
                ("363406005", "Malignant tumor of colon"),
                ("363358000", "Malignant tumor of lung"),
                ("118601006", "Non-Hodgkin's lymphoma"),
            ],
            Condition::Dementia => &[("52448006", "Dementia")],
            Condition::Depression => &[("35489007", "Depressive disorder")],
            Condition::Anxiety => &[("197480006", "Anxiety disorder")],
            Condition::SevereMentalIllness => &[
                ("58214004", "Schizophrenia"),
                ("13746004", "Bipolar disorder"),
            ],
            Condition::LearningDisability => &[("110359009", "Intellectual disability")],
            Condition::ChronicPain => &[("82423001", "Chronic pain")],
            Condition::Obesity => &[("414916001", "Obesity")],
            Condition::SubstanceMisuse => &[
                ("66590003", "Alcohol dependence"),
                ("191816009", "Drug dependence"),
            ],
            Condition::Osteoarthritis => &[("396275006", "Osteoarthritis")],
            Condition::Epilepsy => &[("84757009", "Epilepsy")],
        }
    }

    /// The ICD-10 code a hospital records for this condition as a secondary diagnosis. The index
    /// matches [`Condition::snomed`] when a condition has several concepts.
    #[must_use]
    pub fn icd10(self, variant: usize) -> (&'static str, &'static str) {
        match (self, variant) {
            (Condition::Hypertension, _) => ("I10", "Essential (primary) hypertension"),
            (Condition::Diabetes, 1) => ("E10.9", "Type 1 diabetes mellitus without complications"),
            (Condition::Diabetes, _) => ("E11.9", "Type 2 diabetes mellitus without complications"),
            (Condition::Asthma, _) => ("J45.9", "Asthma, unspecified"),
            (Condition::Copd, _) => (
                "J44.9",
                "Chronic obstructive pulmonary disease, unspecified",
            ),
            (Condition::Chd, _) => ("I25.9", "Chronic ischaemic heart disease, unspecified"),
            (Condition::HeartFailure, _) => ("I50.9", "Heart failure, unspecified"),
            (Condition::AtrialFibrillation, _) => (
                "I48.9",
                "Atrial fibrillation and atrial flutter, unspecified",
            ),
            (Condition::Stroke, _) => (
                "I69.4",
                "Sequelae of stroke, not specified as haemorrhage or infarction",
            ),
            (Condition::Ckd, _) => ("N18.3", "Chronic kidney disease, stage 3"),
            (Condition::Cancer, 0) => ("C50.9", "Malignant neoplasm: Breast, unspecified"),
            (Condition::Cancer, 1) => ("C61", "Malignant neoplasm of prostate"),
            (Condition::Cancer, 2) => ("C18.9", "Malignant neoplasm: Colon, unspecified"),
            (Condition::Cancer, 3) => {
                ("C34.9", "Malignant neoplasm: Bronchus or lung, unspecified")
            }
            (Condition::Cancer, _) => ("C85.9", "Non-Hodgkin's lymphoma, unspecified type"),
            (Condition::Dementia, _) => ("F03", "Unspecified dementia"),
            (Condition::Depression, _) => ("F32.9", "Depressive episode, unspecified"),
            (Condition::Anxiety, _) => ("F41.1", "Generalized anxiety disorder"),
            (Condition::SevereMentalIllness, 1) => {
                ("F31.9", "Bipolar affective disorder, unspecified")
            }
            (Condition::SevereMentalIllness, _) => ("F20.9", "Schizophrenia, unspecified"),
            (Condition::LearningDisability, _) => (
                "F79.9",
                "Unspecified mental retardation without mention of impairment of behaviour",
            ),
            (Condition::ChronicPain, _) => ("R52.2", "Other chronic pain"),
            (Condition::Obesity, _) => ("E66.9", "Obesity, unspecified"),
            (Condition::SubstanceMisuse, 1) => (
                "F19.2",
                "Mental and behavioural disorders due to multiple drug use: dependence syndrome",
            ),
            (Condition::SubstanceMisuse, _) => (
                "F10.2",
                "Mental and behavioural disorders due to use of alcohol: dependence syndrome",
            ),
            (Condition::Osteoarthritis, _) => ("M19.9", "Arthrosis, unspecified"),
            (Condition::Epilepsy, _) => ("G40.9", "Epilepsy, unspecified"),
        }
    }

    /// The secondary (metastatic) site a hospital codes for a cancer that has spread, by the
    /// variant of [`Condition::snomed`]; `None` for a condition that does not metastasise in this
    /// model (lymphoma is staged, not coded as a secondary).
    #[must_use]
    pub fn metastasis_icd10(self, variant: usize) -> Option<(&'static str, &'static str)> {
        match (self, variant) {
            // Breast and prostate cancer spread first to bone, colon cancer to the liver, lung
            // cancer to the brain and the other lung.
            (Condition::Cancer, 0 | 1) => Some((
                "C79.5",
                "Secondary malignant neoplasm of bone and bone marrow",
            )),
            (Condition::Cancer, 2) => Some(("C78.7", "Secondary malignant neoplasm of liver")),
            (Condition::Cancer, 3) => Some((
                "C79.3",
                "Secondary malignant neoplasm of brain and cerebral meninges",
            )),
            _ => None,
        }
    }

    /// Whether the electronic Frailty Index counts this condition among its 36 deficits.
    #[must_use]
    pub fn is_efi_deficit(self) -> bool {
        matches!(
            self,
            Condition::Hypertension
                | Condition::Diabetes
                | Condition::Asthma
                | Condition::Copd
                | Condition::Chd
                | Condition::HeartFailure
                | Condition::AtrialFibrillation
                | Condition::Stroke
                | Condition::Ckd
                | Condition::Dementia
                | Condition::Osteoarthritis
        )
    }
}

/// A social need recorded in the GP record as a SNOMED CT finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SocialNeed {
    HousingProblem,
    Homeless,
    FinancialProblem,
    SocialIsolation,
    DomesticAbuse,
    Unemployed,
    Carer,
}

impl SocialNeed {
    /// Every social need, in the order the generator decides them.
    pub const ALL: [SocialNeed; 7] = [
        SocialNeed::Unemployed,
        SocialNeed::FinancialProblem,
        SocialNeed::HousingProblem,
        SocialNeed::Homeless,
        SocialNeed::SocialIsolation,
        SocialNeed::DomesticAbuse,
        SocialNeed::Carer,
    ];

    /// The `need` column value; every social need code is in `codelists/snomed/social_needs.csv`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SocialNeed::HousingProblem => "housing_problem",
            SocialNeed::Homeless => "homeless",
            SocialNeed::FinancialProblem => "financial_problem",
            SocialNeed::SocialIsolation => "social_isolation",
            SocialNeed::DomesticAbuse => "domestic_abuse",
            SocialNeed::Unemployed => "unemployed",
            SocialNeed::Carer => "carer",
        }
    }

    /// The SNOMED CT concept and its term.
    #[must_use]
    pub fn snomed(self) -> (&'static str, &'static str) {
        match self {
            SocialNeed::HousingProblem => ("105531004", "Housing unsatisfactory"),
            SocialNeed::Homeless => ("32911000", "Homeless"),
            SocialNeed::FinancialProblem => ("160932005", "Financial problem"),
            SocialNeed::SocialIsolation => ("422650009", "Social isolation"),
            SocialNeed::DomesticAbuse => ("706893006", "Victim of intimate partner abuse"),
            SocialNeed::Unemployed => ("73438004", "Unemployed"),
            SocialNeed::Carer => ("302767002", "Caring for family"),
        }
    }
}

/// A frailty deficit of the electronic Frailty Index that is not itself a long-term condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FrailtyDeficit {
    Falls,
    MobilityProblem,
    UrinaryIncontinence,
    HearingImpairment,
    VisualImpairment,
    Dizziness,
    Dyspnoea,
    Housebound,
    MemoryProblem,
    Osteoporosis,
    Anaemia,
    /// Five or more repeat medicines; the eFI derives it from prescribing, so it has no code.
    Polypharmacy,
}

impl FrailtyDeficit {
    /// The coded deficits, in the order the generator decides them (polypharmacy is derived).
    pub const CODED: [FrailtyDeficit; 11] = [
        FrailtyDeficit::Falls,
        FrailtyDeficit::MobilityProblem,
        FrailtyDeficit::UrinaryIncontinence,
        FrailtyDeficit::HearingImpairment,
        FrailtyDeficit::VisualImpairment,
        FrailtyDeficit::Dizziness,
        FrailtyDeficit::Dyspnoea,
        FrailtyDeficit::Housebound,
        FrailtyDeficit::MemoryProblem,
        FrailtyDeficit::Osteoporosis,
        FrailtyDeficit::Anaemia,
    ];

    /// The `deficit` column value; coded deficits are in `codelists/snomed/frailty_deficits.csv`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            FrailtyDeficit::Falls => "falls",
            FrailtyDeficit::MobilityProblem => "mobility_problem",
            FrailtyDeficit::UrinaryIncontinence => "urinary_incontinence",
            FrailtyDeficit::HearingImpairment => "hearing_impairment",
            FrailtyDeficit::VisualImpairment => "visual_impairment",
            FrailtyDeficit::Dizziness => "dizziness",
            FrailtyDeficit::Dyspnoea => "dyspnoea",
            FrailtyDeficit::Housebound => "housebound",
            FrailtyDeficit::MemoryProblem => "memory_problem",
            FrailtyDeficit::Osteoporosis => "osteoporosis",
            FrailtyDeficit::Anaemia => "anaemia",
            FrailtyDeficit::Polypharmacy => "polypharmacy",
        }
    }

    /// The SNOMED CT concept and its term, or `None` for the derived polypharmacy deficit.
    #[must_use]
    pub fn snomed(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            FrailtyDeficit::Falls => ("161898004", "Falls"),
            FrailtyDeficit::MobilityProblem => ("82971005", "Impaired mobility"),
            FrailtyDeficit::UrinaryIncontinence => ("165232002", "Urinary incontinence"),
            FrailtyDeficit::HearingImpairment => ("15188001", "Hearing loss"),
            FrailtyDeficit::VisualImpairment => ("397540003", "Visual impairment"),
            FrailtyDeficit::Dizziness => ("404640003", "Dizziness"),
            FrailtyDeficit::Dyspnoea => ("267036007", "Dyspnoea"),
            FrailtyDeficit::Housebound => ("160689007", "Housebound"),
            FrailtyDeficit::MemoryProblem => ("386807006", "Memory impairment"),
            FrailtyDeficit::Osteoporosis => ("64859006", "Osteoporosis"),
            FrailtyDeficit::Anaemia => ("271737000", "Anaemia"),
            FrailtyDeficit::Polypharmacy => return None,
        })
    }
}

/// Primary diagnoses of emergency admissions that are not an exacerbation of a long-term condition.
/// Each is chosen with a weight that the generator adjusts for age and circumstance.
pub const ACUTE_DIAGNOSES: [(&str, &str); 10] = [
    ("J18.9", "Pneumonia, unspecified"),
    ("N39.0", "Urinary tract infection, site not specified"),
    ("R07.4", "Chest pain, unspecified"),
    ("R10.4", "Other and unspecified abdominal pain"),
    ("S72.0", "Fracture of neck of femur"),
    ("R55", "Syncope and collapse"),
    ("A09.9", "Gastroenteritis and colitis of unspecified origin"),
    (
        "F10.0",
        "Mental and behavioural disorders due to use of alcohol: acute intoxication",
    ),
    ("T42.4", "Poisoning: Benzodiazepines"),
    ("J06.9", "Acute upper respiratory infection, unspecified"),
];

/// Primary diagnoses of elective (planned) admissions, including day cases.
pub const ELECTIVE_DIAGNOSES: [(&str, &str); 6] = [
    ("H25.9", "Senile cataract, unspecified"),
    ("M17.9", "Gonarthrosis, unspecified"),
    ("K80.2", "Calculus of gallbladder without cholecystitis"),
    ("Z51.1", "Chemotherapy session for neoplasm"),
    (
        "K40.9",
        "Unilateral or unspecified inguinal hernia, without obstruction or gangrene",
    ),
    ("D12.6", "Benign neoplasm: Colon, unspecified"),
];

/// The ICD-10 code of an emergency admission that is an exacerbation of a long-term condition.
#[must_use]
pub fn exacerbation_icd10(condition: Condition) -> Option<(&'static str, &'static str)> {
    Some(match condition {
        Condition::Copd => (
            "J44.1",
            "Chronic obstructive pulmonary disease with acute exacerbation, unspecified",
        ),
        Condition::Asthma => ("J45.9", "Asthma, unspecified"),
        Condition::HeartFailure => ("I50.0", "Congestive heart failure"),
        Condition::Chd => ("I21.9", "Acute myocardial infarction, unspecified"),
        Condition::AtrialFibrillation => (
            "I48.9",
            "Atrial fibrillation and atrial flutter, unspecified",
        ),
        Condition::Stroke => ("I63.9", "Cerebral infarction, unspecified"),
        Condition::Diabetes => (
            "E11.6",
            "Type 2 diabetes mellitus with other specified complications",
        ),
        Condition::SevereMentalIllness => ("F20.9", "Schizophrenia, unspecified"),
        Condition::SubstanceMisuse => (
            "F10.0",
            "Mental and behavioural disorders due to use of alcohol: acute intoxication",
        ),
        Condition::Dementia => ("F05.1", "Delirium superimposed on dementia"),
        // An overdose is coded by the poisoning as primary diagnosis; the external cause (X61)
        // follows it as a secondary code, see [`external_cause_icd10`].
        Condition::Depression => ("T43.2", "Poisoning: Other and unspecified antidepressants"),
        Condition::Epilepsy => ("G40.9", "Epilepsy, unspecified"),
        _ => return None,
    })
}

/// The external-cause code (ICD-10 chapter XX) that follows an exacerbation's primary diagnosis, if
/// any. External causes are never a primary diagnosis.
#[must_use]
pub fn external_cause_icd10(condition: Condition) -> Option<(&'static str, &'static str)> {
    match condition {
        Condition::Depression => Some(("X61", "Intentional self-poisoning by and exposure to antiepileptic, sedative-hypnotic, antiparkinsonism and psychotropic drugs, not elsewhere classified")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use careweave_domain::{Icd10Code, SnomedCode};

    /// Every ICD-10 code the generator can emit.
    pub(crate) fn all_icd10() -> Vec<(&'static str, &'static str)> {
        let mut all: Vec<_> = ACUTE_DIAGNOSES
            .iter()
            .chain(ELECTIVE_DIAGNOSES.iter())
            .copied()
            .collect();
        for c in Condition::ALL {
            for v in 0..c.snomed().len() {
                all.push(c.icd10(v));
                all.extend(c.metastasis_icd10(v));
            }
            all.extend(exacerbation_icd10(c));
            all.extend(external_cause_icd10(c));
        }
        all
    }

    #[test]
    fn every_emitted_code_parses_with_the_domain_types() {
        for c in Condition::ALL {
            for (code, _) in c.snomed() {
                assert!(
                    code.parse::<SnomedCode>().is_ok(),
                    "{code} for {}",
                    c.name()
                );
            }
        }
        for n in SocialNeed::ALL {
            assert!(n.snomed().0.parse::<SnomedCode>().is_ok(), "{}", n.name());
        }
        for d in FrailtyDeficit::CODED {
            let (code, _) = d.snomed().expect("coded deficit");
            assert!(code.parse::<SnomedCode>().is_ok(), "{code}");
        }
        for (code, _) in all_icd10() {
            assert!(code.parse::<Icd10Code>().is_ok(), "{code}");
        }
    }

    fn read_codelist(rel: &str) -> Vec<(String, String)> {
        let path = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
        )
        .join("../../codelists")
        .join(rel);
        let mut reader =
            csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let headers = reader.headers().expect("header").clone();
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            ["code", "term"],
            "{rel}"
        );
        reader
            .records()
            .map(|r| {
                let r = r.expect("row");
                (r[0].to_owned(), r[1].to_owned())
            })
            .collect()
    }

    #[test]
    fn every_emitted_code_is_in_its_published_codelist() {
        for c in Condition::ALL {
            let list = read_codelist(&format!("snomed/{}.csv", c.name()));
            for (code, term) in c.snomed() {
                assert!(
                    list.iter().any(|(k, t)| k == code && t == term),
                    "{code} missing from {}",
                    c.name()
                );
            }
        }
        let needs = read_codelist("snomed/social_needs.csv");
        for n in SocialNeed::ALL {
            let (code, term) = n.snomed();
            assert!(needs.iter().any(|(k, t)| k == code && t == term), "{code}");
        }
        let deficits = read_codelist("snomed/frailty_deficits.csv");
        for d in FrailtyDeficit::CODED {
            let (code, term) = d.snomed().expect("coded");
            assert!(
                deficits.iter().any(|(k, t)| k == code && t == term),
                "{code}"
            );
        }
        let icd = read_codelist("icd10/hospital_diagnoses.csv");
        for (code, term) in all_icd10() {
            assert!(icd.iter().any(|(k, t)| k == code && t == term), "{code}");
        }
    }
}
