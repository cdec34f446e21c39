//! Measures of a generated population, named like the rows of `calibration/targets.csv`.
//!
//! [`measure`] generates a population in memory (no files) and returns every measure by name; the
//! calibration test compares them with the targets and their tolerances. The definitions follow the
//! sources: QOF registers count people alive and registered at the extract date with the register's
//! age limits; rates are per person-year of registration inside the five-year history window.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use crate::codes::Condition;
use crate::history::{self, Context, PersonHistory};
use crate::population;
use crate::{SynthConfig, SynthError};

/// The QOF register age limits (minimum age at the extract date).
const PREVALENCE: [(Condition, f64); 17] = [
    (Condition::Hypertension, 0.0),
    (Condition::Diabetes, 17.0),
    (Condition::Asthma, 6.0),
    (Condition::Copd, 0.0),
    (Condition::Chd, 0.0),
    (Condition::HeartFailure, 0.0),
    (Condition::AtrialFibrillation, 0.0),
    (Condition::Stroke, 0.0),
    (Condition::Ckd, 18.0),
    (Condition::Cancer, 0.0),
    (Condition::Dementia, 0.0),
    (Condition::Depression, 18.0),
    (Condition::SevereMentalIllness, 0.0),
    (Condition::LearningDisability, 0.0),
    (Condition::Obesity, 18.0),
    (Condition::Osteoarthritis, 0.0),
    (Condition::Epilepsy, 18.0),
];

/// The eFI score's denominator: it counts 36 deficits.
const EFI_DEFICITS: f64 = 36.0;

#[derive(Default)]
struct Acc {
    alive: f64,
    age_0_17: f64,
    age_65_plus: f64,
    prev_num: [f64; 17],
    prev_den: [f64; 17],
    person_years: f64,
    person_years_75: f64,
    deaths: f64,
    gp: f64,
    gp_dna: f64,
    ae: f64,
    em: f64,
    em_75: f64,
    em_bed_days: f64,
    el: f64,
    op: f64,
    community: f64,
    mh: f64,
    efi_den: f64,
    efi_mild: f64,
    efi_moderate: f64,
    efi_mod_65_74: [f64; 2],
    efi_mod_85: [f64; 2],
    /// Per IMD quintile (1 and 5): 17+ alive, with diabetes; person-years, emergency admissions.
    q_diab: [[f64; 2]; 2],
    q_em: [[f64; 2]; 2],
    /// Per quintile (1 and 5) and five-year age band: people, people with two or more conditions.
    q_mm: [[[f64; 2]; 20]; 2],
    unplanned_cost: Vec<f64>,
}

fn overlap_years(from: NaiveDate, to: NaiveDate) -> f64 {
    if to < from {
        0.0
    } else {
        ((to - from).num_days() + 1) as f64 / 365.25
    }
}

impl Acc {
    fn add(&mut self, config: &SynthConfig, ctx: &Context, quintile: u8, h: &PersonHistory) {
        let extract = config.extract_date();
        let age = crate::age_years(ctx.dob, extract);
        let c = &h.clinical;
        let e = &h.events;
        let alive = c.date_of_death.is_none();
        let qi = match quintile {
            1 => Some(0),
            5 => Some(1),
            _ => None,
        };
        if alive {
            self.alive += 1.0;
            self.age_0_17 += f64::from(u8::from(age < 18));
            self.age_65_plus += f64::from(u8::from(age >= 65));
            for (i, (cond, min)) in PREVALENCE.iter().enumerate() {
                if f64::from(age) >= *min {
                    self.prev_den[i] += 1.0;
                    self.prev_num[i] +=
                        f64::from(u8::from(c.conditions.iter().any(|r| r.condition == *cond)));
                }
            }
            if age >= 65 {
                let mut n = c
                    .conditions
                    .iter()
                    .filter(|r| r.condition.is_efi_deficit() && r.condition != Condition::Asthma)
                    .count();
                // Asthma and COPD are one eFI deficit (respiratory disease).
                if c.conditions
                    .iter()
                    .any(|r| r.condition == Condition::Asthma)
                    && !c.conditions.iter().any(|r| r.condition == Condition::Copd)
                {
                    n += 1;
                }
                n += c.frailty_deficits.len();
                let efi = n as f64 / EFI_DEFICITS;
                self.efi_den += 1.0;
                self.efi_mild += f64::from(u8::from(efi > 0.12));
                let moderate = f64::from(u8::from(efi > 0.24));
                self.efi_moderate += moderate;
                if age < 75 {
                    self.efi_mod_65_74[0] += 1.0;
                    self.efi_mod_65_74[1] += moderate;
                } else if age >= 85 {
                    self.efi_mod_85[0] += 1.0;
                    self.efi_mod_85[1] += moderate;
                }
            }
            if let Some(q) = qi {
                if age >= 17 {
                    self.q_diab[q][0] += 1.0;
                    self.q_diab[q][1] += f64::from(u8::from(
                        c.conditions
                            .iter()
                            .any(|r| r.condition == Condition::Diabetes),
                    ));
                }
                let band = (age / 5).clamp(0, 19) as usize;
                let mm = c
                    .conditions
                    .iter()
                    .filter(|r| r.condition != Condition::Obesity)
                    .count()
                    >= 2;
                self.q_mm[q][band][0] += 1.0;
                self.q_mm[q][band][1] += f64::from(u8::from(mm));
            }
        }
        let from = config.history_start().max(ctx.registration).max(ctx.dob);
        let to = c.date_of_death.unwrap_or(extract);
        let py = overlap_years(from, to);
        self.person_years += py;
        self.deaths += f64::from(u8::from(c.date_of_death.is_some()));
        self.gp += e.gp_appointments.len() as f64;
        self.gp_dna += e.gp_appointments.iter().filter(|a| !a.attended).count() as f64;
        self.ae += e.ae_attendances.len() as f64;
        let em: Vec<_> = e.admissions.iter().filter(|a| a.emergency).collect();
        self.em += em.len() as f64;
        self.em_bed_days += em.iter().map(|a| a.bed_days() as f64).sum::<f64>();
        self.el += (e.admissions.len() - em.len()) as f64;
        self.op += e.outpatients.len() as f64;
        self.community += e.community_contacts.len() as f64;
        self.mh += e.mental_health_contacts.len() as f64;
        if age >= 77 {
            self.person_years_75 += py;
            self.em_75 += em.len() as f64;
        }
        if let Some(q) = qi {
            self.q_em[q][0] += py;
            self.q_em[q][1] += em.len() as f64;
        }
        // Unplanned care in the last year, costed roughly like national unit costs: an A&E attendance
        // about £200, an emergency admission about £600 plus £400 a bed day.
        let year_start = extract - Days::new(364);
        if to >= year_start && from <= extract {
            let ae = e
                .ae_attendances
                .iter()
                .filter(|a| a.date >= year_start)
                .count() as f64;
            let cost: f64 = 200.0 * ae
                + em.iter()
                    .filter(|a| a.admitted >= year_start)
                    .map(|a| 600.0 + 400.0 * a.bed_days() as f64)
                    .sum::<f64>();
            self.unplanned_cost.push(cost);
        }
    }

    fn merge(&mut self, o: Acc) {
        macro_rules! sum {
            ($($f:ident),*) => { $(self.$f += o.$f;)* };
        }
        sum!(
            alive,
            age_0_17,
            age_65_plus,
            person_years,
            person_years_75,
            deaths,
            gp,
            gp_dna,
            ae,
            em,
            em_75,
            em_bed_days,
            el,
            op,
            community,
            mh,
            efi_den,
            efi_mild,
            efi_moderate
        );
        for i in 0..PREVALENCE.len() {
            self.prev_num[i] += o.prev_num[i];
            self.prev_den[i] += o.prev_den[i];
        }
        for k in 0..2 {
            self.efi_mod_65_74[k] += o.efi_mod_65_74[k];
            self.efi_mod_85[k] += o.efi_mod_85[k];
            for q in 0..2 {
                self.q_diab[q][k] += o.q_diab[q][k];
                self.q_em[q][k] += o.q_em[q][k];
                for b in 0..20 {
                    self.q_mm[q][b][k] += o.q_mm[q][b][k];
                }
            }
        }
        self.unplanned_cost.extend(o.unplanned_cost);
    }
}

/// The age (interpolated within five-year bands) at which multimorbidity first reaches `level`.
fn age_reaching(bands: &[[f64; 2]; 20], level: f64) -> f64 {
    let prev: Vec<f64> = bands
        .iter()
        .map(|b| if b[0] > 0.0 { b[1] / b[0] } else { 0.0 })
        .collect();
    for i in 1..20 {
        if prev[i] >= level {
            let (p0, p1) = (prev[i - 1], prev[i]);
            let frac = if p1 > p0 {
                (level - p0) / (p1 - p0)
            } else {
                0.0
            };
            return 5.0 * (i as f64 - 0.5) + 5.0 * frac.clamp(0.0, 1.0);
        }
    }
    100.0
}

/// Generates `config`'s population in memory and returns every calibration measure by name.
pub fn measure(config: &SynthConfig) -> Result<BTreeMap<String, f64>, SynthError> {
    let pop = population::build(config)?;
    let n = pop.people.len() as u32;
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8) as u32;
    let acc = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let pop = &pop;
                s.spawn(move || {
                    let mut acc = Acc::default();
                    let mut i = t;
                    while i < n {
                        let ctx = Context::of(pop, i);
                        let q = pop.lsoas[pop.lsoa_of(&pop.people[i as usize])]
                            .imd_decile
                            .quintile()
                            .get();
                        acc.add(config, &ctx, q, &history::history(config, &ctx));
                        i += threads;
                    }
                    acc
                })
            })
            .collect();
        let mut total = Acc::default();
        for h in handles {
            // A panic in a worker is a bug in the generator; surface it in the caller's thread.
            match h.join() {
                Ok(a) => total.merge(a),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
        total
    });
    let mut m = BTreeMap::new();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    m.insert("share_age_0_17".into(), ratio(acc.age_0_17, acc.alive));
    m.insert(
        "share_age_65_plus".into(),
        ratio(acc.age_65_plus, acc.alive),
    );
    for (i, (cond, _)) in PREVALENCE.iter().enumerate() {
        m.insert(
            format!("prevalence_{}", cond.name()),
            ratio(acc.prev_num[i], acc.prev_den[i]),
        );
    }
    m.insert(
        "deaths_per_person_year".into(),
        ratio(acc.deaths, acc.person_years),
    );
    m.insert(
        "gp_appointments_per_person_year".into(),
        ratio(acc.gp, acc.person_years),
    );
    m.insert("gp_dna_rate".into(), ratio(acc.gp_dna, acc.gp));
    m.insert(
        "ae_attendances_per_person_year".into(),
        ratio(acc.ae, acc.person_years),
    );
    m.insert(
        "emergency_admissions_per_person_year".into(),
        ratio(acc.em, acc.person_years),
    );
    m.insert(
        "emergency_admissions_per_person_year_age_75_plus".into(),
        ratio(acc.em_75, acc.person_years_75),
    );
    m.insert(
        "emergency_mean_bed_days".into(),
        ratio(acc.em_bed_days, acc.em),
    );
    m.insert(
        "elective_admissions_per_person_year".into(),
        ratio(acc.el, acc.person_years),
    );
    m.insert(
        "outpatient_appointments_per_person_year".into(),
        ratio(acc.op, acc.person_years),
    );
    m.insert(
        "community_contacts_per_person_year".into(),
        ratio(acc.community, acc.person_years),
    );
    m.insert(
        "mental_health_contacts_per_person_year".into(),
        ratio(acc.mh, acc.person_years),
    );
    m.insert(
        "efi_mild_or_worse_age_65_plus".into(),
        ratio(acc.efi_mild, acc.efi_den),
    );
    m.insert(
        "efi_moderate_or_severe_age_65_plus".into(),
        ratio(acc.efi_moderate, acc.efi_den),
    );
    m.insert(
        "efi_moderate_or_severe_ratio_85_plus_to_65_74".into(),
        ratio(
            ratio(acc.efi_mod_85[1], acc.efi_mod_85[0]),
            ratio(acc.efi_mod_65_74[1], acc.efi_mod_65_74[0]),
        ),
    );
    m.insert(
        "diabetes_prevalence_ratio_imd_q1_to_q5".into(),
        ratio(
            ratio(acc.q_diab[0][1], acc.q_diab[0][0]),
            ratio(acc.q_diab[1][1], acc.q_diab[1][0]),
        ),
    );
    m.insert(
        "emergency_admission_rate_ratio_imd_q1_to_q5".into(),
        ratio(
            ratio(acc.q_em[0][1], acc.q_em[0][0]),
            ratio(acc.q_em[1][1], acc.q_em[1][0]),
        ),
    );
    m.insert(
        "multimorbidity_onset_gap_years_imd_q5_minus_q1".into(),
        age_reaching(&acc.q_mm[1], 0.4) - age_reaching(&acc.q_mm[0], 0.4),
    );
    let mut costs = acc.unplanned_cost;
    costs.sort_by(|a, b| b.total_cmp(a));
    let total: f64 = costs.iter().sum();
    let top = (costs.len() as f64 * 0.03).ceil() as usize;
    m.insert(
        "unplanned_care_cost_share_top_3_percent".into(),
        ratio(costs[..top].iter().sum(), total),
    );
    Ok(m)
}

/// One row of `calibration/targets.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub value: f64,
    pub tolerance: f64,
    pub source: String,
}

/// The calibration table, compiled into the crate so that tools can compare without the repository.
const TARGETS_CSV: &str = include_str!("../calibration/targets.csv");

/// The calibration targets with their tolerances and sources.
pub fn targets() -> Result<Vec<Target>, SynthError> {
    let mut reader = csv::Reader::from_reader(TARGETS_CSV.as_bytes());
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row?;
        let num = |i: usize| {
            row.get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        out.push(Target {
            name: row.get(0).unwrap_or_default().to_owned(),
            value: num(1),
            tolerance: num(2),
            source: row.get(3).unwrap_or_default().to_owned(),
        });
    }
    Ok(out)
}
