# Credence: two commands on a fresh machine.
#   make run    builds a release from raw/ into outputs/ (sets itself up first)
#   make test   runs the whole test suite (sets itself up first)
#   make quality builds and scores the development sets (examples/gold/) and prints one table
#   make lock   regenerates the locks (with hashes) after a dependency changes in pyproject.toml
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

ALLOW_SHRINK ?=
UV := $(VENV)/.uv/bin/uv

.PHONY: setup setup-dev setup-cluster run test lint format ui serve explore evaluate quality quality-record bench audit lock \
	clean cluster-up cluster-down cluster-run cluster-ui

# Two locks, every package pinned by hash: requirements.lock holds what the pipeline needs (make run
# installs only that); requirements-dev.lock adds the tests, linters, profilers and the audit (the
# same versions for the packages both hold). `make lock` regenerates both after pyproject.toml
# changes. uv is bootstrapped with pip into a folder of its own (.venv/.uv), pinned by hash too
# (requirements-uv.lock), so syncing the environment never removes the tool that syncs it.
$(UV): requirements-uv.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@test -x $(VENV)/.uv/bin/python || $(PY) -m venv $(VENV)/.uv
	$(VENV)/.uv/bin/python -m pip install -q --require-hashes --no-deps -r requirements-uv.lock
	@touch $@

define sync
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(UV) pip sync -q --require-hashes --compile-bytecode -p $(BIN)/python $(1)
	$(UV) pip install -q -p $(BIN)/python --no-deps -e .
endef

# The environment is rebuilt when its lock changes. The development environment holds the runtime
# one (a superset at the same versions), so it stands for both until a lock changes.
$(VENV)/.runtime: requirements.lock pyproject.toml $(UV)
	$(call sync,requirements.lock)
	@rm -f $(VENV)/.dev
	@touch $@

$(VENV)/.dev: requirements-dev.lock requirements.lock pyproject.toml $(UV)
	$(call sync,requirements-dev.lock)
	@touch $@ $(VENV)/.runtime

setup: $(VENV)/.runtime
	@$(BIN)/python -m pipeline.instance_home "$(DAGSTER_HOME)"

setup-dev: $(VENV)/.dev
	@$(BIN)/python -m pipeline.instance_home "$(DAGSTER_HOME)"

# The cluster extra (dagster-celery, dagster-postgres, celery, redis, psycopg2) on top of the
# development environment, from its own lock (by hash); `make run` never installs it. Reinstalled
# after every sync of the environment (a sync removes what its lock does not list).
$(VENV)/.cluster-installed: $(VENV)/.dev requirements-cluster.lock
	$(UV) pip install -q --require-hashes --compile-bytecode -p $(BIN)/python -r requirements-cluster.lock
	@touch $@

setup-cluster: setup-dev $(VENV)/.cluster-installed

# ALLOW_SHRINK=1 publishes even a release that drops most of the previous one's articles.
run: setup
	$(BIN)/python -m pipeline.cli build $(if $(ALLOW_SHRINK),--allow-shrink,)

test: setup-dev setup-cluster lint
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

# ruff (configured in pyproject.toml): lint, and the formatting that `make format` applies.
lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

ui: setup
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

# Only what is published: the download page and the release folders (pipeline/serve.py), never
# .work/ (full article texts) or .cache/.
serve: setup
	$(BIN)/python -m pipeline.serve "$(CREDENCE_OUTPUTS_DIR)" --host 127.0.0.1 --port $(SERVE_PORT)

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

bench: setup-dev
	$(BIN)/python bench/run_bench.py

audit: setup-dev
	$(BIN)/pip-audit -r requirements-dev.lock -r requirements-cluster.lock --disable-pip --no-deps

# Regenerates the locks with hashes from pyproject.toml (and requirements-uv.in); versions
# already locked are kept unless pyproject.toml asks for others (uv prefers the output file's pins).
lock: $(UV)
	$(UV) pip compile -q pyproject.toml -p 3.11 --generate-hashes -o requirements.lock
	$(UV) pip compile -q pyproject.toml --extra dev -p 3.11 --generate-hashes -c requirements.lock -o requirements-dev.lock
	$(UV) pip compile -q pyproject.toml --extra cluster -p 3.11 --generate-hashes -c requirements-dev.lock -o requirements-cluster.lock
	$(UV) pip compile -q requirements-uv.in -p 3.11 --generate-hashes -o requirements-uv.lock
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
