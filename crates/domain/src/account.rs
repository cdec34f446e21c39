//! Staff accounts: what a username and a password must be, who may manage an account, and how
//! sign-in attempts are slowed down after failures.
//!
//! These rules are shared by the web forms and the command line so that neither accepts what the
//! other refuses.

use chrono::Duration;

use crate::access::{can_manage_users, Membership, Principal};

/// The minimum password length; NCSC guidance favours length over composition rules.
pub const MIN_PASSWORD: usize = 12;

/// Only this many characters are judged for guessability: the estimator's work grows quickly with
/// length, and a password this long is not guessable for that reason alone.
const JUDGED_CHARACTERS: usize = 64;

/// Checks a sign-in name (an email address) and returns it as stored: trimmed and lower case.
///
/// # Errors
/// The message to show beside the field.
pub fn username(text: &str) -> Result<String, &'static str> {
    let username = text.trim();
    if username.is_empty() {
        return Err("Enter an email address");
    }
    let well_formed = username.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    });
    if !well_formed || username.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err("Enter an email address in the correct format, like name@example.org");
    }
    Ok(username.to_lowercase())
}

/// Checks a new password against the password rule: 12 characters or more, not only spaces, and
/// not easy to guess (a common password, a keyboard pattern, a word with digits, or the person's
/// own name or username), judged by the zxcvbn estimator.
///
/// # Errors
/// The message to show beside the field. It never repeats the password.
pub fn password(password: &str, about_the_person: &[&str]) -> Result<(), &'static str> {
    if password.chars().count() < MIN_PASSWORD {
        return Err("Password must be 12 characters or more");
    }
    if password.trim().is_empty() {
        return Err("Password must contain letters, numbers or symbols, not only spaces");
    }
    let judged: String = password.chars().take(JUDGED_CHARACTERS).collect();
    // The estimator matches whole dictionary words, so names and addresses are given word by word:
    // "ada.lovelace@example.org" should make "lovelace2026" weak.
    let words: Vec<&str> = about_the_person
        .iter()
        .flat_map(|text| text.split(|c: char| !c.is_alphanumeric()))
        .filter(|word| word.chars().count() > 2)
        .collect();
    let strength = zxcvbn::zxcvbn(&judged, &words);
    // Score 3 is "safely unguessable" for an offline attack on a slow hash such as argon2id.
    if u8::from(strength.score()) < 3 {
        return Err(
            "Password is too easy to guess: it is a common password or close to one. \
             Use three or four random words instead",
        );
    }
    Ok(())
}

/// Whether an admin may disable, re-enable, reset the password of and end the sessions of an
/// account with `memberships`: only when every one of its roles is in an organisation the admin
/// administers. An account shared with another organisation affects that organisation too, so its
/// admin there (or the command line) does that; this admin removes their own organisation's roles.
#[must_use]
pub fn can_manage_account(admin: &Principal, memberships: &[Membership]) -> bool {
    !memberships.is_empty()
        && memberships
            .iter()
            .all(|m| can_manage_users(admin, m.organisation))
}

/// How long sign-in attempts wait after failures: the first `free_failures` cost nothing, then
/// each further failure doubles the wait from `first_wait`, never beyond `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub free_failures: i64,
    pub first_wait: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The wait after `failures` failures in a row.
    #[must_use]
    pub fn wait(&self, failures: i64) -> Duration {
        if failures < self.free_failures {
            return Duration::zero();
        }
        let doublings = u32::try_from(failures - self.free_failures).unwrap_or(u32::MAX);
        let factor = 2_i32.checked_pow(doublings).unwrap_or(i32::MAX);
        self.first_wait
            .checked_mul(factor)
            .map_or(self.cap, |wait| wait.min(self.cap))
    }
}

/// The three counters that slow sign-in down, from strictest to loosest.
///
/// - one account from one address (someone guessing one password): 5 free failures, then 1 s,
///   2 s, 4 s… up to `cap`;
/// - one address across accounts (someone trying one password on many accounts): 30 free, then the
///   same growth up to `cap`;
/// - one account across addresses (guessing from many addresses): 10 free, then up to one minute
///   at most. This one is capped low on purpose, and it does not apply to an address the account
///   has signed in from before, so that an attacker elsewhere can delay staff by a minute on a new
///   address at most and can never lock them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub account_and_address: Backoff,
    pub address: Backoff,
    pub account: Backoff,
}

impl ThrottlePolicy {
    /// The policy with the longest wait `cap` (the account-wide wait is capped at one minute, or at
    /// `cap` when that is shorter).
    #[must_use]
    pub fn with_cap(cap: Duration) -> Self {
        let backoff = |free_failures, cap| Backoff {
            free_failures,
            first_wait: Duration::seconds(1).min(cap),
            cap,
        };
        Self {
            account_and_address: backoff(5, cap),
            address: backoff(30, cap),
            account: backoff(10, cap.min(Duration::minutes(1))),
        }
    }
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self::with_cap(Duration::minutes(15))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;
    use crate::{OrganisationId, UserId};

    #[test]
    fn usernames_are_email_addresses() {
        assert_eq!(username("  Ada@Example.ORG "), Ok("ada@example.org".into()));
        assert!(username("ada").is_err());
        assert!(username("").is_err());
        assert!(username("@example.org").is_err());
        assert!(username("ada@").is_err());
        assert!(username("ada lovelace@example.org").is_err());
        assert!(username("a@b@c").is_err());
    }

    #[test]
    fn passwords_need_length_substance_and_to_be_hard_to_guess() {
        assert_eq!(
            password("short", &[]),
            Err("Password must be 12 characters or more")
        );
        assert!(password(&" ".repeat(12), &[])
            .unwrap_err()
            .contains("not only spaces"));
        for common in [
            "password1234",
            "qwertyuiop123",
            "123456789012",
            "aaaaaaaaaaaa",
        ] {
            assert!(
                password(common, &[]).unwrap_err().contains("too easy"),
                "{common} was accepted"
            );
        }
        assert!(password(
            "lovelace2026",
            &["ada.lovelace@example.org", "Ada Lovelace"]
        )
        .is_err());
        assert_eq!(password("a long demo passphrase", &[]), Ok(()));
        assert_eq!(password("copper kettle marching north", &[]), Ok(()));
    }

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_the_cap() {
        let policy = ThrottlePolicy::default();
        let pair = policy.account_and_address;
        assert_eq!(pair.wait(4), Duration::zero());
        assert_eq!(pair.wait(5), Duration::seconds(1));
        assert_eq!(pair.wait(6), Duration::seconds(2));
        assert_eq!(pair.wait(7), Duration::seconds(4));
        assert_eq!(pair.wait(50), Duration::minutes(15));
        assert_eq!(pair.wait(i64::MAX), Duration::minutes(15));
        assert_eq!(policy.account.wait(1000), Duration::minutes(1));
        assert_eq!(policy.address.wait(29), Duration::zero());
        let short = ThrottlePolicy::with_cap(Duration::seconds(2));
        assert_eq!(short.account_and_address.wait(50), Duration::seconds(2));
    }

    #[test]
    fn an_admin_manages_only_accounts_wholly_within_their_organisations() {
        let a = OrganisationId::new(1);
        let b = OrganisationId::new(2);
        let admin = Principal {
            user: UserId::new(9),
            memberships: vec![Membership {
                organisation: a,
                role: Role::Admin,
            }],
        };
        let worker_at = |organisation| Membership {
            organisation,
            role: Role::Worker,
        };
        assert!(can_manage_account(&admin, &[worker_at(a)]));
        assert!(!can_manage_account(&admin, &[worker_at(b)]));
        assert!(!can_manage_account(&admin, &[worker_at(a), worker_at(b)]));
        assert!(!can_manage_account(&admin, &[]));
        let worker = Principal {
            user: UserId::new(3),
            memberships: vec![worker_at(a)],
        };
        assert!(!can_manage_account(&worker, &[worker_at(a)]));
    }
}
