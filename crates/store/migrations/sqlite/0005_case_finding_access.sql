-- Opening a record asks whether the person is on the latest run's worklists (case finding gives
-- their practice and PCN a need to know), so that lookup needs an index by person.
CREATE INDEX population_worklist_person ON population_worklist (nhs_number, run_id);
