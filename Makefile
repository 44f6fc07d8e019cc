# Marquee's developer commands. `make run` serves the app; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements/lock.txt
export FLASK_APP := webapp
TEST_DATABASE_URL ?= postgresql://127.0.0.1:5432/test
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres e2e-deps bench lock migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.app-installed: $(BIN)/python pyproject.toml $(LOCK)
	$(BIN)/pip install --quiet -c $(LOCK) -e .
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.app-installed
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev]'
	@touch $@

## Serve Marquee at http://127.0.0.1:$(PORT) on SQLite (instance/marquee.sqlite3), migrations applied,
## with the jobs worker that sends mail (without MAIL_SERVER: printed and kept in instance/outbox/).
## Debug mode: a development secret is kept in instance/ and cookies work over plain http.
run: export FLASK_DEBUG := 1
run: $(VENV)/.app-installed
	$(BIN)/flask db upgrade
	$(BIN)/flask catalog load-demo
	@# The jobs worker (mail) runs beside the server and ends with it.
	@$(BIN)/flask jobs worker & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	  $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## Browser-test dependencies: Debian's Chromium (installed when missing and we are root), axe-core
## and oidc-provider (the real OpenID Connect provider the sign-in journeys run with node).
e2e-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: install Debian's 'chromium' package for the browser tests."; fi; \
	fi
	@if [ -f tests/e2e/package-lock.json ] && { [ ! -f tests/e2e/node_modules/axe-core/axe.min.js ] || \
	  [ ! -f tests/e2e/node_modules/oidc-provider/package.json ]; }; then \
	  npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error; \
	fi

## The whole suite on SQLite, then again on PostgreSQL (TEST_DATABASE_URL).
test: $(VENV)/.dev-installed e2e-deps
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: $(VENV)/.dev-installed
	@echo "== Test suite on SQLite"
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest

test-postgres: $(VENV)/.dev-installed
	@if $(BIN)/python -c "import psycopg, sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()" "$(TEST_DATABASE_URL)" 2>/dev/null; then \
	  echo "== Test suite on PostgreSQL"; \
	  TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/python -m pytest; \
	elif [ -n "$$CI" ]; then \
	  echo "PostgreSQL is not reachable at $(TEST_DATABASE_URL): CI must run the PostgreSQL pass." >&2; exit 1; \
	else \
	  echo "== SKIPPED the PostgreSQL pass: nothing answers at $(TEST_DATABASE_URL) (set TEST_DATABASE_URL)."; \
	fi

## Load benchmark against a bare reference app (see bench/README.md).
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/run.py --seconds 10

## Re-pin dependencies after editing pyproject.toml.
lock: $(BIN)/python
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra dev --no-emit-index-url --no-emit-find-links --strip-extras \
	  --no-header --annotation-style=line -o $(LOCK) pyproject.toml

## Create a migration after changing models: make migrate m="what changed"
migrate: $(VENV)/.app-installed
	$(BIN)/flask db migrate -m "$(m)"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis tests/e2e/node_modules
