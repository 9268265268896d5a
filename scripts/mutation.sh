#!/usr/bin/env bash
# Mutation testing of the engine and the rules with mutmut (configuration: [tool.mutmut] in pyproject.toml).
# Not part of `make test`: a full run takes tens of minutes. Arguments are passed to `mutmut run`
# (mutant names or globs, e.g. 'segur_workflow.engine*'). Prints the kill rate; results stay in mutants/.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
[ -x "$BIN/mutmut" ] || "$BIN/pip" install --quiet '.[mutation]' >/dev/null 2>&1 || "$BIN/pip" install --quiet 'mutmut>=3.2'
export HYPOTHESIS_PROFILE=mutation  # tests/conftest.py: no deadline, derandomized
"$BIN/mutmut" run --max-children "${MUTATION_JOBS:-2}" "$@" || true
"$BIN/mutmut" export-cicd-stats >/dev/null
"$BIN/python" - <<'PY'
import json
stats = json.load(open("mutants/mutmut-cicd-stats.json"))
killed, survived = stats.get("killed", 0), stats.get("survived", 0)
others = {k: v for k, v in stats.items() if k not in ("killed", "survived", "total") and v}
tested = killed + survived
rate = 100.0 * killed / tested if tested else 0.0
print(f"mutants : {stats.get('total', tested)} ; tués : {killed} ; survivants : {survived} ; autres : {others}")
print(f"taux de mutants tués : {rate:.1f} %")
PY
"$BIN/mutmut" results || true
