# Every target bootstraps .venv from nothing (python3 -m venv + pip install -e ".[dev]") and is a no-op
# after that unless pyproject.toml changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.fleetsim-installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/fleetsim demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy --strict simulator conformance tests

bench: $(STAMP)
	$(BIN)/python -m simulator.benchmarks
	$(BIN)/python -m conformance.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
