"""A throwaway AiiDA profile: its own config folder, storage, RabbitMQ vhost, daemon.

Storage is `core.sqlite_dos` (tier `sqlite`, broker: the machine's RabbitMQ) or
`core.psql_dos` on a database of its own in the throwaway PostgreSQL of
`harness.adapters.aiida.services` (tier `psql`, broker: that module's throwaway RabbitMQ, so
faults may restart both).

Everything lives under one temporary folder used as `AIIDA_PATH`, so nothing touches
the user's `~/.aiida`; the broker side is a fresh RabbitMQ virtual host, so queues of
different runs never meet. `close()` stops the daemon, SIGKILLs every process the
profile started that is still alive (found by a marker in its environment, never by
name or remembered PID), unloads the profile, deletes the vhost and removes the folder.
It runs from `__exit__` and from `atexit`, and is idempotent. A harness process killed
with SIGKILL runs neither; the next profile to open then sweeps what it left behind
(`sweep_stale`: daemon, jobs, vhost and folder of every profile whose owner is dead).

The set-up follows `verdi presto` (SQLite `core.sqlite_dos`, a `localhost` computer
with `core.local` transport and `core.direct` scheduler, `runner.poll.interval` 1) and
adds the `add@localhost` bash code of the AddThreeNumbers story (`load_code('add')`
fails: `add` reads as a UUID prefix).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from harness.services.base import ServiceError
from harness.services.isolation import CtlVhosts

__all__ = ["JOB_PROLOGUE", "MARKER_ENV", "ProfileError", "ThrowawayProfile", "sweep_stale"]

PREFIX = "wfconform-aiida-"
OWNER_FILE = "owner.json"
"""The harness process that made a profile: its pid and kernel start time."""

MARKER_ENV = "WFCONFORM_AIIDA_PROFILE"
"""Set to the profile folder in every process the profile starts (found again at close)."""

DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/"

_CIRCUS_TIMEOUT = 60
"""Seconds a circus command may take (AiiDA's `daemon.timeout` default, 2 s, is shorter
than stopping two workers gracefully on a loaded machine)."""

JOB_PROLOGUE = (
    'if [ -n "${WFCONFORM_SESSION:-}" ]; then '
    '"${WFCONFORM_AIIDA_PYTHON:-python3}" -m harness.adapters.aiida.jobbody || exit 97; fi'
)
"""Shell prepended (through the *code*) to every `add@localhost` job.

It runs the harness's body protocol for the job: one journal entry per real execution
of the job on the computer. It sits on the code, which is hashed once and is equal for
every job, never in per-job options, which are hashed and would make every job miss.
"""


class ProfileError(RuntimeError):
    """The throwaway profile could not be set up or driven (broker, daemon, storage).

    The message says which step failed and how to fix the environment.
    """


class ThrowawayProfile:
    """One AiiDA profile with a daemon; use as a context manager or `open()`/`close()`."""

    def __init__(self, workers: int = 1, broker_url: str | None = None,
                 poll_interval: int = 1, storage: str = "sqlite") -> None:
        if storage not in ("sqlite", "psql"):
            raise ValueError(f"storage {storage!r} is not one of 'sqlite', 'psql'")
        self.workers = workers
        self.storage = storage
        self.services: Any = None
        self.database: str | None = None
        self._database_url: str | None = None
        self.broker_url = broker_url or os.environ.get("WFCONFORM_RABBITMQ_URL",
                                                       DEFAULT_BROKER_URL)
        self.poll_interval = poll_interval
        self.root: Path | None = None
        self.name = "wfconform"
        self.vhost: str | None = None
        self._vhosts: Any = CtlVhosts(self.broker_url, ["rabbitmqctl"])
        self._daemon_env: dict[str, str] = {}
        self._added_paths: list[str] = []
        self._client: Any = None
        self._closed = False
        self.cleared_up_to = 0
        """Calculation nodes up to this pk had their hashes cleared (scenario isolation)."""

    # -- paths -----------------------------------------------------------------------

    @property
    def modules(self) -> Path:
        """The folder on the daemon's `PYTHONPATH` for generated calculation modules."""
        return self._root() / "modules"

    def _root(self) -> Path:
        if self.root is None:
            raise ProfileError("the AiiDA profile is not open: call open() or use `with` first")
        return self.root

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> ThrowawayProfile:
        return self if self.root is not None else self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, daemon: bool = True) -> ThrowawayProfile:
        """Create folder, vhost, profile, computer and code; start the daemon if asked."""
        sweep_stale(self.broker_url)
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))
        atexit.register(self.close)
        try:
            (self.root / OWNER_FILE).write_text(json.dumps(_owner(os.getpid())))
            self.modules.mkdir()
            self.vhost = _vhost_name(self.root)
            if self.storage == "psql":
                self._open_services()
                atexit.unregister(self.close)  # close before the servers stop (LIFO)
                atexit.register(self.close)
            try:
                self._vhosts.create(self.vhost)
            except (ServiceError, OSError) as error:
                self.vhost = None
                raise ProfileError(f"cannot make RabbitMQ vhost for the AiiDA profile at "
                                   f"{self.broker_url}: {error}; start RabbitMQ "
                                   "(rabbitmq-server -detached) and make rabbitmqctl usable, "
                                   "or set WFCONFORM_RABBITMQ_URL") from error
            self._set_env()
            self._create_profile()
            self._create_code()
            if daemon:
                self.start_daemon()
        except BaseException:
            self.close()
            raise
        return self

    def _open_services(self) -> None:
        """Point broker and storage at the psql tier's throwaway servers (a database each)."""
        from harness.adapters.aiida.services import aiida_services

        self.services = aiida_services()
        rabbitmq, postgres = self.services.services.rabbitmq, self.services.services.postgres
        self._vhosts = rabbitmq.isolation
        self.broker_url = rabbitmq.url
        self.database = str(self.vhost)
        self._database_url = postgres.isolation.create(self.database)

    def set_env(self, name: str, value: str | None) -> None:
        """Set (or unset) a variable that the *next* daemon start passes to its workers."""
        if value is None:
            self._daemon_env.pop(name, None)
        else:
            self._daemon_env[name] = value

    def _set_env(self) -> None:
        self._daemon_env.update({MARKER_ENV: str(self._root()),
                                 "WFCONFORM_AIIDA_PYTHON": sys.executable})
        # Workers get `sys.path` as PYTHONPATH: the generated modules, and the folder
        # holding `scenarios` and `harness` (an editable install may predate them).
        for folder in (str(self.modules), _source_root()):
            if folder not in sys.path:
                sys.path.insert(0, folder)
                self._added_paths.append(folder)

    def _create_profile(self) -> None:
        from aiida.manage.configuration import (
            create_profile,
            get_config,
            load_profile,
            reset_config,
        )
        from aiida.manage.configuration.settings import AiiDAConfigDir

        AiiDAConfigDir.set(self._root() / ".aiida")
        reset_config()
        config = get_config(create=True)
        url = urllib.parse.urlsplit(self.broker_url)
        broker = {"broker_protocol": url.scheme or "amqp",
                  "broker_username": urllib.parse.unquote(url.username or "guest"),
                  "broker_password": urllib.parse.unquote(url.password or "guest"),
                  "broker_host": url.hostname or "127.0.0.1", "broker_port": url.port or 5672,
                  "broker_virtual_host": self.vhost}
        profile = create_profile(config, name=self.name, email="wfconform@localhost",
                                 storage_backend=f"core.{self.storage}_dos",
                                 storage_config=self._storage_config(),
                                 broker_backend="core.rabbitmq", broker_config=broker)
        config.set_option("runner.poll.interval", self.poll_interval, scope=profile.name)
        config.set_option("warnings.rabbitmq_version", False, scope=profile.name)
        config.set_default_profile(profile.name, overwrite=True)
        config.store()
        load_profile(profile.name, allow_switch=True)

    def _storage_config(self) -> dict[str, Any]:
        if self.storage == "sqlite":
            return {}
        assert self._database_url is not None
        url = urllib.parse.urlsplit(self._database_url)
        return {"database_engine": "postgresql_psycopg", "database_hostname": url.hostname,
                "database_port": url.port, "database_username": url.username or "postgres",
                "database_password": urllib.parse.unquote(url.password or ""),
                "database_name": self.database,
                "repository_uri": (self._root() / "repository").as_uri()}

    def _create_code(self) -> None:
        from aiida import orm

        computer = orm.Computer(label="localhost", hostname="localhost",
                                description="wfconform throwaway localhost",
                                transport_type="core.local", scheduler_type="core.direct",
                                workdir=str(self._root() / "scratch")).store()
        # no login shell: `bash -l` runs the machine's profile scripts for every transport
        # command (a stale pyenv rehash lock made each wait 60 s here); the job's own
        # Python is named by WFCONFORM_AIIDA_PYTHON, so nothing needs the login environment
        computer.configure(safe_interval=0, use_login_shell=False)
        computer.set_minimum_job_poll_interval(self.poll_interval)
        computer.set_default_mpiprocs_per_machine(1)
        orm.InstalledCode(label="add", computer=computer, filepath_executable="/bin/bash",
                          default_calc_job_plugin="core.arithmetic.add",
                          prepend_text=JOB_PROLOGUE).store()

    # -- configuration -----------------------------------------------------------------

    def set_config(self, **options: Any) -> None:
        """Set profile options (`caching.enabled_for=[...]` as `caching__enabled_for`)."""
        from aiida.manage.configuration import get_config

        config = get_config()
        for name, value in options.items():
            config.set_option(name.replace("__", "."), value, scope=self.name)
        config.store()

    # -- daemon ----------------------------------------------------------------------

    def client(self) -> Any:
        """AiiDA's `DaemonClient` for this profile."""
        if self._client is None:
            from aiida.engine.daemon.client import get_daemon_client

            self._client = get_daemon_client(self.name)
        return self._client

    def start_daemon(self) -> list[int]:
        """Start circus with `workers` workers (they inherit env and `sys.path`).

        The daemon's variables are in `os.environ` only while circus starts, so no
        other child of the harness process inherits the profile's marker.
        """
        saved = {name: os.environ.get(name) for name in self._daemon_env}
        os.environ.update(self._daemon_env)
        try:
            self.client().start_daemon(self.workers)
        finally:
            _restore(saved)
        return self.await_ready(self.await_workers())

    def start_workers(self) -> list[int]:
        """Fresh workers with the current `set_env` variables, in the running circus.

        Circus stays up between scenarios (starting it is a `verdi daemon start-circus`
        subprocess, which imports AiiDA and snapshots every package's version: about
        2 s on a quiet machine, 25 s at load 15); only its worker watcher is started,
        with its environment replaced (circus `set env` on the stopped watcher). The
        workers are new processes either way, so nothing of an earlier scenario lives on
        in them. Without a running circus this is `start_daemon`.
        """
        client = self.client()
        if not client.is_daemon_running:
            return self.start_daemon()
        saved = {name: os.environ.get(name) for name in self._daemon_env}
        os.environ.update(self._daemon_env)
        try:
            env = client.get_env()
        finally:
            _restore(saved)
        name = client.daemon_name
        client.call_client({"command": "set", "properties": {
            "name": name, "options": {"env": env}, "waiting": True}}, timeout=_CIRCUS_TIMEOUT)
        client.call_client({"command": "start", "properties": {"name": name, "waiting": True}},
                           timeout=_CIRCUS_TIMEOUT)
        return self.await_ready(self.await_workers())

    def await_ready(self, pids: list[int], timeout: float = 60.0) -> list[int]:
        """Wait until every worker in `pids` holds a connection to the broker (or died).

        A fresh worker imports AiiDA and loads the profile before it connects and takes
        tasks: seconds on a quiet machine, up to half a minute at load 30. Waiting here
        keeps that start-up out of the scenario's chaos timeout (it is no delay of the
        engine under faults). Past `timeout` it returns anyway: a worker that never
        connects shows up as the engine's delay, which it then is.
        """
        from harness.adapters.aiida.services import local_ports

        port = urllib.parse.urlsplit(self.broker_url).port or 5672
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(local_ports(pid, port) or not _alive(pid) for pid in pids):
                break
            time.sleep(0.1)
        return pids

    def stop_workers(self, graceful: float = 30.0) -> None:
        """Stop the daemon's workers and SIGKILL every other process of ours but circus
        itself (jobs of the direct scheduler); circus stays for `start_workers`. Without
        a running circus this is `stop_daemon`.

        Circus sends SIGTERM and SIGKILLs a worker still alive after `graceful` seconds
        (its own default is 30, what `verdi daemon restart` gets). Between scenarios the
        adapter passes a short one: every process has been observed by then, and a
        worker that dies then leaves its tasks unacknowledged either way.
        """
        client = self.client()
        if not client.is_daemon_running:
            self.stop_daemon()
            return
        try:
            name = client.daemon_name
            client.call_client({"command": "set", "properties": {
                "name": name, "options": {"graceful_timeout": graceful}, "waiting": True}},
                timeout=_CIRCUS_TIMEOUT)
            client.call_client({"command": "stop", "properties": {
                "name": name, "waiting": True}}, timeout=_CIRCUS_TIMEOUT)
        except Exception:  # circus unreachable: stop everything the slow way
            self.stop_daemon()
            return
        _kill_all({pid for pid in self.run_pids() if not _is_circus(pid)}, 10.0)

    def stop_daemon(self) -> None:
        """Stop circus and its workers; SIGKILL whatever of ours is left after that."""
        client = self.client()
        sockets = _circus_socket_dir(client)
        if client.is_daemon_running:
            with contextlib.suppress(Exception):
                client.stop_daemon(wait=True)
        _kill_all(self.run_pids(), 10.0)
        if sockets is not None:  # circus keeps its sockets in a temp dir of its own
            shutil.rmtree(sockets, ignore_errors=True)

    def worker_pids(self) -> list[int]:
        """PIDs of the daemon's live workers, as circus reports them."""
        client = self.client()
        if not client.is_daemon_running:
            return []
        try:
            info = client.get_worker_info().get("info", {})
        except Exception:  # circus busy respawning: ask again later
            return []
        return sorted(int(pid) for pid in info if _alive(int(pid)))

    def await_workers(self, timeout: float = 30.0, exclude: frozenset[int] = frozenset()
                      ) -> list[int]:
        """Wait until `workers` live workers (none in `exclude`) exist; return their PIDs."""
        deadline = time.monotonic() + timeout
        while True:
            pids = [p for p in self.worker_pids() if p not in exclude]
            if len(pids) >= self.workers:
                return pids
            if time.monotonic() > deadline:
                raise ProfileError(f"the AiiDA daemon has workers {pids} after {timeout} s, "
                                   f"expected {self.workers}; read "
                                   f"{self.client().daemon_log_file}")
            time.sleep(0.1)

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL one daemon worker: `pid` if it is one, else the first; return its PID.

        A PID that is not a daemon worker (a calculation job's shell writes journal
        entries too) stands for "the worker running that job": with one worker, the
        only one.
        """
        pids = self.worker_pids()
        if not pids:
            raise ProfileError("no AiiDA daemon worker to kill: the daemon is not running")
        victim = pid if pid in pids else pids[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def run_pids(self) -> set[int]:
        """Every live process started with this profile's marker in its environment.

        Circus, workers, the stats process and direct-scheduler jobs all inherit
        `WFCONFORM_AIIDA_PROFILE`; matching on it finds exactly what this profile
        started, and nothing of anyone else's, even after PIDs are reused.
        """
        if self.root is None:
            return set()
        return _marked(f"{MARKER_ENV}={self.root}".encode())

    # -- teardown ----------------------------------------------------------------------

    def close(self) -> None:
        """Remove everything `open` made; safe to call twice and after a failed open."""
        if self._closed or self.root is None:
            return
        self._closed = True
        try:
            with contextlib.suppress(Exception):
                if self._profile_loaded():
                    self.stop_daemon()
            _kill_all(self.run_pids(), 5.0)
            with contextlib.suppress(Exception):
                self._unload()
        finally:
            if self.vhost:
                with contextlib.suppress(ServiceError, OSError):
                    self._vhosts.remove(self.vhost)
            if self.database and self.services is not None:
                with contextlib.suppress(Exception):
                    self.services.services.postgres.isolation.remove(self.database)
            for folder in self._added_paths:
                if folder in sys.path:
                    sys.path.remove(folder)
            shutil.rmtree(self.root, ignore_errors=True)
            atexit.unregister(self.close)

    def _profile_loaded(self) -> bool:
        from aiida.manage.configuration import get_profile

        profile = get_profile()
        return profile is not None and profile.name == self.name

    def _unload(self) -> None:
        from aiida.manage import get_manager
        from aiida.manage.configuration import reset_config

        if self._profile_loaded():
            get_manager().unload_profile()
        reset_config()


def _owner(pid: int) -> dict[str, Any]:
    try:
        start = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        start = None
    return {"pid": pid, "start": start}


def _vhost_name(root: Path) -> str:
    return "".join(c if c.isalnum() else "_" for c in
                   f"wfconform_{root.name.rpartition('-')[2].lower()}")


def sweep_stale(broker_url: str | None = None, folder: Path | None = None) -> list[Path]:
    """Remove profiles whose harness process died without cleaning up (a SIGKILL).

    A profile folder (and the package's bare `AIIDA_PATH` folder, also named
    `wfconform-aiida-*`) names its owner: pid and kernel start time, so a reused pid does
    not count as alive. When the owner is gone, its daemon and jobs are SIGKILLed (found
    by their environment marker), its vhost deleted and its folder removed. Folders
    without an owner file are left alone: they are not provably this adapter's.
    """
    url = broker_url or os.environ.get("WFCONFORM_RABBITMQ_URL", DEFAULT_BROKER_URL)
    vhosts = CtlVhosts(url, ["rabbitmqctl"])
    removed = []
    for root in sorted(Path(folder or tempfile.gettempdir()).glob(PREFIX + "*")):
        try:
            owner = json.loads((root / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _owner(int(owner["pid"])) == owner:
            continue  # its harness process is alive: not ours to touch
        marker = f"{MARKER_ENV}={root}".encode()
        _kill_all(_marked(marker), 5.0)
        if (root / "modules").is_dir():  # a profile, not a bare AIIDA_PATH folder
            with contextlib.suppress(ServiceError, OSError):
                vhosts.remove(_vhost_name(root))
        for sockets_file in root.rglob("circus-*.sockets"):
            sockets = _socket_dir_named_in(sockets_file)
            if sockets is not None:
                shutil.rmtree(sockets, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


def _marked(marker: bytes) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and _alive(int(entry.name)):
            pids.add(int(entry.name))
    return pids


def _restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _source_root() -> str:
    import scenarios

    return str(Path(scenarios.__file__).resolve().parents[1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _is_circus(pid: int) -> bool:
    """Circus itself (`verdi daemon start-circus`) or its stats process, not a worker."""
    try:
        return b"circus" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _kill_all(pids: set[int], timeout: float) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def _circus_socket_dir(client: Any) -> Path | None:
    """The temp dir AiiDA made for this daemon's circus sockets, if it can be read.

    AiiDA creates it with ``tempfile.mkdtemp()`` (socket paths must stay short) and
    never removes it; only a directory holding nothing but circus sockets is returned.
    """
    try:
        return _socket_dir_named_in(Path(client.circus_socket_file))
    except (AttributeError, TypeError):
        return None


def _socket_dir_named_in(sockets_file: Path) -> Path | None:
    try:
        folder = Path(sockets_file.read_text(encoding="utf8").strip())
    except (OSError, ValueError):
        return None
    if not folder.is_dir() or Path(tempfile.gettempdir()) not in folder.parents:
        return None
    names = [child.name for child in folder.iterdir()]
    return folder if all(n.startswith("circus.") for n in names) else None
