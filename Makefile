# Two commands for a fresh Debian machine with Python 3.11:
#   make demo   - the main job: runs the tutorial end to end and writes pictures to out/
#   make test   - the whole test suite
# Both create .venv and install what they need (Graphviz's `dot` via apt-get when root).
# Every optional extra has its own target, e.g. `make install-torch`; `make playground`
# and `make notebook` install what they need and start the playground / JupyterLab.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out
EXTRAS := torch onnx digits playground bench notebook dev

.PHONY: demo test bench playground notebook system-deps clean $(addprefix install-,$(EXTRAS))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per extra: an install re-runs only when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[$*]'
	touch $@

$(addprefix install-,$(EXTRAS)): install-%: $(VENV)/.installed-%
	@echo "the '$*' extra is installed in $(VENV); run 'source $(VENV)/bin/activate' to put scratchgrad on your PATH"

system-deps:
	@bash scripts/system-deps.sh

demo: system-deps $(VENV)/.installed-digits
	$(BIN)/scratchgrad demo --out $(OUT)
	$(BIN)/scratchgrad train --dataset moons --out $(OUT)
	@echo "everything in $(OUT)/:"; ls -1 $(OUT)

test: $(VENV)/.installed-dev
	SCRATCHGRAD_NEED_BROWSER=1 bash scripts/system-deps.sh
	$(BIN)/python -m pytest -n 2 -q

bench: $(VENV)/.installed-bench $(VENV)/.installed-digits
	$(BIN)/python benchmarks/scalar.py
	$(BIN)/python benchmarks/tensor.py
	@if [ -f benchmarks/gpt.py ]; then $(BIN)/python benchmarks/gpt.py; fi

playground: $(VENV)/.installed-playground
	$(BIN)/scratchgrad playground --open

notebook: system-deps $(VENV)/.installed-notebook
	$(BIN)/jupyter lab examples/

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
