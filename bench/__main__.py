"""``python -m bench``: run the benchmarks, print the table, write docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .cases import CASES, Config
from .report import Row, machine_line, text_table, write_page

DEFAULT_PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few rounds: checks the harness, figures mean little")
    parser.add_argument("--only", action="append", choices=sorted(CASES), metavar="CASE",
                        help=f"run only this case (repeatable): {', '.join(CASES)}")
    parser.add_argument("--out", type=Path, default=None,
                        help="page to write (default docs/benchmarks.md; --quick writes none unless given)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)

    cfg = Config.quick() if args.quick else Config.full()
    started = time.perf_counter()
    rows: list[Row] = []
    for name, case in CASES.items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        print(f"… {name}", file=sys.stderr, flush=True)
        rows.extend(case(cfg))
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    took = time.perf_counter() - started
    print(text_table(rows))
    out = args.out if args.out is not None else (None if args.quick or args.only else DEFAULT_PAGE)
    if out is not None and not args.no_write:
        write_page(out, rows, machine_line("quick" if args.quick else "full", took))
        print(f"written: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
