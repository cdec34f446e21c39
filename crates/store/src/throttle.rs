//! Slowing down sign-in after failures, and limiting the public referral form, with counters kept
//! in the database so that every process serving it shares them.
//!
//! Sign-in attempts are counted before the password is checked and a success takes its count back,
//! so a burst of simultaneous guesses cannot all slip past a counter that has not caught up: each
//! attempt claims the next count of its (account, address) pair with a conditional update, and a
//! lost race reads the counters again. The counters are keyed by a SHA-256 of the account name as
//! typed and of the address, whether or not the account exists, so a throttled answer says nothing
//! about which accounts exist, and the table holds no addresses.

use careweave_domain::account::{Backoff, ThrottlePolicy};
use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use crate::{get_i64, instant_text, parse_instant, Store, StoreError};

/// A counter whose last failure is older than this starts again from nothing.
const FORGET_AFTER_HOURS: i64 = 24;
/// An address an account signed in from stays known for this long after the last sign-in.
const KNOWN_FOR_DAYS: i64 = 90;
/// How many times an attempt reads the counters again after losing a race to a concurrent one.
const CLAIM_TRIES: usize = 5;

/// Whether a sign-in attempt may have its password checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInGate {
    /// Check the password, then call [`Store::finish_sign_in`].
    Proceed,
    /// Refuse without checking: try again after this long.
    Wait(Duration),
}

/// The keys of one attempt's counters.
struct Subjects {
    pair: String,
    account: String,
    address: String,
}

impl Subjects {
    fn new(account: &str, address: &str) -> Self {
        let account = account.trim().to_lowercase();
        Self {
            pair: crate::accounts::hex_sha256(format!("{account}\n{address}").as_bytes()),
            account: crate::accounts::hex_sha256(account.as_bytes()),
            address: crate::accounts::hex_sha256(address.as_bytes()),
        }
    }
}

#[derive(Debug, Clone)]
struct Counter {
    scope: String,
    hits: i64,
    last_at: String,
}

impl Counter {
    /// When this counter next lets an attempt through, or `None` when it has been forgotten.
    fn open_at(&self, backoff: &Backoff, now: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
        let last = parse_instant("throttle.last_at", &self.last_at)?;
        if last < now - Duration::hours(FORGET_AFTER_HOURS) {
            return Ok(now);
        }
        Ok(last + backoff.wait(self.hits))
    }
}

impl Store {
    /// Decides whether a sign-in attempt for `account` (as typed) from `address` may go ahead, and
    /// if so counts it. Call [`Store::finish_sign_in`] after checking the password.
    pub async fn begin_sign_in(
        &self,
        account: &str,
        address: &str,
        policy: &ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> Result<SignInGate, StoreError> {
        let subjects = Subjects::new(account, address);
        for _ in 0..CLAIM_TRIES {
            let counters = self.sign_in_counters(&subjects).await?;
            let known = counters.iter().any(|c| {
                c.scope == "known"
                    && parse_instant("throttle.last_at", &c.last_at)
                        .is_ok_and(|at| at >= now - Duration::days(KNOWN_FOR_DAYS))
            });
            let mut open_at = now;
            for c in &counters {
                let backoff = match c.scope.as_str() {
                    "pair" => &policy.account_and_address,
                    // A known address is not slowed by failures elsewhere, so an attacker cannot
                    // lock staff out of the places they usually work from.
                    "account" if !known => &policy.account,
                    "address" if !known => &policy.address,
                    _ => continue,
                };
                open_at = open_at.max(c.open_at(backoff, now)?);
            }
            if open_at > now {
                return Ok(SignInGate::Wait(open_at - now));
            }
            let pair = counters.iter().find(|c| c.scope == "pair");
            if self.claim_pair(&subjects.pair, pair, now).await? {
                for (scope, subject) in [
                    ("account", &subjects.account),
                    ("address", &subjects.address),
                ] {
                    self.count(scope, subject, now).await?;
                }
                return Ok(SignInGate::Proceed);
            }
        }
        // Many simultaneous attempts for one account from one address: that is not a person.
        Ok(SignInGate::Wait(policy.account_and_address.first_wait))
    }

    /// Records how an attempt that [`Store::begin_sign_in`] let through ended. A success clears the
    /// pair's count, gives back its count on the account and address, and makes the address known
    /// for this account; a failure stays counted.
    pub async fn finish_sign_in(
        &self,
        account: &str,
        address: &str,
        succeeded: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if !succeeded {
            return Ok(());
        }
        let subjects = Subjects::new(account, address);
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM throttle WHERE scope = 'pair' AND subject = $1")
            .bind(&subjects.pair)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE throttle SET hits = hits - 1 WHERE hits > 0 AND \
             ((scope = 'account' AND subject = $1) OR (scope = 'address' AND subject = $2))",
        )
        .bind(&subjects.account)
        .bind(&subjects.address)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO throttle (scope, subject, hits, first_at, last_at) \
             VALUES ('known', $1, 1, $2, $2) \
             ON CONFLICT (scope, subject) DO UPDATE SET last_at = excluded.last_at",
        )
        .bind(&subjects.pair)
        .bind(instant_text(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts one submission of a public form from `address` and, when that makes more than
    /// `limit` in the current `window`, returns when the window ends and the form may be sent
    /// again. The window starts with the first submission after the previous one ended.
    pub async fn count_public_submission(
        &self,
        form: &'static str,
        address: &str,
        limit: i64,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(
            "INSERT INTO throttle (scope, subject, hits, first_at, last_at) \
             VALUES ($1, $2, 1, $3, $3) \
             ON CONFLICT (scope, subject) DO UPDATE SET \
             hits = CASE WHEN throttle.first_at <= $4 THEN 1 ELSE throttle.hits + 1 END, \
             first_at = CASE WHEN throttle.first_at <= $4 THEN excluded.first_at \
             ELSE throttle.first_at END, \
             last_at = excluded.last_at \
             RETURNING hits, first_at",
        )
        .bind(form)
        .bind(crate::accounts::hex_sha256(address.as_bytes()))
        .bind(instant_text(now))
        .bind(instant_text(now - window))
        .fetch_one(&self.pool)
        .await?;
        let hits = get_i64(&row, "hits")?;
        let first = parse_instant("throttle.first_at", &row.try_get::<String, _>("first_at")?)?;
        Ok((hits > limit).then_some(first + window))
    }

    /// Removes counters nobody will read again: forgotten failures, addresses long unused, and
    /// public-form windows long over. Run periodically, with [`Store::purge_expired_sessions`].
    pub async fn purge_stale_throttles(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM throttle WHERE (scope <> 'known' AND last_at < $1) \
             OR (scope = 'known' AND last_at < $2)",
        )
        .bind(instant_text(now - Duration::hours(FORGET_AFTER_HOURS)))
        .bind(instant_text(now - Duration::days(KNOWN_FOR_DAYS)))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn sign_in_counters(&self, subjects: &Subjects) -> Result<Vec<Counter>, StoreError> {
        let rows = sqlx::query(
            "SELECT scope, hits, last_at FROM throttle WHERE \
             (scope IN ('pair', 'known') AND subject = $1) \
             OR (scope = 'account' AND subject = $2) OR (scope = 'address' AND subject = $3)",
        )
        .bind(&subjects.pair)
        .bind(&subjects.account)
        .bind(&subjects.address)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Counter {
                    scope: r.try_get("scope")?,
                    hits: get_i64(r, "hits")?,
                    last_at: r.try_get("last_at")?,
                })
            })
            .collect()
    }

    /// Takes the next count of a pair's counter if nobody else took it since it was read.
    async fn claim_pair(
        &self,
        subject: &str,
        seen: Option<&Counter>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now_text = instant_text(now);
        let done = match seen {
            None => {
                sqlx::query(
                    "INSERT INTO throttle (scope, subject, hits, first_at, last_at) \
                     VALUES ('pair', $1, 1, $2, $2) ON CONFLICT (scope, subject) DO NOTHING",
                )
                .bind(subject)
                .bind(&now_text)
                .execute(&self.pool)
                .await?
            }
            Some(c) => {
                let forgotten = parse_instant("throttle.last_at", &c.last_at)?
                    < now - Duration::hours(FORGET_AFTER_HOURS);
                let hits = if forgotten { 1 } else { c.hits + 1 };
                sqlx::query(
                    "UPDATE throttle SET hits = $1, last_at = $2 \
                     WHERE scope = 'pair' AND subject = $3 AND hits = $4 AND last_at = $5",
                )
                .bind(hits)
                .bind(&now_text)
                .bind(subject)
                .bind(c.hits)
                .bind(&c.last_at)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }

    /// Adds one to a counter, starting it again when it had been forgotten.
    async fn count(
        &self,
        scope: &str,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO throttle (scope, subject, hits, first_at, last_at) \
             VALUES ($1, $2, 1, $3, $3) \
             ON CONFLICT (scope, subject) DO UPDATE SET \
             hits = CASE WHEN throttle.last_at < $4 THEN 1 ELSE throttle.hits + 1 END, \
             last_at = excluded.last_at",
        )
        .bind(scope)
        .bind(subject)
        .bind(instant_text(now))
        .bind(instant_text(now - Duration::hours(FORGET_AFTER_HOURS)))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
