//! The place partnership workspace: a workspace per place for the organisations that plan its care
//! together, with community survey answers tagged by theme, roadshow and engagement notes, the
//! clinical group's answers to the four questions with their evidence, the partnership's own
//! good-practice entries, solution-building events with their actions, and integration
//! self-assessments.
//!
//! The door is [`Store::open_workspace`]: it asks [`place_access`] whether the user takes part in
//! the place's partnership and returns a [`Workspace`], which only this module can build; every
//! other read and write takes one, so nothing reaches a workspace its user was not let into. A
//! refusal (or a workspace that does not exist, in the same words) is audited as denied, and every
//! change writes an audit row with entity [`ENTITY`] in its own transaction. Nothing here names a
//! person the system cares for: survey answers arrive stripped of identifiers
//! (`careweave_place::survey`) and counts leave through the page's disclosure control.
//!
//! One file per feature: `community` (themes, surveys, notes), `questions` (the four answers and
//! the partnership's own good practice), `solutions` (events and actions) and `assessment`.

mod assessment;
mod community;
mod questions;
mod solutions;

use careweave_domain::access::Principal;
use careweave_domain::place::{can_start_workspace, place_access, PlaceAccess};
use careweave_domain::{OrganisationId, PlaceId};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::change::ActionError;
use crate::sql::IdList;
use crate::{get_i64, instant_text, Store, StoreError};

pub use assessment::Assessment;
pub use community::{Note, PlaceTheme, SurveySummary, ThemeCounts};
pub use questions::{Answer, NewPractice, OwnPractice};
pub use solutions::{ActionView, NewAction, PlaceEvent};

/// The audit log's name for a place workspace and everything in it.
pub const ENTITY: &str = "place";

/// An opened workspace: proof that its user takes part in the place's partnership. Only
/// [`Store::open_workspace`] and [`Store::create_workspace`] make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub place: PlaceRef,
    /// (organisation, name), by name.
    pub partners: Vec<(OrganisationId, String)>,
    pub access: PlaceAccess,
    user: careweave_domain::UserId,
}

/// A registry place a workspace can be for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceRef {
    pub id: PlaceId,
    /// The place level's code (`pcn`, `locality`, `lsoa`…), as the population profiles name it.
    pub level: String,
    pub code: String,
    pub name: String,
}

/// A workspace as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceSummary {
    pub id: i64,
    pub name: String,
    pub place: String,
    pub open_actions: u64,
}

/// A new workspace; the creator's organisation is its first partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkspace {
    pub name: String,
    pub place: PlaceId,
    pub description: String,
    pub organisation: OrganisationId,
}

fn count(row: &AnyRow, column: &'static str) -> Result<u64, StoreError> {
    Ok(u64::try_from(get_i64(row, column)?).unwrap_or(0))
}

fn corrupt(column: &'static str, detail: String) -> StoreError {
    StoreError::Corrupt { column, detail }
}

impl Store {
    pub(super) fn place_now(&self) -> String {
        instant_text(self.clock.now_utc())
    }

    pub(super) async fn place_audit<'c>(
        &self,
        target: impl Into<crate::audit::AuditTarget<'c>>,
        who: careweave_domain::UserId,
        action: AuditAction,
        id: Option<i64>,
        reason: String,
    ) -> Result<(), StoreError> {
        audit_with(
            target,
            &AuditEvent {
                user: Some(who),
                action,
                entity: ENTITY,
                entity_id: id,
                reason,
            },
        )
        .await
    }

    /// The places a workspace can be for: PCNs, localities and LSOAs of the registry, by level and
    /// name.
    pub async fn workspace_places(&self) -> Result<Vec<PlaceRef>, StoreError> {
        sqlx::query(
            "SELECT id, level, code, name FROM places WHERE level IN ('pcn', 'locality', 'lsoa') \
             ORDER BY CASE level WHEN 'pcn' THEN 1 WHEN 'locality' THEN 2 ELSE 3 END, name",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(PlaceRef {
                id: PlaceId::new(get_i64(r, "id")?),
                level: r.try_get("level")?,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
            })
        })
        .collect()
    }

    /// Starts a workspace for a place with `new.organisation` as its first partner. Only someone
    /// who would lead it there may (see [`place_access`]); refusals are audited.
    pub async fn create_workspace(
        &self,
        who: &Principal,
        new: &NewWorkspace,
    ) -> Result<Workspace, ActionError> {
        let leads_there = place_access(who, &[new.organisation]) == Some(PlaceAccess::Lead);
        if !can_start_workspace(who) || !leads_there {
            self.place_audit(
                &self.pool,
                who.user,
                AuditAction::Denied,
                None,
                format!(
                    "start a workspace for organisation {}: not a lead there",
                    new.organisation
                ),
            )
            .await?;
            return Err(ActionError::Denied);
        }
        if new.name.trim().is_empty() {
            return Err(ActionError::refused_at(
                "name",
                "Enter the workspace's name",
            ));
        }
        if !self
            .workspace_places()
            .await?
            .iter()
            .any(|p| p.id == new.place)
        {
            return Err(ActionError::refused_at(
                "place",
                "Select the place from the list",
            ));
        }
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO place_workspaces (name, place_id, description, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(new.name.trim())
        .bind(new.place.get())
        .bind(new.description.trim())
        .bind(who.user.get())
        .bind(self.place_now())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        sqlx::query("INSERT INTO place_partners (workspace_id, organisation_id) VALUES ($1, $2)")
            .bind(id)
            .bind(new.organisation.get())
            .execute(&mut *tx)
            .await?;
        self.place_audit(
            &mut *tx,
            who.user,
            AuditAction::Create,
            Some(id),
            format!(
                "workspace for place {} with partner {}",
                new.place.get(),
                new.organisation
            ),
        )
        .await?;
        tx.commit().await?;
        self.open_workspace(who, id).await
    }

    async fn partners_of(&self, id: i64) -> Result<Vec<(OrganisationId, String)>, StoreError> {
        sqlx::query(
            "SELECT o.id, o.name FROM place_partners p JOIN organisations o ON o.id = p.organisation_id \
             WHERE p.workspace_id = $1 ORDER BY o.name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((OrganisationId::new(get_i64(r, "id")?), r.try_get("name")?)))
        .collect()
    }

    /// Opens a workspace for someone who takes part in its partnership. Anyone else is refused in
    /// the same words whether or not it exists, and the refusal is audited.
    pub async fn open_workspace(&self, who: &Principal, id: i64) -> Result<Workspace, ActionError> {
        let row = sqlx::query(
            "SELECT w.id, w.name, w.description, p.id AS place_id, p.level, p.code, p.name AS place_name \
             FROM place_workspaces w JOIN places p ON p.id = w.place_id WHERE w.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let partners = match &row {
            Some(_) => self.partners_of(id).await?,
            None => Vec::new(),
        };
        let ids: Vec<OrganisationId> = partners.iter().map(|(o, _)| *o).collect();
        let (Some(row), Some(access)) = (row, place_access(who, &ids)) else {
            self.place_audit(
                &self.pool,
                who.user,
                AuditAction::Denied,
                Some(id),
                "open workspace: not a partner".into(),
            )
            .await?;
            return Err(ActionError::Denied);
        };
        Ok(Workspace {
            id,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            place: PlaceRef {
                id: PlaceId::new(get_i64(&row, "place_id")?),
                level: row.try_get("level")?,
                code: row.try_get("code")?,
                name: row.try_get("place_name")?,
            },
            partners,
            access,
            user: who.user,
        })
    }

    /// The workspaces `who` takes part in, by name, with how many actions are still open.
    pub async fn workspaces_for(
        &self,
        who: &Principal,
    ) -> Result<Vec<WorkspaceSummary>, StoreError> {
        let list = IdList::new(1, who.memberships.iter().map(|m| m.organisation.get()));
        let orgs = list.placeholders();
        let rows = list
            .bind(sqlx::query(&format!(
                "SELECT w.id, w.name, p.name AS place, \
                 (SELECT COUNT(*) FROM place_actions a WHERE a.workspace_id = w.id AND a.done_on IS NULL) AS open_actions \
                 FROM place_workspaces w JOIN places p ON p.id = w.place_id \
                 WHERE w.id IN (SELECT workspace_id FROM place_partners WHERE organisation_id IN ({orgs})) \
                 ORDER BY w.name, w.id"
            )))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let id = get_i64(r, "id")?;
            let partners: Vec<OrganisationId> = self
                .partners_of(id)
                .await?
                .into_iter()
                .map(|(o, _)| o)
                .collect();
            // The query finds the workspaces of the user's organisations; the policy decides
            // which of them their roles take part in.
            if place_access(who, &partners).is_some() {
                out.push(WorkspaceSummary {
                    id,
                    name: r.try_get("name")?,
                    place: r.try_get("place")?,
                    open_actions: count(r, "open_actions")?,
                });
            }
        }
        Ok(out)
    }

    /// Adds a partner organisation. Only a lead of the partnership may; refusals are audited.
    pub async fn add_partner(
        &self,
        ws: &Workspace,
        organisation: OrganisationId,
    ) -> Result<(), ActionError> {
        if !ws.access.may_manage_partners() {
            self.place_audit(
                &self.pool,
                ws.user,
                AuditAction::Denied,
                Some(ws.id),
                "add partner: not a lead".into(),
            )
            .await?;
            return Err(ActionError::Denied);
        }
        // Asked of the database, not of the opened workspace, which may have been opened before
        // another lead added the same organisation.
        let already = sqlx::query(
            "SELECT 1 AS one FROM place_partners WHERE workspace_id = $1 AND organisation_id = $2",
        )
        .bind(ws.id)
        .bind(organisation.get())
        .fetch_optional(&self.pool)
        .await?
        .is_some();
        if already {
            return Err(ActionError::refused_at(
                "organisation",
                "That organisation is already a partner",
            ));
        }
        let exists = sqlx::query("SELECT id FROM organisations WHERE id = $1")
            .bind(organisation.get())
            .fetch_optional(&self.pool)
            .await?
            .is_some();
        if !exists {
            return Err(ActionError::refused_at(
                "organisation",
                "Select the organisation from the list",
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO place_partners (workspace_id, organisation_id) VALUES ($1, $2)")
            .bind(ws.id)
            .bind(organisation.get())
            .execute(&mut *tx)
            .await?;
        self.place_audit(
            &mut *tx,
            ws.user,
            AuditAction::Update,
            Some(ws.id),
            format!("partner {organisation} added"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many people of the place are on each cohort of the latest population run (raw; the
    /// page applies disclosure control): people registered with a practice of the place, or of a
    /// place within it. (cohort title, people).
    pub async fn place_cohort_sizes(
        &self,
        ws: &Workspace,
    ) -> Result<Vec<(String, String, u64)>, StoreError> {
        sqlx::query(
            "SELECT c.name, c.title, COUNT(w.nhs_number) AS n FROM population_cohorts c \
             LEFT JOIN population_worklist w ON w.run_id = c.run_id AND w.cohort = c.name \
              AND w.practice IN (SELECT o.ods_code FROM organisations o WHERE o.kind = 'gp_practice' \
               AND (o.place_id = $1 OR o.place_id IN (SELECT id FROM places WHERE parent_id = $1))) \
             WHERE c.run_id = (SELECT MAX(id) FROM population_runs) GROUP BY c.name, c.title ORDER BY c.title",
        )
        .bind(ws.place.id.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("title")?, count(r, "n")?)))
        .collect()
    }
}
