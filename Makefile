# The companion's pipeline. `make figures` and `make test` are all a newcomer needs; `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.companion-installed
PROFILE ?= standard
NB ?=
SCHEDULER ?=
NOTEBOOKS := $(sort $(wildcard notebooks/$(NB)*.py))
RUNS := $(patsubst notebooks/%.py,build/%.run,$(NOTEBOOKS))

.PHONY: help setup figures test test-fast lab sync bench clean clean-cache-stale cache-info FORCE

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-8s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install the pinned dependencies, the package and its kernel

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml postBuild | $(PY)
	@echo "Installing the pinned dependencies and the package into $(VENV) (a few minutes the first time)"
	$(PY) -m pip install --quiet -e .
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash postBuild
	touch $@

figures: $(RUNS) ## run the notebooks (NB=02 selects, PROFILE=quick|standard|paper, SCHEDULER=tcp://host:8786 runs tasks on Dask), then the claims table and figures/README.md
	@test -n "$(NOTEBOOKS)" || { echo "no notebook matches notebooks/$(NB)*.py" >&2; exit 1; }
	$(PY) -m companion.pipeline.report

build/%.run: notebooks/%.py $(STAMP) FORCE
	$(if $(SCHEDULER),COMPANION_SCHEDULER=$(SCHEDULER) )$(PY) -m companion.pipeline.runner $< --profile $(PROFILE)

test: $(STAMP) ## run the test suite (every notebook with PROFILE=quick included)
	$(PY) -m pytest -q -n 2 tests

test-fast: $(STAMP) ## the test suite without the notebook runs (marker `notebook`)
	$(PY) -m pytest -q -n 2 -m "not notebook" tests

lab: $(STAMP) ## open JupyterLab here (.py notebooks open as notebooks), with the project's kernel
	$(VENV)/bin/jupyter lab

sync: $(STAMP) ## pair notebooks/*.py with .ipynb (jupytext --sync)
	$(VENV)/bin/jupytext --sync notebooks/*.py

bench: $(STAMP) ## time the engine (benchmarks/bench_engine.py)
	$(PY) benchmarks/bench_engine.py

clean: ## remove executed notebooks (build/) and the simulation cache (.cache/)
	rm -rf build .cache

clean-cache-stale: $(STAMP) ## remove cache entries that no notebook run's current keys reach
	$(PY) -m companion.pipeline.cache clean-stale

cache-info: $(STAMP) ## print the cache's size (entries, MB, stale)
	$(PY) -m companion.pipeline.cache info

FORCE:
