# The developer interface. `make run` and `make test` do all set-up on a fresh machine.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Python 3.10 (Rasa 3.6 does not run on 3.11): pyenv's, else one on PATH.
PYTHON310 ?= $(or $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python3.10))),$(shell command -v python3.10 2>/dev/null))
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore::DeprecationWarning

MODEL := models/intake.tar.gz
TRAINING_DATA := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null)

.PHONY: run test install model db validate test-stories clean help prod

help:
	@echo "make run    - set up everything and run the assistant on localhost (Ctrl-C stops)"
	@echo "make test   - set up everything and run all tests"
	@echo "make model  - train the Rasa model if the data changed"

$(BIN)/python:
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (pyenv install 3.10)"; exit 1; }
	$(PYTHON310) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel

$(VENV)/.installed: $(BIN)/python pyproject.toml
	@echo "Installing the project and its dependencies into $(VENV) (a few minutes the first time) ..."
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

$(MODEL): $(VENV)/.installed $(TRAINING_DATA)
	@echo "Training the Rasa model (about two minutes; progress below) ..."
	$(BIN)/rasa train --fixed-model-name intake --out models
	@touch $@

model: $(MODEL)

db: $(VENV)/.installed
	$(BIN)/intake db upgrade
	$(BIN)/intake demo load --if-empty

run: $(MODEL) db
	$(BIN)/intake run

# The production profile on this machine: nginx (Debian's nginx-light) in front of two Rasa
# instances and two action servers, on the PostgreSQL and Redis that run here.
NGINX := /usr/sbin/nginx
$(NGINX):
	@echo "Installing nginx from Debian's packages (the production profile's load balancer) ..."
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light \
	  || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light; }

prod: $(MODEL) $(NGINX)
	$(BIN)/intake prod

# The browser tests drive Debian's Chromium with Playwright (no browser download).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	@echo "Installing Chromium from Debian's packages (for the browser tests) ..."
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
	  || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

test: $(MODEL) $(CHROMIUM) $(NGINX)
	$(BIN)/python -m pytest

$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml
	@echo "Installing the benchmark competitors (.[bench]) into $(VENV) ..."
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@touch $@

# `make bench`: install the competitors (.[bench]) and run the benchmarks: language identification
# (writes benchmarks/results/lid.md), then the intake spine (trains a model from scratch and runs
# the servers; writes benchmarks/results/intake.txt), then the SMS cost of a whole intake in each
# language (benchmarks/results/sms_cost.md), NLU per language on held-out examples
# (benchmarks/results/nlu.md), crisis recognition per language (benchmarks/results/safety.md) and
# the cost of privacy on SQLite and PostgreSQL (benchmarks/results/privacy.md), the booking
# lifecycle under load (benchmarks/results/booking.md), and the production profile under load and
# under faults (benchmarks/results/load.md, faults.md; these restart PostgreSQL). About an hour.
.PHONY: bench
bench: $(VENV)/.bench-installed $(MODEL) $(NGINX)
	$(BIN)/python benchmarks/lid.py
	set -o pipefail; $(BIN)/python benchmarks/intake.py | tee benchmarks/results/intake.txt
	set -o pipefail; $(BIN)/python benchmarks/sms_cost.py | tee benchmarks/results/sms_cost.md
	set -o pipefail; $(BIN)/python benchmarks/nlu.py | tee benchmarks/results/nlu.md
	set -o pipefail; $(BIN)/python benchmarks/safety.py | tee benchmarks/results/safety.md
	set -o pipefail; $(BIN)/python benchmarks/privacy.py | tee benchmarks/results/privacy.md
	set -o pipefail; $(BIN)/python benchmarks/booking.py | tee benchmarks/results/booking.md
	set -o pipefail; $(BIN)/python benchmarks/load.py | tee benchmarks/results/load.md
	set -o pipefail; $(BIN)/python benchmarks/faults.py | tee benchmarks/results/faults.md

clean:
	rm -rf models results .rasa var tests/artifacts
