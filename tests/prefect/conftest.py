"""Prefect adapter tests: skipped, with the install line, only when prefect is absent."""

from __future__ import annotations

import importlib.util

import pytest

PREFECT_MISSING = importlib.util.find_spec("prefect") is None
SKIP_REASON = ("prefect is not installed; install the extra with "
               "`python -m pip install -e '.[prefect]'` to run the Prefect adapter tests")
needs_prefect = pytest.mark.skipif(PREFECT_MISSING, reason=SKIP_REASON)
