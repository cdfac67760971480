-- The capped sample of mismatching rows of one claims run (masked again when shown).
SELECT mismatch_type, key_text, payload
  FROM metrics.mismatch_detail_sample
 WHERE run_id = %(run_id)s
 ORDER BY id
 LIMIT %(limit)s;
