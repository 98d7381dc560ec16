# rnnbench: `make install run` sets up and trains the default model; `make test` runs the tests.
# Both create the virtualenv .venv on first use. `make run ARGS="dataset=nottingham"` runs those overrides instead.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
ARGS ?=
# pytest-xdist workers of `make test`, one thread each (tests/conftest.py): auto = one per core
TEST_WORKERS ?= auto
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Read the data from the shared folder beside the checkout when there is one (as tests and CI do);
# a RNNBENCH_DATA already set wins.
SHARED_DATA := $(wildcard $(CURDIR)/../shared/data)
ifneq ($(SHARED_DATA),)
export RNNBENCH_DATA ?= $(abspath $(SHARED_DATA))
endif

.DEFAULT_GOAL := help
.PHONY: help install test test-fast smoke run sweep table bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip || true
	$(BIN)/pip install --quiet $(TORCH)
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -e ".[dev]"  # setuptools warns that editable is editable
	@touch $(STAMP)

install: $(STAMP) ## create .venv with torch (TORCH=torch==2.13.0) and rnnbench in editable mode

test: $(STAMP) ## run the whole test suite (RNNBENCH_DATA=../shared/data enables the real-data tests)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --durations=15  # the slowest fifteen listed at the end (the suite's budget: a few minutes)

test-fast: $(STAMP) ## the tests without the slow ones
	$(BIN)/python -m pytest -q -m "not slow"

smoke: $(STAMP) ## one tiny real run on the generated data set (seconds)
	$(BIN)/rnnbench dataset=synthetic train=debug $(ARGS)

run: $(STAMP) ## the seeds' headline: FD-RNN on JSB (000 Table 1: 8.01), ends next to the published number
	$(BIN)/rnnbench $(if $(ARGS),$(ARGS),experiment=fdrnn-jsb)

sweep: $(STAMP) ## sRNN and LSTM on JSB and Nottingham, one job each
	$(BIN)/rnnbench -m dataset=jsb,nottingham model=srnn,lstm $(ARGS)

table: $(STAMP) ## the comparison table of every run under outputs/, with the published numbers
	$(BIN)/rnnbench-report --paper $(ARGS)

bench: $(STAMP) ## the engine benchmark (cells vs torch.nn, PTB-medium, populations); writes benchmarks/results/
	$(BIN)/python -m benchmarks.engine --fuse $(ARGS)

clean: ## remove the virtualenv and caches (not outputs/)
	rm -rf $(VENV) .pytest_cache *.egg-info
