//! Outcome measures on cases: each service's schedule of instruments, the measures taken (answers
//! as given and the scores they produced), and the service's paired change for reports.
//!
//! Instruments are definitions loaded at start (`careweave-instruments`); this module scores the
//! answers with the definition the caller passes, so an answer out of range is refused before
//! anything is written, and keeps the scores as they were when taken. A measure is written with a
//! timeline entry and an audit row in one transaction; measures are read with the case, through
//! the access policy ([`Store::case_for`]).

use std::collections::BTreeMap;

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::{CaseId, OutcomePoint};
use careweave_domain::ServiceId;
use careweave_instruments::{Answers, Instrument};
use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::access::CaseAccess;
use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::change::{get_code, record_change, ActionError, CaseChange};
use crate::{get_date, get_i64, now_text, Store, StoreError};

/// A service's schedule for one instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeSchedule {
    pub service: ServiceId,
    pub service_name: String,
    pub instrument: String,
    /// Days into the episode when the follow-up falls due.
    pub follow_up_days: Option<u32>,
    pub at_discharge: bool,
}

/// One measure to record.
#[derive(Debug, Clone)]
pub struct NewOutcome<'a> {
    pub instrument: &'a Instrument,
    pub answers: Answers,
    pub taken_on: NaiveDate,
    pub point: OutcomePoint,
}

/// One scale's score as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredScore {
    pub scale: String,
    pub name: String,
    /// The score a report shows: converted when the scale has a conversion table, else raw.
    pub reported: f64,
    pub raw: f64,
    pub band: Option<String>,
    pub level: Option<i64>,
}

/// One measure taken on a case.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRecord {
    pub id: i64,
    pub instrument: String,
    pub instrument_name: String,
    pub version: String,
    pub taken_on: NaiveDate,
    pub point: OutcomePoint,
    pub by: String,
    pub scores: Vec<StoredScore>,
}

impl OutcomeRecord {
    /// The reported score of one scale, if the measure has it.
    #[must_use]
    pub fn reported(&self, scale: &str) -> Option<f64> {
        self.scores
            .iter()
            .find(|s| s.scale == scale)
            .map(|s| s.reported)
    }
}

/// Writes answers in the stored form (see migration `0011_outcomes`).
fn answers_text(answers: &Answers) -> String {
    let items = answers.items().iter().map(|(k, v)| format!("i:{k}={v}"));
    let recorded = answers.recorded().iter().map(|(k, r)| match r.level {
        Some(level) => format!("x:{k}={}/{level}", r.score),
        None => format!("x:{k}={}", r.score),
    });
    items.chain(recorded).collect::<Vec<_>>().join(";")
}

/// Whether `who` may set the outcome schedule of a service run by its provider: the provider's
/// supervisors and admins.
fn may_schedule(who: &Principal, provider: careweave_domain::OrganisationId) -> bool {
    who.has_role_in(Role::Supervisor, provider) || who.has_role_in(Role::Admin, provider)
}

impl Store {
    /// Every service's outcome schedule, from the settings cache (see [`crate::cache`]).
    pub async fn outcome_schedules(&self) -> Result<Vec<OutcomeSchedule>, StoreError> {
        if let Some(s) = self.settings.outcome_schedules.get() {
            return Ok(s.to_vec());
        }
        let schedules: std::sync::Arc<[OutcomeSchedule]> = sqlx::query(
            "SELECT o.service_id, s.name, o.instrument_id, o.follow_up_days, o.at_discharge \
             FROM outcome_schedules o JOIN services s ON s.id = o.service_id ORDER BY s.name, o.instrument_id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(OutcomeSchedule {
                service: ServiceId::new(get_i64(r, "service_id")?),
                service_name: r.try_get("name")?,
                instrument: r.try_get("instrument_id")?,
                follow_up_days: r
                    .try_get::<Option<i64>, _>("follow_up_days")?
                    .and_then(|d| u32::try_from(d).ok()),
                at_discharge: get_i64(r, "at_discharge")? == 1,
            })
        })
        .collect::<Result<_, StoreError>>()?;
        self.settings.outcome_schedules.put(schedules.clone());
        Ok(schedules.to_vec())
    }

    /// Schedules an instrument for a service (or changes its schedule): a baseline at the start,
    /// a follow-up `follow_up_days` into the episode, and one at discharge if asked. Only the
    /// provider's supervisors and admins may; audited.
    pub async fn set_outcome_schedule(
        &self,
        who: &Principal,
        service: ServiceId,
        instrument: &Instrument,
        follow_up_days: Option<u32>,
        at_discharge: bool,
    ) -> Result<(), ActionError> {
        let provider = self
            .casework_services()
            .await?
            .into_iter()
            .find(|s| s.id == service)
            .ok_or(ActionError::NotFound("The service"))?
            .provider;
        if !may_schedule(who, provider) {
            return Err(ActionError::Denied);
        }
        if follow_up_days.is_some_and(|d| !(1..=730).contains(&d)) {
            return Err(ActionError::refused(
                "The follow-up must fall between 1 and 730 days into the episode".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM outcome_schedules WHERE service_id = $1 AND instrument_id = $2")
            .bind(service.get())
            .bind(instrument.id().as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO outcome_schedules (service_id, instrument_id, follow_up_days, at_discharge, \
             instrument_name) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(service.get())
        .bind(instrument.id().as_str())
        .bind(follow_up_days.map(i64::from))
        .bind(i64::from(at_discharge))
        .bind(instrument.name())
        .execute(&mut *tx)
        .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: "outcome_schedule",
                entity_id: Some(service.get()),
                reason: format!("outcome schedule for {}", instrument.id().as_str()),
            },
        )
        .await?;
        tx.commit().await?;
        self.settings.clear();
        Ok(())
    }

    /// Records an outcome measure on a case after scoring it with `new.instrument`; answers that
    /// cannot be scored (an answer not among an item's options, a missing item, an external score
    /// out of range) are refused with the message naming the item, and nothing is written.
    ///
    /// `access` must come from [`Store::open_case`] opened for change; a read-only one is
    /// refused and the refusal audited.
    pub async fn record_outcome(
        &self,
        access: &CaseAccess,
        new: &NewOutcome<'_>,
    ) -> Result<i64, ActionError> {
        let (_, status) = self.changing(access, "outcome").await?;
        let (case, person) = (access.case(), access.person());
        if !status.is_active() && new.point != OutcomePoint::Discharge {
            return Err(ActionError::refused(
                "This case is discharged: reopen it to record a measure".to_owned(),
            ));
        }
        let scores = new
            .instrument
            .score(&new.answers)
            .map_err(|e| ActionError::refused(e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        let id = get_i64(
            &sqlx::query(
                "INSERT INTO outcome_records (case_id, instrument_id, instrument_version, instrument_name, \
                 taken_on, point, answers, recorded_by, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(case.get())
            .bind(new.instrument.id().as_str())
            .bind(new.instrument.version())
            .bind(new.instrument.name())
            .bind(new.taken_on.to_string())
            .bind(new.point.code())
            .bind(answers_text(&new.answers))
            .bind(access.user().get())
            .bind(now_text())
            .fetch_one(&mut *tx)
            .await?,
            "id",
        )?;
        for s in scores.scales() {
            let name = new
                .instrument
                .scale(s.scale().as_str())
                .map_or_else(|| s.scale().as_str().to_owned(), |d| d.name().to_owned());
            sqlx::query(
                "INSERT INTO outcome_scores (record_id, scale_id, scale_name, reported, raw, band, level) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(s.scale().as_str())
            .bind(name)
            .bind(s.reported())
            .bind(s.raw())
            .bind(s.band())
            .bind(s.level().map(|(l, _)| l))
            .execute(&mut *tx)
            .await?;
        }
        record_change(
            &mut tx,
            &CaseChange {
                case,
                person,
                by: access.user(),
                on: new.taken_on,
                kind: "outcome measure",
                summary: &format!(
                    "{} recorded ({})",
                    new.instrument.name(),
                    new.point.label().to_lowercase()
                ),
                action: AuditAction::Create,
                audit: format!(
                    "casework case {case}: outcome measure {} recorded",
                    new.instrument.id().as_str()
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The measures taken on a case, oldest first. Crate-only: [`Store::case_for`] reads them
    /// after the policy has opened the case.
    pub(crate) async fn outcomes_of(&self, case: CaseId) -> Result<Vec<OutcomeRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.instrument_id, r.instrument_name, r.instrument_version, r.taken_on, r.point, \
             u.display_name, s.scale_id, s.scale_name, s.reported, s.raw, s.band, s.level \
             FROM outcome_records r JOIN users u ON u.id = r.recorded_by \
             JOIN outcome_scores s ON s.record_id = r.id WHERE r.case_id = $1 \
             ORDER BY r.taken_on, r.id, s.scale_id",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<OutcomeRecord> = Vec::new();
        for r in &rows {
            let id = get_i64(r, "id")?;
            if out.last().is_none_or(|o| o.id != id) {
                out.push(OutcomeRecord {
                    id,
                    instrument: r.try_get("instrument_id")?,
                    instrument_name: r.try_get("instrument_name")?,
                    version: r.try_get("instrument_version")?,
                    taken_on: get_date(r, "taken_on")?,
                    point: get_code(r, "point", OutcomePoint::from_code)?,
                    by: r.try_get("display_name")?,
                    scores: Vec::new(),
                });
            }
            if let Some(last) = out.last_mut() {
                last.scores.push(score_from_row(r)?);
            }
        }
        Ok(out)
    }

    /// For the service's report: per instrument, each case's first baseline and latest later
    /// measure, as (instrument, baseline, follow-up) pairs of records. Aggregates only leave
    /// through the caller, which suppresses small numbers.
    pub async fn outcome_pairs(
        &self,
        services: &[ServiceId],
    ) -> Result<Vec<(OutcomeRecord, OutcomeRecord)>, StoreError> {
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let list = crate::sql::IdList::new(1, services.iter().map(|s| s.get()));
        let ids = list.placeholders();
        let cases = list
            .bind(sqlx::query(&format!(
            "SELECT DISTINCT r.case_id FROM outcome_records r JOIN casework_cases c ON c.id = r.case_id \
             WHERE c.service_id IN ({ids})"
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut pairs = Vec::new();
        for c in &cases {
            let records = self
                .outcomes_of(CaseId::new(get_i64(c, "case_id")?))
                .await?;
            let mut by_instrument: BTreeMap<&str, Vec<&OutcomeRecord>> = BTreeMap::new();
            for r in &records {
                by_instrument.entry(&r.instrument).or_default().push(r);
            }
            for list in by_instrument.values() {
                let baseline = list.iter().find(|r| r.point == OutcomePoint::Baseline);
                let latest = list
                    .iter()
                    .rev()
                    .find(|r| r.point != OutcomePoint::Baseline);
                if let (Some(b), Some(l)) = (baseline, latest) {
                    pairs.push(((*b).clone(), (*l).clone()));
                }
            }
        }
        Ok(pairs)
    }
}

/// One scale's paired change across a service's cases: how many people have a baseline and a
/// later measure, how many of them improved by the instrument's meaningful change, and the summed
/// change (follow-up less baseline), for the mean.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    pub instrument: String,
    pub scale: String,
    pub pairs: u64,
    pub improved: u64,
    pub stayed: u64,
    pub worsened: u64,
    pub change_sum: f64,
}

impl ChangeRow {
    /// Whether the figures derived from this row must be hidden: no pairs, or so few that they
    /// would identify people when the report leaves the team.
    fn hidden(&self, suppress: bool) -> bool {
        self.pairs == 0
            || (suppress && self.pairs <= careweave_domain::disclosure::SUPPRESS_AT_OR_BELOW)
    }

    /// The share improved as shown: hidden with the counts when they would identify people.
    #[must_use]
    pub fn share_text(&self, suppress: bool) -> String {
        if self.hidden(suppress) {
            return "Not shown".to_owned();
        }
        #[allow(clippy::cast_precision_loss)] // Counts of people are far below 2^52.
        let share = self.improved as f64 * 100.0 / self.pairs as f64;
        format!("{share:.0}%")
    }

    /// The mean change (follow-up less baseline), hidden like the share.
    #[must_use]
    pub fn mean_change_text(&self, suppress: bool) -> String {
        if self.hidden(suppress) {
            return "Not shown".to_owned();
        }
        #[allow(clippy::cast_precision_loss)] // Counts of people are far below 2^52.
        let mean = self.change_sum / self.pairs as f64;
        format!("{mean:+.2}").replace('-', "−")
    }
}

/// The paired change per instrument scale of `pairs` (from [`Store::outcome_pairs`]): each case's
/// baseline against its latest later measure, judged by the instrument's direction and meaningful
/// change. Shared by the service reports and the impact evaluation's stored results.
#[must_use]
pub fn paired_change(
    pairs: &[(OutcomeRecord, OutcomeRecord)],
    catalogue: &careweave_instruments::Catalogue,
) -> Vec<ChangeRow> {
    use careweave_instruments::Outcome;
    let mut rows: Vec<ChangeRow> = Vec::new();
    for (baseline, latest) in pairs {
        let definition = catalogue.get(&baseline.instrument);
        for score in &baseline.scores {
            let (Some(b), Some(l)) = (
                baseline.reported(&score.scale),
                latest.reported(&score.scale),
            ) else {
                continue;
            };
            let Some(outcome) = definition
                .and_then(|d| d.scale(&score.scale))
                .map(|s| s.outcome(b, l))
            else {
                continue;
            };
            let at = match rows
                .iter()
                .position(|r| r.instrument == baseline.instrument_name && r.scale == score.name)
            {
                Some(i) => i,
                None => {
                    rows.push(ChangeRow {
                        instrument: baseline.instrument_name.clone(),
                        scale: score.name.clone(),
                        pairs: 0,
                        improved: 0,
                        stayed: 0,
                        worsened: 0,
                        change_sum: 0.0,
                    });
                    rows.len() - 1
                }
            };
            let row = &mut rows[at];
            row.pairs += 1;
            row.change_sum += l - b;
            match outcome {
                Outcome::Improved => row.improved += 1,
                Outcome::Stayed => row.stayed += 1,
                Outcome::Worsened => row.worsened += 1,
            }
        }
    }
    rows
}

fn score_from_row(r: &AnyRow) -> Result<StoredScore, StoreError> {
    Ok(StoredScore {
        scale: r.try_get("scale_id")?,
        name: r.try_get("scale_name")?,
        reported: r.try_get("reported")?,
        raw: r.try_get("raw")?,
        band: r.try_get("band")?,
        level: r.try_get::<Option<i64>, _>("level")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_stored_in_a_readable_line() {
        let mut a = Answers::new();
        a.answer("q1", 3)
            .answer("q2", 0)
            .record("tool", 55.5, Some(3));
        assert_eq!(answers_text(&a), "i:q1=3;i:q2=0;x:tool=55.5/3");
    }
}
