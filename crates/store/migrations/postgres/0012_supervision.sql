-- One-to-one supervision sessions with their agreed actions, and staff training records.
-- A session is seen only by its worker and the supervisor who held it (see domain::supervision),
-- so every read, list, write and refusal is audited as entity 'supervision_session'; training
-- records are audited as entity 'training'. Dates are 'YYYY-MM-DD' text and instants RFC 3339
-- text, as everywhere (see ARCHITECTURE.md).

CREATE TABLE supervision_sessions (
    id BIGSERIAL PRIMARY KEY,
    -- The organisation the supervisor supervised for; their access ends when they stop.
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    worker_id BIGINT NOT NULL REFERENCES users (id),
    supervisor_id BIGINT NOT NULL REFERENCES users (id),
    held_on TEXT NOT NULL,
    caseload TEXT NOT NULL,
    wellbeing TEXT NOT NULL,
    development TEXT NOT NULL,
    next_on TEXT,
    recorded_at TEXT NOT NULL,
    CHECK (worker_id <> supervisor_id)
);
CREATE INDEX supervision_sessions_worker ON supervision_sessions (worker_id, held_on);
CREATE INDEX supervision_sessions_supervisor ON supervision_sessions (supervisor_id, held_on);

CREATE TABLE supervision_actions (
    id BIGSERIAL PRIMARY KEY,
    session_id BIGINT NOT NULL REFERENCES supervision_sessions (id),
    text TEXT NOT NULL,
    due_on TEXT NOT NULL,
    done_on TEXT
);
CREATE INDEX supervision_actions_session ON supervision_actions (session_id);

CREATE TABLE training_records (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    -- What the course was; required for CPD and other training, optional otherwise.
    title TEXT NOT NULL,
    completed_on TEXT NOT NULL,
    expires_on TEXT,
    -- Hours of CPD in tenths of an hour, for CPD records only.
    cpd_tenths BIGINT,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);
CREATE INDEX training_records_user ON training_records (user_id, completed_on);
