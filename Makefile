# ipnstats: `make report` sets everything up and runs the main job; `make test` tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN    := $(VENV)/.installed-run
DEV    := $(VENV)/.installed-test
EXAMPLE_SEED := 20190135
# The report's date: the last commit's time, so that two runs give the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
export SOURCE_DATE_EPOCH

.DEFAULT_GOAL := help
.PHONY: help setup report test example validate bench lint clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(RUN): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "ipnstats needs Python >= 3.11; set PYTHON=python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV): $(RUN)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(DEV) ## create .venv and install ipnstats with its run and test dependencies

report: $(RUN) ## run the main job on data/example (writes reports/ipn_report.pdf and more)
	$(BIN)/ipnstats validate data/example
	$(BIN)/ipnstats data-report data/example --out reports
	$(BIN)/ipnstats report data/example --out reports

test: $(DEV) ## run the test suite
	$(BIN)/python -m pytest -q

example: $(RUN) ## regenerate data/example byte for byte from its seed
	rm -rf data/example
	$(BIN)/ipnstats simulate data/example --seed $(EXAMPLE_SEED)

validate: $(RUN) ## validate data/example
	$(BIN)/ipnstats validate data/example

bench: $(DEV) ## run the benchmarks (ingest of 10 million firm-years; minutes)
	$(BIN)/python benchmarks/ingest.py

lint: $(DEV) ## ruff
	$(BIN)/ruff check ipnstats tests benchmarks

clean: ## remove what `make report` and `make bench` wrote
	rm -rf reports benchmarks/results.json benchmarks/_data

distclean: clean ## also remove .venv
	rm -rf $(VENV)
