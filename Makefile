# Two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install migrate catalog emulate-kie bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/kiebot check
	$(BIN)/kiebot migrate
	$(BIN)/kiebot run

test: $(STAMP)
	$(BIN)/ruff check kiebot tests bench scripts
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

catalog: $(STAMP)
	$(BIN)/kiebot catalog

emulate-kie: $(STAMP)
	$(BIN)/kiebot emulate-kie

bench: $(STAMP)  # journeys.py, wizard_steps.py, engine_load.py (their reports), then one table of every figure
	$(BIN)/python bench/summary.py

clean:
	rm -rf $(VENV) build *.egg-info
