# Two commands for a fresh machine with Python 3.11 and make:
#   make preview   set up, then run the dev stack offline through the policy gate (STACK=prod for prod)
#   make test      set up, then run the test suite
# And, on a machine with Go 1.26+: make e2e (set up, build the Pulumi CLI from Go modules once, run the e2e suite).
# The virtualenv is the one Pulumi.yaml names, so `pulumi up` and these commands share it.

PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STACK ?= dev
INSTALLED := $(VENV)/.installed

.PHONY: install preview test e2e bench clean

$(INSTALLED): requirements.txt requirements-dev.txt policy/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

preview: $(INSTALLED)
	$(PY) -m scripts.preview --stack $(STACK)

test: $(INSTALLED)
	$(PY) -m pytest

# The real Pulumi CLI with provider doubles on a throwaway file:// backend (e2e/). Not part of `make test`.
e2e: $(INSTALLED)
	e2e/cli/ensure-cli >/dev/null
	$(PY) -m pytest e2e/tests

bench: $(INSTALLED)
	$(PY) -m bench.gate_bench

clean:
	rm -rf $(VENV) .pytest_cache .e2e
