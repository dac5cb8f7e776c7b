"""Issue 12 on the real tier (PostgreSQL + RabbitMQ): the same checks as on embedded.

Before the storage limits, a child key over 200 characters or a NUL in a label was a
``psycopg.DataError`` that the worker retried as an outage, forever; the same input was
accepted on SQLite. Now both tiers give the same error and except the process once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_engine import Daemon, Engine
from tests.engine import robustness as rb

pytestmark = pytest.mark.services

QUARANTINE_LIMIT = 2


@pytest.fixture
def engine(pg_url: str, broker_url: str) -> Iterator[Engine]:
    with Engine(pg_url, broker_url=broker_url) as eng:
        yield eng


@pytest.fixture
def poison_daemon(engine: Engine, worker_env: dict[str, str]) -> Iterator[Daemon]:
    env = {**worker_env, "WFC_TEST_POISON_IMPORT": "1",
           "REFERENCE_ENGINE_MAX_CLAIMS": str(QUARANTINE_LIMIT)}
    with engine.daemon(2, env, sweep_after=0.5) as d:
        d.wait_for_workers()
        yield d


def test_deep_surrogate_and_nul_inputs_are_refused_at_submit_on_postgresql(
    engine: Engine,
) -> None:
    rb.refuses_deep_and_bad_inputs_at_submit(engine)


def test_poison_inputs_are_excepted_once_on_the_real_tier(
    engine: Engine, poison_daemon: Daemon, effect_log: Path
) -> None:
    rb.deep_values_within_the_limit_round_trip(engine)
    rb.a_stored_poison_task_is_excepted_and_others_run(engine)
    rb.surrogates_except_once(engine, poison_daemon, effect_log)
    rb.failing_import_excepts_once(engine, poison_daemon)
    rb.bad_child_names_except_the_parent(engine, poison_daemon)


def test_a_body_that_kills_its_worker_every_time_is_quarantined_on_the_real_tier(
    engine: Engine, poison_daemon: Daemon, effect_log: Path
) -> None:
    rb.crash_loops_are_quarantined(engine, poison_daemon, effect_log, QUARANTINE_LIMIT)


def test_amqp_workers_die_within_a_second_of_a_sigkilled_daemon(
    pg_url: str, broker_url: str
) -> None:
    rb.workers_die_with_their_daemon(pg_url, broker_url, 0.0)
