"""Parallel batch loads reconciled level by level (source file -> workers -> staging -> final).

No Airflow here (the layer test enforces it): the operators in ``operators.batch_load`` call
these modules, and so can a script or a test with plain psycopg2 connections.
"""
