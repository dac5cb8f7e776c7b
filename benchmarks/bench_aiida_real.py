"""The AiiDA column of ``bench_real.py``: the same two figures on real aiida-core.

Importing this module fails with ImportError when aiida-core is not installed; the main
benchmark then prints the column as skipped. It uses the harness's throwaway AiiDA
profile (``harness.adapters.aiida.profile``: its own config folder, SQLite
storage ``core.sqlite_dos``, a fresh RabbitMQ vhost on the machine's broker, a circus
daemon), so it needs RabbitMQ reachable by ``rabbitmqctl``.

Definitions match ``bench_real.py``: throughput = N one-step WorkChains submitted back
to back with ``aiida.engine.submit`` while 2 daemon workers run, until all are
terminated; kill-to-resume = from SIGKILL of the worker inside a step to that step
starting again in another worker, measured with ``time.monotonic()`` in both processes.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

if importlib.util.find_spec("aiida") is None:  # not imported: that creates ~/.aiida
    raise ImportError("aiida-core is not installed")

MODULE = "wfc_bench_aiida"
BENCH_LOG = "WFC_BENCH_LOG"
WORKCHAINS = '''
import os, time
from aiida import orm
from aiida.engine import WorkChain


class Trivial(WorkChain):
    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("x", valid_type=orm.Int)
        spec.output("x", valid_type=orm.Int)
        spec.outline(cls.only)

    def only(self):
        self.out("x", self.inputs.x)


class BlockOnce(WorkChain):
    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("n", valid_type=orm.Int)
        spec.output("n", valid_type=orm.Int)
        spec.outline(cls.block)

    def block(self):
        started = time.monotonic()
        log = os.environ["WFC_BENCH_LOG"]
        marker = f"{log}.{self.node.pk}.started"
        first = not os.path.exists(marker)
        line = f"{self.node.pk} {1 if first else 2} {os.getpid()} {started:.6f}\\n"
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        if first:
            open(marker, "w").close()
            time.sleep(120)
        self.out("n", self.inputs.n)
'''


def _pk(node: object) -> int:
    pk = getattr(node, "pk", None)
    if pk is None:
        raise RuntimeError(f"AiiDA returned an unstored node {node!r} from submit")
    return int(pk)


def _terminated(pks: list[int]) -> int:
    from aiida import orm

    query = orm.QueryBuilder().append(orm.WorkChainNode, filters={
        "id": {"in": pks},
        "attributes.process_state": {"in": ["finished", "excepted", "killed"]}})
    return int(query.count())


def _line(log: Path, pk: int, attempt: int, timeout: float = 120) -> tuple[int, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            for row in log.read_text().splitlines():
                p, a, worker, at = row.split()
                if (int(p), int(a)) == (pk, attempt):
                    return int(worker), float(at)
        time.sleep(0.002)
    raise TimeoutError(f"attempt {attempt} of AiiDA process {pk} never started in {timeout} s")


def figures(n: int, trials: int, workers: int) -> str:
    """One printable line per figure, or why the column could not be measured."""
    from harness.adapters.aiida.profile import ProfileError, ThrowawayProfile

    with tempfile.TemporaryDirectory(prefix="wfc-bench-aiida-") as tmp:
        log = Path(tmp) / "steps.log"
        try:
            profile = ThrowawayProfile(workers=workers).open(daemon=False)
        except ProfileError as exc:
            return f"AiiDA: skipped ({exc})"
        try:
            (profile.modules / f"{MODULE}.py").write_text(WORKCHAINS)
            profile.set_env(BENCH_LOG, str(log))
            profile.start_daemon()
            time.sleep(2.0)
            return "\n".join((_throughput(n), _latency(profile, log, trials)))
        finally:
            profile.close()


def _throughput(n: int) -> str:
    from aiida import orm
    from aiida.engine import submit

    trivial = importlib.import_module(MODULE).Trivial
    start = time.perf_counter()
    pks = [_pk(submit(trivial, x=orm.Int(i))) for i in range(n)]
    submitted = time.perf_counter() - start
    while _terminated(pks) < n:
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    from aiida import __version__

    return (f"aiida-core {__version__} (SQLite storage, RabbitMQ, {len(pks)} trivial "
            f"WorkChains, 2 daemon workers): {n / elapsed:.1f} workflows/s end to end "
            f"(submit alone {n / submitted:.0f}/s)")


def _latency(profile: object, log: Path, trials: int) -> str:
    from aiida import orm
    from aiida.engine import submit

    block = importlib.import_module(MODULE).BlockOnce
    samples = []
    for trial in range(trials):
        profile.await_workers()  # type: ignore[attr-defined]  # ThrowawayProfile
        time.sleep(1.0)
        pk = _pk(submit(block, n=orm.Int(trial)))
        victim, _ = _line(log, pk, 1)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        _, resumed_at = _line(log, pk, 2)
        samples.append(resumed_at - killed_at)
        deadline = time.monotonic() + 60
        while not orm.load_node(pk).is_terminated and time.monotonic() < deadline:
            time.sleep(0.05)
    return (f"aiida-core kill-to-resume ({len(samples)} kills): median "
            f"{statistics.median(samples) * 1000:.0f} ms, min {min(samples) * 1000:.0f} ms, "
            f"max {max(samples) * 1000:.0f} ms")
