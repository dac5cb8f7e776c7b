"""Celery adapter tests: skipped, with the install line, only when Celery is missing."""

from __future__ import annotations

import importlib.util

import pytest

CELERY_MISSING = importlib.util.find_spec("celery") is None
SKIP_REASON = ("celery is not installed; install the extra with "
               "`python -m pip install -e '.[celery]'` to run the Celery adapter tests")
needs_celery = pytest.mark.skipif(CELERY_MISSING, reason=SKIP_REASON)
