-- The claims sample holds more than changed rows: keys missing from NEW, extra in NEW and
-- duplicated on either side. Without a kind column those rows were indistinguishable from a
-- changed row with an empty payload. Existing rows were all changed-row samples.
ALTER TABLE metrics.mismatch_detail_sample
    ADD COLUMN IF NOT EXISTS mismatch_type text NOT NULL DEFAULT 'changed'
    CHECK (mismatch_type IN ('changed', 'missing_in_new', 'extra_in_new', 'duplicate_in_old', 'duplicate_in_new'));
COMMENT ON COLUMN metrics.mismatch_detail_sample.mismatch_type IS
    'changed (payload: column -> "old~new"), missing_in_new, extra_in_new, duplicate_in_old/new (payload: rows).';
