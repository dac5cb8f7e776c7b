"""What ``celery -A harness.adapters.celery.worker worker`` loads in the adapter's workers.

The run's folder comes from ``$WFCONFORM_SESSION`` (``Session.env()``), the Celery
settings from ``celery.json`` beside it, written by the adapter's ``open``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from harness.adapters.celery.app import make_app, read_config
from harness.adapters.celery.tasks import register
from harness.bodies import BodyRuntime
from harness.session import ENV_VAR, Session

__all__ = ["app"]


def _kill_whole_worker() -> None:
    """A crash of the whole worker: its main process and every pool child (one process
    group, the adapter started it in a session of its own)."""
    os.killpg(os.getpgid(0), signal.SIGKILL)
    while True:  # pragma: no cover - the signal is delivered before this line
        time.sleep(1)


_config = read_config(Path(os.environ[ENV_VAR]).parent)
if _config.get("kill") == "worker":
    BodyRuntime.install(BodyRuntime(Session.load(os.environ[ENV_VAR]), die=_kill_whole_worker))
app = make_app(_config)
register(app)
