"""How a worker OS process tells its daemon that it now serves: one byte on a pipe.

``$REFERENCE_ENGINE_WORKER_READY_FD`` names the write end of a pipe the daemon made for
that worker (``Daemon._spawn``). The worker writes ``READY_BYTE`` and closes it once it
has imported everything and is about to take tasks; a worker that dies first closes it
by dying (EOF). Why: a worker's boot (Python, SQLAlchemy, the engine) took seconds under
load, and a caller that starts its clock at spawn time charged that boot to its first
task (``Daemon.wait_serving``). Its own module so that the daemon need not import the
worker loop (``python -m`` of a module already imported warns).
"""

from __future__ import annotations

import contextlib
import os

READY_FD_ENV_VAR = "REFERENCE_ENGINE_WORKER_READY_FD"
READY_BYTE = b"r"


def notify_ready() -> None:
    """Tell the daemon this worker now serves; unset variable: do nothing.

    The variable is removed, so the bodies a worker runs never see the descriptor.
    """
    raw = os.environ.pop(READY_FD_ENV_VAR, "")
    if not raw.isdigit():
        return
    fd = int(raw)
    with contextlib.suppress(OSError):  # a daemon that stopped listening waits no more
        os.write(fd, READY_BYTE)
    with contextlib.suppress(OSError):
        os.close(fd)
