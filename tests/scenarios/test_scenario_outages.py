"""Pauses and partitions of a service in the scenario language: data, JSON, generation."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from scenarios import (
    FAULT_KINDS,
    OUTAGE_KINDS,
    InvalidScenarioError,
    PartitionService,
    PauseService,
    Scenario,
    describe_fault,
    fault_kind,
    generate,
)
from scenarios.catalog import CATALOG


def test_outages_survive_a_json_round_trip_with_their_service_and_duration() -> None:
    base = CATALOG[0]
    faults = (PauseService(2, "database", 1.5), PartitionService(3, "broker", 0.5))
    scenario = replace(base, faults=faults)
    again = Scenario.from_json(scenario.to_json())
    assert again.faults == faults
    assert [fault_kind(f) for f in faults] == list(OUTAGE_KINDS)
    assert set(OUTAGE_KINDS) <= set(FAULT_KINDS)


def test_an_outage_reads_as_a_sentence() -> None:
    assert describe_fault(PauseService(2, "database", 1.5)) == \
        "pause the database for 1.5 s at entry 2"
    assert describe_fault(PartitionService(4)) == \
        "cut the broker off the workers for 2 s at entry 4"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"service": "cache"}, "PauseService.service"),
    ({"seconds": 0}, "PauseService.seconds"),
    ({"seconds": 31.0}, "PauseService.seconds"),
    ({"seconds": "2"}, "PauseService.seconds"),
])
def test_a_bad_outage_names_the_field_and_the_fix(kwargs: dict[str, object],
                                                  field: str) -> None:
    with pytest.raises(InvalidScenarioError) as caught:
        PauseService(1, **kwargs)  # type: ignore[arg-type]  # wrong on purpose
    assert caught.value.field == field and caught.value.fix


def test_outages_are_drawn_only_when_asked_so_other_seeds_keep_their_scenarios() -> None:
    plain = [generate(seed) for seed in range(200)]
    assert not any(fault_kind(f) in OUTAGE_KINDS for s in plain for f in s.faults)
    kinds = frozenset(FAULT_KINDS)
    asked = [generate(seed, fault_kinds=kinds) for seed in range(200)]
    drawn = Counter(fault_kind(f) for s in asked for f in s.faults)
    assert drawn["pause_service"] > 0 and drawn["partition_service"] > 0
    for scenario in asked:
        scenario.validate()
