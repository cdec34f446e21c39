//! One-to-one supervision sessions (notes by section, agreed actions with due dates, the next
//! session) and staff training records (course, completion, expiry, CPD hours).
//!
//! A session is seen only by the people [`can_see_session`] names: its worker, and the supervisor
//! who held it while they still supervise for the session's organisation. Every read, list, write
//! and refusal writes an audit row with entity [`SESSION_ENTITY`]; writes do so in the same
//! transaction. Training records are read and recorded by the people [`can_manage_training`]
//! names and audited the same way as entity [`TRAINING_ENTITY`], the staff member's user id
//! standing as the entity id. Both are staff personal data: no value from them is ever logged.

use careweave_domain::access::Principal;
use careweave_domain::supervision::{
    can_manage_training, can_see_session, superseded, supervising_organisation, training_status,
    training_team_organisations, CourseDone, CpdHours, SessionFacts, SessionGrant, TrainingGrant,
    TrainingKind, TrainingStatus,
};
use careweave_domain::{OrganisationId, UserId};
use chrono::NaiveDate;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::change::{opt_date, ActionError};
use crate::sql::IdList;
use crate::{get_date, get_i64, now_text, Store, StoreError};

/// The audit log's name for a supervision session.
pub const SESSION_ENTITY: &str = "supervision_session";
/// The audit log's name for a staff member's training records.
pub const TRAINING_ENTITY: &str = "training";

/// An agreed action as the supervisor records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSupervisionAction {
    pub text: String,
    pub due_on: NaiveDate,
}

/// A session as the supervisor records it. At least one section has notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub held_on: NaiveDate,
    /// Cases discussed, risks, decisions.
    pub caseload: String,
    /// How the worker is: workload, stress, what helps.
    pub wellbeing: String,
    /// Learning, training needs, career.
    pub development: String,
    pub actions: Vec<NewSupervisionAction>,
    /// When the next session is booked, if it is.
    pub next_on: Option<NaiveDate>,
}

/// A session in a list: when, with whom, when the next one is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub id: i64,
    pub held_on: NaiveDate,
    pub worker: String,
    pub supervisor: String,
    pub next_on: Option<NaiveDate>,
    /// Agreed actions not done yet.
    pub open_actions: i64,
}

/// An agreed action on a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisionAction {
    pub id: i64,
    pub text: String,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
}

/// Everything on one session, for its worker and its supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub id: i64,
    pub worker_id: UserId,
    pub worker: String,
    pub supervisor: String,
    pub organisation: String,
    pub held_on: NaiveDate,
    pub caseload: String,
    pub wellbeing: String,
    pub development: String,
    pub actions: Vec<SupervisionAction>,
    pub next_on: Option<NaiveDate>,
    /// Why the viewer may see it.
    pub grant: SessionGrant,
}

/// A member of staff a supervisor supervises, with their sessions together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervisee {
    pub user: UserId,
    pub name: String,
    /// The latest session this supervisor held with them.
    pub last_on: Option<NaiveDate>,
    /// The next session booked at that latest session.
    pub next_on: Option<NaiveDate>,
}

/// A supervisor's sessions with one supervisee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuperviseeSessions {
    pub user: UserId,
    pub name: String,
    pub sessions: Vec<SessionSummary>,
}

/// A training record as it is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTraining {
    pub kind: TrainingKind,
    /// What the course was; required for CPD and other training (the web layer checks).
    pub title: String,
    pub completed_on: NaiveDate,
    /// Worked out by `domain::supervision::expiry_date` before it gets here.
    pub expires_on: Option<NaiveDate>,
    pub cpd_hours: Option<CpdHours>,
}

/// One training record, with its status on the day it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRecord {
    pub id: i64,
    pub kind: TrainingKind,
    pub title: String,
    pub completed_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub cpd_hours: Option<CpdHours>,
    pub status: TrainingStatus,
    /// A later record of the same course replaces this one, so its expiry no longer matters.
    pub superseded: bool,
    pub recorded_by: String,
}

/// A staff member's training, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffTraining {
    pub user: UserId,
    pub name: String,
    pub records: Vec<TrainingRecord>,
    pub grant: TrainingGrant,
}

/// A staff member in the team view, with the training that needs attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMemberTraining {
    pub user: UserId,
    pub name: String,
    /// Records not superseded that are expired or due soon, soonest expiry first.
    pub attention: Vec<TrainingRecord>,
    /// Records not superseded that are current.
    pub current: usize,
}

fn session_facts(row: &AnyRow) -> Result<SessionFacts, StoreError> {
    Ok(SessionFacts {
        worker: UserId::new(get_i64(row, "worker_id")?),
        supervisor: UserId::new(get_i64(row, "supervisor_id")?),
        organisation: OrganisationId::new(get_i64(row, "organisation_id")?),
    })
}

/// The columns a session list needs, over `supervision_sessions s`.
const SUMMARY_COLUMNS: &str = "s.id, s.held_on, s.next_on, s.worker_id, s.supervisor_id, \
     s.organisation_id, w.display_name AS worker, v.display_name AS supervisor, \
     (SELECT COUNT(*) FROM supervision_actions a WHERE a.session_id = s.id AND a.done_on IS NULL) \
     AS open_actions FROM supervision_sessions s JOIN users w ON w.id = s.worker_id \
     JOIN users v ON v.id = s.supervisor_id";

fn summary_of(row: &AnyRow) -> Result<SessionSummary, StoreError> {
    Ok(SessionSummary {
        id: get_i64(row, "id")?,
        held_on: get_date(row, "held_on")?,
        worker: row.try_get("worker")?,
        supervisor: row.try_get("supervisor")?,
        next_on: opt_date(row, "next_on")?,
        open_actions: get_i64(row, "open_actions")?,
    })
}

/// The organisation ids as a list of bound parameters starting at `$first`.
fn in_list(first: usize, orgs: &[OrganisationId]) -> IdList {
    IdList::new(first, orgs.iter().map(|o| o.get()))
}

fn training_of(row: &AnyRow, today: NaiveDate) -> Result<TrainingRecord, StoreError> {
    let kind_text: String = row.try_get("kind")?;
    let kind = TrainingKind::from_code(&kind_text).ok_or(StoreError::Corrupt {
        column: "training_records.kind",
        detail: kind_text,
    })?;
    let cpd_hours = row
        .try_get::<Option<i64>, _>("cpd_tenths")?
        .map(|t| {
            u32::try_from(t)
                .ok()
                .and_then(|t| CpdHours::from_tenths(t).ok())
                .ok_or(StoreError::Corrupt {
                    column: "training_records.cpd_tenths",
                    detail: t.to_string(),
                })
        })
        .transpose()?;
    let expires_on = opt_date(row, "expires_on")?;
    Ok(TrainingRecord {
        id: get_i64(row, "id")?,
        kind,
        title: row.try_get("title")?,
        completed_on: get_date(row, "completed_on")?,
        expires_on,
        cpd_hours,
        status: training_status(expires_on, today),
        superseded: false,
        recorded_by: row.try_get("recorded_by_name")?,
    })
}

/// Marks the records a later one of the same course replaces.
fn mark_superseded(records: &mut [TrainingRecord]) {
    let flags = superseded(
        &records
            .iter()
            .map(|r| CourseDone {
                kind: r.kind,
                title: &r.title,
                completed: r.completed_on,
            })
            .collect::<Vec<_>>(),
    );
    for (r, s) in records.iter_mut().zip(flags) {
        r.superseded = s;
    }
}

const TRAINING_COLUMNS: &str = "t.id, t.user_id, t.kind, t.title, t.completed_on, t.expires_on, \
     t.cpd_tenths, r.display_name AS recorded_by_name FROM training_records t \
     JOIN users r ON r.id = t.recorded_by";

impl Store {
    async fn supervision_audit(
        &self,
        who: &Principal,
        action: AuditAction,
        entity: &'static str,
        entity_id: Option<i64>,
        reason: String,
    ) -> Result<(), StoreError> {
        audit_with(
            &self.pool,
            &AuditEvent {
                user: Some(who.user),
                action,
                entity,
                entity_id,
                reason,
            },
        )
        .await
    }

    /// The active account `user` as the policy sees them, with their name; `None` when there is
    /// no such active account.
    async fn staff_member(&self, user: UserId) -> Result<Option<(Principal, String)>, StoreError> {
        let row = sqlx::query("SELECT display_name FROM users WHERE id = $1 AND active = 1")
            .bind(user.get())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(Some((
                self.principal(user).await?,
                r.try_get("display_name")?,
            ))),
            None => Ok(None),
        }
    }

    /// The organisation under which `who` supervises `worker`, with the worker's name; a refusal
    /// (or an unknown account, in the same words) is audited as denied.
    async fn supervision_of(
        &self,
        who: &Principal,
        worker: UserId,
        what: &str,
    ) -> Result<(OrganisationId, String), ActionError> {
        let found = self.staff_member(worker).await?.and_then(|(p, name)| {
            supervising_organisation(who, &p).map(|organisation| (organisation, name))
        });
        match found {
            Some(ok) => Ok(ok),
            None => {
                self.supervision_audit(
                    who,
                    AuditAction::Denied,
                    SESSION_ENTITY,
                    None,
                    format!("supervision {what} for user {worker}: not their supervisor"),
                )
                .await?;
                Err(ActionError::Denied)
            }
        }
    }

    /// Records a session `who` held with `worker`. Only a supervisor of an organisation the worker
    /// belongs to may; the refusal is audited. The session and its actions are written with their
    /// audit row in one transaction.
    pub async fn record_supervision(
        &self,
        who: &Principal,
        worker: UserId,
        new: &NewSession,
    ) -> Result<i64, ActionError> {
        let (organisation, _) = self.supervision_of(who, worker, "record").await?;
        if new.next_on.is_some_and(|next| next <= new.held_on) {
            return Err(ActionError::refused(
                "The next session must be after this one".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO supervision_sessions (organisation_id, worker_id, supervisor_id, held_on, \
             caseload, wellbeing, development, next_on, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(organisation.get())
        .bind(worker.get())
        .bind(who.user.get())
        .bind(new.held_on.to_string())
        .bind(&new.caseload)
        .bind(&new.wellbeing)
        .bind(&new.development)
        .bind(new.next_on.map(|d| d.to_string()))
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        for a in &new.actions {
            sqlx::query(
                "INSERT INTO supervision_actions (session_id, text, due_on) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(&a.text)
            .bind(a.due_on.to_string())
            .execute(&mut *tx)
            .await?;
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Create,
                entity: SESSION_ENTITY,
                entity_id: Some(id),
                reason: format!(
                    "supervision of user {worker} for organisation {organisation} ({} actions)",
                    new.actions.len()
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The sessions `who` had as the worker, newest first. A non-empty list is audited as one
    /// `list` event naming the sessions.
    pub async fn my_supervision(&self, who: &Principal) -> Result<Vec<SessionSummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} WHERE s.worker_id = $1 ORDER BY s.held_on DESC, s.id DESC"
        ))
        .bind(who.user.get())
        .fetch_all(&self.pool)
        .await?;
        let mut seen = Vec::new();
        for r in &rows {
            if can_see_session(who, &session_facts(r)?).is_some() {
                seen.push(summary_of(r)?);
            }
        }
        self.audit_session_list(who, &seen, "own supervision")
            .await?;
        Ok(seen)
    }

    async fn audit_session_list(
        &self,
        who: &Principal,
        seen: &[SessionSummary],
        what: &str,
    ) -> Result<(), StoreError> {
        if seen.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = seen.iter().map(|s| s.id.to_string()).collect();
        self.supervision_audit(
            who,
            AuditAction::List,
            SESSION_ENTITY,
            None,
            format!("{what}: sessions {}", ids.join(",")),
        )
        .await
    }

    /// The staff `who` supervises (workers and supervisors of the organisations they supervise,
    /// not themselves), each with the latest session `who` held with them and the next one booked
    /// then. Empty for someone who supervises no one; otherwise audited as one `list` event.
    pub async fn supervisees(&self, who: &Principal) -> Result<Vec<Supervisee>, StoreError> {
        let orgs: Vec<OrganisationId> = who
            .memberships
            .iter()
            .filter(|m| m.role == careweave_domain::access::Role::Supervisor)
            .map(|m| m.organisation)
            .collect();
        if orgs.is_empty() {
            return Ok(Vec::new());
        }
        let ids = in_list(2, &orgs);
        let list = ids.placeholders();
        let latest =
            "FROM supervision_sessions s WHERE s.worker_id = u.id AND s.supervisor_id = $1 \
             ORDER BY s.held_on DESC, s.id DESC LIMIT 1";
        let rows = ids
            .bind(
                sqlx::query(&format!(
                    "SELECT u.id, u.display_name, (SELECT s.held_on {latest}) AS last_on, \
             (SELECT s.next_on {latest}) AS next_on FROM users u \
             WHERE u.active = 1 AND u.id <> $1 AND EXISTS (SELECT 1 FROM memberships m \
             WHERE m.user_id = u.id AND m.role IN ('worker', 'supervisor') \
             AND m.organisation_id IN ({list})) ORDER BY u.display_name, u.id"
                ))
                .bind(who.user.get()),
            )
            .fetch_all(&self.pool)
            .await?;
        let supervisees = rows
            .iter()
            .map(|r| {
                Ok(Supervisee {
                    user: UserId::new(get_i64(r, "id")?),
                    name: r.try_get("display_name")?,
                    last_on: opt_date(r, "last_on")?,
                    next_on: opt_date(r, "next_on")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.supervision_audit(
            who,
            AuditAction::List,
            SESSION_ENTITY,
            None,
            format!("supervisees ({} staff)", supervisees.len()),
        )
        .await?;
        Ok(supervisees)
    }

    /// The sessions `who` held with `worker`, newest first, for their supervisor only (refusals
    /// audited). Sessions another supervisor held are not shown: they are between that supervisor
    /// and the worker.
    pub async fn sessions_with(
        &self,
        who: &Principal,
        worker: UserId,
    ) -> Result<SuperviseeSessions, ActionError> {
        let (_, name) = self.supervision_of(who, worker, "list").await?;
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} WHERE s.worker_id = $1 AND s.supervisor_id = $2 \
             ORDER BY s.held_on DESC, s.id DESC"
        ))
        .bind(worker.get())
        .bind(who.user.get())
        .fetch_all(&self.pool)
        .await?;
        let mut sessions = Vec::new();
        for r in &rows {
            if can_see_session(who, &session_facts(r)?).is_some() {
                sessions.push(summary_of(r)?);
            }
        }
        self.audit_session_list(who, &sessions, &format!("supervision of user {worker}"))
            .await?;
        Ok(SuperviseeSessions {
            user: worker,
            name,
            sessions,
        })
    }

    /// Asks the policy about one session; a refusal (or a session that does not exist, in the
    /// same words) is audited as denied.
    async fn session_access(
        &self,
        who: &Principal,
        id: i64,
        what: &str,
    ) -> Result<SessionGrant, ActionError> {
        let row = sqlx::query(
            "SELECT worker_id, supervisor_id, organisation_id FROM supervision_sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let grant = match &row {
            Some(r) => can_see_session(who, &session_facts(r)?),
            None => None,
        };
        match grant {
            Some(g) => Ok(g),
            None => {
                self.supervision_audit(
                    who,
                    AuditAction::Denied,
                    SESSION_ENTITY,
                    Some(id),
                    format!("supervision session {what}: not its worker or its supervisor"),
                )
                .await?;
                Err(ActionError::Denied)
            }
        }
    }

    /// One session with its actions, for its worker or its supervisor, audited as a read.
    pub async fn supervision_session(
        &self,
        who: &Principal,
        id: i64,
    ) -> Result<SessionView, ActionError> {
        let grant = self.session_access(who, id, "read").await?;
        let r = sqlx::query(
            "SELECT s.*, w.display_name AS worker, v.display_name AS supervisor, \
             o.name AS organisation FROM supervision_sessions s JOIN users w ON w.id = s.worker_id \
             JOIN users v ON v.id = s.supervisor_id JOIN organisations o ON o.id = s.organisation_id \
             WHERE s.id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let actions = sqlx::query(
            "SELECT id, text, due_on, done_on FROM supervision_actions WHERE session_id = $1 \
             ORDER BY due_on, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|a| {
            Ok(SupervisionAction {
                id: get_i64(a, "id")?,
                text: a.try_get("text")?,
                due_on: get_date(a, "due_on")?,
                done_on: opt_date(a, "done_on")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let view = SessionView {
            id,
            worker_id: UserId::new(get_i64(&r, "worker_id")?),
            worker: r.try_get("worker")?,
            supervisor: r.try_get("supervisor")?,
            organisation: r.try_get("organisation")?,
            held_on: get_date(&r, "held_on")?,
            caseload: r.try_get("caseload")?,
            wellbeing: r.try_get("wellbeing")?,
            development: r.try_get("development")?,
            actions,
            next_on: opt_date(&r, "next_on")?,
            grant,
        };
        self.supervision_audit(
            who,
            AuditAction::Read,
            SESSION_ENTITY,
            Some(id),
            grant.code().to_owned(),
        )
        .await?;
        Ok(view)
    }

    /// Marks an agreed action done; the worker or the supervisor may, since either may be the
    /// one who does it. Audited as an update of the session.
    pub async fn supervision_action_done(
        &self,
        who: &Principal,
        session: i64,
        action: i64,
        on: NaiveDate,
    ) -> Result<(), ActionError> {
        let grant = self.session_access(who, session, "action done").await?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE supervision_actions SET done_on = $1 WHERE id = $2 AND session_id = $3 \
             AND done_on IS NULL",
        )
        .bind(on.to_string())
        .bind(action)
        .bind(session)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ActionError::refused(
                "That action is already done, or is not on this session".to_owned(),
            ));
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: SESSION_ENTITY,
                entity_id: Some(session),
                reason: format!("action {action} done ({})", grant.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Asks the policy whether `who` may read and record `staff`'s training; a refusal (or an
    /// unknown account, in the same words) is audited as denied.
    async fn training_access(
        &self,
        who: &Principal,
        staff: UserId,
        what: &str,
    ) -> Result<(TrainingGrant, String), ActionError> {
        let found = self
            .staff_member(staff)
            .await?
            .and_then(|(p, name)| can_manage_training(who, &p).map(|g| (g, name)));
        match found {
            Some(ok) => Ok(ok),
            None => {
                self.supervision_audit(
                    who,
                    AuditAction::Denied,
                    TRAINING_ENTITY,
                    Some(staff.get()),
                    format!(
                        "training {what}: not the person, their supervisor or their organisation's admin"
                    ),
                )
                .await?;
                Err(ActionError::Denied)
            }
        }
    }

    /// A staff member's training records, newest first, with their status on `today`; audited as
    /// a read of their training.
    pub async fn training_for(
        &self,
        who: &Principal,
        staff: UserId,
        today: NaiveDate,
    ) -> Result<StaffTraining, ActionError> {
        let (grant, name) = self.training_access(who, staff, "read").await?;
        let mut records = sqlx::query(&format!(
            "SELECT {TRAINING_COLUMNS} WHERE t.user_id = $1 ORDER BY t.completed_on DESC, t.id DESC"
        ))
        .bind(staff.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| training_of(r, today))
        .collect::<Result<Vec<_>, StoreError>>()?;
        // Oldest first, so that of two records completed the same day the later one wins.
        records.reverse();
        mark_superseded(&mut records);
        records.reverse();
        self.supervision_audit(
            who,
            AuditAction::Read,
            TRAINING_ENTITY,
            Some(staff.get()),
            grant.code().to_owned(),
        )
        .await?;
        Ok(StaffTraining {
            user: staff,
            name,
            records,
            grant,
        })
    }

    /// Records a training record for `staff`, with its audit row in the same transaction.
    pub async fn record_training(
        &self,
        who: &Principal,
        staff: UserId,
        new: &NewTraining,
    ) -> Result<i64, ActionError> {
        let (grant, _) = self.training_access(who, staff, "record").await?;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO training_records (user_id, kind, title, completed_on, expires_on, \
             cpd_tenths, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING id",
        )
        .bind(staff.get())
        .bind(new.kind.code())
        .bind(&new.title)
        .bind(new.completed_on.to_string())
        .bind(new.expires_on.map(|d| d.to_string()))
        .bind(new.cpd_hours.map(|h| i64::from(h.tenths())))
        .bind(who.user.get())
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Create,
                entity: TRAINING_ENTITY,
                entity_id: Some(staff.get()),
                reason: format!("training record {id} ({})", grant.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The team view: every active member of the organisations `who` supervises or administers
    /// (themselves included), with their expired and soon-to-expire training. Refused to anyone
    /// else; audited as one `list` event.
    pub async fn team_training(
        &self,
        who: &Principal,
        today: NaiveDate,
    ) -> Result<Vec<TeamMemberTraining>, ActionError> {
        let orgs = training_team_organisations(who);
        if orgs.is_empty() {
            self.supervision_audit(
                who,
                AuditAction::Denied,
                TRAINING_ENTITY,
                None,
                "team training: not a supervisor or an admin".to_owned(),
            )
            .await?;
            return Err(ActionError::Denied);
        }
        let ids = in_list(1, &orgs);
        let list = ids.placeholders();
        let members = format!(
            "SELECT DISTINCT m.user_id FROM memberships m WHERE m.organisation_id IN ({list})"
        );
        let staff = ids
            .bind(sqlx::query(&format!(
            "SELECT u.id, u.display_name FROM users u WHERE u.active = 1 AND u.id IN ({members}) \
             ORDER BY u.display_name, u.id"
        )))
            .fetch_all(&self.pool)
            .await?;
        let rows = ids
            .bind(sqlx::query(&format!(
                "SELECT {TRAINING_COLUMNS} WHERE t.user_id IN ({members}) \
             ORDER BY t.user_id, t.completed_on, t.id"
            )))
            .fetch_all(&self.pool)
            .await?;
        let mut by_user: std::collections::HashMap<i64, Vec<TrainingRecord>> =
            std::collections::HashMap::new();
        for r in &rows {
            by_user
                .entry(get_i64(r, "user_id")?)
                .or_default()
                .push(training_of(r, today)?);
        }
        let mut team = Vec::with_capacity(staff.len());
        for s in &staff {
            let id = get_i64(s, "id")?;
            let mut records = by_user.remove(&id).unwrap_or_default();
            mark_superseded(&mut records);
            let (mut attention, current): (Vec<_>, Vec<_>) = records
                .into_iter()
                .filter(|r| !r.superseded)
                .partition(|r| r.status != TrainingStatus::Current);
            attention.sort_by_key(|r| r.expires_on);
            team.push(TeamMemberTraining {
                user: UserId::new(id),
                name: s.try_get("display_name")?,
                attention,
                current: current.len(),
            });
        }
        self.supervision_audit(
            who,
            AuditAction::List,
            TRAINING_ENTITY,
            None,
            format!("team training ({} staff)", team.len()),
        )
        .await?;
        Ok(team)
    }
}
