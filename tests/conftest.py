"""Hypothesis profiles of our suite. ``HYPOTHESIS_PROFILE=mutation`` (set by scripts/mutation.sh): no
deadline, derandomized, fewer examples, so that a mutant is killed by a failing assertion, never by a
slow or unlucky run."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("mutation", deadline=None, derandomize=True, database=None, max_examples=25,
                          suppress_health_check=list(HealthCheck))
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


from segur_workflow import emails  # noqa: E402

# The e-mail templates are checked and compiled on the first render (emails._compiled). Pay that once
# here, not inside the first example of whichever hypothesis test renders first in a worker, where it
# counted against the 200 ms deadline on a loaded machine (a flaky DeadlineExceeded).
emails.render("accuse_reception_avance", to="contact@le-select.example", context=emails.example_context())
