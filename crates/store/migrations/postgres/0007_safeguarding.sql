-- Safeguarding concerns raised from a case, their actions and the referral to the local authority.
-- A concern is seen by fewer people than its case (see domain::safeguarding), so nothing about it is
-- written to the case timeline; every read and write is audited as entity 'safeguarding_concern'.
-- Dates are 'YYYY-MM-DD' text and instants RFC 3339 text, as everywhere (see ARCHITECTURE.md).

CREATE TABLE safeguarding_concerns (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES casework_cases (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    category TEXT NOT NULL,
    risk TEXT NOT NULL CHECK (risk IN ('low', 'medium', 'high', 'immediate')),
    status TEXT NOT NULL CHECK (status IN ('open', 'referred', 'closed')),
    -- When the worker saw or heard what worries them, which may be before the day they record it.
    noticed_on TEXT NOT NULL,
    description TEXT NOT NULL,
    raised_by BIGINT NOT NULL REFERENCES users (id),
    raised_at TEXT NOT NULL,
    -- The referral to the local authority: all four set together, or none.
    la_referred_on TEXT,
    la_reference TEXT,
    la_referred_by BIGINT REFERENCES users (id),
    la_recorded_at TEXT,
    closed_on TEXT,
    close_reason TEXT,
    CHECK ((la_referred_on IS NULL) = (la_referred_by IS NULL))
);
CREATE INDEX safeguarding_concerns_case ON safeguarding_concerns (case_id, status);

CREATE TABLE safeguarding_actions (
    id BIGSERIAL PRIMARY KEY,
    concern_id BIGINT NOT NULL REFERENCES safeguarding_concerns (id),
    text TEXT NOT NULL,
    -- Who will do it, as words: often someone outside careweave (the council's duty team, the police).
    owner TEXT NOT NULL,
    due_on TEXT NOT NULL,
    done_on TEXT,
    added_by BIGINT NOT NULL REFERENCES users (id),
    added_at TEXT NOT NULL
);
CREATE INDEX safeguarding_actions_concern ON safeguarding_actions (concern_id);
