"""A kill committed after a worker's claim but before its body: the body never begins (N1).

Found by a real-tier fuzz campaign (seed 2026120410, 2026-12-04): a worker claimed a
calculation, the nemesis killed its parent (and so it) while the worker looked up the
cache, and the body then ran 56 ms after the kill; its commit was refused, but a killed
process had run again. The executor now asks the store, just before a body begins,
whether its claim still holds (``Store.still_holds``).

Deterministic here: the test claims the task itself, kills the process through the
engine, then runs the executor in this process on the stale claim.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_engine import Engine
from reference_engine.crashpoints import CrashPlan
from reference_engine.runtime.executor import execute
from tests.engine.workflows import EFFECT_LOG, ThreeSteps, add, read_effects

pytestmark = pytest.mark.embedded


@pytest.fixture
def effect_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "effects.log"
    monkeypatch.setenv(EFFECT_LOG, str(log))
    return log


@pytest.mark.parametrize("process", [add, ThreeSteps], ids=["calculation", "workflow step"])
def test_a_body_claimed_before_a_kill_does_not_begin_after_it(
        tmp_path: Path, effect_log: Path, process: object) -> None:
    with Engine(tmp_path / "engine.db") as engine:
        pid = engine.submit(process, x=1, y=2)  # both record an effect per body
        claimed = engine.store.claim("w-stale")
        assert claimed is not None and claimed.process.id == pid
        assert engine.kill(pid) == [pid]
        assert not engine.store.still_holds(claimed)

        execute(engine.store, claimed, CrashPlan())

        assert read_effects(effect_log) == [], "the body ran after its process was killed"
        done = engine.get(pid)
        assert (done.state, done.outputs) == ("killed", {})


def test_a_claim_nobody_moved_still_holds_and_its_body_runs(
        tmp_path: Path, effect_log: Path) -> None:
    """The other side: without a kill the check passes and the body runs once (a check
    that always said "lost" would pass the test above)."""
    with Engine(tmp_path / "engine.db") as engine:
        pid = engine.submit(add, x=1, y=2)
        claimed = engine.store.claim("w-live")
        assert claimed is not None and engine.store.still_holds(claimed)
        execute(engine.store, claimed, CrashPlan())
        assert [e.name for e in read_effects(effect_log)] == ["add"]
        assert engine.get(pid).state == "finished"


def test_an_outage_during_the_claim_check_is_the_workers_not_the_steps_failure(
        tmp_path: Path, effect_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check runs inside ``advance``, whose handler turns user-code errors into an
    excepted process; a database that fails the check (restarting, a cut connection)
    must reach the worker's outage path instead (review, 2026-12-04: the step was
    excepted with "server closed the connection")."""
    from sqlalchemy.exc import OperationalError

    def down(claimed: object) -> bool:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    with Engine(tmp_path / "engine.db") as engine:
        pid = engine.submit(ThreeSteps, x=1, y=2)
        claimed = engine.store.claim("w-outage")
        assert claimed is not None
        monkeypatch.setattr(engine.store, "still_holds", down)
        with pytest.raises(OperationalError, match="server closed the connection"):
            execute(engine.store, claimed, CrashPlan())
        assert engine.get(pid).state == "running"  # not excepted: a retry continues it
        assert read_effects(effect_log) == []
