"""``python -m segur_workflow.cli``: the ``segur-workflow`` command."""

from . import main

raise SystemExit(main())
