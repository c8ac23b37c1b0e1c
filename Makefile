# newsdag: `make run` then `make test` on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DAGSTER_HOME ?= $(CURDIR)/.dagster_home

# The DuckDB 1.x client analysts may still have: tests/test_warehouse.py opens the published file with it.
# Inside .venv (ignored by git, removed by `make clean`); the test finds it there or at $NEWSDAG_DUCKDB14_PYTHON.
DUCKDB14 := $(VENV)/duckdb14
DUCKDB14_STAMP := $(DUCKDB14)/.installed
# What `make test-fast` leaves out (markers registered in pyproject.toml): slow tests, and those that need
# Chromium, Redis, the corpora in ../shared or the DuckDB 1.4 client venv.
FAST := not (slow or browser or redis or corpus or duckdb14)

.PHONY: install run test test-fast dev bench lock clean browser redis postgres duckdb14

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r requirements.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	touch $(STAMP)

install: $(STAMP)  ## venv with the pinned dependencies and the spaCy model

run: install  ## the whole chain on the bundled sample, with a summary
	$(VENV)/bin/newsdag materialize

test: install browser redis postgres duckdb14  ## every test (the UI test in headless Chromium, the Celery test with Redis and PostgreSQL, the corpora in ../shared)
	$(PY) -m pytest -q

test-fast: install  ## the fast tests only (under a minute; no Chromium, Redis, ../shared or network)
	$(PY) -m pytest -q -m "$(FAST)"

$(DUCKDB14_STAMP): | $(STAMP)
	rm -rf $(DUCKDB14)
	$(VENV)/bin/uv venv -q --python $(PY) $(DUCKDB14)
	$(VENV)/bin/uv pip install -q --python $(DUCKDB14)/bin/python duckdb==1.4.5
	touch $@

duckdb14: $(DUCKDB14_STAMP)  ## a separate venv with the DuckDB 1.4.5 client (pinned) for the compatibility test

browser:  ## Debian's chromium for the UI test (Playwright's own browser download does not work here)
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for the UI test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "could not install chromium (not root?): tests/test_ui.py will fail; apt-get install chromium"

redis:  ## Debian's redis-server for the Celery test (the test starts and stops its own instance)
	@command -v redis-server >/dev/null || { echo "installing Debian's redis-server for the Celery test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } \
	  || echo "could not install redis-server (not root?): tests/test_celery.py will fail; apt-get install redis-server"

postgres:  ## Debian's PostgreSQL and PgBouncer for the Celery test's Dagster instance (the test starts and stops its own)
	@{ ls /usr/lib/postgresql/*/bin/postgres && { command -v pgbouncer || ls /usr/sbin/pgbouncer; }; } >/dev/null 2>&1 \
	  || { echo "installing Debian's postgresql and pgbouncer for the Celery test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql pgbouncer >/dev/null; } \
	  || echo "could not install postgresql/pgbouncer (not root?): tests/test_celery.py will fail; apt-get install postgresql pgbouncer"

dev: install  ## the Dagster UI on http://127.0.0.1:3000
	mkdir -p $(DAGSTER_HOME) && cp -n dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true
	DAGSTER_HOME=$(DAGSTER_HOME) $(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

bench: install redis postgres  ## benchmarks on the Reuters corpus in ../shared (see README)
	$(PY) bench/bench.py
	$(PY) bench/incremental.py
	$(PY) bench/launched_runs.py
	$(PY) bench/extraction.py
	$(PY) bench/web_build.py
	$(PY) bench/memory.py
	$(PY) bench/actors.py
	$(PY) bench/distributed.py

lock:  ## re-pin requirements.lock from requirements.in
	$(VENV)/bin/uv pip compile requirements.in -o requirements.lock --python-version 3.11 --no-emit-package newsdag

clean:
	rm -rf $(VENV) data .dagster_home
