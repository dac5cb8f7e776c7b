"""A task run that stored its result and then lost its process is the source of hits.

Prefect queues a task run's final state as an event, then writes its result record; a
SIGKILL of the flow-run process after the write can still beat the event out of the
process: the task run reads ``Running`` forever (deviation 7) and its state names no
storage key, yet Prefect's lookup finds the record and later equal calls are ``Cached``
from it (a probe in plain Prefect:
docs/results/prefect-3.md, fuzz findings). The adapter used to report no key for
such a task run, so ``Observation.source_of`` took a *later hit* of the key for the
source and K4 blamed an unrelated node (a replay of the key-fn fuzz N1 witness: "A/...
calc4/0:echo hit C/loop2#1/loop3#2/calc4/0:echo ... no earlier equal node"). The body
notes its cache key (``prefect_notes.jsonl``); the view reports it, with the stored
value, where the record is on disk, so the hit is judged against its real source.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.adapter import Observation, ProcessView
from harness.adapters.prefect.observe import FlowRunRow, ObservedRuns, TaskRunRow
from harness.adapters.prefect.policy import NOTES_FILE
from harness.journal import AppendLog

from .conftest import needs_prefect

pytestmark = needs_prefect

_KEY = "ac5e821caa2145631c7b3ccdb88dcee89d82b3245e1ce05734bc930f97cb767c"
_OUTPUTS = {"x": 1, "y": 2}
_PATH_A = "A/loop2#0/loop3#0/calc4/0:echo"
_PATH_C = "C/loop2#1/loop3#2/calc4/0:echo"


def _store(storage: Path, key: str) -> Path:
    """A result record as a calculation task run persists it (file name = cache key)."""
    from prefect.results import ResultRecord, ResultRecordMetadata
    from prefect.serializers import PickleSerializer

    path = storage / key
    record = ResultRecord(result=_OUTPUTS, metadata=ResultRecordMetadata(
        storage_key=str(path), serializer=PickleSerializer(picklelib="cloudpickle")))
    path.write_bytes(record.serialize())
    return path


def _runs(key_path: str, retry: str = "Cached") -> ObservedRuns:
    """Flow run A, killed once: its first echo task run stays ``Running`` with no key;
    the retried attempt (``Cached``, or ``Completed``: it executed) and C's equal call
    (``Cached``) share the one record."""
    flows = (FlowRunRow("fA", "A", "Main", "COMPLETED", "Completed", None, None, {}),
             FlowRunRow("fC", "C", "Main", "COMPLETED", "Completed", None, None, {}))
    tasks = (
        TaskRunRow("z", _PATH_A, "echo", "fA", "RUNNING", "Running", None, None, None, 1.0),
        TaskRunRow("r", _PATH_A, "echo", "fA", "COMPLETED", retry, None, key_path,
                   _OUTPUTS, 2.0),
        TaskRunRow("h", _PATH_C, "echo", "fC", "COMPLETED", "Cached", None, key_path,
                   _OUTPUTS, 3.0),
    )
    return ObservedRuns(flows, tasks)


def _observe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, noted_key: str,
             stored: bool, retry: str = "Cached") -> Observation:
    from harness.adapters.prefect import adapter as module

    storage = tmp_path / "storage"
    storage.mkdir()
    path = _store(storage, noted_key) if stored else storage / noted_key
    with AppendLog(tmp_path / NOTES_FILE) as log:  # as flows.calculation_body notes it
        log.append({"executed": "z", "key": _PATH_A, "cache_key": noted_key})
    runs = _runs(str(path), retry)
    monkeypatch.setattr(module, "read_runs", lambda client, namespace, storage=None: runs)
    monkeypatch.setattr(module, "SETTLE", 0.0)  # "z" never settles: don't wait for it
    adapter = module.PrefectAdapter("key-fn")
    adapter.session = SimpleNamespace(workdir=tmp_path)
    adapter.prefect = SimpleNamespace(client=object(), storage=str(storage))
    return adapter.observe()


def _view(observation: Observation, process: str) -> ProcessView:
    view = observation.get(process)
    assert view is not None
    return view


def test_hits_of_a_key_stored_by_a_task_run_left_running_name_it_as_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    observation = _observe(tmp_path, monkeypatch, _KEY, stored=True)

    for hit in ("r", "h"):
        source = observation.source_of(_view(observation, hit))
        assert source is not None and source.id == "z", (
            f"hit {hit} was attributed to {source and source.path} ({source and source.id}),"
            " not to the task run that stored the record")
    zombie = _view(observation, "z")
    assert (zombie.state, zombie.cache_key, zombie.outputs) == ("running", _KEY, _OUTPUTS)
    assert not zombie.is_hit


def test_a_noted_key_without_a_record_is_not_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # killed after the body noted its key, before Prefect's commit wrote the record
    observation = _observe(tmp_path, monkeypatch, "f" * 64, stored=False)

    zombie = _view(observation, "z")
    assert (zombie.state, zombie.cache_key, zombie.outputs) == ("running", None, None)


def test_a_record_written_by_the_attempt_that_executed_again_stays_that_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # killed after its note, before its write: the retried attempt missed, executed and
    # stored under the same key (seen in a replay of the N1 witness, 2026-12-04)
    observation = _observe(tmp_path, monkeypatch, _KEY, stored=True, retry="Completed")

    zombie = _view(observation, "z")
    assert (zombie.state, zombie.cache_key, zombie.outputs) == ("running", None, None)
    source = observation.source_of(_view(observation, "h"))
    assert source is not None and source.id == "r"


def test_of_two_unfinished_runs_that_noted_one_key_only_the_later_wrote_its_record(
        tmp_path: Path) -> None:
    """The first was killed before its write (else the second would have been a hit);
    the second executed, wrote and was killed too. Only the second stored the record."""
    from harness.adapters.prefect.observe import read_noted_results

    storage = tmp_path / "storage"
    storage.mkdir()
    _store(storage, _KEY)
    with AppendLog(tmp_path / NOTES_FILE) as log:
        log.append({"executed": "z1", "key": _PATH_A, "cache_key": _KEY})
        log.append({"executed": "z2", "key": _PATH_A, "cache_key": _KEY})

    found = read_noted_results(tmp_path / NOTES_FILE, str(storage), ["z1", "z2"])
    assert set(found) == {"z2"} and found["z2"].key == _KEY
