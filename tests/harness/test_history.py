"""The history: JSONL that loads back to the same lines, typed values intact."""

from __future__ import annotations

import math
from pathlib import Path

from harness.adapter import Observation, ProcessView
from harness.history import History, HistoryRecorder
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
