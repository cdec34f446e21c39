-- The population engine's results, loaded so that the web app can show them. Each load is a run;
-- pages show the latest. Place profiles are aggregates that already passed disclosure control in
-- the engine (a NULL count was 7 or fewer). The worklist is person-level: it is read only through
-- `store::population::worklist`, which applies the access policy and audits every read.

CREATE TABLE population_runs (
    id BIGSERIAL PRIMARY KEY,
    index_date TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    disclosure_control BIGINT NOT NULL CHECK (disclosure_control IN (0, 1))
);

CREATE TABLE population_profiles (
    run_id BIGINT NOT NULL REFERENCES population_runs (id),
    level TEXT NOT NULL,
    place TEXT NOT NULL,
    place_name TEXT,
    dimension TEXT NOT NULL,
    category TEXT NOT NULL,
    people BIGINT,
    emergency_admissions BIGINT,
    ae_attendances BIGINT,
    gp_appointments BIGINT,
    bed_days BIGINT,
    cost BIGINT
);
CREATE INDEX population_profiles_place ON population_profiles (run_id, level, place);

CREATE TABLE population_cohorts (
    run_id BIGINT NOT NULL REFERENCES population_runs (id),
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE population_worklist (
    run_id BIGINT NOT NULL REFERENCES population_runs (id),
    cohort TEXT NOT NULL,
    nhs_number TEXT NOT NULL,
    practice TEXT,
    segment TEXT,
    criteria_met TEXT NOT NULL
);
CREATE INDEX population_worklist_cohort ON population_worklist (run_id, cohort);
