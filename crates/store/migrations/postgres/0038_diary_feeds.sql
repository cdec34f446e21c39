-- A worker's diary feed (issue 16, item 5): the secret address a calendar app subscribes to, which
-- answers without a sign-in. Only the SHA-256 hash of the address's token is kept (the address is
-- shown once, when it is made); one address per account, replaced by making a new one and removed
-- by stopping the feed. Instants are RFC 3339 UTC text, as everywhere.
CREATE TABLE diary_feeds (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
