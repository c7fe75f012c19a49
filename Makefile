# Trustgate: `make run` serves the demo, `make test` runs every check,
# `make test-quick` the suite on SQLite alone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The demo's install (runtime, passkeys, DRF, the demo group), then the
# developer's (every extra, the dev group: tests, lint, packaging).
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
STAMP := $(VENV)/.installed
# Where `make run` serves the demo. localhost, not 127.0.0.1: passkeys need a
# domain as relying-party ID (runserver binds localhost's IPv4 address, so
# http://127.0.0.1:8000 answers too).
HOST_PORT ?= localhost:8000

# Services, and the names a run takes in them: two checkouts on one host
# (two CI jobs) give different TRUSTGATE_TEST_PREFIX values and never share a
# database or a Redis key. PostgreSQL test databases are test_<prefix>_<run>
# plus each worker's suffix (_gw0, _gw1...); Redis keys <prefix>-<run>-gw0...
PG_BASE ?= postgres://postgres@127.0.0.1:5432
REDIS_URL_TEST ?= redis://127.0.0.1:6379/0
TRUSTGATE_TEST_PREFIX ?= trustgate
# Test servers (live servers, e2e): the address they listen on, and an
# optional port range ("20000-20999"; default: any free port).
TRUSTGATE_TEST_HOST ?= 127.0.0.1
TRUSTGATE_TEST_PORTS ?=
export TRUSTGATE_TEST_PREFIX TRUSTGATE_TEST_HOST TRUSTGATE_TEST_PORTS
RUN_ID := $(shell date +%s)$(shell echo $$$$)
PYTEST_ARGS ?=
# Parallel test workers (pytest-xdist), a database each: auto = one per core.
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --dist worksteal

# Django 6.x needs Python >= 3.12: pyenv's 3.13 (or 3.12) when the machine has one.
PY6 := $(shell pyenv prefix 3.13 2>/dev/null || pyenv prefix 3.12 2>/dev/null)
VENV6 ?= .venv-django6

E2E_STAMP := $(VENV)/.installed-e2e

.PHONY: run install install-run install-test install-e2e e2e-tools test test-quick test-package \
	test-sqlite test-postgres test-django6 test-e2e test-multiserver test-bench test-real lint \
	bench messages clean compat

# A venv without pip, given the newest pip (from the cache) by the base
# Python's own: three times quicker than ensurepip's copy and its upgrade
# (pip >= 25.1 reads dependency groups). ensurepip where the base has no pip.
$(VENV)/bin/python:
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet --upgrade pip 2>/dev/null || { \
		$(BIN)/python -m ensurepip --default-pip && \
		$(BIN)/python -m pip install --quiet --upgrade pip; }

# The demo: the runtime, the integrations it shows (passkeys, the API), the
# demo group. No test or lint tools.
$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[passkeys,drf]" --group demo
	touch $(RUN_STAMP)

install-run: $(RUN_STAMP)

ALL_EXTRAS := passkeys,drf,allauth,user-agents,dbsc

# What the suite needs: every extra, the demo and test groups (the Django 6
# leg's install: no lint or packaging tools). Each install is one pip run,
# and marks the smaller ones it includes as done.
$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[$(ALL_EXTRAS)]" --group demo --group test
	touch $(TEST_STAMP) $(RUN_STAMP)

install-test: $(TEST_STAMP)

# Everything a developer runs: every extra, and the dev group (demo, test,
# lint, package).
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[$(ALL_EXTRAS)]" --group dev
	touch $(STAMP) $(TEST_STAMP) $(RUN_STAMP)

install: $(STAMP)

# Playwright (driving Debian's chromium: never `playwright install`), gunicorn, requests.
$(E2E_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --group e2e
	touch $(E2E_STAMP)

install-e2e: $(E2E_STAMP)

# The browser and the independent authenticator come from Debian, when missing.
e2e-tools:
	@if [ ! -x /usr/bin/chromium ] || ! command -v oathtool >/dev/null || ! command -v zbarimg >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium oathtool zbar-tools; \
	fi

# The translation catalogues (twelve languages besides English): regenerated from the code as it
# stands, then compiled. Each app keeps its own (trust/locale, otp_flow/locale),
# the demo's (project/ and templates/) go to project/locale. The .mo files are
# committed: installing and testing need no GNU gettext, only this target does.
MESSAGE_LANGS ?= de fr es it nl pt_BR pl ja zh_Hans ru tr uk
MESSAGE_IGNORE := tests e2e bench docs fixtures static staticfiles build dist artifacts bench-results
messages: install
	@command -v msgfmt >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; }
	$(BIN)/python manage.py makemessages $(addprefix -l ,$(MESSAGE_LANGS)) --no-obsolete \
		--add-location file $(addprefix --ignore ,$(MESSAGE_IGNORE))
	$(BIN)/python manage.py compilemessages $(addprefix -l ,$(MESSAGE_LANGS)) --ignore '.venv*'

# The passkey origin follows HOST_PORT (DJANGO_WEBAUTHN_ORIGINS overrides it).
run: install-run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py loaddata fixtures/demo.json
	DJANGO_WEBAUTHN_ORIGINS="$${DJANGO_WEBAUTHN_ORIGINS:-http://$(HOST_PORT)}" \
		$(BIN)/python manage.py runserver $(HOST_PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy trust otp_flow project
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=0 DJANGO_HTTPS=1 DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

# The sdist and wheel as PyPI would get them: built from scratch, metadata
# checked by twine, contents and metadata by .ci/check_dist.py (the apps, the
# extras, no tests, demo or development groups).
DIST ?= dist
test-package: install
	rm -rf $(DIST) build
	$(BIN)/python -m build --outdir $(DIST) .
	$(BIN)/twine check --strict $(DIST)/*
	$(BIN)/python .ci/check_dist.py $(DIST)

# The suite, in parallel workers with a database each. own_site tests run the
# demo or a fresh site in child processes, always on SQLite: the SQLite and
# Django 6 legs run them, the quick run and the Django 5.2 PostgreSQL leg
# leave them out.
SQLITE_URL = sqlite:///$(CURDIR)/.test-$(RUN_ID).sqlite3

# The everyday check: SQLite, no browser, no child sites (a few minutes).
test-quick: install-test
	DATABASE_URL=$(SQLITE_URL) $(BIN)/pytest $(XDIST) -m "not own_site" $(PYTEST_ARGS)

test-sqlite: install-test
	DATABASE_URL=$(SQLITE_URL) $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

# PostgreSQL (row locks, plans, the ORM's other dialect) and Redis (the
# cached_db sessions, the cache's throttles): every test that runs in this
# process, on the production-shaped stack.
test-postgres: install-test
	DATABASE_URL=$(PG_BASE)/$(TRUSTGATE_TEST_PREFIX)_$(RUN_ID) REDIS_URL=$(REDIS_URL_TEST) \
		CACHE_KEY_PREFIX=$(TRUSTGATE_TEST_PREFIX)-$(RUN_ID) \
		$(BIN)/pytest $(XDIST) -m "not own_site" $(PYTEST_ARGS)

# Django 6.1 on Python 3.13: the whole suite, child sites and the pasted guide
# included, on PostgreSQL + Redis (where the code comes closest to Django's
# internals: the ORM's compiler and schema editor on PostgreSQL). Its own
# venv, without lint or packaging tools.
test-django6:
	@if [ -z "$(PY6)" ]; then \
		echo "SKIPPED: Django 6.1 leg (pyenv has no Python 3.13 or 3.12 on this machine)"; \
	else \
		$(MAKE) --no-print-directory PYTHON=$(PY6)/bin/python3 VENV=$(VENV6) install-test && \
		$(VENV6)/bin/python -m pip install --quiet "Django>=6.1,<6.2" && \
		$(VENV6)/bin/python -m django --version && \
		DATABASE_URL=$(PG_BASE)/$(TRUSTGATE_TEST_PREFIX)6_$(RUN_ID) REDIS_URL=$(REDIS_URL_TEST) \
			CACHE_KEY_PREFIX=$(TRUSTGATE_TEST_PREFIX)6-$(RUN_ID) \
			$(VENV6)/bin/pytest $(XDIST) $(PYTEST_ARGS); \
	fi

# A real browser and authenticator against the demo site (screenshots in artifacts/e2e/).
test-e2e: install-e2e e2e-tools
	$(BIN)/pytest e2e/test_browser.py e2e/test_finished_pages.py $(PYTEST_ARGS)

# Two gunicorn servers sharing one PostgreSQL database and Redis.
test-multiserver: install-e2e
	PG_BASE=$(PG_BASE) REDIS_URL_TEST=$(REDIS_URL_TEST) $(BIN)/pytest e2e/test_multiserver.py $(PYTEST_ARGS)

# make bench runs end to end (one short round; no timing asserted).
test-bench: install-e2e
	PG_BASE=$(PG_BASE) $(BIN)/pytest e2e/test_bench.py $(PYTEST_ARGS)

# The real-process legs in one run, a worker per file (each file keeps
# its servers for its tests): what make test runs.
test-real: install-e2e e2e-tools
	PG_BASE=$(PG_BASE) REDIS_URL_TEST=$(REDIS_URL_TEST) $(BIN)/pytest $(XDIST) --dist loadfile \
		e2e/test_browser.py e2e/test_finished_pages.py e2e/test_multiserver.py e2e/test_bench.py \
		e2e/test_dbsc.py $(PYTEST_ARGS)

# Ratios measured within one run; prints a table, writes bench-results/latest.json.
# `make bench BENCH_ARGS=--readme` also puts the table in docs/performance.md. The
# user agents are the whole corpus (TRUSTGATE_UA_CORPUS, or ../shared/data beside the
# checkout) where it is there, else tests/data's sample.
# Then the risk model's evaluation (10,000 simulated users, ~6 min on 2 cores;
# RBA_ARGS=--quick for a short one), written to bench-results/rba.md. Then the
# independent-style check over HTTP (the demo under gunicorn on PostgreSQL,
# 64 users; HTTP_CHECK_ARGS=--quick for 8), written to bench-results/http_check.md.
BENCH_ARGS ?=
RBA_ARGS ?=
HTTP_CHECK_ARGS ?=
bench: install-e2e
	PG_BASE=$(PG_BASE) $(BIN)/python -m bench $(BENCH_ARGS)
	mkdir -p bench-results
	$(BIN)/python -m bench.rba $(RBA_ARGS) | tee bench-results/rba.md
	PG_BASE=$(PG_BASE) REDIS_URL_TEST=$(REDIS_URL_TEST) \
		$(BIN)/python -m bench.http_check --output bench-results/http_check.md $(HTTP_CHECK_ARGS)

# Lint, the package build and the docs side by side, then the legs.
test: install
	$(MAKE) --no-print-directory -j2 --output-sync=target lint test-package docs
	$(MAKE) --no-print-directory test-sqlite test-postgres test-django6 test-real

# Other projects' own test suites (.ci/compat/suite_*.py), each from the
# sdist of the version installed, run as released and with Trustgate installed
# as the quickstart says; fails on a test that fails only with Trustgate and is
# not a documented decision, or on a documented one that passes (proof that the
# second run had Trustgate). Its own venv; not part of make test (it downloads).
VENV_COMPAT ?= .venv-compat
COMPAT_STAMP := $(VENV_COMPAT)/.installed-compat
COMPAT_SUITES := django_otp auth_tests django_otp_webauthn
$(COMPAT_STAMP): pyproject.toml
	$(MAKE) --no-print-directory VENV=$(VENV_COMPAT) $(VENV_COMPAT)/bin/python
	$(VENV_COMPAT)/bin/python -m pip install --quiet -e ".[passkeys]" --group compat
	touch $(COMPAT_STAMP)

# Every suite runs, whichever fails first.
compat: $(COMPAT_STAMP)
	@status=0; for suite in $(COMPAT_SUITES); do \
		$(VENV_COMPAT)/bin/python .ci/compat/suite_$$suite.py || status=1; \
	done; exit $$status

clean:
	rm -rf $(VENV) $(VENV6) $(VENV_COMPAT) .test-*.sqlite3* artifacts bench-results dist build docs/_build

# The documentation (Sphinx, the Furo theme, pages in MyST Markdown) into
# docs/_build/html, with warnings as errors and every reference checked (-n),
# read afresh each time (-E: a changed title reaches every page's sidebar).
# The settings and checks references are generated from the code.
DOCS_STAMP := $(VENV)/.installed-docs
.PHONY: docs
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --group docs
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -b html -E -W --keep-going -n -q docs docs/_build/html
