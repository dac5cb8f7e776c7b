"""The daemon frees a dead worker's leases even when the database refused at first.

A worker that dies while the database is down (a soak's database restart landing on a
worker kill) used to keep its tasks leased until the lease expired, 60 s later: the
daemon tried to release once and gave up. Now it retries until the database answers.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from reference_engine import Engine
from reference_engine.runtime.worker import LEASE_SECONDS
from tests.engine.workflows import EFFECT_LOG, ThreeSteps

pytestmark = pytest.mark.embedded


def test_leases_refused_at_a_death_are_freed_once_the_database_answers(
    engine: Engine, effect_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.daemon(2, {EFFECT_LOG: str(effect_log)}) as daemon:
        daemon.wait_for_workers()
        release = daemon.store.release_owner
        refused: list[str] = []

        def down_for_two_calls(owner: str) -> int:  # the database "restarting"
            if len(refused) < 2:
                refused.append(owner)
                raise OperationalError("UPDATE tasks", {}, Exception("server closed"))
            return release(owner)

        monkeypatch.setattr(daemon.store, "release_owner", down_for_two_calls)
        engine.arm("before_effect", "ThreeSteps.step2", attempt=1)
        started = time.monotonic()
        pid = engine.submit(ThreeSteps, x=2, y=3)
        record = engine.wait(pid, timeout=LEASE_SECONDS - 10)
        took = time.monotonic() - started
        assert record.state == "finished", record
        assert len(daemon.deaths) == 1 and daemon.deaths[0].returncode == -9
        assert refused == [daemon.deaths[0].owner] * 2  # at the death, then one retry
        assert daemon.unreleased == frozenset()
        assert took < LEASE_SECONDS / 3, f"continued only after {took:.1f} s"
