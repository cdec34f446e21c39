//! Finding a person by name, NHS number or date of birth (`/find`), and the registry lookup of
//! the referral form.
//!
//! A search is a door to personal data like [`crate::records`]: the registry gives candidates that
//! match what was typed, and each candidate is shown only when the access policy lets the searcher
//! read them (asked through [`crate::access`], the one door). Someone the policy refuses is left
//! out in silence, so the answer for a person the searcher may not read is the same as for nobody:
//! no count, no "too many results", nothing. Every search writes one audit row with the kind of
//! search and how many were shown (never the text searched for, which is personal data).
//!
//! A referrer reads no records (a referral grants none), so their search finds the referrals they
//! sent, which they already follow on their home page.
//!
//! The registry lookup answers one question for someone about to refer: "who is the person with
//! this NHS number and this date of birth, and where are they registered?". Both must match; the
//! answer is the name and practice only, and a miss says nothing about which of the two was wrong.

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::{ReferralId, ReferralStatus};
use careweave_domain::search::PersonQuery;
use careweave_domain::{NhsNumber, OrganisationId, PersonId};
use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::{AuditAction, AuditEvent};
use crate::change::get_code;
use crate::{get_date, get_i64, parse_column, Store, StoreError};

/// A person a search found, with what a results list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonHit {
    pub id: PersonId,
    pub display_name: String,
    pub nhs_number: NhsNumber,
    pub date_of_birth: NaiveDate,
    pub practice: String,
}

/// A referral the searcher sent that matches the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralHit {
    pub referral: ReferralId,
    pub name: String,
    pub service: String,
    pub received_on: NaiveDate,
    pub status: ReferralStatus,
}

/// What a search found for one searcher: every person they may read (the page shows a slice) and
/// the referrals they sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchResults {
    pub people: Vec<PersonHit>,
    pub referrals: Vec<ReferralHit>,
}

/// The answer of the registry lookup: the name and practice, nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryMatch {
    pub given_name: String,
    pub family_name: String,
    pub practice: OrganisationId,
}

/// The most referrals a search lists: the newest first.
const REFERRAL_HITS: i64 = 50;

impl Store {
    /// Finds the people `who` may read, and the referrals `who` sent, that match `query`.
    /// Audited as one list row, whatever it found.
    pub async fn search_people(
        &self,
        who: &Principal,
        query: &PersonQuery,
    ) -> Result<SearchResults, StoreError> {
        let (condition, binds) = candidate_condition(query, "p");
        let mut sql = format!(
            "SELECT p.id, p.given_name, p.family_name, p.nhs_number, p.date_of_birth, \
             o.name AS practice_name FROM people p \
             JOIN organisations o ON o.id = p.registered_practice_id WHERE {condition} \
             ORDER BY p.family_name, p.given_name, p.id"
        );
        // Only workers and supervisors read records (`domain::access`), so nobody else's search
        // asks the registry at all.
        let reads_records = who
            .memberships
            .iter()
            .any(|m| matches!(m.role, Role::Worker | Role::Supervisor));
        if !reads_records {
            sql.push_str(" LIMIT 0");
        }
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.clone());
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut people = Vec::new();
        for r in &rows {
            let hit = person_hit(r)?;
            // The SQL finds candidates by the first word only; the query decides every word.
            let (given, family) = (
                r.try_get::<String, _>("given_name")?,
                r.try_get::<String, _>("family_name")?,
            );
            if !query.matches(
                &given,
                &family,
                Some(&hit.nhs_number),
                Some(hit.date_of_birth),
            ) {
                continue;
            }
            if self.may_open_person(who, hit.id).await? {
                people.push(hit);
            }
        }
        let referrals = self.referrals_matching(who, query).await?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "person_search",
            entity_id: None,
            reason: format!(
                "search by {}: {} people and {} sent referrals shown",
                query.kind(),
                people.len(),
                referrals.len()
            ),
        })
        .await?;
        Ok(SearchResults { people, referrals })
    }

    /// The referrals `who` sent whose person matches `query`, newest first.
    async fn referrals_matching(
        &self,
        who: &Principal,
        query: &PersonQuery,
    ) -> Result<Vec<ReferralHit>, StoreError> {
        let (condition, binds) = candidate_condition(query, "r");
        let sql = format!(
            "SELECT r.id, r.given_name, r.family_name, r.nhs_number, r.date_of_birth, r.received_on, \
             r.status, s.name AS service_name FROM casework_referrals r \
             JOIN services s ON s.id = r.service_id \
             WHERE r.referrer_user_id = ${} AND {condition} ORDER BY r.received_on DESC, r.id DESC",
            binds.len() + 1
        );
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.clone());
        }
        let rows = q.bind(who.user.get()).fetch_all(&self.pool).await?;
        let mut hits = Vec::new();
        for r in &rows {
            let given: String = r.try_get("given_name")?;
            let family: String = r.try_get("family_name")?;
            let nhs = r
                .try_get::<Option<String>, _>("nhs_number")?
                .and_then(|n| n.parse::<NhsNumber>().ok());
            let dob = get_date(r, "date_of_birth")?;
            if !query.matches(&given, &family, nhs.as_ref(), Some(dob)) {
                continue;
            }
            hits.push(ReferralHit {
                referral: ReferralId::new(get_i64(r, "id")?),
                name: format!("{given} {family}"),
                service: r.try_get("service_name")?,
                received_on: get_date(r, "received_on")?,
                status: get_code(r, "status", ReferralStatus::from_code)?,
            });
            if hits.len() >= usize::try_from(REFERRAL_HITS).unwrap_or(usize::MAX) {
                break;
            }
        }
        Ok(hits)
    }

    /// The registry lookup of the referral form: the name and registered practice of the person
    /// with both this NHS number and this date of birth, for someone who may refer (a worker, a
    /// supervisor or a referrer). `None` when nobody matches both, or `who` may not refer; audited
    /// either way, against the person when one matched.
    pub async fn registry_lookup(
        &self,
        who: &Principal,
        nhs: NhsNumber,
        date_of_birth: NaiveDate,
    ) -> Result<Option<RegistryMatch>, StoreError> {
        let may_refer = who
            .memberships
            .iter()
            .any(|m| matches!(m.role, Role::Worker | Role::Supervisor | Role::Referrer));
        if !may_refer {
            self.audit(AuditEvent {
                user: Some(who.user),
                action: AuditAction::Denied,
                entity: "person",
                entity_id: None,
                reason: "registry lookup for a referral: not someone who refers".to_owned(),
            })
            .await?;
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT id, given_name, family_name, registered_practice_id FROM people \
             WHERE nhs_number = $1 AND date_of_birth = $2 AND date_of_death IS NULL",
        )
        .bind(nhs.as_digits())
        .bind(date_of_birth.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            self.audit(AuditEvent {
                user: Some(who.user),
                action: AuditAction::Read,
                entity: "person",
                entity_id: None,
                reason: "registry lookup for a referral: no match".to_owned(),
            })
            .await?;
            return Ok(None);
        };
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(get_i64(&row, "id")?),
            reason: "registry lookup for a referral: name and practice".to_owned(),
        })
        .await?;
        Ok(Some(RegistryMatch {
            given_name: row.try_get("given_name")?,
            family_name: row.try_get("family_name")?,
            practice: OrganisationId::new(get_i64(&row, "registered_practice_id")?),
        }))
    }
}

/// The SQL condition that finds candidates for `query` in a table aliased `alias` with the
/// columns `given_name`, `family_name`, `nhs_number` and `date_of_birth`, with its bound values.
/// For a name, the first word must occur in the given or family name (words hold only letters,
/// apostrophes and hyphens, so they carry no `LIKE` wildcard); [`PersonQuery::matches`] then
/// checks every word.
fn candidate_condition(query: &PersonQuery, alias: &str) -> (String, Vec<String>) {
    match query {
        PersonQuery::NhsNumber(n) => (
            format!("{alias}.nhs_number = $1"),
            vec![n.as_digits().to_string()],
        ),
        PersonQuery::DateOfBirth(d) => (format!("{alias}.date_of_birth = $1"), vec![d.to_string()]),
        PersonQuery::Name(words) => {
            let first = words.first().cloned().unwrap_or_default();
            (
                format!(
                    "(LOWER({alias}.given_name) LIKE $1 OR LOWER({alias}.family_name) LIKE $1)"
                ),
                vec![format!("%{first}%")],
            )
        }
    }
}

fn person_hit(r: &AnyRow) -> Result<PersonHit, StoreError> {
    let family: String = r.try_get("family_name")?;
    let given: String = r.try_get("given_name")?;
    Ok(PersonHit {
        id: PersonId::new(get_i64(r, "id")?),
        display_name: format!("{}, {given}", family.to_uppercase()),
        nhs_number: parse_column("people.nhs_number", &r.try_get::<String, _>("nhs_number")?)?,
        date_of_birth: get_date(r, "date_of_birth")?,
        practice: r.try_get("practice_name")?,
    })
}
