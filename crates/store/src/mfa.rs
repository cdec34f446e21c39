//! Multi-factor sign-in: a TOTP secret per account (enrolled, then confirmed with a code before it
//! counts), single-use recovery codes stored as argon2id hashes, an organisation's "MFA required"
//! setting, and an administrator's reset. Every step is audited as entity `user` (the setting as
//! entity `organisation`); reasons say what happened, never a code or a secret.
//!
//! Secrets at rest are encrypted with AES-256-GCM when the deployment configures
//! `mfa_secret_key` (see [`totp::SecretKey`]), and bound to their account so that a row copied to
//! another account does not open. Without a key they are stored as base32 text, like most
//! authenticator servers, and the service says so at start: a copy of the database then lets its
//! holder make codes, which is why a deployment should set the key.

pub mod totp;

use careweave_domain::access::{can_manage_users, Principal};
use careweave_domain::{OrganisationId, UserId};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::Row;

pub use totp::SecretKey;

use crate::account_admin::{AccountActor, AccountError};
use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::{get_i64, instant_text, Store, StoreError};

/// How many recovery codes an enrolment gives.
pub const RECOVERY_CODES: usize = 10;

/// Where an account stands with its second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaStatus {
    /// A confirmed secret: sign-in asks for a code.
    pub active: bool,
    /// One of the account's organisations requires a second factor.
    pub required: bool,
    /// Recovery codes not yet used.
    pub recovery_codes_left: i64,
}

/// A secret waiting to be confirmed, as the enrolment page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The secret in base32, to type into an authenticator app.
    pub secret: String,
    /// The `otpauth://` address the QR code holds.
    pub uri: String,
}

/// Why a code was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// Wrong, expired, already used, or no second factor to check it against.
    #[error("the code is not right")]
    WrongCode,
    /// The account already has an active second factor.
    #[error("multi-factor sign-in is already set up")]
    AlreadyActive,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for MfaError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// An organisation an administrator sets the requirement for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationMfa {
    pub id: OrganisationId,
    pub name: String,
    pub required: bool,
}

fn user_event(user: UserId, action: AuditAction, reason: String) -> AuditEvent {
    AuditEvent {
        user: Some(user),
        action,
        entity: "user",
        entity_id: Some(user.get()),
        reason,
    }
}

/// A recovery code: ten letters and digits in two groups (50 bits), easy to read out and type.
fn recovery_code() -> String {
    let secret = totp::base32(&totp::new_secret()).to_lowercase();
    format!("{}-{}", &secret[..5], &secret[5..10])
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for the `otpauth://` address.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A typed recovery code in the form it was hashed in: lower case, no spaces.
fn normalise_recovery(code: &str) -> String {
    code.trim().to_lowercase().replace(' ', "")
}

impl Store {
    /// The account's second-factor standing.
    pub async fn mfa_status(&self, user: UserId) -> Result<MfaStatus, StoreError> {
        let row = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM user_mfa WHERE user_id = $1 AND confirmed_at IS NOT NULL) AS active, \
             (SELECT COUNT(*) FROM memberships m JOIN organisations o ON o.id = m.organisation_id \
              WHERE m.user_id = $1 AND o.mfa_required = 1) AS required, \
             (SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS left_over",
        )
        .bind(user.get())
        .fetch_one(&self.pool)
        .await?;
        Ok(MfaStatus {
            active: get_i64(&row, "active")? > 0,
            required: get_i64(&row, "required")? > 0,
            recovery_codes_left: get_i64(&row, "left_over")?,
        })
    }

    /// The secret to enrol with: the one waiting for confirmation, or a new one. Reloading the page
    /// shows the same secret, so a code from an app that already scanned it still works.
    pub async fn begin_mfa_enrolment(
        &self,
        user: UserId,
        issuer: &str,
        key: Option<&SecretKey>,
    ) -> Result<Enrolment, MfaError> {
        let row = sqlx::query("SELECT secret, confirmed_at FROM user_mfa WHERE user_id = $1")
            .bind(user.get())
            .fetch_optional(&self.pool)
            .await?;
        let secret = match row {
            Some(r) if r.try_get::<Option<String>, _>("confirmed_at")?.is_some() => {
                return Err(MfaError::AlreadyActive)
            }
            Some(r) => totp::open(&r.try_get::<String, _>("secret")?, key, user.get())?,
            None => {
                let secret = totp::new_secret();
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO user_mfa (user_id, secret, last_step, created_at) \
                     VALUES ($1, $2, 0, $3)",
                )
                .bind(user.get())
                .bind(totp::seal(&secret, key, user.get())?)
                .bind(crate::now_text())
                .execute(&mut *tx)
                .await?;
                let reason = "multi-factor sign-in: enrolment started".to_owned();
                audit_with(&mut *tx, &user_event(user, AuditAction::Create, reason)).await?;
                tx.commit().await?;
                secret
            }
        };
        let username: String = sqlx::query("SELECT username FROM users WHERE id = $1")
            .bind(user.get())
            .fetch_one(&self.pool)
            .await?
            .try_get("username")?;
        let text = totp::base32(&secret);
        let label = percent_encode(&format!("{issuer}:{username}"));
        let issuer_param = percent_encode(issuer);
        Ok(Enrolment {
            uri: format!("otpauth://totp/{label}?secret={text}&issuer={issuer_param}&algorithm=SHA1&digits=6&period=30"),
            secret: text,
        })
    }

    /// Confirms the waiting secret with a code from the app, which turns it on, and returns the
    /// recovery codes to show once (only their hashes are kept).
    pub async fn confirm_mfa_enrolment(
        &self,
        user: UserId,
        code: &str,
        key: Option<&SecretKey>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, MfaError> {
        let row = sqlx::query("SELECT secret, confirmed_at FROM user_mfa WHERE user_id = $1")
            .bind(user.get())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Err(MfaError::WrongCode);
        };
        if row.try_get::<Option<String>, _>("confirmed_at")?.is_some() {
            return Err(MfaError::AlreadyActive);
        }
        let secret = totp::open(&row.try_get::<String, _>("secret")?, key, user.get())?;
        let Some(step) = totp::matching_step(&secret, code, totp::step_of(now.timestamp())) else {
            let reason = "multi-factor sign-in: enrolment code refused".to_owned();
            self.audit(user_event(user, AuditAction::Denied, reason))
                .await?;
            return Err(MfaError::WrongCode);
        };
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        let hashes = hash_off_thread(codes.clone()).await?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE user_mfa SET confirmed_at = $1, last_step = $2 \
             WHERE user_id = $3 AND confirmed_at IS NULL",
        )
        .bind(instant_text(now))
        .bind(step)
        .bind(user.get())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(MfaError::AlreadyActive);
        }
        insert_recovery_codes(&mut tx, user, &hashes).await?;
        let reason =
            format!("multi-factor sign-in: turned on with {RECOVERY_CODES} recovery codes issued");
        audit_with(&mut *tx, &user_event(user, AuditAction::Update, reason)).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Checks a second factor at sign-in: a code from the app (each 30-second step accepted once,
    /// so a code seen over a shoulder cannot be used again) or an unused recovery code (then used
    /// up). Both outcomes are audited.
    pub async fn verify_second_factor(
        &self,
        user: UserId,
        code: &str,
        key: Option<&SecretKey>,
        now: DateTime<Utc>,
    ) -> Result<(), MfaError> {
        let accepted = if code.contains('-') || code.trim().len() > 8 {
            self.use_recovery_code(user, code, now).await?
        } else {
            self.use_totp(user, code, key, now).await?
        };
        let Some(how) = accepted else {
            let reason = "multi-factor sign-in: code refused".to_owned();
            self.audit(user_event(user, AuditAction::Denied, reason))
                .await?;
            return Err(MfaError::WrongCode);
        };
        let reason = format!("multi-factor sign-in: {how} accepted");
        self.audit(user_event(user, AuditAction::Read, reason))
            .await?;
        Ok(())
    }

    async fn use_totp(
        &self,
        user: UserId,
        code: &str,
        key: Option<&SecretKey>,
        now: DateTime<Utc>,
    ) -> Result<Option<&'static str>, StoreError> {
        let row = sqlx::query(
            "SELECT secret FROM user_mfa WHERE user_id = $1 AND confirmed_at IS NOT NULL",
        )
        .bind(user.get())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let secret = totp::open(&row.try_get::<String, _>("secret")?, key, user.get())?;
        let Some(step) = totp::matching_step(&secret, code, totp::step_of(now.timestamp())) else {
            return Ok(None);
        };
        // Only a step later than the last one accepted: a replayed code, or one from before it,
        // changes nothing and is refused.
        let done = sqlx::query(
            "UPDATE user_mfa SET last_step = $1 WHERE user_id = $2 AND last_step < $1 \
             AND confirmed_at IS NOT NULL",
        )
        .bind(step)
        .bind(user.get())
        .execute(&self.pool)
        .await?;
        Ok((done.rows_affected() == 1).then_some("authenticator code"))
    }

    async fn use_recovery_code(
        &self,
        user: UserId,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<&'static str>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, code_hash FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await?;
        let candidates = rows
            .iter()
            .map(|r| Ok((get_i64(r, "id")?, r.try_get::<String, _>("code_hash")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let typed = SecretString::from(normalise_recovery(code));
        let found = tokio::task::spawn_blocking(move || {
            candidates
                .into_iter()
                .find(|(_, hash)| crate::accounts::password_matches(&typed, hash))
                .map(|(id, _)| id)
        })
        .await
        .unwrap_or(None);
        let Some(id) = found else { return Ok(None) };
        let done = sqlx::query(
            "UPDATE mfa_recovery_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
        )
        .bind(instant_text(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok((done.rows_affected() == 1).then_some("recovery code"))
    }

    /// Turns an account's second factor off and removes its recovery codes, for someone who lost
    /// their phone: they enrol again at their next sign-in if an organisation requires it. Their
    /// sessions end, so a session opened with the old factor does not outlive it.
    pub async fn reset_mfa(&self, by: AccountActor<'_>, user: UserId) -> Result<(), AccountError> {
        self.authorised(by, user, None, "reset multi-factor sign-in of")
            .await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
            .bind(user.get())
            .execute(&mut *tx)
            .await?;
        let removed = sqlx::query("DELETE FROM user_mfa WHERE user_id = $1")
            .bind(user.get())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let ended = crate::account_admin::end_sessions_in(&mut tx, user, None).await?;
        let reason = format!(
            "multi-factor sign-in of account {user} reset {} ({}); {ended} sessions ended",
            by.label(),
            if removed > 0 {
                "it was set up"
            } else {
                "it was not set up"
            }
        );
        audit_with(
            &mut *tx,
            &crate::account_admin::event(by, user, AuditAction::Update, reason),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organisations `admin` administers, with whether each requires a second factor.
    pub async fn organisations_mfa(
        &self,
        admin: &Principal,
    ) -> Result<Vec<OrganisationMfa>, StoreError> {
        let rows = sqlx::query("SELECT id, name, mfa_required FROM organisations ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let id = OrganisationId::new(get_i64(r, "id")?);
            if can_manage_users(admin, id) {
                out.push(OrganisationMfa {
                    id,
                    name: r.try_get("name")?,
                    required: get_i64(r, "mfa_required")? == 1,
                });
            }
        }
        Ok(out)
    }

    /// Sets whether an organisation requires its members to sign in with a second factor. Members
    /// without one enrol at their next sign-in. Only the organisation's administrators (or the
    /// command line) may change it; a refusal is audited.
    pub async fn set_mfa_required(
        &self,
        by: AccountActor<'_>,
        organisation: OrganisationId,
        required: bool,
    ) -> Result<(), AccountError> {
        let allowed = match by {
            AccountActor::Admin(admin) => can_manage_users(admin, organisation),
            AccountActor::CommandLine => true,
        };
        let event = |action, reason| AuditEvent {
            user: by.user(),
            action,
            entity: "organisation",
            entity_id: Some(organisation.get()),
            reason,
        };
        if !allowed {
            let reason = format!(
                "refused to change multi-factor sign-in of organisation {organisation}: not its administrator"
            );
            self.audit(event(AuditAction::Denied, reason)).await?;
            return Err(AccountError::Denied);
        }
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE organisations SET mfa_required = $1 WHERE id = $2")
            .bind(i64::from(required))
            .bind(organisation.get())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(AccountError::NotFound);
        }
        let reason = format!(
            "multi-factor sign-in {} for organisation {organisation} {}",
            if required {
                "required"
            } else {
                "no longer required"
            },
            by.label()
        );
        audit_with(&mut *tx, &event(AuditAction::Update, reason)).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn hash_off_thread(codes: Vec<String>) -> Result<Vec<String>, StoreError> {
    // Ten argon2id hashes take a noticeable moment of CPU: the blocking pool, not an async worker.
    tokio::task::spawn_blocking(move || {
        codes
            .iter()
            .map(|c| crate::accounts::hash_password(&SecretString::from(normalise_recovery(c))))
            .collect()
    })
    .await
    .map_err(|e| StoreError::PasswordHash(e.to_string()))?
}

async fn insert_recovery_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user: UserId,
    hashes: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user.get())
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user.get())
            .bind(hash)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_two_groups_of_five() {
        let code = recovery_code();
        assert_eq!(code.len(), 11, "{code}");
        assert_eq!(&code[5..6], "-");
        assert_eq!(
            normalise_recovery(&format!(" {} ", code.to_uppercase())),
            code
        );
    }
}
