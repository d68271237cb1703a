# The two commands of the quick start are `make demo` and `make test`.
# Every install goes through constraints.txt, so a fresh clone gets the versions the suite was run with.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
SHELL := /bin/bash

.PHONY: demo test lint typecheck unit bench bench-load lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install "pip==26.3"

$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e '.[dev]'
	touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/isthmus demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest

test: lint typecheck unit

# The contacts benchmark (bench/run_bench.py): BIG=1 adds 10M rows; BASELINE=script compares.
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run_bench.py $(if $(BIG),--big) $(if $(BASELINE),--baseline $(BASELINE))

# Bulk-load throughput of the SQL destination: 1M narrow rows into SQLite, PostgreSQL, MariaDB.
bench-load: $(VENV)/.installed-dev
	$(BIN)/python bench/bulk_load.py

# Re-resolve every dependency to its newest allowed version and record the result.
lock:
	rm -rf /tmp/isthmus-lock && $(PYTHON) -m venv /tmp/isthmus-lock
	/tmp/isthmus-lock/bin/python -m pip -q install --upgrade pip
	/tmp/isthmus-lock/bin/python -m pip -q install -e '.[dev]'
	/tmp/isthmus-lock/bin/python -m pip freeze --exclude-editable | grep -v '^pip==' > constraints.txt
	rm -rf /tmp/isthmus-lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
