"""A full disk under PostgreSQL is an outage too: one clear line at submit, workers back
off instead of crash-looping, nothing lost once space returns (issue 12, item 5).

The disk is really full: a throwaway cluster lives on a 96 MiB tmpfs and a filler file
takes the rest, so PostgreSQL fails to extend its tables with ``disk_full`` (53100), as
it does on a full volume. (The WAL keeps working: its current segment is preallocated.)
"""

from __future__ import annotations

import errno
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.services.local_postgres import LocalPostgres, postgres_unavailable
from harness.services.reaper import Reaper
from reference_engine import Engine, StoreUnavailableError
from tests.engine.workflows import EFFECT_LOG, Trivial

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 96 MiB tmpfs under /tmp (root only: CI here runs as root)."""
    if os.getuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; CI on this machine kind is root")
    reason = postgres_unavailable()
    if reason is not None:
        pytest.fail(f"a throwaway PostgreSQL is needed: {reason}")
    mount = Path(tempfile.mkdtemp(prefix="wfconform-small-disk-", dir="/tmp"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m,mode=0755", "tmpfs", str(mount)],
                   check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


@pytest.fixture
def cluster(small_disk: Path, tmp_path: Path) -> Iterator[LocalPostgres]:
    reaper = Reaper(tmp_path / "reaper.json")  # off the small disk: it must stay writable
    pg = LocalPostgres(reaper, name="wfconform-pg-diskfull", base=small_disk)
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()
        reaper.close()


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; return it (delete it to free space)."""
    filler = disk / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    out.write(chunk[:size])
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


def test_a_full_postgresql_disk_is_an_outage_and_nothing_is_lost(
    cluster: LocalPostgres, small_disk: Path, tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with Engine(cluster.url) as engine:
        ids = [engine.submit(Trivial, x=x) for x in range(20)]
        filler = fill(small_disk)
        with pytest.raises(StoreUnavailableError, match="the disk is full") as caught:
            for x in range(5000):  # the tables' last pages still have room for a few rows
                ids.append(engine.submit(Trivial, x="y" * 2000 + str(x)))
        message = str(caught.value)
        assert "\n" not in message and "INSERT" not in message, message
        assert len(engine.list()) == len(ids)  # the refused submit wrote nothing
        with engine.daemon(2, {EFFECT_LOG: str(tmp_path / "effects.log")}) as daemon:
            daemon.wait_for_workers()
            time.sleep(3)  # workers meet the full disk: they must back off, not die
            assert len(daemon.deaths) <= 1, f"{len(daemon.deaths)} worker deaths in 3 s"
            finished = sum(engine.get(pid).state == "finished" for pid in ids)
            assert finished < len(ids), "nothing met the full disk: the test tests nothing"
            assert "the disk is full" in capfd.readouterr().err  # the workers' one line
            filler.unlink()  # space returns
            for pid in ids:
                done = engine.wait(pid, timeout=90)
                assert done.state == "finished", done
            assert len(daemon.deaths) <= 1, daemon.deaths
