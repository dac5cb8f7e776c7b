"""Names of databases and vhosts that say which harness process made them, so the next
one can remove what a killed one left behind on a shared server.

Why: the real tier makes a database per scenario and a vhost per harness process on the
servers it is given (``WFCONFORM_POSTGRES_URL``, a CI job's service). It drops them when
a scenario ends and at exit, and Ctrl-C reaches both; a SIGKILL (a CI runner's timeout,
the OOM killer) reaches neither, and every killed run left a database and a vhost on the
server for good.

A name is ``<prefix>_<host>_<pid>_<random>``: ``host`` is a short digest of where the
owner's pid means something: the machine's name, its boot id and the PID namespace
(``/proc``, where there is one). So runs of other machines, of containers sharing the
host's network (their own PID namespace) and of clones with the same hostname are never
touched: we cannot see their processes. ``pid`` is the owner. A name of this host whose
pid is no longer alive is stale. A reused pid only makes a stale name look alive: it is
then kept until that pid ends too, never removed early.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["host_tag", "owned_name", "pid_alive", "stale_names"]


def host_tag(hostname: str | None = None) -> str:
    """Six hex digits of this PID space: the host's name (or ``hostname``), boot id and
    PID namespace (names stay short and lowercase)."""
    name = socket.gethostname() if hostname is None else hostname
    return hashlib.sha1("\0".join((name, *_pid_space())).encode()).hexdigest()[:6]


def _pid_space() -> tuple[str, str]:
    """(boot id, PID namespace): empty strings where ``/proc`` has no answer."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return boot, namespace


def owned_name(prefix: str, pid: int | None = None, hostname: str | None = None) -> str:
    """A fresh name for ``prefix`` owned by this process (or ``pid``) on this host."""
    owner = os.getpid() if pid is None else pid
    return f"{prefix}_{host_tag(hostname)}_{owner}_{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists here (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_names(names: Iterable[str], prefix: str, hostname: str | None = None,
                alive: Callable[[int], bool] = pid_alive) -> list[str]:
    """The ``names`` that ``owned_name(prefix)`` gave on this host to a process that is
    gone. Names of other hosts, of other shapes (older runs, the user's own) and of
    live processes are kept."""
    shape = re.compile(rf"^{re.escape(prefix)}_{host_tag(hostname)}_(\d+)_[0-9a-f]+$")
    stale = []
    for name in names:
        found = shape.match(name)
        if found is not None and int(found.group(1)) != os.getpid() \
                and not alive(int(found.group(1))):
            stale.append(name)
    return sorted(stale)
