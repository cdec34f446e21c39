-- Issue 16: a sign-in role for the managers of a primary care network or a practice, who read the
-- aggregate reports, the workforce plan, the evaluation and their own practices' population
-- profile and worklists, and no person's record. SQLite cannot change a CHECK constraint, so the
-- memberships table is rebuilt with the same columns and rows; nothing references it.
CREATE TABLE memberships_new (
    user_id INTEGER NOT NULL REFERENCES users (id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'worker', 'supervisor', 'referrer', 'analyst', 'commissioner', 'manager')),
    PRIMARY KEY (user_id, organisation_id, role)
);
INSERT INTO memberships_new (user_id, organisation_id, role)
    SELECT user_id, organisation_id, role FROM memberships;
DROP TABLE memberships;
ALTER TABLE memberships_new RENAME TO memberships;
