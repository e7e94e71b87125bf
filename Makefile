# Two commands on a fresh Debian machine with Python 3.11: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app webapp
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export FLASK_APP := webapp
# Only an explicit development setting gets the defaults that are safe on one machine.
run seed migrate: export APP_ENV ?= development

.PHONY: run demo prod test test-sqlite test-postgres bench guide install assets translations migrate seed chromium spamassassin wrk smtp-source lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) assets translations

static/vendor/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

# The dev mailbox's HTML check reads caniemail's support data (npm package caniemail).
dev_mailbox/data/caniemail.json: static/vendor/htmx.min.js
	mkdir -p dev_mailbox/data
	cp node_modules/caniemail/data/caniemail.json $@

assets: static/vendor/htmx.min.js dev_mailbox/data/caniemail.json

translations: $(STAMP)
	$(PY) -m babel.messages.frontend compile -d translations --statistics >/dev/null

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed demo

run: seed
	@$(PY) -m webapp.devserver

# A room of parents on their phones: the machine's network address (DEMO_HOST overrides it), a QR code,
# the trainer's page, its own database; the launcher migrates and seeds it (README, "A demo for a room").
demo: export APP_ENV = demo
demo: install
	@$(PY) -m webapp.devserver

# The production shape on one machine: migrations, then the portal (gunicorn, on PORT, default 8000)
# and one e-mail sender; Ctrl+C stops both, and so does either one stopping. Settings come from the
# environment or .env: README, "Running it for a school".
prod: install
	$(FLASK) db upgrade
	@trap 'kill -TERM $$web $$sender 2>/dev/null' INT TERM; \
	$(VENV)/bin/gunicorn -c gunicorn.conf.py webapp.wsgi:app & web=$$!; \
	$(FLASK) outbox run & sender=$$!; \
	wait -n; status=$$?; kill -TERM $$web $$sender 2>/dev/null; wait; exit $$status

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# SpamAssassin for the dev mailbox's spam scores. The mailbox runs a spamd of its own on a free port, so the
# system's, which the package would start on port 783, is stopped and left off. Debian keeps spamd in /usr/sbin.
spamassassin:
	@PATH="$$PATH:/usr/sbin" command -v spamd >/dev/null || { apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spamd spamc \
		&& { systemctl disable --now spamd.service >/dev/null 2>&1 || true; }; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The whole suite on SQLite, then again on the local PostgreSQL server.
test: install chromium spamassassin lint test-sqlite test-postgres

test-sqlite:
	$(PY) -m pytest --cov --cov-report=term:skip-covered

# tests/production always runs on PostgreSQL (a database of its own): once, in test-sqlite, is enough.
test-postgres:
	TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest -p no:cacheprovider --ignore=tests/production

# The load generator of benchmarks/pages.py.
wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

# Postfix's smtp-source, the outside client of benchmarks/smtp_source.py. Postfix itself is left
# unconfigured ("No configuration") and off, so that no mail server of the system takes port 25.
smtp-source:
	@test -x /usr/sbin/smtp-source || { apt-get update -qq \
		&& echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix \
		&& { systemctl disable --now postfix.service >/dev/null 2>&1 || true; }; }

bench: install wrk smtp-source
	$(PY) -m benchmarks

# The parents' guide in et, ru and en (docs/guide/), walked in Chromium on a portal of its own.
guide: install chromium
	$(FLASK) guide build

clean:
	rm -rf $(VENV) node_modules static/vendor instance .pytest_cache
