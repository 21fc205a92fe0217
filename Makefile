# Alur: `make lab` brings up the local lab and deploys site.yml to it; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
PYTHON ?= python3
# pytest workers for make test: the Molecule scenarios and lab tests wait on apt, services and timers
# much of the time, so three share two cores well.
TEST_WORKERS ?= 3
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ALUR_PROJECT_DIR := $(CURDIR)


.PHONY: help setup venv images ee ee-lock bench-ee lab lab-down lab-status lint unit molecule test test-upstream bench clean lock

help:
	@echo "make lab        bring up the local lab (4 Debian containers) and deploy site.yml to it"
	@echo "make test       every test: lint, unit, Molecule scenarios, lab integration, end to end"
	@echo "make setup      host packages, .venv, base images (idempotent)"
	@echo "make ee         the execution environment localhost/alur-ee (ansible-core 2.21), rebuilt when its inputs change"
	@echo "make lint       ansible-lint, yamllint, ruff, mypy"
	@echo "make molecule   the Molecule scenarios only (SCENARIO=name for one)"
	@echo "make test-upstream  the *_upstream scenarios: real Jenkins, Temurin, Elastic (internet, ~5 GB free memory)"
	@echo "make lab-down   remove the lab"
	@echo "make bench-ee   the site inside the execution environment beside the host venv, one run"
	@echo "make bench      unchanged re-runs: defaults, project, Mitogen, one run (BENCH_ARGS=\"--sizes 4,16 --repeats 2 --site\")"

setup: venv
	@$(BIN)/alur lab image

$(VENV)/.installed: pyproject.toml requirements.lock scripts/setup-host.sh
	@scripts/setup-host.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,fast]'
	@touch $@

venv: $(VENV)/.installed
	@scripts/setup-host.sh >/dev/null

# The execution environment (execution-environment/): `alur deploy --ee` runs the site inside it, as AWX would.
# EE_TRUST_CA=1 keeps the build's CA bundle in the image (for networks whose TLS inspection it needs at run time).
ee: setup
	$(BIN)/alur ee build $(if $(EE_TRUST_CA),--trust-build-ca)

ee-lock: setup
	$(BIN)/alur ee lock

lab: setup
	$(BIN)/alur lab up $(if $(BUNDLE),--bundle $(BUNDLE))
	ANSIBLE_VAULT_PASSWORD_FILE=$${ANSIBLE_VAULT_PASSWORD_FILE:-$(CURDIR)/.alur/labs/lab.vault-password} $(BIN)/alur deploy -i inventory/lab
	@$(BIN)/alur lab summary
	ANSIBLE_VAULT_PASSWORD_FILE=$${ANSIBLE_VAULT_PASSWORD_FILE:-$(CURDIR)/.alur/labs/lab.vault-password} $(BIN)/alur status -i inventory/lab

lab-down: venv
	$(BIN)/alur lab down

lab-status: venv
	$(BIN)/alur lab status

# yamllint, ansible-lint, ruff (check and format) and mypy; make test runs the same file among its units.
lint: venv
	$(BIN)/pytest -q -p no:cacheprovider tests/test_lint.py

unit: venv
	$(BIN)/pytest -q tests/unit

molecule: setup
	$(BIN)/pytest -q tests/molecule $(if $(SCENARIO),-k $(SCENARIO))

test: setup ee
	@scripts/setup-host.sh chromium
	$(BIN)/pytest -n $(TEST_WORKERS) --durations=25 tests

# The *_upstream Molecule scenarios: the vendors' real packages instead of the CI stand-ins, under the stand-in
# scenarios' verifiers. They need this machine (and its containers) to reach pkg.jenkins.io, updates.jenkins.io,
# get.jenkins.io, packages.adoptium.net and artifacts.elastic.co, and run one after another so that memory stays
# at the largest one's (~4.5 GB free: Elasticsearch + Logstash, Kibana, Filebeat). Each fails within seconds when
# a vendor is unreachable or memory is short; make test skips them.
test-upstream: setup
	ALUR_UPSTREAM=1 $(BIN)/pytest -q --durations=0 tests/molecule -k upstream

# Converge and unchanged re-run times on lab containers (idle machine): a table, JSON and a PNG in bench/results.
bench: setup
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

# The whole site inside the execution environment beside the host venv (first converge, unchanged re-runs).
bench-ee: ee
	$(BIN)/python bench/ee.py $(BENCH_ARGS)

# Pins for the host venv, resolved on Python 3.11 (Debian 12's, and the oldest alur runs on). ansible-core 2.20 and
# later need Python 3.12: on 3.12 and newer the host venv takes the execution environment's ansible-core and the
# Ansible package it takes its collections from, each pin with its python_version marker.
lock:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "make lock: run it with Python 3.11 (PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv /tmp/alur-lock && /tmp/alur-lock/bin/pip install -q -e '.[dev,fast]' && \
	  { head -2 requirements.lock; \
	    { /tmp/alur-lock/bin/pip freeze --exclude-editable | \
	        sed -E 's/^(ansible-core|ansible)==(.*)$$/\1==\2; python_version < "3.12"/'; \
	      grep -hE '^(ansible-core|ansible)==' execution-environment/requirements.lock \
	        execution-environment/collections.txt | sed 's/$$/; python_version >= "3.12"/'; \
	    } | LC_ALL=C sort -f; \
	  } > requirements.lock.new && \
	  mv requirements.lock.new requirements.lock && rm -rf /tmp/alur-lock

clean: lab-down
	rm -rf $(VENV) .alur
