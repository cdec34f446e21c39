-- The place partnership workspace (issue 20): a workspace per place for the organisations that
-- plan its care together, community survey answers (kept without identifiers) tagged by theme,
-- roadshow and engagement notes, the clinical group's answers to the four questions with their
-- evidence, the partnership's own good-practice entries, solution-building events with their
-- actions, and integration self-assessments scored item by item.
-- Nothing here names a person the system cares for. Who may open a workspace is
-- domain::place::place_access over place_partners; every change is audited as entity 'place'.
-- Dates are 'YYYY-MM-DD' text and instants RFC 3339 text, as everywhere (see ARCHITECTURE.md).

CREATE TABLE place_workspaces (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    -- The registry place whose population profile the workspace shows.
    place_id BIGINT NOT NULL REFERENCES places (id),
    description TEXT NOT NULL DEFAULT '',
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);

CREATE TABLE place_partners (
    workspace_id BIGINT NOT NULL REFERENCES place_workspaces (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (workspace_id, organisation_id)
);
CREATE INDEX place_partners_organisation ON place_partners (organisation_id);

-- The themes free-text answers are tagged with: configuration, like the event themes. A theme's
-- keywords are matched at the start of a word; partnership leads add themes, none is deleted.
CREATE TABLE place_themes (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    keywords TEXT NOT NULL,
    position BIGINT NOT NULL
);
INSERT INTO place_themes (code, label, keywords, position) VALUES
    ('access', 'Getting an appointment', 'appointment,get through,waiting,wait,receptionist,phone line', 1),
    ('transport', 'Transport and getting about', 'bus,buses,transport,taxi,parking,lift,travel', 2),
    ('isolation', 'Loneliness and isolation', 'lonel,isolat,on my own,alone,nobody to talk', 3),
    ('mental_health', 'Mental health and wellbeing', 'mental,anxi,depress,stress,wellbeing', 4),
    ('money', 'Money, debt and the cost of living', 'money,debt,benefit,afford,cost of living,bills', 5),
    ('housing', 'Housing', 'housing,damp,landlord,rent,home repair', 6),
    ('carers', 'Caring for someone', 'carer,caring for,look after my', 7),
    ('joined_up', 'Services working together', 'joined up,repeat my story,tell my story,pass me,passed between,same story', 8);

CREATE TABLE place_surveys (
    id BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES place_workspaces (id),
    title TEXT NOT NULL,
    file_name TEXT NOT NULL,
    accepted BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    imported_by BIGINT NOT NULL REFERENCES users (id),
    imported_at TEXT NOT NULL
);

CREATE TABLE place_survey_answers (
    id BIGSERIAL PRIMARY KEY,
    survey_id BIGINT NOT NULL REFERENCES place_surveys (id),
    line BIGINT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE INDEX place_survey_answers_survey ON place_survey_answers (survey_id);

-- One row per demographic column of the file ("Age band" = "75+").
CREATE TABLE place_survey_groups (
    answer_id BIGINT NOT NULL REFERENCES place_survey_answers (id),
    field TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX place_survey_groups_answer ON place_survey_groups (answer_id);

CREATE TABLE place_survey_answer_themes (
    answer_id BIGINT NOT NULL REFERENCES place_survey_answers (id),
    theme TEXT NOT NULL REFERENCES place_themes (code),
    PRIMARY KEY (answer_id, theme)
);

CREATE TABLE place_notes (
    id BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES place_workspaces (id),
    kind TEXT NOT NULL CHECK (kind IN ('roadshow', 'engagement')),
    held_on TEXT NOT NULL,
    title TEXT NOT NULL,
    notes TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);

-- The clinical group's answer to each of the four questions; the latest text replaces the last.
CREATE TABLE place_answers (
    workspace_id BIGINT NOT NULL REFERENCES place_workspaces (id),
    question TEXT NOT NULL CHECK (question IN ('best_practice', 'innovation', 'integration', 'long_term')),
    answer TEXT NOT NULL,
    updated_by BIGINT NOT NULL REFERENCES users (id),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, question)
);

-- What an answer rests on: a chart of the profile (its dimension), a cohort (its name) or a
-- catalogue entry (a shipped id or 'own-N' for the partnership's own entry).
CREATE TABLE place_answer_evidence (
    id BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES place_workspaces (id),
    question TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('chart', 'cohort', 'practice')),
    reference TEXT NOT NULL,
    UNIQUE (workspace_id, question, kind, reference)
);

-- Good practice the partnership adds beside the shipped catalogue.
CREATE TABLE place_practices (
    id BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES place_workspaces (id),
    title TEXT NOT NULL,
    area TEXT NOT NULL,
    what TEXT NOT NULL,
    for_whom TEXT NOT NULL,
    result TEXT NOT NULL,
    strength TEXT NOT NULL CHECK (strength IN ('reported', 'before_after', 'comparison_group', 'trial')),
    source TEXT NOT NULL,
    added_by BIGINT NOT NULL REFERENCES users (id),
    added_at TEXT NOT NULL
);

CREATE TABLE place_events (
    id BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES place_workspaces (id),
    title TEXT NOT NULL,
    held_on TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);

CREATE TABLE place_event_items (
    id BIGSERIAL PRIMARY KEY,
    event_id BIGINT NOT NULL REFERENCES place_events (id),
    kind TEXT NOT NULL CHECK (kind IN ('proposal', 'decision')),
    text TEXT NOT NULL
);

-- Actions agreed at an event, followed up on the workspace until done. `link` names what the
-- action should move (a cohort or a service), so the next run or evaluation shows whether it did.
CREATE TABLE place_actions (
    id BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES place_workspaces (id),
    event_id BIGINT REFERENCES place_events (id),
    description TEXT NOT NULL,
    owner TEXT NOT NULL,
    due_on TEXT NOT NULL,
    link TEXT NOT NULL DEFAULT '',
    done_on TEXT,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE INDEX place_actions_workspace ON place_actions (workspace_id, done_on);

CREATE TABLE place_assessments (
    id BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES place_workspaces (id),
    assessed_on TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);

-- One row per checklist item scored; items are the checklist file's stable ids.
CREATE TABLE place_assessment_scores (
    assessment_id BIGINT NOT NULL REFERENCES place_assessments (id),
    item_id TEXT NOT NULL,
    score TEXT NOT NULL CHECK (score IN ('not_started', 'developing', 'established', 'embedded')),
    evidence TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (assessment_id, item_id)
);
