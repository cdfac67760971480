-- Built-in loaders: one session at a time creates layer tables. Two loads creating the same new
-- schema at once collided on pg_namespace_nspname_index; the session lock (held across the
-- DDL statements, each committed on its own) makes the second wait and then find them there.
SELECT pg_advisory_lock(hashtext('recon_operators.layer_tables'));
