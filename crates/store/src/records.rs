//! A person's record and caseload lists, and the care facts the access policy decides on. Every
//! function here takes the signed-in [`Principal`], asks the access door ([`crate::access`]) and
//! writes an audit row, whether access was allowed or refused.

use careweave_domain::access::{CareFacts, Grant, Principal};
use careweave_domain::{HouseholdId, OrganisationId, Person, PersonId, Sex, UserId};
use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::Row;

pub use crate::access::PersonAccess;
use crate::audit::{AuditAction, AuditEvent};
use crate::{get_date, get_i64, parse_column, parse_date, Store, StoreError};

/// Why a record could not be returned.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The policy refused. Deliberately the same message whether or not the record exists.
    #[error("You do not have access to this record")]
    Denied,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RecordError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

/// A line in a caseload list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSummary {
    pub id: PersonId,
    pub display_name: String,
    pub nhs_number: careweave_domain::NhsNumber,
    pub date_of_birth: NaiveDate,
    pub practice: String,
    pub care_since: NaiveDate,
}

/// A person's record with the names a page needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRecord {
    pub person: Person,
    pub practice: String,
    pub care_team: Vec<CareTeamMember>,
    /// Unexpired break-glass accesses, shown as a warning to everyone who opens the record.
    pub break_glass: Vec<crate::consent::BreakGlassNotice>,
    /// Why this reader was let in (break-glass readers see it on the page).
    pub grant: Grant,
}

/// A member of a person's care team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareTeamMember {
    pub user: UserId,
    pub name: String,
    pub organisation: String,
    pub since: NaiveDate,
}

impl Store {
    /// Gathers what the access policy needs to know about a person's care relationships.
    pub async fn care_facts(&self, person: PersonId) -> Result<CareFacts, StoreError> {
        // Every relationship that can open a record, in one round trip: each page showing a
        // person asks this first, and separate queries per module were most of such a page's
        // cost under load. Each module still owns the rows it contributes (the fragments are
        // defined beside the code that writes those tables); every row is a kind, a user and an
        // organisation, and `$1` is the person, `$2` the earliest date that still counts as recent
        // (for a discharge or a directory referral's acceptance; instants stored as RFC 3339 text
        // compare with it as text), `$3` the organisation kind of a PCN and `$4` the instant now
        // (a break-glass access counts until it expires).
        let since =
            self.clock.today() - chrono::Duration::days(crate::casework::RECENTLY_DISCHARGED_DAYS);
        let rows = sqlx::query(&format!(
            "SELECT 'team' AS kind, user_id, organisation_id AS org FROM care_team \
             WHERE person_id = $1 AND ended_on IS NULL \
             UNION ALL SELECT 'directory_accepted', NULL, provider_id FROM directory_referrals \
             WHERE person_id = $1 AND status = 'accepted' AND answered_at >= $2 \
             UNION ALL {} UNION ALL {} UNION ALL {}",
            crate::casework::CASEWORK_FACTS,
            crate::population::CASE_FINDING_FACTS,
            crate::consent::CONSENT_FACTS,
        ))
        .bind(person.get())
        .bind(since.to_string())
        .bind(careweave_domain::OrganisationKind::Pcn.code())
        .bind(crate::now_text())
        .fetch_all(&self.pool)
        .await?;
        let mut facts = CareFacts::default();
        fn add<T: PartialEq>(list: &mut Vec<T>, item: Option<T>) {
            if let Some(item) = item {
                if !list.contains(&item) {
                    list.push(item);
                }
            }
        }
        for r in &rows {
            let kind: String = r.try_get("kind")?;
            let user = r.try_get::<Option<i64>, _>("user_id")?.map(UserId::new);
            let org = r.try_get::<Option<i64>, _>("org")?.map(OrganisationId::new);
            match kind.as_str() {
                // Current care-team members, and a discharged case's last workers for a while
                // (so that they can send the GP message, answer questions and reopen it).
                "team" | "recently_discharged" => {
                    add(&mut facts.care_team, user);
                    add(&mut facts.care_team_employers, org);
                }
                // An accepted directory referral opens the record to the provider's staff while
                // they give the support, for as long as a discharged case stays open to its last
                // workers (`$2`). An unanswered one opens only the referral itself (its provider
                // sees what was sent), and making one opens nothing: its author already had to be
                // able to read the record to make it.
                "directory_accepted" => add(&mut facts.accepted_by, org),
                // An accepted case with no worker yet is the service's: its teams allocate it.
                "awaits_worker" => add(&mut facts.case_awaits_worker_with, org),
                "case_finding" => add(&mut facts.case_finding_with, org),
                // The person's latest preferences decline this organisation.
                "declined" => add(&mut facts.declined_organisations, org),
                // An unexpired emergency access (see `crate::consent`).
                "break_glass" => add(&mut facts.break_glass, user),
                other => {
                    return Err(StoreError::Corrupt {
                        column: "care facts kind",
                        detail: other.to_owned(),
                    })
                }
            }
        }
        Ok(facts)
    }

    /// Opens a person's record for `who`, if the policy allows, auditing the attempt either way.
    pub async fn read_person(
        &self,
        who: &Principal,
        id: PersonId,
    ) -> Result<PersonRecord, RecordError> {
        let grant = self.grant_for(who, id, "").await?;
        let row = sqlx::query(
            "SELECT p.*, o.name AS practice_name FROM people p \
             JOIN organisations o ON o.id = p.registered_practice_id WHERE p.id = $1",
        )
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await?
        // A granted read of a missing row cannot happen through the policy (facts come from the
        // care team, which references people), so treat it like a refusal rather than leak existence.
        .ok_or(RecordError::Denied)?;
        let person = person_from_row(&row)?;
        let team = sqlx::query(
            "SELECT c.user_id, u.display_name, o.name AS organisation, c.started_on FROM care_team c \
             JOIN users u ON u.id = c.user_id JOIN organisations o ON o.id = c.organisation_id \
             WHERE c.person_id = $1 AND c.ended_on IS NULL ORDER BY c.started_on",
        )
        .bind(id.get())
        .fetch_all(&self.pool)
        .await?;
        let care_team = team
            .iter()
            .map(|r| {
                Ok(CareTeamMember {
                    user: UserId::new(get_i64(r, "user_id")?),
                    name: r.try_get("display_name")?,
                    organisation: r.try_get("organisation")?,
                    since: get_date(r, "started_on")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::Read,
            entity: "person",
            entity_id: Some(id.get()),
            reason: grant.code().to_owned(),
        })
        .await?;
        Ok(PersonRecord {
            person,
            practice: row.try_get("practice_name")?,
            care_team,
            break_glass: self.active_break_glass(id).await?,
            grant,
        })
    }

    /// The people in whose care team `who` currently is: their caseload. Audited as one list read.
    pub async fn my_people(&self, who: &Principal) -> Result<Vec<PersonSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.given_name, p.family_name, p.nhs_number, p.date_of_birth, \
             o.name AS practice_name, c.started_on FROM care_team c \
             JOIN people p ON p.id = c.person_id \
             JOIN organisations o ON o.id = p.registered_practice_id \
             WHERE c.user_id = $1 AND c.ended_on IS NULL ORDER BY p.family_name, p.given_name",
        )
        .bind(who.user.get())
        .fetch_all(&self.pool)
        .await?;
        let list = rows
            .iter()
            .map(|r| {
                let family: String = r.try_get("family_name")?;
                let given: String = r.try_get("given_name")?;
                Ok(PersonSummary {
                    id: PersonId::new(get_i64(r, "id")?),
                    display_name: format!("{}, {given}", family.to_uppercase()),
                    nhs_number: parse_column(
                        "people.nhs_number",
                        &r.try_get::<String, _>("nhs_number")?,
                    )?,
                    date_of_birth: get_date(r, "date_of_birth")?,
                    practice: r.try_get("practice_name")?,
                    care_since: get_date(r, "started_on")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.audit(AuditEvent {
            user: Some(who.user),
            action: AuditAction::List,
            entity: "caseload",
            entity_id: Some(who.user.get()),
            reason: format!("own caseload ({} people)", list.len()),
        })
        .await?;
        Ok(list)
    }
}

fn person_from_row(r: &AnyRow) -> Result<Person, StoreError> {
    let sex: String = r.try_get("sex")?;
    let optional = |column: &'static str| -> Result<Option<String>, StoreError> {
        Ok(r.try_get::<Option<String>, _>(column)?)
    };
    Ok(Person {
        id: PersonId::new(get_i64(r, "id")?),
        nhs_number: parse_column("people.nhs_number", &r.try_get::<String, _>("nhs_number")?)?,
        given_name: r.try_get("given_name")?,
        family_name: r.try_get("family_name")?,
        date_of_birth: get_date(r, "date_of_birth")?,
        sex: Sex::from_code(&sex).ok_or(StoreError::Corrupt {
            column: "people.sex",
            detail: sex,
        })?,
        postcode: optional("postcode")?
            .map(|p| parse_column("people.postcode", &p))
            .transpose()?,
        lsoa: optional("lsoa_code")?
            .map(|p| parse_column("people.lsoa_code", &p))
            .transpose()?,
        imd_decile: r
            .try_get::<Option<i64>, _>("imd_decile")?
            .map(|d| {
                u8::try_from(d)
                    .ok()
                    .and_then(|d| careweave_domain::ImdDecile::new(d).ok())
                    .ok_or(StoreError::Corrupt {
                        column: "people.imd_decile",
                        detail: d.to_string(),
                    })
            })
            .transpose()?,
        registered_practice: OrganisationId::new(get_i64(r, "registered_practice_id")?),
        household: r
            .try_get::<Option<i64>, _>("household_id")?
            .map(HouseholdId::new),
        date_of_death: optional("date_of_death")?
            .map(|d| parse_date("people.date_of_death", &d))
            .transpose()?,
    })
}
