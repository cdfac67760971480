-- Mini Recon 1: the prefix summary's state on every batch row of the prefix (Started while it
-- runs, then Passed or Failed), so the ledger shows which prefixes were rolled up and how.
UPDATE mini_recon_1.recon_status
   SET prefix_summary_status = %(status)s,
       updated_at = now()
 WHERE recon_number = 'recon_01'
   AND env = %(env)s
   AND cohort_id = %(cohort_id)s
   AND prefix_id = %(prefix_id)s
   AND prefix = %(prefix)s
   AND batch_id = ANY(%(batch_ids)s::text[]);
