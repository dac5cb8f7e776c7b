"""Project-wide pytest setup: Hypothesis profiles, chosen explicitly.

Hypothesis's built-in "ci" profile (picked automatically when CI=true) derandomizes;
we always select one of our own: ``quick`` for pull requests and CI, ``deep`` for
fuzzing. Choose with WFCONFORM_HYPOTHESIS_PROFILE (default: quick). The profiles are
registered by ``harness.profiles`` (the pytest plugin does it for wfconform's users too).
"""

from __future__ import annotations

import os

from hypothesis import settings

from harness.profiles import register_profiles

register_profiles()
settings.load_profile(os.environ.get("WFCONFORM_HYPOTHESIS_PROFILE", "quick"))
