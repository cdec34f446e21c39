-- Casework: one front door to discharge. Services with their eligibility advice, review interval and
-- capacity caps; referrals as they were made (the person's details as given, so that a self-referral
-- can be matched to the right person later); the one waiting list's prioritisation weights; cases with
-- their workers, timeline, contacts, planned visits, assessments, plan (versioned against concurrent
-- saves), reviews and discharge; and carers with the person's wishes about involving them.
-- Dates are 'YYYY-MM-DD' text and instants RFC 3339 text, as everywhere (see ARCHITECTURE.md).

CREATE TABLE casework_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    urgent INTEGER NOT NULL CHECK (urgent >= 0),
    soon INTEGER NOT NULL CHECK (soon >= 0),
    routine INTEGER NOT NULL CHECK (routine >= 0),
    per_week_waiting INTEGER NOT NULL CHECK (per_week_waiting >= 0),
    per_risk_flag INTEGER NOT NULL CHECK (per_risk_flag >= 0),
    cohort INTEGER NOT NULL CHECK (cohort >= 0)
);
INSERT INTO casework_settings (id, urgent, soon, routine, per_week_waiting, per_risk_flag, cohort)
VALUES (1, 100, 40, 0, 5, 15, 10);

-- The life domains of the holistic assessment; a deployment may add or rename rows.
CREATE TABLE casework_life_domains (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    position INTEGER NOT NULL
);
INSERT INTO casework_life_domains (code, label, position) VALUES
    ('personal', 'Personal wellbeing', 1),
    ('mental_health', 'Mental health', 2),
    ('physical_health', 'Physical health', 3),
    ('social', 'Social connection', 4),
    ('spiritual', 'Spiritual and cultural', 5),
    ('finances', 'Money and finances', 6),
    ('housing', 'Housing', 7),
    ('relationships', 'Relationships', 8),
    ('parenting', 'Parenting', 9),
    ('employment', 'Work, learning and volunteering', 10);

-- Casework settings of a service in the registry (`services`): kind, eligibility advice, reviews, caps.
CREATE TABLE casework_services (
    service_id INTEGER PRIMARY KEY REFERENCES services (id),
    kind TEXT NOT NULL CHECK (kind IN ('focused_care', 'social_prescribing', 'other')),
    -- Eligibility advice: needs in at least this many of the eight domains; NULL takes anyone.
    min_need_domains INTEGER CHECK (min_need_domains BETWEEN 1 AND 8),
    review_interval_days INTEGER NOT NULL CHECK (review_interval_days BETWEEN 7 AND 92),
    worker_cap INTEGER CHECK (worker_cap > 0),
    practice_cap INTEGER CHECK (practice_cap > 0)
);

-- Other employers whose staff work the service's one waiting list (SAPA 5: four employers, one team).
CREATE TABLE casework_service_partners (
    service_id INTEGER NOT NULL REFERENCES casework_services (service_id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (service_id, organisation_id)
);

CREATE TABLE casework_referrals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id INTEGER NOT NULL REFERENCES casework_services (service_id),
    -- NULL until the referral is matched to (or merged with) a person in the registry.
    person_id INTEGER REFERENCES people (id),
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    nhs_number TEXT,
    practice_id INTEGER REFERENCES organisations (id),
    contact TEXT NOT NULL,
    source TEXT NOT NULL,
    route TEXT NOT NULL,
    reason TEXT NOT NULL,
    needs TEXT NOT NULL,
    concerns TEXT NOT NULL,
    need_domains TEXT NOT NULL,
    risk_flags TEXT NOT NULL,
    cohort TEXT,
    urgency TEXT NOT NULL CHECK (urgency IN ('urgent', 'soon', 'routine')),
    consent_share_detail INTEGER NOT NULL CHECK (consent_share_detail IN (0, 1)),
    referrer_user_id INTEGER REFERENCES users (id),
    referrer_name TEXT NOT NULL,
    referrer_contact TEXT NOT NULL,
    received_at TEXT NOT NULL,
    received_on TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'accepted', 'declined', 'redirected')),
    triaged_by INTEGER REFERENCES users (id),
    triaged_on TEXT,
    triage_reason TEXT,
    override_reason TEXT,
    redirected_to INTEGER REFERENCES casework_referrals (id),
    case_id INTEGER
);
CREATE INDEX casework_referrals_status ON casework_referrals (status, service_id);
CREATE INDEX casework_referrals_person ON casework_referrals (person_id);
CREATE INDEX casework_referrals_referrer ON casework_referrals (referrer_user_id);
CREATE INDEX casework_referrals_match ON casework_referrals (date_of_birth, family_name);

CREATE TABLE casework_cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES people (id),
    service_id INTEGER NOT NULL REFERENCES casework_services (service_id),
    referral_id INTEGER NOT NULL REFERENCES casework_referrals (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'on_hold', 'discharged', 'reopened')),
    opened_on TEXT NOT NULL,
    -- The most recent opening or reopening: the review clock and the duration of support start here.
    episode_started_on TEXT NOT NULL,
    intensity TEXT NOT NULL CHECK (intensity IN ('high', 'low')),
    reopen_count INTEGER NOT NULL DEFAULT 0,
    last_review_on TEXT,
    review_due_on TEXT NOT NULL,
    discharged_on TEXT,
    discharge_reason TEXT,
    discharge_destination TEXT,
    gp_agreement TEXT,
    discharge_summary TEXT,
    what_matters TEXT NOT NULL DEFAULT '',
    priorities TEXT NOT NULL DEFAULT '',
    escalation TEXT NOT NULL DEFAULT '',
    -- Bumped by every change to the plan; a save that names an older version is refused.
    plan_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX casework_cases_status ON casework_cases (status, service_id);
CREATE INDEX casework_cases_person ON casework_cases (person_id);

CREATE TABLE casework_workers (
    case_id INTEGER NOT NULL REFERENCES casework_cases (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('lead', 'co_worker', 'cover')),
    started_on TEXT NOT NULL,
    ended_on TEXT,
    PRIMARY KEY (case_id, user_id, role, started_on)
);
CREATE INDEX casework_workers_user ON casework_workers (user_id, ended_on);

-- The case timeline: one row for everything that happened, in words without clinical detail.
CREATE TABLE casework_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES casework_cases (id),
    at TEXT NOT NULL,
    on_date TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id),
    kind TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX casework_events_case ON casework_events (case_id);

CREATE TABLE casework_contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES casework_cases (id),
    contact_type TEXT NOT NULL,
    contact_on TEXT NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
    present TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_by INTEGER NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);
CREATE INDEX casework_contacts_case ON casework_contacts (case_id);

CREATE TABLE casework_visits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES casework_cases (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    visit_on TEXT NOT NULL,
    contact_type TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX casework_visits_user ON casework_visits (user_id, visit_on);

CREATE TABLE casework_assessments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES casework_cases (id),
    assessed_on TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    strengths TEXT NOT NULL
);
CREATE INDEX casework_assessments_case ON casework_assessments (case_id);

CREATE TABLE casework_assessment_scores (
    assessment_id INTEGER NOT NULL REFERENCES casework_assessments (id),
    domain_code TEXT NOT NULL REFERENCES casework_life_domains (code),
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    PRIMARY KEY (assessment_id, domain_code)
);

CREATE TABLE casework_goals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES casework_cases (id),
    text TEXT NOT NULL,
    target_on TEXT,
    progress INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100)
);
CREATE INDEX casework_goals_case ON casework_goals (case_id);

CREATE TABLE casework_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES casework_cases (id),
    text TEXT NOT NULL,
    owner TEXT NOT NULL,
    owner_user_id INTEGER REFERENCES users (id),
    due_on TEXT NOT NULL,
    done_on TEXT
);
CREATE INDEX casework_actions_case ON casework_actions (case_id);

-- Graded steps, week by week (the occupational therapist's plan in SAPA 5).
CREATE TABLE casework_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES casework_cases (id),
    week INTEGER NOT NULL CHECK (week BETWEEN 1 AND 104),
    text TEXT NOT NULL
);
CREATE INDEX casework_steps_case ON casework_steps (case_id);

CREATE TABLE casework_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL REFERENCES casework_cases (id),
    reviewed_on TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    intensity TEXT NOT NULL CHECK (intensity IN ('high', 'low')),
    summary TEXT NOT NULL
);
CREATE INDEX casework_reviews_case ON casework_reviews (case_id);

CREATE TABLE casework_carers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES people (id),
    name TEXT NOT NULL,
    relationship TEXT NOT NULL,
    contact TEXT NOT NULL,
    involve TEXT NOT NULL CHECK (involve IN ('yes', 'no', 'ask')),
    recorded_by INTEGER NOT NULL REFERENCES users (id)
);
CREATE INDEX casework_carers_person ON casework_carers (person_id);
