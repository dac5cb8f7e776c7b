"""The reference engine's ``--tier sim``: the catalog in-process, seeded and reproducible."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from harness.adapters import load_adapter
from harness.adapters.reference import ReferenceAdapter
from harness.adapters.reference_sim import SimReferenceAdapter
from harness.bodies import BodyRuntime
from harness.conformance import run_conformance
from harness.errors import AdapterSpecError
from harness.history import History
from harness.runner import ScenarioRun, run_scenario
from scenarios.catalog import CATALOG, by_name

pytestmark = pytest.mark.simulation

DIFFERENTIAL = ("c1_kill_while_waiting_keeps_id", "c3_in_flight_effect_at_most_kills_plus_one",
                "c6_children_awaited_not_relaunched", "k3_excepted_source_never_hit",
                "l2_one_launch_one_process", "p1_kill_propagates_to_children")
"""Catalog scenarios both tiers run, chosen to cover engine kills, body kills, caching,
relaunches and a kill request at a journal entry (the embedded side costs ~0.7 s each)."""
WALL_FIELDS = frozenset({"t", "t0", "t1", "wall_clock"})


def _verdicts(run: ScenarioRun) -> dict[str, str]:
    return {result.clause: result.verdict for result in run.results}


def _history_digest(history: History | None) -> str:
    """The history without wall-clock stamps: what a replay of the seed must reproduce."""
    assert history is not None
    lines = [{k: v for k, v in line.data.items() if k not in WALL_FIELDS}
             for line in history.lines]
    return hashlib.sha256(json.dumps(lines, sort_keys=True, default=repr).encode()).hexdigest()


def _run_with(seed: int | None, name: str) -> tuple[str, str]:
    """Run one catalog scenario on a sim adapter; (simulation digest, history digest)."""
    made: list[SimReferenceAdapter] = []

    def factory() -> SimReferenceAdapter:
        made.append(SimReferenceAdapter(seed=seed))
        return made[-1]

    run = run_scenario(factory, by_name(name))
    assert run.status == "ran", run.reasons
    assert made[-1].digest is not None
    return made[-1].digest, _history_digest(run.history)


def test_the_whole_catalog_runs_on_the_sim_tier_in_well_under_ten_seconds() -> None:
    started = time.monotonic()
    result = run_conformance(load_adapter("reference", "sim"))
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"the sim catalog took {elapsed:.1f} s"
    assert result.tier == "sim"
    assert [run.status for run in result.runs] == ["ran"] * len(CATALOG)
    assert BodyRuntime._installed is None  # every run uninstalled its in-process bodies


def test_the_sim_tier_gives_the_embedded_tiers_verdicts_per_clause() -> None:
    scenarios = [by_name(name) for name in DIFFERENTIAL]
    sim = run_conformance(load_adapter("reference", "sim"), scenarios)
    embedded = run_conformance(load_adapter("reference", "embedded"), scenarios)
    for on_sim, on_embedded in zip(sim.runs, embedded.runs, strict=True):
        assert on_sim.status == on_embedded.status == "ran", on_sim.scenario.name
        assert _verdicts(on_sim) == _verdicts(on_embedded), on_sim.scenario.name
    assert [row.verdict for row in sim.rows] == [row.verdict for row in embedded.rows]


@pytest.mark.parametrize("name", ["c3_in_flight_effect_at_most_kills_plus_one",
                                  "l1_every_launch_terminates_after_faults",
                                  "p1_kill_propagates_to_children"])
def test_the_same_seed_gives_the_same_history_digest(name: str) -> None:
    assert _run_with(None, name) == _run_with(None, name)
    assert _run_with(7, name) == _run_with(7, name)


def test_different_seeds_choose_different_interleavings() -> None:
    digests = {_run_with(seed, "l1_every_launch_terminates_after_faults")[0]
               for seed in range(6)}
    assert len(digests) > 1


def test_a_kill_at_a_body_crashpoint_lands_as_a_simulated_kill_and_is_retried() -> None:
    made: list[SimReferenceAdapter] = []

    def factory() -> SimReferenceAdapter:
        made.append(SimReferenceAdapter(seed=3))
        return made[-1]

    run = run_scenario(factory, by_name("c3_in_flight_effect_at_most_kills_plus_one"))
    assert run.history is not None
    s2 = [line for line in run.history.of("effect") if line["key"] == "A/s2"]
    assert [line["attempt"] for line in s2] == [1, 2, 3]  # two kills + 1
    assert len({line["worker"] for line in s2}) == 3  # each kill ended its worker
    cells = made[-1].coverage_counts
    assert cells.get(("after_effect_before_checkpoint", "compute", "armed_kill")) == 2


def test_load_adapter_routes_the_sim_tier_to_the_sim_adapter() -> None:
    adapter = load_adapter("reference", "sim")()
    assert isinstance(adapter, SimReferenceAdapter)
    assert adapter.supports("restart_broker") and adapter.supports("drop_connection")
    assert "sim" in adapter.capabilities().tiers


def test_the_daemon_adapter_refuses_the_sim_tier_and_names_the_sim_adapter() -> None:
    with pytest.raises(AdapterSpecError, match="SimReferenceAdapter"):
        ReferenceAdapter("sim")


def test_a_renamed_and_redescribed_scenario_runs_under_the_same_sim_seed() -> None:
    """The shrinker renames its witness after the failing run; replay must match it."""
    from dataclasses import replace

    from harness.adapters.reference_sim import scenario_seed

    original = replace(by_name("c1_kill_while_waiting_keeps_id"), seed=None)
    relabelled = replace(original, name="shrunk_witness", description="after shrinking")
    changed = replace(original, launches=original.launches[:1] * 2)
    assert scenario_seed(relabelled) == scenario_seed(original)
    assert scenario_seed(changed) != scenario_seed(original)
