-- Gate decisions for every scope inside a scope, newest first; with latest_only, only the
-- newest decision of each gated scope (what the matrix colours a cell by).
SELECT id, run_id, scope_key, scope, stage, suite, policy, verdict, outcome, decided_by, decided_at,
       summary->>'gate_task' AS gate_task, summary->>'responded_at' AS responded_at
  FROM (SELECT d.*, row_number() OVER (PARTITION BY scope_key ORDER BY decided_at DESC, id DESC) AS nth
          FROM recon.gate_decision d
         WHERE scope @> %(scope)s::jsonb
           AND (%(since)s::date IS NULL OR decided_at >= %(since)s::date)
           AND (%(until)s::date IS NULL OR decided_at < %(until)s::date + 1)) ranked
 WHERE NOT %(latest_only)s OR nth = 1
 ORDER BY decided_at DESC, id DESC;
