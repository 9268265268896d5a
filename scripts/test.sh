#!/usr/bin/env bash
# The test command: lint, types, docs (strict), then the test suite with a real PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

# Machine-level needs of the tests (PostgreSQL, Graphviz, Node packages…), installed by the project.
for setup in scripts/setup.d/*.sh; do
  [ -e "$setup" ] || continue
  # shellcheck source=/dev/null
  source "$setup"
done

echo "== ruff"
$BIN/ruff check src tests bench
echo "== mypy --strict"
$BIN/mypy
if [ -f mkdocs.yml ]; then
  echo "== docs (mkdocs --strict)"
  $BIN/python -m segur_workflow.docgen --check
  NO_MKDOCS_2_WARNING=1 $BIN/mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
fi

# A throw-away PostgreSQL cluster for the adapter contract and race tests.
if [ -x scripts/postgres-test-server.sh ]; then
  eval "$(bash scripts/postgres-test-server.sh start)"
  trap 'bash scripts/postgres-test-server.sh stop' EXIT
fi

echo "== pytest"
# The coverage of the machine definitions (docs/qa.md): every transition and every rule outcome reachable through
# the public API, on every run (tests/test_qa_definition_coverage.py fires each one deterministically, derived from
# the definitions); the report lists what no test exercised and the run fails below 100 %.
$BIN/pytest -n 2 -p no:cacheprovider --segur-coverage=build/segur-coverage.json \
  --segur-coverage-fail-under="${SEGUR_COVERAGE_FAIL_UNDER:-100}" "$@"
