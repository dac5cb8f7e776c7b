"""A service restart's own duration does not count against a launch's chaos budget.

On the real tier a broker restart took 10 s under load and failed L1 on the correct
engine: the launch's chaos timeout ran out while the broker was down. The nemesis times
every service fault and ``Nemesis.wait`` extends the deadline by the outage meanwhile.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from harness.adapter import Handle
from harness.adapters.reference import ReferenceAdapter
from harness.checks.result import FAIL
from harness.history import HistoryRecorder
from harness.nemesis import MAX_EXCUSED_OUTAGE, Nemesis
from harness.runner import RunOptions, run_scenario
from harness.session import Session
from scenarios import Launch, RestartBroker, Scenario
from scenarios.catalog import STEPS

SCENARIO = Scenario("outage", (STEPS,), (), (Launch("A", "Steps", {"x": 1}),),
                    (RestartBroker(1),))
HANDLE = Handle("A", "1")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeAdapter:
    """An engine whose launch terminates at ``done_at`` (fake seconds); a restart of
    ``restart`` seconds lands ``restart_at`` seconds into the first wait."""

    def __init__(self, clock: Clock, done_at: float | None, restart: float = 0.0,
                 restart_at: float = 1.0) -> None:
        self.clock, self.done_at = clock, done_at
        self.restart, self.restart_at = restart, restart_at
        self.nemesis: Nemesis | None = None
        self.waits: list[float] = []

    def wait(self, handle: Handle, timeout: float) -> str | None:
        self.waits.append(timeout)
        end = self.clock.now + timeout
        if self.restart and self.nemesis is not None:
            self.clock.now += self.restart_at
            self.nemesis._do(RestartBroker(1), "fired", self._restart)
            self.restart = 0.0
        if self.done_at is not None and self.done_at <= max(end, self.clock.now):
            self.clock.now = max(self.clock.now, self.done_at)
            return "finished"
        self.clock.now = max(self.clock.now, end)
        return None

    def _restart(self) -> None:
        self.clock.now += self.restart


def nemesis(tmp_path: Path, adapter: FakeAdapter, clock: Clock,
            recorder: HistoryRecorder | None = None) -> Nemesis:
    fake: Any = adapter  # only ``wait`` is called: a fake, not a full EngineAdapter
    found = Nemesis(fake, Session(tmp_path, SCENARIO), recorder or HistoryRecorder(), {})
    found._clock = clock
    adapter.nemesis = found
    return found


def test_a_restart_during_the_wait_extends_the_deadline_by_its_duration(tmp_path: Path):
    clock = Clock()
    adapter = FakeAdapter(clock, done_at=clock.now + 25.0, restart=10.0)
    state, excused = nemesis(tmp_path, adapter, clock).wait(HANDLE, 20.0)
    assert state == "finished"  # 25 s: 20 s of budget + 10 s of broker restart
    assert excused == pytest.approx(10.0)


def test_a_launch_that_hangs_still_times_out_after_budget_plus_outage(tmp_path: Path):
    clock = Clock()
    adapter = FakeAdapter(clock, done_at=None, restart=10.0)
    start = clock.now
    state, excused = nemesis(tmp_path, adapter, clock).wait(HANDLE, 20.0)
    assert state is None
    assert excused == pytest.approx(10.0)
    assert clock.now - start == pytest.approx(30.0)


def test_without_an_outage_the_budget_is_unchanged(tmp_path: Path):
    clock = Clock()
    adapter = FakeAdapter(clock, done_at=clock.now + 25.0)
    state, excused = nemesis(tmp_path, adapter, clock).wait(HANDLE, 20.0)
    assert (state, excused) == (None, 0.0)
    assert adapter.waits == [20.0]


def test_an_outage_before_the_wait_is_not_excused(tmp_path: Path):
    clock = Clock()
    adapter = FakeAdapter(clock, done_at=clock.now + 40.0)
    found = nemesis(tmp_path, adapter, clock)
    found._do(RestartBroker(1), "fired", lambda: setattr(clock, "now", clock.now + 10.0))
    assert found.wait(HANDLE, 20.0) == (None, 0.0)


def test_the_excused_time_is_capped(tmp_path: Path):
    clock = Clock()
    adapter = FakeAdapter(clock, done_at=None, restart=MAX_EXCUSED_OUTAGE + 50.0)
    state, excused = nemesis(tmp_path, adapter, clock).wait(HANDLE, 5.0)
    assert state is None and excused == MAX_EXCUSED_OUTAGE


def test_the_fault_line_records_when_the_outage_began_and_ended(tmp_path: Path):
    clock = Clock()
    adapter = FakeAdapter(clock, done_at=None)
    recorder = HistoryRecorder()
    found = nemesis(tmp_path, adapter, clock, recorder)
    found._do(RestartBroker(1), "fired", lambda: setattr(clock, "now", clock.now + 7.0))
    line = recorder._records[-1]
    assert line["status"] == "fired"
    assert line["t0"] == 100.0  # the end is the line's own ``t`` (monotonic, as ever)
    assert found.outage(0.0) == (7.0, False)


class SlowBrokerAdapter(ReferenceAdapter):
    """The embedded tier with a fake broker restart that takes ``RESTART`` seconds."""

    RESTART = 3.0

    def supports(self, operation: str) -> bool:
        return operation == "restart_broker" or super().supports(operation)

    def restart_broker(self, hard: bool) -> None:
        time.sleep(self.RESTART)


@pytest.mark.embedded
def test_a_slow_restart_does_not_make_a_correct_engine_miss_its_chaos_budget() -> None:
    """The body at entry 1 is held by the gate for the whole restart (3 s): with 2 s of
    chaos budget the launch used to time out; now it finishes and the wait says why."""
    run = run_scenario(lambda: SlowBrokerAdapter("embedded"), SCENARIO,
                       RunOptions(chaos_timeout=2.0, heal_timeout=10.0))
    assert run.status == "ran" and run.history is not None
    waits = [line for line in run.history.of("op") if line.get("op") == "wait"]
    assert waits[0]["state"] == "finished", waits[0].text
    # most of the restart overlaps the wait (under load the wait starts a little late)
    assert waits[0]["excused"] >= SlowBrokerAdapter.RESTART / 2
    assert not [r.clause for r in run.results if r.verdict == FAIL]
