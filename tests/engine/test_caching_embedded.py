"""Caching end to end on the embedded runtime (clauses K1..K8, N4).

The pure rules are unit-tested in ``test_caching_rules.py``; here real workers compute
the hashes and decide, and the effect log proves whether a body ran (K1).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from reference_engine import Daemon, Engine, ProcessRecord
from reference_engine.core.hashing import calculation_hash
from reference_engine.loader import resolve
from tests.engine.workflows import (
    EFFECT_LOG,
    SLOW,
    ThreeSteps,
    boom,
    double,
    echo,
    echo_other,
    failing,
    read_effects,
)

pytestmark = pytest.mark.embedded


def run(engine: Engine, process: object, **inputs: object) -> ProcessRecord:
    return engine.wait(engine.submit(process, **inputs), timeout=30)


def executions(log: Path, pid: int) -> int:
    """How many times the body of process ``pid`` ran, per the effect log."""
    return sum(1 for e in read_effects(log) if e.process == pid)


def assert_hit(log: Path, hit: ProcessRecord, source: ProcessRecord) -> None:
    assert hit.cached_from == source.id, (
        f"process {hit.id} ({hit.inputs}) should be a cache hit from {source.id}, "
        f"got cached_from={hit.cached_from}"
    )
    assert executions(log, hit.id) == 0  # K1
    assert (hit.state, hit.exit_status, hit.outputs) == (
        source.state, source.exit_status, source.outputs  # K2
    )


def assert_miss(log: Path, record: ProcessRecord) -> None:
    assert record.cached_from is None, (
        f"process {record.id} ({record.inputs}) hit {record.cached_from}; expected a miss"
    )
    assert executions(log, record.id) == 1


def give_the_hash_it_would_have(engine: Engine, record: ProcessRecord) -> None:
    """Store the hash a finished run would have on a non-finished node.

    Why: this engine stores a hash only on finish, so without this a refused source
    would be refused merely for lacking a hash; with it, the validity rule must refuse.
    """
    target = resolve(record.type)
    digest = calculation_hash(record.type, target.version, record.inputs)  # type: ignore[union-attr]  # a calculation
    with sqlite3.connect(engine.url.split("sqlite:///")[1]) as db:
        db.execute("UPDATE processes SET hash=? WHERE id=?", (digest, record.id))


def test_identical_inputs_hit_without_running_and_name_their_source(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    engine.set_caching(enabled=["*:echo"])
    value = {"a": [1, 2.5, "x", None], "b": {"c": True}}
    first = run(engine, echo, value=value)
    assert_miss(effect_log, first)
    assert_hit(effect_log, run(engine, echo, value=value), first)
    assert_hit(effect_log, run(engine, echo, value=value), first)  # one stable source


def test_one_float_true_and_string_one_are_four_different_inputs(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    engine.set_caching(enabled=["*:echo"])
    firsts = {repr(v): run(engine, echo, value=v) for v in (1, 1.0, True, "1")}
    for record in firsts.values():
        assert_miss(effect_log, record)
    for v in (1, 1.0, True, "1"):
        again = run(engine, echo, value=v)
        assert_hit(effect_log, again, firsts[repr(v)])
        assert type(again.outputs["value"]) is type(v)  # type: ignore[index]  # finished


def test_a_change_deep_in_a_nested_dict_misses_and_key_order_does_not(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    engine.set_caching(enabled=["*:echo"])
    base = {"a": {"b": {"c": [1, {"d": 2}]}}, "z": 0}
    deep_change = {"a": {"b": {"c": [1, {"d": 3}]}}, "z": 0}
    reordered = {"z": 0, "a": {"b": {"c": [1, {"d": 2}]}}}
    source = run(engine, echo, value=base)
    assert_miss(effect_log, run(engine, echo, value=deep_change))
    assert_hit(effect_log, run(engine, echo, value=reordered), source)


def test_an_excepted_calculation_is_never_a_source(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    engine.set_caching(default=True)
    first = run(engine, boom, value=1)
    assert first.state == "excepted"
    give_the_hash_it_would_have(engine, first)
    second = run(engine, boom, value=1)
    assert second.state == "excepted"
    assert_miss(effect_log, second)


def test_a_killed_calculation_is_never_a_source(engine: Engine, effect_log: Path) -> None:
    engine.set_caching(default=True)
    with engine.daemon(2, {EFFECT_LOG: str(effect_log), SLOW: "0.5"}):
        victim = engine.submit(double, x=5)
        deadline = time.monotonic() + 10
        while engine.get(victim).state != "running":
            assert time.monotonic() < deadline, f"process {victim} never started running"
            time.sleep(0.002)
        assert engine.kill(victim) == [victim]  # killed while its body runs
        killed = engine.wait(victim)
        give_the_hash_it_would_have(engine, killed)
        again = run(engine, double, x=5)
    assert killed.state == "killed" and killed.outputs == {}
    assert_miss(effect_log, again)
    assert again.outputs == {"result": 10}


def test_an_invalidated_node_is_never_a_source_again(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    engine.set_caching(enabled=["*:echo"])
    first = run(engine, echo, value=42)
    engine.invalidate(first.id)
    second = run(engine, echo, value=42)
    assert_miss(effect_log, second)
    assert_hit(effect_log, run(engine, echo, value=42), second)


@pytest.mark.parametrize(
    ("policy", "status", "is_source"),
    [
        ("allow_unless_invalidating", 3, True),
        ("allow_unless_invalidating", 13, False),  # failing declares 13 invalidating
        ("never", 3, False),
    ],
)
def test_a_failed_calculation_is_a_source_exactly_as_the_policy_declares(
    engine: Engine, daemon: Daemon, effect_log: Path, policy: str, status: int,
    is_source: bool,
) -> None:
    engine.set_caching(enabled=["*:failing"], failed_source_policy=policy)
    first = run(engine, failing, value="v", status=status)
    assert (first.state, first.exit_status) == ("finished", status)
    second = run(engine, failing, value="v", status=status)
    if is_source:
        assert_hit(effect_log, second, first)
    else:
        assert_miss(effect_log, second)
        assert second.exit_status == status


def test_caching_enabled_for_one_type_is_off_for_another(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    engine.set_caching(enabled=["*:echo"])
    source = run(engine, echo, value="p")
    assert_hit(effect_log, run(engine, echo, value="p"), source)
    assert_miss(effect_log, run(engine, echo_other, value="p"))
    assert_miss(effect_log, run(engine, echo_other, value="p"))


def test_two_calculation_types_never_hit_each_other(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    engine.set_caching(default=True)
    assert_miss(effect_log, run(engine, echo, value=7))
    assert_miss(effect_log, run(engine, echo_other, value=7))


def test_workflows_are_never_cached_but_their_calculations_are(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    engine.set_caching(default=True)
    first = run(engine, ThreeSteps, x=2, y=3)
    second = run(engine, ThreeSteps, x=2, y=3)
    assert second.cached_from is None and second.outputs == first.outputs
    assert sorted(e.name for e in read_effects(effect_log) if e.process == second.id) == [
        "step1", "step2", "step3"
    ]
    for old, new in zip(first.children, second.children, strict=True):
        assert_hit(effect_log, engine.get(new), engine.get(old))  # N4


def test_with_caching_off_nothing_ever_hits(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    assert not engine.caching().default and engine.caching().enabled == ()
    assert_miss(effect_log, run(engine, echo, value=1))
    assert_miss(effect_log, run(engine, echo, value=1))
    engine.set_caching(default=True, disabled=["*:echo"])
    assert_miss(effect_log, run(engine, echo, value=1))


def test_equal_inputs_hit_across_a_daemon_restart(engine: Engine, effect_log: Path) -> None:
    engine.set_caching(enabled=["*:echo"])
    env = {EFFECT_LOG: str(effect_log)}
    with engine.daemon(2, env) as first_daemon:
        source = run(engine, echo, value={"k": [1.5, "s"]})
        first_workers = set(first_daemon.worker_pids())
    with engine.daemon(2, env) as second_daemon:
        second_daemon.wait_for_workers()
        assert first_workers.isdisjoint(second_daemon.worker_pids())
        hit = run(engine, echo, value={"k": [1.5, "s"]})
    assert_miss(effect_log, source)
    assert_hit(effect_log, hit, source)
