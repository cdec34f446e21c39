//! API tokens: how a system (a GP system, another team's case management, a shared care record)
//! reaches careweave's FHIR API.
//!
//! An organisation's admin issues a token to a named client. The token acts for one account of
//! that organisation and only with that account's roles in that organisation, read-only or read
//! and write; every record it reaches is reached through `store::records` and the casework doors
//! under that account, so a token never reads more than the account could on its pages, and an
//! account disabled or a role removed stops its tokens at once. Only the SHA-256 hash of a token
//! is stored: the token itself is shown once, when it is issued. Issuing, revoking, refusals and
//! every request made with a token are audited as entity `api_token`.
//!
//! SMART on FHIR backend services can follow without changing this model: a registered client
//! (this table's row, its id the `client_id`) would hold a JSON Web Key Set URL instead of a
//! long-lived secret, a token endpoint would exchange a signed JWT assertion for a short-lived
//! access token stored here the same way (hash, scope, with an expiry), and the SMART scopes
//! `system/*.read` and `system/*.write` map onto [`ApiScope::Read`] and [`ApiScope::ReadWrite`].

use careweave_domain::access::{can_manage_users, Principal, Role};
use careweave_domain::{OrganisationId, UserId};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use crate::accounts::{hex_sha256, random_token};
use crate::audit::{audit_with, AuditAction, AuditEvent};
use crate::{get_i64, now_text, parse_instant, Store, StoreError};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiScope {
    /// Read and search only (SMART `system/*.read`).
    Read,
    /// Read, search and create (SMART `system/*.read system/*.write`).
    ReadWrite,
}

impl ApiScope {
    /// The stored code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::ReadWrite => "read_write",
        }
    }

    /// Parses a stored or submitted code.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "read" => Some(Self::Read),
            "read_write" => Some(Self::ReadWrite),
            _ => None,
        }
    }

    /// Words for the admin pages.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "Read only",
            Self::ReadWrite => "Read and write",
        }
    }

    /// Whether the token may create records (a referral).
    #[must_use]
    pub fn may_write(self) -> bool {
        self == Self::ReadWrite
    }
}

/// A token to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// The client's name as the admin knows it ("Riverside Surgery EMIS").
    pub client_name: String,
    pub organisation: OrganisationId,
    /// The account the token acts for; it must hold a role other than admin in `organisation`.
    pub acts_for: UserId,
    pub scope: ApiScope,
}

/// A token just issued: its text is shown to the admin once and never again.
#[derive(Debug)]
pub struct IssuedToken {
    pub id: i64,
    pub token: SecretString,
}

/// A token as listed to admins (never the token or its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenSummary {
    pub id: i64,
    pub client_name: String,
    pub organisation: OrganisationId,
    pub organisation_name: String,
    pub acts_for: UserId,
    pub acts_for_name: String,
    pub scope: ApiScope,
    pub issued_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The client behind a valid token, for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    pub token: i64,
    pub client_name: String,
    pub organisation: OrganisationId,
    /// The account's roles in the token's organisation only.
    pub principal: Principal,
    pub scope: ApiScope,
}

/// Why a token was not issued or revoked.
#[derive(Debug, thiserror::Error)]
pub enum ApiTokenError {
    /// The admin does not administer the organisation (the refusal is audited).
    #[error("not permitted to manage this organisation's API tokens")]
    Denied,
    /// The account holds no role other than admin in the organisation.
    #[error("the account has no role in this organisation that can use records")]
    NoRole,
    #[error("there is no such token")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ApiTokenError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

fn stored_scope(code: String) -> Result<ApiScope, StoreError> {
    ApiScope::from_code(&code).ok_or(StoreError::Corrupt {
        column: "api_tokens.scope",
        detail: code,
    })
}

fn token_event(
    user: Option<UserId>,
    action: AuditAction,
    id: Option<i64>,
    reason: String,
) -> AuditEvent {
    AuditEvent {
        user,
        action,
        entity: "api_token",
        entity_id: id,
        reason,
    }
}

impl Store {
    async fn refuse_token_change(&self, admin: &Principal, what: String) -> ApiTokenError {
        match self
            .audit(token_event(
                Some(admin.user),
                AuditAction::Denied,
                None,
                what,
            ))
            .await
        {
            Ok(()) => ApiTokenError::Denied,
            Err(e) => e.into(),
        }
    }

    /// Issues a token, if `admin` administers the organisation and the account holds a role
    /// there that can use records. Audited in the same transaction as the insert.
    pub async fn issue_api_token(
        &self,
        admin: &Principal,
        new: &NewApiToken,
    ) -> Result<IssuedToken, ApiTokenError> {
        if !can_manage_users(admin, new.organisation) {
            return Err(self
                .refuse_token_change(
                    admin,
                    format!("issue an API token in organisation {}", new.organisation),
                )
                .await);
        }
        let holder = self.principal(new.acts_for).await?;
        let usable = holder
            .memberships
            .iter()
            .any(|m| m.organisation == new.organisation && m.role != Role::Admin);
        if !usable {
            return Err(ApiTokenError::NoRole);
        }
        let token = random_token();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO api_tokens (token_hash, client_name, organisation_id, user_id, scope, \
             issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(hex_sha256(token.as_bytes()))
        .bind(new.client_name.trim())
        .bind(new.organisation.get())
        .bind(new.acts_for.get())
        .bind(new.scope.code())
        .bind(admin.user.get())
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        audit_with(
            &mut *tx,
            &token_event(
                Some(admin.user),
                AuditAction::Create,
                Some(id),
                format!(
                    "API token issued in organisation {} acting for account {} ({})",
                    new.organisation,
                    new.acts_for,
                    new.scope.code()
                ),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedToken {
            id,
            token: SecretString::from(token),
        })
    }

    /// The tokens of the organisations `admin` administers, newest first.
    pub async fn api_tokens_for_admin(
        &self,
        admin: &Principal,
    ) -> Result<Vec<ApiTokenSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.client_name, t.organisation_id, o.name AS organisation_name, \
             t.user_id, u.display_name, t.scope, t.issued_at, t.revoked_at FROM api_tokens t \
             JOIN organisations o ON o.id = t.organisation_id JOIN users u ON u.id = t.user_id \
             ORDER BY t.id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut list = Vec::new();
        for r in &rows {
            let organisation = OrganisationId::new(get_i64(r, "organisation_id")?);
            if !can_manage_users(admin, organisation) {
                continue;
            }
            let scope: String = r.try_get("scope")?;
            list.push(ApiTokenSummary {
                id: get_i64(r, "id")?,
                client_name: r.try_get("client_name")?,
                organisation,
                organisation_name: r.try_get("organisation_name")?,
                acts_for: UserId::new(get_i64(r, "user_id")?),
                acts_for_name: r.try_get("display_name")?,
                scope: stored_scope(scope)?,
                issued_at: parse_instant(
                    "api_tokens.issued_at",
                    &r.try_get::<String, _>("issued_at")?,
                )?,
                revoked_at: r
                    .try_get::<Option<String>, _>("revoked_at")?
                    .map(|t| parse_instant("api_tokens.revoked_at", &t))
                    .transpose()?,
            });
        }
        Ok(list)
    }

    /// Revokes a token at once, if `admin` administers its organisation. Revoking twice is a
    /// no-op that is still audited.
    pub async fn revoke_api_token(&self, admin: &Principal, id: i64) -> Result<(), ApiTokenError> {
        let organisation = sqlx::query("SELECT organisation_id FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| get_i64(&r, "organisation_id"))
            .transpose()?
            .map(OrganisationId::new);
        let Some(organisation) = organisation else {
            return Err(ApiTokenError::NotFound);
        };
        if !can_manage_users(admin, organisation) {
            return Err(self
                .refuse_token_change(admin, format!("revoke API token {id}"))
                .await);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2 \
             WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now_text())
        .bind(admin.user.get())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit_with(
            &mut *tx,
            &token_event(
                Some(admin.user),
                AuditAction::Update,
                Some(id),
                "API token revoked".to_owned(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The client behind `token` for one request, with the use audited (`purpose` names the
    /// route template, never a concrete path or query). An unknown or revoked token, or one whose
    /// account is disabled or holds no usable role any more, is `None` and audited as `denied`
    /// without naming anyone, so probing with guessed tokens is visible.
    pub async fn authenticate_api_token(
        &self,
        token: &SecretString,
        purpose: &str,
    ) -> Result<Option<ApiClient>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, t.client_name, t.organisation_id, t.user_id, t.scope FROM api_tokens t \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = 1",
        )
        .bind(hex_sha256(token.expose_secret().as_bytes()))
        .fetch_optional(&self.pool)
        .await?;
        let client = match row {
            Some(r) => {
                let organisation = OrganisationId::new(get_i64(&r, "organisation_id")?);
                let mut principal = self.principal(UserId::new(get_i64(&r, "user_id")?)).await?;
                // The token carries the account's roles in its own organisation only, and never
                // admin: a token reaches records, not accounts.
                principal
                    .memberships
                    .retain(|m| m.organisation == organisation && m.role != Role::Admin);
                let scope: String = r.try_get("scope")?;
                Some(ApiClient {
                    token: get_i64(&r, "id")?,
                    client_name: r.try_get("client_name")?,
                    organisation,
                    principal,
                    scope: stored_scope(scope)?,
                })
                .filter(|c| !c.principal.memberships.is_empty())
            }
            None => None,
        };
        let event = match &client {
            Some(c) => token_event(
                Some(c.principal.user),
                AuditAction::Read,
                Some(c.token),
                format!("API request {purpose}"),
            ),
            None => token_event(
                None,
                AuditAction::Denied,
                None,
                format!("API request {purpose} with an unknown, revoked or unusable token"),
            ),
        };
        self.audit(event).await?;
        Ok(client)
    }
}
