"""``python -m segur_workflow.docgen [--check] [--docs DIR]``."""

from . import main

raise SystemExit(main())
