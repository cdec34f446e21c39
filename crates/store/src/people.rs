//! Places, organisations, people, staff, teams, services and care teams: the neighbourhood's registry.
//!
//! Writes of personal data here take the acting user and write an audit row in the same transaction.
//! Reads of personal data are not here: they live in [`crate::records`], behind the access policy.

use careweave_domain::{
    FundingStream, HouseholdId, ImdDecile, LsoaCode, NhsNumber, Organisation, OrganisationId,
    OrganisationKind, PersonId, PlaceId, PlaceLevel, Postcode, Sex, StaffId, StaffRole, TeamId,
    UserId,
};
use chrono::NaiveDate;
use sqlx::Row;

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::{get_i64, map_unique, parse_column, Store, StoreError};

/// A place to add to the hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlace {
    pub level: PlaceLevel,
    pub code: String,
    pub name: String,
    pub parent: Option<PlaceId>,
    pub imd_decile: Option<ImdDecile>,
}

/// An organisation to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganisation {
    pub name: String,
    pub kind: OrganisationKind,
    pub ods_code: Option<careweave_domain::OdsCode>,
    pub place: Option<PlaceId>,
}

/// A person to register. Built from parsed parts, so it is valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub nhs_number: NhsNumber,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub postcode: Option<Postcode>,
    pub lsoa: Option<LsoaCode>,
    pub imd_decile: Option<ImdDecile>,
    pub registered_practice: OrganisationId,
    pub household: Option<HouseholdId>,
    pub date_of_death: Option<NaiveDate>,
}

/// A member of staff to add, optionally linked to a sign-in account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    pub user: Option<UserId>,
    pub name: String,
    pub role: StaffRole,
    pub specialism: Option<String>,
    pub employer: OrganisationId,
    pub base_practice: Option<OrganisationId>,
    pub funding: FundingStream,
}

/// A practice's registered list size, for aggregate views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PracticeCount {
    pub practice: String,
    pub ods_code: Option<String>,
    pub people: u64,
}

const PERSON_INSERT: &str =
    "INSERT INTO people (nhs_number, given_name, family_name, date_of_birth, sex, \
     postcode, lsoa_code, imd_decile, registered_practice_id, household_id, date_of_death) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";

fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

impl Store {
    /// Adds a place to the hierarchy.
    pub async fn insert_place(&self, place: &NewPlace) -> Result<PlaceId, StoreError> {
        let row = sqlx::query(
            "INSERT INTO places (level, code, name, parent_id, imd_decile) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(place.level.code())
        .bind(&place.code)
        .bind(&place.name)
        .bind(place.parent.map(PlaceId::get))
        .bind(place.imd_decile.map(|d| i64::from(d.get())))
        .fetch_one(&self.pool)
        .await
        .map_err(map_unique("A place with that code"))?;
        Ok(PlaceId::new(get_i64(&row, "id")?))
    }

    /// Adds an organisation.
    pub async fn insert_organisation(
        &self,
        org: &NewOrganisation,
    ) -> Result<OrganisationId, StoreError> {
        let row = sqlx::query(
            "INSERT INTO organisations (name, kind, ods_code, place_id) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&org.name)
        .bind(org.kind.code())
        .bind(org.ods_code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(org.place.map(PlaceId::get))
        .fetch_one(&self.pool)
        .await
        .map_err(map_unique("An organisation with that ODS code"))?;
        Ok(OrganisationId::new(get_i64(&row, "id")?))
    }

    /// Every organisation, by name.
    pub async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, kind, ods_code, place_id FROM organisations ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(Organisation {
                    id: OrganisationId::new(get_i64(r, "id")?),
                    name: r.try_get("name")?,
                    kind: OrganisationKind::from_code(&kind).ok_or(StoreError::Corrupt {
                        column: "organisations.kind",
                        detail: kind,
                    })?,
                    ods_code: r
                        .try_get::<Option<String>, _>("ods_code")?
                        .map(|c| parse_column("organisations.ods_code", &c))
                        .transpose()?,
                    place: r.try_get::<Option<i64>, _>("place_id")?.map(PlaceId::new),
                })
            })
            .collect()
    }

    /// Adds a household.
    pub async fn insert_household(
        &self,
        postcode: Option<&Postcode>,
        lsoa: Option<&LsoaCode>,
    ) -> Result<HouseholdId, StoreError> {
        let ids = self.insert_households([(postcode, lsoa)]).await?;
        ids.into_iter()
            .next()
            .ok_or(StoreError::NotFound("The new household"))
    }

    /// Adds many households in one transaction, returning their ids in input order.
    pub async fn insert_households<'a>(
        &self,
        households: impl IntoIterator<Item = (Option<&'a Postcode>, Option<&'a LsoaCode>)>,
    ) -> Result<Vec<HouseholdId>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::new();
        for (postcode, lsoa) in households {
            let row = sqlx::query(
                "INSERT INTO households (postcode, lsoa_code) VALUES ($1, $2) RETURNING id",
            )
            .bind(postcode.map(|p| p.as_str().to_owned()))
            .bind(lsoa.map(|l| l.as_str().to_owned()))
            .fetch_one(&mut *tx)
            .await?;
            ids.push(HouseholdId::new(get_i64(&row, "id")?));
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Registers one person, recording who did it in the audit log in the same transaction.
    pub async fn register_person(
        &self,
        actor: Option<UserId>,
        person: &NewPerson,
        reason: &str,
    ) -> Result<PersonId, StoreError> {
        self.register(actor, person, reason, None).await
    }

    /// Registers a person together with the first member of their care team, in one
    /// transaction: a person nobody may read (and whose NHS number would then be refused as
    /// already registered) can never be left behind by a failure between the two.
    pub async fn register_person_with_care_team(
        &self,
        actor: Option<UserId>,
        person: &NewPerson,
        reason: &str,
        first_member: &CareTeamMember,
    ) -> Result<PersonId, StoreError> {
        self.register(actor, person, reason, Some(first_member))
            .await
    }

    async fn register(
        &self,
        actor: Option<UserId>,
        person: &NewPerson,
        reason: &str,
        first_member: Option<&CareTeamMember>,
    ) -> Result<PersonId, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = insert_person(&mut tx, person).await?;
        let reason = match first_member {
            Some(member) => {
                insert_care_team_member(&mut tx, id, member).await?;
                format!(
                    "{reason}; added user {} to the care team",
                    member.user.get()
                )
            }
            None => reason.to_owned(),
        };
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: actor,
                action: AuditAction::Create,
                entity: "person",
                entity_id: Some(id.get()),
                reason,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Registers many people in one transaction (a synthetic neighbourhood, an import), with one
    /// audit row that says how many and why. Returns their ids in input order.
    pub async fn register_people(
        &self,
        actor: Option<UserId>,
        people: &[NewPerson],
        reason: &str,
    ) -> Result<Vec<PersonId>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(people.len());
        for p in people {
            ids.push(insert_person(&mut tx, p).await?);
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: actor,
                action: AuditAction::Create,
                entity: "person",
                entity_id: None,
                reason: format!("{reason} ({} people)", people.len()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Adds a member of staff.
    pub async fn insert_staff(&self, staff: &NewStaff) -> Result<StaffId, StoreError> {
        let row = sqlx::query(
            "INSERT INTO staff (user_id, name, role, specialism, employer_id, base_practice_id, funding) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(staff.user.map(UserId::get))
        .bind(&staff.name)
        .bind(staff.role.code())
        .bind(staff.specialism.clone())
        .bind(staff.employer.get())
        .bind(staff.base_practice.map(OrganisationId::get))
        .bind(staff.funding.code())
        .fetch_one(&self.pool)
        .await
        .map_err(map_unique("A staff record for that account"))?;
        Ok(StaffId::new(get_i64(&row, "id")?))
    }

    /// Creates a team hosted by one organisation, whose members may be employed by others.
    pub async fn insert_team(
        &self,
        name: &str,
        hosted_by: OrganisationId,
        members: &[StaffId],
    ) -> Result<TeamId, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row =
            sqlx::query("INSERT INTO teams (name, hosted_by_id) VALUES ($1, $2) RETURNING id")
                .bind(name)
                .bind(hosted_by.get())
                .fetch_one(&mut *tx)
                .await?;
        let id = TeamId::new(get_i64(&row, "id")?);
        for m in members {
            sqlx::query("INSERT INTO team_members (team_id, staff_id) VALUES ($1, $2)")
                .bind(id.get())
                .bind(m.get())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Adds a service offered by an organisation, optionally delivered by a team.
    pub async fn insert_service(
        &self,
        name: &str,
        provider: OrganisationId,
        team: Option<TeamId>,
        description: &str,
    ) -> Result<careweave_domain::ServiceId, StoreError> {
        let row = sqlx::query(
            "INSERT INTO services (name, provider_id, team_id, description) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(provider.get())
        .bind(team.map(TeamId::get))
        .bind(description)
        .fetch_one(&self.pool)
        .await?;
        Ok(careweave_domain::ServiceId::new(get_i64(&row, "id")?))
    }

    /// Puts a user in a person's care team from `started_on`, on behalf of their employer.
    pub async fn add_to_care_team(
        &self,
        actor: Option<UserId>,
        person: PersonId,
        member: UserId,
        employer: OrganisationId,
        started_on: NaiveDate,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_care_team_member(
            &mut tx,
            person,
            &CareTeamMember {
                user: member,
                employer,
                started_on,
            },
        )
        .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: actor,
                action: AuditAction::Update,
                entity: "person",
                entity_id: Some(person.get()),
                reason: format!("added user {} to the care team", member.get()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registered people per practice, counted in the database. Callers that show these counts
    /// outside the care team apply disclosure control ([`careweave_domain::disclosure`]).
    pub async fn practice_list_sizes(&self) -> Result<Vec<PracticeCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.name, o.ods_code, COUNT(p.id) AS people FROM organisations o \
             LEFT JOIN people p ON p.registered_practice_id = o.id AND p.date_of_death IS NULL \
             WHERE o.kind = 'gp_practice' GROUP BY o.id, o.name, o.ods_code ORDER BY o.name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PracticeCount {
                    practice: r.try_get("name")?,
                    ods_code: r.try_get("ods_code")?,
                    people: u64::try_from(get_i64(r, "people")?).unwrap_or(0),
                })
            })
            .collect()
    }
}

async fn insert_person(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    p: &NewPerson,
) -> Result<PersonId, StoreError> {
    let row = sqlx::query(PERSON_INSERT)
        .bind(p.nhs_number.as_digits())
        .bind(&p.given_name)
        .bind(&p.family_name)
        .bind(date_text(p.date_of_birth))
        .bind(p.sex.code())
        .bind(p.postcode.as_ref().map(|c| c.as_str().to_owned()))
        .bind(p.lsoa.as_ref().map(|c| c.as_str().to_owned()))
        .bind(p.imd_decile.map(|d| i64::from(d.get())))
        .bind(p.registered_practice.get())
        .bind(p.household.map(HouseholdId::get))
        .bind(p.date_of_death.map(date_text))
        .fetch_one(&mut **tx)
        .await
        .map_err(map_unique("A person with that NHS number"))?;
    Ok(PersonId::new(get_i64(&row, "id")?))
}

/// A member of a person's care team: a user, on behalf of their employer, from a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CareTeamMember {
    pub user: UserId,
    pub employer: OrganisationId,
    pub started_on: NaiveDate,
}

async fn insert_care_team_member(
    connection: &mut sqlx::AnyConnection,
    person: PersonId,
    member: &CareTeamMember,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO care_team (person_id, user_id, organisation_id, started_on) VALUES ($1, $2, $3, $4)",
    )
    .bind(person.get())
    .bind(member.user.get())
    .bind(member.employer.get())
    .bind(date_text(member.started_on))
    .execute(connection)
    .await
    .map_err(map_unique("That care team membership"))?;
    Ok(())
}
