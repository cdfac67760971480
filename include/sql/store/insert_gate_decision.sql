-- Append what a gate decided; never updated, so the audit trail shows every decision.
INSERT INTO recon.gate_decision
    (run_id, scope_key, scope, stage, suite, policy, verdict, outcome, decided_by, summary)
VALUES (%(run_id)s, %(scope_key)s, %(scope)s, %(stage)s, %(suite)s, %(policy)s, %(verdict)s,
        %(outcome)s, %(decided_by)s, %(summary)s)
RETURNING id, decided_at;
