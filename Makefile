# Two commands matter: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY ?= python3
UV := $(PY) -m uv
VENV := .venv
INFRA := $(PY) infra/local/localinfra.py
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PY)

# The test suite runs on its own broker and database (own ports, own state folder), so it never
# disturbs what `make up` is running.
TEST_ENV := ALLIANCE_LOCAL_DIR=$(CURDIR)/.local/test ALLIANCE_PG_PORT=25442 ALLIANCE_KAFKA_PORT=29102 ALLIANCE_KAFKA_CONTROLLER_PORT=29103

.PHONY: help install browser proto proto-check contracts contracts-check lint test test-faults test-unit infra-up infra-down up down demo status logs \
        console run-data-exchange run-referral run-procurement bench run-cost-sharing run-results-mutual-recognition keys

help:
	@echo "make demo    bring up Kafka, PostgreSQL and all five services, register the sample alliance, show it everywhere"
	@echo "make test    install what is missing, start a private Kafka + PostgreSQL, run every test, tear down"
	@echo "make up / make down / make status / make logs   run the platform for exploration"
	@echo "make console   the cost-control console on http://127.0.0.1:8090/ (foreground; make up starts it too)"
	@echo "make run-<service>   one service in the foreground (after make up or make infra-up)"
	@echo "make test-faults   only the fault suite (kill -9 every service, restart Kafka and PostgreSQL; also part of make test)"
	@echo "make bench   every service's headline figure next to its anchor, written to bench/results/latest.md"
	@echo "make contracts   regenerate Python code from proto/ and docs/openapi/*.json (make contracts-check: fail if stale)"

$(VENV)/.synced: pyproject.toml uv.lock $(wildcard libs/*/pyproject.toml services/*/pyproject.toml) console/pyproject.toml
	@$(UV) --version >/dev/null 2>&1 || $(PY) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --all-packages
	@touch $@

install: $(VENV)/.synced

proto: install
	$(VENV)/bin/python scripts/gen_proto.py

proto-check: install
	$(VENV)/bin/python scripts/gen_proto.py --check

contracts: proto
	$(VENV)/bin/python scripts/export_openapi.py

contracts-check: proto-check
	$(VENV)/bin/python scripts/export_openapi.py --check

lint: install
	$(VENV)/bin/ruff check .

test: install browser
	@set -o pipefail; trap '$(TEST_ENV) $(INFRA) down' EXIT; \
	$(MAKE) --no-print-directory contracts-check lint && \
	eval "$$($(TEST_ENV) $(INFRA) up)" && \
	export ALLIANCE_INFRA_CTL="$(CURDIR)/infra/local/localinfra.py" $(TEST_ENV) && \
	$(VENV)/bin/pytest libs services tests console $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; rc=1; fi; exit $$rc

console: install keys
	@exec $(VENV)/bin/alliance-console run

# Headless Chromium for the console's browser tests: Debian's package, installed once when we may.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1)) ; } || \
	  echo "chromium not installed: the console's browser tests will be skipped"

test-faults: install
	@set -o pipefail; trap '$(TEST_ENV) $(INFRA) down' EXIT; \
	eval "$$($(TEST_ENV) $(INFRA) up)" && \
	export ALLIANCE_INFRA_CTL="$(CURDIR)/infra/local/localinfra.py" $(TEST_ENV) && \
	$(VENV)/bin/pytest tests/faults $(PYTEST_ARGS)

test-unit: install
	$(VENV)/bin/pytest libs services tests console --ignore-glob="*/integration/*" --ignore=tests/faults $(PYTEST_ARGS)

infra-up:
	@$(INFRA) up >/dev/null && $(INFRA) status

infra-down:
	@$(INFRA) down

keys: install
	@test -f .local/keys/jwks.json || $(VENV)/bin/alliance-token keygen --dir .local/keys

up: install infra-up keys
	@$(VENV)/bin/python scripts/processes.py up
	@$(VENV)/bin/alliance-console start

down:
	@-$(VENV)/bin/alliance-console stop 2>/dev/null
	@-$(VENV)/bin/python scripts/processes.py down 2>/dev/null
	@$(INFRA) down

status:
	@$(INFRA) status; $(VENV)/bin/python scripts/processes.py status; $(VENV)/bin/alliance-console status

logs:
	@tail -n 20 .local/services/*.log

bench: install infra-up
	@eval "$$($(INFRA) env)" && $(VENV)/bin/python bench/run.py

demo: up
	@$(VENV)/bin/python scripts/demo.py

run-%: install infra-up keys
	@eval "$$($(INFRA) env)" && export $$($(VENV)/bin/python scripts/processes.py env $*) && \
	$(VENV)/bin/alliance-$* migrate && exec $(VENV)/bin/alliance-$* run
