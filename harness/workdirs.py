"""Scenario work folders that a dead run left behind are reclaimed by the next run.

Why: ``run_scenario`` removes its folder (``wfconform-<scenario>-XXXX``, with the
engine's database, journal and logs) when the scenario ends, also after Ctrl-C; a
SIGKILL or SIGTERM of ``wfconform run`` runs no cleanup at all, and the folder stayed
forever. Servers, databases and vhosts already had a reaper; folders now have the same
rule: each folder holds a marker naming its owner (pid and the kernel's start time of
that pid, so a recycled pid is not mistaken for the owner), and the first scenario of a
run deletes every marked folder under the same root whose owner is gone. Folders kept on
purpose (``--keep-workdir``) lose their marker, so they are never reclaimed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

MARKER = ".wfconform-owner"
PREFIX = "wfconform-"

_reclaimed_roots: set[str] = set()


def start_time(pid: int) -> str | None:
    """The kernel's start time of a live ``pid`` (None if gone, a zombie, or not Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def reclaim_once(root: str | None = None) -> str:
    """Reclaim dead runs' folders under ``root`` (default: the temp dir) once per
    process; the root. Also called by in-memory runs, which make no folder themselves."""
    base = root if root is not None else tempfile.gettempdir()
    if base not in _reclaimed_roots:
        _reclaimed_roots.add(base)
        reclaim_stale(Path(base))
    return base


def make_workdir(name: str, root: str | None = None) -> Path:
    """A fresh marked folder for one scenario; reclaims dead runs' folders first (once
    per root and process)."""
    base = reclaim_once(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{name[:40]}-", dir=base))
    me = os.getpid()
    (folder / MARKER).write_text(json.dumps({"pid": me, "start": start_time(me)}))
    return folder


def unmark(folder: Path) -> None:
    """Keep this folder for good (``--keep-workdir``): no later run may reclaim it."""
    (folder / MARKER).unlink(missing_ok=True)


def _owner_alive(marker: Path) -> bool:
    try:
        data = json.loads(marker.read_text())
        pid, born = int(data["pid"]), data["start"]
    except (OSError, ValueError, KeyError, TypeError):
        return True  # unreadable or being written: not ours to judge, leave it
    return start_time(pid) == born and born is not None


def reclaim_stale(root: Path) -> list[Path]:
    """Delete the marked scenario folders under ``root`` whose owner is dead."""
    removed: list[Path] = []
    try:
        candidates = [p for p in root.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return removed
    for folder in candidates:
        marker = folder / MARKER
        if not folder.is_dir() or folder.is_symlink() or not marker.is_file():
            continue
        if not _owner_alive(marker):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
