"""The demo (``make demo``): what a real migration brings from outside, built here so the gates have
something to check. Synthetic landing data (generator), the hop-by-hop loaders and the tables they
fill (loaders, layer_tables), the one fault system (faults), the Airflow steps that run them
(load_operators), and local services shared with the tests and benchmarks (services, receiver).

Production code never imports this package (tests/unit/test_demo_apart.py); the domain it shares
with production (dataset schemas, landing readers, batch ranges) lives in migration.landing.
"""
