# Two commands for a fresh machine with Python 3.11 and make:
#   make preview   set up, then run the dev stack offline through the policy gate (STACK=prod or STACK=byoc for the others)
#   make test      set up, then run the test suite
# And, on a machine with Go 1.26+: make e2e (set up, build the Pulumi CLI from Go modules once, run the e2e suite).
# The virtualenv is the one Pulumi.yaml names, so `pulumi up` and these commands share it.

PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STACK ?= dev
INSTALLED := $(VENV)/.installed

.PHONY: install clickhouse-server promtool preview test e2e bench bench-policy config-schema clean

$(INSTALLED): requirements.txt requirements-dev.txt policy/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

# Debian packages the tests run, each installed once as root (CI runs as root) or through passwordless sudo; otherwise
# this only says how, and the tests that need the package then fail saying so. $(1): package, $(2): who needs it.
define apt_install
	@if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
		echo "$(1) is missing: run 'sudo make $@' for $(2)"; exit 0; fi; \
	$$SUDO apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null
endef

# The connectivity check's tests run a real ClickHouse server.
CLICKHOUSE_SERVER := $(firstword $(wildcard /usr/sbin/clickhouse-server /usr/bin/clickhouse-server))
clickhouse-server:
ifeq ($(CLICKHOUSE_SERVER),)
	$(call apt_install,clickhouse-server,the connectivity tests)
endif

# The metrics agent's configuration is checked with the real promtool (Debian's prometheus package).
PROMTOOL := $(firstword $(wildcard /usr/bin/promtool /usr/local/bin/promtool))
promtool:
ifeq ($(PROMTOOL),)
	$(call apt_install,prometheus,the metrics agent's config tests)
endif

preview: $(INSTALLED)
	$(PY) -m scripts.preview --stack $(STACK)

# One worker per core, at most four (each worker starts its own analyzers and servers); worksteal evens out the slow
# modules. `$(PY) -m pytest tests/...` alone runs in one process, which is quicker for a few files.
# The suite starts about a hundred Python processes (gates, packs, entry points) that import the same modules, so
# bytecode is cached even where the environment sets PYTHONDONTWRITEBYTECODE (an empty value turns it off): without
# the cache every process compiles the project and pytest rewrites every test module again (about 15 s of CPU).
test: $(INSTALLED) clickhouse-server promtool
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n auto --maxprocesses 4 --dist worksteal

# The real Pulumi CLI with provider doubles on a throwaway file:// backend (e2e/). Not part of `make test`.
e2e: $(INSTALLED)
	e2e/cli/ensure-cli >/dev/null
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest e2e/tests

bench: $(INSTALLED)
	$(PY) -m bench.gate_bench

bench-policy: $(INSTALLED)
	$(PY) -m bench.policy_bench

# Rewrite Pulumi.yaml's config block from the key table in stack_config/keys.py (a test fails while it is stale).
config-schema: $(INSTALLED)
	$(PY) -m stack_config.schema

clean:
	rm -rf $(VENV) .pytest_cache .e2e
