-- Notifications (issue 16 item 6). A notification tells one user that something happened that
-- concerns them: a new referral for a service they work for, the outcome of a referral they
-- made, a directory referral answered. Each is written in the same transaction as the change
-- that causes it, one row per recipient, with its text already in words and without the
-- person's name (a recipient may not be able to open that person's record; the link takes them
-- to the page that checks). Tasks (reviews due, overdue actions) are not stored: they are read
-- from the cases when the list is shown. Instants are RFC 3339 UTC text.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('new_referral', 'referral_outcome', 'new_directory_referral', 'directory_referral_answered')),
    text TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX notifications_user ON notifications (user_id, read_at);

-- A user's choice to have their notifications emailed too, and the address to use.
CREATE TABLE notification_settings (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    email TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The emails, shaped like the outbox (0039): built once when the notification is written, kept
-- as sent, delivered by a worker with retries and exponential backoff, each attempt recorded.
CREATE TABLE notification_emails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    delivered_via TEXT,
    sent_at TEXT
);
CREATE INDEX notification_emails_due ON notification_emails (status, next_attempt_at);
