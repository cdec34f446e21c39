-- How many workers a case has now, kept beside the case (docs/benchmarks.md, "Casework load").
--
-- The waiting list shows the accepted cases still waiting for a worker. Finding them meant probing
-- the workers of every active case of the service on every view (thousands of lookups for a few
-- rows); with the count on the case, an index finds them directly. The store recounts it from
-- casework_workers in the same transaction as every change to a case's workers, so it cannot
-- drift from the rows it counts.
ALTER TABLE casework_cases ADD COLUMN current_workers INTEGER NOT NULL DEFAULT 0;
UPDATE casework_cases SET current_workers =
    (SELECT COUNT(*) FROM casework_workers w WHERE w.case_id = casework_cases.id AND w.ended_on IS NULL);
CREATE INDEX casework_cases_unallocated ON casework_cases (current_workers, status, service_id);
