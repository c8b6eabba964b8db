# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-github test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gitops-bot demo

demo-github: $(STAMP)
	$(BIN)/gitops-bot demo-github

lint: $(STAMP)
	$(BIN)/ruff format --check gitops_bot tests bench
	$(BIN)/ruff check gitops_bot tests bench
	$(BIN)/mypy gitops_bot

# pytest exits 5 when it collects nothing; that must fail, and it does (any non-zero exit fails make).
test: $(STAMP) lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/rollback_latency.py

clean:
	rm -rf $(VENV) .gitops-bot build *.egg-info

# Container image (podman via tools/podman-here; see Dockerfile). IMAGE_BASE=python:3.11-slim-bookworm
# builds on the usual slim image where a registry is reachable; the default is made from Debian packages.
IMAGE ?= localhost/gitops-bot:dev
IMAGE_BASE ?= localhost/debian-base:bookworm
PODMAN_HERE := tools/podman-here

.PHONY: image image-e2e
image:
	if [ "$(IMAGE_BASE)" = localhost/debian-base:bookworm ]; then $(PODMAN_HERE) base; fi
	$(PODMAN_HERE) build --build-arg BASE=$(IMAGE_BASE) -t $(IMAGE) .

# Runs the image for real: alert in, revert on a bare remote out, uid 10001, read-only root.
image-e2e: image
	IMAGE=$(IMAGE) PODMAN=$(PODMAN_HERE) $(PY) -m tests.image.e2e
