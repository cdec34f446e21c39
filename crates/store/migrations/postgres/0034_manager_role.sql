-- Issue 16: a sign-in role for the managers of a primary care network or a practice, who read the
-- aggregate reports, the workforce plan, the evaluation and their own practices' population
-- profile and worklists, and no person's record.
ALTER TABLE memberships DROP CONSTRAINT memberships_role_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_role_check
    CHECK (role IN ('admin', 'worker', 'supervisor', 'referrer', 'analyst', 'commissioner', 'manager'));
