# Puan — the two set-up commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := src/puan/static/vendor
PG_URL ?= postgres://postgres@127.0.0.1:5432/puan
PUAN_DEMO_PASSWORD ?= Puan@2026
PUAN_DEMO_OPEN311_KEY ?= demo-open311-key-2026
export PUAN_DEMO_PASSWORD PUAN_DEMO_OPEN311_KEY

.PHONY: demo test test-sqlite test-postgres bench lint format assets messages install chromium postgres migrate load-demo serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(VENDOR)/.built: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js
	touch $@

# The pages' message catalogues, compiled by a pure-Python .po → .mo compiler: a fresh
# machine need not have GNU gettext. The compiled .mo files are committed too; a test
# fails when one differs from its .po.
messages: install
	$(BIN)/python -m puan.web.i18n

assets: $(VENDOR)/.built messages

# --- the demo ------------------------------------------------------------------------
demo: install assets
	PUAN_DEBUG=1 $(BIN)/puan migrate --no-input
	PUAN_DEBUG=1 $(BIN)/puan load-demo
	PUAN_DEBUG=1 $(BIN)/puan rollup
	@echo
	@echo "埔安 demo: http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
	@echo "Demo logins (password: $(PUAN_DEMO_PASSWORD)): admin dispatcher street1 community1 grid1 dept_justice leader"
	@echo "Open311 demo api_key: $(PUAN_DEMO_OPEN311_KEY)"
	@echo
	@# The background worker (deadline sweep, notifications) runs beside the web server
	@# and stops with it.
	PUAN_DEBUG=1 $(BIN)/puan run_huey --workers 2 --worker-type thread & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	PUAN_DEBUG=1 $(BIN)/puan runserver 127.0.0.1:8000

# --- tests ---------------------------------------------------------------------------
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	@# A Chinese font, so the browser tests' screenshots show text rather than boxes.
	@fc-list :lang=zh 2>/dev/null | grep -q . || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei)

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start" >&2; exit 1

test: install assets chromium postgres
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: install
	@echo "== tests on SQLite =="
	PUAN_TESTING=1 DATABASE_URL= $(BIN)/pytest -q $(PYTEST_ARGS)

test-postgres: install postgres
	@echo "== tests on PostgreSQL =="
	PUAN_TESTING=1 DATABASE_URL=$(PG_URL) $(BIN)/pytest -q $(PYTEST_ARGS)

bench: install
	@for f in bench/bench_*.py; do echo "== $$f =="; PUAN_DEBUG=1 $(BIN)/python $$f || exit 1; done

lint: install
	$(BIN)/ruff check src bench tests
	$(BIN)/ruff format --check src bench tests

format: install
	$(BIN)/ruff check --fix src bench tests
	$(BIN)/ruff format src bench tests

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var
