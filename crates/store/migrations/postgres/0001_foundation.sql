-- The foundation: places, organisations, people, staff, accounts, sessions, care teams and the audit log.
-- Dates are ISO 8601 text ('YYYY-MM-DD') and instants are RFC 3339 UTC text, identical on both backends,
-- so that one set of queries serves SQLite and PostgreSQL (see ARCHITECTURE.md, "Persistence").

CREATE TABLE places (
    id BIGSERIAL PRIMARY KEY,
    level TEXT NOT NULL CHECK (level IN ('lsoa', 'practice', 'pcn', 'locality', 'ics')),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id BIGINT REFERENCES places (id),
    imd_decile BIGINT CHECK (imd_decile BETWEEN 1 AND 10),
    UNIQUE (level, code)
);

CREATE TABLE organisations (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    ods_code TEXT UNIQUE,
    place_id BIGINT REFERENCES places (id)
);

CREATE TABLE households (
    id BIGSERIAL PRIMARY KEY,
    postcode TEXT,
    lsoa_code TEXT
);

CREATE TABLE people (
    id BIGSERIAL PRIMARY KEY,
    nhs_number TEXT NOT NULL UNIQUE,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    sex TEXT NOT NULL,
    postcode TEXT,
    lsoa_code TEXT,
    imd_decile BIGINT CHECK (imd_decile BETWEEN 1 AND 10),
    registered_practice_id BIGINT NOT NULL REFERENCES organisations (id),
    household_id BIGINT REFERENCES households (id),
    date_of_death TEXT
);
CREATE INDEX people_practice ON people (registered_practice_id);
CREATE INDEX people_household ON people (household_id);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE memberships (
    user_id BIGINT NOT NULL REFERENCES users (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'worker', 'supervisor', 'referrer', 'analyst', 'commissioner')),
    PRIMARY KEY (user_id, organisation_id, role)
);

CREATE TABLE staff (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT UNIQUE REFERENCES users (id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    specialism TEXT,
    employer_id BIGINT NOT NULL REFERENCES organisations (id),
    base_practice_id BIGINT REFERENCES organisations (id),
    funding TEXT NOT NULL
);

CREATE TABLE teams (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    hosted_by_id BIGINT NOT NULL REFERENCES organisations (id)
);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams (id),
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    PRIMARY KEY (team_id, staff_id)
);

CREATE TABLE services (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    provider_id BIGINT NOT NULL REFERENCES organisations (id),
    team_id BIGINT REFERENCES teams (id),
    description TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE care_team (
    person_id BIGINT NOT NULL REFERENCES people (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    started_on TEXT NOT NULL,
    ended_on TEXT,
    PRIMARY KEY (person_id, user_id, started_on)
);
CREATE INDEX care_team_user ON care_team (user_id);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id),
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT,
    reason TEXT NOT NULL
);
CREATE INDEX audit_entity ON audit_log (entity, entity_id);
CREATE INDEX audit_user ON audit_log (user_id);

-- The audit log is append-only: the database itself refuses to change or remove a row.
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
