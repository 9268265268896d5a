"""Replay the surviving mutants of the last ``make mutation`` run against the tests as they are now.

mutmut 3 keeps its verdicts until a mutated function changes, and starts again from nothing when its test
selection changes: after tests are written for the survivors, this replays only the survivors, in one warm
process (one fork per mutant, as mutmut does), each on the given test files first, then on the tests mutmut
recorded calling the mutated function (fastest first, stopping at the first failure). Each verdict is written
back into ``mutants/`` (1 killed, 0 survived, as mutmut writes them), so ``mutmut results``, ``mutmut show``
and the figures of ``scripts/mutation.sh --figures`` include the replay.

    HYPOTHESIS_PROFILE=mutation .venv/bin/python scripts/mutation_replay.py [--dry-run] [--new-only] \
        [--only 'segur_workflow.rules*'] tests/test_qa_mutants_rules.py …

``--only GLOB`` replays only the survivors whose name matches; ``--new-only`` runs only the given test files
(not the recorded ones: those already let every survivor live), which is enough to know what new tests kill.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
ARGS = ["-x", "-q", "--tb=no", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly",
        "-p", "no:unraisableexception", "-p", "no:threadexception", "-p", "no:faulthandler", "-p", "no:logging",
        "-p", "no:warnings", "-p", "no:doctest", "-p", "no:junitxml", "-p", "no:pastebin", "-p", "no:stepwise",
        "-p", "no:legacypath"]


def survivors() -> dict[Path, list[str]]:
    out: dict[Path, list[str]] = {}
    for meta in sorted((MUTANTS / "src").rglob("*.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        names = [k for k, code in data["exit_code_by_key"].items() if code == 0]
        if names:
            out[meta] = names
    return out


def run_one(name: str, tests: list[str]) -> int:
    pid = os.fork()
    if pid == 0:  # the child: the mutant switched on, pytest quiet
        os.environ["MUTANT_UNDER_TEST"] = name
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the child exits right after)
        import pytest

        os._exit(int(pytest.main([*ARGS, *tests])))
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def main(first: list[str], *, write: bool = True, only: str = "*", new_only: bool = False) -> None:
    shutil.copytree(ROOT / "tests", MUTANTS / "tests", dirs_exist_ok=True)  # the tests as they are now
    stats = json.loads((MUTANTS / "mutmut-stats.json").read_text(encoding="utf-8"))
    by_function, duration = stats["tests_by_mangled_function_name"], stats["duration_by_test"]
    os.chdir(MUTANTS)
    sys.path.insert(0, str(MUTANTS / "src"))
    sys.path[:] = [p for p in sys.path if Path(p).resolve() != (ROOT / "src").resolve()]
    os.environ["MUTANT_UNDER_TEST"] = ""
    import pytest

    pytest.main([*ARGS, "--collect-only", "-qqq", *first])  # imports and collection paid once, before forking
    killed = replayed = 0
    start = time.monotonic()
    for meta, names in survivors().items():
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name in names:
            if not fnmatch.fnmatchcase(name, only):
                continue
            recorded = [] if new_only else sorted(by_function.get(name.partition("__mutmut_")[0], ()),
                                                  key=lambda t: duration.get(t, 0))
            code = run_one(name, [*first, *recorded])
            replayed += 1
            if code in (1, 3):
                killed += 1
                data["exit_code_by_key"][name] = 1
            print(f"{'tué' if code in (1, 3) else 'survit'} {name}", flush=True)
        if write:
            meta.write_text(json.dumps(data, indent=4), encoding="utf-8")
    print(f"rejoués : {replayed} ; tués : {killed} ; survivants : {replayed - killed} ; "
          f"{time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    # --dry-run: print the verdicts only (while a mutmut run is still writing its own into mutants/)
    argv = sys.argv[1:]
    pattern = "*"
    if "--only" in argv:
        i = argv.index("--only")
        pattern = argv[i + 1]
        del argv[i:i + 2]
    flags = {"--dry-run", "--new-only"}
    main([a for a in argv if a not in flags], write="--dry-run" not in argv, only=pattern,
         new_only="--new-only" in argv)
