"""Hypothesis profiles of our suite. ``HYPOTHESIS_PROFILE=mutation`` (set by scripts/mutation.sh): no
deadline, derandomized, fewer examples, so that a mutant is killed by a failing assertion, never by a
slow or unlucky run."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("mutation", deadline=None, derandomize=True, database=None, max_examples=25,
                          suppress_health_check=list(HealthCheck))
# Speed is measured by the benchmark, never by a timed assertion: the default profile has no deadline and no
# too-slow health check, so a loaded machine (CI on 2 cores) cannot fail a test that is correct.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))
