"""The DBOS adapter on PostgreSQL: a database per run, and nothing left behind.

Uses the server of ``$WFCONFORM_POSTGRES_URL`` (default: the local one), as the tier does.
"""

from __future__ import annotations

import os

import pytest

from harness.checks.result import PASS
from harness.runner import RunOptions, run_scenario
from scenarios.catalog import by_name

from .conftest import needs_dbos

pytestmark = [needs_dbos, pytest.mark.services, pytest.mark.slow]


def _databases(prefix: str) -> set[str]:
    import psycopg

    from harness.adapters.dbos.adapter import _admin_url

    with psycopg.connect(_admin_url(), autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                            (prefix + "%",)).fetchall()
    return {name for (name,) in rows}


def test_postgres_tier_continues_a_killed_workflow_and_leaves_no_database_or_worker(
        ) -> None:
    from harness.adapters.dbos import DbosAdapter

    made: list[DbosAdapter] = []

    def factory() -> DbosAdapter:
        made.append(DbosAdapter(tier="postgres"))
        return made[-1]

    before = _databases("wfc_dbos_")
    run = run_scenario(factory, by_name("c2_checkpointed_effect_not_repeated"),
                       RunOptions(chaos_timeout=60.0, heal_timeout=30.0))
    assert run.status == "ran", (run.reasons, run.traceback)
    verdicts = {r.clause: r.verdict for r in run.results}
    assert verdicts["C1"] == PASS and verdicts["C2"] == PASS, run.results
    assert _databases("wfc_dbos_") <= before  # the run's database was dropped
    opened = [a for a in made if a.database is not None or a.url]
    assert opened and all(not a.procs for a in opened)  # close() reaped its workers
    for pid in (e["worker"] for e in run.history.of("effect")):  # type: ignore[union-attr]
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
