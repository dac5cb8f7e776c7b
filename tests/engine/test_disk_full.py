"""A full disk is an outage, not a crash: a clear error at submit, back-off in workers,
nothing lost once space returns (issue 12, item 5).

The disk is made full with SQLite's own ``PRAGMA max_page_count`` set to the current
size on every checkout of a connection: the database then fails every write that needs
a new page with the same SQLITE_FULL ("database or disk is full") as a full disk.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from reference_engine import Engine, StoreUnavailableError
from reference_engine.runtime.worker import Worker
from reference_engine.storage.store import Store
from tests.engine.workflows import Trivial

UNLIMITED = 1_073_741_823


def fill_disk(store: Store, full: threading.Event) -> None:
    """While ``full`` is set, no write of ``store`` may grow the database file."""

    @event.listens_for(store.db, "checkout")
    def _cap(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        cursor = dbapi_conn.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages if full.is_set() else UNLIMITED}")
        cursor.close()


def test_submit_on_a_full_disk_says_so_in_one_line(tmp_path: Path) -> None:
    full = threading.Event()
    with Engine(tmp_path / "engine.db") as engine:
        fill_disk(engine.store, full)
        engine.submit(Trivial, x=0)
        full.set()
        with pytest.raises(StoreUnavailableError, match="the disk is full") as caught:
            for x in range(2000):  # the first pages have room for a few rows
                engine.submit(Trivial, x="y" * 1000 + str(x))
        assert "\n" not in str(caught.value) and "INSERT" not in str(caught.value)


def test_workers_back_off_on_a_full_disk_and_finish_everything_after(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with Engine(tmp_path / "engine.db") as engine:
        ids = [engine.submit(Trivial, x=x) for x in range(60)]
        raw = sqlite3.connect(tmp_path / "engine.db")
        raw.execute("VACUUM")  # no free page left: the next growth fails
        raw.close()
        full = threading.Event()
        full.set()
        worker = Worker(engine.url, "wdisk")
        fill_disk(worker.store, full)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while "the disk is full" not in (seen := capfd.readouterr().err):
                assert thread.is_alive(), "the worker died on a full disk"
                assert time.monotonic() < deadline, "the worker never hit the full disk"
                time.sleep(0.05)
            time.sleep(1.0)
            assert thread.is_alive()
            retries = seen.count("retrying in") + capfd.readouterr().err.count("retrying in")
            assert retries < 20, f"{retries} retries in about a second: no back-off"
            full.clear()  # space returns
            for pid in ids:
                done = engine.wait(pid, timeout=60)
                assert done.state == "finished" and done.outputs == {"x": ids.index(pid)}
        finally:
            worker.stopping.set()
            thread.join(10)
