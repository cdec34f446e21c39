-- Goal attainment (issue 7, item 5): each rating of a plan goal on the five-point goal attainment
-- scale, from -2 (much less than expected) to +2 (much more than expected), kept with its date so
-- that the case shows how the goal moved from its first rating to its latest.
CREATE TABLE casework_goal_attainment (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    goal_id INTEGER NOT NULL REFERENCES casework_goals (id),
    rated_on TEXT NOT NULL,
    level INTEGER NOT NULL CHECK (level BETWEEN -2 AND 2),
    rated_by INTEGER NOT NULL REFERENCES users (id)
);
CREATE INDEX casework_goal_attainment_goal ON casework_goal_attainment (goal_id);
