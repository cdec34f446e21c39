//! Solution-building events with their proposals and decisions, and the actions agreed at them,
//! followed up until done.

use careweave_domain::place::EventItemKind;
use chrono::NaiveDate;
use sqlx::Row;

use crate::audit::AuditAction;
use crate::change::ActionError;
use crate::{get_date, get_i64, parse_date, Store, StoreError};

use super::{corrupt, Workspace};

/// An action agreed at an event (or on its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    pub description: String,
    pub owner: String,
    pub due_on: NaiveDate,
    /// What the action should move: a cohort or a service, in words.
    pub link: String,
}

/// An action as the workspace follows it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionView {
    pub id: i64,
    pub event: Option<String>,
    pub action: NewAction,
    pub done_on: Option<NaiveDate>,
}

/// A solution-building event with what was proposed and decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceEvent {
    pub id: i64,
    pub title: String,
    pub held_on: NaiveDate,
    pub items: Vec<(EventItemKind, String)>,
}

impl Store {
    /// Records a solution-building event with its proposals, decisions and actions.
    pub async fn add_place_event(
        &self,
        ws: &Workspace,
        title: &str,
        held_on: NaiveDate,
        items: &[(EventItemKind, String)],
        actions: &[NewAction],
    ) -> Result<i64, ActionError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO place_events (workspace_id, title, held_on, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(ws.id)
        .bind(title)
        .bind(held_on.to_string())
        .bind(ws.user.get())
        .bind(self.place_now())
        .fetch_one(&mut *tx)
        .await?;
        let event = get_i64(&row, "id")?;
        for (kind, text) in items {
            sqlx::query("INSERT INTO place_event_items (event_id, kind, text) VALUES ($1, $2, $3)")
                .bind(event)
                .bind(kind.code())
                .bind(text)
                .execute(&mut *tx)
                .await?;
        }
        for a in actions {
            self.insert_action(&mut tx, ws, Some(event), a).await?;
        }
        self.place_audit(
            &mut *tx,
            ws.user,
            AuditAction::Create,
            Some(ws.id),
            format!("event {event} with {} actions", actions.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn insert_action(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        ws: &Workspace,
        event: Option<i64>,
        a: &NewAction,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO place_actions (workspace_id, event_id, description, owner, due_on, link, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(ws.id)
        .bind(event)
        .bind(&a.description)
        .bind(&a.owner)
        .bind(a.due_on.to_string())
        .bind(&a.link)
        .bind(ws.user.get())
        .bind(self.place_now())
        .fetch_one(&mut **tx)
        .await?;
        get_i64(&row, "id")
    }

    /// The workspace's events, newest first.
    pub async fn place_events(&self, ws: &Workspace) -> Result<Vec<PlaceEvent>, StoreError> {
        let items = sqlx::query(
            "SELECT i.event_id, i.kind, i.text FROM place_event_items i JOIN place_events e ON e.id = i.event_id \
             WHERE e.workspace_id = $1 ORDER BY i.id",
        )
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in sqlx::query(
            "SELECT id, title, held_on FROM place_events WHERE workspace_id = $1 ORDER BY held_on DESC, id DESC",
        )
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?
        {
            let id = get_i64(&r, "id")?;
            let mut mine = Vec::new();
            for i in &items {
                if get_i64(i, "event_id")? == id {
                    let kind: String = i.try_get("kind")?;
                    mine.push((
                        EventItemKind::from_code(&kind)
                            .ok_or_else(|| corrupt("place_event_items.kind", kind))?,
                        i.try_get("text")?,
                    ));
                }
            }
            out.push(PlaceEvent {
                id,
                title: r.try_get("title")?,
                held_on: get_date(&r, "held_on")?,
                items: mine,
            });
        }
        Ok(out)
    }

    /// The workspace's actions: open ones first by due date, then done ones.
    pub async fn place_actions(&self, ws: &Workspace) -> Result<Vec<ActionView>, StoreError> {
        sqlx::query(
            "SELECT a.id, e.title, a.description, a.owner, a.due_on, a.link, a.done_on FROM place_actions a \
             LEFT JOIN place_events e ON e.id = a.event_id WHERE a.workspace_id = $1 \
             ORDER BY CASE WHEN a.done_on IS NULL THEN 0 ELSE 1 END, a.due_on, a.id",
        )
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ActionView {
                id: get_i64(r, "id")?,
                event: r.try_get("title")?,
                action: NewAction {
                    description: r.try_get("description")?,
                    owner: r.try_get("owner")?,
                    due_on: get_date(r, "due_on")?,
                    link: r.try_get("link")?,
                },
                done_on: r
                    .try_get::<Option<String>, _>("done_on")?
                    .map(|d| parse_date("place_actions.done_on", &d))
                    .transpose()?,
            })
        })
        .collect()
    }

    /// Marks an open action of the workspace as done on `on`.
    pub async fn complete_place_action(
        &self,
        ws: &Workspace,
        action: i64,
        on: NaiveDate,
    ) -> Result<(), ActionError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE place_actions SET done_on = $1 WHERE id = $2 AND workspace_id = $3 AND done_on IS NULL",
        )
        .bind(on.to_string())
        .bind(action)
        .bind(ws.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(ActionError::refused(
                "This action is already done or is not one of this workspace's",
            ));
        }
        self.place_audit(
            &mut *tx,
            ws.user,
            AuditAction::Update,
            Some(ws.id),
            format!("action {action} done"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
