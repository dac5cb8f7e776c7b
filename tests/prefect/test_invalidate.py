"""Invalidating a node expires its stored result; it does not delete the outputs.

Prefect keeps one result record per cache key, shared by the task run that stored it and
every task run that hit it (with caching off, every equal call of one flow run). The
adapter used to delete that file: the outputs of all those finished task runs vanished
from the view (``prefect.results`` can no longer read them) and N1 failed 12 times in
the key-fn fuzz witness (docs/results/prefect-failures/key-fn-fuzz/*-N1.json).
Expiring the record is Prefect's own notion of an invalid cache entry
(``cache_expiration``): its lookup (``ResultStore.exists``) misses, its reads still work.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.adapter import Handle
from harness.adapters.prefect.observe import ObservedRuns, TaskRunRow, _read_result

from .conftest import needs_prefect

pytestmark = needs_prefect

_PATH = "A/loop2#0/loop3#1/calc4/1:digest"
_OUTPUTS = {"digest": "48f4cb17"}


def _stored(storage: Path) -> Path:
    """A result record as a calculation task run persists it (file name = cache key)."""
    from prefect.results import ResultRecord, ResultRecordMetadata
    from prefect.serializers import PickleSerializer

    path = storage / "5a1a83868f0e9f177be7ef5edc3329ad"
    record = ResultRecord(result=_OUTPUTS, metadata=ResultRecordMetadata(
        storage_key=str(path), serializer=PickleSerializer(picklelib="cloudpickle")))
    path.write_bytes(record.serialize())
    return path


def _prefect_finds(path: Path) -> bool:
    """Whether Prefect's cache lookup (a transaction's ``store.exists``) finds the key."""
    from prefect.filesystems import LocalFileSystem
    from prefect.results import ResultStore

    store = ResultStore(result_storage=LocalFileSystem(basepath=str(path.parent)))
    return bool(store.exists(path.name))


def _adapter(tmp_path: Path, path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from harness.adapters.prefect import adapter as module

    row = TaskRunRow("t1", _PATH, "digest", "f1", "COMPLETED", "Completed", None,
                     str(path), _OUTPUTS)
    monkeypatch.setattr(module, "read_runs",
                        lambda client, namespace, storage=None: ObservedRuns((), (row,)))
    adapter = module.PrefectAdapter("key-fn")
    adapter.session = SimpleNamespace(workdir=tmp_path)
    adapter.prefect = SimpleNamespace(client=object(), storage=str(path.parent))
    return adapter


def test_invalidated_node_keeps_its_outputs_but_is_no_cache_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    path = _stored(storage)
    assert _prefect_finds(path) and _read_result(str(path)) == _OUTPUTS

    _adapter(tmp_path, path, monkeypatch).invalidate(Handle("A", "f1"),
                                                      _PATH.partition("/")[2])

    assert _read_result(str(path)) == _OUTPUTS, "the finished task runs lost their outputs"
    assert not _prefect_finds(path), "Prefect's lookup still finds the invalidated record"


def test_invalidating_a_node_without_a_stored_file_expires_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "storage" / "gone"
    _adapter(tmp_path, path, monkeypatch).invalidate(Handle("A", "f1"),
                                                      _PATH.partition("/")[2])
    assert not path.exists()


def test_a_damaged_record_is_an_error_naming_its_file(tmp_path: Path) -> None:
    from harness.adapters.prefect.adapter import _expire_record

    damaged = tmp_path / "0123abcd"
    damaged.write_text('{"result": 1}')
    with pytest.raises(RuntimeError, match=r"0123abcd.*no metadata"):
        _expire_record(str(damaged))
    damaged.write_text('{"metad')
    with pytest.raises(RuntimeError, match=r"0123abcd.*not JSON"):
        _expire_record(str(damaged))
