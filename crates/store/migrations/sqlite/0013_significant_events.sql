-- Significant events and good news, tagged by theme, with escalation to the board.
-- An event's description is read only by the people domain::events::can_see_event names, so every
-- read, list, write and refusal is audited as entity 'significant_event'; reports show counts only.
-- Dates are 'YYYY-MM-DD' text and instants RFC 3339 text, as everywhere (see ARCHITECTURE.md).

-- The theme list is configuration: admins add themes and retire old ones, never delete them,
-- because past events keep their tags.
CREATE TABLE event_themes (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    position INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
INSERT INTO event_themes (code, label, position) VALUES
    ('housing_delays', 'Housing delays', 1),
    ('benefit_sanctions', 'Benefit sanctions', 2),
    ('mental_health_waits', 'Mental health waits', 3),
    ('service_failed', 'A service that failed someone', 4),
    ('cost_of_living', 'Cost of living and debt', 5),
    ('digital_exclusion', 'Digital exclusion', 6),
    ('loneliness', 'Loneliness and isolation', 7),
    ('partnership_working', 'Good partnership working', 8),
    ('other', 'Other', 9);

CREATE TABLE significant_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('significant_event', 'good_news')),
    service_id INTEGER NOT NULL REFERENCES casework_services (service_id),
    -- The recorder's employer among the service's organisations: its supervisors review the event.
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    case_id INTEGER REFERENCES casework_cases (id),
    -- The area for the themes report: a GP practice (the person's, when linked to a case).
    practice_id INTEGER REFERENCES organisations (id),
    occurred_on TEXT NOT NULL,
    description TEXT NOT NULL,
    escalate INTEGER NOT NULL CHECK (escalate IN (0, 1)),
    escalation_reason TEXT NOT NULL DEFAULT '',
    -- Set by a supervisor when the escalation was taken to the board.
    board_on TEXT,
    board_marked_by INTEGER REFERENCES users (id),
    recorded_by INTEGER NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL,
    CHECK (escalate = 1 OR board_on IS NULL)
);
CREATE INDEX significant_events_service ON significant_events (service_id, occurred_on);
CREATE INDEX significant_events_recorder ON significant_events (recorded_by);

CREATE TABLE significant_event_themes (
    event_id INTEGER NOT NULL REFERENCES significant_events (id),
    theme TEXT NOT NULL REFERENCES event_themes (code),
    PRIMARY KEY (event_id, theme)
);
