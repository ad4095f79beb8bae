# The companion's pipeline. `make figures` and `make test` are all a newcomer needs; `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.companion-installed
PROFILE ?= standard
ifeq ($(filter $(PROFILE),quick standard paper),)
$(error PROFILE=$(PROFILE): choose one of quick, standard, paper)
endif
# Committed results are the standard profile's; the others go to build/figures/<profile> unless FIGURES says otherwise.
ifeq ($(PROFILE),standard)
FIGURES ?= figures
else
FIGURES ?= build/figures/$(PROFILE)
endif
NOTEBOOK_DIR ?= notebooks
BUILD ?= build
SEED ?=
DEVICE ?=
RUNNER_FLAGS ?=
# An empty folder variable would send results to the filesystem root or nowhere: refuse it before anything runs.
$(foreach folder,FIGURES BUILD NOTEBOOK_DIR,$(if $(strip $($(folder))),,$(error $(folder) is empty; give it a folder or leave it out)))
README ?=
ALL_NOTEBOOKS := $(sort $(wildcard $(NOTEBOOK_DIR)/[0-9]*.py))
NB ?=
TORCH_INDEX ?=
SCHEDULER ?=
ifeq ($(NB),)
NOTEBOOKS := $(ALL_NOTEBOOKS)
else
NOTEBOOKS := $(filter $(NOTEBOOK_DIR)/$(NB)_%.py $(NOTEBOOK_DIR)/$(NB).py,$(ALL_NOTEBOOKS))
ifneq ($(words $(NOTEBOOKS)),1)
$(error NB=$(NB) matches $(words $(NOTEBOOKS)) notebooks; NB is one notebook number: $(foreach source,$(ALL_NOTEBOOKS),$(firstword $(subst _, ,$(notdir $(source))))))
endif
endif
RUNS := $(patsubst $(NOTEBOOK_DIR)/%.py,$(BUILD)/%.run,$(NOTEBOOKS))
# The runner's exit status for "ran to the end, some claims failed" (companion.pipeline.runner.CLAIMS_FAILED_STATUS);
# 1 (did not run to the end) and 2 (usage error) stop make.
CLAIMS_FAILED := 3

.PHONY: help setup figures book test test-fast lab bench clean clean-cache-stale cache-info cache-verify robustness lint FORCE

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-8s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install the pinned dependencies, the package and its kernel

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: the companion needs Python >= 3.11, but PYTHON=$(PYTHON) is $$($(PYTHON) --version 2>&1)." >&2; \
	  echo "Install Python 3.11 or newer and run e.g. 'make figures PYTHON=python3.11'." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# TORCH_INDEX=https://download.pytorch.org/whl/cpu installs the CPU-only torch build first (on Linux the default index
# serves the CUDA build, several GB); without it, pip takes torch from the default index.
$(STAMP): pyproject.toml requirements.lock postBuild | $(PY)
	@echo "Installing the locked dependencies and the package into $(VENV) (a few minutes the first time)"
	$(if $(TORCH_INDEX),$(PY) -m pip install --quiet --index-url $(TORCH_INDEX) -c requirements.lock torch)
	$(PY) -m pip install --quiet -c requirements.lock -e '.[analysis,notebooks,test,dask,docs]'
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash postBuild
	touch $@

figures: $(RUNS) ## run the notebooks (NB=02 selects one, PROFILE=quick|standard|paper, FIGURES=folder, SEED=n, DEVICE=cpu|cuda, SCHEDULER=tcp://host:8786 runs tasks on Dask), then the claims tables and what changed
	@test -n "$(NOTEBOOKS)" || { echo "no notebook in $(NOTEBOOK_DIR)" >&2; exit 1; }
	$(PY) -m companion.pipeline.report --figures $(FIGURES) --notebooks $(NOTEBOOK_DIR) $(if $(README),--readme $(README)) \
		--changes $(RUNS:.run=.changes.json)

# A run whose claims fail (runner status $(CLAIMS_FAILED)) has installed and recorded them: the report still runs,
# shows them as FAIL and exits non-zero. A notebook that raises stops make here.
$(BUILD)/%.run: $(NOTEBOOK_DIR)/%.py $(STAMP) FORCE
	$(if $(SCHEDULER),COMPANION_SCHEDULER=$(SCHEDULER) )$(PY) -m companion.pipeline.runner $< --profile $(PROFILE) --figures $(FIGURES) --build $(BUILD) \
		$(if $(SEED),--seed $(SEED)) $(if $(DEVICE),--device $(DEVICE)) $(RUNNER_FLAGS) || test $$? -eq $(CLAIMS_FAILED)

# The executed notebooks that `make figures` (standard profile) commits; EXECUTED=folder builds from others.
EXECUTED ?= figures/notebooks

book: $(STAMP) ## build the static site build/site/ from the executed notebooks (EXECUTED=folder), figures and claims
	$(PY) -m companion.pipeline.site --notebooks $(EXECUTED) --figures $(FIGURES) --out $(BUILD)/site

test: $(STAMP) ## run the test suite (every notebook with PROFILE=quick included)
	$(PY) -m pytest -q -n 2 tests

lint: $(STAMP) ## ruff: the lint rules and the formatter's check (pyproject.toml [tool.ruff])
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-fast: $(STAMP) ## the test suite without the notebook runs (marker `notebook`)
	$(PY) -m pytest -q -n 2 -m "not notebook" tests

# As root (containers, CI) JupyterLab refuses to start without --allow-root.
lab: $(STAMP) ## open JupyterLab here (.py notebooks open as notebooks; saving writes the .py only), with the project's kernel
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP) ## time the engine (benchmarks/bench_engine.py)
	$(PY) benchmarks/bench_engine.py

clean: ## remove build/ (executed notebooks, quick and paper results) and the simulation cache (.cache/)
	rm -rf build .cache

clean-cache-stale: $(STAMP) ## remove cache entries that no notebook run's current keys reach
	$(PY) -m companion.pipeline.cache clean-stale

cache-info: $(STAMP) ## print the cache's size (entries, MB, stale)
	$(PY) -m companion.pipeline.cache info

SAMPLE ?=
cache-verify: $(STAMP) ## rerun the recorded notebook runs with cached results recomputed (SAMPLE=k: k of each task sweep), report entries that differ
	$(PY) -m companion.pipeline.cache verify $(if $(SAMPLE),--sample $(SAMPLE))

# Seed robustness (not part of `make figures`): notebooks 01, 01b and 04 under seeds 1…ROBUST_SEEDS, each seed's run in
# $(BUILD)/robustness/seed-<s>/ through the task cache (SCHEDULER as for figures); the pass table and notebook 04's
# slope calibration go to ROBUST_TABLE (committed only for the standard profile).
ROBUST_SEEDS ?= 8
ROBUST_NB ?= 01 01b 04
ROBUST_JOBS ?= 1
ifeq ($(PROFILE),standard)
ROBUST_TABLE ?= figures/robustness
else
ROBUST_TABLE ?= $(BUILD)/robustness/table
endif

robustness: $(STAMP) ## run the claims of notebooks 01, 01b, 04 under seeds 1…ROBUST_SEEDS (default 8; PROFILE) and write the pass table and notebook 04's calibration to ROBUST_TABLE
	$(if $(SCHEDULER),COMPANION_SCHEDULER=$(SCHEDULER) )$(PY) -m companion.pipeline.robustness --seeds $(ROBUST_SEEDS) --jobs $(ROBUST_JOBS) --profile $(PROFILE) \
		--notebooks $(ROBUST_NB) --out $(BUILD)/robustness/$(PROFILE) --table $(ROBUST_TABLE)
	$(if $(filter 04,$(ROBUST_NB)),$(PY) -m companion.analysis.seed_calibration --out $(BUILD)/robustness/$(PROFILE) --table $(ROBUST_TABLE))

FORCE:
