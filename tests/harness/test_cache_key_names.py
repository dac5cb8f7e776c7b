"""Cache keys in signatures are named by the result they name, so fresh keys still match.

Prefect's cache keys mix in a namespace of their own run, so "X hit key 'a8ef...'"
never reproduced literally (``docs/results/prefect-failures/key-fn-fuzz``: replay said
0/1 of a K6 failure that reproduces). Keys are named like engine ids
(``harness.engine_ids``): ``<key:PATH>`` after the process that stored under it, else
``<key:#N>``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from harness.adapters import load_adapter
from harness.checks import ClauseResult
from harness.cli import main
from harness.engine_ids import IdNames
from harness.failures import FailureHandler
from harness.history import History
from harness.results import FailureRecord, literal_signature, name_ids, signature
from harness.runner import RunOptions, ScenarioRun, run_scenario
from scenarios.catalog import by_name

UUID_A = "0b6f7f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
UUID_B = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"
UUID_C = "5c4b3a29-1807-4f6e-9d5c-4b3a29180706"
HEX = re.compile(r"\b[0-9a-f]{32}\b")


def _calc(pid: str, path: str, key: str, read: str | None = None) -> dict[str, object]:
    line: dict[str, object] = {"type": "process", "id": pid, "path": path,
                               "kind": "calculation", "name": "add", "parent": None,
                               "children": [], "restart_of": None, "cached_from": None,
                               "cache_key": key}
    if read is not None:
        line["cached_from_key"] = read
    return line


def _hit(hit: dict[str, object]) -> ClauseResult:
    """A K6 failure of ``hit`` (a process line), worded as the check words it."""
    return ClauseResult("K6", "fail", (json.dumps(hit),),
                        f"caching is off for add, yet {hit['path']} (process {hit['id']}) "
                        f"hit key {hit['cached_from_key']!r}")


def _run(ids: tuple[str, str, str], keys: tuple[str, str], source: int = 0
         ) -> tuple[list[ClauseResult], History]:
    """A/c and C/c execute and store under ``keys``; B/c hits the key of the one at
    ``source`` (0: A/c, 1: C/c)."""
    hit = _calc(ids[1], "B/c", keys[source], read=keys[source])
    lines = [_calc(ids[0], "A/c", keys[0]), hit, _calc(ids[2], "C/c", keys[1])]
    return [_hit(hit)], History.from_records(lines)


def test_signatures_that_differ_only_in_cache_key_values_compare_equal() -> None:
    first = signature(*_run(("1", "2", "3"), ("a8ef4762e443d9c87d74ebeecfd5c2b0",
                                              "0f0e0d0c0b0a09080706050403020100")))
    again = signature(*_run((UUID_A, UUID_B, UUID_C), ("1b4b62d3edc6dae5d00a5a226e809ec8",
                                                       "7b4c5dfbc893bf49f1df86771b59482e")))
    assert first == again
    assert first[0]["sentence"] == ("caching is off for add, yet B/c (process <id:B/c>) hit "
                                    "key '<key:A/c>'")
    (witness,) = (json.loads(line) for line in first[0]["witness"])
    assert witness["cache_key"] == witness["cached_from_key"] == "<key:A/c>"


def test_a_hit_of_another_process_s_result_does_not_compare_equal() -> None:
    keys = ("a8ef4762e443d9c87d74ebeecfd5c2b0", "0f0e0d0c0b0a09080706050403020100")
    of_a = signature(*_run(("1", "2", "3"), keys, source=0))
    of_c = signature(*_run(("1", "2", "3"), keys, source=1))
    assert of_a != of_c
    assert "hit key '<key:C/c>'" in of_c[0]["sentence"]


def test_from_the_witness_alone_keys_are_numbered_and_sharing_still_counts() -> None:
    def twice(first_key: str, second_key: str) -> list[dict[str, object]]:
        hits = [_calc("1", "B/c", first_key, read=first_key),
                _calc("2", "D/c", second_key, read=second_key)]
        return signature([_hit(hits[0]), _hit(hits[1])])

    shared = twice("a" * 32, "a" * 32)
    assert shared == twice("b" * 32, "b" * 32)
    assert shared[1]["sentence"].endswith("hit key '<key:#1>'")
    assert twice("a" * 32, "c" * 32) != shared, "two keys are not one key"


def test_a_short_key_is_named_only_right_after_the_word_key() -> None:
    names = IdNames([_calc("1", "A/c", "7"), _calc("2", "B/c", "ab", read="ab")])
    assert names.key_names == {"7": "<key:A/c>", "ab": "<key:#1>"}
    assert names.prose("ran 7 times; read key '7', then key ab; ab") == (
        "ran 7 times; read key '<key:A/c>', then key <key:#1>; ab")


def _format_2_record(path: Path, entries: list[dict[str, object]], ids_from: str,
                     engine: str = "reference") -> None:
    """The sidecar the previous wfconform wrote: ids named, keys literal, format 2."""
    path.with_suffix(".verdict.json").write_text(json.dumps({
        "format": 2, "engine": engine, "tier": "sim", "clauses": ["K6"],
        "signature": entries, "ids_from": ids_from, "options": None, "seed": None,
        "shrink": ""}))


def test_a_format_2_record_has_its_keys_named_on_reading(tmp_path: Path) -> None:
    failed, history = _run((UUID_A, UUID_B, UUID_C), ("a8ef4762e443d9c87d74ebeecfd5c2b0",
                                                      "0f0e0d0c0b0a09080706050403020100"))
    path = tmp_path / "x.json"
    _format_2_record(path, name_ids(literal_signature(failed), history, keys="none"),
                     "history")
    history.write(path.with_suffix(".history.jsonl"))
    record = FailureRecord.for_scenario_file(path)
    assert record is not None and record.format == 2 and record.keys_from == "history"
    assert list(record.signature) == signature(failed, history)

    path.with_suffix(".history.jsonl").unlink()  # keys named from the witness lines
    record = FailureRecord.for_scenario_file(path)
    assert record is not None and record.keys_from == "witness"
    assert "hit key '<key:#1>'" in record.signature[0]["sentence"]
    assert "<id:B/c>" in record.signature[0]["sentence"], "ids keep their history names"
    rerun = ScenarioRun(by_name("k6_caching_off_never_hits"), "ran", history=history)
    assert record.rerun_signature(rerun, failed) == list(record.signature), (
        "a rerun's keys are named from its witness lines too, its ids from its history")


# ------------------------------------------------------------ end to end, on the sim tier
SPEC = "tests.harness.key_engine:caching_off_still_hits"
OPTIONS = RunOptions(chaos_timeout=5.0, heal_timeout=3.0)


def _write_failure(out: Path) -> tuple[Path, ScenarioRun]:
    factory = load_adapter(SPEC, "sim")
    caps = factory().capabilities()
    promised = frozenset(caps.promised - caps.expected_failures)
    run = run_scenario(factory, by_name("k6_caching_off_never_hits"), OPTIONS)
    handler = FailureHandler(factory, OPTIONS, promised, SPEC, "sim", out)
    failure = handler.handle(run, shrink_it=False)
    assert failure is not None and failure.path is not None and failure.clause == "K6"
    return failure.path, run


def _reproduced(out: str) -> str:
    found = re.search(r"reproduced (\d+/\d+)", out)
    assert found, out
    return found.group(1)


@pytest.mark.simulation
def test_a_failure_quoting_fresh_cache_keys_replays_as_reproduced(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, run = _write_failure(tmp_path)
    literal = literal_signature(run.failed())
    assert "hit key '" in literal[0]["sentence"] and HEX.search(json.dumps(literal))
    rerun = run_scenario(load_adapter(SPEC, "sim"), by_name("k6_caching_off_never_hits"),
                         OPTIONS)
    assert literal_signature(rerun.failed()) != literal, "the test engine must change keys"

    assert main(["replay", str(path), "--times", "3"]) == 1
    out = capsys.readouterr().out
    assert _reproduced(out) == "3/3", out
    record = FailureRecord.for_scenario_file(path)
    assert record is not None and record.format == 3
    assert not HEX.search(json.dumps(record.signature)), "keys are named in the record"


def _literal_keys(history: History) -> list[str]:
    return sorted({str(line[f]) for line in history.of("process")
                   for f in ("cache_key", "cached_from_key") if line.get(f)})


@pytest.mark.simulation
def test_a_format_2_record_with_other_keys_replays_unless_they_are_shared_differently(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, run = _write_failure(tmp_path)
    assert run.history is not None
    history_file = path.with_suffix(".history.jsonl")
    entries = name_ids(literal_signature(run.failed()), run.history, keys="none")
    recorded, history_text = json.dumps(entries), history_file.read_text()
    for key in _literal_keys(run.history):  # the same structure under other values
        other = hashlib.md5(f"perturbed:{key}".encode()).hexdigest()
        recorded, history_text = recorded.replace(key, other), history_text.replace(key, other)
    assert recorded != json.dumps(entries)
    _format_2_record(path, json.loads(recorded), "history", SPEC)
    history_file.write_text(history_text)
    assert main(["replay", str(path), "--times", "2"]) == 1
    assert _reproduced(capsys.readouterr().out) == "2/2"

    history_file.unlink()  # keys named from the witness lines, the rerun's too
    assert main(["replay", str(path), "--times", "2"]) == 1
    assert _reproduced(capsys.readouterr().out) == "2/2"

    # the hit stored under another key than the one it read: not the same failure
    hit = json.loads(json.loads(recorded)[0]["witness"][0])
    hit["cache_key"] = "f" * 32
    shared_differently = json.loads(recorded)
    shared_differently[0]["witness"][0] = json.dumps(hit, sort_keys=True,
                                                     separators=(",", ":"))
    _format_2_record(path, shared_differently, "history", SPEC)
    assert main(["replay", str(path), "--times", "2"]) == 1
    assert _reproduced(capsys.readouterr().out) == "0/2"


def test_a_key_stored_twice_keeps_its_name_whatever_order_the_engine_lists_them() -> None:
    """Process lines come in the engine's order (by UUID, say): the writer that names a
    key is the one whose id comes first in the time-ordered lines, not the first listed."""
    key = "a8ef4762e443d9c87d74ebeecfd5c2b0"
    sighting = {"type": "terminal", "process": UUID_B, "path": "B/c", "state": "finished"}
    later = {"type": "terminal", "process": UUID_A, "path": "A/c", "state": "finished"}
    listed = [_calc(UUID_A, "A/c", key), _calc(UUID_B, "B/c", key)]
    names = IdNames([sighting, later, *listed]).key_names
    again = IdNames([sighting, later, *reversed(listed)]).key_names
    assert names == again == {key: "<key:B/c>"}


def test_only_digests_are_named_outside_their_slot_and_a_key_holding_an_id_whole() -> None:
    """A key-fn key may be any text: ``finished`` must not rename the word in prose, and
    ``<uuid>:<hash>`` must not come out half named by the id rule."""
    odd = f"{UUID_A}:5f2b"
    names = IdNames([_calc(UUID_A, "A/c", "finished"), _calc(UUID_B, "B/c", odd)])
    assert names.prose("A/c finished under key 'finished'") == \
        "A/c finished under key '<key:A/c>'"
    assert names.prose(f"B/c hit key '{odd}'") == "B/c hit key '<key:B/c>'"
