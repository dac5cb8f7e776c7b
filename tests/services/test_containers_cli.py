"""``wfconform run --tier real --services containers``, as a user types it, in CI.

The whole catalog (`scenarios.catalog.CATALOG`) plus the three scenarios Hypothesis
draws with the run's fixed seed (2026), on containers, with the default chaos and heal
timeouts: it must end ``22 passed, 0 failed`` with no clause unknown. Measured on this
machine kind (2 cores): 181 s at load 3-8, 465-700 s at load 8-33, 1,450 s with three
runs at once at load 26-41. So CI, on a quiet machine, pays about three minutes for it
(it replaced a nine-scenario covering selection when the full run became reliable under
load: a cut closes its connections in one rabbitmqctl call, the first launch no longer
pays for the workers' boot, and a broker container slow to come back is excused).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.services import Containers
from scenarios.catalog import CATALOG

pytestmark = [pytest.mark.services, pytest.mark.slow]

DRAWN = 3  # `wfconform run`'s default --examples


@pytest.mark.timeout(2400)  # 38 scenarios: three minutes quiet, 25 at load 40
def test_the_real_tier_on_containers_passes_every_clause(tmp_path: Path) -> None:
    reason = Containers().unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI provisions Docker with .ci/provision-containers, yet: {reason}")
        pytest.skip(reason)
    argv = [sys.executable, "-m", "harness.cli", "run", "--tier", "real",
            "--services", "containers", "--out", str(tmp_path / "out")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    for name in ("WFCONFORM_POSTGRES_URL", "WFCONFORM_RABBITMQ_URL"):
        env.pop(name, None)  # --services containers must not need them
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=2300,
                          cwd=tmp_path)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert lines[-1] == "22 passed, 0 failed", lines[-30:]
    assert f"{len(CATALOG) + DRAWN} scenario(s) ran, 0 errored, 0 not applicable; 0 " \
        "clause(s) unknown" in done.stdout, lines[-30:]
