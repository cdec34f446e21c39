//! Planted support episodes with a known true effect, so that the impact evaluation
//! (`careweave-evaluation`) can be tested against the truth.
//!
//! Real referrals come at a peak of need: a person is referred after a run of admissions or
//! A&E visits, and would often have used less care afterwards anyway (regression to the mean).
//! The generator copies that as a monthly chance of referral, the way a service meets people: in
//! every calendar month of the referral span, each adult who is registered, alive and not yet
//! referred may be referred, with a chance that rises with the square of their recent use
//! (emergency admissions count double, A&E attendances once, every three GP appointments once, in
//! the six months before). Everyone faces the same monthly chance throughout, so a person referred
//! in month `s` and a person not (yet) referred by then have both passed the earlier months
//! unreferred; an earlier design gave each person one candidate month, which emptied the pool of
//! high users at later months (they had been referred at theirs) in a way no evaluation can see.
//! A referred person's events in the `months` whole calendar months from the start month are
//! thinned: each emergency admission is removed with probability
//! `emergency_admissions_percent / 100`, each GP appointment with `gp_appointments_percent / 100`,
//! so the expected rates fall by exactly those shares while everything else stays as generated.
//! The truth (the effects, the window and the number of episodes) goes into the manifest.

use chrono::{Datelike, Days, Months, NaiveDate};
use rand::Rng;

use crate::history::{Context, Events};
use crate::rng::{self, Stream};
use crate::SynthConfig;

/// What to plant. Percentages are whole numbers (−20 means a 20% reduction) so that the config
/// stays comparable and hashable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Intervention {
    /// Relative change in emergency admissions while the effect lasts, in per cent (−20).
    pub emergency_admissions_percent: i32,
    /// Relative change in GP appointments (attended or missed) while the effect lasts, in per cent.
    pub gp_appointments_percent: i32,
    /// Whole calendar months the effect lasts, counted from the first day of the start month.
    pub months: u32,
    /// Referral intensity: the chance, per 100,000, that a person with a recent-use score of one
    /// is referred in a given month.
    pub referral_per_100k: u32,
}

impl Default for Intervention {
    /// The example: −20% emergency admissions and −10% GP appointments for 12 months.
    fn default() -> Self {
        Self {
            emergency_admissions_percent: -20,
            gp_appointments_percent: -10,
            months: 12,
            referral_per_100k: 150,
        }
    }
}

/// The service the planted episodes belong to, as written in `exposures.csv`.
pub const PLANTED_SERVICE: &str = "personalised-care";

/// One planted support episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Episode {
    /// The first day of the month the effect starts; the referral is in this month.
    pub start_month: NaiveDate,
    pub referral: NaiveDate,
    pub first_contact: NaiveDate,
    pub discharge: NaiveDate,
    pub contacts: u32,
}

/// The first day of `date`'s month.
fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// Decides whether the person in `ctx` is referred and, if so, thins their events in the effect
/// window. `None` when no intervention is configured or the person was not referred.
pub(crate) fn plant(
    config: &SynthConfig,
    ctx: &Context,
    date_of_death: Option<NaiveDate>,
    events: &mut Events,
) -> Option<Episode> {
    let plan = config.intervention()?;
    let mut rng = rng::stream(config.seed(), Stream::Intervention, u64::from(ctx.index));
    // Starts leave a full year of history before (plus six months for the selection look-back)
    // and a full effect window before the extract date.
    let first = month_start(config.history_start()).checked_add_months(Months::new(18))?;
    let last =
        month_start(config.extract_date()).checked_sub_months(Months::new(plan.months.max(1)))?;
    let recent_use = |start: NaiveDate| -> Option<f64> {
        let since = start.checked_sub_months(Months::new(6))?;
        let recent = |d: NaiveDate| d >= since && d < start;
        let admissions = events
            .admissions
            .iter()
            .filter(|a| a.emergency && recent(a.admitted))
            .count();
        let ae = events
            .ae_attendances
            .iter()
            .filter(|a| !a.admitted && recent(a.date))
            .count();
        let gp = events
            .gp_appointments
            .iter()
            .filter(|a| a.date >= start - Days::new(91) && a.date < start)
            .count();
        Some((2 * admissions + ae + gp / 3) as f64)
    };
    let mut month = first;
    let (start, referral) = loop {
        if month > last {
            return None;
        }
        // Both draws are taken every month, whoever the person is, so that each month's draws
        // are the same whatever the planted effect and whoever else is referred.
        let draw: f64 = rng.gen();
        let day: u64 = rng.gen_range(0..14);
        let referral = month + Days::new(day);
        let adult = careweave_domain::dates::age_on(ctx.dob, month) >= 18;
        let alive = date_of_death.is_none_or(|d| d > referral);
        if adult && alive && ctx.registration <= month {
            let score = recent_use(month)?;
            let chance = (f64::from(plan.referral_per_100k) / 100_000.0 * score * score).min(0.5);
            if draw < chance {
                break (month, referral);
            }
        }
        month = month.checked_add_months(Months::new(1))?;
    };
    let end = start.checked_add_months(Months::new(plan.months))?;
    let within = |d: NaiveDate| d >= start && d < end;
    let keep = |rng: &mut rand_chacha::ChaCha8Rng, percent: i32| {
        rng.gen::<f64>() >= f64::from(-percent.min(0)) / 100.0
    };
    let mut removed_days = Vec::new();
    events.admissions.retain(|a| {
        if a.emergency && within(a.admitted) && !keep(&mut rng, plan.emergency_admissions_percent) {
            removed_days.push(a.admitted);
            return false;
        }
        true
    });
    // The A&E visit that led to a removed admission still happened; it just did not end in a bed.
    for a in &mut events.ae_attendances {
        if a.admitted && removed_days.contains(&a.date) {
            a.admitted = false;
        }
    }
    events
        .gp_appointments
        .retain(|a| !within(a.date) || keep(&mut rng, plan.gp_appointments_percent));

    let stop = date_of_death
        .unwrap_or(config.extract_date())
        .min(config.extract_date());
    // A person who dies soon after the referral is still a referral (the evaluation must not
    // look past the start to choose whom it evaluates); their contact is on the day they die
    // at the latest.
    let first_contact = (referral + Days::new(rng.gen_range(1..14))).min(stop.max(referral));
    let discharge =
        (first_contact + Days::new(rng.gen_range(60..180))).min(stop.max(first_contact));
    Some(Episode {
        start_month: start,
        referral,
        first_contact,
        discharge,
        contacts: rng.gen_range(3..13),
    })
}

/// The header of `exposures.csv`, the same layout a deployment supplies to the evaluation.
pub const EXPOSURE_COLUMNS: [&str; 6] = [
    "nhs_number",
    "service",
    "referral_date",
    "first_contact_date",
    "discharge_date",
    "contacts",
];

/// The `exposures.csv` row of one episode.
pub(crate) fn exposure_row(nhs_digits: &str, e: &Episode) -> [String; 6] {
    [
        nhs_digits.to_owned(),
        PLANTED_SERVICE.to_owned(),
        e.referral.to_string(),
        e.first_contact.to_string(),
        e.discharge.to_string(),
        e.contacts.to_string(),
    ]
}

/// The truth, as written into the manifest.
pub(crate) fn truth_json(plan: &Intervention, episodes: u64) -> serde_json::Value {
    serde_json::json!({
        "service": PLANTED_SERVICE,
        "exposures_file": "exposures.csv",
        "episodes": episodes,
        "effect_months": plan.months,
        "effect_starts": "first day of the referral month",
        "relative_effects": {
            "emergency_admissions": f64::from(plan.emergency_admissions_percent) / 100.0,
            "gp_appointments": f64::from(plan.gp_appointments_percent) / 100.0,
        },
        "selection": "adults at a recent peak of use: every month, the chance of referral rises with the square of emergency admissions (x2), A&E attendances and GP appointments (/3) in the months before",
        "referral_per_100k_per_month": plan.referral_per_100k,
    })
}
