-- Each case's current lead worker, kept beside the case (docs/benchmarks.md, "Casework load").
--
-- The case page's allocation form shows how many open cases each of the service's workers leads.
-- Counting that from casework_workers joined every active case of the service to its workers and
-- sorted the result by worker on every view of every case; with the lead on the case, one covering
-- index gives the counts in worker order. Like current_workers, the store sets it from
-- casework_workers in the same transaction as every change to a case's workers. A case has at
-- most one current lead (allocating a lead ends the previous one).
ALTER TABLE casework_cases ADD COLUMN lead_user_id BIGINT REFERENCES users (id);
UPDATE casework_cases SET lead_user_id =
    (SELECT MIN(w.user_id) FROM casework_workers w
     WHERE w.case_id = casework_cases.id AND w.ended_on IS NULL AND w.role = 'lead');
CREATE INDEX casework_cases_lead ON casework_cases (service_id, lead_user_id, status);
