#!/usr/bin/env bash
# Mutation testing of the engine and the rules with mutmut (configuration: [tool.mutmut] in pyproject.toml).
# Not part of `make test`. Arguments are passed to `mutmut run` (mutant names or globs, e.g.
# 'segur_workflow.engine*'); `--figures` alone prints the figures of the results already in mutants/ (after
# scripts/mutation_replay.py). MUTATION_JOBS (default 2) mutants at once. Prints the figures (mutants, killed,
# survived, timeouts, kill rate, wall time, load average); results stay in mutants/ (`mutmut results`,
# `mutmut show NAME`). `--fresh` first deletes mutants/ (a complete run against the tests as they are).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
[ -x "$BIN/mutmut" ] || "$BIN/pip" install --quiet '.[mutation]' >/dev/null 2>&1 || "$BIN/pip" install --quiet 'mutmut>=3.2'
export HYPOTHESIS_PROFILE=mutation  # tests/conftest.py: no deadline, derandomized, 10 examples, cheap scrypt
start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "${1:-}" = "--fresh" ]; then  # a complete run: mutmut 3.8 keeps the cached verdicts of unchanged functions
  shift                             # even when the tests changed (docs/qa.md)
  rm -rf mutants
fi
if [ "${1:-}" = "--figures" ]; then  # only the figures of the results in mutants/ (after scripts/mutation_replay.py)
  shift
else
  "$BIN/mutmut" run --max-children "${MUTATION_JOBS:-2}" "$@" || true
fi
wall=$(( $(date +%s) - start ))
"$BIN/mutmut" export-cicd-stats >/dev/null
WALL=$wall LOAD_START=$load_start LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg) "$BIN/python" - <<'PY'
import json, os
stats = json.load(open("mutants/mutmut-cicd-stats.json"))
killed, survived, timeout = (stats.get(k, 0) for k in ("killed", "survived", "timeout"))
others = {k: v for k, v in stats.items() if k not in ("killed", "survived", "timeout", "total") and v}
tested = killed + survived + timeout
rate = 100.0 * (killed + timeout) / tested if tested else 0.0
wall = int(os.environ["WALL"])
print(f"mutants : {stats.get('total', tested)} ; tués : {killed} ; survivants : {survived} ; délais dépassés : "
      f"{timeout} ; autres : {others}")
print(f"taux de mutants tués : {rate:.1f} % ; durée : {wall // 60} min {wall % 60} s ; charge (1, 5, 15 min) : "
      f"{os.environ['LOAD_START']} au début, {os.environ['LOAD_END']} à la fin")
PY
"$BIN/mutmut" results || true
