-- Staging rows of one run: the filter the engine's aggregate query applies to the staging side.
run_id = :run_id
