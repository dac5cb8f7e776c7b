"""The Celery adapter's ``postgres`` tier: results in a PostgreSQL database of its own.

The database comes from the harness's service providers (``$WFCONFORM_POSTGRES_URL``, as
CI sets it, else throwaway servers); the run's verdicts are judged from the rows Celery
wrote there, and the database is gone once the run closed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from harness.errors import AdapterSpecError
from harness.runner import RunOptions, run_scenario
from scenarios import by_name
from tests.celery.conftest import needs_celery

pytestmark = [needs_celery]


@pytest.mark.services
@pytest.mark.slow
def test_the_postgres_tier_judges_a_killed_run_from_its_own_database_then_drops_it() -> None:
    from harness.adapters.celery import make_adapter

    adapters = []

    def factory():
        adapters.append(make_adapter("postgres"))
        return adapters[-1]

    run = run_scenario(factory, by_name("c2_checkpointed_effect_not_repeated"),
                       RunOptions(chaos_timeout=60.0, heal_timeout=20.0))
    assert run.status == "ran", (run.reasons, run.traceback)
    verdicts = {r.clause: r.verdict for r in run.results}
    assert verdicts["C1"] == "pass" and verdicts["C2"] == "pass", run.results
    adapter = adapters[-1]
    url = adapter.config["backend"]
    assert url.startswith("db+postgresql+psycopg://"), url
    name = url.rpartition("/")[2].partition("?")[0]
    assert name.startswith("wfc_celery_") and adapter.backend.database is None
    engine = create_engine(adapter.backend.server_url)
    try:
        with engine.connect() as conn:
            left = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}).all()
    finally:
        engine.dispose()
    assert left == [], f"the run's database {name} outlived the run"


def test_an_unknown_backend_is_refused_naming_the_variable(monkeypatch) -> None:
    from harness.adapters.celery import make_adapter

    monkeypatch.setenv("WFCONFORM_CELERY_BACKEND", "mysql")
    with pytest.raises(AdapterSpecError, match=r"WFCONFORM_CELERY_BACKEND.*sqlite, postgres"):
        make_adapter("prefork")
