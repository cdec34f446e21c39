//! Accounts: local users with argon2id password hashes, their roles per organisation, and sessions.
//!
//! Session tokens are random 256-bit values handed to the browser; only their SHA-256 hash is stored,
//! so a copy of the database cannot be used to take over a session.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use careweave_domain::access::{Membership, Principal, Role};
use careweave_domain::{OrganisationId, OrganisationKind, UserId};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{get_i64, instant_text, map_unique, now_text, parse_instant, Store, StoreError};

/// What is needed to create an account.
#[derive(Debug)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: SecretString,
    pub memberships: Vec<Membership>,
}

/// An account as shown to administrators (never the hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub active: bool,
    pub memberships: Vec<(OrganisationId, String, Role)>,
}

/// Who a live session belongs to, with what every signed-in page needs about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub principal: Principal,
    pub display_name: String,
    /// Each membership's organisation name and role, by organisation name, for the page header.
    pub labels: Vec<(String, Role)>,
    /// The kind of each organisation the user belongs to, for deciding which pages have anything
    /// for them (a charity's staff have no practice worklists).
    pub organisation_kinds: Vec<(OrganisationId, OrganisationKind)>,
    /// How far sign-in has got; only a [`SessionStage::Full`] session reaches the service.
    pub stage: SessionStage,
}

/// How far a session's sign-in has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Signed in.
    Full,
    /// The password was right; a second-factor code is still to come.
    Code,
    /// The password was right, and an organisation requires a second factor the account does not
    /// have yet: it must enrol first.
    Enrol,
}

impl SessionStage {
    fn code(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Code => "code",
            Self::Enrol => "enrol",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "full" => Self::Full,
            "code" => Self::Code,
            "enrol" => Self::Enrol,
            _ => return None,
        })
    }
}

/// A session token as given to the browser. It is a secret: it is never logged.
#[derive(Clone)]
pub struct SessionToken(SecretString);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

impl SessionToken {
    /// Wraps a token read from a cookie.
    #[must_use]
    pub fn from_cookie(value: &str) -> Self {
        Self(SecretString::from(value.to_owned()))
    }

    /// The token's text, for setting the cookie.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    fn hash(&self) -> String {
        hex_sha256(self.0.expose_secret().as_bytes())
    }
}

pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random URL-safe token with 256 bits of entropy.
#[must_use]
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new password for a reset: 120 random bits in five groups of four letters and digits, which
/// always passes the password rule (`domain::account::password`). It is shown to the admin once, to pass on to the person.
#[must_use]
pub fn generated_password() -> String {
    let token = random_token();
    let plain: String = token
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect();
    plain
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Hashes a password with argon2id and a fresh salt.
pub fn hash_password(password: &SecretString) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::PasswordHash(e.to_string()))
}

// A hash of a password nobody knows, verified when the username does not exist so that a wrong
// username takes as long as a wrong password and timing does not reveal which accounts exist.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&SecretString::from(random_token())).unwrap_or_default())
}

pub(crate) fn password_matches(password: &SecretString, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok()
    })
}

impl Store {
    /// Creates an account with its memberships, in one transaction.
    pub async fn create_user(&self, new: NewUser) -> Result<UserId, StoreError> {
        let hash = hash_password(&new.password)?;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO users (username, display_name, password_hash, active, created_at) \
             VALUES ($1, $2, $3, 1, $4) RETURNING id",
        )
        .bind(new.username.trim().to_lowercase())
        .bind(new.display_name.trim())
        .bind(hash)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_unique("An account with that username"))?;
        let id = UserId::new(get_i64(&row, "id")?);
        for m in &new.memberships {
            sqlx::query(
                "INSERT INTO memberships (user_id, organisation_id, role) VALUES ($1, $2, $3)",
            )
            .bind(id.get())
            .bind(m.organisation.get())
            .bind(m.role.code())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Checks a username and password. `None` covers both an unknown user and a wrong password, on
    /// purpose: callers must not be able to tell which.
    pub async fn verify_password(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<Option<UserId>, StoreError> {
        let row =
            sqlx::query("SELECT id, password_hash FROM users WHERE username = $1 AND active = 1")
                .bind(username.trim().to_lowercase())
                .fetch_optional(&self.pool)
                .await?;
        let (id, stored) = match &row {
            Some(r) => (
                Some(get_i64(r, "id")?),
                r.try_get::<String, _>("password_hash")?,
            ),
            None => (None, decoy_hash().to_owned()),
        };
        let ok = verify_off_thread(password.clone(), stored).await;
        Ok(id.filter(|_| ok).map(UserId::new))
    }

    /// The user's roles, as the access policy needs them.
    pub async fn principal(&self, user: UserId) -> Result<Principal, StoreError> {
        let rows = sqlx::query("SELECT organisation_id, role FROM memberships WHERE user_id = $1 ORDER BY organisation_id, role")
            .bind(user.get())
            .fetch_all(&self.pool)
            .await?;
        let mut memberships = Vec::with_capacity(rows.len());
        for r in rows {
            let code: String = r.try_get("role")?;
            let role = Role::from_code(&code).ok_or(StoreError::Corrupt {
                column: "memberships.role",
                detail: code,
            })?;
            memberships.push(Membership {
                organisation: OrganisationId::new(get_i64(&r, "organisation_id")?),
                role,
            });
        }
        Ok(Principal { user, memberships })
    }

    /// Every account with its memberships, for the administration pages.
    pub async fn list_users(&self) -> Result<Vec<UserSummary>, StoreError> {
        self.users_where(None).await
    }

    /// One account with its memberships; `None` when there is no such account.
    pub async fn user_summary(&self, user: UserId) -> Result<Option<UserSummary>, StoreError> {
        Ok(self.users_where(Some(user)).await?.pop())
    }

    /// The id of the account signing in as `username` (compared as stored: trimmed, lower case).
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserId>, StoreError> {
        let row = sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(username.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| get_i64(&r, "id").map(UserId::new)).transpose()
    }

    async fn users_where(&self, only: Option<UserId>) -> Result<Vec<UserSummary>, StoreError> {
        let only = only.map_or(-1, UserId::get);
        let users = sqlx::query(
            "SELECT id, username, display_name, active FROM users \
             WHERE ($1 < 0 OR id = $1) ORDER BY username",
        )
        .bind(only)
        .fetch_all(&self.pool)
        .await?;
        let memberships = sqlx::query(
            "SELECT m.user_id, m.organisation_id, o.name, m.role FROM memberships m \
             JOIN organisations o ON o.id = m.organisation_id \
             WHERE ($1 < 0 OR m.user_id = $1) ORDER BY o.name, m.role",
        )
        .bind(only)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            let id = get_i64(&u, "id")?;
            let mut mine = Vec::new();
            for m in memberships
                .iter()
                .filter(|m| m.try_get::<i64, _>("user_id").ok() == Some(id))
            {
                let code: String = m.try_get("role")?;
                if let Some(role) = Role::from_code(&code) {
                    mine.push((
                        OrganisationId::new(get_i64(m, "organisation_id")?),
                        m.try_get::<String, _>("name")?,
                        role,
                    ));
                }
            }
            out.push(UserSummary {
                id: UserId::new(id),
                username: u.try_get("username")?,
                display_name: u.try_get("display_name")?,
                active: get_i64(&u, "active")? == 1,
                memberships: mine,
            });
        }
        Ok(out)
    }

    /// The user's roles with their organisations' names, for the page header.
    pub async fn membership_labels(&self, user: UserId) -> Result<Vec<(String, Role)>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.name, m.role FROM memberships m JOIN organisations o ON o.id = m.organisation_id \
             WHERE m.user_id = $1 ORDER BY o.name, m.role",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let code: String = r.try_get("role")?;
                let role = Role::from_code(&code).ok_or(StoreError::Corrupt {
                    column: "memberships.role",
                    detail: code,
                })?;
                Ok((r.try_get("name")?, role))
            })
            .collect()
    }

    /// The name shown in the header for a signed-in user.
    pub async fn display_name(&self, user: UserId) -> Result<String, StoreError> {
        let row = sqlx::query("SELECT display_name FROM users WHERE id = $1")
            .bind(user.get())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("The account"))?;
        Ok(row.try_get("display_name")?)
    }

    /// Starts a session lasting `lifetime` and returns its token.
    pub async fn create_session(
        &self,
        user: UserId,
        lifetime: Duration,
    ) -> Result<SessionToken, StoreError> {
        self.create_session_at(user, lifetime, SessionStage::Full)
            .await
    }

    /// Starts a session at a stage of sign-in (a short one, while a second factor is awaited).
    pub async fn create_session_at(
        &self,
        user: UserId,
        lifetime: Duration,
        stage: SessionStage,
    ) -> Result<SessionToken, StoreError> {
        let token = SessionToken(SecretString::from(random_token()));
        let now = Utc::now();
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at, stage) VALUES ($1, $2, $3, $4, $5)")
            .bind(token.hash())
            .bind(user.get())
            .bind(instant_text(now))
            .bind(instant_text(now + lifetime))
            .bind(stage.code())
            .execute(&self.pool)
            .await?;
        Ok(token)
    }

    /// Finishes sign-in: replaces a session waiting for its second factor by a full one with a new
    /// token, so a token seen before the second factor is worth nothing after it. `None` when the
    /// old session had already gone (it is used once).
    pub async fn complete_session(
        &self,
        old: &SessionToken,
        lifetime: Duration,
    ) -> Result<Option<SessionToken>, StoreError> {
        let token = SessionToken(SecretString::from(random_token()));
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
            .bind(old.hash())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at, stage) VALUES ($1, $2, $3, $4, 'full')")
            .bind(token.hash())
            .bind(get_i64(&row, "user_id")?)
            .bind(instant_text(now))
            .bind(instant_text(now + lifetime))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// The user a live, fully signed-in session belongs to; `None` if the token is unknown, has
    /// expired or is still waiting for a second factor.
    pub async fn session_user(
        &self,
        token: &SessionToken,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        Ok(self
            .signed_in(token, now)
            .await?
            .filter(|signed_in| signed_in.stage == SessionStage::Full)
            .map(|signed_in| signed_in.principal.user))
    }

    /// The account of a live session with its memberships, in two queries: every signed-in request
    /// asks this, so it is one lookup of the session and one of the memberships rather than one
    /// query per fact (see the casework load benchmark in `docs/benchmarks.md`). `None` if the
    /// token is unknown, has expired or belongs to a deactivated account.
    pub async fn signed_in(
        &self,
        token: &SessionToken,
        now: DateTime<Utc>,
    ) -> Result<Option<SignedIn>, StoreError> {
        let row = sqlx::query(
            "SELECT s.user_id, s.expires_at, s.stage, u.display_name FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND u.active = 1",
        )
        .bind(token.hash())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires = parse_instant(
            "sessions.expires_at",
            &row.try_get::<String, _>("expires_at")?,
        )?;
        if expires <= now {
            return Ok(None);
        }
        let user = UserId::new(get_i64(&row, "user_id")?);
        let rows = sqlx::query(
            "SELECT m.organisation_id, o.name, o.kind, m.role FROM memberships m \
             JOIN organisations o ON o.id = m.organisation_id WHERE m.user_id = $1 \
             ORDER BY o.name, m.role",
        )
        .bind(user.get())
        .fetch_all(&self.pool)
        .await?;
        let mut labels = Vec::with_capacity(rows.len());
        let mut memberships = Vec::with_capacity(rows.len());
        let mut organisation_kinds = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind: String = r.try_get("kind")?;
            organisation_kinds.push((
                OrganisationId::new(get_i64(r, "organisation_id")?),
                OrganisationKind::from_code(&kind).ok_or(StoreError::Corrupt {
                    column: "organisations.kind",
                    detail: kind,
                })?,
            ));
            let code: String = r.try_get("role")?;
            let role = Role::from_code(&code).ok_or(StoreError::Corrupt {
                column: "memberships.role",
                detail: code,
            })?;
            labels.push((r.try_get("name")?, role));
            memberships.push(Membership {
                organisation: OrganisationId::new(get_i64(r, "organisation_id")?),
                role,
            });
        }
        // The same order as [`Store::principal`], so a principal compares equal either way.
        memberships.sort_by_key(|m| (m.organisation, m.role.code()));
        Ok(Some(SignedIn {
            principal: Principal { user, memberships },
            display_name: row.try_get("display_name")?,
            labels,
            organisation_kinds,
            stage: SessionStage::from_code(&row.try_get::<String, _>("stage")?).ok_or(
                StoreError::Corrupt {
                    column: "sessions.stage",
                    detail: String::new(),
                },
            )?,
        }))
    }

    /// Ends a session (sign out).
    pub async fn delete_session(&self, token: &SessionToken) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token.hash())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes expired sessions; run periodically.
    pub async fn purge_expired_sessions(&self) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_text())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

async fn verify_off_thread(password: SecretString, stored: String) -> bool {
    // Argon2 takes tens of milliseconds of CPU; run it on the blocking pool, not an async worker.
    tokio::task::spawn_blocking(move || password_matches(&password, &stored))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_password_rule() {
        for _ in 0..20 {
            let p = generated_password();
            assert_eq!(p.len(), 24, "{p}");
            assert_eq!(careweave_domain::account::password(&p, &[]), Ok(()));
        }
    }
}
