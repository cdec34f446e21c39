//! Taking access away: disabling and re-enabling accounts, removing roles, resetting passwords, and
//! listing and ending sessions, by an organisation's admin or from the command line.
//!
//! Policy first, audit always: each function asks `domain::account::can_manage_account` (or
//! `can_manage_users` for one organisation's role) before it changes anything, writes the change
//! and its audit row in one transaction, and audits a refusal as `denied`. Audit reasons name ids
//! and what was done, never a password.

use careweave_domain::access::{can_manage_users, Membership, Principal, Role};
use careweave_domain::account::can_manage_account;
use careweave_domain::{OrganisationId, UserId};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::Row;

use crate::accounts::{hash_password, UserSummary};
use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::{get_i64, parse_instant, Store, StoreError};

/// Who is changing an account.
#[derive(Debug, Clone, Copy)]
pub enum AccountActor<'a> {
    /// A signed-in admin, limited to their own organisations.
    Admin(&'a Principal),
    /// The operator at the command line, who may change any account.
    CommandLine,
}

impl AccountActor<'_> {
    pub(crate) fn user(self) -> Option<UserId> {
        match self {
            Self::Admin(p) => Some(p.user),
            Self::CommandLine => None,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Admin(_) => "by an administrator",
            Self::CommandLine => "from the command line",
        }
    }
}

/// Why an account change was not made.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The admin does not administer the account's organisations (the refusal is audited).
    #[error("not permitted to manage this account")]
    Denied,
    #[error("there is no such account")]
    NotFound,
    /// The change would leave an organisation with no active administrator.
    #[error("that would leave an organisation with no active administrator")]
    LastAdmin,
    /// Removing the account's only role; disabling it is the way to take all access away.
    #[error("this is the account's only role: disable the account instead")]
    OnlyRole,
    /// The account does not hold that role.
    #[error("the account does not hold that role")]
    NoSuchRole,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AccountError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A live session as an administrator sees it: never its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// A short reference to end this one session by: the first characters of the token's
    /// SHA-256 hash as stored, from which the token cannot be recovered.
    pub reference: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

/// Sessions are referred to by this many hexadecimal characters of their stored hash (the queries
/// say 12 literally, because PostgreSQL's `substr` takes no `BIGINT` length).
const REFERENCE_LENGTH: usize = 12;

impl Store {
    /// Disables an account (`active` false), ending all its sessions in the same transaction, or
    /// enables it again. Returns how many sessions were ended. A disabled account cannot sign in
    /// and its sessions stop working on their next request.
    pub async fn set_account_active(
        &self,
        by: AccountActor<'_>,
        user: UserId,
        active: bool,
    ) -> Result<u64, AccountError> {
        let what = if active { "enable" } else { "disable" };
        let target = self.authorised(by, user, None, what).await?;
        let mut tx = self.pool.begin().await?;
        if !active
            && target.active
            && !self
                .orphaned_admin_orgs(&mut tx, user, None)
                .await?
                .is_empty()
        {
            return Err(AccountError::LastAdmin);
        }
        sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
            .bind(i64::from(active))
            .bind(user.get())
            .execute(&mut *tx)
            .await?;
        let ended = if active {
            0
        } else {
            end_sessions_in(&mut tx, user, None).await?
        };
        let reason = if active {
            format!("account {user} enabled {}", by.label())
        } else {
            format!(
                "account {user} disabled {}; {ended} sessions ended",
                by.label()
            )
        };
        audit_with(&mut *tx, &event(by, user, AuditAction::Update, reason)).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Removes one role in one organisation from an account. An admin may remove the roles held in
    /// organisations they administer, even from an account shared with another organisation. The
    /// account's only role is not removed (disable the account instead), nor an organisation's last
    /// active administrator.
    pub async fn remove_membership(
        &self,
        by: AccountActor<'_>,
        user: UserId,
        membership: Membership,
    ) -> Result<(), AccountError> {
        let target = self
            .authorised(
                by,
                user,
                Some(membership.organisation),
                "remove a role from",
            )
            .await?;
        let held = target
            .memberships
            .iter()
            .any(|(org, _, role)| *org == membership.organisation && *role == membership.role);
        if !held {
            return Err(AccountError::NoSuchRole);
        }
        if target.memberships.len() == 1 {
            return Err(AccountError::OnlyRole);
        }
        let mut tx = self.pool.begin().await?;
        if membership.role == Role::Admin
            && target.active
            && !self
                .orphaned_admin_orgs(&mut tx, user, Some(membership.organisation))
                .await?
                .is_empty()
        {
            return Err(AccountError::LastAdmin);
        }
        sqlx::query(
            "DELETE FROM memberships WHERE user_id = $1 AND organisation_id = $2 AND role = $3",
        )
        .bind(user.get())
        .bind(membership.organisation.get())
        .bind(membership.role.code())
        .execute(&mut *tx)
        .await?;
        let reason = format!(
            "role {} in organisation {} removed from account {user} {}",
            membership.role.code(),
            membership.organisation,
            by.label()
        );
        audit_with(&mut *tx, &event(by, user, AuditAction::Update, reason)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new password (already checked against the password rule by the caller) and ends the
    /// account's sessions, so whoever held the old password is signed out. Returns how many
    /// sessions were ended.
    pub async fn reset_password(
        &self,
        by: AccountActor<'_>,
        user: UserId,
        password: &SecretString,
    ) -> Result<u64, AccountError> {
        self.authorised(by, user, None, "reset the password of")
            .await?;
        let hash = hash_password(password)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user.get())
            .execute(&mut *tx)
            .await?;
        let ended = end_sessions_in(&mut tx, user, None).await?;
        let reason = format!(
            "password of account {user} reset {}; {ended} sessions ended",
            by.label()
        );
        audit_with(&mut *tx, &event(by, user, AuditAction::Update, reason)).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// The account's live sessions, newest first (the listing is audited).
    pub async fn account_sessions(
        &self,
        by: AccountActor<'_>,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionSummary>, AccountError> {
        self.authorised(by, user, None, "list the sessions of")
            .await?;
        let rows = sqlx::query(
            "SELECT substr(token_hash, 1, 12) AS reference, created_at, expires_at \
             FROM sessions WHERE user_id = $1 AND expires_at > $2 \
             ORDER BY created_at DESC",
        )
        .bind(user.get())
        .bind(crate::instant_text(now))
        .fetch_all(&self.pool)
        .await?;
        let sessions = rows
            .iter()
            .map(|r| {
                Ok(SessionSummary {
                    reference: r.try_get("reference")?,
                    created: parse_instant(
                        "sessions.created_at",
                        &r.try_get::<String, _>("created_at")?,
                    )?,
                    expires: parse_instant(
                        "sessions.expires_at",
                        &r.try_get::<String, _>("expires_at")?,
                    )?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let reason = format!("sessions of account {user} listed {}", by.label());
        self.audit(event(by, user, AuditAction::List, reason))
            .await?;
        Ok(sessions)
    }

    /// Ends one session of the account (by its reference) or all of them. Returns how many ended.
    pub async fn end_sessions(
        &self,
        by: AccountActor<'_>,
        user: UserId,
        reference: Option<&str>,
    ) -> Result<u64, AccountError> {
        self.authorised(by, user, None, "end the sessions of")
            .await?;
        if reference.is_some_and(|r| r.len() != REFERENCE_LENGTH) {
            // Not a reference this store gave out; an empty one must not end every session.
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let ended = end_sessions_in(&mut tx, user, reference).await?;
        let which = if reference.is_some() {
            "one session"
        } else {
            "all sessions"
        };
        let reason = format!(
            "{which} of account {user} ended {}; {ended} ended",
            by.label()
        );
        audit_with(&mut *tx, &event(by, user, AuditAction::Update, reason)).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Loads the account and checks that `by` may act on it: on the whole account, or with
    /// `organisation` on its roles there only. A refusal is audited as `denied`.
    pub(crate) async fn authorised(
        &self,
        by: AccountActor<'_>,
        user: UserId,
        organisation: Option<OrganisationId>,
        what: &str,
    ) -> Result<UserSummary, AccountError> {
        let target = self.user_summary(user).await?;
        let allowed = match (by, &target) {
            (AccountActor::CommandLine, _) => true,
            (AccountActor::Admin(admin), Some(t)) => match organisation {
                Some(org) => can_manage_users(admin, org),
                None => {
                    let memberships: Vec<Membership> = t
                        .memberships
                        .iter()
                        .map(|(organisation, _, role)| Membership {
                            organisation: *organisation,
                            role: *role,
                        })
                        .collect();
                    can_manage_account(admin, &memberships)
                }
            },
            (AccountActor::Admin(_), None) => false,
        };
        if !allowed {
            let reason = format!(
                "refused to {what} account {user}: not an administrator of its organisations"
            );
            self.audit(event(by, user, AuditAction::Denied, reason))
                .await?;
            return Err(AccountError::Denied);
        }
        target.ok_or(AccountError::NotFound)
    }

    /// The organisations (all, or only `organisation`) in which `user` is an administrator and no
    /// other active account is.
    async fn orphaned_admin_orgs(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        user: UserId,
        organisation: Option<OrganisationId>,
    ) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.organisation_id FROM memberships m \
             WHERE m.user_id = $1 AND m.role = 'admin' AND ($2 < 0 OR m.organisation_id = $2) \
             AND NOT EXISTS (SELECT 1 FROM memberships o JOIN users u ON u.id = o.user_id \
                 WHERE o.organisation_id = m.organisation_id AND o.role = 'admin' \
                 AND u.active = 1 AND o.user_id <> $1)",
        )
        .bind(user.get())
        .bind(organisation.map_or(-1, OrganisationId::get))
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(|r| get_i64(r, "organisation_id")).collect()
    }
}

pub(crate) fn event(
    by: AccountActor<'_>,
    user: UserId,
    action: AuditAction,
    reason: String,
) -> AuditEvent {
    AuditEvent {
        user: by.user(),
        action,
        entity: "user",
        entity_id: Some(user.get()),
        reason,
    }
}

pub(crate) async fn end_sessions_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user: UserId,
    reference: Option<&str>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND ($2 = '' OR substr(token_hash, 1, 12) = $2)",
    )
    .bind(user.get())
    .bind(reference.unwrap_or_default())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}
