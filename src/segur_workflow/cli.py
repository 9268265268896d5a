"""The ``segur-workflow`` command line (demo, diagram, check, emails, show)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    print("segur-workflow: commandes à venir (demo, diagram, check, emails, show)", args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
