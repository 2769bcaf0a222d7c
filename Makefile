# Two commands for a fresh Debian machine with Python 3.11:
#   make demo   - the main job: runs the seed end to end and writes pictures to out/
#   make test   - the whole test suite
# Both create .venv and install what they need (Graphviz's `dot` via apt-get when root).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: demo test bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-run an install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[digits]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[bench,digits]'
	touch $@

system-deps:
	@bash scripts/system-deps.sh

demo: system-deps $(VENV)/.installed
	$(BIN)/scratchgrad demo --out $(OUT)
	$(BIN)/scratchgrad train --dataset moons --out $(OUT)
	@echo "everything in $(OUT)/:"; ls -1 $(OUT)

test: $(VENV)/.installed-dev
	SCRATCHGRAD_NEED_BROWSER=1 bash scripts/system-deps.sh
	$(BIN)/python -m pytest -n 2 -q

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/scalar.py
	@if [ -f benchmarks/tensor.py ]; then $(BIN)/python benchmarks/tensor.py; fi

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
