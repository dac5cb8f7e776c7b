"""The AiiDA adapter's psql tier (``core.psql_dos`` + RabbitMQ) on containerized services.

``wfconform run --engine aiida --tier psql --services containers`` as a user types it, in
a child process (AiiDA loads one profile per process), on a catalog scenario whose
fault lands on the containers: a kill -9 of the RabbitMQ container after an excepted
launch (N1). (One scenario: AiiDA at load 30-40 took 15 minutes for two.) The
faults that find a worker's own connections by TCP port (connection cuts, a frozen
worker's takeover) are declared unsupported there: docker-proxy hides those ports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.adapters.aiida.services import PEER_PORT_FAULTS
from harness.services import Containers
from harness.services.providers import SERVICES_ENV
from tests.aiida.conftest import needs_aiida

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("n1_excepted_process_never_runs_again",)
DEVIATION_4 = {"C1", "C2", "C4", "C5", "L1", "N1"}
"""What AiiDA's deviation 4 (two executors of one process after a RabbitMQ kill -9,
docs/results/aiida-2.9.md) has failed in CI here: steps run again (C2, C5), a finished
relaunch B read running or without exit status afterwards (C1, C4, L1, N1 when B's
terminal state changed). N1 must still hold for the excepted process A itself."""
"""What two executors of one process (AiiDA's deviation 4 after a RabbitMQ kill -9) may
fail; any other failing clause fails this test."""


@needs_aiida
def test_on_containers_the_psql_tier_declares_the_port_matched_faults_unsupported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.adapters.aiida.adapter import AiidaAdapter
    from harness.errors import Unsupported

    adapter = AiidaAdapter("psql")
    monkeypatch.setenv(SERVICES_ENV, "local")
    assert all(adapter.supports(op) for op in PEER_PORT_FAULTS)
    monkeypatch.setenv(SERVICES_ENV, "containers")
    assert not any(adapter.supports(op) for op in PEER_PORT_FAULTS)
    assert adapter.supports("restart_broker") and adapter.supports("restart_database")
    with pytest.raises(Unsupported, match="docker-proxy"):
        adapter.drop_connection()


@needs_aiida
@pytest.mark.services
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_aiida_psql_tier_runs_on_containers_with_a_broker_kill(
    tmp_path: Path,
) -> None:
    reason = Containers().unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI provisions Docker with .ci/provision-containers, yet: {reason}")
        pytest.skip(reason)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("WFCONFORM_POSTGRES_URL", "WFCONFORM_RABBITMQ_URL"):
        env.pop(name, None)
    command = [sys.executable, "-m", "harness.cli", "run", "--engine", "aiida", "--tier",
               "psql", "--services", "containers", "--examples", "0",
               "--chaos-timeout", "240", "--heal-timeout", "120",  # AiiDA at load 35: minutes
               "--out", str(out)]
    for name in SCENARIOS:
        command += ["--scenario", name]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1100)
    # 0, or 1 when AiiDA shows its deviation 4 (docs/results/aiida-2.9.md): after a
    # RabbitMQ kill -9 two workers may execute one process (seen in CI: both ran s1-s3 of
    # launch B, which then read finished with no exit status: C4). Never 2 or 3: the run
    # must be trusted and every scenario must have run.
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    verdicts: dict[str, Any] = {}
    for line in filter(None, (out / "verdicts.jsonl").read_text().splitlines()):
        record = json.loads(line)
        verdicts[record["scenario"]] = record
    fired = {}
    for name in SCENARIOS:
        assert verdicts[name]["status"] == "ran", verdicts[name]
        history = [json.loads(line) for line in
                   (out / verdicts[name]["history"]).read_text().splitlines() if line]
        fired[name] = [line["fault"] for line in history
                       if line.get("type") == "fault" and line.get("status") == "fired"]
        results = {r["clause"]: r["verdict"] for r in verdicts[name]["results"]}
        failed = {c for c, verdict in results.items() if verdict == "fail"}
        assert failed <= DEVIATION_4, (name, results)
        n1 = next(r for r in verdicts[name]["results"] if r["clause"] == "N1")
        assert n1["verdict"] in ("pass", "fail"), n1  # judged, not unknown
        (a_id,) = [line["process"] for line in history if line.get("type") == "op"
                   and line.get("op") == "launch" and line.get("label") == "A"]
        named = {json.loads(line).get("process") for line in n1["witness"]}
        assert a_id not in named, n1  # A, excepted, never ran again
        (final,) = [line for line in history
                    if line.get("type") == "process" and line["path"] == "A"]
        assert final["state"] == "excepted", final
    assert "restart_broker" in fired[SCENARIOS[0]]
