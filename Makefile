# Trustgate: `make run` serves the demo, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST_PORT ?= 127.0.0.1:8000

PG_BASE ?= postgres://postgres@127.0.0.1:5432
REDIS_URL_TEST ?= redis://127.0.0.1:6379/0
RUN_ID := $(shell date +%s)$(shell echo $$$$)
PYTEST_ARGS ?=

# Django 6.x needs Python >= 3.12: use pyenv's 3.13 when the machine has one.
PY313 := $(shell pyenv prefix 3.13.0 2>/dev/null || pyenv prefix 3.13 2>/dev/null)
VENV6 ?= .venv-django6

E2E_STAMP := $(VENV)/.installed-e2e

.PHONY: run install install-e2e e2e-tools test test-package test-sqlite test-postgres test-django6 \
	test-e2e test-multiserver test-bench lint bench messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[postgres,redis,demo,drf,allauth]" --group dev "django-stubs[compatible-mypy]>=5.2,<5.3"
	touch $(STAMP)

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

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py loaddata fixtures/demo.json
	$(BIN)/python manage.py runserver $(HOST_PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy trust otp_flow project
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=0 DJANGO_HTTPS=1 DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

# The sdist and wheel as PyPI would get them: built from scratch, metadata
# checked by twine, contents by .ci/check_dist.py (the apps, no tests or demo).
DIST ?= dist
test-package: install
	rm -rf $(DIST) build
	$(BIN)/python -m build --outdir $(DIST) .
	$(BIN)/twine check --strict $(DIST)/*
	$(BIN)/python .ci/check_dist.py $(DIST)

test-sqlite: install
	DATABASE_URL=sqlite:///$(CURDIR)/.test-$(RUN_ID).sqlite3 $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$(PG_BASE)/trustgate_$(RUN_ID) REDIS_URL=$(REDIS_URL_TEST) \
		CACHE_KEY_PREFIX=trustgate-test-$(RUN_ID) $(BIN)/pytest $(PYTEST_ARGS)

test-django6:
	@if [ -z "$(PY313)" ]; then \
		echo "SKIPPED: Django 6.1 leg (no Python 3.13 on this machine)"; \
	else \
		$(MAKE) --no-print-directory PYTHON=$(PY313)/bin/python3 VENV=$(VENV6) install && \
		$(VENV6)/bin/python -m pip install --quiet "Django>=6.1,<6.2" && \
		$(VENV6)/bin/python -m django --version && \
		DATABASE_URL=$(PG_BASE)/trustgate6_$(RUN_ID) REDIS_URL=$(REDIS_URL_TEST) \
			CACHE_KEY_PREFIX=trustgate6-test-$(RUN_ID) $(VENV6)/bin/pytest $(PYTEST_ARGS); \
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

# Ratios measured within one run; prints a table, writes bench-results/latest.json.
# `make bench BENCH_ARGS=--readme` also puts the table in docs/performance.md.
# Then the risk model's evaluation (10,000 simulated users, ~6 min on 2 cores;
# RBA_ARGS=--quick for a short one), written to bench-results/rba.md.
BENCH_ARGS ?=
RBA_ARGS ?=
bench: install-e2e
	PG_BASE=$(PG_BASE) $(BIN)/python -m bench $(BENCH_ARGS)
	mkdir -p bench-results
	$(BIN)/python -m bench.rba $(RBA_ARGS) | tee bench-results/rba.md

test: lint docs test-package test-sqlite test-postgres test-django6 test-e2e test-multiserver test-bench

clean:
	rm -rf $(VENV) $(VENV6) .test-*.sqlite3* artifacts bench-results dist build

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
