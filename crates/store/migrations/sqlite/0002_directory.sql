-- The community services directory (Open Referral UK): published services, the postcode table their
-- distances come from, proposed edits and reports that keep it true, and the personal-data side:
-- signposts, referrals to providers, and unmet needs (recorded without naming the person).
-- Each service is kept as its ORUK JSON document plus the columns the store itself queries.

CREATE TABLE directory_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    -- Bumped by every change to published services, so that search indexes know to reload.
    revision INTEGER NOT NULL,
    referral_flag_days INTEGER NOT NULL CHECK (referral_flag_days BETWEEN 1 AND 365),
    stale_after_days INTEGER NOT NULL CHECK (stale_after_days BETWEEN 1 AND 3650)
);
INSERT INTO directory_settings (id, revision, referral_flag_days, stale_after_days) VALUES (1, 0, 10, 365);

CREATE TABLE directory_postcodes (
    postcode TEXT PRIMARY KEY,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL
);

CREATE TABLE directory_services (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    organization_name TEXT NOT NULL,
    -- The careweave organisation that runs the service, when it is one: its staff answer referrals.
    provider_id INTEGER REFERENCES organisations (id),
    -- The careweave organisation that keeps the entry true.
    owner_id INTEGER NOT NULL REFERENCES organisations (id),
    accepts_referrals INTEGER NOT NULL CHECK (accepts_referrals IN (0, 1)),
    last_reviewed TEXT,
    last_modified TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX directory_services_owner ON directory_services (owner_id);
CREATE INDEX directory_services_provider ON directory_services (provider_id);

CREATE TABLE directory_proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id TEXT NOT NULL REFERENCES directory_services (id),
    proposed_by INTEGER NOT NULL REFERENCES users (id),
    summary TEXT NOT NULL,
    document TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at TEXT NOT NULL,
    decided_by INTEGER REFERENCES users (id),
    decided_at TEXT,
    decision_note TEXT
);
CREATE INDEX directory_proposals_status ON directory_proposals (status);

CREATE TABLE directory_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id TEXT NOT NULL REFERENCES directory_services (id),
    reported_by INTEGER NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolved_by INTEGER REFERENCES users (id),
    resolved_at TEXT
);
CREATE INDEX directory_reports_service ON directory_reports (service_id);

CREATE TABLE directory_signposts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES people (id),
    service_id TEXT NOT NULL REFERENCES directory_services (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    note TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX directory_signposts_person ON directory_signposts (person_id);

CREATE TABLE directory_referrals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES people (id),
    service_id TEXT NOT NULL REFERENCES directory_services (id),
    provider_id INTEGER NOT NULL REFERENCES organisations (id),
    referred_by INTEGER NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at TEXT NOT NULL,
    answered_by INTEGER REFERENCES users (id),
    answered_at TEXT,
    answer_note TEXT
);
CREATE INDEX directory_referrals_person ON directory_referrals (person_id);
CREATE INDEX directory_referrals_provider ON directory_referrals (provider_id, status);

CREATE TABLE directory_unmet_needs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    need TEXT NOT NULL,
    area TEXT NOT NULL,
    recorded_by INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);
