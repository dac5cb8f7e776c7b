"""A stopped worker ends promptly, and still runs its atexit handlers and flushes output.

Why: workers skip the interpreter's teardown when they stop (`exit_promptly`: it cost
0.1 to 0.3 s per worker and daemon stop, once per scenario of a fuzz campaign), and a
prelude's atexit handler (a coverage hook, say) or a body's last print must not be lost
for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_engine import Engine
from reference_engine.runtime.worker import LOG_ENV_VAR, PRELUDE_ENV_VAR
from tests.engine.workflows import EFFECT_LOG, ThreeSteps

pytestmark = pytest.mark.embedded

MARKS_ENV_VAR = "WFCONFORM_TEST_ATEXIT_MARKS"  # the prelude's (not imported here:
# importing it would register its handler in this process)


def test_stopped_workers_run_atexit_handlers_and_flush_their_output(
        engine: Engine, effect_log: Path, tmp_path: Path) -> None:
    marks, log = tmp_path / "marks", tmp_path / "workers.log"
    env = {EFFECT_LOG: str(effect_log), PRELUDE_ENV_VAR: "tests.engine.atexit_prelude",
           MARKS_ENV_VAR: str(marks), LOG_ENV_VAR: str(log),
           "PYTHONUNBUFFERED": ""}  # buffered stdout even where the caller's is not
    with engine.daemon(2, env) as daemon:
        assert daemon.wait_serving(timeout=60) == 2
        pids = sorted(daemon.worker_pids())
        assert engine.wait(engine.submit(ThreeSteps, x=1, y=2), timeout=30).state == "finished"
    assert sorted(int(line.split()[1]) for line in marks.read_text().splitlines()) == pids
    assert sorted(int(line.split()[-1]) for line in log.read_text().splitlines()
                  if line.startswith("unflushed line from")) == pids
