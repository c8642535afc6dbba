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
export DAGSTER_HOME ?= $(CURDIR)/.dagster
export CREDENCE_RAW_DIR := $(abspath $(RAW))
export CREDENCE_OUTPUTS_DIR := $(abspath $(OUT))

.PHONY: setup run test lint format ui serve evaluate quality quality-record bench audit clean

# The environment is rebuilt when the lock changes; uv is bootstrapped with pip.
$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install -q uv==0.13.9
	$(BIN)/uv pip sync -q --compile-bytecode -p $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q -p $(BIN)/python --no-deps -e .
	@touch $@

setup: $(VENV)/.installed
	@$(BIN)/python -m pipeline.instance_home "$(DAGSTER_HOME)"

run: setup
	$(BIN)/python -m pipeline.cli build

test: setup lint
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

# ruff (configured in pyproject.toml): lint, and the formatting that `make format` applies.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

ui: setup
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# Only what is published: the download page and the release folders (pipeline/serve.py), never
# .work/ (full article texts) or .cache/.
serve: setup
	$(BIN)/python -m pipeline.serve "$(CREDENCE_OUTPUTS_DIR)" --host 127.0.0.1 --port 8000

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
	$(BIN)/pip-audit -r requirements.lock --disable-pip --no-deps

clean:
	rm -rf $(VENV) .pytest_cache
