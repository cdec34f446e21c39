//! Sign-in through an organisation's OpenID Connect provider: the links an administrator makes
//! between an account and an identity at a provider, and the sign-ins in flight.
//!
//! Only a link lets anyone in: a provider's word that someone is who they say never creates an
//! account and never grants a role (roles stay memberships an administrator gave). A link names
//! the provider by the key the deployment's settings give it and the identity by the provider's
//! subject identifier (`sub`, stable and never reassigned) or by an email address (for an admin who
//! knows the address before the first sign-in); the first sign-in through an email link records the
//! subject too, so later sign-ins match on it. Linking, unlinking and every sign-in through a
//! provider, let in or refused, are audited as entity `user`.

use careweave_domain::UserId;
use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use crate::account_admin::{AccountActor, AccountError};
use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::{get_i64, instant_text, map_unique, parse_instant, Store, StoreError};

/// How an identity at a provider is named in a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkClaim {
    /// The provider's subject identifier (`sub`).
    Subject,
    /// The `email` claim, compared in lower case.
    Email,
}

impl LinkClaim {
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Subject => "sub",
            Self::Email => "email",
        }
    }

    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "sub" => Some(Self::Subject),
            "email" => Some(Self::Email),
            _ => None,
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Subject => "Subject identifier",
            Self::Email => "Email address",
        }
    }

    fn normalise(self, value: &str) -> String {
        match self {
            Self::Subject => value.trim().to_owned(),
            Self::Email => value.trim().to_lowercase(),
        }
    }
}

/// One link, as the account page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcLink {
    pub provider: String,
    pub claim: LinkClaim,
    pub value: String,
    pub created: DateTime<Utc>,
}

/// A sign-in started at the provider and not yet come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    pub provider: String,
    pub nonce: String,
    pub verifier: String,
    pub next: String,
}

/// How long a sign-in may take at the provider.
const LOGIN_MINUTES: i64 = 10;

impl Store {
    /// Links an account to an identity at a provider (policy first: an administrator of all the
    /// account's organisations, or the command line). An identity already linked to any account
    /// is refused as a duplicate.
    pub async fn link_oidc(
        &self,
        by: AccountActor<'_>,
        user: UserId,
        provider: &str,
        claim: LinkClaim,
        value: &str,
    ) -> Result<(), AccountError> {
        self.authorised(by, user, None, "link a sign-in provider to")
            .await?;
        let value = claim.normalise(value);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO oidc_links (provider, claim, value, user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(provider)
        .bind(claim.code())
        .bind(&value)
        .bind(user.get())
        .bind(crate::now_text())
        .execute(&mut *tx)
        .await
        .map_err(map_unique("A link to that identity"))?;
        let reason = format!(
            "account {user} linked to provider {provider} by {} {} {}",
            claim.code(),
            value,
            by.label()
        );
        audit_with(
            &mut *tx,
            &crate::account_admin::event(by, user, AuditAction::Update, reason),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes one link of an account.
    pub async fn unlink_oidc(
        &self,
        by: AccountActor<'_>,
        user: UserId,
        provider: &str,
        claim: LinkClaim,
        value: &str,
    ) -> Result<(), AccountError> {
        self.authorised(by, user, None, "unlink a sign-in provider from")
            .await?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "DELETE FROM oidc_links WHERE provider = $1 AND claim = $2 AND value = $3 AND user_id = $4",
        )
        .bind(provider)
        .bind(claim.code())
        .bind(value)
        .bind(user.get())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(AccountError::NotFound);
        }
        let reason = format!(
            "link of account {user} to provider {provider} by {} removed {}",
            claim.code(),
            by.label()
        );
        audit_with(
            &mut *tx,
            &crate::account_admin::event(by, user, AuditAction::Update, reason),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An account's links, for its page.
    pub async fn oidc_links(&self, user: UserId) -> Result<Vec<OidcLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT provider, claim, value, created_at FROM oidc_links WHERE user_id = $1 \
             ORDER BY provider, claim, value",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let code: String = r.try_get("claim")?;
                Ok(OidcLink {
                    provider: r.try_get("provider")?,
                    claim: LinkClaim::from_code(&code).ok_or(StoreError::Corrupt {
                        column: "oidc_links.claim",
                        detail: code,
                    })?,
                    value: r.try_get("value")?,
                    created: parse_instant(
                        "oidc_links.created_at",
                        &r.try_get::<String, _>("created_at")?,
                    )?,
                })
            })
            .collect()
    }

    /// The active account a verified ID token belongs to: linked by its subject, or else by its
    /// email address (then the subject is linked too, so that a later change of address at the
    /// provider does not lock the person out). Audited either way; `None` lets nobody in.
    pub async fn oidc_account(
        &self,
        provider: &str,
        subject: &str,
        email: Option<&str>,
    ) -> Result<Option<UserId>, StoreError> {
        let by_subject = self.linked(provider, LinkClaim::Subject, subject).await?;
        let (user, how) = match (by_subject, email) {
            (Some(user), _) => (Some(user), "subject"),
            (None, Some(email)) => (
                self.linked(
                    provider,
                    LinkClaim::Email,
                    &LinkClaim::Email.normalise(email),
                )
                .await?,
                "email address",
            ),
            (None, None) => (None, "subject"),
        };
        let Some(user) = user else {
            self.audit(AuditEvent {
                user: None,
                action: AuditAction::Denied,
                entity: "user",
                entity_id: None,
                reason: format!(
                    "sign-in through provider {provider} refused: no active account is linked to that identity"
                ),
            })
            .await?;
            return Ok(None);
        };
        let mut tx = self.pool.begin().await?;
        if how == "email address" {
            sqlx::query(
                "INSERT INTO oidc_links (provider, claim, value, user_id, created_at) \
                 VALUES ($1, 'sub', $2, $3, $4) ON CONFLICT (provider, claim, value) DO NOTHING",
            )
            .bind(provider)
            .bind(subject)
            .bind(user.get())
            .bind(crate::now_text())
            .execute(&mut *tx)
            .await?;
        }
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(user),
                action: AuditAction::Read,
                entity: "user",
                entity_id: Some(user.get()),
                reason: format!("signed in through provider {provider}, matched by {how}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(user))
    }

    async fn linked(
        &self,
        provider: &str,
        claim: LinkClaim,
        value: &str,
    ) -> Result<Option<UserId>, StoreError> {
        let row = sqlx::query(
            "SELECT l.user_id FROM oidc_links l JOIN users u ON u.id = l.user_id \
             WHERE l.provider = $1 AND l.claim = $2 AND l.value = $3 AND u.active = 1",
        )
        .bind(provider)
        .bind(claim.code())
        .bind(value)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| get_i64(&r, "user_id").map(UserId::new))
            .transpose()
    }

    /// Remembers a sign-in sent to the provider, keyed by a hash of its `state`.
    pub async fn start_oidc_login(
        &self,
        state: &str,
        login: &PendingLogin,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM oidc_logins WHERE expires_at <= $1")
            .bind(instant_text(now))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_logins (state_hash, provider, nonce, verifier, next, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(crate::accounts::hex_sha256(state.as_bytes()))
        .bind(&login.provider)
        .bind(&login.nonce)
        .bind(&login.verifier)
        .bind(&login.next)
        .bind(instant_text(now + Duration::minutes(LOGIN_MINUTES)))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the sign-in a provider's answer names by its `state`, once: a second answer with the
    /// same state, or one after ten minutes, finds nothing.
    pub async fn take_oidc_login(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingLogin>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM oidc_logins WHERE state_hash = $1 \
             RETURNING provider, nonce, verifier, next, expires_at",
        )
        .bind(crate::accounts::hex_sha256(state.as_bytes()))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires = parse_instant(
            "oidc_logins.expires_at",
            &row.try_get::<String, _>("expires_at")?,
        )?;
        if expires <= now {
            return Ok(None);
        }
        Ok(Some(PendingLogin {
            provider: row.try_get("provider")?,
            nonce: row.try_get("nonce")?,
            verifier: row.try_get("verifier")?,
            next: row.try_get("next")?,
        }))
    }
}
