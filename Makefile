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
