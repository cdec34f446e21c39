//! The population engine's results in the operational store: place profiles (aggregates, already
//! disclosure-controlled by the engine) and case-finding worklists (person-level).
//!
//! This module is the second named door to personal data besides [`crate::records`]: a worklist
//! names people, so [`Store::worklist`] asks the access policy (workers and supervisors only) and
//! writes an audit row for every read, allowed or refused. A worker sees only the rows of people
//! registered with their own practice or with a practice of their PCN: case finding is direct
//! care by the person's own practice team, not a list for every organisation in the place.
//! Opening a person from a worklist goes through [`Store::read_person`](crate::records) as usual,
//! where [`Store::case_finding_facts`] gives the same organisations a need to know.

use careweave_domain::access::{Principal, Role};
use careweave_domain::{NhsNumber, OrganisationId, OrganisationKind, UserId};
use chrono::NaiveDate;
use sqlx::Row;

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::{get_i64, now_text, parse_date, Store, StoreError};

/// One cell of a place profile, as the engine published it (`None` counts were 7 or fewer, or the
/// measure does not apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileCell {
    pub level: String,
    pub place: String,
    pub place_name: Option<String>,
    pub dimension: String,
    pub category: String,
    pub people: Option<i64>,
    pub emergency_admissions: Option<i64>,
    pub ae_attendances: Option<i64>,
    pub gp_appointments: Option<i64>,
    pub bed_days: Option<i64>,
    pub cost: Option<i64>,
}

/// One person on one cohort's worklist.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistRow {
    pub cohort: String,
    pub nhs_number: NhsNumber,
    pub practice: Option<String>,
    pub segment: Option<String>,
    /// The names of the criteria met, joined with ", ".
    pub criteria_met: String,
    pub criteria_count: i64,
    pub age: Option<i64>,
    pub sex: Option<String>,
    /// The electronic frailty index (0 to 1).
    pub efi: Option<f64>,
    /// The engine's default Charlson score.
    pub charlson: Option<i64>,
    /// The Hospital Frailty Risk Score.
    pub hfrs: Option<f64>,
    /// Emergency admissions in the engine's lookback.
    pub emergency_admissions: Option<i64>,
}

impl WorklistRow {
    /// A row with only what decides who is on a list; the figures behind it are unknown.
    #[must_use]
    pub fn found(cohort: &str, nhs_number: NhsNumber, criteria_met: &str) -> Self {
        Self {
            cohort: cohort.to_owned(),
            nhs_number,
            practice: None,
            segment: None,
            criteria_count: i64::try_from(criteria_met.split(", ").count()).unwrap_or(i64::MAX),
            criteria_met: criteria_met.to_owned(),
            age: None,
            sex: None,
            efi: None,
            charlson: None,
            hfrs: None,
            emergency_admissions: None,
        }
    }
}

/// One criterion of a cohort, with the words a worker reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriterionRow {
    pub cohort: String,
    pub name: String,
    pub description: String,
}

/// Everything one engine run loads.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationLoad {
    pub index_date: NaiveDate,
    pub disclosure_control: bool,
    /// (name, title) of each cohort.
    pub cohorts: Vec<(String, String)>,
    /// Every cohort's criteria, in the order the rules give them.
    pub criteria: Vec<CriterionRow>,
    pub profiles: Vec<ProfileCell>,
    pub worklist: Vec<WorklistRow>,
}

/// The latest run, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    pub id: i64,
    pub index_date: NaiveDate,
    pub disclosure_control: bool,
}

/// A place a profile exists for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceChoice {
    pub level: String,
    pub place: String,
    pub place_name: Option<String>,
}

/// Whether `who` may read person-level worklists: workers and supervisors, who act on them,
/// practice staff who refer (a GP finding their own patients is the practice's direct care) and
/// the managers of practices and PCNs, who plan the work. Which rows they see is decided by where
/// they work ([`PRACTICE_ROLES`], `store::worklists`).
#[must_use]
pub fn can_read_worklists(who: &Principal) -> bool {
    who.memberships
        .iter()
        .any(|m| PRACTICE_ROLES.contains(&m.role))
}

/// The roles that, held in a GP practice or a PCN, give that practice's (or every practice of
/// that PCN's) worklists and population profile: the practice team's own direct care and planning.
pub const PRACTICE_ROLES: [Role; 4] = [
    Role::Worker,
    Role::Supervisor,
    Role::Referrer,
    Role::Manager,
];

/// Whether `who` holds one of the [`PRACTICE_ROLES`] in a practice or PCN, given the kind of each
/// organisation they belong to: whether their worklists and practice population profile have
/// anything in them, so that the menu offers them only to those they serve.
#[must_use]
pub fn works_in_practice_or_pcn(
    who: &Principal,
    kinds: &[(OrganisationId, OrganisationKind)],
) -> bool {
    who.memberships.iter().any(|m| {
        PRACTICE_ROLES.contains(&m.role)
            && kinds.iter().any(|(o, k)| {
                *o == m.organisation
                    && matches!(k, OrganisationKind::GpPractice | OrganisationKind::Pcn)
            })
    })
}

/// Whether `who` sees any population figures: analysts, commissioners and supervisors see every
/// place's, and whoever [`works_in_practice_or_pcn`] sees their practices' (see
/// [`Store::population_scope`], which decides which).
#[must_use]
pub fn sees_population(who: &Principal, kinds: &[(OrganisationId, OrganisationKind)]) -> bool {
    sees_every_place(who) || works_in_practice_or_pcn(who, kinds)
}

/// Analysts, commissioners and supervisors see the whole neighbourhood's figures.
pub(crate) fn sees_every_place(who: &Principal) -> bool {
    who.memberships.iter().any(|m| {
        matches!(
            m.role,
            Role::Analyst | Role::Commissioner | Role::Supervisor
        )
    })
}

/// Whose population figures a reader sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PopulationScope {
    /// Analysts, commissioners and supervisors: every place.
    Everywhere,
    /// Practice staff and managers: the practices they work at, or every practice of the PCN
    /// they work at, and that PCN. Each is (level, place code) as the engine names places.
    Places(Vec<(String, String)>),
}

impl PopulationScope {
    /// Whether a place of the engine's profiles is in scope.
    #[must_use]
    pub fn includes(&self, level: &str, place: &str) -> bool {
        match self {
            Self::Everywhere => true,
            Self::Places(places) => places.iter().any(|(l, p)| l == level && p == place),
        }
    }
}

/// What case finding adds to [`Store::care_facts`], as rows of (kind, user, organisation): when the
/// person is on a worklist of the latest run, their registered practice and the PCN organisations of
/// that practice's place may act on it. Only the latest run counts, so someone who no longer meets a
/// cohort's criteria drops out. `$1` is the person and `$3` the organisation kind of a PCN.
pub(crate) const CASE_FINDING_FACTS: &str =
    "SELECT 'case_finding', NULL, o.id FROM people p JOIN organisations o ON o.id = p.registered_practice_id \
     WHERE p.id = $1 AND EXISTS (SELECT 1 FROM population_worklist w \
     WHERE w.nhs_number = p.nhs_number AND w.run_id = (SELECT MAX(id) FROM population_runs)) \
     UNION ALL SELECT 'case_finding', NULL, pcn.id FROM people p \
     JOIN organisations o ON o.id = p.registered_practice_id \
     JOIN organisations pcn ON pcn.place_id = o.place_id AND pcn.kind = $3 \
     WHERE p.id = $1 AND EXISTS (SELECT 1 FROM population_worklist w \
     WHERE w.nhs_number = p.nhs_number AND w.run_id = (SELECT MAX(id) FROM population_runs))";

impl Store {
    /// Loads one engine run in one transaction, with one audit row for the person-level worklist.
    pub async fn load_population(
        &self,
        actor: Option<UserId>,
        load: &PopulationLoad,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO population_runs (index_date, loaded_at, disclosure_control) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(load.index_date.to_string())
        .bind(now_text())
        .bind(i64::from(load.disclosure_control))
        .fetch_one(&mut *tx)
        .await?;
        let run = get_i64(&row, "id")?;
        for (name, title) in &load.cohorts {
            sqlx::query("INSERT INTO population_cohorts (run_id, name, title) VALUES ($1, $2, $3)")
                .bind(run)
                .bind(name)
                .bind(title)
                .execute(&mut *tx)
                .await?;
        }
        for (position, c) in (0_i64..).zip(&load.criteria) {
            sqlx::query(
                "INSERT INTO population_criteria (run_id, cohort, name, description, position) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(run)
            .bind(&c.cohort)
            .bind(&c.name)
            .bind(&c.description)
            .bind(position)
            .execute(&mut *tx)
            .await?;
        }
        for c in &load.profiles {
            sqlx::query(
                "INSERT INTO population_profiles (run_id, level, place, place_name, dimension, category, people, \
                 emergency_admissions, ae_attendances, gp_appointments, bed_days, cost) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(run)
            .bind(&c.level)
            .bind(&c.place)
            .bind(c.place_name.clone())
            .bind(&c.dimension)
            .bind(&c.category)
            .bind(c.people)
            .bind(c.emergency_admissions)
            .bind(c.ae_attendances)
            .bind(c.gp_appointments)
            .bind(c.bed_days)
            .bind(c.cost)
            .execute(&mut *tx)
            .await?;
        }
        for w in &load.worklist {
            sqlx::query(
                "INSERT INTO population_worklist (run_id, cohort, nhs_number, practice, segment, criteria_met, \
                 criteria_count, age, sex, efi, charlson, hfrs, emergency_admissions) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(run)
            .bind(&w.cohort)
            .bind(w.nhs_number.as_digits())
            .bind(w.practice.clone())
            .bind(w.segment.clone())
            .bind(&w.criteria_met)
            .bind(w.criteria_count)
            .bind(w.age)
            .bind(w.sex.clone())
            .bind(w.efi)
            .bind(w.charlson)
            .bind(w.hfrs)
            .bind(w.emergency_admissions)
            .execute(&mut *tx)
            .await?;
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: actor,
                action: AuditAction::Create,
                entity: "population_worklist",
                entity_id: Some(run),
                reason: format!(
                    "population run loaded ({} worklist rows)",
                    load.worklist.len()
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(run)
    }

    /// The latest loaded run, if any.
    pub async fn latest_population_run(&self) -> Result<Option<RunInfo>, StoreError> {
        let row = sqlx::query("SELECT id, index_date, disclosure_control FROM population_runs ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(RunInfo {
                id: get_i64(&r, "id")?,
                index_date: parse_date(
                    "population_runs.index_date",
                    &r.try_get::<String, _>("index_date")?,
                )?,
                disclosure_control: get_i64(&r, "disclosure_control")? == 1,
            })
        })
        .transpose()
    }

    /// Every place of a run, by level and name.
    pub async fn population_places(&self, run: i64) -> Result<Vec<PlaceChoice>, StoreError> {
        let rows = sqlx::query(
            // A small area's profile carries only its code as its name; the registry's places
            // give it its name in words (issue 16).
            "SELECT DISTINCT pp.level, pp.place, COALESCE(pl.name, pp.place_name) AS place_name \
             FROM population_profiles pp LEFT JOIN places pl ON pl.level = pp.level AND pl.code = pp.place \
             WHERE pp.run_id = $1 ORDER BY pp.level, pp.place",
        )
        .bind(run)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PlaceChoice {
                    level: r.try_get("level")?,
                    place: r.try_get("place")?,
                    place_name: r.try_get("place_name")?,
                })
            })
            .collect()
    }

    /// The profile of one place in a run.
    pub async fn population_profile(
        &self,
        run: i64,
        level: &str,
        place: &str,
    ) -> Result<Vec<ProfileCell>, StoreError> {
        let rows = sqlx::query(
            "SELECT level, place, place_name, dimension, category, people, emergency_admissions, ae_attendances, \
             gp_appointments, bed_days, cost FROM population_profiles WHERE run_id = $1 AND level = $2 AND place = $3 \
             ORDER BY dimension, category",
        )
        .bind(run)
        .bind(level)
        .bind(place)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProfileCell {
                    level: r.try_get("level")?,
                    place: r.try_get("place")?,
                    place_name: r.try_get("place_name")?,
                    dimension: r.try_get("dimension")?,
                    category: r.try_get("category")?,
                    people: r.try_get("people")?,
                    emergency_admissions: r.try_get("emergency_admissions")?,
                    ae_attendances: r.try_get("ae_attendances")?,
                    gp_appointments: r.try_get("gp_appointments")?,
                    bed_days: r.try_get("bed_days")?,
                    cost: r.try_get("cost")?,
                })
            })
            .collect()
    }

    /// The cohorts of a run: (name, title).
    pub async fn population_cohorts(&self, run: i64) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, title FROM population_cohorts WHERE run_id = $1 ORDER BY name",
        )
        .bind(run)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("title")?)))
            .collect()
    }
}
