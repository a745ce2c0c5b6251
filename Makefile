# ipnstats: `make report` sets everything up and runs the main job; `make test` tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN    := $(VENV)/.installed-run
DEV    := $(VENV)/.installed-test
EXAMPLE_SEED := 20190135
# The report's date: the last commit's time, so that two runs give the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
ifneq ($(SOURCE_DATE_EPOCH),)
export SOURCE_DATE_EPOCH
endif

# The study run: analyses/ipn_study.toml reads $(STUDY) and writes $(OUT) (keep them in step).
CONFIG := analyses/ipn_study.toml
STUDY  := data/example
OUT    := reports
IPN    := $(BIN)/ipnstats
BUILD  := $(OUT)/.build
RES    := $(OUT)/results
STAGES := h1 h2 h3 robustness models data
CODE   := $(shell find ipnstats -name '*.py' 2>/dev/null) pyproject.toml
# The code that estimates (ipnstats.pipeline.runner.ESTIMATING): only a change here refits.
# A change to a renderer, a reading, a table or a figure re-renders from stored results.
ESTIMATING := core results inference estimators ipn data
FIT_CODE := $(shell find $(addprefix ipnstats/,$(ESTIMATING)) -name '*.py' 2>/dev/null) \
            $(wildcard $(addprefix ipnstats/pipeline/,stages.py store.py)) pyproject.toml
# the input files behind each stage (any format: firms.csv, firms.parquet, ...)
inputs = $(wildcard $(foreach t,$(1),$(STUDY)/$(t).*))
FIRM_YEAR := codebook firms memberships financials meetings meeting_activity surveys
IN_h1         := $(call inputs,$(FIRM_YEAR))
IN_robustness := $(IN_h1)
IN_models     := $(IN_h1)
IN_h2         := $(call inputs,$(FIRM_YEAR) exchanges)
IN_h3         := $(call inputs,$(FIRM_YEAR) exchanges tasks)
IN_data       := $(filter-out $(STUDY)/truth.toml,$(wildcard $(STUDY)/*))

.DEFAULT_GOAL := help
.PHONY: help setup report results test example validate bench lint clean distclean fuzz crosscheck

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

report: $(OUT)/ipn_report.pdf $(OUT)/data_report.txt ## set up, then fit and render the example study (only what changed)

results: $(foreach s,$(STAGES),$(RES)/$(s).json) ## fit the stages whose inputs or settings changed

# Each stage's settings, rewritten only when they change, so that editing one section of
# the configuration redoes only the stages that read it.
$(BUILD)/config.stamp: $(CONFIG) | $(RUN)
	$(IPN) run $(CONFIG) --split-config $(BUILD)
	touch $@
$(foreach s,$(STAGES) report,$(BUILD)/$(s).json): $(BUILD)/config.stamp ;

$(RES)/%.json: $(BUILD)/%.json $(FIT_CODE) | $(RUN)
	$(IPN) run $(CONFIG) --stage $*
$(foreach s,$(STAGES),$(eval $(RES)/$(s).json: $(IN_$(s))))

$(OUT)/ipn_report.pdf: $(foreach s,$(STAGES),$(RES)/$(s).json) $(BUILD)/report.json $(CODE) | $(RUN)
	$(IPN) report $(CONFIG)

$(OUT)/data_report.txt: $(IN_data) $(CODE) | $(RUN)
	$(IPN) data-report $(STUDY) --out $(OUT)

test: $(DEV) ## run the test suite
	$(BIN)/python -m pytest -q

example: $(RUN) ## regenerate data/example byte for byte from its seed
	rm -rf data/example
	$(BIN)/ipnstats simulate data/example --seed $(EXAMPLE_SEED)

validate: $(RUN) ## validate data/example
	$(BIN)/ipnstats validate data/example

bench: $(DEV) ## run the benchmarks: ingest (10M rows), models vs their peers, power on 1 and 2 Dask workers (8-14 min)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/models.py
	$(BIN)/python benchmarks/power.py

FUZZ_N ?= 5000
FUZZ_SEED ?= 0
fuzz: $(DEV) ## fuzz the data layer: FUZZ_N (5000) damaged studies (FUZZ_SEED) against the contract; counts
	$(BIN)/python -m tests.fuzz.campaign --n $(FUZZ_N) --workers 2 --seed $(FUZZ_SEED) --timeout 30

CROSSCHECK_N ?= 500
CROSSCHECK_SEED ?= 0
crosscheck: $(DEV) ## cross-check estimators against their peers: CROSSCHECK_N (500) random designs (CROSSCHECK_SEED); counts
	$(BIN)/python -m tests.crosscheck.campaign --n $(CROSSCHECK_N) --seed $(CROSSCHECK_SEED) --workers 2 --timeout 60

lint: $(DEV) ## ruff, and the import contract of the layers (import-linter)
	$(BIN)/ruff check ipnstats tests benchmarks
	$(BIN)/lint-imports

clean: ## remove what `make report` and `make bench` wrote
	rm -rf $(OUT) benchmarks/results.json benchmarks/_data

distclean: clean ## also remove .venv
	rm -rf $(VENV)
