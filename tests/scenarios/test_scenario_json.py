"""Scenarios survive JSON exactly: the replay file format (format 1) is ours and strict."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from scenarios import CATALOG, FORMAT, InvalidScenarioError, Scenario, by_name, generate
from scenarios.strategies import scenarios


def assert_round_trips(scenario: Scenario) -> None:
    text = scenario.to_json()
    back = Scenario.from_json(text)
    assert back == scenario
    assert hash(back) == hash(scenario)
    assert back.to_json() == text  # order of dicts and everything else preserved


@given(scenarios())
def test_any_generated_scenario_round_trips_through_json(scenario):
    assert_round_trips(scenario)


@pytest.mark.parametrize("scenario", CATALOG, ids=lambda s: s.name)
def test_every_catalog_scenario_round_trips_through_json(scenario):
    assert_round_trips(scenario)


def test_seeded_scenarios_round_trip_through_json():
    for seed in range(200):
        assert_round_trips(generate(seed))


def test_the_format_version_is_written_first():
    data = json.loads(CATALOG[0].to_json())
    assert next(iter(data)) == "format" and data["format"] == FORMAT == 2


def test_an_unknown_format_is_rejected_with_the_fix():
    data = CATALOG[0].to_dict()
    data["format"] = 3
    with pytest.raises(InvalidScenarioError, match="format 1 or 2") as caught:
        Scenario.from_dict(data)
    assert caught.value.field == "format" and caught.value.value == 3


def test_a_missing_format_is_rejected():
    data = CATALOG[0].to_dict()
    del data["format"]
    with pytest.raises(InvalidScenarioError, match="format"):
        Scenario.from_dict(data)


def test_invalid_json_text_is_an_invalid_scenario_error():
    with pytest.raises(InvalidScenarioError, match="valid JSON"):
        Scenario.from_json("{not json")


def test_unknown_keys_are_rejected_naming_the_path():
    data = CATALOG[0].to_dict()
    data["workflows"][0]["steps"][0]["colour"] = "red"
    with pytest.raises(InvalidScenarioError, match="colour") as caught:
        Scenario.from_dict(data)
    assert caught.value.field == "workflows[0].steps[0]"


def test_bad_field_values_are_reported_with_their_json_path():
    data = CATALOG[0].to_dict()
    data["workflows"][0]["steps"][1]["name"] = "has space"
    with pytest.raises(InvalidScenarioError, match="identifier") as caught:
        Scenario.from_dict(data)
    assert caught.value.field.startswith("workflows[0].steps[1]")


def test_loading_validates_references_unless_told_not_to():
    data = CATALOG[0].to_dict()
    data["launches"][-1]["of"] = "Z"
    with pytest.raises(InvalidScenarioError, match="launched earlier"):
        Scenario.from_dict(data)
    assert Scenario.from_dict(data, validate=False).launches[-1].of == "Z"


def test_the_json_is_plain_ascii_so_every_string_survives_transport():
    text = by_name("k4_any_input_change_misses").to_json()
    assert text.isascii()
    assert "cafe\\u0301" in text and "caf\\u00e9" in text  # NFD and NFC kept apart


def test_definitions_alone_are_the_full_encodings_definitions() -> None:
    """Adapters register types from ``definitions_to_dict`` (cheaper than ``to_dict``); the
    type names derive from it, so it must be exactly ``to_dict``'s two fields."""
    for seed in range(20):
        scenario = generate(seed)
        full = scenario.to_dict()
        assert scenario.definitions_to_dict() == {
            "calculations": full["calculations"], "workflows": full["workflows"]}
