-- Worklists a team can work through (issue 16, item 3): the figures behind each row, so that a list
-- can be sorted and shown with the scores behind its reasons; the criteria's readable descriptions;
-- and a worker's decision to set a person aside ("snoozed" or "not suitable") with a reason and a
-- date to look again, so that a list shrinks as it is worked.

ALTER TABLE population_worklist ADD COLUMN age INTEGER;
ALTER TABLE population_worklist ADD COLUMN sex TEXT;
ALTER TABLE population_worklist ADD COLUMN criteria_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE population_worklist ADD COLUMN efi REAL;
ALTER TABLE population_worklist ADD COLUMN charlson INTEGER;
ALTER TABLE population_worklist ADD COLUMN hfrs REAL;
ALTER TABLE population_worklist ADD COLUMN emergency_admissions INTEGER;
CREATE INDEX population_worklist_practice ON population_worklist (run_id, cohort, practice);

-- One row per criterion of each cohort of a run, with the words a worker reads instead of its name.
CREATE TABLE population_criteria (
    run_id INTEGER NOT NULL REFERENCES population_runs (id),
    cohort TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (run_id, cohort, name)
);

-- Decisions outlive a run: they are keyed by cohort and NHS number, and the latest decision for a
-- pair applies until its review date. Rows are never updated; a new decision is a new row.
CREATE TABLE worklist_decisions (
    id INTEGER PRIMARY KEY,
    cohort TEXT NOT NULL,
    nhs_number TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('snoozed', 'not_suitable')),
    reason TEXT NOT NULL,
    review_on TEXT NOT NULL,
    decided_by INTEGER NOT NULL REFERENCES users (id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    decided_at TEXT NOT NULL
);
CREATE INDEX worklist_decisions_person ON worklist_decisions (cohort, nhs_number);
