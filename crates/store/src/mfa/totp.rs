//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP, HMAC-SHA-1, six digits, 30-second
//! steps: what every authenticator app speaks), base32 for showing secrets, and encrypting secrets
//! at rest.
//!
//! Written here rather than taken from a crate because it is a few lines over `hmac` and `sha1`,
//! which the build already has, and the replay rule (a step is accepted once) lives in the store.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

use crate::StoreError;

/// The length of one step, in seconds.
pub const STEP_SECONDS: i64 = 30;
/// How many steps either side of now a code is accepted for, for clocks that drift a little.
const DRIFT_STEPS: i64 = 1;
/// The length of a generated secret in bytes (160 bits, RFC 4226's recommendation).
const SECRET_BYTES: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The six-digit code for a secret at one step (RFC 4226 section 5.3).
#[must_use]
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let Ok(mut mac) = <Hmac<Sha1> as Mac>::new_from_slice(secret) else {
        // HMAC takes a key of any length, so this does not happen.
        return u32::MAX;
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 1_000_000
}

/// The step a Unix time falls in.
#[must_use]
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The latest step near `now_step` for which `code` is right, if any. The caller still refuses a
/// step at or before the last one accepted, so a code is used once.
#[must_use]
pub fn matching_step(secret: &[u8], code: &str, now_step: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    (now_step - DRIFT_STEPS..=now_step + DRIFT_STEPS)
        .rev()
        .find(|step| code_at(secret, *step) == wanted)
}

/// A new random secret.
#[must_use]
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// RFC 4648 base32 without padding, as authenticator apps expect secrets to be typed.
#[must_use]
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Reads base32 (any case, spaces and padding ignored); `None` for any other character.
#[must_use]
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = BASE32
            .iter()
            .position(|b| char::from(*b) == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | u32::try_from(value).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// The key that encrypts TOTP secrets at rest (AES-256-GCM), from the `mfa_secret_key` setting.
#[derive(Clone)]
pub struct SecretKey(Aes256Gcm);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// Reads a key written as base64 of 32 random bytes (`openssl rand -base64 32`).
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "mfa_secret_key is not base64".to_owned())?;
        Aes256Gcm::new_from_slice(&bytes)
            .map(Self)
            .map_err(|_| "mfa_secret_key must be 32 bytes (openssl rand -base64 32)".to_owned())
    }
}

const ENCRYPTED: &str = "aes-gcm:";
const PLAIN: &str = "plain:";

/// The stored form of a secret: encrypted and bound to its account when a key is configured.
pub(crate) fn seal(
    secret: &[u8],
    key: Option<&SecretKey>,
    user: i64,
) -> Result<String, StoreError> {
    let Some(key) = key else {
        return Ok(format!("{PLAIN}{}", base32(secret)));
    };
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let aad = user.to_be_bytes();
    let sealed = key
        .0
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: secret,
                aad: &aad,
            },
        )
        .map_err(|_| corrupt("could not encrypt"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(format!(
        "{ENCRYPTED}{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}

/// The secret from its stored form. A plain secret stays readable after a key is configured, so
/// turning encryption on does not lock anyone out (they are encrypted at their next enrolment).
pub(crate) fn open(
    stored: &str,
    key: Option<&SecretKey>,
    user: i64,
) -> Result<Vec<u8>, StoreError> {
    if let Some(plain) = stored.strip_prefix(PLAIN) {
        return from_base32(plain).ok_or_else(|| corrupt("not base32"));
    }
    let sealed = stored
        .strip_prefix(ENCRYPTED)
        .ok_or_else(|| corrupt("unknown format"))?;
    let key = key.ok_or_else(|| corrupt("encrypted, but no mfa_secret_key is configured"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| corrupt("not base64"))?;
    if bytes.len() < 12 {
        return Err(corrupt("too short"));
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let aad = user.to_be_bytes();
    key.0
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| corrupt("does not decrypt with the configured mfa_secret_key"))
}

fn corrupt(detail: &str) -> StoreError {
    StoreError::Corrupt {
        column: "user_mfa.secret",
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_test_vectors() {
        // Appendix B of RFC 6238 (SHA-1, secret "12345678901234567890"), last six digits.
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, 287_082),
            (1_111_111_109, 81_804),
            (1_111_111_111, 50_471),
            (1_234_567_890, 5_924),
            (2_000_000_000, 279_037),
        ] {
            assert_eq!(code_at(secret, step_of(time)), code, "at {time}");
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(from_base32("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert_eq!(from_base32("MZ1"), None);
        let secret = new_secret();
        assert_eq!(from_base32(&base32(&secret)).unwrap(), secret);
    }

    #[test]
    fn codes_match_within_one_step_only() {
        let secret = b"12345678901234567890";
        let now = step_of(1_111_111_111);
        let code = format!("{:06}", code_at(secret, now - 1));
        assert_eq!(matching_step(secret, &code, now), Some(now - 1));
        assert_eq!(matching_step(secret, &code, now + 2), None);
        assert_eq!(matching_step(secret, "12345", now), None);
        assert_eq!(matching_step(secret, "abcdef", now), None);
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_account() {
        let key = SecretKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").unwrap();
        let other = SecretKey::from_base64("ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=").unwrap();
        let secret = new_secret();
        let sealed = seal(&secret, Some(&key), 7).unwrap();
        assert!(sealed.starts_with(ENCRYPTED));
        assert!(!sealed.contains(&base32(&secret)));
        assert_eq!(open(&sealed, Some(&key), 7).unwrap(), secret);
        assert!(open(&sealed, Some(&other), 7).is_err());
        assert!(
            open(&sealed, Some(&key), 8).is_err(),
            "bound to its account"
        );
        assert!(open(&sealed, None, 7).is_err());
        let plain = seal(&secret, None, 7).unwrap();
        assert_eq!(open(&plain, Some(&key), 7).unwrap(), secret);
        assert!(SecretKey::from_base64("c2hvcnQ=").is_err());
    }
}
