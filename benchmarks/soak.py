"""Kill-storm soak: many workflows, a worker SIGKILLed every 0.3 s, services killed too.

Issue 12's soak, through the engine's Python API (submit, daemon, wait) as users drive it:

- embedded: SQLite, ``--workers`` worker OS processes, one SIGKILLed every
  ``--kill-every`` s for ``--storm`` s (or until everything finished);
- real: the same on PostgreSQL + RabbitMQ, on THROWAWAY servers the harness starts from
  the local binaries (never the machine's shared ones), plus a broker kill -9 at a third
  of the storm and a database restart at two thirds.

Prints, per tier: workflows, worker kills, service faults, lost (not finished with the
right outputs after the drain: must be 0), duplicated children (must be 0), and the time
to drain (from the end of the storm until every workflow is terminal).

    python benchmarks/soak.py                          # 2,000 workflows, 180 s, both tiers
    python benchmarks/soak.py -n 100 --storm 10 --tiers embedded    # a quick look

Exit status 0 when nothing was lost or duplicated on any tier, else 1.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from reference_engine import Daemon, Engine

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.soak_workflows import Soak, expected  # after the path fix


@dataclass
class Outcome:
    tier: str
    workflows: int
    kills: int
    faults: list[str]
    lost: int
    duplicated: int
    storm_seconds: float
    drain_seconds: float

    def line(self) -> str:
        return (f"{self.tier:9} workflows {self.workflows}  kills {self.kills}  "
                f"faults [{', '.join(self.faults) or 'none'}]  lost {self.lost}  "
                f"duplicated {self.duplicated}  storm {self.storm_seconds:.0f} s  "
                f"time to drain {self.drain_seconds:.1f} s")


def terminal_count(engine: Engine) -> int:
    with engine.store.db.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM processes WHERE parent_id IS NULL AND state IN "
            "('finished','excepted','killed')")).scalar_one())


def storm(engine: Engine, daemon: Daemon, n: int, args: argparse.Namespace,
          faults: list[tuple[float, str, Callable[[], None]]]) -> tuple[int, list[str]]:
    """SIGKILL a random live worker every ``kill_every`` s; fire each service fault at
    its time. Ends after ``storm`` s or when every workflow is terminal."""
    rng = random.Random(args.seed)
    kills, fired, start = 0, [], time.monotonic()
    pending = sorted(faults, key=lambda f: f[0])
    while time.monotonic() - start < args.storm:
        time.sleep(args.kill_every)
        elapsed = time.monotonic() - start
        while pending and pending[0][0] <= elapsed:
            _, name, fire = pending.pop(0)
            fire()
            fired.append(f"{name} at {elapsed:.0f} s")
        live = daemon.worker_pids()
        if live:
            try:
                daemon.kill_worker(rng.choice(sorted(live)))
                kills += 1
            except ValueError:  # it died meanwhile
                pass
        if not pending and terminal_count(engine) >= n:
            break
    return kills, fired


def judge(engine: Engine, ids: dict[int, int]) -> tuple[int, int]:
    """(lost, duplicated): a workflow not finished with the right outputs is lost; more
    than one child of a workflow is a duplicated launch."""
    lost = 0
    for record in engine.list():
        if record.id in ids and (record.state != "finished"
                                 or record.outputs != expected(ids[record.id])):
            lost += 1
            if lost <= 3:  # say why, for the first few
                print(f"  lost: process {record.id} {record.state} {record.outputs} "
                      f"{record.message[:200]!r}", file=sys.stderr)
    with engine.store.db.connect() as conn:
        children = Counter(conn.execute(text(
            "SELECT parent_id FROM processes WHERE parent_id IS NOT NULL")).scalars())
    return lost, sum(1 for count in children.values() if count > 1)


def soak(tier: str, engine: Engine, args: argparse.Namespace,
         faults: list[tuple[float, str, Callable[[], None]]]) -> Outcome:
    ids = {engine.submit(Soak, x=x): x for x in range(args.n)}
    with engine.daemon(args.workers, sweep_after=0.5) as daemon:
        daemon.wait_for_workers()
        started = time.monotonic()
        kills, fired = storm(engine, daemon, args.n, args, faults)
        storm_end = time.monotonic()
        deadline, report = storm_end + args.drain_timeout, storm_end + 30
        while time.monotonic() < deadline:
            try:
                done = terminal_count(engine)
            except Exception:  # a database still restarting: keep waiting
                done = -1
            if done >= args.n:
                break
            if time.monotonic() > report:  # progress, so a stall shows from a crawl
                report += 30
                print(f"  {tier}: {done} of {args.n} terminal, "
                      f"{time.monotonic() - storm_end:.0f} s after the storm", flush=True)
            time.sleep(0.1)
        drained = time.monotonic()
    lost, duplicated = judge(engine, ids)
    return Outcome(tier, args.n, kills, fired, lost, duplicated, storm_end - started,
                   drained - storm_end)


def run_embedded(args: argparse.Namespace) -> Outcome:
    with (tempfile.TemporaryDirectory(prefix="wfc-soak-") as folder,
          Engine(Path(folder) / "engine.db") as engine):
        return soak("embedded", engine, args, [])


def run_real(args: argparse.Namespace) -> Outcome:
    """On throwaway servers only: this soak kills the broker and restarts the database."""
    from harness.services import LocalServers, with_queue

    provider = LocalServers()
    reason = provider.unavailable()
    if reason is not None:
        raise SystemExit(f"soak: the real tier needs throwaway servers: {reason}")
    services = provider.start()
    try:
        db = services.postgres.isolation.create("wfc_soak")
        broker = with_queue(services.rabbitmq.isolation.create("wfc_soak"), "soak")
        rabbit, postgres = services.rabbitmq.control, services.postgres.control
        assert rabbit is not None and postgres is not None  # LocalServers: always
        faults = [(args.storm / 3, "broker kill -9", lambda: rabbit.restart(kill=True)),
                  (2 * args.storm / 3, "database restart", lambda: postgres.restart())]
        with Engine(db, broker_url=broker) as engine:
            return soak("real", engine, args, faults)
    finally:
        provider.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="workflows")
    parser.add_argument("--storm", type=float, default=180.0, help="seconds of kills")
    parser.add_argument("--kill-every", type=float, default=0.3, metavar="S")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--drain-timeout", type=float, default=600.0, metavar="S")
    parser.add_argument("--tiers", default="embedded,real")
    args = parser.parse_args(argv)
    runners = {"embedded": run_embedded, "real": run_real}
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    unknown = [t for t in tiers if t not in runners]
    if unknown:
        parser.error(f"--tiers: unknown tier(s) {unknown}; expected embedded and/or real")
    print(f"soak: {args.n} workflows, {args.workers} workers, a worker SIGKILLed every "
          f"{args.kill_every} s for up to {args.storm:.0f} s, seed {args.seed}", flush=True)
    bad = False
    for tier in tiers:
        outcome = runners[tier](args)
        print(outcome.line(), flush=True)
        bad |= outcome.lost > 0 or outcome.duplicated > 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
