# Credence: two commands on a fresh machine.
#   make run    builds a release from raw/ into outputs/ (sets itself up first)
#   make test   runs the whole test suite (sets itself up first)
#   make quality builds and scores the development sets (examples/gold/) and prints one table
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RAW ?= raw
OUT ?= outputs
GOLD ?= examples/gold/seed_events.yaml
RELEASE ?=
export CREDENCE_RAW_DIR := $(abspath $(RAW))
export CREDENCE_OUTPUTS_DIR := $(abspath $(OUT))
# One Dagster instance per outputs folder (pipeline/settings.py: dagster_home_for): .dagster/ for the
# default outputs/, <OUT>/.dagster/ for any other, so building another corpus never changes what
# `make ui` shows for the default one. A DAGSTER_HOME set in the environment wins.
ifeq ($(abspath $(OUT)),$(CURDIR)/outputs)
export DAGSTER_HOME ?= $(CURDIR)/.dagster
else
export DAGSTER_HOME ?= $(abspath $(OUT))/.dagster
endif
# Ports of the local servers (all listen on 127.0.0.1 only): make ui UI_PORT=3001, and so on.
UI_PORT ?= 3000
SERVE_PORT ?= 8000
EXPLORE_PORT ?= 8001
export CREDENCE_EXPLORE_PORT := $(EXPLORE_PORT)
# The local cluster (make cluster-up): Postgres, Redis and Celery workers on 127.0.0.1, their data
# and logs under CLUSTER_DIR (gitignored). BUCKETS: extraction steps of make cluster-run.
CLUSTER_DIR ?= .cluster
CLUSTER_PG_PORT ?= 55432
CLUSTER_REDIS_PORT ?= 56379
CLUSTER_WORKERS ?= 2
BUCKETS ?= 8
CLUSTER := $(BIN)/python -m pipeline.scale.cluster --dir "$(abspath $(CLUSTER_DIR))"

.PHONY: setup setup-cluster run test lint format ui serve explore evaluate quality quality-record bench audit clean \
	cluster-up cluster-down cluster-run cluster-ui

# The environment is rebuilt when the lock changes; uv is bootstrapped with pip.
$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install -q uv==0.13.9
	$(BIN)/uv pip sync -q --compile-bytecode -p $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q -p $(BIN)/python --no-deps -e .
	@touch $@

setup: $(VENV)/.installed
	@$(BIN)/python -m pipeline.instance_home "$(DAGSTER_HOME)"

# The cluster extra (dagster-celery, dagster-postgres, celery, redis, psycopg2) on top of the
# environment, from its own lock; `make run` never installs it. Reinstalled after every sync.
$(VENV)/.cluster-installed: $(VENV)/.installed requirements-cluster.lock
	$(BIN)/uv pip install -q --compile-bytecode -p $(BIN)/python -r requirements-cluster.lock
	@touch $@

setup-cluster: setup $(VENV)/.cluster-installed

run: setup
	$(BIN)/python -m pipeline.cli build

test: setup setup-cluster lint
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

# ruff (configured in pyproject.toml): lint, and the formatting that `make format` applies.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

ui: setup
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

serve: setup
	$(BIN)/python -m http.server $(SERVE_PORT) --bind 127.0.0.1 --directory "$(CREDENCE_OUTPUTS_DIR)"

# The release's explorer: Datasette over releases/LATEST/credence.sqlite (RELEASE=version for another).
explore: setup
	$(BIN)/python -m pipeline.release.explore --outputs "$(CREDENCE_OUTPUTS_DIR)" --port $(EXPLORE_PORT) $(if $(RELEASE),--release $(RELEASE),)

evaluate: setup
	$(BIN)/python -m pipeline.evaluate --gold "$(GOLD)" --outputs "$(CREDENCE_OUTPUTS_DIR)" $(if $(RELEASE),--release $(RELEASE),)

# Builds every development set (examples/gold/quality.yaml) into .quality/ and prints one table;
# RECORD=1 (or make quality-record) also writes examples/gold/quality.json.
quality: setup
	$(BIN)/python -m pipeline.evaluate.quality $(if $(RECORD),--record,)

quality-record:
	@$(MAKE) --no-print-directory quality RECORD=1

bench: setup
	$(BIN)/python bench/run_bench.py

audit: setup
	$(BIN)/pip-audit -r requirements.lock -r requirements-cluster.lock --disable-pip --no-deps

# Postgres, Redis and CLUSTER_WORKERS Celery workers on 127.0.0.1 (Debian packages postgresql and
# redis-server); idempotent. make cluster-run builds RAW into OUT through them (docs/scaling.md).
cluster-up: $(VENV)/.cluster-installed
	$(CLUSTER) up --pg-port $(CLUSTER_PG_PORT) --redis-port $(CLUSTER_REDIS_PORT) --workers $(CLUSTER_WORKERS)

cluster-down:
	@test -x $(BIN)/python || { echo "no $(VENV): nothing of the cluster can be running"; exit 0; }; \
	$(CLUSTER) down

cluster-run: $(VENV)/.cluster-installed
	$(CLUSTER) run --buckets $(BUCKETS)

cluster-ui: $(VENV)/.cluster-installed
	$(CLUSTER) ui --port $(UI_PORT)

clean:
	rm -rf $(VENV) .pytest_cache
