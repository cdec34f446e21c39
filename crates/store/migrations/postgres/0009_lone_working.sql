-- Lone working (issue 7, item 4): a visit plan with its times and companion, check-in and
-- check-out, each employer's visit rules as data, and safety flags on people and addresses.

-- A planned visit says where, when and when the worker expects to be back; visits planned before
-- this migration have no times and are never counted overdue.
ALTER TABLE casework_visits ADD COLUMN starts_at TEXT;
ALTER TABLE casework_visits ADD COLUMN back_by TEXT;
ALTER TABLE casework_visits ADD COLUMN place TEXT NOT NULL DEFAULT '';
ALTER TABLE casework_visits ADD COLUMN companion_user_id BIGINT REFERENCES users (id);
ALTER TABLE casework_visits ADD COLUMN status TEXT NOT NULL DEFAULT 'planned'
    CHECK (status IN ('planned', 'checked_in', 'checked_out', 'cancelled'));
ALTER TABLE casework_visits ADD COLUMN checked_in_at TEXT;
ALTER TABLE casework_visits ADD COLUMN checked_out_at TEXT;
-- When a supervisor, not the worker, closed the visit: who and what they found.
ALTER TABLE casework_visits ADD COLUMN closed_by BIGINT REFERENCES users (id);
ALTER TABLE casework_visits ADD COLUMN closed_note TEXT NOT NULL DEFAULT '';
CREATE INDEX casework_visits_open ON casework_visits (status, visit_on);

-- An employer's rules about visits, as rows of a kind careweave knows how to check.
CREATE TABLE visit_rules (
    id BIGSERIAL PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('companion_required', 'nhs_companion_required',
        'no_lone_visits_after', 'no_unannounced_visits')),
    -- For no_lone_visits_after: the time (HH:MM) by which a lone visit must end.
    after_time TEXT,
    added_by BIGINT NOT NULL REFERENCES users (id),
    added_on TEXT NOT NULL,
    ended_on TEXT
);
CREATE INDEX visit_rules_organisation ON visit_rules (organisation_id, ended_on);

-- A safety flag on a person, or on an address (a household: everyone living there).
CREATE TABLE safety_flags (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT REFERENCES people (id),
    household_id BIGINT REFERENCES households (id),
    reason TEXT NOT NULL,
    raised_by BIGINT NOT NULL REFERENCES users (id),
    raised_on TEXT NOT NULL,
    ended_on TEXT,
    CHECK ((person_id IS NULL AND household_id IS NOT NULL) OR (person_id IS NOT NULL AND household_id IS NULL))
);
CREATE INDEX safety_flags_person ON safety_flags (person_id);
CREATE INDEX safety_flags_household ON safety_flags (household_id);
