# Two commands on a fresh machine: `make demo` and `make test`. `make help` lists the rest.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
PKGS := gitops_bot lab/gitops_bot_lab

# A .venv made by another Python (or a Python that is too old) is rebuilt, never reused half-working.
PY_VERSION := $(shell $(PY) -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)
VENV_VERSION := $(shell $(BIN)/python -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)
ifneq ($(VENV_VERSION),$(PY_VERSION))
$(shell rm -rf $(VENV))
endif

.PHONY: help demo demo-github test lint unit fuzz bench wheel-check clean python-check

help:  ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

python-check:
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || \
	  { echo "gitops-bot needs Python >= 3.11 (found: $(PY) $(PY_VERSION)); run: make PY=python3.11 ..."; exit 1; }

$(RUNTIME): pyproject.toml lab/pyproject.toml | python-check
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e . -e ./lab
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/pip install --quiet -e '.[dev]' -e ./lab
	touch $@

demo: $(RUNTIME)  ## the whole loop on a local git remote (real Prometheus/Alertmanager when installed)
	$(BIN)/gitops-bot demo

demo-github: $(RUNTIME)  ## the same rollback as a pull request against a local fake GitHub
	$(BIN)/gitops-bot demo-github

lint: $(DEV)  ## ruff, mypy --strict, import-linter layers, duplicate-code check
	$(BIN)/ruff format --check gitops_bot lab tests bench
	$(BIN)/ruff check gitops_bot lab tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pylint --disable=all --enable=duplicate-code --min-similarity-lines=6 \
	  --ignore-imports=yes --ignore-signatures=yes --ignore-docstrings=yes $(PKGS)

unit: $(DEV)  ## pytest only (pass T=tests/path::name to run one test)
	$(BIN)/pytest -q $(T)

# `make test` runs the fuzz targets too, at 150 examples each (a few seconds); this runs them longer.
FUZZ_EXAMPLES ?= 20000
fuzz: $(DEV)  ## fuzz webhook, matcher, duration, path and PromQL parsers and the HTTP routes (FUZZ_EXAMPLES=20000)
	GITOPS_BOT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -p no:cacheprovider tests/fuzz

# pytest exits 5 when it collects nothing; that must fail, and it does (any non-zero exit fails make).
test: lint unit  ## every check and every test

bench: $(DEV)  ## alert -> revert latency vs bare git plumbing on a 50k-commit repo
	$(BIN)/python bench/rollback_latency.py

wheel-check:  ## build both wheels, install them in a fresh venv, run `gitops-bot demo --captured`
	bash tools/wheel-check

# Container image (podman via tools/podman-here; see Dockerfile). IMAGE_BASE=python:3.11-slim-bookworm
# builds on the usual slim image where a registry is reachable; the default is made from Debian packages.
IMAGE ?= localhost/gitops-bot:dev
IMAGE_BASE ?= localhost/debian-base:bookworm
PODMAN_HERE := tools/podman-here

.PHONY: image image-e2e
image:  ## the container image (localhost/gitops-bot:dev)
	if [ "$(IMAGE_BASE)" = localhost/debian-base:bookworm ]; then $(PODMAN_HERE) base; fi
	$(PODMAN_HERE) build --build-arg BASE=$(IMAGE_BASE) -t $(IMAGE) .

# Runs the image for real: alert in, revert on a bare remote out, uid 10001, read-only root.
image-e2e: image $(RUNTIME)  ## build the image and run it end to end against a local bare remote
	IMAGE=$(IMAGE) PODMAN=$(PODMAN_HERE) $(BIN)/python -m tests.image.e2e

clean:  ## remove the venv and build output
	rm -rf $(VENV) .gitops-bot build dist *.egg-info lab/build lab/*.egg-info
