"""After a kill -9 and restart of PostgreSQL, a WorkChain whose worker was inside a step
stays `running` forever: not continued, not excepted, its task held by a live worker.

Needs aiida-core (2.9.x), the PostgreSQL server binaries (`initdb`, `pg_ctl`; found on
PATH or under /usr/lib/postgresql/*/bin; as root they run as user `postgres`) and a
RabbitMQ server (default `amqp://guest:guest@127.0.0.1:5672/`, set
`REPRO_RABBITMQ_URL`; the script makes and removes its own vhost with `rabbitmqctl`,
or uses the URL's vhost as given when `REPRO_RABBITMQ_URL` is set). It starts its own
throwaway PostgreSQL cluster on a free port (never the machine's), a `core.psql_dos`
profile and a daemon with one worker, all in a temporary folder removed at the end;
about 40 s on a quiet machine. Exit status 1 when the deviation is seen, 0 otherwise.

Expected: a database outage is survivable: once PostgreSQL is back, the process either
continues (the step's checkpoint is saved, step2 runs, the WorkChain finishes) or is
excepted with the database error, so that an operator sees it. Either way it reaches a
terminal state. What happens: the worker's pooled connection died with the server
(AiiDA's SQLAlchemy engine does not pre-ping), the step's next database call fails, and
the process is left `running` in the database and in the worker's memory; the worker
stays alive and keeps the RabbitMQ task unacknowledged, so nothing ever redelivers it.
Found by `wfconform run --engine aiida --tier psql` (catalog scenario
`k5_hit_across_worker_kill`: launch B `running (no status); has a checkpoint; active
children none; live workers [...]` after a PostgreSQL kill -9 during its step add_xy).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = tempfile.mkdtemp(prefix="aiida-repro-pg-")
os.environ["AIIDA_PATH"] = ROOT
# the daemon runs `verdi` from PATH (looked up when aiida is imported): this environment's
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
RABBITMQ_URL = os.environ.get("REPRO_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
VHOST = None if "REPRO_RABBITMQ_URL" in os.environ else f"aiida_repro_pg_{os.getpid()}"
WAIT_AFTER_RESTART = 20.0
STARTED = time.monotonic()

WORKCHAIN = '''
import os, time
from aiida import orm
from aiida.engine import WorkChain

LOG = os.environ["REPRO_STEPS_LOG"]


def _log(step):
    with open(LOG, "a") as handle:
        handle.write(f"{step} pid={os.getpid()} t={time.time():.2f}\\n")


class TwoSteps(WorkChain):
    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.output("sum", valid_type=orm.Int)
        spec.outline(cls.step1, cls.step2, cls.result)

    def step1(self):
        _log("step1")
        # a step that takes a while (any real step does): PostgreSQL goes down and comes
        # back meanwhile
        release = os.environ["REPRO_RELEASE"]
        deadline = time.time() + 120
        while not os.path.exists(release) and time.time() < deadline:
            time.sleep(0.2)
        self.ctx.a = 3

    def step2(self):
        _log("step2")
        self.ctx.b = self.ctx.a + 3

    def result(self):
        _log("result")
        self.out("sum", orm.Int(self.ctx.b).store())
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(
        f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        sys.exit(f"{name} not found: install the PostgreSQL server (Debian: postgresql)")
    return found


def _kill_marked(marker: str) -> None:
    """SIGKILL every process whose environment holds `marker` (daemon, workers)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                found = marker.encode() in handle.read().split(b"\0")
        except OSError:
            continue
        if found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry), signal.SIGKILL)


class Postgres:
    """A throwaway PostgreSQL cluster (as root: run by user `postgres`)."""

    def __init__(self) -> None:
        self.folder = os.path.join(ROOT, "pg")
        os.makedirs(self.folder)
        self.user = pwd.getpwnam("postgres").pw_name if os.getuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            os.chmod(ROOT, 0o755)
        self.port = _free_port()
        self._run([_binary("initdb"), "-D", self.folder, "-A", "trust", "-U", "postgres",
                   "--no-sync"])

    def _run(self, command: list[str]) -> None:
        subprocess.run(command, check=True, capture_output=True, timeout=120, user=self.user)

    def start(self) -> None:
        for _ in range(20):  # right after a kill, the old shared memory may still be there
            done = subprocess.run(
                [_binary("pg_ctl"), "-D", self.folder, "-l", f"{self.folder}/log", "-w", "-o",
                 f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                 "start"], capture_output=True, timeout=120, user=self.user)
            if done.returncode == 0:
                return
            time.sleep(0.5)
        sys.exit(f"PostgreSQL did not start: {done.stderr.decode()[-500:]}")

    def kill(self) -> None:
        """kill -9 of the postmaster and every backend (its process group)."""
        with open(os.path.join(self.folder, "postmaster.pid")) as handle:
            pid = int(handle.readline())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            subprocess.run([_binary("pg_ctl"), "-D", self.folder, "-m", "immediate", "stop"],
                           capture_output=True, timeout=60, user=self.user)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _setup(pg: Postgres) -> None:
    from aiida.manage.configuration import create_profile, get_config, load_profile

    url = urllib.parse.urlsplit(RABBITMQ_URL)
    vhost = VHOST if VHOST is not None else urllib.parse.unquote(url.path.lstrip("/"))
    if VHOST is not None:
        _rabbitmqctl("add_vhost", VHOST)
        _rabbitmqctl("set_permissions", "-p", VHOST, url.username or "guest", ".*", ".*", ".*")
    config = get_config(create=True)
    broker = {"broker_protocol": "amqp", "broker_username": url.username or "guest",
              "broker_password": urllib.parse.unquote(url.password or "guest"),
              "broker_host": url.hostname or "127.0.0.1", "broker_port": url.port or 5672,
              "broker_virtual_host": vhost}
    storage = {"database_engine": "postgresql_psycopg", "database_hostname": "127.0.0.1",
               "database_port": pg.port, "database_username": "postgres",
               "database_password": "", "database_name": "postgres",
               "repository_uri": f"file://{ROOT}/repository"}
    profile = create_profile(config, name="repro", email="repro@localhost",
                             storage_backend="core.psql_dos", storage_config=storage,
                             broker_backend="core.rabbitmq", broker_config=broker)
    config.set_option("runner.poll.interval", 1, scope=profile.name)
    config.set_option("warnings.rabbitmq_version", False, scope=profile.name)
    config.set_default_profile(profile.name, overwrite=True)
    config.store()
    load_profile(profile.name, allow_switch=True)


def _state(pk: int) -> tuple[str, str | None, bool]:
    """(process state, status, terminated), read afresh (the harness's pool died too)."""
    from aiida import orm
    from aiida.manage import get_manager

    session = get_manager().get_profile_storage().get_session()
    try:
        session.commit()
    except Exception:
        with contextlib.suppress(Exception):
            session.rollback()
        session.get_bind().dispose()
    session.expunge_all()
    node = orm.load_node(pk)
    state = node.process_state.value if node.process_state else "created"
    return state, node.process_status, node.is_terminated


def main(pg: Postgres) -> int:
    from aiida.engine import submit
    from aiida.engine.daemon.client import get_daemon_client

    with open(os.path.join(ROOT, "repro_pg_wc.py"), "w") as handle:
        handle.write(WORKCHAIN)
    log = os.path.join(ROOT, "steps.log")
    release = os.path.join(ROOT, "release")
    os.environ["REPRO_STEPS_LOG"] = log
    os.environ["REPRO_RELEASE"] = release
    os.environ["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    sys.path.insert(0, ROOT)
    pg.start()
    _setup(pg)
    import repro_pg_wc

    client = get_daemon_client()
    client.start_daemon(1)
    try:
        pk = submit(repro_pg_wc.TwoSteps).pk
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not os.path.exists(log):  # step1 began
            time.sleep(0.2)
        print(f"[{time.monotonic() - STARTED:.1f} s] kill -9 PostgreSQL while the worker is "
              "inside step1; restart it; let step1 end")
        pg.kill()
        pg.start()
        open(release, "w").close()
        deadline = time.monotonic() + WAIT_AFTER_RESTART
        state, status, done = "?", None, False
        while time.monotonic() < deadline and not done:
            with contextlib.suppress(Exception):  # the harness's own reads may hit the outage
                state, status, done = _state(pk)
            time.sleep(0.5)
        with open(log) as handle:
            steps = handle.read().splitlines()
        workers = client.get_worker_info().get("info", {})
        print(f"aiida-core {__import__('aiida').__version__}, storage core.psql_dos, 1 worker")
        print("steps executed:", *steps, sep="\n  ")
        print(f"WorkChain {pk}: {state} ({status or 'no status'}) "
              f"{WAIT_AFTER_RESTART:.0f} s after PostgreSQL came back; live workers "
              f"{sorted(workers)}")
        print("EXPECTED: the WorkChain reaches a terminal state once PostgreSQL is back "
              "(continued and finished, or excepted with the database error)")
        print("HAPPENED: " + (f"it is {state}" if done else
                              f"it is still {state}, its worker alive: stuck for good"))
        print("RESULT: " + ("OK (not reproduced)" if done else "DEVIATION (likely bug)"))
        print(f"[{time.monotonic() - STARTED:.1f} s] done")
        return 0 if done else 1
    finally:
        with contextlib.suppress(Exception):
            client.stop_daemon(wait=True)
        _unload()


def _unload() -> None:
    """Close this process's storage and broker quietly (its pool may hold dead connections)."""
    from aiida.manage import get_manager

    with contextlib.suppress(Exception):
        get_manager().get_profile_storage().get_session().get_bind().dispose()
    with contextlib.suppress(Exception):
        get_manager().unload_profile()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on `timeout` too
    pg = Postgres()
    code = 2
    try:
        code = main(pg)
    finally:
        _kill_marked(f"AIIDA_PATH={ROOT}")  # daemon, workers
        pg.stop()
        if VHOST is not None:
            with contextlib.suppress(Exception):
                _rabbitmqctl("delete_vhost", VHOST)
        shutil.rmtree(ROOT, ignore_errors=True)
    sys.exit(code)
