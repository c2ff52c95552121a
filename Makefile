# Two commands for a fresh machine with Python 3.11 and make:
#   make preview   set up, then run the dev stack offline through the policy gate (STACK=prod for prod)
#   make test      set up, then run the test suite
# The virtualenv is the one Pulumi.yaml names, so `pulumi up` and these commands share it.

PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STACK ?= dev
INSTALLED := $(VENV)/.installed

.PHONY: install preview test bench config-schema clean

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

bench: $(INSTALLED)
	$(PY) -m bench.gate_bench

# Rewrite Pulumi.yaml's config block from the key table in stack_config/keys.py (a test fails while it is stale).
config-schema: $(INSTALLED)
	$(PY) -m stack_config.schema

clean:
	rm -rf $(VENV) .pytest_cache
