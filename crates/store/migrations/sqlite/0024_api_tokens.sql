-- API tokens for FHIR clients (issue 17). A token acts for one account within one organisation,
-- read-only or read and write; only its SHA-256 hash is stored (the token is shown once, when it
-- is issued). Revoking sets revoked_at; rows are kept so the audit log's references stay readable.
-- Instants are RFC 3339 UTC text, as everywhere (see ARCHITECTURE.md "Persistence").
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    client_name TEXT NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    scope TEXT NOT NULL CHECK (scope IN ('read', 'read_write')),
    issued_by INTEGER NOT NULL REFERENCES users (id),
    issued_at TEXT NOT NULL,
    revoked_by INTEGER REFERENCES users (id),
    revoked_at TEXT
);
CREATE INDEX api_tokens_organisation ON api_tokens (organisation_id);
