-- Multi-factor sign-in (TOTP with recovery codes) and sign-in through an organisation's OpenID
-- Connect provider (issue 12, item 10). Instants are RFC 3339 UTC text, as everywhere.

-- A session is 'full' once sign-in is complete. Between the password and the second factor it is
-- 'code' (waiting for a code) or 'enrol' (an organisation requires MFA and the account has none);
-- such a session reaches only the pages that finish signing in (see web::session).
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full'
    CHECK (stage IN ('full', 'code', 'enrol'));

-- An organisation may require every member to sign in with a second factor.
ALTER TABLE organisations ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0
    CHECK (mfa_required IN (0, 1));

-- One TOTP secret per account. `secret` is 'aes-gcm:' with the nonce and ciphertext (base64) when
-- the deployment configured `mfa_secret_key`, else 'plain:' with the base32 secret (see
-- store::mfa). It is active once `confirmed_at` is set; `last_step` is the last 30-second step a
-- code was accepted for, so a code is never accepted twice.
CREATE TABLE user_mfa (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    secret TEXT NOT NULL,
    confirmed_at TEXT,
    last_step INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

-- Single-use recovery codes, stored as argon2id hashes like passwords.
CREATE TABLE mfa_recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (user_id);

-- An account linked by an administrator to an identity at an OpenID Connect provider: by the
-- provider's subject identifier ('sub') or by the email address its ID token carries ('email').
-- Only a link lets someone in through a provider; nothing creates an account or a role.
CREATE TABLE oidc_links (
    provider TEXT NOT NULL,
    claim TEXT NOT NULL CHECK (claim IN ('sub', 'email')),
    value TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (provider, claim, value)
);
CREATE INDEX oidc_links_user ON oidc_links (user_id);

-- Sign-ins through a provider in flight: keyed by a SHA-256 of the `state` sent to the provider,
-- with the nonce and the PKCE verifier, used once and forgotten after ten minutes.
CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    next TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
