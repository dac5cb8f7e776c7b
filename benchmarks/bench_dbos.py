"""DBOS 3 figures: trivial workflows per second, and kill-to-resume latency (real SIGKILL).

Run from the repository root: ``python benchmarks/bench_dbos.py`` (``--help`` for sizes;
needs ``pip install 'wfconform[dbos]'``). Prints figures; it is not a test. The set-up is
the DBOS adapter's (``harness/adapters/dbos``), without the harness: a SQLite system
database (or ``--postgres URL``, a database of its own made and dropped here), migrated
once by this process, one queue polled every 50 ms, and ``--workers`` worker processes,
each ``DBOS.launch()`` with a pinned executor id and application version. This process
only enqueues through ``DBOSClient`` and reads.

Definitions, so the figures mean one thing (as ``bench_engine.py``):

- **throughput**: ``N`` one-step workflows enqueued back to back; figure = N / (time from
  just before the first enqueue until all N are SUCCESS), 2 workers.
- **kill-to-resume latency**: a one-step workflow whose step logs ``time.monotonic()``
  and DBOS's dispatch count as its first action and then, in the first dispatch, blocks.
  The benchmark waits for that line, SIGKILLs the worker, and restarts it at once with
  the same executor id (what a process manager with no restart delay does; DBOS
  recovers a PENDING workflow only in a worker with the dead one's executor id and
  version, so an idle second worker does not take it over). Latency = the monotonic time
  logged by the resumed step minus the time taken just before ``os.kill``: a new Python
  process, ``import dbos``, ``DBOS.launch()`` (recovery re-enqueues the workflow), a
  queue poll, the workflow replayed up to the step.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

QUEUE = "bench"
VERSION = "bench-v1"
APP = "wfconform-bench"


# ---------------------------------------------------------------- the worker process
def _worker(config_path: str, executor: str) -> int:
    """``bench_dbos.py --worker CONFIG EXECUTOR``: serve the queue until killed."""
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    from dbos import DBOS

    DBOS(config={"name": APP, "system_database_url": config["url"], "executor_id": executor,
                 "application_version": VERSION, "run_admin_server": False,
                 "log_level": "WARNING", "run_migrations": False})
    log = config["log"]

    @DBOS.step(name="bench.mark")
    def mark(n: int) -> int:
        status = DBOS.get_workflow_status(DBOS.workflow_id or "")
        dispatch = status.recovery_attempts if status is not None else None
        line = json.dumps({"n": n, "pid": os.getpid(), "dispatch": dispatch,
                           "t": time.monotonic()}) + "\n"
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        if dispatch == 1:
            threading.Event().wait()  # blocks until the benchmark kills this worker
        return n

    @DBOS.step(name="bench.one")
    def one(n: int) -> int:
        return n

    @DBOS.workflow(name="bench.block_once")
    def block_once(n: int) -> int:
        return mark(n)

    @DBOS.workflow(name="bench.trivial")
    def trivial(n: int) -> int:
        return one(n)

    DBOS.launch()
    print("ready", flush=True)
    threading.Event().wait()
    return 0


# ---------------------------------------------------------------- the benchmark
class Cluster:
    """The system database, the client and the worker processes of one measurement."""

    def __init__(self, root: Path, workers: int, postgres: str | None) -> None:
        from dbos import DBOS, DBOSClient

        self.root = root
        self.database: str | None = None
        if postgres:
            from harness.services.isolation import PostgresDatabases

            self.database = "wfc_bench_" + uuid.uuid4().hex[:10]
            url = PostgresDatabases(postgres).create(self.database)
            self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        else:
            self.url = f"sqlite:///{root / 'sys.sqlite'}"
        self.postgres = postgres
        self.log = root / "marks.jsonl"
        self.config = root / "config.json"
        self.config.write_text(json.dumps({"url": self.url, "log": str(self.log)}))
        DBOS.migrate(self.url)
        self.client = DBOSClient(system_database_url=self.url, application_name=APP)
        self.client.register_queue(QUEUE, polling_interval_sec=0.05)
        self.procs = [self.start(i) for i in range(workers)]
        for index in range(workers):
            self.wait_ready(index, 1)

    def start(self, index: int) -> subprocess.Popen[bytes]:
        out = open(self.root / f"worker-{index}.log", "ab")  # noqa: SIM115 - the child keeps it
        return subprocess.Popen([sys.executable, __file__, "--worker", str(self.config),
                                 f"bench-{index}"], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def wait_ready(self, index: int, count: int, timeout: float = 120.0) -> None:
        path = self.root / f"worker-{index}.log"
        deadline = time.monotonic() + timeout
        while path.read_text(errors="replace").count("ready\n") < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {index} not ready: {path.read_text()[-500:]}")
            time.sleep(0.02)

    def enqueue(self, name: str, n: int) -> str:
        workflow_id = f"{name}-{n}-{uuid.uuid4().hex[:8]}"
        self.client.enqueue({"workflow_name": name, "queue_name": QUEUE,
                             "workflow_id": workflow_id}, n)
        return workflow_id

    def successes(self, prefix: str) -> int:
        return len(self.client.list_workflows(status="SUCCESS", workflow_id_prefix=prefix,
                                              load_input=False, load_output=False))

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.client.destroy()
        if self.database is not None and self.postgres:
            from harness.services.isolation import PostgresDatabases

            PostgresDatabases(self.postgres).remove(self.database)


def throughput(cluster: Cluster, n: int) -> float:
    started = time.monotonic()
    for i in range(n):
        cluster.enqueue("bench.trivial", i)
    while cluster.successes("bench.trivial-") < n:
        time.sleep(0.01)
    return n / (time.monotonic() - started)


def _mark(log: Path, n: int, dispatch: int, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            for line in log.read_text().splitlines():
                record = json.loads(line)
                if record["n"] == n and record["dispatch"] == dispatch:
                    return record  # type: ignore[no-any-return]  # a JSON object
        time.sleep(0.005)
    raise RuntimeError(f"no dispatch {dispatch} of workflow {n} within {timeout} s")


def one_kill(cluster: Cluster, n: int, generation: dict[int, int]) -> float:
    """Seconds from SIGKILL of the worker inside the step to the step's second dispatch."""
    workflow_id = cluster.enqueue("bench.block_once", n)
    first = _mark(cluster.log, n, 1)
    index = next(i for i, p in enumerate(cluster.procs) if p.pid == first["pid"])
    killed_at = time.monotonic()
    os.kill(first["pid"], signal.SIGKILL)
    cluster.procs[index].wait()
    cluster.procs[index] = cluster.start(index)  # same executor id, at once
    second = _mark(cluster.log, n, 2)
    generation[index] = generation.get(index, 1) + 1
    cluster.wait_ready(index, generation[index])
    result = cluster.client.retrieve_workflow(workflow_id).get_result()
    if result != n or second["pid"] == first["pid"]:
        raise AssertionError(f"workflow {workflow_id}: result {result}, pids {first['pid']}, "
                             f"{second['pid']}")
    return float(second["t"]) - killed_at


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--worker"]:
        return _worker(args[1], args[2])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=8, help="kills per latency figure")
    parser.add_argument("--workflows", type=int, default=200, help="workflows for throughput")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="admin URL of a PostgreSQL server (default: SQLite)")
    options = parser.parse_args(args)
    storage = "PostgreSQL" if options.postgres else "SQLite"
    with tempfile.TemporaryDirectory(prefix="wfconform-bench-dbos-") as tmp:
        cluster = Cluster(Path(tmp), options.workers, options.postgres)
        try:
            rate = throughput(cluster, options.workflows)
            print(f"DBOS ({storage}) throughput: {rate:.1f} trivial workflows/s "
                  f"({options.workflows} workflows, {options.workers} workers)", flush=True)
            generation: dict[int, int] = {}
            samples = [one_kill(cluster, 10_000 + i, generation)
                       for i in range(options.trials)]
        finally:
            cluster.close()
    print(f"DBOS ({storage}) kill-to-resume ({len(samples)} kills, worker restarted at once "
          f"with its executor id): median {statistics.median(samples) * 1000:.0f} ms, "
          f"p90 {percentile(samples, 0.9) * 1000:.0f} ms, min {min(samples) * 1000:.0f} ms, "
          f"max {max(samples) * 1000:.0f} ms")
    print(f"load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):  # run as a script: make ``harness`` importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
