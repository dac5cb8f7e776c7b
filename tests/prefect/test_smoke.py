"""CI smoke: catalog scenarios through the Prefect adapter, with real verdicts.

One local server and Runner serve the module (as in ``wfconform run``); each test runs a
catalog scenario end to end and asserts what the matrix in docs/results/prefect-3.md
says: a worker kill is continued under the same flow run id, and the deviations the
issue names are found by the harness unaided.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.checks.result import FAIL, PASS
from harness.runner import RunOptions, ScenarioRun, run_scenario
from scenarios.catalog import by_name

from .conftest import needs_prefect

pytestmark = [needs_prefect, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def _one_server() -> Iterator[None]:
    yield
    from harness.adapters.prefect.server import close_shared

    close_shared()


def _run(name: str, tier: str = "local") -> ScenarioRun:
    from harness.adapters.prefect import PrefectAdapter

    run = run_scenario(lambda: PrefectAdapter(tier), by_name(name),
                       RunOptions(chaos_timeout=60.0, heal_timeout=30.0))
    assert run.status == "ran", (run.reasons, run.traceback)
    return run


def _verdicts(run: ScenarioRun) -> dict[str, str]:
    return {r.clause: r.verdict for r in run.results}


def test_killed_flow_run_continues_under_its_id_without_redoing_steps() -> None:
    run = _run("c2_checkpointed_effect_not_repeated")
    verdicts = _verdicts(run)
    assert verdicts["C1"] == PASS and verdicts["C2"] == PASS, run.results


def test_key_function_without_task_identity_lets_one_task_hit_another() -> None:
    """Issue 18's K8 (tier key-fn): the common ``cache_key_fn`` recipe shares results
    across tasks."""
    run = _run("k8_types_never_hit_each_other", tier="key-fn")
    k8 = next(r for r in run.results if r.clause == "K8")
    assert k8.verdict == FAIL and "plus" in k8.sentence and "add" in k8.sentence, k8


def test_task_source_keeps_calculation_types_apart() -> None:
    run = _run("k8_types_never_hit_each_other")
    assert _verdicts(run)["K8"] == PASS, run.results


def test_retry_as_relaunch_revives_the_failed_run_under_its_id() -> None:
    """Issue 18's N1/N2 (tier retry): Prefect's Retry of a failed run is no new instance;
    the revived run carries the relaunch's label (``aliases``), so L2 still holds."""
    run = _run("n2_relaunch_makes_new_id", tier="retry")
    verdicts = _verdicts(run)
    assert verdicts["N2"] == FAIL and verdicts["N1"] == FAIL, run.results
    assert verdicts["L2"] == PASS, run.results
    n2 = next(r for r in run.results if r.clause == "N2")
    assert "reused process id" in n2.sentence
