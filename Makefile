# Two commands do all set-up on a fresh machine, and are safe to repeat:
#   make run   — install what is missing, set up the database with demo data, start api + worker + scheduler
#   make test  — install what is missing, run the test suite against real PostGIS and Redis
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
STAMP := $(VENV)/.installed

.PHONY: run test install deps postgis browser services venv setup bench clean lint lint-baseline

run: install
	$(PY) -m server.cli setup
	$(PY) -m server.cli demo load
	$(PY) -m server.cli run --demo

test: install
	$(PY) -m pytest -q

install: services postgis browser venv

# PostgreSQL and Redis are expected on loopback; start them if the machine has them stopped.
services:
	@if ! pg_isready -q -h $(PG_HOST) -p $(PG_PORT) 2>/dev/null; then \
	  echo "postgres not answering on $(PG_HOST):$(PG_PORT); trying to start it"; \
	  (command -v pg_ctlcluster >/dev/null && pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -1) main start) || true; \
	  for i in $$(seq 1 20); do pg_isready -q -h $(PG_HOST) -p $(PG_PORT) && break; sleep 0.5; done; \
	fi
	@if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then \
	  echo "redis not answering; trying to start it"; \
	  (command -v redis-server >/dev/null && redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no) || true; \
	  sleep 1; \
	fi

# PostGIS for the running PostgreSQL's major version, from Debian's packages.
postgis:
	@PGMAJOR=$$(psql -h $(PG_HOST) -p $(PG_PORT) -U postgres -tAc "SHOW server_version_num" 2>/dev/null | cut -c1-2); \
	if [ -z "$$PGMAJOR" ]; then PGMAJOR=$$(ls /usr/lib/postgresql | sort -V | tail -1); fi; \
	if [ -f /usr/share/postgresql/$$PGMAJOR/extension/postgis.control ]; then \
	  echo "postgis for PostgreSQL $$PGMAJOR: present"; \
	else \
	  echo "installing postgresql-$$PGMAJOR-postgis-3 from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql-$$PGMAJOR-postgis-3 >/dev/null; \
	fi

# Debian's Chromium + ChromeDriver: the console is tested in a real headless browser; the
# Noto CJK fonts so its screenshots show Japanese, not empty boxes.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then \
	  echo "chromium + CJK fonts: present"; \
	else \
	  echo "installing chromium, chromium-driver and fonts-noto-cjk from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ($$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null) \
	    || echo "chromium could not be installed: the console browser tests will skip"; \
	fi

venv: $(STAMP)

# The project with its test and bench extras, at the versions in requirements.lock (the
# tested set; pyproject.toml keeps the ranges). Redone when either file changes.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[test,bench,lint]'
	@touch $(STAMP)

setup: install
	$(PY) -m server.cli setup

# ruff and mypy as configured in pyproject.toml. New code lints clean; findings older than
# the linters are a baseline to burn down (ruff: per-file ignores; mypy: mypy-baseline.txt).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy | $(VENV)/bin/mypy-baseline filter

# After fixing baseline errors: record the shorter list (review the diff before committing).
lint-baseline: venv
	$(VENV)/bin/mypy | $(VENV)/bin/mypy-baseline sync

bench: install
	$(PY) -m server.cli bench --help

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
