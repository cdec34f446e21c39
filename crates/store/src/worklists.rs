//! Case-finding worklists as a team works them: one page at a time, sorted and filtered, with the
//! figures behind each reason, and a decision to set a person aside until a review date.
//!
//! A worklist names people, so this is a door to personal data like [`crate::records`]: every
//! page, export and decision asks [`can_read_worklists`] and is audited, allowed or refused. A
//! reader sees only the rows of people registered with a practice they work at, or with a practice
//! of a primary care network they work at: case finding is direct care by the person's own practice
//! team. The practice filter is applied in SQL with bound parameters, so a list of 25,000 people is
//! never read whole to show 50.
//!
//! Decisions ("snoozed", "not suitable") are keyed by cohort and NHS number rather than by run, so
//! that a person set aside stays aside when the engine runs again, until the review date.

use std::collections::BTreeSet;

use careweave_domain::access::Principal;
use careweave_domain::{NhsNumber, Organisation, OrganisationId, OrganisationKind, PersonId};
use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::population::{can_read_worklists, PopulationScope, PRACTICE_ROLES};
use crate::{now_text, parse_column, parse_date, Store, StoreError};

/// How a worklist page is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorklistSort {
    /// Most criteria met first, then the highest frailty index: who has most to gain.
    #[default]
    Criteria,
    /// Oldest first.
    Age,
    /// Never contacted first, then the longest since the last casework contact.
    LastContact,
    /// By practice name, so a practice team can take its own block.
    Practice,
}

impl WorklistSort {
    /// The value in a page's query string.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Criteria => "criteria",
            Self::Age => "age",
            Self::LastContact => "last-contact",
            Self::Practice => "practice",
        }
    }

    /// Reads a query-string value; anything unknown is the default order.
    #[must_use]
    pub fn from_code(code: &str) -> Self {
        match code {
            "age" => Self::Age,
            "last-contact" => Self::LastContact,
            "practice" => Self::Practice,
            _ => Self::Criteria,
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            Self::Criteria => "x.criteria_count DESC, COALESCE(x.efi, -1) DESC, x.nhs_number",
            Self::Age => "COALESCE(x.age, -1) DESC, x.nhs_number",
            Self::LastContact => "COALESCE(x.last_contact, '') ASC, x.nhs_number",
            Self::Practice => "COALESCE(x.practice_name, x.practice, '') ASC, x.nhs_number",
        }
    }
}

/// What a reader asked of a worklist. Filters hold values a page offered; anything else simply
/// matches nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorklistQuery {
    pub sort: WorklistSort,
    /// A practice's ODS code.
    pub practice: Option<String>,
    pub segment: Option<String>,
    /// A criterion's name.
    pub criterion: Option<String>,
    /// Show the people set aside (and only them) instead of those still to consider.
    pub set_aside: bool,
    /// From 1.
    pub page: u32,
}

/// Rows on one page.
pub const PAGE_SIZE: u32 = 50;

/// A decision to take a person off a worklist for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAsideKind {
    /// Not now (for example in hospital, or already offered support recently).
    Snoozed,
    /// Not suitable for this offer (for example already supported by another team).
    NotSuitable,
}

impl SetAsideKind {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Snoozed => "snoozed",
            Self::NotSuitable => "not_suitable",
        }
    }

    /// The words a worker reads.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Snoozed => "Snoozed",
            Self::NotSuitable => "Not suitable",
        }
    }

    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "snoozed" => Some(Self::Snoozed),
            "not_suitable" => Some(Self::NotSuitable),
            _ => None,
        }
    }
}

/// The decision in force for a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    pub kind: SetAsideKind,
    pub reason: String,
    pub review_on: NaiveDate,
}

/// A worklist entry as a worker sees it: the person's record id when the person is registered in
/// careweave, so that the page can link to the record, and the figures behind the criteria.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistEntry {
    pub person: Option<PersonId>,
    pub display_name: Option<String>,
    pub nhs_number: NhsNumber,
    /// The practice's ODS code as the extract gave it, and its name when careweave knows it.
    pub practice: Option<String>,
    pub practice_name: Option<String>,
    pub segment: Option<String>,
    /// The names of the criteria met, in the cohort's order.
    pub criteria: Vec<String>,
    pub age: Option<i64>,
    pub sex: Option<String>,
    pub efi: Option<f64>,
    pub charlson: Option<i64>,
    pub hfrs: Option<f64>,
    pub emergency_admissions: Option<i64>,
    pub last_contact: Option<NaiveDate>,
    pub set_aside: Option<SetAside>,
}

/// One page of a worklist, with what the page's filters can offer.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistPage {
    pub entries: Vec<WorklistEntry>,
    /// Rows matching the query across all pages.
    pub total: i64,
    /// (ODS code, name) of the practices whose rows the reader may see.
    pub practices: Vec<(String, String)>,
    /// (name, description) of the cohort's criteria.
    pub criteria: Vec<(String, String)>,
}

/// Why a decision was refused, naming the form field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRefused {
    pub field: &'static str,
    pub reason: &'static str,
}

/// The practices (ids and ODS codes) whose patients' rows `who` may see, as SQL needs them.
struct Scope {
    practice_ids: Vec<i64>,
    practice_codes: Vec<String>,
    practices: Vec<(String, String)>,
    /// The organisation a decision is recorded against: the first practice or PCN the reader works at.
    organisation: Option<OrganisationId>,
}

/// Appends `column IN ($n, $n+1, …)` for `count` values, numbering from `next` (bound parameters,
/// never values in the SQL text).
fn in_list(sql: &mut String, column: &str, count: usize, next: &mut usize) {
    let marks: Vec<String> = (0..count).map(|i| format!("${}", *next + i)).collect();
    *next += count;
    sql.push_str(&format!("{column} IN ({})", marks.join(", ")));
}

/// A bound value of a dynamically built worklist query.
enum Bind {
    Int(i64),
    Text(String),
}

impl Store {
    /// The practices (and PCNs) whose people `who` works with: practices where they hold one of
    /// the [`PRACTICE_ROLES`], and every practice of a PCN where they hold one. Shared by the
    /// worklists and the population profile, so both show a reader the same practices.
    pub async fn practice_scope(
        &self,
        who: &Principal,
    ) -> Result<(Vec<Organisation>, Vec<Organisation>), StoreError> {
        let mine: BTreeSet<OrganisationId> = who
            .memberships
            .iter()
            .filter(|m| PRACTICE_ROLES.contains(&m.role))
            .map(|m| m.organisation)
            .collect();
        let orgs = self.organisations().await?;
        let pcns: Vec<Organisation> = orgs
            .iter()
            .filter(|o| o.kind == OrganisationKind::Pcn && mine.contains(&o.id))
            .cloned()
            .collect();
        let my_pcn_places: BTreeSet<_> = pcns.iter().filter_map(|o| o.place).collect();
        let practices = orgs
            .into_iter()
            .filter(|o| o.kind == OrganisationKind::GpPractice)
            .filter(|o| mine.contains(&o.id) || o.place.is_some_and(|p| my_pcn_places.contains(&p)))
            .collect();
        Ok((practices, pcns))
    }

    /// Which places' population figures `who` sees; `None` when they see none.
    pub async fn population_scope(
        &self,
        who: &Principal,
    ) -> Result<Option<PopulationScope>, StoreError> {
        if crate::population::sees_every_place(who) {
            return Ok(Some(PopulationScope::Everywhere));
        }
        let (practices, pcns) = self.practice_scope(who).await?;
        let places: Vec<(String, String)> = pcns
            .iter()
            .map(|o| ("pcn", o))
            .chain(practices.iter().map(|o| ("practice", o)))
            .filter_map(|(level, o)| {
                o.ods_code
                    .as_ref()
                    .map(|c| (level.to_owned(), c.as_str().to_owned()))
            })
            .collect();
        Ok((!places.is_empty()).then_some(PopulationScope::Places(places)))
    }

    async fn worklist_scope(&self, who: &Principal) -> Result<Scope, StoreError> {
        let (practices, pcns) = self.practice_scope(who).await?;
        let organisation = practices
            .iter()
            .chain(&pcns)
            .find(|o| {
                who.memberships
                    .iter()
                    .any(|m| m.organisation == o.id && PRACTICE_ROLES.contains(&m.role))
            })
            .map(|o| o.id);
        let mut named: Vec<(String, String)> = practices
            .iter()
            .filter_map(|o| {
                o.ods_code
                    .as_ref()
                    .map(|c| (c.as_str().to_owned(), o.name.clone()))
            })
            .collect();
        named.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(Scope {
            practice_ids: practices.iter().map(|o| o.id.get()).collect(),
            practice_codes: named.iter().map(|(c, _)| c.clone()).collect(),
            practices: named,
            organisation,
        })
    }

    async fn refuse_worklist(
        &self,
        who: &Principal,
        run: i64,
        what: &str,
    ) -> Result<(), StoreError> {
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Denied,
            entity: "population_worklist",
            entity_id: Some(run),
            reason: format!("{what}: not a worker, supervisor, manager or practice referrer"),
        })
        .await
    }

    /// One page of a cohort's worklist for `who`, or `None` when `who` may not read worklists.
    /// `today` decides which set-aside decisions are still in force. Audited either way.
    pub async fn worklist_page(
        &self,
        who: &Principal,
        run: i64,
        cohort: &str,
        query: &WorklistQuery,
        today: NaiveDate,
    ) -> Result<Option<WorklistPage>, StoreError> {
        if !can_read_worklists(who) {
            self.refuse_worklist(who, run, &format!("worklist {cohort}"))
                .await?;
            return Ok(None);
        }
        let scope = self.worklist_scope(who).await?;
        let criteria = self.cohort_criteria(run, cohort).await?;
        let page = query.page.max(1);
        let (entries, total) = self
            .worklist_rows(&scope, run, cohort, query, today, Some(page))
            .await?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "population_worklist",
            entity_id: Some(run),
            reason: format!(
                "worklist {cohort} page {page} ({} of {total} people shown)",
                entries.len()
            ),
        })
        .await?;
        Ok(Some(WorklistPage {
            entries,
            total,
            practices: scope.practices,
            criteria,
        }))
    }

    /// Every row of a cohort's worklist that matches `query`, for a CSV export; `None` when `who`
    /// may not read worklists. Audited as an export, since the rows leave careweave.
    pub async fn worklist_export(
        &self,
        who: &Principal,
        run: i64,
        cohort: &str,
        query: &WorklistQuery,
        today: NaiveDate,
    ) -> Result<Option<Vec<WorklistEntry>>, StoreError> {
        if !can_read_worklists(who) {
            self.refuse_worklist(who, run, &format!("worklist {cohort} export"))
                .await?;
            return Ok(None);
        }
        let scope = self.worklist_scope(who).await?;
        let (entries, _) = self
            .worklist_rows(&scope, run, cohort, query, today, None)
            .await?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Export,
            entity: "population_worklist",
            entity_id: Some(run),
            reason: format!(
                "worklist {cohort} exported as CSV ({} people)",
                entries.len()
            ),
        })
        .await?;
        Ok(Some(entries))
    }

    /// The criteria of a run's cohort: (name, description), in the order the rules give them.
    pub async fn cohort_criteria(
        &self,
        run: i64,
        cohort: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, description FROM population_criteria WHERE run_id = $1 AND cohort = $2 ORDER BY position",
        )
        .bind(run)
        .bind(cohort)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("description")?)))
            .collect()
    }

    async fn worklist_rows(
        &self,
        scope: &Scope,
        run: i64,
        cohort: &str,
        query: &WorklistQuery,
        today: NaiveDate,
        page: Option<u32>,
    ) -> Result<(Vec<WorklistEntry>, i64), StoreError> {
        if scope.practice_ids.is_empty() && scope.practice_codes.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let mut binds = vec![
            Bind::Text(today.to_string()),
            Bind::Int(run),
            Bind::Text(cohort.to_owned()),
        ];
        let mut next = 4;
        let mut from = String::from(
            "FROM population_worklist w \
             LEFT JOIN people p ON p.nhs_number = w.nhs_number \
             LEFT JOIN organisations o ON o.ods_code = w.practice \
             LEFT JOIN worklist_decisions d ON d.id = (SELECT MAX(d2.id) FROM worklist_decisions d2 \
               WHERE d2.cohort = w.cohort AND d2.nhs_number = w.nhs_number) AND d.review_on > $1 \
             WHERE w.run_id = $2 AND w.cohort = $3 AND ",
        );
        // A registered person belongs to the practice careweave knows; anyone else to the practice
        // the extract named.
        from.push_str("((p.id IS NOT NULL AND ");
        if scope.practice_ids.is_empty() {
            from.push_str("1 = 0");
        } else {
            in_list(
                &mut from,
                "p.registered_practice_id",
                scope.practice_ids.len(),
                &mut next,
            );
            binds.extend(scope.practice_ids.iter().map(|id| Bind::Int(*id)));
        }
        from.push_str(") OR (p.id IS NULL AND ");
        if scope.practice_codes.is_empty() {
            from.push_str("1 = 0");
        } else {
            in_list(
                &mut from,
                "w.practice",
                scope.practice_codes.len(),
                &mut next,
            );
            binds.extend(scope.practice_codes.iter().cloned().map(Bind::Text));
        }
        from.push_str("))");
        from.push_str(if query.set_aside {
            " AND d.id IS NOT NULL"
        } else {
            " AND d.id IS NULL"
        });
        if let Some(practice) = &query.practice {
            from.push_str(&format!(" AND w.practice = ${next}"));
            next += 1;
            binds.push(Bind::Text(practice.clone()));
        }
        if let Some(segment) = &query.segment {
            from.push_str(&format!(" AND w.segment = ${next}"));
            next += 1;
            binds.push(Bind::Text(segment.clone()));
        }
        if let Some(criterion) = &query.criterion {
            // Criteria are stored as "a, b, c"; a LIKE pattern with its wildcards escaped finds
            // one whole name.
            from.push_str(&format!(
                " AND (', ' || w.criteria_met || ', ') LIKE ${next} ESCAPE '\\'"
            ));
            next += 1;
            let escaped = criterion
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            binds.push(Bind::Text(format!("%, {escaped}, %")));
        }
        let total = {
            let sql = format!("SELECT COUNT(*) AS n {from}");
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = match b {
                    Bind::Int(v) => q.bind(*v),
                    Bind::Text(v) => q.bind(v.clone()),
                };
            }
            q.fetch_one(&self.pool).await?.try_get::<i64, _>("n")?
        };
        let mut sql = format!(
            "SELECT * FROM (SELECT w.nhs_number, w.practice, w.segment, w.criteria_met, w.age, w.sex, \
             w.criteria_count, w.efi, w.charlson, w.hfrs, w.emergency_admissions, \
             p.id AS person_id, p.given_name, p.family_name, o.name AS practice_name, \
             d.decision, d.reason AS decision_reason, d.review_on, \
             (SELECT MAX(c.contact_on) FROM casework_contacts c JOIN casework_cases k ON k.id = c.case_id \
              WHERE k.person_id = p.id) AS last_contact \
             {from}) x ORDER BY {}",
            query.sort.order_by()
        );
        if let Some(page) = page {
            sql.push_str(&format!(" LIMIT ${} OFFSET ${}", next, next + 1));
            binds.push(Bind::Int(i64::from(PAGE_SIZE)));
            binds.push(Bind::Int(i64::from(page - 1) * i64::from(PAGE_SIZE)));
        }
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = match b {
                Bind::Int(v) => q.bind(*v),
                Bind::Text(v) => q.bind(v.clone()),
            };
        }
        let rows = q.fetch_all(&self.pool).await?;
        let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
        Ok((entries, total))
    }

    /// Sets a person aside on a cohort's worklist until `review_on`, with a reason. The reader must
    /// be able to see the person's row today; anything else is refused as "not on your worklist"
    /// without saying whether the person exists. Audited.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_aside_on_worklist(
        &self,
        who: &Principal,
        run: i64,
        cohort: &str,
        nhs_number: NhsNumber,
        kind: SetAsideKind,
        reason: &str,
        review_on: NaiveDate,
        today: NaiveDate,
    ) -> Result<Result<(), DecisionRefused>, StoreError> {
        if !can_read_worklists(who) {
            self.refuse_worklist(who, run, &format!("worklist {cohort} decision"))
                .await?;
            return Ok(Err(DecisionRefused {
                field: "person",
                reason: "You cannot work on worklists",
            }));
        }
        if reason.trim().is_empty() {
            return Ok(Err(DecisionRefused {
                field: "reason",
                reason: "Enter why this person is being set aside",
            }));
        }
        if review_on <= today {
            return Ok(Err(DecisionRefused {
                field: "review",
                reason: "The review date must be in the future",
            }));
        }
        if review_on > today + chrono::Days::new(366) {
            return Ok(Err(DecisionRefused {
                field: "review",
                reason:
                    "The review date must be within a year, so that nobody is set aside for good",
            }));
        }
        let scope = self.worklist_scope(who).await?;
        let visible = self
            .worklist_rows(&scope, run, cohort, &WorklistQuery::default(), today, None)
            .await?
            .0
            .into_iter()
            .any(|e| e.nhs_number == nhs_number);
        let Some(organisation) = scope.organisation.filter(|_| visible) else {
            self.refuse_worklist(
                who,
                run,
                &format!("worklist {cohort} decision for a row not shown"),
            )
            .await?;
            return Ok(Err(DecisionRefused {
                field: "person",
                reason: "This person is not on your worklist",
            }));
        };
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO worklist_decisions (cohort, nhs_number, decision, reason, review_on, decided_by, organisation_id, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(cohort)
        .bind(nhs_number.as_digits())
        .bind(kind.code())
        .bind(reason.trim())
        .bind(review_on.to_string())
        .bind(who.user.get())
        .bind(organisation.get())
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Create,
                entity: "worklist_decision",
                entity_id: Some(row.try_get::<i64, _>("id")?),
                reason: format!("worklist {cohort}: {} until {review_on}", kind.label()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}

fn entry(r: &AnyRow) -> Result<WorklistEntry, StoreError> {
    let given: Option<String> = r.try_get("given_name")?;
    let family: Option<String> = r.try_get("family_name")?;
    let set_aside = match r.try_get::<Option<String>, _>("decision")? {
        Some(code) => Some(SetAside {
            kind: SetAsideKind::from_code(&code).ok_or_else(|| StoreError::Corrupt {
                column: "worklist_decisions.decision",
                detail: code.clone(),
            })?,
            reason: r.try_get("decision_reason")?,
            review_on: parse_date(
                "worklist_decisions.review_on",
                &r.try_get::<String, _>("review_on")?,
            )?,
        }),
        None => None,
    };
    Ok(WorklistEntry {
        person: r.try_get::<Option<i64>, _>("person_id")?.map(PersonId::new),
        display_name: given
            .zip(family)
            .map(|(g, f)| format!("{}, {g}", f.to_uppercase())),
        nhs_number: parse_column(
            "population_worklist.nhs_number",
            &r.try_get::<String, _>("nhs_number")?,
        )?,
        practice: r.try_get("practice")?,
        practice_name: r.try_get("practice_name")?,
        segment: r.try_get("segment")?,
        criteria: r
            .try_get::<String, _>("criteria_met")?
            .split(", ")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        age: r.try_get("age")?,
        sex: r.try_get("sex")?,
        efi: r.try_get("efi")?,
        charlson: r.try_get("charlson")?,
        hfrs: r.try_get("hfrs")?,
        emergency_admissions: r.try_get("emergency_admissions")?,
        last_contact: r
            .try_get::<Option<String>, _>("last_contact")?
            .map(|d| parse_date("casework_contacts.contact_on", &d))
            .transpose()?,
        set_aside,
    })
}

/// What a referral from a worklist row starts with: why the worklist found the person and how
/// they were last contacted about a referral.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorklistReferralStart {
    /// The cohort's title, such as "Moderate or severe frailty".
    pub cohort_title: Option<String>,
    /// The readable descriptions of the criteria the person met, in the cohort's order.
    pub criteria: Vec<String>,
    /// The contact details of the person's latest referral, when there was one.
    pub contact: Option<String>,
}

impl Store {
    /// Pre-fill for a referral of the person `access` opens, found by the latest run's worklist
    /// `cohort`. Reading it needs the [`PersonAccess`](crate::access::PersonAccess) the policy gave
    /// (already audited when it was opened); the worklist row adds only the criteria it met.
    pub async fn worklist_referral_start(
        &self,
        access: &crate::access::PersonAccess,
        cohort: &str,
    ) -> Result<WorklistReferralStart, StoreError> {
        let person = access.person().get();
        let mut start = WorklistReferralStart::default();
        let row = sqlx::query(
            "SELECT w.run_id, w.criteria_met, c.title FROM population_worklist w \
             JOIN people p ON p.nhs_number = w.nhs_number \
             LEFT JOIN population_cohorts c ON c.run_id = w.run_id AND c.name = w.cohort \
             WHERE w.run_id = (SELECT MAX(id) FROM population_runs) AND w.cohort = $1 AND p.id = $2",
        )
        .bind(cohort)
        .bind(person)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            let run = crate::get_i64(&row, "run_id")?;
            let described = self.cohort_criteria(run, cohort).await?;
            start.cohort_title = row.try_get("title")?;
            start.criteria = row
                .try_get::<String, _>("criteria_met")?
                .split(", ")
                .filter(|s| !s.is_empty())
                .map(|name| {
                    described
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or_else(|| name.replace('_', " "), |(_, d)| d.clone())
                })
                .collect();
        }
        start.contact = sqlx::query(
            "SELECT contact FROM casework_referrals WHERE person_id = $1 AND contact <> '' \
             ORDER BY received_on DESC, id DESC LIMIT 1",
        )
        .bind(person)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| r.try_get::<String, _>("contact"))
        .transpose()?;
        Ok(start)
    }
}
