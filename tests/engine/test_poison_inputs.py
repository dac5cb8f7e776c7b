"""Issue 12 on the embedded tier: one bad input never stops the engine.

The checks live in ``tests/engine/robustness.py`` and run on the real tier too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_engine import Daemon, Engine
from tests.engine import robustness as rb
from tests.engine.workflows import EFFECT_LOG

QUARANTINE_LIMIT = 2


@pytest.fixture
def poison_daemon(engine: Engine, effect_log: Path) -> Iterator[Daemon]:
    env = {EFFECT_LOG: str(effect_log), "WFC_TEST_POISON_IMPORT": "1",
           "REFERENCE_ENGINE_MAX_CLAIMS": str(QUARANTINE_LIMIT)}
    with engine.daemon(2, env) as d:
        d.wait_for_workers()
        yield d


def test_deep_surrogate_and_nul_inputs_are_refused_at_submit_naming_the_path(
    engine: Engine,
) -> None:
    rb.refuses_deep_and_bad_inputs_at_submit(engine)


def test_poison_inputs_are_excepted_once_while_unrelated_work_finishes(
    engine: Engine, poison_daemon: Daemon, effect_log: Path
) -> None:
    """Items 1 to 4 with one daemon (each check submits unrelated work beside its poison
    and asserts that no worker died): a stored undecodable task, a lone surrogate in a
    result or an output, a module failing at import, an overlong key or a NUL label."""
    rb.deep_values_within_the_limit_round_trip(engine)
    rb.a_stored_poison_task_is_excepted_and_others_run(engine)
    rb.surrogates_except_once(engine, poison_daemon, effect_log)
    rb.failing_import_excepts_once(engine, poison_daemon)
    rb.bad_child_names_except_the_parent(engine, poison_daemon)


def test_a_body_that_kills_its_worker_every_time_is_quarantined(
    engine: Engine, poison_daemon: Daemon, effect_log: Path
) -> None:
    rb.crash_loops_are_quarantined(engine, poison_daemon, effect_log, QUARANTINE_LIMIT)


@pytest.mark.parametrize("delay", [0.0, 1.0], ids=["while-importing", "running"])
def test_workers_die_within_a_second_of_a_sigkilled_daemon(
    tmp_path: Path, delay: float
) -> None:
    rb.workers_die_with_their_daemon(f"sqlite:///{tmp_path / 'engine.db'}", "", delay)
