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

# The study run. CONFIG names the study (a folder, or a database URL with its codebook), the
# output folder and the settings; `make report CONFIG=path/to/study.toml` runs your own.
# `ipnstats run $(CONFIG) --split-config $(BUILD)` writes to $(BUILD), beside the configuration,
# what make needs to know of it: study.mk (included below: OUT, STAGES, WATCH and IN_<stage>,
# the files each stage reads), each stage's settings (<stage>.json) and input list
# (<stage>.inputs), each rewritten only when it changes, so that an edit redoes only the
# stages it touches. (ipnstats/pipeline/makevars.py says how; make refuses paths with spaces.)
CONFIG := analyses/ipn_study.toml
BUILD  := $(dir $(CONFIG)).build/$(notdir $(CONFIG))
MK     := $(BUILD)/study.mk
IPN    := $(BIN)/ipnstats
# the goals that need no study; any other reads (and first writes) $(MK)
NO_STUDY := help setup test example validate bench lint fuzz crosscheck docs
STUDY_GOALS := $(filter-out $(NO_STUDY),$(MAKECMDGOALS))
ifneq ($(STUDY_GOALS),)
ifeq ($(CONFIG),)
$(error CONFIG is empty: give the study configuration, CONFIG=path/to/study.toml)
else ifneq ($(words $(CONFIG)),1)
$(error CONFIG="$(CONFIG)": make cannot handle a path with a space; rename or move the \
configuration, or run the study without make: ipnstats run CONFIG, then ipnstats report CONFIG)
endif
ifeq ($(filter-out clean distclean,$(STUDY_GOALS)),)
-include $(MK)
else ifeq ($(wildcard $(CONFIG)),)
$(error CONFIG=$(CONFIG): no such configuration file)
else
include $(MK)
RUNS_STUDY := yes
endif
endif
# (clean before any make report: the example's output folder)
ifeq ($(OUT)$(CONFIG),analyses/ipn_study.toml)
OUT := reports
endif
RES    := $(OUT)/results
CODE   := $(shell find ipnstats -name '*.py' 2>/dev/null) pyproject.toml
# The code that estimates (ipnstats.pipeline.runner.ESTIMATING): only a change here refits.
# A change to a renderer, a reading, a table or a figure re-renders from stored results.
ESTIMATING := core results inference estimators ipn data
FIT_CODE := $(shell find $(addprefix ipnstats/,$(ESTIMATING)) -name '*.py' 2>/dev/null) \
            $(wildcard $(addprefix ipnstats/pipeline/,stages.py store.py)) pyproject.toml

.DEFAULT_GOAL := help
.PHONY: help setup report results test example validate bench lint clean distclean fuzz crosscheck docs FORCE

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo "Your own study: make report CONFIG=path/to/study.toml reads its [study] folder (or"
	@echo "database URL) and writes to its [output] dir; make results and make clean take CONFIG too,"
	@echo "and an edit of its data or settings redoes only the stages that read them."

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

report: $(OUT)/ipn_report.pdf $(OUT)/data_report.txt ## set up, fit and render the study of CONFIG (the example's by default), only what changed

results: $(foreach s,$(STAGES),$(RES)/$(s).json) ## fit the stages of CONFIG whose inputs or settings changed

# study.mk is remade (so make reads it again) when the configuration, the study folder or
# the codebook changes, a file it comes with is missing, or it was written for another
# folder or configuration (MADE_FOR: a build folder copied or moved with a project); the stages' settings and input
# lists are written with it, and a stage is redone when its own changed.
SPLIT := $(foreach s,$(STAGES) report,$(BUILD)/$(s).json) \
         $(if $(filter database,$(SOURCE)),,$(foreach s,$(STAGES),$(BUILD)/$(s).inputs))
STALE := $(if $(filter $(CURDIR)|$(abspath $(CONFIG)),$(MADE_FOR)),,yes)
$(MK): $(CONFIG) $(if $(STALE),FORCE,$(WATCH)) \
       $(if $(filter-out $(wildcard $(SPLIT)),$(SPLIT)),FORCE) | $(RUN)
	$(IPN) run $(CONFIG) --split-config $(BUILD)
ifeq ($(SOURCE)$(RUNS_STUDY),databaseyes)
# A database has no file times: each make reads the digests of its tables once (rewriting
# the <stage>.inputs that changed, and then digests.mk), and redoes only the stages whose
# tables changed.
$(BUILD)/digests.mk: $(MK) $(if $(MAKE_RESTARTS),,FORCE) | $(RUN)
	$(IPN) run $(CONFIG) --split-inputs $(BUILD)
include $(BUILD)/digests.mk
endif
FORCE:

$(RES)/%.json: $(BUILD)/%.json $(FIT_CODE) | $(RUN)
	$(IPN) run $(CONFIG) --stage $*
$(foreach s,$(STAGES),$(eval $(RES)/$(s).json: $(IN_$(s))))

$(OUT)/ipn_report.pdf: $(foreach s,$(STAGES),$(RES)/$(s).json) $(BUILD)/report.json $(CODE) | $(RUN)
	$(IPN) report $(CONFIG)

$(OUT)/data_report.txt: $(IN_data) $(CODE) | $(RUN)
	$(IPN) data-report $(CONFIG)

# The suite runs on TEST_WORKERS processes (pytest-xdist), a test file per worker at a time
# so that a file's fixtures are built once; TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
test: $(DEV) ## run the test suite (on TEST_WORKERS processes, default 2), make installed, then build the docs site strictly
	$(BIN)/python -m pytest -q -m "not site" \
	  $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
	$(MAKE) --no-print-directory installed
	$(BIN)/python -m pytest -q -m site tests/test_docs.py

INSTALLED := build/installed
SITE = $(shell $(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
installed: $(DEV) ## build sdist and wheel, install the wheel in a fresh venv, run the example report there
	rm -rf $(INSTALLED) && mkdir -p $(INSTALLED)
	$(BIN)/python -m build --no-isolation --outdir $(INSTALLED)/dist . > $(INSTALLED)/build.log 2>&1 \
	  || { cat $(INSTALLED)/build.log; exit 1; }
	$(PYTHON) -m venv $(INSTALLED)/venv
	$(INSTALLED)/venv/bin/python -m pip install -q --no-deps $(INSTALLED)/dist/ipnstats-*.whl
	# the third-party dependencies are borrowed from $(VENV) (a .pth line: its own .pth files,
	# the editable ipnstats among them, are not read), so ipnstats comes from the wheel alone
	$(INSTALLED)/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
	  | xargs -I{} sh -c 'echo "$(SITE)" > {}/borrowed-dependencies.pth'
	cd $(INSTALLED) && venv/bin/python $(CURDIR)/tests/installed/check.py $(CURDIR)

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

# what a study run writes to its output folder
OUTPUTS := results figures tables ipn_report.pdf ipn_report.html data_report.txt \
           sample_flow.csv reliability.csv validation_problems.csv panel_overview.csv
clean: ## remove what `make report` (of CONFIG) and `make bench` wrote
	rm -rf $(if $(OUT),$(addprefix $(OUT)/,$(OUTPUTS))) $(BUILD) benchmarks/results.json benchmarks/_data
	rmdir $(OUT) $(dir $(BUILD)) 2>/dev/null || true

distclean: clean ## also remove .venv
	rm -rf $(VENV)

# The documentation site (Sphinx + MyST-NB; notebooks run at build time; warnings are errors).
DOCS_OUT ?= docs/_build/html
docs: $(DEV) ## build the documentation site into docs/_build/html (warnings are errors)
	$(BIN)/python -m sphinx -W --keep-going -n -b html docs $(DOCS_OUT)
