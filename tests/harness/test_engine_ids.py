"""Engine ids in signatures are named by what they are, so a rerun's fresh ids still match."""

from __future__ import annotations

import json

from harness.checks import ClauseResult
from harness.engine_ids import IdNames
from harness.history import History
from harness.results import signature

UUID_A = "0b6f7f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
UUID_B = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"


def _process(pid: str, path: str | None, **fields: object) -> dict[str, object]:
    return {"type": "process", "id": pid, "path": path, "parent": None, "children": [],
            "restart_of": None, "cached_from": None, **fields}


def test_a_plain_number_is_named_only_where_a_word_introduces_an_id() -> None:
    names = IdNames([_process("2", "A")])
    assert names.prose("step A/s1 ran 2 times in process 2; allowed 2") == (
        "step A/s1 ran 2 times in process <id:A>; allowed 2")


def test_a_uuid_is_named_wherever_it_stands() -> None:
    names = IdNames([_process(UUID_A, "A/add:add"), _process(UUID_B, "B/add:add",
                                                             cached_from=UUID_A)])
    assert names.prose(f"B/add:add hit {UUID_A}, said {UUID_B}.") == (
        "B/add:add hit <id:A/add:add>, said <id:B/add:add>.")


def test_lists_of_ids_read_the_same_whatever_order_the_engine_sorts_them_in() -> None:
    names = IdNames([_process("3", "A"), _process("1", "B")])
    assert names.prose("in process 1, 3") == names.prose("in process 3, 1") == (
        "in process <id:A>, <id:B>")
    assert names.prose("top-level process(es) ['3', '1'] for it") == (
        "top-level process(es) ['<id:A>', '<id:B>'] for it")
    assert names.prose("waiting on active children [1, 3]") == (
        "waiting on active children [<id:A>, <id:B>]")


def test_two_processes_at_one_path_are_told_apart_by_history_order() -> None:
    lines = [{"type": "op", "op": "launch", "label": "A", "process": "9"},
             {"type": "op", "op": "launch", "label": "A", "process": "4"},
             _process("4", "A"), _process("9", "A")]
    names = IdNames(lines)
    assert names.names == {"9": "<id:A>", "4": "<id:A#2>"}


def test_a_process_without_a_path_is_numbered_and_event_row_ids_are_not_processes() -> None:
    names = IdNames([{"type": "event", "id": 17, "process": "x1"}, _process("x2", None)])
    assert names.names == {"x1": "<id:#1>", "x2": "<id:#2>"}


def test_witness_lines_keep_their_facts_and_lose_only_the_ids() -> None:
    names = IdNames([_process(UUID_A, "A", children=[UUID_B]), _process(UUID_B, "A/s:c",
                                                                        parent=UUID_A)])
    line = json.dumps(_process(UUID_B, "A/s:c", parent=UUID_A, state="finished"),
                      sort_keys=True)
    named = json.loads(names.line(line))
    assert named["id"] == "<id:A/s:c>" and named["parent"] == "<id:A>"
    assert named["state"] == "finished" and named["path"] == "A/s:c"


def _failure(pid: str, child: str, attempt: int = 2) -> ClauseResult:
    line = json.dumps({"type": "effect", "key": "A/s1", "process": pid, "attempt": attempt})
    return ClauseResult("C2", "fail", (line,), f"step A/s1 ran 2 times in process {pid} "
                        f"(child {child})")


def _history(pid: str, child: str) -> History:
    return History.from_records([
        {"type": "op", "op": "launch", "label": "A", "process": pid},
        _process(pid, "A", children=[child]), _process(child, "A/s2:add", parent=pid)])


def test_the_same_failure_with_other_ids_has_the_same_signature() -> None:
    first = signature([_failure("1", "2")], _history("1", "2"))
    again = signature([_failure(UUID_A, UUID_B)], _history(UUID_A, UUID_B))
    assert first == again
    assert first[0]["sentence"] == "step A/s1 ran 2 times in process <id:A> (child <id:A/s2:add>)"
    assert signature([_failure("1", "2", attempt=3)], _history("1", "2")) != first, (
        "facts other than ids still count")
