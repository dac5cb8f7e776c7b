"""After a kill -9 and restart of RabbitMQ, a WorkChain whose worker is busy in a step
is continued by the other daemon worker too: two executors of one process.

Needs aiida-core (2.9.x) and the RabbitMQ server binaries (`rabbitmq-server`,
`rabbitmqctl`; as root, the `rabbitmq` user of the Debian package). It starts its own
throwaway RabbitMQ node on free ports (never the machine's), a throwaway SQLite profile
and a daemon with two workers, all in a temporary folder removed at the end; about a
minute on a quiet machine. Exit status 1 when the deviation is seen, 0 otherwise.

Expected: a process has one executor at a time. The worker inside step1 is alive and
still holds the process; the broker redelivers its unacked task after the restart, and
AiiDA only recognises the duplicate when it reaches the *same* worker
(`DuplicateSubscriberIdentifier`); the other worker loads the checkpoint and runs step1
again while the first finishes it: each step must run once, and here step1 runs twice.
Found by `wfconform run --engine aiida --tier psql` (catalog scenario
`c5_no_overlap_after_redelivery`, twice): step `add_xyz` ran in both workers 0.25 s
apart, and the WorkChain stayed `Waiting for child processes: <pk>` on a finished child.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = tempfile.mkdtemp(prefix="aiida-repro-rmq-")
os.environ["AIIDA_PATH"] = ROOT
# the daemon runs `verdi` from PATH (looked up when aiida is imported): this environment's
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
NODE = f"reprormq{os.getpid()}@localhost"

WORKCHAIN = '''
import os, time
from aiida import orm
from aiida.calculations.arithmetic.add import ArithmeticAddCalculation
from aiida.engine import ToContext, WorkChain

LOG = os.environ["REPRO_STEPS_LOG"]


def _log(step):
    with open(LOG, "a") as handle:
        handle.write(f"{step} pid={os.getpid()} t={time.time():.2f}\\n")


class TwoSteps(WorkChain):
    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("code", valid_type=orm.AbstractCode)
        spec.output("sum", valid_type=orm.Int)
        spec.outline(cls.step1, cls.step2, cls.result)

    def _add(self, x, y, sleep):
        return self.submit(ArithmeticAddCalculation, code=self.inputs.code, x=orm.Int(x),
                           y=orm.Int(y), metadata={"options": {"sleep": sleep,
                           "resources": {"num_machines": 1}}})

    def step1(self):
        _log("step1")
        # a long step (a blocking calcfunction would do the same): the worker's event
        # loop is busy while RabbitMQ goes down and comes back
        release = os.environ["REPRO_RELEASE"]
        deadline = time.time() + 120
        while not os.path.exists(release) and time.time() < deadline:
            time.sleep(0.2)
        return ToContext(a=self._add(1, 2, 1))

    def step2(self):
        _log("step2")
        return ToContext(b=self._add(self.ctx.a.outputs.sum.value, 3, 1))

    def result(self):
        _log("result")
        self.out("sum", self.ctx.b.outputs.sum)
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kill_marked(marker: str) -> None:
    """SIGKILL every process whose environment holds `marker` (the node, the daemon):
    the Debian script re-execs the node as user rabbitmq, outside our process group."""
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


class Rabbit:
    """A throwaway RabbitMQ node (the Debian script runs it as user `rabbitmq`)."""

    def __init__(self) -> None:
        self.folder = os.path.join(ROOT, "rabbitmq")
        os.makedirs(self.folder)
        with open(os.path.join(self.folder, "enabled_plugins"), "w") as handle:
            handle.write("[].")
        with open(os.path.join(self.folder, "rabbitmq.conf"), "w") as handle:
            handle.write("loopback_users = none\nlog.console = false\n")
        if os.getuid() == 0:
            user = pwd.getpwnam("rabbitmq")
            for folder, _, files in os.walk(ROOT):
                for path in [folder, *(os.path.join(folder, f) for f in files)]:
                    os.chown(path, user.pw_uid, user.pw_gid)
            os.chmod(ROOT, 0o755)
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        d = self.folder
        env = {**os.environ, "RABBITMQ_NODENAME": NODE, "RABBITMQ_NODE_PORT": str(self.port),
               "RABBITMQ_DIST_PORT": str(_free_port()),
               "RABBITMQ_MNESIA_BASE": f"{d}/mnesia", "RABBITMQ_LOG_BASE": f"{d}/log",
               "RABBITMQ_PID_FILE": f"{d}/node.pid",
               "RABBITMQ_ENABLED_PLUGINS_FILE": f"{d}/enabled_plugins",
               "RABBITMQ_CONFIG_FILE": f"{d}/rabbitmq",
               "RABBITMQ_FEATURE_FLAGS_FILE": f"{d}/feature_flags",
               "RABBITMQ_QUORUM_DIR": f"{d}/quorum"}
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{d}/node.pid")
        self.proc = subprocess.Popen(["rabbitmq-server"], env=env, cwd=d, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while not os.path.exists(f"{d}/node.pid") and time.monotonic() < deadline:
            time.sleep(0.2)
        subprocess.run(["rabbitmqctl", "-n", NODE, "-q", "wait", f"{d}/node.pid", "--timeout",
                        "90"], check=True, timeout=120, capture_output=True)

    def kill(self) -> None:
        _kill_marked(f"RABBITMQ_NODENAME={NODE}")
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
            self.proc = None
        for _ in range(60):  # epmd must forget the name before the node can start again
            names = subprocess.run(["epmd", "-names"], capture_output=True, text=True).stdout
            if f"name {NODE.partition('@')[0]} at" not in names:
                return
            time.sleep(0.25)


def _setup(rabbit: Rabbit):
    from aiida import orm
    from aiida.manage.configuration import create_profile, get_config, load_profile

    config = get_config(create=True)
    broker = {"broker_protocol": "amqp", "broker_username": "guest", "broker_password": "guest",
              "broker_host": "127.0.0.1", "broker_port": rabbit.port,
              "broker_virtual_host": ""}
    profile = create_profile(config, name="repro", email="repro@localhost",
                             storage_backend="core.sqlite_dos", storage_config={},
                             broker_backend="core.rabbitmq", broker_config=broker)
    config.set_option("runner.poll.interval", 1, scope=profile.name)
    config.set_option("warnings.rabbitmq_version", False, scope=profile.name)
    config.set_default_profile(profile.name, overwrite=True)
    config.store()
    load_profile(profile.name, allow_switch=True)
    computer = orm.Computer(label="localhost", hostname="localhost",
                            transport_type="core.local", scheduler_type="core.direct",
                            workdir=os.path.join(ROOT, "scratch")).store()
    computer.configure(safe_interval=0)
    computer.set_minimum_job_poll_interval(1)
    computer.set_default_mpiprocs_per_machine(1)
    return orm.InstalledCode(label="bash", computer=computer,
                             filepath_executable="/bin/bash").store()


def main(rabbit: Rabbit) -> int:
    from aiida import orm
    from aiida.engine import submit
    from aiida.engine.daemon.client import get_daemon_client

    with open(os.path.join(ROOT, "repro_rmq_wc.py"), "w") as handle:
        handle.write(WORKCHAIN)
    log = os.path.join(ROOT, "steps.log")
    release = os.path.join(ROOT, "release")
    os.environ["REPRO_STEPS_LOG"] = log
    os.environ["REPRO_RELEASE"] = release
    os.environ["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    sys.path.insert(0, ROOT)
    rabbit.start()
    code = _setup(rabbit)
    import repro_rmq_wc

    client = get_daemon_client()
    client.start_daemon(2)
    try:
        node = submit(repro_rmq_wc.TwoSteps, code=code)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not os.path.exists(log):  # step1 began
            time.sleep(0.2)
        print("kill -9 RabbitMQ while a worker is inside step1; restart it; let step1 end")
        rabbit.kill()
        rabbit.start()
        time.sleep(5.0)  # the idle worker reconnects meanwhile
        open(release, "w").close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not orm.load_node(node.pk).is_terminated:
            time.sleep(0.5)
        node = orm.load_node(node.pk)
        with open(log) as handle:
            steps = handle.read().splitlines()
        print(f"aiida-core {__import__('aiida').__version__}")
        print("steps executed:", *steps, sep="\n  ")
        state = node.process_state.value if node.process_state else "?"
        children = [(c.pk, c.process_state.value if c.process_state else "?")
                    for c in node.called]
        print(f"WorkChain {node.pk}: {state} ({node.process_status}); children {children}")
        print("EXPECTED: each step runs once (the worker inside step1 is alive and keeps "
              "the process) and the WorkChain finishes")
        twice = any(sum(line.startswith(step) for line in steps) > 1
                    for step in ("step1", "step2", "result"))
        stuck = not node.is_terminated
        deviates = twice or stuck
        print("HAPPENED: " + ", ".join(filter(None, [
            "a step ran in two workers (duplicate executors)" if twice else "",
            "the WorkChain is not terminated 60 s after the restart" if stuck else "",
        ])) if deviates else "HAPPENED: as expected")
        print("RESULT: " + ("DEVIATION (likely bug)" if deviates else "OK (not reproduced)"))
        return 1 if deviates else 0
    finally:
        with contextlib.suppress(Exception):
            client.stop_daemon(wait=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on `timeout` too
    rabbit = Rabbit()
    code = 2
    try:
        code = main(rabbit)
    finally:
        rabbit.kill()
        _kill_marked(f"AIIDA_PATH={ROOT}")  # daemon, workers, jobs
        shutil.rmtree(ROOT, ignore_errors=True)
    sys.exit(code)
