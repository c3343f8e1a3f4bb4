# The project's verbs. Every target installs what it needs into the project (.venv, .tools):
# nothing is installed by hand.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
TOOLS := .tools
# jsii (under aws-cdk-lib) needs a Node it supports; the machine's may be too old, so the project
# brings its own, pinned, from the npm registry's node-linux-<arch> packages.
NODE_VERSION := 22.23.3
# The registry's `latest` CDK CLI (3.x) cannot read assemblies of aws-cdk-lib 2.275: pinned.
CDK_CLI_VERSION := 2.1148.1
NODE_ARCH := $(shell uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')
NODE_BIN := $(CURDIR)/$(TOOLS)/node_modules/node-linux-$(NODE_ARCH)/bin

export PATH := $(NODE_BIN):$(CURDIR)/$(TOOLS)/node_modules/.bin:$(PATH)
export PYTHONPATH := $(CURDIR):$(CURDIR)/shared
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help up demo lint test docs synth deploy verify bench bench-cost bench-cold-start bench-checkout bench-payments bench-payouts bench-refunds bench-realtime install clean

help:
	@echo "make up      start the local stack (API on http://127.0.0.1:8000)"
	@echo "make demo    one order's whole life against the running make up, step by step"
	@echo "make lint    ruff and mypy over the code (make test runs it first)"
	@echo "make test    lint, then run the whole test suite"
	@echo "make docs    regenerate the OpenAPI document and docs/errors.md from the code"
	@echo "make synth   build the Lambda layer and synthesize the CDK stack into cdk.out/"
	@echo "make deploy  synth, then cdk deploy (needs AWS credentials)"
	@echo "make verify  smoke-check a deployment: make verify URL=https://... [ADMIN_TOKEN=...] [ARGS=...]"
	@echo "make bench   print the benchmarks' figures (make bench-cost: what 1,000 orders cost on AWS)"

$(VENV)/.installed: pyproject.toml infra/requirements.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PYTHON) infra/requirements.py --dev > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	touch $@

$(TOOLS)/.installed: Makefile
	mkdir -p $(TOOLS)
	npm install --prefix $(TOOLS) --no-audit --no-fund --loglevel=error \
		node-linux-$(NODE_ARCH)@$(NODE_VERSION) aws-cdk@$(CDK_CLI_VERSION)
	$(NODE_BIN)/node --version
	touch $@

install: $(VENV)/.installed $(TOOLS)/.installed

up: $(VENV)/.installed
	$(PY) -m infra.local $(ARGS)

# Against the running `make up` (its accounts file and ports); ARGS: --api URL.
demo: $(VENV)/.installed
	$(PY) bench/demo.py $(ARGS)

# Static checks: ruff's rule set and mypy (with the pydantic plugin), both configured in pyproject.toml.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m mypy

test: install lint
	$(PY) -m pytest $(PYTEST_ARGS)

# What is generated from the code for clients; a unit test fails when the committed copies are stale.
docs: $(VENV)/.installed
	$(PY) -m infra.apidocs

synth: install
	$(PY) layers/build.py
	cdk synth --app "$(PY) app.py" --no-notices -q

# Needs AWS credentials in the environment and a bootstrapped account (cdk bootstrap).
deploy: synth
	cdk deploy --app "$(PY) app.py" --no-notices $(CDK_ARGS)

# A smoke suite against any deployment (or `make up`'s http://127.0.0.1:8000); the admin token
# reaches it through the environment (and the line is not echoed), not its command line. ARGS: --allowed-origin, --webhook, --json, ...
verify: $(VENV)/.installed
	$(if $(URL),,$(error make verify needs URL=<the API's base URL>))
	@BAZAAR_VERIFY_ADMIN_TOKEN="$(ADMIN_TOKEN)" $(PY) -m infra.verify --url "$(URL)" $(ARGS)

bench: bench-cold-start bench-checkout bench-payments bench-payouts bench-refunds bench-realtime bench-cost

bench-cold-start: $(VENV)/.installed
	$(PY) bench/cold_start.py --explain

bench-checkout: $(VENV)/.installed
	$(PY) bench/checkout.py

bench-payments: $(VENV)/.installed
	$(PY) bench/payments.py

bench-payouts: $(VENV)/.installed
	$(PY) bench/payouts.py

bench-refunds: $(VENV)/.installed
	$(PY) bench/refunds.py

bench-realtime: $(VENV)/.installed
	$(PY) bench/realtime.py

# ARGS: --lifecycles N (50), --per-month N (30000: what monthly charges are spread over).
bench-cost: $(VENV)/.installed
	$(PY) bench/cost.py $(ARGS)

clean:
	rm -rf cdk.out layers/build .bazaar .pytest_cache
