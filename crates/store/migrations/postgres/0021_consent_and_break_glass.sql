-- Consent and sharing preferences, sensitive contact notes and break-glass (issue 12, items 8, 9).
-- Instants are RFC 3339 UTC text, as everywhere (see ARCHITECTURE.md "Persistence").

-- Each recorded change of a person's preferences is a new version; the highest version is the
-- current one and earlier ones are the history shown on the record. Rows are never updated.
CREATE TABLE consent_preferences (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    version BIGINT NOT NULL,
    gp_sharing TEXT NOT NULL CHECK (gp_sharing IN ('detail', 'codes_only')),
    share_with_carers BIGINT NOT NULL CHECK (share_with_carers IN (0, 1)),
    sensitive_with_care_team BIGINT NOT NULL CHECK (sensitive_with_care_team IN (0, 1)),
    method TEXT NOT NULL CHECK (method IN ('in_person', 'phone', 'written')),
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL,
    UNIQUE (person_id, version)
);

-- The organisations one version of the preferences names, with the person's answer for each.
CREATE TABLE consent_organisations (
    preference_id BIGINT NOT NULL REFERENCES consent_preferences (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    shares BIGINT NOT NULL CHECK (shares IN (0, 1)),
    PRIMARY KEY (preference_id, organisation_id)
);

-- A contact note may be marked sensitive with a category; its text is then shown only to those
-- domain::consent::can_see_sensitive names.
ALTER TABLE casework_contacts ADD COLUMN sensitive_category TEXT
    CHECK (sensitive_category IS NULL OR sensitive_category IN ('sexual_health', 'domestic_abuse'));

-- Emergency accesses. The row opens the record to its user until expires_at; the admins of
-- organisation_id (the accessing worker's organisation) review it. Review columns are set once.
CREATE TABLE break_glass (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    category TEXT NOT NULL CHECK (category IN ('risk_to_life', 'serious_harm', 'urgent_care')),
    reason TEXT NOT NULL CHECK (reason <> ''),
    opened_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    reviewed_by BIGINT REFERENCES users (id),
    reviewed_at TEXT,
    review_note TEXT
);
CREATE INDEX break_glass_person ON break_glass (person_id, expires_at);
CREATE INDEX break_glass_organisation ON break_glass (organisation_id, opened_at);
