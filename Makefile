# Two commands set up a fresh clone:
#   make run    start the app: gunicorn, 4 worker processes, http://localhost:2431
#   make test   run the whole test suite: real gunicorn, real model, real Chromium
# Each creates .venv and installs what it needs on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test train lint browser clean

run: $(VENV)/.runtime
	$(BIN)/gunicorn -c gunicorn.conf.py

test: $(VENV)/.dev browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Retrain the shipped model (about 10 minutes on 2 cores); fetches MNIST if needed.
train: $(VENV)/.runtime
	$(BIN)/python train.py

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# A Chromium for Playwright: its own download where possible, else the system's.
browser: $(VENV)/.dev
	$(BIN)/python -m tests.browser --install

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache test-results
