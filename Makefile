# Every target creates the virtual environment it needs, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-slow bench lint clean

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/activate

demo: $(BIN)/activate
	$(BIN)/ntkjam phase-diagram

test: $(BIN)/activate
	$(BIN)/python -m pytest -q

test-slow: $(BIN)/activate
	$(BIN)/python -m pytest -q -m slow

bench: $(BIN)/activate
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

lint: $(BIN)/activate
	$(BIN)/ruff check ntkjam tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
