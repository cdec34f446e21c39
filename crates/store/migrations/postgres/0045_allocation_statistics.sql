-- The waiting list finds the active cases with no current worker (index
-- casework_cases_unallocated). Discharged cases have no workers either, so the planner, which
-- treats current_workers = 0 and the status as independent, expected thousands of rows where a
-- place has tens; it then hashed the whole people table to join their names, about 50 ms a
-- request at 150,000 people and growing with the population. Statistics on the two columns
-- together give it the real count, and it looks the names up by key instead (about 1 ms).
CREATE STATISTICS casework_cases_allocation (mcv) ON current_workers, status FROM casework_cases;
ANALYZE casework_cases;
