# Two commands for a new user: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help demo test bench bench-subscribers bench-spark services install clean

help:
	@echo "make demo   install, prepare databases, run the main job end to end, print what happened"
	@echo "make test   install, lint and format-check (ruff), then run the whole test suite against real Postgres and MariaDB"
	@echo "make bench  time recon diff on N synthetic rows (default 1000000) against this machine's floor"
	@echo "make bench-spark  recon diff --engine spark on local[2] vs the default engine, 1M and 5M rows (SPARK_ROWS)"
	@echo "make bench-subscribers  time a DUAL_PROV migration of SUBS subscribers (default 100000) and the audit"

$(STAMP): requirements.txt constraints.txt pyproject.toml scripts/bootstrap.sh
	@scripts/bootstrap.sh
	@touch $(STAMP)

install: $(STAMP)

services:
	@scripts/ensure_services.sh

demo: install services
	@$(PY) -m recon_operators.demo.run

test: install services
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(PY) -m pytest

# Not part of `make test`: minutes of load on the databases. `make bench N=5000000` for more rows,
# REPEAT=1 for one round instead of the best of three.
N ?= 1000000
REPEAT ?= 3
bench: install services
	@PYTHONPATH=plugins $(PY) -m recon_operators.bench.run --rows $(N) --repeat $(REPEAT)

# The Spark engine on local[2] against the default engine, same data, exact counts checked.
SPARK_ROWS ?= 1000000 5000000
bench-spark: install services
	@PYTHONPATH=plugins $(PY) -m recon_operators.bench.spark --rows $(SPARK_ROWS)

# A DUAL_PROV migration of SUBS subscribers and a SUBS vs SUBS audit (moto DynamoDB, MariaDB).
SUBS ?= 100000
bench-subscribers: install services
	@PYTHONPATH=plugins $(PY) -m recon_operators.bench.subscribers --rows $(SUBS)

clean:
	rm -rf .airflow .demo .pytest_cache
