"""The journal survives SIGKILL and concurrent writers: whole lines or nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

from harness.journal import AppendLog, JournalTail, read_records


def _writer(path: str, worker: int, count: int) -> None:
    log = AppendLog(path)
    for index in range(count):
        log.append({"worker": worker, "index": index, "pad": "x" * (index % 300)})
    log.close()


def test_concurrent_writers_never_interleave_or_lose_lines(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    context = get_context("fork")
    writers = [context.Process(target=_writer, args=(str(path), w, 400)) for w in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(30)
    records = read_records(path)
    assert len(records) == 1600
    for worker in range(4):
        mine = [r["index"] for r in records if r["worker"] == worker]
        assert mine == list(range(400)), "each writer's lines appear whole and in order"


def test_a_writer_killed_mid_stream_leaves_only_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    code = ("import sys; from harness.journal import AppendLog\n"
            "log = AppendLog(sys.argv[1])\n"
            "i = 0\n"
            "while True:\n"
            "    log.append({'i': i, 'pad': 'y' * 2000}); i += 1\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(path)])
    deadline = time.monotonic() + 20
    while (not path.exists() or path.stat().st_size < 200_000) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    records = read_records(path)
    assert len(records) > 50
    assert [r["i"] for r in records] == list(range(len(records))), "only the last may be lost"
    assert all(r["pad"] == "y" * 2000 for r in records)


def test_a_torn_fragment_costs_no_other_record(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with AppendLog(path) as log:
        log.append({"n": 1})
        with open(path, "ab") as raw:
            raw.write(b'\n{"n": 2, "pad": "yyyy')  # what a writer killed mid-write leaves
        log.append({"n": 3})
    assert read_records(path) == [{"n": 1}, {"n": 3}]


def test_a_final_line_without_newline_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": 3}', encoding="utf-8")
    assert read_records(path) == [{"a": 1}, {"a": 2}]


def test_a_tail_returns_each_record_once_as_it_appears(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    tail = JournalTail(path)
    assert tail.poll() == []
    with AppendLog(path) as log:
        log.append({"n": 1})
        assert tail.poll() == [{"n": 1}]
        log.append({"n": 2})
        log.append({"n": 3})
        assert tail.poll() == [{"n": 2}, {"n": 3}]
    assert tail.poll() == [] and tail.count == 3


def test_append_returns_the_exact_line_written(tmp_path: Path) -> None:
    with AppendLog(tmp_path / "log.jsonl") as log:
        line = log.append({"key": "A/s1", "t": 1.5})
    assert (tmp_path / "log.jsonl").read_text(encoding="utf-8") == "\n" + line
