# Lux: `make run` starts the app (web server + workers); `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
QUEUES ?= gpu,default
CONCURRENCY ?= 1
PYTEST_ARGS ?=

# Dependencies are pinned in pyproject.toml; a stamp makes a second install a no-op.
REQS = $(PY) -c 'import sys,tomllib; p=tomllib.load(open("pyproject.toml","rb"))["project"]; \
	print("\n".join(p["dependencies"] + (p["optional-dependencies"]["dev"] if sys.argv[1:] else [])))'

.PHONY: install install-dev run worker test test-smoke lint migrate

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(REQS) > $(VENV)/requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q -r $(VENV)/requirements.txt
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(REQS) dev > $(VENV)/requirements-dev.txt
	$(PY) -m pip install --disable-pip-version-check -q -r $(VENV)/requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

## Start the web server and a worker for every queue, as children of one process (Ctrl-C stops all).
run: install
	$(PY) -m webapp.run --host $(HOST) --port $(PORT)

## Start only a worker, e.g. on a GPU machine: make worker QUEUES=gpu CONCURRENCY=1
worker: install
	$(PY) -m celery -A webapp worker -Q $(QUEUES) -c $(CONCURRENCY) -n $(firstword $(subst $(comma), ,$(QUEUES)))@%h --loglevel INFO

comma := ,

## Run every test (against DATABASE_URL / REDIS_URL when set, the embedded default otherwise).
# Tests never touch var/'s real data; a server database needs some SECRET_KEY, and a throwaway one will do.
TEST_ENV = SECRET_KEY="$${SECRET_KEY:-tests-only-not-a-secret-$$$$}" LUX_HTTPS="$${LUX_HTTPS:-false}"

test: install-dev
	$(TEST_ENV) LUX_DATA_DIR=$(CURDIR)/var/test $(PY) -m pytest $(PYTEST_ARGS)

## The end-to-end subset, meant for the embedded default (SQLite + filesystem broker).
test-smoke: install-dev
	$(TEST_ENV) LUX_DATA_DIR=$(CURDIR)/var/test-smoke $(PY) -m pytest -m smoke $(PYTEST_ARGS)

lint: install-dev
	$(PY) -m ruff check .
