-- Indexes found by the casework load benchmark (docs/benchmarks.md, "Casework load").
--
-- A case's current workers: the case page counts each worker's open lead cases over a service's
-- active cases, and the waiting list looks for active cases with no current worker. Both ask
-- "current rows of this case" (with the role and the user), which this index answers alone; the
-- primary key starts with the case too, but every probe then had to read the row for ended_on.
CREATE INDEX casework_workers_case_current ON casework_workers (case_id, ended_on, role, user_id);
