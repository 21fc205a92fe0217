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


.PHONY: help setup venv images lab lab-down lab-status lint unit molecule test test-upstream bench clean lock

help:
	@echo "make lab        bring up the local lab (4 Debian containers) and deploy site.yml to it"
	@echo "make test       every test: lint, unit, Molecule scenarios, lab integration, end to end"
	@echo "make setup      host packages, .venv, base images (idempotent)"
	@echo "make lint       ansible-lint, yamllint, ruff, mypy"
	@echo "make molecule   the Molecule scenarios only (SCENARIO=name for one)"
	@echo "make test-upstream  the *_upstream scenarios: real Jenkins, Temurin, Elastic (internet, ~5 GB free memory)"
	@echo "make lab-down   remove the lab"
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

test: setup
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

lock:
	$(PYTHON) -m venv /tmp/alur-lock && /tmp/alur-lock/bin/pip install -q -e '.[dev,fast]' && \
	  { head -2 requirements.lock; /tmp/alur-lock/bin/pip freeze --exclude-editable; } > requirements.lock.new && \
	  mv requirements.lock.new requirements.lock && rm -rf /tmp/alur-lock

clean: lab-down
	rm -rf $(VENV) .alur
