"""Fixtures for the AiiDA adapter tests: one throwaway profile for the whole session.

AiiDA loads one profile per process, so every test here shares the adapter's profile
(`harness.adapters.aiida.shared_profile`); it is removed at the end of the session,
also when a test fails. Nothing here imports aiida unless it is installed: the package
import below only points `AIIDA_PATH` at a throwaway folder, before any AiiDA import.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

import harness.adapters.aiida  # noqa: F401 - sets AIIDA_PATH before any aiida import

AIIDA_MISSING = importlib.util.find_spec("aiida") is None
SKIP_REASON = ("aiida-core is not installed; install the extra with "
               "`python -m pip install -e '.[aiida]'` to run the AiiDA adapter tests")
needs_aiida = pytest.mark.skipif(AIIDA_MISSING, reason=SKIP_REASON)


@pytest.fixture(scope="session")
def aiida_profile() -> Iterator[Any]:
    """The shared throwaway profile (SQLite, RabbitMQ vhost), without a running daemon."""
    from harness.adapters.aiida import close_shared_profile, shared_profile

    try:
        yield shared_profile()
    finally:
        close_shared_profile()
