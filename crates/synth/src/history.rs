//! Stage two: one person's clinical history and service use, from the person's own random streams.
//!
//! The model is structured rather than a set of independent dice. Each person has a latent
//! need/complexity factor `z` and three correlated cluster factors (cardiometabolic, mental health,
//! respiratory). Conditions appear with a logistic prevalence curve in *effective age*, which is the
//! person's age plus up to 12 years for the most deprived areas (Barnett et al. 2012 found
//! multimorbidity 10–15 years earlier there). Conditions feed each other (diabetes raises CHD and CKD,
//! depression raises chronic pain, severe mental illness raises substance misuse), social needs
//! follow deprivation and mental illness, and service use follows need with a heavy-tailed personal
//! propensity for unplanned care, so that a few per cent of people use about half of it.

use careweave_domain::Sex;
use chrono::{Datelike, Days, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::codes::{self, Condition, FrailtyDeficit, SocialNeed};
use crate::population::{HouseholdKind, PersonCore, Population};
use crate::rng::{self, sigmoid, Stream};
use crate::SynthConfig;

/// What the generator knows about a person before their history: age, sex, deprivation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context {
    pub index: u32,
    pub dob: NaiveDate,
    pub sex: Sex,
    /// 1.0 for IMD decile 1 (most deprived), 0.0 for decile 10.
    pub deprivation: f64,
    pub south_asian: bool,
    pub lives_alone: bool,
    pub lone_parent: bool,
    pub registration: NaiveDate,
}

impl Context {
    pub fn of(pop: &Population, index: u32) -> Self {
        let p: &PersonCore = &pop.people[index as usize];
        let hh = &pop.households[p.household as usize];
        let decile = pop.lsoas[hh.lsoa as usize].imd_decile.get();
        Self {
            index,
            dob: p.date_of_birth,
            sex: p.sex,
            deprivation: f64::from(10 - decile) / 9.0,
            south_asian: (7..=10).contains(&p.ethnicity),
            lives_alone: hh.size == 1,
            lone_parent: hh.kind == HouseholdKind::LoneParent,
            registration: p.registration,
        }
    }

    fn age_at(&self, date: NaiveDate) -> f64 {
        (date - self.dob).num_days() as f64 / 365.25
    }

    fn date_at_age(&self, age: f64) -> NaiveDate {
        self.dob + Days::new((age.max(0.0) * 365.25) as u64)
    }
}

/// A long-term condition with its SNOMED concept (index into [`Condition::snomed`]) and onset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionRecord {
    pub condition: Condition,
    pub variant: u8,
    pub onset: NaiveDate,
    /// A cancer that has spread: hospitals code its secondary site beside the primary.
    pub metastatic: bool,
}

impl ConditionRecord {
    /// The SNOMED CT code and term recorded for this condition.
    #[must_use]
    pub fn snomed(&self) -> (&'static str, &'static str) {
        self.condition.snomed()[usize::from(self.variant)]
    }
}

/// A social need with the date it was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocialNeedRecord {
    pub need: SocialNeed,
    pub recorded: NaiveDate,
}

/// A frailty deficit with the date it was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeficitRecord {
    pub deficit: FrailtyDeficit,
    pub recorded: NaiveDate,
}

/// A person's clinical picture: conditions, social needs, frailty deficits, medicines, death.
#[derive(Debug, Clone, PartialEq)]
pub struct Clinical {
    pub conditions: Vec<ConditionRecord>,
    pub social_needs: Vec<SocialNeedRecord>,
    /// Coded frailty deficits, plus polypharmacy when the person had five or more repeat medicines at
    /// the extract date.
    pub frailty_deficits: Vec<DeficitRecord>,
    /// Repeat medicines at the end of each of the five years of the history, oldest first.
    pub repeat_medications: [u8; 5],
    pub date_of_death: Option<NaiveDate>,
    /// The latent need/complexity factor (standard normal); exposed for tests and analysis.
    pub(crate) need: f64,
}

impl Clinical {
    pub(crate) fn has(&self, c: Condition, on: NaiveDate) -> bool {
        self.conditions
            .iter()
            .any(|r| r.condition == c && r.onset <= on)
    }

    fn count_on(&self, on: NaiveDate) -> usize {
        self.conditions.iter().filter(|r| r.onset <= on).count()
    }
}

/// Parameters of one condition's prevalence curve.
struct Curve {
    /// Logit of prevalence at effective age 60 for an average person.
    alpha: f64,
    /// Change of logit per decade of effective age.
    beta: f64,
    min_age: f64,
    general: f64,
    cardio: f64,
    mental: f64,
    resp: f64,
    /// Deprivation effect beyond the age shift (smoking, obesity, stress).
    deprivation: f64,
}

const fn curve(alpha: f64, beta: f64, min_age: f64, loads: [f64; 4], deprivation: f64) -> Curve {
    Curve {
        alpha,
        beta,
        min_age,
        general: loads[0],
        cardio: loads[1],
        mental: loads[2],
        resp: loads[3],
        deprivation,
    }
}

fn curve_of(c: Condition) -> Curve {
    match c {
        Condition::Obesity => curve(-2.55, 0.12, 18.0, [0.2, 0.6, 0.1, 0.0], 0.6),
        Condition::Hypertension => curve(-1.7, 0.95, 18.0, [0.2, 0.6, 0.0, 0.0], 0.1),
        Condition::Diabetes => curve(-3.3, 0.62, 10.0, [0.2, 0.7, 0.0, 0.0], 0.3),
        Condition::Ckd => curve(-4.8, 1.15, 30.0, [0.3, 0.4, 0.0, 0.0], 0.1),
        Condition::Chd => curve(-4.8, 1.05, 30.0, [0.3, 0.6, 0.0, 0.0], 0.2),
        Condition::AtrialFibrillation => curve(-4.85, 1.25, 30.0, [0.3, 0.3, 0.0, 0.0], 0.0),
        Condition::HeartFailure => curve(-6.2, 1.3, 35.0, [0.4, 0.4, 0.0, 0.0], 0.2),
        Condition::Stroke => curve(-5.05, 1.05, 30.0, [0.3, 0.4, 0.0, 0.0], 0.2),
        Condition::Asthma => curve(-3.0, 0.0, 3.0, [0.2, 0.0, 0.0, 0.7], 0.2),
        Condition::Copd => curve(-5.0, 1.05, 40.0, [0.3, 0.0, 0.0, 0.8], 0.7),
        Condition::Cancer => curve(-3.5, 0.95, 20.0, [0.2, 0.0, 0.0, 0.0], 0.0),
        Condition::Dementia => curve(-7.2, 2.0, 55.0, [0.4, 0.2, 0.2, 0.0], 0.1),
        Condition::LearningDisability => curve(-5.25, 0.0, 1.0, [0.3, 0.0, 0.0, 0.0], 0.3),
        Condition::SevereMentalIllness => curve(-5.3, 0.0, 16.0, [0.3, 0.0, 0.9, 0.0], 0.9),
        Condition::SubstanceMisuse => curve(-4.9, -0.1, 16.0, [0.2, 0.0, 0.7, 0.0], 0.9),
        Condition::Depression => curve(-2.55, 0.0, 12.0, [0.2, 0.0, 0.9, 0.0], 0.4),
        Condition::Anxiety => curve(-2.9, 0.0, 12.0, [0.1, 0.0, 0.8, 0.0], 0.2),
        Condition::Osteoarthritis => curve(-2.35, 0.9, 35.0, [0.3, 0.1, 0.0, 0.0], 0.2),
        Condition::ChronicPain => curve(-3.0, 0.35, 18.0, [0.3, 0.0, 0.4, 0.0], 0.4),
        // QOF epilepsy register: about 0.8% of adults, flat with age, commoner with deprivation
        // and with a learning disability.
        Condition::Epilepsy => curve(-5.0, 0.0, 0.0, [0.1, 0.0, 0.0, 0.0], 0.6),
    }
}

/// How conditions already decided raise the logit of the next one: the clusters of the issue.
fn boosts(c: Condition, ctx: &Context, have: &[ConditionRecord]) -> f64 {
    let has = |k: Condition| have.iter().any(|r| r.condition == k);
    let male = ctx.sex == Sex::Male;
    let female = ctx.sex == Sex::Female;
    let mut b = 0.0;
    match c {
        Condition::Diabetes => {
            b += if has(Condition::Obesity) { 1.1 } else { 0.0 };
            b += if ctx.south_asian { 0.8 } else { 0.0 };
        }
        Condition::Hypertension => b += if has(Condition::Obesity) { 0.6 } else { 0.0 },
        Condition::Ckd => {
            b += if has(Condition::Diabetes) { 1.0 } else { 0.0 };
            b += if has(Condition::Hypertension) {
                0.7
            } else {
                0.0
            };
        }
        Condition::Chd => {
            b += if has(Condition::Diabetes) { 0.8 } else { 0.0 };
            b += if has(Condition::Ckd) { 0.5 } else { 0.0 };
            b += if male { 0.6 } else { -0.2 };
        }
        Condition::AtrialFibrillation => b += if male { 0.3 } else { 0.0 },
        Condition::HeartFailure => {
            b += if has(Condition::Chd) { 1.4 } else { 0.0 };
            b += if has(Condition::AtrialFibrillation) {
                0.9
            } else {
                0.0
            };
        }
        Condition::Stroke => {
            b += if has(Condition::AtrialFibrillation) {
                0.8
            } else {
                0.0
            };
            b += if has(Condition::Hypertension) {
                0.4
            } else {
                0.0
            };
        }
        Condition::SubstanceMisuse => {
            b += if has(Condition::SevereMentalIllness) {
                1.6
            } else {
                0.0
            };
            b += if male { 0.6 } else { -0.3 };
        }
        Condition::Depression => {
            b += if female { 0.45 } else { -0.1 };
            b += if has(Condition::SubstanceMisuse) {
                0.8
            } else {
                0.0
            };
        }
        Condition::Anxiety => {
            b += if has(Condition::Depression) { 1.1 } else { 0.0 };
            b += if female { 0.4 } else { 0.0 };
        }
        Condition::Osteoarthritis => b += if has(Condition::Obesity) { 0.5 } else { 0.0 },
        Condition::Epilepsy => {
            b += if has(Condition::LearningDisability) {
                2.5
            } else {
                0.0
            };
        }
        Condition::ChronicPain => {
            b += if has(Condition::Depression) { 1.0 } else { 0.0 };
            b += if has(Condition::Osteoarthritis) {
                0.9
            } else {
                0.0
            };
        }
        _ => {}
    }
    b
}

/// Repeat medicines a condition typically brings.
fn medicines(c: Condition) -> f64 {
    match c {
        Condition::Hypertension => 1.4,
        Condition::Diabetes => 2.0,
        Condition::Chd | Condition::HeartFailure => 2.5,
        Condition::AtrialFibrillation | Condition::Copd | Condition::SevereMentalIllness => 1.8,
        Condition::Stroke => 2.0,
        Condition::Asthma | Condition::ChronicPain => 1.3,
        Condition::Ckd
        | Condition::Depression
        | Condition::Dementia
        | Condition::Osteoarthritis => 0.8,
        Condition::Anxiety | Condition::Cancer | Condition::SubstanceMisuse => 0.6,
        Condition::LearningDisability | Condition::Obesity => 0.3,
        Condition::Epilepsy => 1.2,
    }
}

/// The ends of the five years of the history, oldest first.
pub(crate) fn year_ends(config: &SynthConfig) -> [NaiveDate; 5] {
    let e = config.extract_date();
    let mut out = [e; 5];
    for (k, slot) in out.iter_mut().enumerate() {
        let back = 4 - k as i32;
        *slot = NaiveDate::from_ymd_opt(e.year() - back, e.month(), e.day())
            .unwrap_or(e - Days::new(365 * back as u64));
    }
    out
}

fn uniform_date(rng: &mut ChaCha8Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days();
    if span <= 0 {
        from
    } else {
        from + Days::new(rng.gen_range(0..=span) as u64)
    }
}

/// The site of a cancer as the variant of [`Condition::snomed`] (breast, prostate, colon, lung,
/// lymphoma), in roughly the shares of people living after a cancer diagnosis in England.
fn cancer_site(draw: f64, female: bool) -> u8 {
    let (first, rest) = if female { (0, 0.45) } else { (1, 0.40) };
    if draw < rest {
        first
    } else if draw < rest + 0.25 {
        2
    } else if draw < rest + 0.40 {
        3
    } else {
        4
    }
}

/// Generates a person's clinical picture from their clinical stream.
pub(crate) fn clinical(config: &SynthConfig, ctx: &Context) -> Clinical {
    let mut rng = rng::stream(config.seed(), Stream::Clinical, u64::from(ctx.index));
    let extract = config.extract_date();
    let age = ctx.age_at(extract);
    let d = ctx.deprivation;
    let z = rng::normal(&mut rng);
    let cardio = 0.6 * z + 0.8 * rng::normal(&mut rng);
    let mental = 0.5 * z + 0.87 * rng::normal(&mut rng);
    let resp = 0.5 * z + 0.87 * rng::normal(&mut rng);
    let shift = 9.0 * d;

    let mut conditions: Vec<ConditionRecord> = Vec::with_capacity(8);
    for c in Condition::ALL {
        let cv = curve_of(c);
        let u: f64 = rng.gen::<f64>().clamp(1e-9, 1.0 - 1e-9);
        let variant_draw: f64 = rng.gen();
        let onset_draw: f64 = rng.gen();
        if age < cv.min_age {
            continue;
        }
        let base = cv.alpha
            + cv.general * z
            + cv.cardio * cardio
            + cv.mental * mental
            + cv.resp * resp
            + cv.deprivation * d
            + boosts(c, ctx, &conditions);
        let p = sigmoid(base + cv.beta * (age + shift - 60.0) / 10.0);
        if u >= p {
            continue;
        }
        let onset_age = if cv.beta > 0.3 {
            // The age at which the rising curve first passed this person's draw.
            let logit_u = (u / (1.0 - u)).ln();
            60.0 - shift + 10.0 * (logit_u - base) / cv.beta
        } else {
            cv.min_age + onset_draw * (age - cv.min_age)
        };
        let onset_age = match c {
            Condition::LearningDisability => (1.0 + 5.0 * onset_draw).min(age),
            Condition::SevereMentalIllness => (18.0 + 17.0 * onset_draw).min(age),
            _ => onset_age,
        }
        .clamp(cv.min_age.min(age), age);
        let variant = match c {
            Condition::Diabetes if variant_draw < if age < 35.0 { 0.6 } else { 0.08 } => 1,
            Condition::SevereMentalIllness if variant_draw < 0.4 => 1,
            Condition::SubstanceMisuse if variant_draw < 0.4 => 1,
            Condition::Cancer => cancer_site(variant_draw, ctx.sex == Sex::Female),
            _ => 0,
        };
        // The onset draw is free for cancer (its onset comes from the rising curve), so it decides
        // spread: about one prevalent cancer in ten has metastasised, lung cancer far more often.
        let metastatic = c == Condition::Cancer
            && c.metastasis_icd10(usize::from(variant)).is_some()
            && onset_draw < if variant == 3 { 0.35 } else { 0.07 };
        conditions.push(ConditionRecord {
            condition: c,
            variant,
            onset: ctx.date_at_age(onset_age),
            metastatic,
        });
    }

    // Social needs, recorded at some point in the six years before the extract.
    let has = |k: Condition| conditions.iter().any(|r| r.condition == k);
    let (smi, sub, dep) = (
        has(Condition::SevereMentalIllness),
        has(Condition::SubstanceMisuse),
        has(Condition::Depression),
    );
    let f = |b: bool, x: f64| if b { x } else { 0.0 };
    let mut social_needs: Vec<SocialNeedRecord> = Vec::new();
    let adult = age >= 16.0;
    let record_from = (extract - Days::new(6 * 365)).max(ctx.date_at_age(16.0));
    for need in SocialNeed::ALL {
        let u: f64 = rng.gen();
        let date_draw: f64 = rng.gen();
        if !adult {
            continue;
        }
        let had = |n: SocialNeed| social_needs.iter().any(|r| r.need == n);
        let logit = match need {
            SocialNeed::Unemployed if age < 65.0 => {
                -3.6 + 2.0 * d + f(smi, 1.2) + f(sub, 1.2) + 0.3 * mental
            }
            SocialNeed::FinancialProblem => {
                -4.3 + 2.2 * d
                    + f(sub, 1.2)
                    + f(smi, 0.9)
                    + f(had(SocialNeed::Unemployed), 0.9)
                    + f(ctx.lone_parent, 0.6)
            }
            SocialNeed::HousingProblem => {
                -4.6 + 2.0 * d
                    + f(sub, 1.4)
                    + f(smi, 1.1)
                    + f(had(SocialNeed::FinancialProblem), 1.0)
            }
            SocialNeed::Homeless if age < 70.0 => -7.2 + 1.5 * d + f(sub, 2.4) + f(smi, 1.6),
            SocialNeed::SocialIsolation => {
                -4.6 + f(ctx.lives_alone, 1.2)
                    + 0.03 * (age - 60.0).max(0.0)
                    + f(dep, 0.8)
                    + f(smi, 0.8)
                    + 0.5 * d
            }
            SocialNeed::DomesticAbuse if age < 70.0 => {
                -5.6 + f(ctx.sex == Sex::Female, 1.1) + 0.9 * d + f(sub, 0.9) + f(dep, 0.6)
            }
            SocialNeed::Carer => -3.9 + f((40.0..76.0).contains(&age), 0.7),
            _ => continue,
        };
        if u < sigmoid(logit) {
            social_needs.push(SocialNeedRecord {
                need,
                recorded: uniform_from_draw(record_from, extract, date_draw),
            });
        }
    }

    // Frailty deficits: mostly in later life, driven by a frailty factor that shares the need factor.
    let frailty = 0.7 * z + 0.71 * rng::normal(&mut rng);
    let n_ltc = conditions.len() as f64;
    let mut frailty_deficits: Vec<DeficitRecord> = Vec::new();
    for deficit in FrailtyDeficit::CODED {
        let u: f64 = rng.gen();
        let date_draw: f64 = rng.gen();
        if age < 50.0 {
            continue;
        }
        let specific = match deficit {
            FrailtyDeficit::Falls => 0.2,
            FrailtyDeficit::MobilityProblem => {
                f(has(Condition::Osteoarthritis), 0.6) + f(has(Condition::Stroke), 0.8)
            }
            FrailtyDeficit::MemoryProblem => f(has(Condition::Dementia), 2.0) - 0.6,
            FrailtyDeficit::Dyspnoea => {
                f(has(Condition::Copd) || has(Condition::HeartFailure), 1.2) - 0.4
            }
            FrailtyDeficit::Osteoporosis => f(ctx.sex == Sex::Female, 0.8) - 0.5,
            FrailtyDeficit::Housebound => -0.8,
            FrailtyDeficit::Anaemia => f(has(Condition::Ckd), 0.8) - 0.3,
            _ => 0.0,
        };
        let logit = -1.75 + 0.06 * (age - 75.0) + 0.8 * frailty + 0.14 * n_ltc + 0.3 * d + specific;
        if u < sigmoid(logit) {
            let from = (extract - Days::new(8 * 365)).max(ctx.date_at_age(50.0));
            frailty_deficits.push(DeficitRecord {
                deficit,
                recorded: uniform_from_draw(from, extract, date_draw),
            });
        }
    }

    // Repeat medicines at each year end follow the conditions active then, plus a personal habit.
    let habit = f64::from(rng::poisson(&mut rng, 0.35 + 0.015 * age.max(0.0)));
    let mut repeat_medications = [0u8; 5];
    for (slot, end) in repeat_medications.iter_mut().zip(year_ends(config)) {
        if end < ctx.dob {
            continue;
        }
        let load: f64 = conditions
            .iter()
            .filter(|r| r.onset <= end)
            .map(|r| medicines(r.condition))
            .sum();
        let jitter: f64 = rng.gen::<f64>() - 0.5;
        *slot = (load * (1.0 + 0.1 * z) + habit + jitter)
            .round()
            .clamp(0.0, 30.0) as u8;
    }
    if repeat_medications[4] >= 5 {
        frailty_deficits.push(DeficitRecord {
            deficit: FrailtyDeficit::Polypharmacy,
            recorded: extract,
        });
    }

    // Death: a Gompertz hazard raised by need, deprivation and the gravest conditions.
    let grave = f(has(Condition::Dementia), 1.0)
        + f(has(Condition::HeartFailure), 0.8)
        + f(has(Condition::Cancer), 0.7)
        + f(conditions.iter().any(|r| r.metastatic), 1.6)
        + f(has(Condition::Copd), 0.5)
        + f(smi || sub, 0.8);
    let mut date_of_death = None;
    let start = config.history_start();
    for k in 0..5 {
        let from = start + Days::new(365 * k);
        let to = (from + Days::new(364)).min(extract);
        let u: f64 = rng.gen();
        let day_draw: f64 = rng.gen();
        if date_of_death.is_some() || to < ctx.registration || to < ctx.dob {
            continue;
        }
        let a = ctx.age_at(from).max(0.0);
        let hazard = (-11.1 + 0.094 * a + 0.3 * z + 0.4 * d + grave).exp()
            + if a < 1.0 { 0.004 } else { 0.0 };
        if u < 1.0 - (-hazard).exp() {
            let lo = from.max(ctx.registration).max(ctx.dob);
            date_of_death = Some(uniform_from_draw(lo, to, day_draw));
        }
    }
    // Nothing is recorded after death.
    if let Some(death) = date_of_death {
        conditions.retain(|r| r.onset <= death);
        social_needs.retain(|r| r.recorded <= death);
        for r in &mut frailty_deficits {
            r.recorded = r.recorded.min(death);
        }
    }
    Clinical {
        conditions,
        social_needs,
        frailty_deficits,
        repeat_medications,
        date_of_death,
        need: z,
    }
}

fn uniform_from_draw(from: NaiveDate, to: NaiveDate, draw: f64) -> NaiveDate {
    let span = (to - from).num_days().max(0);
    from + Days::new((draw * span as f64) as u64)
}

/// A GP appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpAppointment {
    pub date: NaiveDate,
    pub attended: bool,
    pub staff: &'static str,
}

/// An A&E attendance; `admitted` when it led to an emergency admission the same day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AeAttendance {
    pub date: NaiveDate,
    pub admitted: bool,
}

/// A hospital admission with its ICD-10 diagnoses (the first is the primary diagnosis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub admitted: NaiveDate,
    pub discharged: NaiveDate,
    pub emergency: bool,
    pub diagnoses: Vec<&'static str>,
}

impl Admission {
    /// Bed days: nights in hospital (zero for a day case or same-day discharge).
    #[must_use]
    pub fn bed_days(&self) -> i64 {
        (self.discharged - self.admitted).num_days()
    }
}

/// An outpatient appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outpatient {
    pub date: NaiveDate,
    pub treatment_function: &'static str,
    pub attended: bool,
}

/// A community or mental health contact with the service that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contact {
    pub date: NaiveDate,
    pub service: &'static str,
}

/// A person's service use over the history window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Events {
    pub gp_appointments: Vec<GpAppointment>,
    pub ae_attendances: Vec<AeAttendance>,
    pub admissions: Vec<Admission>,
    pub outpatients: Vec<Outpatient>,
    pub community_contacts: Vec<Contact>,
    pub mental_health_contacts: Vec<Contact>,
}

fn age_factor(age: f64, table: &[(f64, f64)]) -> f64 {
    table
        .iter()
        .find(|(upto, _)| age < *upto)
        .map_or(table[table.len() - 1].1, |t| t.1)
}

/// Generates a person's service use, year by year, from their events stream.
pub(crate) fn events(config: &SynthConfig, ctx: &Context, clin: &Clinical) -> Events {
    let mut rng = rng::stream(config.seed(), Stream::Events, u64::from(ctx.index));
    let mut ev = Events::default();
    let extract = config.extract_date();
    let d = ctx.deprivation;
    let z = clin.need;
    // A heavy-tailed personal propensity for unplanned care (log-normal, mean one).
    let unplanned = (0.35 * rng::normal(&mut rng) - 0.061).exp();
    let gp_habit = (0.45 * rng::normal(&mut rng) - 0.1).exp();
    let f = |b: bool, x: f64| if b { x } else { 0.0 };
    let needs = clin.social_needs.len() as f64;
    let start = config.history_start();
    let end_all = clin.date_of_death.unwrap_or(extract);
    for k in 0..5u64 {
        let from = (start + Days::new(365 * k))
            .max(ctx.registration)
            .max(ctx.dob);
        let to = if k == 4 {
            extract
        } else {
            start + Days::new(365 * k + 364)
        }
        .min(end_all);
        if to < from {
            continue;
        }
        let years = ((to - from).num_days() + 1) as f64 / 365.25;
        let age = ctx.age_at(from).max(0.0);
        let n = clin.count_on(to) as f64;
        let frail = clin
            .frailty_deficits
            .iter()
            .filter(|r| r.recorded <= to)
            .count() as f64;
        let smi = clin.has(Condition::SevereMentalIllness, to);
        let sub = clin.has(Condition::SubstanceMisuse, to);
        let dementia = clin.has(Condition::Dementia, to);

        // GP appointments, with did-not-attend more likely for the young, the deprived and people
        // with severe mental illness or substance misuse.
        let female_adult = ctx.sex == Sex::Female && (16.0..45.0).contains(&age);
        let gp_base = age_factor(
            age,
            &[
                (5.0, 4.2),
                (16.0, 1.7),
                (45.0, 2.3),
                (65.0, 3.3),
                (75.0, 4.2),
                (200.0, 5.0),
            ],
        );
        let gp_rate = 1.12
            * (gp_base + f(female_adult, 1.4))
            * (1.0 + 0.22 * n)
            * gp_habit
            * (1.0 + 0.12 * needs);
        let dna_logit = -3.7
            + 0.9 * d
            + f(smi, 1.1)
            + f(sub, 1.2)
            + 0.3 * needs.min(3.0)
            + f((16.0..30.0).contains(&age), 0.5)
            - f(age >= 65.0, 0.5);
        for _ in 0..rng::poisson(&mut rng, gp_rate * years) {
            let staff = ["gp", "gp", "gp", "nurse", "nurse", "other"][rng.gen_range(0..6)];
            ev.gp_appointments.push(GpAppointment {
                date: uniform_date(&mut rng, from, to),
                attended: rng.gen::<f64>() >= sigmoid(dna_logit),
                staff,
            });
        }

        // Emergency admissions: steep with age, need, frailty and the personal propensity.
        let em_age = age_factor(
            age,
            &[
                (5.0, 1.6),
                (16.0, 0.45),
                (45.0, 0.75),
                (65.0, 1.1),
                (75.0, 1.1),
                (85.0, 1.5),
                (200.0, 2.1),
            ],
        );
        let em_rate = 0.05
            * em_age
            * (1.0 + 0.28 * n)
            * (1.0 + 0.18 * frail)
            * (0.45 * z).exp()
            * unplanned
            * (1.0 + 0.6 * d)
            * (1.0 + f(smi, 1.0) + f(sub, 1.5));
        for _ in 0..rng::poisson(&mut rng, em_rate * years) {
            let date = uniform_date(&mut rng, from, to);
            let stay = if rng.gen_bool(0.28) {
                0.0
            } else {
                let mu = if age >= 75.0 {
                    1.9
                } else if age >= 50.0 {
                    1.4
                } else {
                    0.9
                };
                (mu + 0.05 * frail + 0.8 * rng::normal(&mut rng))
                    .exp()
                    .round()
            };
            let discharged = (date + Days::new(stay.clamp(0.0, 180.0) as u64)).min(extract);
            let diagnoses = emergency_diagnoses(&mut rng, clin, to, age);
            ev.admissions.push(Admission {
                admitted: date,
                discharged,
                emergency: true,
                diagnoses,
            });
            if rng.gen_bool(0.75) {
                ev.ae_attendances.push(AeAttendance {
                    date,
                    admitted: true,
                });
            }
        }

        // A&E attendances that did not lead to admission.
        let ae_age = age_factor(
            age,
            &[
                (5.0, 1.5),
                (16.0, 0.8),
                (30.0, 1.2),
                (65.0, 0.9),
                (80.0, 1.1),
                (200.0, 1.8),
            ],
        );
        let ae_rate = 0.23
            * ae_age
            * (0.3 * z).exp()
            * unplanned.powf(0.8)
            * (1.0 + 0.5 * d)
            * (1.0 + f(smi, 1.5) + f(sub, 2.0) + 0.3 * needs.min(3.0))
            * (1.0 + 0.06 * n);
        for _ in 0..rng::poisson(&mut rng, ae_rate * years) {
            ev.ae_attendances.push(AeAttendance {
                date: uniform_date(&mut rng, from, to),
                admitted: false,
            });
        }

        // Elective admissions, mostly day cases, more with age and far more with cancer.
        let cancer = clin.has(Condition::Cancer, to);
        let el_rate = 0.07 * (0.5 + age / 35.0) * (1.0 + 0.15 * n) * (1.0 + f(cancer, 3.0));
        for _ in 0..rng::poisson(&mut rng, el_rate * years) {
            let date = uniform_date(&mut rng, from, to);
            let stay = if rng.gen_bool(0.78) {
                0
            } else {
                rng.gen_range(1..=6)
            };
            let primary = if cancer && rng.gen_bool(0.6) {
                "Z51.1"
            } else {
                let w = [
                    f(age >= 60.0, 3.0) + 0.2,
                    f(age >= 50.0, 2.0) + 0.2,
                    1.0,
                    0.1,
                    1.0,
                    0.8,
                ];
                codes::ELECTIVE_DIAGNOSES[rng::weighted(&mut rng, &w)].0
            };
            let mut diagnoses = vec![primary];
            add_comorbidities(&mut diagnoses, clin, to);
            let discharged = (date + Days::new(stay)).min(extract);
            ev.admissions.push(Admission {
                admitted: date,
                discharged,
                emergency: false,
                diagnoses,
            });
        }

        // Outpatients, in the specialty of a condition where there is one.
        let op_rate =
            0.75 * (0.6 + age / 45.0) * (1.0 + 0.3 * n) * (0.3 * z).exp() * (1.0 + f(cancer, 2.5));
        let op_dna = 0.05 + 0.04 * d + f(smi || sub, 0.08);
        for _ in 0..rng::poisson(&mut rng, op_rate * years) {
            let date = uniform_date(&mut rng, from, to);
            let tf = outpatient_specialty(&mut rng, clin, to, age);
            ev.outpatients.push(Outpatient {
                date,
                treatment_function: tf,
                attended: rng.gen::<f64>() >= op_dna,
            });
        }

        // Community contacts: district nursing for the frail old, therapies and health visiting.
        let dn_rate = if age >= 65.0 {
            0.25 * frail * frail * (0.5 * z).exp()
        } else {
            0.0
        };
        for (rate, service) in [
            (dn_rate, "district_nursing"),
            (
                0.12 + f(
                    clin.has(Condition::Osteoarthritis, to) || clin.has(Condition::ChronicPain, to),
                    0.9,
                ),
                "physiotherapy",
            ),
            (f(clin.has(Condition::Diabetes, to), 1.2), "podiatry"),
            (f(age < 5.0, 3.0), "health_visiting"),
            (
                f(clin.has(Condition::Stroke, to), 1.5) + f(age < 12.0, 0.15),
                "speech_and_language_therapy",
            ),
        ] {
            for _ in 0..rng::poisson(&mut rng, rate * years) {
                ev.community_contacts.push(Contact {
                    date: uniform_date(&mut rng, from, to),
                    service,
                });
            }
        }

        // Mental health contacts: intensive for SMI, episodic talking therapies for common problems.
        let common = clin.has(Condition::Depression, to) || clin.has(Condition::Anxiety, to);
        let therapy = if common && (16.0..75.0).contains(&age) && rng.gen_bool(0.12) {
            7.0
        } else {
            0.0
        };
        for (rate, service) in [
            (f(smi, 11.0) * (0.3 * z).exp(), "community_mental_health"),
            (therapy, "talking_therapies"),
            (f(smi, 0.8) + f(sub, 0.4) + f(common, 0.02), "crisis"),
            (f(sub, 4.0), "substance_misuse"),
            (f(dementia, 2.0), "memory_service"),
        ] {
            for _ in 0..rng::poisson(&mut rng, rate * years) {
                ev.mental_health_contacts.push(Contact {
                    date: uniform_date(&mut rng, from, to),
                    service,
                });
            }
        }
    }
    ev.gp_appointments.sort_by_key(|a| a.date);
    ev.ae_attendances.sort_by_key(|a| a.date);
    ev.admissions.sort_by_key(|a| a.admitted);
    ev.outpatients.sort_by_key(|a| a.date);
    ev.community_contacts.sort_by_key(|a| a.date);
    ev.mental_health_contacts.sort_by_key(|a| a.date);
    ev
}

fn add_comorbidities(diagnoses: &mut Vec<&'static str>, clin: &Clinical, on: NaiveDate) {
    for r in clin.conditions.iter().filter(|r| r.onset <= on) {
        let variant = usize::from(r.variant);
        let (code, _) = r.condition.icd10(variant);
        let secondary = r
            .metastatic
            .then(|| r.condition.metastasis_icd10(variant))
            .flatten()
            .map(|(c, _)| c);
        for code in std::iter::once(code).chain(secondary) {
            if diagnoses.len() < 12 && !diagnoses.contains(&code) {
                diagnoses.push(code);
            }
        }
    }
}

fn emergency_diagnoses(
    rng: &mut ChaCha8Rng,
    clin: &Clinical,
    on: NaiveDate,
    age: f64,
) -> Vec<&'static str> {
    // Half of the admissions of people with a long-term condition are an exacerbation of one.
    let exacerbable: Vec<_> = clin
        .conditions
        .iter()
        .filter(|r| r.onset <= on)
        .filter_map(|r| Some((r.condition, codes::exacerbation_icd10(r.condition)?)))
        .collect();
    let mut external_cause = None;
    let primary = if !exacerbable.is_empty() && rng.gen_bool(0.5) {
        let (condition, (code, _)) = exacerbable[rng.gen_range(0..exacerbable.len())];
        external_cause = codes::external_cause_icd10(condition).map(|(c, _)| c);
        code
    } else {
        let old = age >= 70.0;
        let sub = clin.has(Condition::SubstanceMisuse, on);
        let falls = clin
            .frailty_deficits
            .iter()
            .any(|r| r.deficit == FrailtyDeficit::Falls);
        let w = [
            if old { 3.0 } else { 1.0 },
            if old { 3.0 } else { 1.0 },
            2.0,
            2.0,
            if old && falls {
                3.0
            } else if old {
                0.8
            } else {
                0.05
            },
            if old { 1.5 } else { 0.7 },
            1.2,
            if sub { 4.0 } else { 0.2 },
            if sub || clin.has(Condition::Depression, on) {
                1.0
            } else {
                0.1
            },
            if age < 16.0 { 4.0 } else { 0.8 },
        ];
        codes::ACUTE_DIAGNOSES[rng::weighted(rng, &w)].0
    };
    let mut diagnoses = vec![primary];
    diagnoses.extend(external_cause);
    add_comorbidities(&mut diagnoses, clin, on);
    diagnoses
}

fn outpatient_specialty(
    rng: &mut ChaCha8Rng,
    clin: &Clinical,
    on: NaiveDate,
    age: f64,
) -> &'static str {
    let active: Vec<&'static str> = clin
        .conditions
        .iter()
        .filter(|r| r.onset <= on)
        .filter_map(|r| match r.condition {
            Condition::Chd | Condition::HeartFailure | Condition::AtrialFibrillation => Some("320"),
            Condition::Copd | Condition::Asthma => Some("340"),
            Condition::Diabetes => Some("302"),
            Condition::Ckd => Some("361"),
            Condition::Cancer => Some("370"),
            Condition::Osteoarthritis => Some("110"),
            Condition::Stroke => Some("328"),
            Condition::Dementia => Some("430"),
            Condition::Epilepsy => Some("400"),
            _ => None,
        })
        .collect();
    if !active.is_empty() && rng.gen_bool(0.6) {
        return active[rng.gen_range(0..active.len())];
    }
    if age < 16.0 {
        return "420";
    }
    ["100", "101", "110", "130", "300", "301", "502", "120"][rng.gen_range(0..8)]
}

/// The history of one person: both stages together.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonHistory {
    pub clinical: Clinical,
    pub events: Events,
    /// A planted support episode, when the config plants an intervention and this person was referred.
    pub episode: Option<crate::intervention::Episode>,
}

pub(crate) fn history(config: &SynthConfig, ctx: &Context) -> PersonHistory {
    let clinical = clinical(config, ctx);
    let mut events = events(config, ctx, &clinical);
    let episode = crate::intervention::plant(config, ctx, clinical.date_of_death, &mut events);
    PersonHistory {
        clinical,
        events,
        episode,
    }
}
