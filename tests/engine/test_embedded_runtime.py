"""End to end on the embedded runtime: SQLite + real worker OS processes."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from reference_engine import (
    Daemon,
    Engine,
    InvalidInputsError,
    InvalidStateError,
    NotSerialisableError,
    StoreUnavailableError,
    UnknownProcessTypeError,
)
from tests.engine.conftest import effects
from tests.engine.workflows import BadContext, Failing, Loop, Parent, ThreeSteps, double, echo

pytestmark = pytest.mark.embedded


def test_three_step_workflow_finishes_with_children(engine: Engine, daemon: Daemon) -> None:
    done = engine.wait(engine.submit(ThreeSteps, x=2, y=3), timeout=30)
    assert done.state == "finished" and done.exit_status == 0
    assert done.outputs == {"total": 7, "seen": [1, 2, 3]}
    kids = [engine.get(c) for c in done.children]
    assert [k.label for k in kids] == ["double", "add"]
    assert all(k.state == "finished" and k.parent_id == done.id for k in kids)


def test_loop_and_sub_workflow_run_to_the_end(engine: Engine, daemon: Daemon) -> None:
    assert engine.wait(engine.submit(Loop, n=5)).outputs == {"seen": [2, 4]}
    assert engine.wait(engine.submit(Parent, x=4)).outputs == {"child_total": 9}


def test_exception_leaves_the_process_excepted_and_it_never_runs_again(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    done = engine.wait(engine.submit(Failing, x=1))
    assert done.state == "excepted" and "second step is broken" in (done.exception or "")
    before = effects(effect_log)
    # Deliver its task again by hand, as a broker might: it must do nothing.
    with sqlite3.connect(engine.url.split("sqlite:///")[1]) as db:
        db.execute("INSERT INTO tasks (process_id, attempts) VALUES (?, 0)", (done.id,))
    engine.wait(engine.submit(ThreeSteps, x=1, y=1))  # tasks are claimed in id order
    assert engine.store.task_count() == 0
    assert [e for e in effects(effect_log) if e[2] == str(done.id)] == [
        e for e in before if e[2] == str(done.id)
    ]
    assert engine.get(done.id).state == "excepted"


def test_relaunch_makes_a_new_instance_from_step_one(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    first = engine.wait(engine.submit(Failing, x=1))
    second = engine.wait(engine.relaunch(first.id))
    assert second.id != first.id and second.state == "excepted"
    assert engine.get(second.id).restart_of == first.id
    names = [e[1] for e in effects(effect_log)]
    assert names.count("first") == 2 and names.count("echo") == 2


def test_restart_of_an_active_process_is_refused(engine: Engine) -> None:
    pid = engine.submit(ThreeSteps, x=1, y=1)
    with pytest.raises(InvalidStateError, match="terminated"):
        engine.relaunch(pid)


def test_bad_inputs_are_refused_before_anything_is_written(engine: Engine) -> None:
    with pytest.raises(InvalidInputsError, match="missing input 'y'"):
        engine.submit(ThreeSteps, x=1)
    with pytest.raises(InvalidInputsError, match="unexpected input 'z'"):
        engine.submit(double, x=1, z=2)
    with pytest.raises(NotSerialisableError, match="complex"):
        engine.submit(echo, value={1, 2j})
    with pytest.raises(UnknownProcessTypeError, match="no_such_module"):
        engine.submit("no_such_module:Thing")
    with pytest.raises(UnknownProcessTypeError, match="__main__"):
        engine.submit("__main__:Thing")
    assert engine.list() == []


def test_non_serialisable_context_excepts_with_the_reason(engine: Engine, daemon: Daemon) -> None:
    done = engine.wait(engine.submit(BadContext))
    assert done.state == "excepted" and "put_object" in done.message
    assert engine.store.active_without_task() == []


def test_corrupt_checkpoint_excepts_the_process(engine: Engine) -> None:
    pid = engine.submit(ThreeSteps, x=1, y=1)
    with sqlite3.connect(engine.url.split("sqlite:///")[1]) as db:
        db.execute("UPDATE processes SET checkpoint='{garbage' WHERE id=?", (pid,))
    with engine.daemon(1):
        done = engine.wait(pid)
    assert done.state == "excepted" and "corrupt" in done.message


def test_unknown_type_in_the_database_excepts_instead_of_hanging(engine: Engine) -> None:
    pid = engine.store.create_process("tests.engine.workflows:Gone", "Gone", "workflow", {})
    with engine.daemon(1):
        done = engine.wait(pid)
    assert done.state == "excepted" and "Gone" in done.message


def test_a_database_that_cannot_be_opened_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="does not exist"):
        Engine(tmp_path / "missing" / "engine.db")
    with pytest.raises(StoreUnavailableError, match="directory"):
        Engine(tmp_path)


def test_kill_propagates_to_children_and_wakes_nothing(engine: Engine, effect_log: Path) -> None:
    pid = engine.submit(Parent, x=1)
    with engine.daemon(1, {"WFC_TEST_SLOW_SECONDS": "0.3"}):
        wait_for_state(engine, pid, "waiting")
        killed = engine.kill(pid)
        assert pid in killed and len(killed) >= 2
        record = engine.wait(pid)
    assert record.state == "killed"
    assert all(engine.get(c).state in ("killed", "finished") for c in killed)
    assert engine.store.task_count() == 0


def wait_for_state(engine: Engine, pid: int, state: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while engine.get(pid).state != state:
        assert time.monotonic() < deadline, f"process {pid} never became {state}"
        time.sleep(0.005)


def test_an_external_command_runs_as_a_cacheable_calculation(
    engine: Engine, daemon: Daemon
) -> None:
    from tests.engine.workflows import shell_add, shell_fail

    done = engine.wait(engine.submit(shell_add, x=2, y=40))
    assert (done.state, done.exit_status, done.outputs) == ("finished", 0, {"sum": 42})
    failed = engine.wait(engine.submit(shell_fail, code=3))
    assert failed.state == "finished" and failed.exit_status == 3
    assert "oops" in failed.outputs["stderr"]
    engine.set_caching(enabled=["*:shell_*"])
    again = engine.wait(engine.submit(shell_add, x=2, y=40))
    assert again.cached_from == done.id and again.outputs == {"sum": 42}
    invalidating = engine.wait(engine.submit(shell_fail, code=7))
    assert invalidating.exit_status == 7
    assert engine.wait(engine.submit(shell_fail, code=7)).cached_from is None
    assert engine.wait(engine.submit(shell_fail, code=3)).cached_from == failed.id
