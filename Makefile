# Every target bootstraps .venv from nothing (python3 -m venv + pip install -e ".[dev]") and is a no-op
# after that unless pyproject.toml changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.fleetsim-installed

.PHONY: setup demo test lint bench clean browser compiled

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/fleetsim demo

# The HTML report's test opens it in a real browser: Debian's chromium, installed here when missing (sudo only
# when not root). A failed install is a warning, not a failed target: that one test then skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=; if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
		|| echo "warning: could not install chromium (apt-get install chromium): the HTML report's browser test will skip"; \
	}

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy --strict simulator conformance loadtests tests

bench: $(STAMP)
	$(BIN)/python -m simulator.benchmarks
	$(BIN)/python -m simulator.benchmarks.startup
	$(BIN)/python -m conformance.bench
	$(BIN)/python -m loadtests.bench
	$(BIN)/python -m simulator.benchmarks.socket_fanout

# Optional: the pure core compiled with mypyc into build/compiled (docs/compiled-build.md). Nothing uses it unless
# FLEETSIM_COMPILED=build/compiled is set; `make test` never needs it. `make bench` builds and measures it itself.
compiled: $(STAMP)
	$(BIN)/python -m simulator.compiled build/compiled

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
