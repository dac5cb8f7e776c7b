"""The history: JSONL that loads back to the same lines, typed values intact."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

import pytest

from harness.adapter import Observation, ProcessView
from harness.history import History, HistoryRecorder
from scenarios.catalog import by_name
from tests.harness.histories import c6_run

TRICKY = {"int": 1, "float": 1.0, "bool": True, "nan": math.nan, "neg_zero": -0.0,
          "big": 2**70, "nfd": "cafe\u0301", "dollar": {"$x": 1}}


def _recorded() -> History:
    recorder = HistoryRecorder()
    recorder.add("op", op="launch", label="A", process="1", t=2.0)
    recorder.add("fault", source="nemesis", fault="kill_on_effect", status="armed", t=1.0)
    view = ProcessView("1", "A", "workflow", "W", "finished", 0, TRICKY)
    recorder.sight(Observation((view,)), after_op=0)
    return recorder.build({"scenario_name": "s"}, [], Observation((view,)), [],
                          {"status": "ran"})


def test_a_history_written_and_loaded_has_the_same_lines(tmp_path: Path) -> None:
    history = c6_run().history()
    loaded = History.load(history.write(tmp_path / "h.jsonl"))
    assert [line.text for line in loaded.lines] == [line.text for line in history.lines]
    assert loaded.observation().processes == history.observation().processes


def test_outputs_keep_their_types_through_the_file(tmp_path: Path) -> None:
    loaded = History.load(_recorded().write(tmp_path / "h.jsonl"))
    outputs = loaded.of("process")[0]["outputs"]
    assert type(outputs["int"]) is int and type(outputs["float"]) is float
    assert outputs["bool"] is True and math.isnan(outputs["nan"])
    assert math.copysign(1.0, outputs["neg_zero"]) == -1.0
    assert outputs["big"] == 2**70 and outputs["nfd"] == "cafe\u0301"
    assert outputs["dollar"] == {"$x": 1}


def test_records_are_ordered_by_time_between_meta_and_outcome() -> None:
    kinds = [line.kind for line in _recorded().lines]
    assert kinds == ["meta", "fault", "op", "terminal", "process", "outcome"]


def test_a_process_is_sighted_terminal_only_once() -> None:
    recorder = HistoryRecorder()
    view = ProcessView("1", "A", "workflow", "W", "excepted", None, {})
    recorder.sight(Observation((view,)), after_op=0)
    recorder.sight(Observation((view,)), after_op=1)
    history = recorder.build({}, [], None, [], {})
    assert [line["after_op"] for line in history.of("terminal")] == [0]


def test_a_scenario_in_the_meta_is_made_into_data_only_when_read(tmp_path: Path) -> None:
    """The runner hands ``build`` the ``Scenario``: checks read the meta's other fields
    without making its data; a written history holds it, and loads back equal."""
    scenario = by_name("c3_in_flight_effect_at_most_kills_plus_one")
    made: list[int] = []

    class Counted(type(scenario)):  # type: ignore[misc]  # counts to_dict calls
        def to_dict(self) -> dict[str, object]:
            made.append(1)
            return super().to_dict()

    counted = Counted(**{f.name: getattr(scenario, f.name) for f in fields(scenario)})
    history = HistoryRecorder().build({"scenario_name": "s", "scenario": counted}, [], None,
                                      [], {"status": "ran"})
    assert history.meta.get("scenario_name") == "s" and history.meta["ownership"] is False
    assert made == []
    loaded = History.load(history.write(tmp_path / "h.jsonl"))
    assert made == [1]
    assert loaded == history and loaded.scenario() == scenario
    assert [line.text for line in loaded.lines] == [line.text for line in history.lines]


def test_plain_outputs_are_kept_and_typed_ones_still_round_trip() -> None:
    plain = {"a": [1, "x", None, True, 2.5], "b": {"c": 0.0}}
    recorder = HistoryRecorder()
    view = ProcessView("1", "A", "workflow", "W", "finished", 0, plain)
    typed = ProcessView("2", "B", "workflow", "W", "finished", 0, TRICKY)
    history = recorder.build({}, [], Observation((view, typed)), [], {})
    first, second = history.of("process")
    assert first["outputs"] == plain
    assert second["outputs"]["big"] == 2**70 and second["outputs"]["dollar"] == {"$x": 1}
    assert '"big":{"$int":"1180591620717411303424"}' in second.text


def test_recorded_typed_values_are_taken_back_as_recorded_not_decoded_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A recorded line keeps its typed values, so building the history decodes nothing;
    its text (files, witnesses) still holds their tagged encoding."""
    import harness.history as module

    def no_decoding(value: object, name: str) -> object:
        raise AssertionError(f"{name} was decoded again")

    monkeypatch.setattr(module, "decode_value", no_decoding)
    outputs = {"t": (1, 2.5), "n": math.nan, "big": 2**70, "$k": {frozenset({1})}}
    view = ProcessView("1", "A", "workflow", "W", "finished", 0, outputs)
    recorder = HistoryRecorder()
    recorder.sight(Observation((view,)), after_op=0)
    history = recorder.build({"scenario_name": "s"}, [], Observation((view,)), [],
                             {"status": "ran"})
    for kind in ("terminal", "process"):
        (line,) = history.of(kind)
        assert line["outputs"] is outputs
        assert '{"$tuple":[1,2.5]}' in line.text
