"""Killing a WorkChain that waits for a child WorkChain does not stop the child: the
child runs to its end, and the parent ends `killed` over a finished child.

Needs aiida-core (2.9.x) and a RabbitMQ server (default
`amqp://guest:guest@127.0.0.1:5672/`, set `REPRO_RABBITMQ_URL`; the script makes and
removes its own vhost with `rabbitmqctl`, or uses the URL's vhost as given when
`REPRO_RABBITMQ_URL` is set). Storage is `core.sqlite_dos` in a temporary folder (the
deviation does not depend on the storage: it was found on `core.psql_dos`); a daemon with
one worker. Everything is removed at the end. About 2 to 3 minutes on a loaded machine
(60 s of it waiting for the kill's answer). Exit status 1 when the deviation is seen,
0 otherwise, 2 when it cannot judge.

The parent submits a child WorkChain and waits for it (`ToContext`); the child steps in
short steps (0.2 s each, so the worker's event loop is free between them) until the
script releases it. While the child steps, the script kills the parent through the
process controller, as `verdi process kill` does, and waits 60 s for the answer.

Expected (`Process.kill`'s docstring: "Kill the process and all the children
calculations it called"): the parent is killed, its child with it, within seconds.
What happens on 2.9.4 (runs at load 6 to 15): the kill gets no answer within 60 s
(TimeoutError; in one run the worker's answer was plumpy's `InvalidStateError: invalid
state` from `Waiting.interrupt`, `_waiting_future.set_exception`), the parent stays
`waiting`, the child keeps stepping; once the child is released and finishes, the parent
turns `killed`. No kill ever reaches the child. Reading aiida-core 2.9.4's
`Process.kill` also shows `had_been_terminated = self.has_terminated()` computed *after*
`super().kill()` (older versions computed it before), so a parent that plumpy kills at
once never sends a kill to its children either. Related upstream: aiida-core #3776
(children not properly killed with the parent, open), #4298.
Found by `wfconform fuzz --engine aiida --tier psql --seed 3117` (clause P1, shrunk: a
WorkChain whose one step submits a child WorkChain, killed while that step runs; the
parent ended `killed` at once and the child then ran its step and calcfunction and
finished: "process 605 began C/sub1/calc4 after its ancestor 603 (C) was seen killed").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = tempfile.mkdtemp(prefix="aiida-repro-kill-")
os.environ["AIIDA_PATH"] = ROOT
# the daemon runs `verdi` from PATH (looked up when aiida is imported): this environment's
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
RABBITMQ_URL = os.environ.get("REPRO_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
VHOST = None if "REPRO_RABBITMQ_URL" in os.environ else f"aiida_repro_kill_{os.getpid()}"
WAIT_AFTER_KILL = 10.0
STARTED = time.monotonic()

WORKCHAINS = '''
import os, time
from aiida import orm
from aiida.engine import ToContext, WorkChain, while_

LOG = os.environ["REPRO_STEPS_LOG"]
RELEASE = os.environ["REPRO_RELEASE"]


def _log(step):
    with open(LOG, "a") as handle:
        handle.write(f"{step} t={time.time():.2f}\\n")


class Child(WorkChain):
    """Short steps until released: the worker's event loop stays free between them."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.outline(while_(cls.not_released)(cls.tick), cls.done)

    def not_released(self):
        return not os.path.exists(RELEASE)

    def tick(self):
        _log("child tick")
        time.sleep(0.2)

    def done(self):
        _log("child done")


class Parent(WorkChain):
    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.outline(cls.launch, cls.after)

    def launch(self):
        child = self.submit(Child)
        _log(f"parent launch submitted {child.pk}")
        return ToContext(child=child)

    def after(self):
        _log("parent after")
'''


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _setup() -> None:
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
    profile = create_profile(config, name="repro", email="repro@localhost",
                             storage_backend="core.sqlite_dos", storage_config={},
                             broker_backend="core.rabbitmq", broker_config=broker)
    config.set_option("runner.poll.interval", 1, scope=profile.name)
    config.set_option("warnings.rabbitmq_version", False, scope=profile.name)
    config.set_default_profile(profile.name, overwrite=True)
    config.store()
    load_profile(profile.name, allow_switch=True)


def _state(pk: int) -> str:
    from aiida import orm

    node = orm.load_node(pk)
    return node.process_state.value if node.process_state else "created"


def _ticks(log: str) -> int:
    with open(log) as handle:
        return sum(1 for line in handle if line.startswith("child tick"))


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def main() -> int:
    from aiida import orm
    from aiida.engine import submit
    from aiida.engine.daemon.client import get_daemon_client
    from aiida.manage import get_manager

    with open(os.path.join(ROOT, "repro_kill_wc.py"), "w") as handle:
        handle.write(WORKCHAINS)
    log = os.path.join(ROOT, "steps.log")
    release = os.path.join(ROOT, "release")
    os.environ["REPRO_STEPS_LOG"] = log
    os.environ["REPRO_RELEASE"] = release
    os.environ["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    sys.path.insert(0, ROOT)
    _setup()
    import repro_kill_wc

    client = get_daemon_client()
    client.start_daemon(1)
    try:
        parent = submit(repro_kill_wc.Parent).pk
        if not _wait(lambda: os.path.exists(log), 120):
            print("the parent never submitted its child: cannot judge")
            return 2
        with open(log) as handle:
            child = int(handle.readline().split()[-2])
        if not _wait(lambda: _ticks(log) >= 2, 120):
            print("the child never began stepping: cannot judge")
            return 2
        print(f"[{time.monotonic() - STARTED:.1f} s] parent {parent} ({_state(parent)}) waits "
              f"for child {child} ({_state(child)}); kill the parent as `verdi process kill "
              f"{parent}` does")
        from plumpy.futures import unwrap_kiwi_future

        answer = "killed"
        try:
            future = get_manager().get_process_controller().kill_process(
                parent, msg_text="repro: kill the parent")
            unwrap_kiwi_future(future).result(timeout=60)
        except Exception as error:  # the worker's answer, e.g. a RemoteException
            answer = f"{type(error).__name__}: " + " ".join(str(error).split())[:300]
        print(f"[{time.monotonic() - STARTED:.1f} s] the worker answered the kill: {answer}")
        _wait(lambda: orm.load_node(parent).is_terminated, 30)
        parent_state = _state(parent)
        ticks = _ticks(log)
        time.sleep(WAIT_AFTER_KILL)
        later, child_state = _ticks(log) - ticks, _state(child)
        open(release, "w").close()  # let a surviving child end, to show where it goes
        _wait(lambda: orm.load_node(child).is_terminated and orm.load_node(parent).is_terminated,
              30)
        final, parent_final = _state(child), _state(parent)
        killed = parent_state == "killed"
        # the child runs on (or its parent was never killed, and the child ran on with it)
        deviation = later > 0 or child_state not in ("killed", "excepted")
        print(f"aiida-core {__import__('aiida').__version__}, storage core.sqlite_dos, 1 worker")
        print(f"parent {parent}: {parent_state}; child {child}: {child_state} "
              f"{WAIT_AFTER_KILL:.0f} s later, {later} more step(s) run meanwhile; after the "
              f"child's release: parent {parent_final}, child {final}")
        print("EXPECTED: the parent is killed, and its child with it (no further step)")
        if not deviation:
            happened = f"the parent was {parent_state}, the child {child_state}"
        elif killed:
            happened = f"the child kept running under the killed parent and ended {final}"
        else:
            happened = (f"the kill failed ({answer.split(':')[0]}): the parent stayed "
                        f"{parent_state} and the child ran on and ended {final}")
        print("HAPPENED: " + happened)
        print("RESULT: " + ("DEVIATION (likely bug)" if deviation else "OK (not reproduced)"))
        print(f"[{time.monotonic() - STARTED:.1f} s] done")
        return 1 if deviation else 0
    finally:
        with contextlib.suppress(Exception):
            client.stop_daemon(wait=True)
        with contextlib.suppress(Exception):
            from aiida.manage import get_manager

            get_manager().unload_profile()


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


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on `timeout` too
    code = 2
    try:
        code = main()
    finally:
        _kill_marked(f"AIIDA_PATH={ROOT}")  # daemon, workers
        if VHOST is not None:
            with contextlib.suppress(Exception):
                _rabbitmqctl("delete_vhost", VHOST)
        shutil.rmtree(ROOT, ignore_errors=True)
    sys.exit(code)
