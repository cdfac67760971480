"""Subscriber jobs without Airflow: the record and its rules (``model``), the Cloud (DynamoDB)
and Legacy (MariaDB) stores, provisioning modes and all-or-nothing dual writes, the job table,
input files, export and audit. The DAGs, operators and hooks around them live in the Airflow
layer (``factories/subscribers.py``, ``operators/subscribers.py``, ``hooks/subscribers.py``)."""
