"""Where an embedded or real-tier fuzz scenario's wall time goes, phase by phase.

Run from the repository root: ``python benchmarks/fuzz_phases.py --tier real`` (the real
tier uses ``WFCONFORM_POSTGRES_URL`` and ``WFCONFORM_RABBITMQ_URL`` when set, else it
starts throwaway servers). Prints figures; it is not a test.

Why: issue 14 asks to remove from embedded and real fuzz what is not the engine's. On
those tiers a scenario's time is mostly waiting (worker processes, a database, a
broker), which a CPU profile does not show; this wraps the harness's and the daemon's
phases and charges each its wall-clock milliseconds per scenario:

- **open**: the adapter's ``open`` (a fresh database, the engine, a daemon whose workers
  the warm pool booted), of which the daemon's ``wait_serving`` (taken workers opening
  their store and broker), the tier's ``database`` (``CREATE DATABASE`` on real) and its
  ``ready`` (workers consuming the scenario's queue);
- **launches**: the plan's operations and waits (the engine's own work), what
  ``_execute`` takes beyond ``open``;
- **close**: stopping the daemon (its workers noticing SIGTERM) and the tier's
  ``release`` (``DROP DATABASE``).

``wfconform fuzz --tier T --workers 1`` runs in this process (the CLI's ``main``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

PHASES = (
    ("harness.runner", None, "run_scenario", "scenario (all of it)"),
    ("harness.runner", None, "_execute", "open + launches"),
    ("harness.adapters.reference", "ReferenceAdapter", "open", "open"),
    ("reference_engine.runtime.daemon", "Daemon", "wait_serving", "  daemon serving"),
    ("harness.adapters.reference_real", "RealTier", "database", "  database (real)"),
    ("harness.adapters.reference_real", "RealTier", "ready", "  workers consuming (real)"),
    ("reference_engine.engine", "Engine", "__init__", "  engine"),
    ("harness.adapters.reference", "ReferenceAdapter", "close", "close"),
    ("reference_engine.runtime.daemon", "Daemon", "stop", "  daemon stop"),
    ("harness.adapters.reference_real", "RealTier", "release", "  drop database (real)"),
)
"""(module, class or None, function, label): each wrapped once, its own wall time."""


@contextlib.contextmanager
def timed_phases() -> Iterator[tuple[dict[str, float], Counter[str]]]:
    """Wrap every phase; yield (seconds, calls) per label; unwrap on exit."""
    import importlib

    seconds: dict[str, float] = defaultdict(float)
    calls: Counter[str] = Counter()
    undo: list[Callable[[], None]] = []
    for module_name, class_name, name, label in PHASES:
        module = importlib.import_module(module_name)
        owner: Any = getattr(module, class_name) if class_name else module
        original = owner.__dict__[name] if class_name else getattr(owner, name)

        def charged(*args: Any, _f: Any = original, _label: str = label, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                seconds[_label] += time.perf_counter() - started
                calls[_label] += 1

        setattr(owner, name, functools.wraps(original)(charged))
        undo.append(functools.partial(setattr, owner, name, original))
    try:
        yield seconds, calls
    finally:
        for step in reversed(undo):
            step()


def measure(tier: str, seconds: float, seed: int) -> tuple[str, dict[str, float], int]:
    """Run the campaign; return its summary line, seconds per label and the scenarios."""
    sys.path.insert(0, str(ROOT))
    from harness.cli import main

    with tempfile.TemporaryDirectory(prefix="wfconform-fuzz-phases-") as out:
        printed = io.StringIO()
        with timed_phases() as (spent, calls), contextlib.redirect_stdout(printed):
            status = main(["fuzz", "--tier", tier, "--workers", "1", "--seed", str(seed),
                           "--max-time", str(seconds), "--shrink-time", "1", "--out", out,
                           "--quiet"])
    summary = next((line for line in printed.getvalue().splitlines()
                    if line.startswith("fuzz:")), "")
    if status != 0 or not summary:
        raise SystemExit(f"wfconform fuzz exited {status}:\n{printed.getvalue()}")
    return summary, dict(spent), calls["scenario (all of it)"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=("embedded", "real"), default="embedded")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    summary, spent, scenarios = measure(args.tier, args.seconds, args.seed)
    print(summary)
    if not scenarios:
        raise SystemExit("no scenario ran: nothing to divide by")
    launches = spent.get("open + launches", 0.0) - spent.get("open", 0.0)
    rows = [(label, spent.get(label, 0.0)) for _m, _c, _n, label in PHASES]
    rows.insert(2, ("launches (the engine's work and the waits)", launches))
    print(f"{'phase':44} {'ms/scenario':>12}")
    for label, secs in rows:
        if label == "open + launches" or (args.tier != "real" and "(real)" in label):
            continue
        print(f"{label:44} {1000 * secs / scenarios:12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
