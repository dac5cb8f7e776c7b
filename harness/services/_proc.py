"""Process plumbing for throwaway servers: binaries, users, ports, process groups.

Every server is started in its own session (``start_new_session``), so that one
``killpg`` ends all of its processes (a kill -9 of a PostgreSQL postmaster alone leaves
its backends holding the port) and so that a Ctrl-C in the terminal reaches pytest, which
then stops the servers in order, instead of killing them half-way.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from harness.services.base import ServiceError


def find_binary(name: str, extra_globs: Sequence[str] = ()) -> str | None:
    """``name`` on PATH, else in the first (highest-versioned) matching directory."""
    found = shutil.which(name)
    if found:
        return found
    for pattern in extra_globs:
        for directory in sorted(Path("/").glob(pattern.lstrip("/")), reverse=True):
            candidate = directory / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def as_user(user: str, argv: Sequence[str]) -> list[str]:
    """``argv`` run as ``user``: via runuser when we are root, unchanged when we are it."""
    if pwd.getpwuid(os.getuid()).pw_name == user:
        return list(argv)
    if os.getuid() != 0:
        raise ServiceError(f"running {argv[0]} as user {user!r} needs root; we are uid "
                           f"{os.getuid()}")
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServiceError("runuser (util-linux) is missing; install util-linux")
    return [runuser, "-u", user, "--", *argv]


def chown_tree(path: Path, user: str) -> None:
    """Give ``path`` (recursively) to ``user``, when we are allowed to."""
    if os.getuid() != 0:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def free_port() -> int:
    """A TCP port nobody listens on now (the usual small race is accepted)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def run(argv: Sequence[str], timeout: float = 60.0, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; ServiceError naming it and its output on failure."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise ServiceError(f"{' '.join(argv)} did not finish within {timeout} s") from exc
    if check and done.returncode != 0:
        raise ServiceError(
            f"{' '.join(argv)} exited with {done.returncode}: "
            f"{(done.stderr or done.stdout).strip()[-800:]}"
        )
    return done


MARKER_ENV = "WFCONFORM_SERVER_ID"


def marked(marker: str) -> list[int]:
    """Live pids whose environment carries ``WFCONFORM_SERVER_ID=marker``.

    Why not process groups: ``su`` (Debian's rabbitmq-server wrapper) and Erlang's
    ``erl_child_setup`` each start a new session, so one server spans several groups.
    The environment is inherited by every descendant, whatever its session.
    """
    needle = f"{MARKER_ENV}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


def kill_marked(marker: str, wait: float = 15.0) -> None:
    """SIGKILL every process of one server at once; return when all are gone."""
    deadline = time.monotonic() + wait
    while True:
        pids = marked(marker)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise ServiceError(f"server {marker} survived SIGKILL for {wait} s: {pids}")
        time.sleep(0.02)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) pids whose process group is ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def kill_group(pgid: int, sig: int = signal.SIGKILL, wait: float = 10.0) -> None:
    """Signal a whole process group (never our own) and wait until it is gone."""
    if pgid <= 1 or pgid == os.getpgid(0):
        raise ServiceError(f"refusing to signal process group {pgid}: it is ours or init's")
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait
    while group_members(pgid):
        if time.monotonic() > deadline:
            if sig != signal.SIGKILL:
                kill_group(pgid, signal.SIGKILL, wait)
                return
            raise ServiceError(f"process group {pgid} survived SIGKILL for {wait} s: "
                               f"{group_members(pgid)}")
        time.sleep(0.02)


def wait_until(predicate: object, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]  # any zero-argument callable
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} did not happen within {timeout} s")
        time.sleep(interval)
