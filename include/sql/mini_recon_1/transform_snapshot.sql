-- Mini Recon 1: the transformation-side reads of one batch run in one read-only snapshot, so
-- subscribers, balances and app users are counted as of the same moment.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
