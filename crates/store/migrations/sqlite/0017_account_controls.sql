-- Counters that slow sign-in down after failures and limit the public referral form, kept in the
-- database so that every process serving it shares them (see store::throttle).
-- `scope` says what is counted: 'pair' (one account from one address), 'account', 'address',
-- 'known' (an address this account has signed in from) and 'refer' (public form submissions).
-- `subject` is a SHA-256 of the account name and/or address, so the table holds no addresses.
CREATE TABLE throttle (
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    hits BIGINT NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (scope, subject)
);
CREATE INDEX throttle_last ON throttle (last_at);
