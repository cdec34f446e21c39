-- MDT meetings: a meeting held for a casework service's team or for a GP practice, its core members
-- (careweave accounts) and invited others (recorded by name and organisation, often from outside
-- organisations), its agenda of cases (each with the lists that put it there), and per case the
-- discussion, the decision, how and when the person was told, and the actions with their owners.
-- Two flags a worker sets on a case feed the agenda lists: "worried about" (with the reason) and a
-- discharge from hospital (with its date). Every read and write is audited (see store::mdt).
-- Dates are 'YYYY-MM-DD' text and instants RFC 3339 text, as everywhere (see ARCHITECTURE.md).

CREATE TABLE mdt_case_flags (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES casework_cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('worried_about', 'hospital_discharge')),
    -- The day the worker became worried, or the day the person left hospital.
    noted_on TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_by BIGINT NOT NULL REFERENCES users (id),
    set_at TEXT NOT NULL,
    cleared_on TEXT,
    cleared_by BIGINT REFERENCES users (id)
);
CREATE INDEX mdt_case_flags_case ON mdt_case_flags (case_id, kind);

CREATE TABLE mdt_meetings (
    id BIGSERIAL PRIMARY KEY,
    title TEXT NOT NULL,
    -- Exactly one host: the team that works a casework service, or a GP practice.
    service_id BIGINT REFERENCES casework_services (service_id),
    practice_id BIGINT REFERENCES organisations (id),
    held_on TEXT NOT NULL,
    -- 'HH:MM', local time.
    starts_at TEXT NOT NULL,
    location TEXT NOT NULL,
    -- The agenda lists the team chose, as comma-separated codes (domain::mdt::AgendaList).
    lists TEXT NOT NULL,
    -- The population worklist's cohort, when the 'worklist' list was chosen.
    cohort TEXT,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    CHECK ((service_id IS NULL) <> (practice_id IS NULL))
);
CREATE INDEX mdt_meetings_held_on ON mdt_meetings (held_on);

CREATE TABLE mdt_members (
    id BIGSERIAL PRIMARY KEY,
    meeting_id BIGINT NOT NULL REFERENCES mdt_meetings (id),
    -- Core members are careweave accounts; invited others may be anyone, named in words.
    user_id BIGINT REFERENCES users (id),
    name TEXT NOT NULL,
    organisation TEXT NOT NULL,
    role TEXT NOT NULL,
    core BIGINT NOT NULL CHECK (core IN (0, 1)),
    CHECK (core = 0 OR user_id IS NOT NULL)
);
CREATE INDEX mdt_members_meeting ON mdt_members (meeting_id);
CREATE INDEX mdt_members_user ON mdt_members (user_id);

CREATE TABLE mdt_items (
    id BIGSERIAL PRIMARY KEY,
    meeting_id BIGINT NOT NULL REFERENCES mdt_meetings (id),
    case_id BIGINT NOT NULL REFERENCES casework_cases (id),
    -- Why the case is on the agenda: comma-separated AgendaList codes and/or 'by_hand'.
    reasons TEXT NOT NULL,
    added_by BIGINT NOT NULL REFERENCES users (id),
    added_at TEXT NOT NULL,
    discussion TEXT NOT NULL DEFAULT '',
    decision TEXT NOT NULL DEFAULT '',
    -- How and when the decision was told to the person; NULL until recorded.
    told_how TEXT,
    told_on TEXT,
    recorded_by BIGINT REFERENCES users (id),
    recorded_at TEXT,
    UNIQUE (meeting_id, case_id)
);
CREATE INDEX mdt_items_case ON mdt_items (case_id);

CREATE TABLE mdt_actions (
    id BIGSERIAL PRIMARY KEY,
    item_id BIGINT NOT NULL REFERENCES mdt_items (id),
    text TEXT NOT NULL,
    -- Who will do it, in words: often someone outside careweave (the district nurse, housing).
    owner TEXT NOT NULL,
    due_on TEXT NOT NULL,
    done_on TEXT,
    added_by BIGINT NOT NULL REFERENCES users (id),
    added_at TEXT NOT NULL
);
CREATE INDEX mdt_actions_item ON mdt_actions (item_id);
