//! Significant events and good news: recording one (from a case or on its own), reading and
//! listing them for the people [`can_see_event`] names, a supervisor marking an escalation as taken
//! to the board, the configurable theme list, and the raw counts behind the themes and board
//! reports (the web layer applies disclosure control when they leave the team).
//!
//! Every read, list, write and refusal writes an audit row with entity [`ENTITY`]; writes do so in
//! the same transaction. Reasons name ids and grants, never what the description says, and nothing
//! from an event is logged.

use careweave_domain::access::{Principal, Role};
use careweave_domain::casework::CaseId;
use careweave_domain::events::{
    can_record_events, can_see_event, EventFacts, EventGrant, EventKind,
};
use careweave_domain::{OrganisationId, ServiceId, UserId};
use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::casework::CaseworkService;
use crate::change::ActionError;
use crate::sql::IdList;
use crate::{get_date, get_i64, now_text, parse_date, Store, StoreError};

/// The audit log's name for a significant event.
pub const ENTITY: &str = "significant_event";

/// A theme from the configurable list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTheme {
    pub code: String,
    pub label: String,
    /// Retired themes stay on past events but are not offered for new ones.
    pub active: bool,
}

/// An event as the worker records it. The web layer checks the text; the store checks access,
/// the service, the case and the themes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub service: ServiceId,
    pub case: Option<CaseId>,
    /// The area; when `None` and the event has a case, the person's registered practice.
    pub practice: Option<OrganisationId>,
    pub occurred_on: NaiveDate,
    /// Written without identifying details (the form says so).
    pub description: String,
    /// Theme codes; at least one.
    pub themes: Vec<String>,
    /// The reason to take it to the board, when it should be escalated.
    pub escalation: Option<String>,
}

/// One event, for the people allowed to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    pub id: i64,
    pub kind: EventKind,
    pub service: String,
    pub case: Option<CaseId>,
    pub area: Option<String>,
    pub occurred_on: NaiveDate,
    pub description: String,
    /// Theme labels, in the list's order.
    pub themes: Vec<String>,
    pub escalate: bool,
    pub escalation_reason: String,
    pub board_on: Option<NaiveDate>,
    pub recorded_by: String,
    pub grant: EventGrant,
}

/// Raw counts behind the themes report: (month `YYYY-MM`, theme label, kind, count) and
/// (area, theme label, count). Events without an area count under "Area not recorded".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThemeCounts {
    pub by_month: Vec<(String, String, EventKind, u64)>,
    pub by_area: Vec<(String, String, u64)>,
}

/// Raw monthly counts for the board: safeguarding (month, concerns raised, referred to the local
/// authority) and MDT throughput (month, meetings held, cases discussed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardCounts {
    pub safeguarding: Vec<(String, u64, u64)>,
    pub mdt: Vec<(String, u64, u64)>,
}

/// The services' ids as a list of bound parameters starting at `$first`.
fn service_list(first: usize, services: &[CaseworkService]) -> IdList {
    IdList::new(first, services.iter().map(|s| s.id.get()))
}

fn count(row: &AnyRow, column: &'static str) -> Result<u64, StoreError> {
    Ok(u64::try_from(get_i64(row, column)?).unwrap_or(0))
}

fn kind_of(row: &AnyRow) -> Result<EventKind, StoreError> {
    let text: String = row.try_get("kind")?;
    EventKind::from_code(&text).ok_or(StoreError::Corrupt {
        column: "significant_events.kind",
        detail: text,
    })
}

/// Adds `n` to the count of `key` in a list kept in first-seen order.
fn bump(rows: &mut Vec<(String, u64, u64)>, key: String, raised: u64, referred: u64) {
    if let Some(r) = rows.iter_mut().find(|r| r.0 == key) {
        r.1 += raised;
        r.2 += referred;
    } else {
        rows.push((key, raised, referred));
    }
}

const EVENT_COLUMNS: &str = "e.id, e.kind, e.case_id, e.occurred_on, e.description, e.escalate, \
     e.escalation_reason, e.board_on, e.recorded_by, e.organisation_id, s.name AS service, \
     o.name AS area, u.display_name AS recorder FROM significant_events e \
     JOIN services s ON s.id = e.service_id JOIN users u ON u.id = e.recorded_by \
     LEFT JOIN organisations o ON o.id = e.practice_id";

impl Store {
    async fn event_audit(
        &self,
        who: &Principal,
        action: AuditAction,
        id: Option<i64>,
        reason: String,
    ) -> Result<(), StoreError> {
        audit_with(
            &self.pool,
            &AuditEvent {
                user: Some(who.user),
                action,
                entity: ENTITY,
                entity_id: id,
                reason,
            },
        )
        .await
    }

    /// The theme list in its order; retired themes only when `with_retired`.
    pub async fn event_themes(&self, with_retired: bool) -> Result<Vec<EventTheme>, StoreError> {
        let rows =
            sqlx::query("SELECT code, label, active FROM event_themes ORDER BY position, code")
                .fetch_all(&self.pool)
                .await?;
        let mut themes = Vec::new();
        for r in rows {
            let active = get_i64(&r, "active")? == 1;
            if active || with_retired {
                themes.push(EventTheme {
                    code: r.try_get("code")?,
                    label: r.try_get("label")?,
                    active,
                });
            }
        }
        Ok(themes)
    }

    /// Adds a theme at the end of the list, or brings back a retired one with the same label. Only
    /// admins configure the list; the refusal is audited.
    pub async fn add_event_theme(
        &self,
        who: &Principal,
        label: &str,
    ) -> Result<String, ActionError> {
        if !who.has_role(Role::Admin) {
            self.event_audit(
                who,
                AuditAction::Denied,
                None,
                "add theme: not an admin".into(),
            )
            .await?;
            return Err(ActionError::Denied);
        }
        let code: String = label
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
            .split('_')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        if code.is_empty() {
            return Err(ActionError::refused("Enter the theme's name"));
        }
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT code FROM event_themes WHERE code = $1")
            .bind(&code)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if exists {
            sqlx::query("UPDATE event_themes SET active = 1 WHERE code = $1")
                .bind(&code)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO event_themes (code, label, position, active) \
                 VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM event_themes), 1)",
            )
            .bind(&code)
            .bind(label.trim())
            .execute(&mut *tx)
            .await?;
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: ENTITY,
                entity_id: None,
                reason: format!("theme {code} added"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// Records an event. `who` must work the service (a worker or supervisor of one of its
    /// organisations) and, when a case is given, be one of the case's current workers; refusals
    /// are audited. The event, its themes and the audit row are written in one transaction.
    pub async fn record_event(&self, who: &Principal, new: &NewEvent) -> Result<i64, ActionError> {
        let service = self
            .services_worked_by(who)
            .await?
            .into_iter()
            .find(|s| s.id == new.service);
        let organisation = service.as_ref().and_then(|s| {
            s.organisations()
                .into_iter()
                .find(|&o| who.has_role_in(Role::Worker, o) || who.has_role_in(Role::Supervisor, o))
        });
        let Some(organisation) = organisation.filter(|_| can_record_events(who)) else {
            self.event_audit(
                who,
                AuditAction::Denied,
                None,
                format!("record for service {}: does not work it", new.service.get()),
            )
            .await?;
            return Err(ActionError::Denied);
        };
        let mut practice = new.practice;
        if let Some(case) = new.case {
            let row = sqlx::query(
                "SELECT c.service_id, p.registered_practice_id, \
                 (SELECT COUNT(*) FROM casework_workers w WHERE w.case_id = c.id \
                  AND w.user_id = $2 AND w.ended_on IS NULL) AS works \
                 FROM casework_cases c JOIN people p ON p.id = c.person_id WHERE c.id = $1",
            )
            .bind(case.get())
            .bind(who.user.get())
            .fetch_optional(&self.pool)
            .await?;
            let fits = match &row {
                Some(r) => {
                    get_i64(r, "service_id")? == new.service.get() && get_i64(r, "works")? > 0
                }
                None => false,
            };
            if !fits {
                self.event_audit(
                    who,
                    AuditAction::Denied,
                    None,
                    format!("record from case {case}: not a current worker of it in this service"),
                )
                .await?;
                return Err(ActionError::Denied);
            }
            if practice.is_none() {
                practice = row
                    .map(|r| r.try_get::<Option<i64>, _>("registered_practice_id"))
                    .transpose()?
                    .flatten()
                    .map(OrganisationId::new);
            }
        }
        let active: Vec<String> = self
            .event_themes(false)
            .await?
            .into_iter()
            .map(|t| t.code)
            .collect();
        if new.themes.is_empty() {
            return Err(ActionError::refused("Select at least one theme"));
        }
        if new.themes.iter().any(|t| !active.contains(t)) {
            return Err(ActionError::refused("Select themes from the list"));
        }
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO significant_events (kind, service_id, organisation_id, case_id, practice_id, \
             occurred_on, description, escalate, escalation_reason, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(new.kind.code())
        .bind(new.service.get())
        .bind(organisation.get())
        .bind(new.case.map(CaseId::get))
        .bind(practice.map(OrganisationId::get))
        .bind(new.occurred_on.to_string())
        .bind(&new.description)
        .bind(i64::from(new.escalation.is_some()))
        .bind(new.escalation.clone().unwrap_or_default())
        .bind(who.user.get())
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        let mut themes = new.themes.clone();
        themes.sort();
        themes.dedup();
        for theme in &themes {
            sqlx::query("INSERT INTO significant_event_themes (event_id, theme) VALUES ($1, $2)")
                .bind(id)
                .bind(theme)
                .execute(&mut *tx)
                .await?;
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Create,
                entity: ENTITY,
                entity_id: Some(id),
                reason: format!(
                    "{} for service {} (organisation {organisation}{}{})",
                    new.kind.code(),
                    new.service.get(),
                    new.case.map(|c| format!(", case {c}")).unwrap_or_default(),
                    if new.escalation.is_some() {
                        ", escalated"
                    } else {
                        ""
                    }
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn event_facts(&self, row: &AnyRow) -> Result<EventFacts, StoreError> {
        let case_team = match row.try_get::<Option<i64>, _>("case_id")? {
            Some(case) => sqlx::query(
                "SELECT user_id FROM casework_workers WHERE case_id = $1 AND ended_on IS NULL",
            )
            .bind(case)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| get_i64(r, "user_id").map(UserId::new))
            .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(EventFacts {
            recorded_by: UserId::new(get_i64(row, "recorded_by")?),
            organisation: OrganisationId::new(get_i64(row, "organisation_id")?),
            case_team,
        })
    }

    async fn event_of(&self, row: &AnyRow, grant: EventGrant) -> Result<EventView, StoreError> {
        let id = get_i64(row, "id")?;
        let themes = sqlx::query(
            "SELECT t.label FROM significant_event_themes et JOIN event_themes t ON t.code = et.theme \
             WHERE et.event_id = $1 ORDER BY t.position, t.code",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get("label"))
        .collect::<Result<_, _>>()?;
        Ok(EventView {
            id,
            kind: kind_of(row)?,
            service: row.try_get("service")?,
            case: row.try_get::<Option<i64>, _>("case_id")?.map(CaseId::new),
            area: row.try_get("area")?,
            occurred_on: get_date(row, "occurred_on")?,
            description: row.try_get("description")?,
            themes,
            escalate: get_i64(row, "escalate")? == 1,
            escalation_reason: row.try_get("escalation_reason")?,
            board_on: row
                .try_get::<Option<String>, _>("board_on")?
                .map(|d| parse_date("board_on", &d))
                .transpose()?,
            recorded_by: row.try_get("recorder")?,
            grant,
        })
    }

    /// One event, for the people [`can_see_event`] names; a refusal (or an event that does not
    /// exist, in the same words) is audited as denied.
    pub async fn event_for(&self, who: &Principal, id: i64) -> Result<EventView, ActionError> {
        let row = sqlx::query(&format!("SELECT {EVENT_COLUMNS} WHERE e.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let grant = match &row {
            Some(r) => can_see_event(who, &self.event_facts(r).await?),
            None => None,
        };
        let (Some(row), Some(grant)) = (row, grant) else {
            self.event_audit(who, AuditAction::Denied, Some(id), "read: no grant".into())
                .await?;
            return Err(ActionError::Denied);
        };
        let view = self.event_of(&row, grant).await?;
        self.event_audit(who, AuditAction::Read, Some(id), grant.code().into())
            .await?;
        Ok(view)
    }

    /// The events `who` may read, newest first: those they recorded, those of organisations they
    /// supervise and those on cases they work now. A non-empty list is audited as one `list` event
    /// naming the events.
    pub async fn events_for(&self, who: &Principal) -> Result<Vec<EventView>, StoreError> {
        let list = IdList::new(
            2,
            who.memberships
                .iter()
                .filter(|m| m.role == Role::Supervisor)
                .map(|m| m.organisation.get()),
        );
        let supervised = list.placeholders();
        let rows = list.bind(sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} WHERE e.recorded_by = $1 OR e.organisation_id IN ({supervised}) \
             OR e.case_id IN (SELECT case_id FROM casework_workers WHERE user_id = $1 AND ended_on IS NULL) \
             ORDER BY e.occurred_on DESC, e.id DESC"
        ))
        .bind(who.user.get()))
        .fetch_all(&self.pool)
        .await?;
        let mut events = Vec::new();
        for r in &rows {
            // The query mirrors the policy; asking the policy as well keeps them from drifting.
            if let Some(grant) = can_see_event(who, &self.event_facts(r).await?) {
                events.push(self.event_of(r, grant).await?);
            }
        }
        if !events.is_empty() {
            let ids: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
            self.event_audit(
                who,
                AuditAction::List,
                None,
                format!("events {}", ids.join(",")),
            )
            .await?;
        }
        Ok(events)
    }

    /// Marks an escalated event as taken to the board on `on`. Only a supervisor of the recorder's
    /// organisation may; an event that was not escalated, or is dated after `on`, is refused.
    pub async fn mark_taken_to_board(
        &self,
        who: &Principal,
        id: i64,
        on: NaiveDate,
    ) -> Result<(), ActionError> {
        let event = self.event_for(who, id).await?;
        if !event.grant.may_review() {
            self.event_audit(
                who,
                AuditAction::Denied,
                Some(id),
                "board: not a supervisor".into(),
            )
            .await?;
            return Err(ActionError::Denied);
        }
        if !event.escalate {
            return Err(ActionError::refused(
                "This event was not escalated to the board",
            ));
        }
        if on < event.occurred_on {
            return Err(ActionError::refused(
                "The board date must be on or after the date of the event",
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE significant_events SET board_on = $1, board_marked_by = $2 WHERE id = $3",
        )
        .bind(on.to_string())
        .bind(who.user.get())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: ENTITY,
                entity_id: Some(id),
                reason: "taken to the board".into(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Event counts by month and theme, and by area and theme, over the services given (raw; the
    /// page decides on disclosure control). An event with two themes counts once under each.
    pub async fn event_theme_counts(
        &self,
        services: &[CaseworkService],
    ) -> Result<ThemeCounts, StoreError> {
        let mut out = ThemeCounts::default();
        if services.is_empty() {
            return Ok(out);
        }
        let list = service_list(1, services);
        let ids = list.placeholders();
        for r in list
            .bind(sqlx::query(&format!(
                "SELECT SUBSTR(e.occurred_on, 1, 7) AS month, t.label, e.kind, COUNT(*) AS n \
             FROM significant_events e JOIN significant_event_themes et ON et.event_id = e.id \
             JOIN event_themes t ON t.code = et.theme WHERE e.service_id IN ({ids}) \
             GROUP BY SUBSTR(e.occurred_on, 1, 7), t.label, t.position, e.kind \
             ORDER BY 1 DESC, t.position, e.kind"
            )))
            .fetch_all(&self.pool)
            .await?
        {
            out.by_month.push((
                r.try_get("month")?,
                r.try_get("label")?,
                kind_of(&r)?,
                count(&r, "n")?,
            ));
        }
        for r in list.bind(sqlx::query(&format!(
            "SELECT COALESCE(o.name, 'Area not recorded') AS area, t.label, COUNT(*) AS n \
             FROM significant_events e JOIN significant_event_themes et ON et.event_id = e.id \
             JOIN event_themes t ON t.code = et.theme LEFT JOIN organisations o ON o.id = e.practice_id \
             WHERE e.service_id IN ({ids}) \
             GROUP BY COALESCE(o.name, 'Area not recorded'), t.label, t.position ORDER BY 1, t.position"
        )))
        .fetch_all(&self.pool)
        .await?
        {
            out.by_area
                .push((r.try_get("area")?, r.try_get("label")?, count(&r, "n")?));
        }
        Ok(out)
    }

    /// Monthly safeguarding and MDT counts over the services given, newest month first (raw; the
    /// page decides on disclosure control). A concern counts in the month it was raised and, if
    /// referred, in the month of the referral; meetings count once held (on or before `today`), and
    /// a case counts as discussed when its item has a discussion or decision recorded.
    pub async fn board_counts(
        &self,
        services: &[CaseworkService],
        today: NaiveDate,
    ) -> Result<BoardCounts, StoreError> {
        let mut out = BoardCounts::default();
        if services.is_empty() {
            return Ok(out);
        }
        let list = service_list(1, services);
        let ids = list.placeholders();
        // The meeting counts bind today first, so their list starts at `$2`.
        let held_list = service_list(2, services);
        let held_ids = held_list.placeholders();
        let concerns = format!(
            "FROM safeguarding_concerns sc JOIN casework_cases c ON c.id = sc.case_id \
             WHERE c.service_id IN ({ids})"
        );
        for r in list
            .bind(sqlx::query(&format!(
                "SELECT SUBSTR(sc.raised_at, 1, 7) AS month, COUNT(*) AS n {concerns} \
             GROUP BY SUBSTR(sc.raised_at, 1, 7)"
            )))
            .fetch_all(&self.pool)
            .await?
        {
            bump(
                &mut out.safeguarding,
                r.try_get("month")?,
                count(&r, "n")?,
                0,
            );
        }
        for r in list
            .bind(sqlx::query(&format!(
                "SELECT SUBSTR(sc.la_referred_on, 1, 7) AS month, COUNT(*) AS n {concerns} \
             AND sc.la_referred_on IS NOT NULL GROUP BY SUBSTR(sc.la_referred_on, 1, 7)"
            )))
            .fetch_all(&self.pool)
            .await?
        {
            bump(
                &mut out.safeguarding,
                r.try_get("month")?,
                0,
                count(&r, "n")?,
            );
        }
        let held = format!("m.service_id IN ({held_ids}) AND m.held_on <= $1");
        for r in held_list
            .bind(
                sqlx::query(&format!(
                    "SELECT SUBSTR(m.held_on, 1, 7) AS month, COUNT(*) AS n FROM mdt_meetings m \
             WHERE {held} GROUP BY SUBSTR(m.held_on, 1, 7)"
                ))
                .bind(today.to_string()),
            )
            .fetch_all(&self.pool)
            .await?
        {
            bump(&mut out.mdt, r.try_get("month")?, count(&r, "n")?, 0);
        }
        for r in held_list
            .bind(
                sqlx::query(&format!(
                    "SELECT SUBSTR(m.held_on, 1, 7) AS month, COUNT(*) AS n FROM mdt_items i \
             JOIN mdt_meetings m ON m.id = i.meeting_id WHERE {held} \
             AND (i.discussion <> '' OR i.decision <> '') GROUP BY SUBSTR(m.held_on, 1, 7)"
                ))
                .bind(today.to_string()),
            )
            .fetch_all(&self.pool)
            .await?
        {
            bump(&mut out.mdt, r.try_get("month")?, 0, count(&r, "n")?);
        }
        out.safeguarding.sort_by(|a, b| b.0.cmp(&a.0));
        out.mdt.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(out)
    }
}
