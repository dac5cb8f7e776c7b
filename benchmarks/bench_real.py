"""Real-tier figures (PostgreSQL + RabbitMQ): trivial workflows/s and kill-to-resume latency.

Run from the repository root: ``python benchmarks/bench_real.py`` (``--help`` for sizes).
Prints figures; it is not a test. Targets (issue 6): at least 300 workflows/s with 2
workers, at most 200 ms median kill-to-resume latency. Services come from
``harness.services`` in the usual order (``WFCONFORM_POSTGRES_URL`` and
``WFCONFORM_RABBITMQ_URL``, else throwaway servers from local binaries); the run gets
its own database and vhost, removed afterwards.

Definitions (the same as ``bench_engine.py``, so the tiers compare):

- **throughput**: ``N`` one-step workflows submitted back to back from one thread through
  ``Engine.submit`` (a database commit; the engine's hint thread then publishes the
  persistent, confirmed hint) while a 2-worker daemon runs; figure = N / (time from just
  before the first submit until all N are terminal), observed with one ``count(*)`` every
  10 ms. "drain" is the same with the N processes already in the database and announced
  in one go: the workers' rate. The CPU line splits the end-to-end run's CPU time by
  component (``benchmarks/cpu.py``): on 2 cores, 2000 / total ms is the ceiling.
- **kill-to-resume latency**: a one-step workflow logs ``time.monotonic()`` when its step
  starts and blocks on attempt 1; the benchmark SIGKILLs that worker. Latency = the
  resumed step's logged start (attempt 2, another worker) minus the time just before
  ``os.kill``: RabbitMQ redelivering, the daemon releasing the lease and announcing the
  task, a worker claiming it, loading the checkpoint and entering the step.

The AiiDA column runs the same two measurements on real aiida-core when it is importable
(see ``bench_aiida_real.py``); it is skipped, with the reason, when it is not.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from reference_engine import Engine

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.cpu import CpuMeter  # after the path fix
from benchmarks.workflows import BENCH_LOG, Trivial, one_kill  # after the path fix


# ------------------------------------------------------------------------ services
@contextmanager
def real_services(synchronous_commit: str) -> Iterator[tuple[str, str, str]]:
    """(database URL, broker URL, provider name) for one benchmark run."""
    from harness.services import choose, default_providers, with_queue

    provider = choose(default_providers())
    services = provider.start()
    name = f"wfc_bench_{secrets.token_hex(4)}"
    try:
        db = services.postgres.isolation.create(name)
        vhost = services.rabbitmq.isolation.create(name)
        try:
            if synchronous_commit != "on":
                _set_database(services.postgres.url, name, synchronous_commit)
            yield db, with_queue(vhost, "bench"), provider.name
        finally:
            services.rabbitmq.isolation.remove(name)
            services.postgres.isolation.remove(name)
    finally:
        provider.stop()


def _set_database(admin_url: str, name: str, synchronous_commit: str) -> None:
    from sqlalchemy import create_engine

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = '
                          f"{synchronous_commit}"))
    admin.dispose()


# ------------------------------------------------------------------------ throughput
def count_terminal(engine: Engine, ids: tuple[int, int]) -> int:
    with engine.store.db.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM processes WHERE state IN ('finished','excepted','killed') "
            "AND id BETWEEN :a AND :b"), {"a": ids[0], "b": ids[1]}).scalar_one())


def wait_terminal(engine: Engine, ids: tuple[int, int], n: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while count_terminal(engine, ids) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {count_terminal(engine, ids)} of {n} terminal")
        time.sleep(0.01)


def throughput(db: str, broker: str, n: int, workers: int, cpu: CpuMeter
               ) -> tuple[float, float, float]:
    """(end-to-end workflows/s, submissions/s, drain workflows/s); CPU into ``cpu``."""
    with Engine(db, broker_url=broker) as engine, engine.daemon(workers) as daemon:
        daemon.wait_for_workers()
        time.sleep(1.0)  # let the workers finish importing and connecting
        cpu.start()
        start = time.perf_counter()
        ids = [engine.submit(Trivial, x=i) for i in range(n)]
        submitted = time.perf_counter() - start
        wait_terminal(engine, (ids[0], ids[-1]), n)
        elapsed = time.perf_counter() - start
        cpu.stop()
        announce, engine.store.on_ready = engine.store.on_ready, None  # store only...
        ids = [engine.store.create_process(f"{Trivial.__module__}:Trivial", "Trivial",
                                           "workflow", {"x": i}) for i in range(n)]
        start = time.perf_counter()
        assert announce is not None
        announce(ids)  # ...then every hint at once: the workers' own rate
        wait_terminal(engine, (ids[0], ids[-1]), n)
        drained = time.perf_counter() - start
    return n / elapsed, n / submitted, n / drained


# ------------------------------------------------------------------------ latency
def latency(db: str, broker: str, trials: int, workers: int, workdir: Path) -> list[float]:
    log = workdir / f"latency-{secrets.token_hex(3)}.log"
    samples: list[float] = []
    with Engine(db, broker_url=broker) as engine, \
            engine.daemon(workers, {BENCH_LOG: str(log)}) as daemon:
        for trial in range(trials):
            daemon.wait_for_workers()
            time.sleep(1.0)  # the replacement worker is importing: let it be ready
            samples.append(one_kill(engine, log, trial))
    return samples


# ------------------------------------------------------------------------ report
def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def aiida_column(args: argparse.Namespace) -> str:
    try:
        from benchmarks import bench_aiida_real
    except ImportError as exc:  # aiida-core missing, or its adapter support
        return f"AiiDA: skipped ({exc})"
    return bench_aiida_real.figures(args.aiida_n, args.trials_aiida, args.workers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="workflows per throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs")
    parser.add_argument("--trials", type=int, default=15, help="kills for the latency")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--synchronous-commit", default="on", choices=["on", "off"],
                        help="PostgreSQL synchronous_commit for the engine's database")
    parser.add_argument("--aiida-n", type=int, default=50, help="AiiDA workflows per run")
    parser.add_argument("--trials-aiida", type=int, default=5, help="kills for AiiDA")
    parser.add_argument("--no-aiida", action="store_true", help="skip the AiiDA column")
    args = parser.parse_args(argv)
    import tempfile

    with real_services(args.synchronous_commit) as (db, broker, provider), \
            tempfile.TemporaryDirectory(prefix="wfc-bench-real-") as tmp:
        print(f"services: {provider}; PostgreSQL synchronous_commit={args.synchronous_commit}; "
              f"{os.cpu_count()} cores")
        cpu = CpuMeter()
        runs = [throughput(db, broker, args.n, args.workers, cpu) for _ in range(args.rounds)]
        print(f"reference engine, real tier: {args.n} trivial workflows, {args.workers} "
              f"workers, {args.rounds} runs: median "
              f"{statistics.median(r[0] for r in runs):.0f} workflows/s end to end (runs: "
              f"{', '.join(f'{r[0]:.0f}' for r in runs)}; submit alone "
              f"{statistics.median(r[1] for r in runs):.0f}/s; drain "
              f"{statistics.median(r[2] for r in runs):.0f}/s)  target >= 300")
        print(f"  end-to-end CPU: {cpu.per_unit(args.n * args.rounds)}; load "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        samples = latency(db, broker, args.trials, args.workers, Path(tmp))
        print(f"reference engine, real tier: kill-to-resume ({len(samples)} kills): median "
              f"{ms(statistics.median(samples))}, min {ms(min(samples))}, "
              f"max {ms(max(samples))}  target <= 200 ms")
    if not args.no_aiida:
        print(aiida_column(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
