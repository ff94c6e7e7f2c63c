# Portal Kampung KB — the two commands: `make run` and `make test`.
# Everything they need is installed from this repository's own files
# (requirements.lock, package-lock.json, the Debian package list below).

PYTHON      ?= python3.11
VENV        := .venv
BIN         := $(VENV)/bin
FLASK       := $(BIN)/flask --app wsgi
HOST        ?= 127.0.0.1
PORT        ?= 5000
# Debian packages: Chromium for browser tests, PostgreSQL 15 for the PostgreSQL test run,
# Pango and a font for PDF rendering, wrk for `make bench`.
DEB_PACKAGES := chromium postgresql libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core wrk

# The suite runs in parallel (pytest-xdist), one test file per worker at a time.
TEST_WORKERS ?= 2
PYTEST      := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

.PHONY: help setup system-packages python-packages assets db seed run test test-sqlite test-postgres test-fast loadtest bench clean

help:
	@echo "make run    set up everything, migrate, load demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test   set up everything and run the whole test suite twice: SQLite, then PostgreSQL 15"
	@echo "make loadtest  50 users for 60 s against gunicorn (2 workers) on 127.0.0.1"
	@echo "make bench  the performance budget (docs/benchmarks.md): ratios against /healthz, bench/results.json"

setup: system-packages python-packages assets

system-packages: .stamp-deb
.stamp-deb: Makefile
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

python-packages: $(VENV)/.stamp-lock
$(VENV)/.stamp-lock: requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	@touch $@

assets: portal/static/vendor/htmx.min.js
portal/static/vendor/htmx.min.js: package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p portal/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

instance:
	mkdir -p instance

db: setup instance
	$(FLASK) db upgrade

seed: db
	$(FLASK) seed demo

run: seed
	@$(FLASK) seed logins
	$(FLASK) run --host $(HOST) --port $(PORT)

# The whole suite on SQLite, then again on a PostgreSQL 15 cluster the tests start themselves
# (from the Debian package, on a free 127.0.0.1 port; stopped and removed afterwards).
test: test-sqlite test-postgres

test-sqlite: setup
	@echo "== Test suite on SQLite =="
	$(PYTEST)

test-postgres: setup
	@echo "== Test suite on PostgreSQL 15 =="
	PORTAL_TEST_DATABASE=postgresql $(PYTEST)

# Without the browser and PostgreSQL tests, for a quick loop while editing.
test-fast: setup
	$(PYTEST) -m "not browser and not postgres"

# Not part of `make test`: the performance benchmark (docs/benchmarks.md) and a bounded load test (loopback only); see docs/security.md.
loadtest: setup
	$(BIN)/python tools/loadtest.py --users 50 --duration 60

bench: setup
	$(BIN)/python tools/bench.py

clean:
	rm -rf $(VENV) node_modules portal/static/vendor .stamp-deb .pytest_cache
