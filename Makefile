# One command each: `make demo` runs the main job end to end, `make test` runs the checks.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
N ?= 10000
BUDGET ?= 300
PAGES ?=

.PHONY: install test lint format typecheck pytest run demo bench chaos fuzz clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is required (set PYTHON=...)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/coverage run -m pytest
	@echo "branch coverage: $$($(BIN)/coverage report --format=total)%"
	@$(BIN)/coverage report --fail-under=80 > /dev/null

run: install
	$(BIN)/jobsearch dev

demo: install
	$(BIN)/jobsearch demo $(if $(PAGES),--pages "$(PAGES)",)

bench: install
	$(BIN)/python -m bench

chaos: install
	$(BIN)/python -m jobsearch.chaos --n $(N)

fuzz: install
	$(BIN)/python -m fuzz --budget $(BUDGET)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .coverage
