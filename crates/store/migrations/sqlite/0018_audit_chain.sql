-- The audit log becomes tamper-evident: every row carries the SHA-256 hash of its own fields and of
-- the previous row's hash (computed by store::audit, which documents the encoding), so changing,
-- removing or replacing a row breaks the chain at that row and `careweave audit verify` names it.
--
-- audit_chain_head holds the newest row's id and hash. Every transaction that appends to the log
-- first updates this one row, which serialises the chain: on SQLite through the single writer, on
-- PostgreSQL through the row lock the UPDATE takes and holds until commit. Ids are given by the
-- chain (the head's last_id + 1), so the chain has no gaps and a missing row is named by its id.
--
-- Rows written before this migration have no stored hash. first_id is the first row that has one;
-- the older rows are hashed with the same encoding when the chain is first extended (last_hash is
-- NULL until then), so they are covered by the first chained row's prev_hash.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

CREATE TABLE audit_chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    last_hash TEXT
);
INSERT INTO audit_chain_head (id, first_id, last_id, last_hash)
SELECT 1, COALESCE(MAX(id), 0) + 1, COALESCE(MAX(id), 0),
       CASE WHEN MAX(id) IS NULL
            THEN '0000000000000000000000000000000000000000000000000000000000000000' END
FROM audit_log;

CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head cannot be removed');
END;

-- INSERT OR REPLACE deletes the old row without firing the delete trigger (recursive triggers are
-- off), so it used to rewrite history past audit_log_no_delete: refuse any insert of an id that is
-- already there before the conflict clause gets to act.
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
