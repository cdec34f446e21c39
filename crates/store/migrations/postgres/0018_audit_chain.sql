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
    id BIGINT PRIMARY KEY CHECK (id = 1),
    first_id BIGINT NOT NULL,
    last_id BIGINT NOT NULL,
    last_hash TEXT
);
INSERT INTO audit_chain_head (id, first_id, last_id, last_hash)
SELECT 1, COALESCE(MAX(id), 0) + 1, COALESCE(MAX(id), 0),
       CASE WHEN MAX(id) IS NULL
            THEN '0000000000000000000000000000000000000000000000000000000000000000' END
FROM audit_log;

CREATE FUNCTION audit_chain_head_kept() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit chain head cannot be removed';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_kept();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_kept();

-- The row triggers of 0001 do not see TRUNCATE; refuse it too. The owner can still disable these
-- triggers, which is why the chain exists: what they remove, verify finds.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
