//! The community services directory's persistence: published services (kept as their Open Referral
//! UK documents), the postcode table, edits proposed by providers, reports of wrong entries, and the
//! personal side of the directory: signposts and referrals.
//!
//! Signposts and referrals are personal data, so they follow the store's rules: every write asks
//! the access policy first and writes its audit row in the same transaction, and every read of them
//! goes through the policy and is audited. A referral is made from a record its author may read
//! (it takes the [`PersonAccess`] proof). While it waits, the provider's staff see the referral
//! itself (the person's name, the reason, who sent it) and answer it; only accepting it opens the
//! person's record to them, for a while (see `care_facts` in [`crate::records`]).
//!
//! Imports are all-or-nothing for the accepted records of one file: they are written in one
//! transaction with the revision bump that tells search indexes to reload.

mod pending;
mod referrals;

pub use pending::{ImportPreview, PreviewedService};

use std::collections::HashMap;

use careweave_directory::{oruk, Format, ImportReport, LatLon, Need, PostcodeTable, Service};
use careweave_domain::access::{Decision, Principal, Role};
use careweave_domain::{OrganisationId, PersonId, Postcode, UserId};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::records::{PersonAccess, RecordError};
use crate::{get_i64, now_text, parse_instant, Store, StoreError};

/// Settings an administrator can change while the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectorySettings {
    /// A referral nobody has answered for more than this many days is flagged.
    pub referral_flag_days: i64,
    /// An entry not reviewed for more than this many days is flagged to its owner.
    pub stale_after_days: i64,
}

/// A published service with what careweave knows beyond the standard.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedService {
    pub service: Service,
    /// The organisation that keeps the entry true.
    pub owner: OrganisationId,
    pub owner_name: String,
    /// The careweave organisation that runs the service, if it is one.
    pub provider: Option<OrganisationId>,
}

/// What an import changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportOutcome {
    pub added: usize,
    pub updated: usize,
    /// Records not published because another organisation keeps them: (service id, the name of
    /// the organisation that keeps it).
    pub refused: Vec<(String, String)>,
}

/// Why a directory action was refused.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The access policy refused; the same words whether or not the record exists.
    #[error("You do not have access to this record")]
    Denied,
    #[error("{0} was not found")]
    NotFound(&'static str),
    /// The action does not fit the record's state, worded for the person who tried it.
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Demo(#[from] careweave_directory::demo::DemoError),
}

impl From<sqlx::Error> for DirectoryError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

impl From<RecordError> for DirectoryError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Denied => Self::Denied,
            RecordError::Store(s) => Self::Store(s),
        }
    }
}

/// Where a referral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralStatus {
    Pending,
    Accepted,
    Declined,
}

impl ReferralStatus {
    fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
        }
    }

    fn from_code(code: &str) -> Result<Self, StoreError> {
        match code {
            "pending" => Ok(Self::Pending),
            "accepted" => Ok(Self::Accepted),
            "declined" => Ok(Self::Declined),
            other => Err(StoreError::Corrupt {
                column: "directory_referrals.status",
                detail: other.to_owned(),
            }),
        }
    }

    /// The status in words.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Waiting for the provider",
            Self::Accepted => "Accepted",
            Self::Declined => "Declined",
        }
    }
}

/// A referral as the referrer, the care team or the provider sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    pub id: i64,
    pub person: PersonId,
    pub person_name: String,
    pub service_id: String,
    pub service_name: String,
    pub provider: OrganisationId,
    pub provider_name: String,
    pub referred_by: String,
    pub reason: String,
    pub status: ReferralStatus,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answer_note: Option<String>,
    /// Whether the user the list was made for may open the person's record now (a page links to
    /// it only then): a provider may not while the referral waits for its answer, and an author
    /// who has since left the care team may no longer.
    pub record_open: bool,
}

impl Referral {
    /// Whole days the referral has waited (until `now`, or until it was answered).
    #[must_use]
    pub fn days_waiting(&self, now: DateTime<Utc>) -> i64 {
        (self.answered_at.unwrap_or(now) - self.created_at).num_days()
    }
}

/// A signpost: a worker gave a person a service's details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signpost {
    pub id: i64,
    pub person: PersonId,
    pub person_name: String,
    pub service_id: String,
    pub service_name: String,
    pub by: String,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

/// A person's signposts and referrals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonActivity {
    pub signposts: Vec<Signpost>,
    pub referrals: Vec<Referral>,
}

/// A report that an entry is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryReport {
    pub id: i64,
    pub service_id: String,
    pub service_name: String,
    pub reported_by: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// An edit a provider proposed, waiting for review.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub id: i64,
    pub current: PublishedService,
    pub proposed: Service,
    pub proposed_by: UserId,
    pub proposed_by_name: String,
    pub summary: String,
    pub created_at: DateTime<Utc>,
}

/// One cell of the unmet-need counts: raw, for the web layer to suppress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmetNeedCount {
    pub need: String,
    pub area: String,
    pub count: u64,
}

fn clinical_orgs(who: &Principal) -> Vec<OrganisationId> {
    who.memberships
        .iter()
        .filter(|m| matches!(m.role, Role::Worker | Role::Supervisor))
        .map(|m| m.organisation)
        .collect()
}

/// The organisations whose directory entries the user helps keep true: their clinical staff, and
/// their administrators, who import the entries and so answer for them too (checking stale
/// entries, closing reports). The directory holds no personal data, so an administrator reads
/// nothing here they could not already.
fn keeping_orgs(who: &Principal) -> Vec<OrganisationId> {
    who.memberships
        .iter()
        .filter(|m| matches!(m.role, Role::Worker | Role::Supervisor | Role::Admin))
        .map(|m| m.organisation)
        .collect()
}

/// Whether the user reviews proposed changes to the directory: supervisors, and administrators,
/// who import and keep the directory's data.
#[must_use]
pub fn reviews_directory_changes(who: &Principal) -> bool {
    who.has_role(Role::Supervisor) || who.has_role(Role::Admin)
}

fn corrupt(column: &'static str) -> impl Fn(String) -> StoreError {
    move |detail| StoreError::Corrupt { column, detail }
}

fn published_from_row(r: &AnyRow) -> Result<PublishedService, StoreError> {
    let document: String = r.try_get("document")?;
    Ok(PublishedService {
        service: oruk::service_from_document(&document)
            .map_err(corrupt("directory_services.document"))?,
        owner: OrganisationId::new(get_i64(r, "owner_id")?),
        owner_name: r.try_get("owner_name")?,
        provider: r
            .try_get::<Option<i64>, _>("provider_id")?
            .map(OrganisationId::new),
    })
}

const PUBLISHED: &str = "SELECT s.document, s.owner_id, o.name AS owner_name, s.provider_id \
     FROM directory_services s JOIN organisations o ON o.id = s.owner_id";

const REFERRALS: &str = "SELECT r.id, r.person_id, p.given_name, p.family_name, r.service_id, s.name AS service_name, \
     r.provider_id, o.name AS provider_name, u.display_name AS referred_by, r.reason, r.status, r.created_at, \
     r.answered_at, r.answer_note FROM directory_referrals r \
     JOIN people p ON p.id = r.person_id JOIN directory_services s ON s.id = r.service_id \
     JOIN organisations o ON o.id = r.provider_id JOIN users u ON u.id = r.referred_by";

fn referral_from_row(r: &AnyRow) -> Result<Referral, StoreError> {
    let given: String = r.try_get("given_name")?;
    let family: String = r.try_get("family_name")?;
    Ok(Referral {
        id: get_i64(r, "id")?,
        person: PersonId::new(get_i64(r, "person_id")?),
        person_name: format!("{given} {family}"),
        service_id: r.try_get("service_id")?,
        service_name: r.try_get("service_name")?,
        provider: OrganisationId::new(get_i64(r, "provider_id")?),
        provider_name: r.try_get("provider_name")?,
        referred_by: r.try_get("referred_by")?,
        reason: r.try_get("reason")?,
        status: ReferralStatus::from_code(&r.try_get::<String, _>("status")?)?,
        created_at: parse_instant(
            "directory_referrals.created_at",
            &r.try_get::<String, _>("created_at")?,
        )?,
        answered_at: r
            .try_get::<Option<String>, _>("answered_at")?
            .map(|t| parse_instant("directory_referrals.answered_at", &t))
            .transpose()?,
        answer_note: r.try_get("answer_note")?,
        record_open: false,
    })
}

const SIGNPOSTS: &str =
    "SELECT g.id, g.person_id, p.given_name, p.family_name, g.service_id, s.name AS service_name, \
     u.display_name AS by_name, g.note, g.created_at FROM directory_signposts g \
     JOIN people p ON p.id = g.person_id JOIN directory_services s ON s.id = g.service_id \
     JOIN users u ON u.id = g.user_id";

fn signpost_from_row(r: &AnyRow) -> Result<Signpost, StoreError> {
    let given: String = r.try_get("given_name")?;
    let family: String = r.try_get("family_name")?;
    Ok(Signpost {
        id: get_i64(r, "id")?,
        person: PersonId::new(get_i64(r, "person_id")?),
        person_name: format!("{given} {family}"),
        service_id: r.try_get("service_id")?,
        service_name: r.try_get("service_name")?,
        by: r.try_get("by_name")?,
        note: r.try_get("note")?,
        created_at: parse_instant(
            "directory_signposts.created_at",
            &r.try_get::<String, _>("created_at")?,
        )?,
    })
}

async fn bump_revision<'e, E>(executor: E) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("UPDATE directory_settings SET revision = revision + 1 WHERE id = 1")
        .execute(executor)
        .await?;
    Ok(())
}

impl Store {
    /// The directory's settings.
    pub async fn directory_settings(&self) -> Result<DirectorySettings, StoreError> {
        let r = sqlx::query(
            "SELECT referral_flag_days, stale_after_days FROM directory_settings WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(DirectorySettings {
            referral_flag_days: get_i64(&r, "referral_flag_days")?,
            stale_after_days: get_i64(&r, "stale_after_days")?,
        })
    }

    /// Changes the settings, recording who did it.
    pub async fn set_directory_settings(
        &self,
        who: UserId,
        s: DirectorySettings,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE directory_settings SET referral_flag_days = $1, stale_after_days = $2 WHERE id = 1")
            .bind(s.referral_flag_days)
            .bind(s.stale_after_days)
            .execute(&mut *tx)
            .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who),
                action: AuditAction::Update,
                entity: "directory_settings",
                entity_id: None,
                reason: format!(
                    "referrals flagged after {} days, entries stale after {} days",
                    s.referral_flag_days, s.stale_after_days
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The revision of the published directory: it changes whenever a published service does.
    pub async fn directory_revision(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT revision FROM directory_settings WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        get_i64(&r, "revision")
    }

    /// Adds or replaces postcodes in the table, in one transaction. Returns how many were written.
    pub async fn load_postcodes(&self, table: &PostcodeTable) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let entries = table.entries();
        for (p, at) in &entries {
            sqlx::query(
                "INSERT INTO directory_postcodes (postcode, latitude, longitude) VALUES ($1, $2, $3) \
                 ON CONFLICT (postcode) DO UPDATE SET latitude = excluded.latitude, longitude = excluded.longitude",
            )
            .bind(p.as_str().to_owned())
            .bind(at.lat())
            .bind(at.lon())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(entries.len())
    }

    /// Where a postcode is, if the table knows it.
    pub async fn locate_postcode(&self, postcode: &Postcode) -> Result<Option<LatLon>, StoreError> {
        let row =
            sqlx::query("SELECT latitude, longitude FROM directory_postcodes WHERE postcode = $1")
                .bind(postcode.as_str().to_owned())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            let (lat, lon): (f64, f64) = (r.try_get("latitude")?, r.try_get("longitude")?);
            LatLon::new(lat, lon).ok_or_else(|| StoreError::Corrupt {
                column: "directory_postcodes.latitude",
                detail: format!("{lat},{lon}"),
            })
        })
        .transpose()
    }

    /// The rows of the postcode table for `postcodes` (those it knows), to check an import against.
    pub async fn postcode_table_for(
        &self,
        postcodes: &[Postcode],
    ) -> Result<PostcodeTable, StoreError> {
        let mut table = PostcodeTable::new();
        for p in postcodes {
            if let Some(at) = self.locate_postcode(p).await? {
                table.insert(p.clone(), at);
            }
        }
        Ok(table)
    }

    /// Imports one directory file as the import page and the command line both do: reads it in
    /// `format`, checks its postcodes against the stored table, and publishes what was accepted
    /// (see [`Store::import_directory`]). The report lists every rejected record.
    pub async fn import_directory_file(
        &self,
        who: Option<UserId>,
        owner: OrganisationId,
        format: Format,
        text: &str,
        source: &str,
    ) -> Result<(ImportReport, ImportOutcome), StoreError> {
        let mut report = self.read_directory_file(format, text).await?;
        let outcome = self
            .import_directory(who, owner, &report.accepted, source)
            .await?;
        for (id, keeper) in &outcome.refused {
            report.refuse(id, "id", &pending::kept_by(keeper));
        }
        Ok((report, outcome))
    }

    /// Reads a directory file in `format`, checking its postcodes against the stored table.
    async fn read_directory_file(
        &self,
        format: Format,
        text: &str,
    ) -> Result<ImportReport, StoreError> {
        let postcodes = careweave_directory::postcodes_in(format, text);
        let table = self.postcode_table_for(&postcodes).await?;
        Ok(careweave_directory::parse(
            format,
            text,
            &table,
            self.clock().now_utc(),
        ))
    }

    /// Publishes the accepted services of one import, all or nothing, in one transaction.
    ///
    /// `owner` is the organisation importing. A service whose id is already published is updated
    /// only when `owner` keeps it; a service another organisation keeps is left exactly as it is
    /// (its content, owner and provider, and so the referrals it routes) and listed in
    /// [`ImportOutcome::refused`]. A new service is owned by its provider when the provider is a
    /// careweave organisation of the same name, else by `owner`.
    pub async fn import_directory(
        &self,
        who: Option<UserId>,
        owner: OrganisationId,
        services: &[Service],
        source: &str,
    ) -> Result<ImportOutcome, StoreError> {
        let orgs: HashMap<String, i64> = sqlx::query("SELECT id, name FROM organisations")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("name")?.to_lowercase(),
                    get_i64(r, "id")?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        let mut outcome = ImportOutcome::default();
        let mut tx = self.pool.begin().await?;
        // Read inside the transaction, and the update below is guarded by the owner as well, so
        // an entry that changes hands during the import is still refused rather than overwritten.
        let existing = pending::service_keepers(&mut tx).await?;
        for s in services {
            let known = existing.get(s.id.as_str());
            if let Some((_, keeper_name)) = known.filter(|(k, _)| *k != owner.get()) {
                outcome
                    .refused
                    .push((s.id.to_string(), keeper_name.clone()));
                continue;
            }
            let provider = orgs.get(&s.organization.name.to_lowercase()).copied();
            let document = oruk::service_document(s).map_err(|e| StoreError::Corrupt {
                column: "directory_services.document",
                detail: e.to_string(),
            })?;
            let written = sqlx::query(
                "INSERT INTO directory_services (id, name, organization_id, organization_name, provider_id, \
                 owner_id, accepts_referrals, last_reviewed, last_modified, document) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, organization_id = excluded.organization_id, \
                 organization_name = excluded.organization_name, provider_id = excluded.provider_id, \
                 accepts_referrals = excluded.accepts_referrals, last_reviewed = excluded.last_reviewed, \
                 last_modified = excluded.last_modified, document = excluded.document \
                 WHERE directory_services.owner_id = $11",
            )
            .bind(s.id.to_string())
            .bind(&s.name)
            .bind(s.organization.id.to_string())
            .bind(&s.organization.name)
            .bind(provider)
            .bind(provider.unwrap_or(owner.get()))
            .bind(i64::from(s.accepts_referrals))
            .bind(s.last_reviewed.map(|d| d.format("%Y-%m-%d").to_string()))
            .bind(crate::instant_text(s.last_modified))
            .bind(document)
            .bind(owner.get())
            .execute(&mut *tx)
            .await?;
            if written.rows_affected() == 0 {
                // Published by another organisation after the read above.
                outcome
                    .refused
                    .push((s.id.to_string(), "another organisation".to_owned()));
            } else if known.is_some() {
                outcome.updated += 1;
            } else {
                outcome.added += 1;
            }
        }
        bump_revision(&mut *tx).await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: who,
                action: AuditAction::Update,
                entity: "directory",
                entity_id: None,
                reason: format!(
                    "import from {source}: {} added, {} updated, {} refused as kept by another organisation",
                    outcome.added,
                    outcome.updated,
                    outcome.refused.len()
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Every published service, for the search index and the export.
    pub async fn directory_services(&self) -> Result<Vec<PublishedService>, StoreError> {
        sqlx::query(&format!("{PUBLISHED} ORDER BY s.name"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(published_from_row)
            .collect()
    }

    /// One published service.
    pub async fn directory_service(
        &self,
        id: &str,
    ) -> Result<Option<PublishedService>, StoreError> {
        sqlx::query(&format!("{PUBLISHED} WHERE s.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(published_from_row)
            .transpose()
    }

    /// Records that a member of the owning organisation checked the entry and it is still true.
    pub async fn mark_reviewed(
        &self,
        who: &Principal,
        id: &str,
        today: NaiveDate,
    ) -> Result<(), DirectoryError> {
        let current = self
            .directory_service(id)
            .await?
            .ok_or(DirectoryError::NotFound("The service"))?;
        if !keeping_orgs(who).contains(&current.owner) {
            return Err(DirectoryError::Refused(
                "Only the organisation that keeps this entry can mark it as reviewed",
            ));
        }
        let mut service = current.service;
        service.last_reviewed = Some(today);
        self.republish(who.user, &service, "reviewed and still correct")
            .await?;
        Ok(())
    }

    async fn republish(&self, who: UserId, s: &Service, why: &str) -> Result<(), StoreError> {
        let document = oruk::service_document(s).map_err(|e| StoreError::Corrupt {
            column: "directory_services.document",
            detail: e.to_string(),
        })?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE directory_services SET name = $1, accepts_referrals = $2, last_reviewed = $3, \
             last_modified = $4, document = $5 WHERE id = $6",
        )
        .bind(&s.name)
        .bind(i64::from(s.accepts_referrals))
        .bind(s.last_reviewed.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(crate::instant_text(s.last_modified))
        .bind(document)
        .bind(s.id.to_string())
        .execute(&mut *tx)
        .await?;
        bump_revision(&mut *tx).await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who),
                action: AuditAction::Update,
                entity: "directory_service",
                entity_id: None,
                reason: format!("{}: {why}", s.id),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Any worker can report that an entry is wrong; the owner sees the report.
    pub async fn report_entry(
        &self,
        who: UserId,
        id: &str,
        reason: &str,
    ) -> Result<i64, DirectoryError> {
        if self.directory_service(id).await?.is_none() {
            return Err(DirectoryError::NotFound("The service"));
        }
        let r = sqlx::query(
            "INSERT INTO directory_reports (service_id, reported_by, reason, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(id)
        .bind(who.get())
        .bind(reason)
        .bind(now_text())
        .fetch_one(&self.pool)
        .await?;
        Ok(get_i64(&r, "id")?)
    }

    /// Open reports on entries that `who`'s organisations own.
    pub async fn open_reports(&self, who: &Principal) -> Result<Vec<EntryReport>, StoreError> {
        let mut out = Vec::new();
        for org in keeping_orgs(who) {
            let rows = sqlx::query(
                "SELECT r.id, r.service_id, s.name AS service_name, u.display_name, r.reason, r.created_at \
                 FROM directory_reports r JOIN directory_services s ON s.id = r.service_id \
                 JOIN users u ON u.id = r.reported_by WHERE s.owner_id = $1 AND r.resolved_at IS NULL ORDER BY r.id",
            )
            .bind(org.get())
            .fetch_all(&self.pool)
            .await?;
            for r in rows {
                out.push(EntryReport {
                    id: get_i64(&r, "id")?,
                    service_id: r.try_get("service_id")?,
                    service_name: r.try_get("service_name")?,
                    reported_by: r.try_get("display_name")?,
                    reason: r.try_get("reason")?,
                    created_at: parse_instant(
                        "directory_reports.created_at",
                        &r.try_get::<String, _>("created_at")?,
                    )?,
                });
            }
        }
        Ok(out)
    }

    /// Closes a report, by a member of the organisation that owns the entry.
    pub async fn resolve_report(&self, who: &Principal, report: i64) -> Result<(), DirectoryError> {
        let row = sqlx::query(
            "SELECT s.owner_id FROM directory_reports r JOIN directory_services s ON s.id = r.service_id \
             WHERE r.id = $1 AND r.resolved_at IS NULL",
        )
        .bind(report)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(DirectoryError::NotFound("The report"))?;
        if !keeping_orgs(who).contains(&OrganisationId::new(get_i64(&row, "owner_id")?)) {
            return Err(DirectoryError::Refused(
                "Only the organisation that keeps this entry can close its reports",
            ));
        }
        sqlx::query(
            "UPDATE directory_reports SET resolved_by = $1, resolved_at = $2 WHERE id = $3",
        )
        .bind(who.user.get())
        .bind(now_text())
        .bind(report)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Entries owned by `who`'s organisations and not reviewed within the stale period.
    pub async fn stale_entries(
        &self,
        who: &Principal,
        today: NaiveDate,
    ) -> Result<Vec<PublishedService>, StoreError> {
        let settings = self.directory_settings().await?;
        let cutoff = (today - chrono::Duration::days(settings.stale_after_days))
            .format("%Y-%m-%d")
            .to_string();
        let mut out = Vec::new();
        for org in keeping_orgs(who) {
            let rows = sqlx::query(&format!(
                "{PUBLISHED} WHERE s.owner_id = $1 AND (s.last_reviewed IS NULL OR s.last_reviewed < $2) ORDER BY s.last_reviewed, s.name"
            ))
            .bind(org.get())
            .bind(&cutoff)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                out.push(published_from_row(r)?);
            }
        }
        Ok(out)
    }

    /// A provider's member proposes a change to an entry their organisation runs; it is published
    /// only when a reviewer approves it.
    pub async fn propose_edit(
        &self,
        who: &Principal,
        proposed: &Service,
        summary: &str,
    ) -> Result<i64, DirectoryError> {
        let current = self
            .directory_service(proposed.id.as_str())
            .await?
            .ok_or(DirectoryError::NotFound("The service"))?;
        if !current
            .provider
            .is_some_and(|p| clinical_orgs(who).contains(&p))
        {
            return Err(DirectoryError::Refused(
                "Only staff of the organisation that runs this service can propose changes to it",
            ));
        }
        let document = oruk::service_document(proposed).map_err(|e| StoreError::Corrupt {
            column: "directory_proposals.document",
            detail: e.to_string(),
        })?;
        let r = sqlx::query(
            "INSERT INTO directory_proposals (service_id, proposed_by, summary, document, status, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING id",
        )
        .bind(proposed.id.to_string())
        .bind(who.user.get())
        .bind(summary)
        .bind(document)
        .bind(now_text())
        .fetch_one(&self.pool)
        .await?;
        Ok(get_i64(&r, "id")?)
    }

    /// Proposals waiting for review.
    pub async fn pending_proposals(&self) -> Result<Vec<Proposal>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.service_id, p.proposed_by, u.display_name, p.summary, p.document, p.created_at \
             FROM directory_proposals p JOIN users u ON u.id = p.proposed_by WHERE p.status = 'pending' ORDER BY p.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let service_id: String = r.try_get("service_id")?;
            let Some(current) = self.directory_service(&service_id).await? else {
                continue;
            };
            out.push(Proposal {
                id: get_i64(&r, "id")?,
                current,
                proposed: oruk::service_from_document(&r.try_get::<String, _>("document")?)
                    .map_err(corrupt("directory_proposals.document"))?,
                proposed_by: UserId::new(get_i64(&r, "proposed_by")?),
                proposed_by_name: r.try_get("display_name")?,
                summary: r.try_get("summary")?,
                created_at: parse_instant(
                    "directory_proposals.created_at",
                    &r.try_get::<String, _>("created_at")?,
                )?,
            });
        }
        Ok(out)
    }

    /// A supervisor or an administrator approves (publishes) or rejects a proposal. Nobody reviews
    /// their own proposal.
    pub async fn decide_proposal(
        &self,
        who: &Principal,
        id: i64,
        approve: bool,
        today: NaiveDate,
    ) -> Result<(), DirectoryError> {
        if !reviews_directory_changes(who) {
            return Err(DirectoryError::Refused(
                "Only a supervisor or an administrator can review proposed changes",
            ));
        }
        let proposal = self
            .pending_proposals()
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(DirectoryError::NotFound("The proposal"))?;
        if proposal.proposed_by == who.user {
            return Err(DirectoryError::Refused(
                "Someone else must review a change you proposed",
            ));
        }
        let status = if approve { "approved" } else { "rejected" };
        sqlx::query(
            "UPDATE directory_proposals SET status = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND status = 'pending'",
        )
        .bind(status)
        .bind(who.user.get())
        .bind(now_text())
        .bind(id)
        .execute(&self.pool)
        .await?;
        if approve {
            let mut s = proposal.proposed;
            s.last_modified = self.clock().now_utc();
            s.last_reviewed = Some(today);
            self.republish(who.user, &s, &format!("approved proposal {id}"))
                .await?;
        }
        Ok(())
    }

    /// Loads the demo directory: the neighbourhood's postcodes (with their coordinates) and a few
    /// hundred synthetic services at them, kept by the demo's directory-holding charity. Returns
    /// how many services were published.
    pub async fn load_demo_directory(
        &self,
        postcodes: impl IntoIterator<Item = (Postcode, f64, f64)>,
        seed: u64,
    ) -> Result<usize, DirectoryError> {
        let mut table = PostcodeTable::new();
        for (p, lat, lon) in postcodes {
            if let Some(at) = LatLon::new(lat, lon) {
                table.insert(p, at);
            }
        }
        let demo = careweave_directory::demo::generate(seed, 300, &table, self.clock().today())?;
        self.load_postcodes(&demo.postcodes).await?;
        let owner = sqlx::query("SELECT id FROM organisations WHERE name = $1")
            .bind(careweave_directory::demo::PROVIDERS[1])
            .fetch_optional(&self.pool)
            .await?
            .ok_or(DirectoryError::NotFound(
                "The demo's directory-holding charity",
            ))?;
        let owner = OrganisationId::new(get_i64(&owner, "id")?);
        self.import_directory(None, owner, &demo.services, "the demo directory")
            .await?;
        Ok(demo.services.len())
    }
}
