# colorgen front door. `make setup reproduce-table` on a fresh machine; `make test` for the tests.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PYTHON  := $(BIN)/python
SHARED  ?= ../shared
DATA    ?= webpages
TRAINER ?= cpu
CHROMIUM ?= /usr/bin/chromium
export COLORGEN_CHROMIUM := $(CHROMIUM)
export OMP_NUM_THREADS ?= 2

.PHONY: setup browser test test-all lint data bench reproduce-table clean

$(BIN)/.installed: pyproject.toml
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/.installed browser ## venv + Python deps + Chromium + axe-core (idempotent)

browser: ## Debian's Chromium (Playwright's own download does not work offline)
	@test -x $(CHROMIUM) || { command -v apt-get >/dev/null && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }
	@test -x $(CHROMIUM) || { echo "Chromium not found at $(CHROMIUM); install it or set CHROMIUM=..." >&2; exit 1; }

test: setup ## the default test suite (< 10 minutes on 2 cores)
	$(BIN)/pytest -m "not slow"

test-all: setup ## every test, including slow end-to-end runs
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests

data: setup ## extract the real-page dataset from $(SHARED)/webpages into data/webpages
	$(PYTHON) -m colorgen.extract corpus=$(SHARED)/webpages out=data/webpages

clean:
	rm -rf outputs multirun wandb .pytest_cache
