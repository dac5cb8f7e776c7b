"""Project-wide pytest setup: Hypothesis profiles, chosen explicitly.

Hypothesis's built-in "ci" profile (picked automatically when CI=true) derandomizes;
we register our own and always select one: ``quick`` for pull requests and CI,
``deep`` for fuzzing. Choose with WFCONFORM_HYPOTHESIS_PROFILE (default: quick).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "quick",
    max_examples=25,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("WFCONFORM_HYPOTHESIS_PROFILE", "quick"))
