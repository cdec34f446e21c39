-- PostgreSQL's migration 0045 gives its planner statistics on current_workers and status
-- together. SQLite keeps no statistics unless asked (and a deployment never asks), and its
-- planner already reads the unallocated cases through their index and looks each person up by
-- key, so it needs nothing; this file keeps the two lists of migrations numbered alike.
SELECT 1;
