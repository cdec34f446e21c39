-- A discharge confirmed despite warnings (issue 16, item 8): "goals met" with every goal at 0%
-- progress, or an outcome measure the service's schedule asks for at discharge not recorded. The
-- warnings the worker saw (one a line) and the reason they gave are kept with the discharge; both
-- are NULL for a discharge without warnings and are cleared, like the rest of the discharge, when
-- the case is reopened (the timeline keeps the history).
ALTER TABLE casework_cases ADD COLUMN discharge_warnings TEXT;
ALTER TABLE casework_cases ADD COLUMN discharge_override TEXT;
-- The instrument's name as the schedule was set, so that a warning about a measure due at
-- discharge names it in words without loading the instrument definitions (NULL on schedules set
-- before this migration; the store then falls back to the name on a recorded measure).
ALTER TABLE outcome_schedules ADD COLUMN instrument_name TEXT;
