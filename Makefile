# Two commands set up a fresh clone:
#   make run    start the app: gunicorn, 4 worker processes, http://localhost:2431
#   make test   run the whole test suite: real gunicorn, real model, real Chromium
# Each creates .venv and installs what it needs on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

RUN_DIR ?= run

# FREE_THREADED=1 make run: serve on Python's free-threaded build (no GIL; PEP 703, 779), from
# its own venv .venv-ft: a python3.14t/3.13t on the PATH or named by FREE_THREADED_PYTHON, else
# one built once from Debian's CPython source into ~/.cache/mnist-serving (harness/freethreaded.py).
FT_VENV ?= .venv-ft
ifeq ($(FREE_THREADED),1)
RUN_VENV := $(FT_VENV)
else
RUN_VENV := $(VENV)
endif

.PHONY: run test train lint browser wrk nginx redis docker cluster clean start stop reload bench load lab address freethreaded fonts

run: $(RUN_VENV)/.runtime
	$(RUN_VENV)/bin/gunicorn -c gunicorn.conf.py

test: $(VENV)/.dev browser wrk nginx redis docker freethreaded fonts
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
start: $(RUN_VENV)/.runtime
	mkdir -p $(RUN_DIR)
	$(RUN_VENV)/bin/gunicorn -c gunicorn.conf.py --daemon --pid $(RUN_DIR)/gunicorn.pid \
		--access-logfile $(RUN_DIR)/access.log --error-logfile $(RUN_DIR)/error.log
	@echo "started in the background; logs in $(RUN_DIR)/, stop with: make stop"
	@$(MAKE) --no-print-directory address

# The teacher's address of the server `make start` runs, again (from its log, once it is up).
address:
	@for i in $$(seq 120); do grep -q "teacher's page" $(RUN_DIR)/error.log 2>/dev/null && break; sleep 0.5; done; \
		grep "teacher's page" $(RUN_DIR)/error.log 2>/dev/null | tail -1 | sed 's/.*teacher/teacher/' | grep . \
		|| { echo "no teacher's address in $(RUN_DIR)/error.log: is the server running (make start)?"; exit 1; }

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

# Docker (Debian's docker.io) and debootstrap, for the container image's test (tests/docker): it
# runs a private dockerd of its own and, where no registry is reachable, makes the Debian base
# image with debootstrap. Installed with apt-get where it can be (elsewhere: Docker's packages);
# the test is skipped without them. Building the image itself: docker build -t mnist-serving .
docker:
	@{ command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ]; } && { command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ]; } || \
		(command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && apt-get update -q >/dev/null && \
		apt-get install -y -q --no-install-recommends docker.io debootstrap >/dev/null) || echo "docker not installed: the container image's test is skipped"

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

# The free-threaded venv: the server's packages that have builds for it (no LiteRT, gevent,
# orjson). The first time on a machine without a free-threaded Python this builds one: 10-30
# minutes, progress printed; then seconds.
$(FT_VENV)/.runtime: requirements-serve.txt harness/freethreaded.py
	$(PYTHON) -m harness.freethreaded --venv $(FT_VENV)

# For the tests of the free-threaded build (tests/freethreaded/): skipped without one.
freethreaded:
	@$(PYTHON) -m harness.freethreaded --venv $(FT_VENV) >/dev/null || echo "no free-threaded Python with the server's packages: its tests are skipped"

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache test-results
