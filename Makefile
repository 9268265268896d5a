# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv on first use; nothing has to be installed by hand.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench docs mutation clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/segur-workflow demo

test: $(STAMP)
	bash scripts/test.sh

bench: $(STAMP)
	$(BIN)/python -m bench

# Mutation testing of the engine and the rules (mutmut; minutes to hours, never part of `make test`).
mutation: $(STAMP)
	bash scripts/mutation.sh

# The docs build needs Graphviz (drawings) and the Mermaid renderer of tools/: the setup scripts install them
# when absent, and the mkdocs hook runs `npm ci` itself, so `make docs` works before `make test` too.
docs: $(STAMP)
	bash -c 'set -e; for s in scripts/setup.d/20-graphviz.sh scripts/setup.d/30-node.sh; do source "$$s"; done; \
	  NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict'

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .pytest_cache mutants
