# Two commands do everything on a fresh machine:
#   make run   - install into .venv if needed, then structure the bundled corpus and score it
#   make test  - install, then lint, format-check and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# uv resolves the pinned set ~6x faster than pip; pip is the fallback.
	($(BIN)/python -m pip install -q uv && $(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]') \
	  || $(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	mkdir -p out
	$(BIN)/eligibility batch corpus/seeds -o out/predictions.jsonl --errors out/errors.jsonl
	$(BIN)/eligibility evaluate --gold corpus/gold --pred out/predictions.jsonl

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python -m evaluation.bench

# Optional, best effort (root, Debian): headless Chromium for the report's browser test.
# `make test` does not need it: without /usr/bin/chromium that test is skipped.
browser:
	(apt-get update && apt-get install -y chromium chromium-driver) \
	  || echo "chromium not installed: tests/test_report.py's browser test will be skipped"

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
