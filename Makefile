# One way to run everything. `make run` and `make test` set themselves up on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
METRICS_PORT ?= 9464
LISTEN ?= 127.0.0.1:8765

.PHONY: install run test lint format bench eval train schema clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	PYTHON=$(PYTHON) scripts/ensure-tools venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: install
	@mkdir -p var
	@echo "Alerts are appended to var/alerts.jsonl. Draw them (in another terminal, or after Ctrl-C):"
	@echo "  $(BIN)/flashpoint report --alerts var/alerts.jsonl --since 24h --out var/report.png"
	$(BIN)/flashpoint run --source streams/samples/wire.jsonl \
		--metrics-port $(METRICS_PORT) --listen $(LISTEN) --alerts-out var/alerts.jsonl

# Installs prometheus, promtool and amtool when missing (root or passwordless sudo), or names
# the one command to run. pytest fails (exit 5) if it collects no tests.
test: install
	scripts/ensure-tools prometheus
	$(BIN)/pytest
	$(BIN)/flashpoint rules check deploy/config/flashpoint.yaml
	$(BIN)/flashpoint rules test tests/rules/*.yaml

lint: install
	$(BIN)/ruff check alerts streams tests eval bench scripts
	$(BIN)/ruff format --check alerts streams tests eval bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format alerts streams tests eval bench scripts
	$(BIN)/ruff check --fix alerts streams tests eval bench scripts

bench: install
	$(BIN)/python bench/bench.py

eval: install
	$(BIN)/python eval/evaluate.py

train: install
	$(BIN)/python eval/training.py

schema: install
	$(BIN)/flashpoint rules schema > deploy/config/flashpoint.schema.json

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
