-- Outcome measures (issue 7, item 5). The instruments themselves are definition files loaded at
-- start (crates/instruments); the database keeps which instruments each service schedules, and
-- each measure taken: the answers as given and the scores they produced at the time.

-- A service's schedule for one instrument: a baseline when support starts, a follow-up a set
-- number of days into the episode, and one at discharge.
CREATE TABLE outcome_schedules (
    service_id BIGINT NOT NULL REFERENCES casework_services (service_id),
    instrument_id TEXT NOT NULL,
    follow_up_days BIGINT CHECK (follow_up_days BETWEEN 1 AND 730),
    at_discharge BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (service_id, instrument_id)
);

CREATE TABLE outcome_records (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES casework_cases (id),
    instrument_id TEXT NOT NULL,
    instrument_version TEXT NOT NULL,
    instrument_name TEXT NOT NULL,
    taken_on TEXT NOT NULL,
    point TEXT NOT NULL CHECK (point IN ('baseline', 'follow_up', 'discharge')),
    -- The answers as given, so the record can be checked and re-scored: "i:item=value" and
    -- "x:scale=score" or "x:scale=score/level", separated by ";".
    answers TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);
CREATE INDEX outcome_records_case ON outcome_records (case_id, instrument_id);

CREATE TABLE outcome_scores (
    record_id BIGINT NOT NULL REFERENCES outcome_records (id),
    scale_id TEXT NOT NULL,
    scale_name TEXT NOT NULL,
    reported DOUBLE PRECISION NOT NULL,
    raw DOUBLE PRECISION NOT NULL,
    band TEXT,
    level BIGINT,
    PRIMARY KEY (record_id, scale_id)
);
