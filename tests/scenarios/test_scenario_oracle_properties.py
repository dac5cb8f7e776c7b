"""Properties of the oracle over many generated scenarios: sound, consistent, honest."""

from __future__ import annotations

import dataclasses

import pytest

from scenarios import (
    ALL_CLAUSES,
    Capabilities,
    KillAtCrashpoint,
    KillOnEffect,
    KillProcess,
    expect,
    generate,
)

CAPS = Capabilities.everything()
STATES = {"finished", "excepted", "killed"}


@pytest.fixture(scope="module")
def drawn():
    return [generate(seed) for seed in range(600)]


def test_the_oracle_handles_every_generated_scenario_with_sane_bounds(drawn):
    for scenario in drawn:
        e = expect(scenario, CAPS)
        assert e.exercises <= set(ALL_CLAUSES)
        assert {"L1", "L2"} <= e.exercises
        for key, found in e.effects.items():
            assert found.min >= 0 and (found.max is None or found.max >= found.min), key
        for label, launch in e.launches.items():
            assert launch.states <= STATES
            assert not launch.decided or launch.states, label
        for path, cache in e.cache.items():
            assert cache.hit is not True or cache.sources, path
            if cache.hit is True and e.launches[path.partition("/")[0]].decided:
                assert e.bound(path).max == 0, path  # K1: a hit executes nothing


def test_almost_every_generated_scenario_is_fully_decided(drawn):
    undecided = sum(bool(expect(s, CAPS).undecided) for s in drawn)
    assert undecided < 0.05 * len(drawn)


def test_without_faults_or_kill_requests_everything_is_exact(drawn):
    calm = [dataclasses.replace(s, faults=(), launches=tuple(
        op for op in s.launches if not isinstance(op, KillProcess) or op.at_effect is None))
        for s in drawn]
    for scenario in calm:
        e = expect(scenario, CAPS)
        assert not e.undecided
        # An equal sibling may finish before a node is looked up: hit or miss are both
        # right, so only those nodes may be inexact.
        racy = {path for path, c in e.cache.items()
                if c.hit is None and "equal sibling" in c.reason}
        assert all(b.exact for key, b in e.effects.items() if key not in racy), scenario.name
        assert all(len(launch.states) == 1 for launch in e.launches.values())
        assert all(c.hit is not None for path, c in e.cache.items() if path not in racy)


def test_worker_kills_never_change_the_predicted_outcome():
    for seed in range(400):
        scenario = generate(seed, fault_kinds=frozenset({"kill_at_crashpoint",
                                                         "kill_on_effect"}))
        if not any(isinstance(f, (KillAtCrashpoint, KillOnEffect)) for f in scenario.faults):
            continue
        killed = expect(scenario, CAPS)
        calm = expect(dataclasses.replace(scenario, faults=()), CAPS)
        for label, launch in killed.launches.items():
            if launch.decided and calm.launches[label].decided:
                assert launch.states == calm.launches[label].states, (seed, label)
                assert launch.outputs == calm.launches[label].outputs, (seed, label)


def test_kills_only_ever_widen_execution_bounds():
    for seed in range(400):
        scenario = generate(seed, fault_kinds=frozenset({"kill_at_crashpoint",
                                                         "kill_on_effect"}))
        killed = expect(scenario, CAPS)
        calm = expect(dataclasses.replace(scenario, faults=()), CAPS)
        if killed.undecided:
            continue
        for key, found in calm.effects.items():
            widened = killed.bound(key)
            assert widened is not None
            assert widened.max is None or widened.max >= found.max, (seed, key)
