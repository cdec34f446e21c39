//! MDT meetings: a meeting held by a team (the staff who work a casework service, across
//! employers) or by a GP practice, its core members and invited others, an agenda built from the
//! lists the team chose plus cases added by hand, and per case the discussion, the decision, how and
//! when the person was told, and the actions with owners. Two flags a worker sets on a case
//! ("worried about", "discharged from hospital") feed two of the lists.
//!
//! Access has two layers. Seeing a meeting at all is [`can_see_meeting`] (workers and supervisors
//! of the host's organisations, and core members). Each agenda case is then shown with its
//! details only to a viewer whom [`can_read_person`] allows for that person; anyone else sees that
//! an item exists and why it is on the agenda, never who it is. Adding a case (by hand or from a
//! list) and recording an outcome need the right to change the case (any grant but a referrer's),
//! so nobody can put a stranger's case on an agenda to read it. Every read, list, write and
//! refusal writes an audit row (entity [`ENTITY`] or [`FLAG_ENTITY`]); writes do so in the same
//! transaction.

use careweave_domain::access::{can_read_person, Decision, Grant, Principal, Role};
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
use crate::change::{change_audited, ActionError, Bind};
use crate::{get_date, get_i64, now_text, parse_date, Store, StoreError};

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

fn opt_date(row: &AnyRow, column: &'static str) -> Result<Option<NaiveDate>, StoreError> {
    row.try_get::<Option<String>, _>(column)?
        .map(|d| parse_date(column, &d))
        .transpose()
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
        Ok(
            match can_read_person(who, &self.care_facts(person).await?) {
                Decision::Allow(g) => Some((person, g)),
                _ => None,
            },
        )
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
            return Err(ActionError::Refused(
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
                return Err(ActionError::Refused(
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
            let m = MeetingSummary {
                id,
                title: r.try_get("title")?,
                host_name: r.try_get("host_name")?,
                held_on: get_date(r, "held_on")?,
                starts_at: r.try_get("starts_at")?,
                location: r.try_get("location")?,
                cases: get_i64(r, "cases")?,
            };
            if m.held_on >= today {
                upcoming.push(m);
            } else {
                past.push(m);
            }
        }
        past.reverse();
        Ok((upcoming, past))
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
            let detail = match can_read_person(who, &self.care_facts(person).await?) {
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

    /// One agenda case of a meeting, for a viewer allowed to read its person; a viewer the policy
    /// refuses for that person is refused here too, and the refusal is audited.
    pub async fn agenda_item(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
    ) -> Result<(MeetingView, AgendaItem), ActionError> {
        let view = self.meeting_for(who, id).await?;
        let found = view
            .items
            .iter()
            .find(|i| i.id == item)
            .cloned()
            .ok_or(ActionError::NotFound("agenda item"))?;
        if found.detail.is_none() {
            return Err(self
                .refuse(
                    who,
                    ENTITY,
                    Some(id.get()),
                    format!("mdt open item {item}: no care relationship"),
                )
                .await);
        }
        Ok((view, found))
    }

    async fn item_actions(&self, item: i64) -> Result<Vec<MdtAction>, StoreError> {
        sqlx::query(
            "SELECT id, text, owner, due_on, done_on FROM mdt_actions WHERE item_id = $1 \
             ORDER BY due_on, id",
        )
        .bind(item)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|a| {
            Ok(MdtAction {
                id: get_i64(a, "id")?,
                text: a.try_get("text")?,
                owner: a.try_get("owner")?,
                due_on: get_date(a, "due_on")?,
                done_on: opt_date(a, "done_on")?,
            })
        })
        .collect()
    }

    /// Puts `case` on the agenda for `reason`, or adds the reason to the item already there.
    /// Returns whether the case is new to the agenda. The caller has checked access and audits.
    async fn put_on_agenda(
        &self,
        who: &Principal,
        id: MeetingId,
        case: CaseId,
        reason: AgendaReason,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<bool, StoreError> {
        let existing =
            sqlx::query("SELECT id, reasons FROM mdt_items WHERE meeting_id = $1 AND case_id = $2")
                .bind(id.get())
                .bind(case.get())
                .fetch_optional(&mut **tx)
                .await?;
        match existing {
            Some(r) => {
                let mut reasons = reasons_of(&r.try_get::<String, _>("reasons")?)?;
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                    reasons.sort();
                    sqlx::query("UPDATE mdt_items SET reasons = $2 WHERE id = $1")
                        .bind(get_i64(&r, "id")?)
                        .bind(reasons_text(&reasons))
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(false)
            }
            None => {
                sqlx::query(
                    "INSERT INTO mdt_items (meeting_id, case_id, reasons, added_by, added_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id.get())
                .bind(case.get())
                .bind(reason.code())
                .bind(who.user.get())
                .bind(now_text())
                .execute(&mut **tx)
                .await?;
                Ok(true)
            }
        }
    }

    /// Adds a case to the agenda by hand. The adder must be allowed to change the case, so that no
    /// one can put a stranger's case on an agenda to read it there.
    pub async fn add_case_to_meeting(
        &self,
        who: &Principal,
        id: MeetingId,
        case: CaseId,
    ) -> Result<(), ActionError> {
        let (_, grant) = self.meeting_access(who, id, "add case").await?;
        if self.changeable_case(who, case).await?.is_none() {
            self.mdt_audit(
                who,
                AuditAction::Denied,
                ENTITY,
                Some(id.get()),
                format!("mdt add case {case}: may not change this case"),
            )
            .await?;
            return Err(ActionError::Refused(
                "You can only add cases you work on or supervise: ask the case's lead worker to add it"
                    .to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let new = self
            .put_on_agenda(who, id, case, AgendaReason::ByHand, &mut tx)
            .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: ENTITY,
                entity_id: Some(id.get()),
                reason: format!(
                    "case {case} added by hand{} ({})",
                    if new { "" } else { " (already on the agenda)" },
                    grant.code()
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The active cases in the host's scope that `list` picks for a meeting on `held_on` whose
    /// agenda is built on `from`: (case, person). A team's scope is its service's cases; a practice's, the cases of people
    /// registered with it.
    async fn list_matches(
        &self,
        host: MeetingHost,
        list: AgendaList,
        from: NaiveDate,
        held_on: NaiveDate,
        cohort: Option<&str>,
    ) -> Result<Vec<(CaseId, PersonId)>, StoreError> {
        let (scope, host_id) = match host {
            MeetingHost::Team(s) => ("c.service_id = $1", s.get()),
            MeetingHost::Practice(p) => ("p.registered_practice_id = $1", p.get()),
        };
        // Each list's condition, with the text values it binds as $2, $3, …
        let (condition, binds): (&str, Vec<String>) = match list {
            // High risk: the referral was urgent or flagged a safeguarding risk or a recent crisis,
            // or a safeguarding concern at high or immediate risk is open. The agenda shows only
            // "High risk", never which, because a concern is seen by fewer people than the case.
            AgendaList::HighRisk => (
                "(r.urgency = 'urgent' OR ',' || r.risk_flags || ',' LIKE '%,safeguarding,%' \
                 OR ',' || r.risk_flags || ',' LIKE '%,recent_crisis,%' \
                 OR EXISTS (SELECT 1 FROM safeguarding_concerns sc WHERE sc.case_id = c.id \
                 AND sc.status <> 'closed' AND sc.risk IN ('high', 'immediate')))",
                vec![],
            ),
            AgendaList::HospitalDischarge => (
                "EXISTS (SELECT 1 FROM mdt_case_flags f WHERE f.case_id = c.id \
                 AND f.kind = 'hospital_discharge' AND f.cleared_on IS NULL \
                 AND f.noted_on >= $2 AND f.noted_on <= $3)",
                vec![
                    (from - chrono::Duration::days(RECENT_HOSPITAL_DISCHARGE_DAYS)).to_string(),
                    held_on.to_string(),
                ],
            ),
            AgendaList::WorriedAbout => (
                "EXISTS (SELECT 1 FROM mdt_case_flags f WHERE f.case_id = c.id \
                 AND f.kind = 'worried_about' AND f.cleared_on IS NULL)",
                vec![],
            ),
            AgendaList::ReviewDue => ("c.review_due_on <= $2", vec![held_on.to_string()]),
            AgendaList::Worklist => match cohort {
                Some(cohort) => (
                    "p.nhs_number IN (SELECT w.nhs_number FROM population_worklist w \
                     WHERE w.cohort = $2 AND w.run_id = (SELECT MAX(id) FROM population_runs))",
                    vec![cohort.to_owned()],
                ),
                None => return Ok(Vec::new()),
            },
        };
        let sql = format!(
            "SELECT c.id, c.person_id FROM casework_cases c JOIN people p ON p.id = c.person_id \
             JOIN casework_referrals r ON r.id = c.referral_id \
             WHERE c.status <> 'discharged' AND {scope} AND {condition} ORDER BY c.id"
        );
        let mut q = sqlx::query(&sql).bind(host_id);
        for b in binds {
            q = q.bind(b);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    CaseId::new(get_i64(r, "id")?),
                    PersonId::new(get_i64(r, "person_id")?),
                ))
            })
            .collect()
    }

    /// Builds (or brings up to date) the agenda from the meeting's chosen lists. Only cases the
    /// builder may change are added; the others are counted, not named, so a supervisor or a
    /// worker on those cases can add them.
    ///
    /// "Recently discharged from hospital" counts discharges in the four weeks before the earlier
    /// of `today` and the meeting day, so an agenda built a week ahead still finds last week's.
    pub async fn build_agenda(
        &self,
        who: &Principal,
        id: MeetingId,
        today: NaiveDate,
    ) -> Result<BuildReport, ActionError> {
        let (host, grant) = self.meeting_access(who, id, "build agenda").await?;
        let m = sqlx::query("SELECT held_on, lists, cohort FROM mdt_meetings WHERE id = $1")
            .bind(id.get())
            .fetch_one(&self.pool)
            .await?;
        let held_on = get_date(&m, "held_on")?;
        let cohort: Option<String> = m.try_get("cohort")?;
        let lists: Vec<AgendaList> = m
            .try_get::<String, _>("lists")?
            .split(',')
            .filter_map(AgendaList::from_code)
            .collect();
        let mut picked: Vec<(CaseId, PersonId, AgendaList)> = Vec::new();
        for list in lists {
            for (case, person) in self
                .list_matches(host, list, held_on.min(today), held_on, cohort.as_deref())
                .await?
            {
                picked.push((case, person, list));
            }
        }
        // The policy is asked once per case, before the transaction opens.
        let mut report = BuildReport::default();
        let mut allowed: Vec<(CaseId, bool)> = Vec::new();
        for (case, person, _) in &picked {
            if allowed.iter().all(|(c, _)| c != case) {
                let may = matches!(
                    can_read_person(who, &self.care_facts(*person).await?),
                    Decision::Allow(_)
                );
                if !may {
                    report.outside_access += 1;
                }
                allowed.push((*case, may));
            }
        }
        let mut added: Vec<String> = Vec::new();
        let mut tx = self.pool.begin().await?;
        for (case, _, list) in picked {
            if !allowed.iter().any(|(c, may)| *c == case && *may) {
                continue;
            }
            let new = self
                .put_on_agenda(who, id, case, AgendaReason::List(list), &mut tx)
                .await?;
            if new {
                report.added += 1;
                added.push(case.to_string());
            }
        }
        report.already = allowed.iter().filter(|(_, may)| *may).count() - report.added;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: ENTITY,
                entity_id: Some(id.get()),
                reason: format!(
                    "agenda built from lists: added cases {}; {} outside the builder's access ({})",
                    if added.is_empty() {
                        "none".to_owned()
                    } else {
                        added.join(",")
                    },
                    report.outside_access,
                    grant.code()
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Checks that `item` is on meeting `id` and that `who` may see the meeting and change the
    /// item's case; returns the case and the grant for the audit row. Refusals are audited.
    async fn item_access(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
        what: &str,
    ) -> Result<(CaseId, Grant), ActionError> {
        self.meeting_access(who, id, what).await?;
        let case = sqlx::query("SELECT case_id FROM mdt_items WHERE id = $1 AND meeting_id = $2")
            .bind(item)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| get_i64(&r, "case_id").map(CaseId::new))
            .transpose()?;
        let allowed = match case {
            Some(case) => self
                .changeable_case(who, case)
                .await?
                .map(|(_, g)| (case, g)),
            None => None,
        };
        match allowed {
            Some(ok) => Ok(ok),
            None => Err(self
                .refuse(
                    who,
                    ENTITY,
                    Some(id.get()),
                    format!("mdt {what} on item {item}: may not change the case"),
                )
                .await),
        }
    }

    /// Runs one change to an agenda item after [`Store::item_access`], with its audit row in the
    /// same transaction. `sql` takes the item as `$1` and then `binds` (text or integers).
    async fn change_item(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
        (what, stale): (&str, &str),
        sql: &str,
        binds: Vec<Bind>,
    ) -> Result<(), ActionError> {
        let (case, grant) = self.item_access(who, id, item, what).await?;
        change_audited(
            &self.pool,
            sql,
            item,
            binds,
            stale,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: ENTITY,
                entity_id: Some(id.get()),
                reason: format!("case {case}: {what} ({})", grant.code()),
            },
        )
        .await
    }

    /// Records (or corrects) the discussion, the decision and how the person was told.
    pub async fn record_mdt_outcome(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
        outcome: &Outcome,
    ) -> Result<(), ActionError> {
        self.change_item(
            who,
            id,
            item,
            ("outcome recorded", "The outcome could not be saved"),
            "UPDATE mdt_items SET discussion = $2, decision = $3, told_how = $4, told_on = $5, \
             recorded_by = $6, recorded_at = $7 WHERE id = $1",
            vec![
                Bind::Text(outcome.discussion.clone()),
                Bind::Text(outcome.decision.clone()),
                Bind::OptText(outcome.told.map(|t| t.how.code().to_owned())),
                Bind::OptText(outcome.told.map(|t| t.on.to_string())),
                Bind::Int(who.user.get()),
                Bind::Text(now_text()),
            ],
        )
        .await
    }

    /// Adds an action agreed for a case, with its owner and due date.
    pub async fn add_mdt_action(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
        action: &NewMdtAction,
    ) -> Result<(), ActionError> {
        self.change_item(
            who,
            id,
            item,
            ("action added", "The action could not be added"),
            "INSERT INTO mdt_actions (item_id, text, owner, due_on, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Bind::Text(action.text.clone()),
                Bind::Text(action.owner.clone()),
                Bind::Text(action.due_on.to_string()),
                Bind::Int(who.user.get()),
                Bind::Text(now_text()),
            ],
        )
        .await
    }

    /// Marks one of an item's actions done.
    pub async fn complete_mdt_action(
        &self,
        who: &Principal,
        id: MeetingId,
        item: i64,
        action: i64,
        on: NaiveDate,
    ) -> Result<(), ActionError> {
        self.change_item(
            who,
            id,
            item,
            (
                "action done",
                "That action is already done or is not on this case",
            ),
            "UPDATE mdt_actions SET done_on = $2 WHERE item_id = $1 AND id = $3 AND done_on IS NULL",
            vec![Bind::Text(on.to_string()), Bind::Int(action)],
        )
        .await
    }

    /// The meetings a case went to and its current flags, for anyone who may change the case;
    /// others (a referrer following it) get nothing. A non-empty answer is audited as one list.
    pub async fn case_mdt(&self, who: &Principal, case: CaseId) -> Result<CaseMdt, ActionError> {
        if self.changeable_case(who, case).await?.is_none() {
            // Refused in the same words whether or not the case exists, and audited.
            return Err(self
                .refuse(
                    who,
                    "mdt_case_flag",
                    Some(case.get()),
                    format!("case {case} MDT history: no care relationship"),
                )
                .await);
        }
        Ok(self.case_mdt_rows(who, case).await?)
    }

    /// [`Store::case_mdt`] for a case already opened through the policy by [`Store::case_for`]:
    /// the view carries the decision (whether `who` may change the case), so the case page does
    /// not ask the policy a second time.
    pub async fn case_mdt_of(
        &self,
        who: &Principal,
        view: &crate::casework::CaseView,
    ) -> Result<CaseMdt, StoreError> {
        if !view.can_edit {
            return Ok(CaseMdt::default());
        }
        self.case_mdt_rows(who, view.id).await
    }

    async fn case_mdt_rows(&self, who: &Principal, case: CaseId) -> Result<CaseMdt, StoreError> {
        let mut meetings = sqlx::query(
            "SELECT m.id, m.title, m.held_on, i.reasons, i.decision, i.told_how, i.told_on \
             FROM mdt_items i JOIN mdt_meetings m ON m.id = i.meeting_id \
             WHERE i.case_id = $1 ORDER BY m.held_on DESC, m.id DESC",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(CaseMeeting {
                meeting: MeetingId::new(get_i64(r, "id")?),
                title: r.try_get("title")?,
                held_on: get_date(r, "held_on")?,
                reasons: reasons_of(&r.try_get::<String, _>("reasons")?)?,
                decision: r.try_get("decision")?,
                told: told_of(r)?,
                can_open: false,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        for m in &mut meetings {
            m.can_open = self
                .meeting_facts(m.meeting)
                .await?
                .is_some_and(|(_, facts)| can_see_meeting(who, &facts).is_some());
        }
        let flags = sqlx::query(
            "SELECT f.id, f.kind, f.noted_on, f.reason, u.display_name FROM mdt_case_flags f \
             JOIN users u ON u.id = f.set_by WHERE f.case_id = $1 AND f.cleared_on IS NULL \
             ORDER BY f.noted_on DESC, f.id DESC",
        )
        .bind(case.get())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(CaseFlag {
                id: get_i64(r, "id")?,
                kind: CaseFlagKind::from_code(&kind).ok_or(StoreError::Corrupt {
                    column: "mdt_case_flags.kind",
                    detail: kind,
                })?,
                noted_on: get_date(r, "noted_on")?,
                reason: r.try_get("reason")?,
                set_by: r.try_get("display_name")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        if !meetings.is_empty() || !flags.is_empty() {
            let ids: Vec<String> = meetings.iter().map(|m| m.meeting.to_string()).collect();
            self.mdt_audit(
                who,
                AuditAction::List,
                ENTITY,
                None,
                format!(
                    "case {case}: meetings {}; {} flags",
                    ids.join(","),
                    flags.len()
                ),
            )
            .await?;
        }
        Ok(CaseMdt { meetings, flags })
    }

    /// Sets a flag on a case ("worried about", or a discharge from hospital) for the next MDT.
    /// Anyone who may change the case may; the refusal is audited.
    pub async fn set_case_flag(
        &self,
        who: &Principal,
        case: CaseId,
        flag: &NewCaseFlag,
    ) -> Result<i64, ActionError> {
        let Some((_, grant)) = self.changeable_case(who, case).await? else {
            return Err(self
                .refuse(
                    who,
                    FLAG_ENTITY,
                    None,
                    format!("flag on case {case}: may not change this case"),
                )
                .await);
        };
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO mdt_case_flags (case_id, kind, noted_on, reason, set_by, set_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(case.get())
        .bind(flag.kind.code())
        .bind(flag.noted_on.to_string())
        .bind(&flag.reason)
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
                entity: FLAG_ENTITY,
                entity_id: Some(id),
                reason: format!("{} on case {case} ({})", flag.kind.code(), grant.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Clears a flag: the worry has passed, or the discharge has been followed up.
    pub async fn clear_case_flag(
        &self,
        who: &Principal,
        case: CaseId,
        flag: i64,
        on: NaiveDate,
    ) -> Result<(), ActionError> {
        let Some((_, grant)) = self.changeable_case(who, case).await? else {
            return Err(self
                .refuse(
                    who,
                    FLAG_ENTITY,
                    Some(flag),
                    format!("clear flag on case {case}: may not change this case"),
                )
                .await);
        };
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE mdt_case_flags SET cleared_on = $3, cleared_by = $4 \
             WHERE id = $1 AND case_id = $2 AND cleared_on IS NULL",
        )
        .bind(flag)
        .bind(case.get())
        .bind(on.to_string())
        .bind(who.user.get())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ActionError::Refused(
                "That flag is already cleared or is not on this case".to_owned(),
            ));
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: FLAG_ENTITY,
                entity_id: Some(flag),
                reason: format!("cleared on case {case} ({})", grant.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The cohorts of the latest population run as (name, title), for the "population worklist"
    /// agenda list.
    pub async fn worklist_cohorts(&self) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query(
            "SELECT name, title FROM population_cohorts \
             WHERE run_id = (SELECT MAX(id) FROM population_runs) ORDER BY title, name",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("title")?)))
        .collect()
    }
}
