//! MDT meetings: a meeting held by a team (the staff who work a casework service, across
//! employers) or by a GP practice, its core members and invited others, an agenda built from the
//! lists the team chose plus cases added by hand, and per case the discussion, the decision, how and
//! when the person was told, and the actions with owners. Two flags a worker sets on a case
//! ("worried about", "discharged from hospital") feed two of the lists.
//!
//! Access has two layers. Seeing a meeting at all is [`can_see_meeting`] (workers and supervisors
//! of the host's organisations, and core members). Each agenda case is then shown with its
//! details only to a viewer whom the access door ([`crate::access`]) allows for that person; anyone else sees that
//! an item exists and why it is on the agenda, never who it is. Adding a case (by hand or from a
//! list) and recording an outcome need the right to change the case (any grant but a referrer's),
//! so nobody can put a stranger's case on an agenda to read it. Every read, list, write and
//! refusal writes an audit row (entity [`ENTITY`] or [`FLAG_ENTITY`]); writes do so in the same
//! transaction.

mod agenda;
mod case_flags;

use careweave_domain::access::{Decision, Grant, Principal, Role};
use careweave_domain::casework::CaseId;
use careweave_domain::mdt::{
    can_plan_meeting, can_see_meeting, AgendaList, AgendaReason, CaseFlagKind, MeetingFacts,
    MeetingGrant, MeetingHost, MeetingId, ToldHow, RECENT_HOSPITAL_DISCHARGE_DAYS,
};
use careweave_domain::{OrganisationId, OrganisationKind, PersonId, ServiceId, UserId};
use chrono::{NaiveDate, NaiveTime};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::change::{change_audited, opt_date, ActionError, Bind};
use crate::{get_date, get_i64, now_text, Store, StoreError};

/// The audit log's name for meetings and everything on them.
pub const ENTITY: &str = "mdt_meeting";
/// The audit log's name for the flags on a case.
pub const FLAG_ENTITY: &str = "mdt_case_flag";

/// A meeting as it is planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMeeting {
    pub title: String,
    pub host: MeetingHost,
    pub held_on: NaiveDate,
    pub starts_at: NaiveTime,
    pub location: String,
    pub lists: Vec<AgendaList>,
    /// The population worklist's cohort; required when `lists` holds [`AgendaList::Worklist`].
    pub cohort: Option<String>,
    /// Core members: careweave accounts.
    pub core_members: Vec<UserId>,
}

/// Someone invited to a meeting, often from outside careweave, recorded by name and organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    pub name: String,
    pub organisation: String,
    pub role: String,
}

/// A member of a meeting as the page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub organisation: String,
    pub role: String,
    pub core: bool,
}

/// A host a worker may plan a meeting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostChoice {
    pub host: MeetingHost,
    pub name: String,
}

/// An account that may be a core member, with the organisations it works for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffChoice {
    pub user: UserId,
    pub name: String,
    pub organisations: String,
    /// The account's clinical roles in words, recorded as a core member's role.
    pub roles: String,
}

/// A meeting in a list: nothing about the people discussed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingSummary {
    pub id: MeetingId,
    pub title: String,
    pub host_name: String,
    pub held_on: NaiveDate,
    pub starts_at: String,
    pub location: String,
    pub cases: i64,
}

/// An action agreed for a case at a meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdtAction {
    pub id: i64,
    pub text: String,
    pub owner: String,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
}

/// An agreed action as it is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMdtAction {
    pub text: String,
    /// Who will do it, in words: often someone outside careweave.
    pub owner: String,
    pub due_on: NaiveDate,
}

/// How and when the person was told the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Told {
    pub how: ToldHow,
    pub on: NaiveDate,
}

/// The record of one case's discussion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub discussion: String,
    pub decision: String,
    /// `None` until the person has been told.
    pub told: Option<Told>,
}

/// What a viewer allowed to read the person sees of one agenda item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemDetail {
    pub case: CaseId,
    pub person_name: String,
    pub service_name: String,
    pub outcome: Outcome,
    pub actions: Vec<MdtAction>,
    /// Whether the viewer may record the outcome (anyone who may change the case).
    pub can_record: bool,
}

/// One case on a meeting's agenda. `detail` is `None` for a viewer the access policy refuses for
/// that person: they see only that the item exists and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaItem {
    pub id: i64,
    pub reasons: Vec<AgendaReason>,
    pub detail: Option<ItemDetail>,
}

/// Everything on a meeting for a viewer allowed to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingView {
    pub id: MeetingId,
    pub title: String,
    pub host: MeetingHost,
    pub host_name: String,
    pub held_on: NaiveDate,
    pub starts_at: String,
    pub location: String,
    pub lists: Vec<AgendaList>,
    pub cohort: Option<String>,
    pub members: Vec<Member>,
    pub items: Vec<AgendaItem>,
    pub grant: MeetingGrant,
}

/// What building the agenda from the lists did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BuildReport {
    /// Cases put on the agenda for the first time.
    pub added: usize,
    /// Cases already on it (their reasons were brought up to date).
    pub already: usize,
    /// Matching cases the builder may not read, left off: someone in their care should add them.
    pub outside_access: usize,
}

/// A meeting a case went to, for the case page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseMeeting {
    pub meeting: MeetingId,
    pub title: String,
    pub held_on: NaiveDate,
    pub reasons: Vec<AgendaReason>,
    pub decision: String,
    pub told: Option<Told>,
    /// Whether the viewer may open the meeting itself. Someone in the case's care team may not be
    /// in the team that held it (a meeting of another service the person is also known to), so
    /// the case shows the decision about this case but links only to meetings the viewer can see.
    pub can_open: bool,
}

/// A flag on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFlag {
    pub id: i64,
    pub kind: CaseFlagKind,
    pub noted_on: NaiveDate,
    pub reason: String,
    pub set_by: String,
}

/// A flag as a worker sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCaseFlag {
    pub kind: CaseFlagKind,
    /// The day the worker became worried, or the day the person left hospital; never in the future.
    pub noted_on: NaiveDate,
    pub reason: String,
}

/// The MDT side of a case: the meetings it went to and its current flags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseMdt {
    pub meetings: Vec<CaseMeeting>,
    pub flags: Vec<CaseFlag>,
}

fn reasons_of(text: &str) -> Result<Vec<AgendaReason>, StoreError> {
    text.split(',')
        .filter(|c| !c.is_empty())
        .map(|c| {
            AgendaReason::from_code(c).ok_or(StoreError::Corrupt {
                column: "mdt_items.reasons",
                detail: c.to_owned(),
            })
        })
        .collect()
}

fn reasons_text(reasons: &[AgendaReason]) -> String {
    reasons
        .iter()
        .map(|r| r.code())
        .collect::<Vec<_>>()
        .join(",")
}

fn told_of(row: &AnyRow) -> Result<Option<Told>, StoreError> {
    let how = row.try_get::<Option<String>, _>("told_how")?;
    match (how, opt_date(row, "told_on")?) {
        (Some(how), Some(on)) => Ok(Some(Told {
            how: ToldHow::from_code(&how).ok_or(StoreError::Corrupt {
                column: "mdt_items.told_how",
                detail: how,
            })?,
            on,
        })),
        _ => Ok(None),
    }
}

fn host_of(row: &AnyRow) -> Result<MeetingHost, StoreError> {
    match (
        row.try_get::<Option<i64>, _>("service_id")?,
        row.try_get::<Option<i64>, _>("practice_id")?,
    ) {
        (Some(s), None) => Ok(MeetingHost::Team(ServiceId::new(s))),
        (None, Some(p)) => Ok(MeetingHost::Practice(OrganisationId::new(p))),
        _ => Err(StoreError::Corrupt {
            column: "mdt_meetings.host",
            detail: "not exactly one host".to_owned(),
        }),
    }
}

/// A meeting's columns with its host's name.
const MEETING_FROM: &str =
    "m.*, COALESCE(s.name || ' team', o.name) AS host_name FROM mdt_meetings m \
     LEFT JOIN services s ON s.id = m.service_id LEFT JOIN organisations o ON o.id = m.practice_id";

/// A meeting's line in a list, from a row of `MEETING_FROM` with its count of `cases`.
fn meeting_summary(r: &AnyRow) -> Result<MeetingSummary, StoreError> {
    Ok(MeetingSummary {
        id: MeetingId::new(get_i64(r, "id")?),
        title: r.try_get("title")?,
        host_name: r.try_get("host_name")?,
        held_on: get_date(r, "held_on")?,
        starts_at: r.try_get("starts_at")?,
        location: r.try_get("location")?,
        cases: get_i64(r, "cases")?,
    })
}

impl Store {
    /// Audits a refusal and returns the error to give: `Denied`, or the store's error if the
    /// audit row could not be written.
    async fn refuse(
        &self,
        who: &Principal,
        entity: &'static str,
        id: Option<i64>,
        reason: String,
    ) -> ActionError {
        match self
            .mdt_audit(who, AuditAction::Denied, entity, id, reason)
            .await
        {
            Ok(()) => ActionError::Denied,
            Err(e) => e.into(),
        }
    }

    async fn mdt_audit(
        &self,
        who: &Principal,
        action: AuditAction,
        entity: &'static str,
        id: Option<i64>,
        reason: String,
    ) -> Result<(), StoreError> {
        audit_with(
            &self.pool,
            &AuditEvent {
                user: Some(who.user),
                action,
                entity,
                entity_id: id,
                reason,
            },
        )
        .await
    }

    /// The organisations that hold a meeting for `host`.
    async fn host_organisations(
        &self,
        host: MeetingHost,
    ) -> Result<Vec<OrganisationId>, StoreError> {
        match host {
            MeetingHost::Practice(p) => Ok(vec![p]),
            MeetingHost::Team(service) => {
                let rows = sqlx::query(
                    "SELECT provider_id AS org FROM services WHERE id = $1 \
                     UNION SELECT organisation_id FROM casework_service_partners WHERE service_id = $1",
                )
                .bind(service.get())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok(OrganisationId::new(get_i64(r, "org")?)))
                    .collect()
            }
        }
    }

    async fn meeting_facts(
        &self,
        id: MeetingId,
    ) -> Result<Option<(MeetingHost, MeetingFacts)>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT service_id, practice_id FROM mdt_meetings WHERE id = $1")
                .bind(id.get())
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let host = host_of(&row)?;
        let core_members = sqlx::query(
            "SELECT user_id FROM mdt_members WHERE meeting_id = $1 AND core = 1 AND user_id IS NOT NULL",
        )
        .bind(id.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok(UserId::new(get_i64(r, "user_id")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some((
            host,
            MeetingFacts {
                organisations: self.host_organisations(host).await?,
                core_members,
            },
        )))
    }

    /// Asks the policy about one meeting; a refusal (or a meeting that does not exist, in the same
    /// words) is audited as denied.
    async fn meeting_access(
        &self,
        who: &Principal,
        id: MeetingId,
        what: &str,
    ) -> Result<(MeetingHost, MeetingGrant), ActionError> {
        let allowed = self
            .meeting_facts(id)
            .await?
            .and_then(|(host, facts)| can_see_meeting(who, &facts).map(|g| (host, g)));
        match allowed {
            Some(ok) => Ok(ok),
            None => Err(self
                .refuse(
                    who,
                    ENTITY,
                    Some(id.get()),
                    format!("mdt {what}: not of the host organisations nor a core member"),
                )
                .await),
        }
    }

    /// The person on a case and the grant that lets `who` change it (any but a referrer's), or
    /// `None` when the case does not exist or the policy refuses.
    pub(crate) async fn changeable_case(
        &self,
        who: &Principal,
        case: CaseId,
    ) -> Result<Option<(PersonId, Grant)>, StoreError> {
        let Some(row) = sqlx::query("SELECT person_id FROM casework_cases WHERE id = $1")
            .bind(case.get())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let person = PersonId::new(get_i64(&row, "person_id")?);
        Ok(match self.person_decision(who, person).await?.0 {
            Decision::Allow(g) => Some((person, g)),
            _ => None,
        })
    }

    /// The hosts `who` may plan a meeting for: the casework services whose provider or partner
    /// employs them, and the GP practices they work in.
    pub async fn meeting_hosts(&self, who: &Principal) -> Result<Vec<HostChoice>, StoreError> {
        let mut out = Vec::new();
        for s in self.casework_services().await? {
            if can_plan_meeting(who, &s.organisations()) {
                out.push(HostChoice {
                    host: MeetingHost::Team(s.id),
                    name: format!("{} team", s.name),
                });
            }
        }
        for o in self.organisations().await? {
            if o.kind == OrganisationKind::GpPractice && can_plan_meeting(who, &[o.id]) {
                out.push(HostChoice {
                    host: MeetingHost::Practice(o.id),
                    name: o.name.clone(),
                });
            }
        }
        Ok(out)
    }

    /// The accounts that may be core members: everyone who holds a worker or supervisor role.
    pub async fn core_member_choices(&self) -> Result<Vec<StaffChoice>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.display_name, o.name AS org, m.role FROM users u \
             JOIN memberships m ON m.user_id = u.id JOIN organisations o ON o.id = m.organisation_id \
             WHERE u.active = 1 AND m.role IN ($1, $2) ORDER BY u.display_name, u.id, o.name",
        )
        .bind(Role::Worker.code())
        .bind(Role::Supervisor.code())
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<StaffChoice> = Vec::new();
        for r in &rows {
            let user = UserId::new(get_i64(r, "id")?);
            let org: String = r.try_get("org")?;
            let role = Role::from_code(&r.try_get::<String, _>("role")?).map_or("", Role::label);
            match out.last_mut() {
                Some(last) if last.user == user => {
                    if !last.organisations.split(", ").any(|o| o == org) {
                        last.organisations = format!("{}, {org}", last.organisations);
                    }
                    if !last.roles.split(", ").any(|r| r == role) {
                        last.roles = format!("{}, {role}", last.roles);
                    }
                }
                _ => out.push(StaffChoice {
                    user,
                    name: r.try_get("display_name")?,
                    organisations: org,
                    roles: role.to_owned(),
                }),
            }
        }
        Ok(out)
    }

    /// Plans a meeting with its core members. Workers and supervisors of the host's organisations
    /// may; the refusal is audited.
    pub async fn plan_meeting(
        &self,
        who: &Principal,
        new: &NewMeeting,
    ) -> Result<MeetingId, ActionError> {
        if !can_plan_meeting(who, &self.host_organisations(new.host).await?) {
            return Err(self
                .refuse(
                    who,
                    ENTITY,
                    None,
                    "mdt plan: not of the host organisations".to_owned(),
                )
                .await);
        }
        if new.lists.contains(&AgendaList::Worklist) && new.cohort.is_none() {
            return Err(ActionError::refused(
                "Choose the population worklist the agenda should draw on".to_owned(),
            ));
        }
        let staff = self.core_member_choices().await?;
        let mut tx = self.pool.begin().await?;
        let (service, practice) = match new.host {
            MeetingHost::Team(s) => (Some(s.get()), None),
            MeetingHost::Practice(p) => (None, Some(p.get())),
        };
        let row = sqlx::query(
            "INSERT INTO mdt_meetings (title, service_id, practice_id, held_on, starts_at, location, \
             lists, cohort, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING id",
        )
        .bind(&new.title)
        .bind(service)
        .bind(practice)
        .bind(new.held_on.to_string())
        .bind(new.starts_at.format("%H:%M").to_string())
        .bind(&new.location)
        .bind(
            new.lists
                .iter()
                .map(|l| l.code())
                .collect::<Vec<_>>()
                .join(","),
        )
        .bind(new.cohort.clone())
        .bind(who.user.get())
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        let id = MeetingId::new(get_i64(&row, "id")?);
        for user in &new.core_members {
            let Some(s) = staff.iter().find(|s| s.user == *user) else {
                return Err(ActionError::refused(
                    "Core members must be workers or supervisors with a careweave account"
                        .to_owned(),
                ));
            };
            sqlx::query(
                "INSERT INTO mdt_members (meeting_id, user_id, name, organisation, role, core) \
                 VALUES ($1, $2, $3, $4, $5, 1)",
            )
            .bind(id.get())
            .bind(user.get())
            .bind(&s.name)
            .bind(&s.organisations)
            .bind(&s.roles)
            .execute(&mut *tx)
            .await?;
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Create,
                entity: ENTITY,
                entity_id: Some(id.get()),
                reason: format!("planned ({} core members)", new.core_members.len()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records someone invited to the meeting, by name, organisation and role.
    pub async fn invite_to_meeting(
        &self,
        who: &Principal,
        id: MeetingId,
        invitee: &Invitee,
    ) -> Result<(), ActionError> {
        let (_, grant) = self.meeting_access(who, id, "invite").await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO mdt_members (meeting_id, user_id, name, organisation, role, core) \
             VALUES ($1, NULL, $2, $3, $4, 0)",
        )
        .bind(id.get())
        .bind(&invitee.name)
        .bind(&invitee.organisation)
        .bind(&invitee.role)
        .execute(&mut *tx)
        .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: ENTITY,
                entity_id: Some(id.get()),
                reason: format!("invited someone ({})", grant.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The meetings `who` may see, soonest first from `today` and then the past, newest first.
    /// A list names no one, so it is not audited.
    pub async fn meetings_for(
        &self,
        who: &Principal,
        today: NaiveDate,
    ) -> Result<(Vec<MeetingSummary>, Vec<MeetingSummary>), StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT (SELECT COUNT(*) FROM mdt_items i WHERE i.meeting_id = m.id) AS cases, \
             {MEETING_FROM} ORDER BY m.held_on, m.starts_at, m.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        // Every meeting's access facts from two more queries, not a round trip per meeting: each
        // (meeting, organisation) pair of the hosts, and each (meeting, core member).
        let pairs = |sql: &'static str| async move {
            sqlx::query(sql)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((get_i64(r, "meeting_id")?, get_i64(r, "other")?)))
                .collect::<Result<Vec<(i64, i64)>, StoreError>>()
        };
        let host_orgs = pairs(
            "SELECT m.id AS meeting_id, m.practice_id AS other FROM mdt_meetings m \
             WHERE m.practice_id IS NOT NULL \
             UNION SELECT m.id, s.provider_id FROM mdt_meetings m JOIN services s ON s.id = m.service_id \
             UNION SELECT m.id, p.organisation_id FROM mdt_meetings m \
             JOIN casework_service_partners p ON p.service_id = m.service_id",
        )
        .await?;
        let core = pairs(
            "SELECT meeting_id, user_id AS other FROM mdt_members \
             WHERE core = 1 AND user_id IS NOT NULL",
        )
        .await?;
        let (mut upcoming, mut past) = (Vec::new(), Vec::new());
        for r in &rows {
            let id = MeetingId::new(get_i64(r, "id")?);
            let of = |list: &[(i64, i64)]| {
                list.iter()
                    .filter(|(m, _)| *m == id.get())
                    .map(|(_, o)| *o)
                    .collect::<Vec<_>>()
            };
            let facts = MeetingFacts {
                organisations: of(&host_orgs)
                    .into_iter()
                    .map(OrganisationId::new)
                    .collect(),
                core_members: of(&core).into_iter().map(UserId::new).collect(),
            };
            if can_see_meeting(who, &facts).is_none() {
                continue;
            }
            let m = meeting_summary(r)?;
            if m.held_on >= today {
                upcoming.push(m);
            } else {
                past.push(m);
            }
        }
        past.reverse();
        Ok((upcoming, past))
    }

    /// The meetings from `from` to `to` (both included) that `user` is a core member of, in
    /// date and time order: the diary's meetings. A core member may always see their meeting
    /// (`domain::mdt::can_see_meeting`), and a list names no one, so it needs no other check.
    pub(crate) async fn meetings_attending(
        &self,
        user: UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<MeetingSummary>, StoreError> {
        sqlx::query(&format!(
            "SELECT (SELECT COUNT(*) FROM mdt_items i WHERE i.meeting_id = m.id) AS cases, \
             {MEETING_FROM} WHERE m.held_on >= $2 AND m.held_on <= $3 AND EXISTS (SELECT 1 \
             FROM mdt_members k WHERE k.meeting_id = m.id AND k.user_id = $1 AND k.core = 1) \
             ORDER BY m.held_on, m.starts_at, m.id"
        ))
        .bind(user.get())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(meeting_summary)
        .collect()
    }

    /// One meeting with its members and agenda, through the policy. The meeting read is audited,
    /// and so is the list of cases whose details were shown (and how many were withheld).
    pub async fn meeting_for(
        &self,
        who: &Principal,
        id: MeetingId,
    ) -> Result<MeetingView, ActionError> {
        let (host, grant) = self.meeting_access(who, id, "read").await?;
        let m = sqlx::query(&format!("SELECT {MEETING_FROM} WHERE m.id = $1"))
            .bind(id.get())
            .fetch_one(&self.pool)
            .await?;
        let members = sqlx::query(
            "SELECT name, organisation, role, core FROM mdt_members WHERE meeting_id = $1 \
             ORDER BY core DESC, name, id",
        )
        .bind(id.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Member {
                name: r.try_get("name")?,
                organisation: r.try_get("organisation")?,
                role: r.try_get("role")?,
                core: get_i64(r, "core")? == 1,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let rows = sqlx::query(
            "SELECT i.*, c.person_id, p.given_name, p.family_name, s.name AS service_name \
             FROM mdt_items i JOIN casework_cases c ON c.id = i.case_id \
             JOIN people p ON p.id = c.person_id JOIN services s ON s.id = c.service_id \
             WHERE i.meeting_id = $1 ORDER BY i.id",
        )
        .bind(id.get())
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        let (mut shown, mut withheld) = (Vec::new(), 0usize);
        for r in &rows {
            let item = get_i64(r, "id")?;
            let person = PersonId::new(get_i64(r, "person_id")?);
            let detail = match self.person_decision(who, person).await?.0 {
                Decision::Allow(g) => {
                    let case = CaseId::new(get_i64(r, "case_id")?);
                    shown.push(format!("{case} ({})", g.code()));
                    let family: String = r.try_get("family_name")?;
                    let given: String = r.try_get("given_name")?;
                    Some(ItemDetail {
                        case,
                        person_name: format!("{}, {given}", family.to_uppercase()),
                        service_name: r.try_get("service_name")?,
                        outcome: Outcome {
                            discussion: r.try_get("discussion")?,
                            decision: r.try_get("decision")?,
                            told: told_of(r)?,
                        },
                        actions: self.item_actions(item).await?,
                        can_record: true,
                    })
                }
                Decision::Deny => {
                    withheld += 1;
                    None
                }
            };
            items.push(AgendaItem {
                id: item,
                reasons: reasons_of(&r.try_get::<String, _>("reasons")?)?,
                detail,
            });
        }
        let lists = m
            .try_get::<String, _>("lists")?
            .split(',')
            .filter_map(AgendaList::from_code)
            .collect();
        let view = MeetingView {
            id,
            title: m.try_get("title")?,
            host,
            host_name: m.try_get("host_name")?,
            held_on: get_date(&m, "held_on")?,
            starts_at: m.try_get("starts_at")?,
            location: m.try_get("location")?,
            lists,
            cohort: m.try_get("cohort")?,
            members,
            items,
            grant,
        };
        self.mdt_audit(
            who,
            AuditAction::Read,
            ENTITY,
            Some(id.get()),
            grant.code().to_owned(),
        )
        .await?;
        if !rows.is_empty() {
            self.mdt_audit(
                who,
                AuditAction::List,
                ENTITY,
                Some(id.get()),
                format!(
                    "agenda cases shown: {}; withheld: {withheld}",
                    if shown.is_empty() {
                        "none".to_owned()
                    } else {
                        shown.join(", ")
                    }
                ),
            )
            .await?;
        }
        Ok(view)
    }
}
