-- The outbox (issue 17 item 3): every message careweave sends to another organisation (the
-- message back to the GP on discharge and on a referral's acceptance or decline) is built once,
-- in the same transaction as the change it reports, and kept here as it was sent: the readable
-- letter and the FHIR R4 message Bundle. A delivery worker sends queued rows through the
-- practice's configured transport and records each attempt; a row is never deleted by delivery,
-- so a message queued before a crash is still here after it. Instants are RFC 3339 UTC text.
CREATE TABLE outbox_messages (
    id BIGSERIAL PRIMARY KEY,
    -- The Bundle's id (a UUID), which the receiver's acknowledgement names.
    message_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('discharge', 'referral_accepted', 'referral_declined')),
    person_id BIGINT NOT NULL REFERENCES people (id),
    case_id BIGINT REFERENCES casework_cases (id),
    referral_id BIGINT REFERENCES casework_referrals (id),
    -- The GP practice the message is addressed to, and its name and ODS code as sent.
    practice_id BIGINT NOT NULL REFERENCES organisations (id),
    recipient TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TEXT NOT NULL,
    letter TEXT NOT NULL,
    bundle TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'acknowledged')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    -- How it went (a folder or an endpoint address) and when.
    delivered_via TEXT,
    sent_at TEXT,
    acknowledged_at TEXT
);
CREATE INDEX outbox_messages_due ON outbox_messages (status, next_attempt_at);
CREATE INDEX outbox_messages_case ON outbox_messages (case_id);
CREATE INDEX outbox_messages_person ON outbox_messages (person_id);
