-- Workforce planning (issue 18): the whole-time equivalent of each post, so that the staff in post
-- can be set against the demand the workforce model computes. Stored in hundredths so that both
-- engines keep it exact; existing staff count as full time until someone records otherwise.
ALTER TABLE staff ADD COLUMN wte_hundredths BIGINT NOT NULL DEFAULT 100 CHECK (wte_hundredths BETWEEN 1 AND 100);
