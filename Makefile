# Two commands set up a fresh clone:
#   make run    start the app: gunicorn, 4 worker processes, http://localhost:2431
#   make test   run the whole test suite: real gunicorn, real model, real Chromium
# Each creates .venv and installs what it needs on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

RUN_DIR ?= run

.PHONY: run test train lint browser wrk nginx redis fonts cluster clean start stop reload bench load lab

run: $(VENV)/.runtime
	$(BIN)/gunicorn -c gunicorn.conf.py

test: $(VENV)/.dev browser wrk nginx redis fonts
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Retrain the shipped model (about 20 minutes on 2 cores: 3 redrawing digits with a pen, cached
# in data/pen/); fetches MNIST if needed. Then calibrate it for the "not sure" verdict (a
# minute). With a class's corrections, in minutes, starting from the shipped model:
# make train TRAIN_ARGS='--extra corrections/ --fine-tune'
train: $(VENV)/.runtime
	$(BIN)/python train.py $(TRAIN_ARGS)
	$(BIN)/python -m digits.calibrate

# In the background, as the reference blog's `gunicorn ... --daemon`: pid file
# and logs in run/; `make reload` replaces the workers one by one (a changed
# model in models/ is picked up, no request fails); `make stop` ends it.
start: $(VENV)/.runtime
	mkdir -p $(RUN_DIR)
	$(BIN)/gunicorn -c gunicorn.conf.py --daemon --pid $(RUN_DIR)/gunicorn.pid \
		--access-logfile $(RUN_DIR)/access.log --error-logfile $(RUN_DIR)/error.log
	@echo "started in the background; logs in $(RUN_DIR)/, stop with: make stop"

stop:
	kill -TERM $$(cat $(RUN_DIR)/gunicorn.pid)

reload:
	kill -HUP $$(cat $(RUN_DIR)/gunicorn.pid)

# wrk, the HTTP load generator of the benchmarks: the system's, installed with
# apt-get where it can be (elsewhere: brew install wrk). Its test is skipped without it.
wrk:
	@command -v wrk >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -q >/dev/null && apt-get install -y -q wrk) || echo "wrk not installed: benchmark test skipped"

# nginx, the buffering proxy of deploy/: its tests run the real one. Installed
# with apt-get where it can be (elsewhere: brew install nginx); skipped without it.
nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -q >/dev/null && apt-get install -y -q nginx-light) || echo "nginx not installed: its tests are skipped"

# redis-server, the shared store of several hosts (STORE=redis://...): its tests and
# `make cluster` run the real one. Installed with apt-get where it can be (elsewhere:
# brew install redis); its tests are skipped without it.
redis:
	@command -v redis-server >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null) || echo "redis-server not installed: its tests are skipped"

# The Debian handwriting fonts of the evaluation's outside sources (digits/sources.py names
# them): installed with apt-get where it can be; its tests fail without them.
fonts: $(VENV)/.dev
	@missing="$$($(BIN)/python -c 'from digits.sources import missing_fonts; print(*missing_fonts())')"; \
	[ -z "$$missing" ] || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null) || \
		echo "not installed: $$missing (apt-get install them for digits.evaluate and its tests)"

# Several hosts on this machine: redis-server, three gunicorn masters on 127.0.0.2-4 and
# nginx on :2431 in front (harness/cluster.py); Ctrl-C stops all of it.
CLUSTER_ARGS ?=
cluster: $(VENV)/.runtime nginx redis
	$(BIN)/python -m harness.cluster $(CLUSTER_ARGS)

# Serving benchmark (MODE x RUNTIME x route x concurrency) with wrk; prints a table.
bench: $(VENV)/.dev browser wrk
	$(BIN)/python -m bench.serving

# The teaching lab: every MODE x workload and TensorFlow's thread pools,
# measured here; writes docs/lab/ (JSON, Markdown tables, charts). See docs/teaching.md.
LAB_ARGS ?=
lab: $(VENV)/.runtime
	$(BIN)/python -m lab $(LAB_ARGS)

# A class of 100 students on one server, with Locust; prints a table.
load: $(VENV)/.dev browser
	$(BIN)/python -m bench.classroom

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# A Chromium for Playwright: its own download where possible, else the system's.
browser: $(VENV)/.dev
	$(BIN)/python -m harness.browser --install

$(VENV)/.runtime: requirements.txt requirements-serve.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache test-results
