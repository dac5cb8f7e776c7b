"""DBOS adapter tests: skipped, with the install line, only when DBOS is missing."""

from __future__ import annotations

import importlib.util

import pytest

DBOS_MISSING = importlib.util.find_spec("dbos") is None
SKIP_REASON = ("dbos is not installed; install the extra with "
               "`python -m pip install -e '.[dbos]'` to run the DBOS adapter tests")
needs_dbos = pytest.mark.skipif(DBOS_MISSING, reason=SKIP_REASON)
