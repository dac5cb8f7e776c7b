"""The sim tier against the embedded tier: same workflows, same armed crashpoints.

The embedded runtime runs real worker OS processes that SIGKILL themselves at the armed
crashpoint; the simulation unwinds a greenlet at the same crashpoint. Both must reach
the same final states and outputs, fire the same crashpoints the same number of times,
and execute each body the same number of times, within C3's bound (a repeat only after
a kill between an effect and its checkpoint).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from reference_engine import Engine
from reference_engine.sim import Simulation
from tests.engine.workflows import EFFECT_LOG, read_effects
from tests.sim.workflows import Fanout, Nested, ThreeSteps

pytestmark = [pytest.mark.simulation, pytest.mark.embedded, pytest.mark.slow]

# label, workflow, inputs, crashpoint, target: one armed fault per process, so that one
# daemon session covers every crashpoint (targets are unique per label).
CASES: tuple[tuple[str, Any, dict[str, Any], str, str], ...] = (
    ("a", ThreeSteps, {"x": 1, "y": 2}, "after_claim", "a"),
    ("b", ThreeSteps, {"x": 2, "y": 3}, "before_effect", "b.step2"),
    ("c", ThreeSteps, {"x": 3, "y": 4}, "after_effect_before_checkpoint", "c.step1"),
    ("d", ThreeSteps, {"x": 4, "y": 5}, "after_effect_before_checkpoint", "d_add"),
    ("e", ThreeSteps, {"x": 5, "y": 6}, "after_checkpoint_before_ack", "e.step3"),
    ("f", ThreeSteps, {"x": 6, "y": 7}, "while_waiting", "f.step2"),
    ("g", Fanout, {"n": 3}, "after_effect_before_checkpoint", "g_double"),
    ("h", Nested, {"x": 2}, "before_effect", "h_child.step2"),
    ("i", Nested, {"x": 3}, "after_effect_before_checkpoint", "i.collect"),
)
Outcome = dict[str, Any]
# Bodies one fault-free run executes: steps plus calculations (Fanout: n=3 doubles;
# Nested: its two steps plus a whole ThreeSteps).
FAULT_FREE_EFFECTS = {ThreeSteps: 5, Fanout: 6, Nested: 7}


def submit_all(target: Any) -> dict[str, int]:
    ids = {}
    for label, workflow, inputs, crashpoint, fault_target in CASES:
        target.arm(crashpoint, fault_target, attempt=1)
        ids[label] = target.submit(workflow, label=label, tag=label, **inputs)
    return ids


def root_of(records: dict[int, Any], pid: int) -> int:
    while records[pid].parent_id is not None:
        pid = records[pid].parent_id
    return pid


def outcome(ids: dict[str, int], records: dict[int, Any], effects: list[tuple[int, str]],
            events: list[dict[str, Any]]) -> Outcome:
    """What must agree across tiers, keyed by launch label (ids may differ)."""
    label_of = {pid: label for label, pid in ids.items()}
    roots = {pid: label_of[root_of(records, pid)] for pid in records}
    return {
        "final": {label: (records[pid].state, records[pid].exit_status, records[pid].outputs)
                  for label, pid in ids.items()},
        "effects": Counter((roots[pid], name) for pid, name in effects),
        "crashes": Counter((roots[e["process_id"]], e["state"]) for e in events
                           if e["state"].startswith("crash:")),
        "processes": Counter(roots[pid] for pid in records),  # no child launched twice
    }


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    tmp = tmp_path_factory.mktemp("embedded")
    log = tmp / "effects.log"
    with Engine(tmp / "engine.db") as engine:
        ids = submit_all(engine)
        with engine.daemon(2, {EFFECT_LOG: str(log)}):
            for pid in ids.values():
                engine.wait(pid, timeout=120)
        records = {r.id: r for r in engine.list()}
        return outcome(ids, records, [(e.process, e.name) for e in read_effects(Path(log))],
                       engine.store.events())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_sim_and_embedded_tiers_agree_on_states_outputs_crashes_and_effects(
    embedded: Outcome, seed: int
) -> None:
    with Simulation(seed, workers=2) as sim:
        ids = submit_all(sim)
        assert sim.run_until_quiet()
        records = {r.id: r for r in sim.list()}
        effects = [(e[2], e[3]) for e in sim.history if e[0] == "effect"]
        simulated = outcome(ids, records, effects, sim.store.events())
    assert simulated["final"] == embedded["final"]
    assert simulated["crashes"] == embedded["crashes"]
    assert simulated["processes"] == embedded["processes"]
    assert simulated["effects"] == embedded["effects"]


def test_the_embedded_effect_counts_stay_within_the_continuation_bounds(
    embedded: Outcome,
) -> None:
    """C2/C3: a body runs more than once only after a kill between effect and checkpoint,
    and then once more per such kill."""
    repeats = Counter[str]()
    for (label, state), count in embedded["crashes"].items():
        if state.startswith("crash:after_effect_before_checkpoint:"):
            repeats[label] += count
    for label, *_ in CASES:
        runs = {name: n for (lbl, name), n in embedded["effects"].items() if lbl == label}
        workflow = next(case[1] for case in CASES if case[0] == label)
        assert sum(runs.values()) == FAULT_FREE_EFFECTS[workflow] + repeats[label], (
            f"{label}: effects {runs}, kills after an effect {repeats[label]}")
    assert all(state == "finished" for state, _, _ in embedded["final"].values())
