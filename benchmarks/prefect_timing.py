"""Where a Prefect run's time goes, from a ``wfconform run --engine prefect --out DIR``.

``python benchmarks/prefect_timing.py DIR`` prints medians of: launch to the first body
(the Runner's poll and a new flow-run process), kill to the first body of the retried run,
launch to terminal, and per scenario the time inside launches against the rest (adapter
and harness: open, observe, heal, checks, close). Figures: docs/results/prefect-3.md.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _show(name: str, values: list[float]) -> None:
    if values:
        print(f"{name}: n={len(values)} median {statistics.median(values):.1f} s, "
              f"min {min(values):.1f}, max {max(values):.1f}")


def main(out: Path) -> None:
    first: list[float] = []
    revive: list[float] = []
    total: list[float] = []
    inside: list[float] = []
    rest: list[float] = []
    seconds = {r["scenario"]: r["seconds"] for r in _rows(out / "verdicts.jsonl")}
    for path in sorted((out / "histories").glob("*.history.jsonl")):
        rows = _rows(path)
        ops = [r for r in rows if r["type"] == "op"]
        begins = sorted((r for r in rows if r["type"] == "begin"), key=lambda r: r["t"])
        kills = [r for r in rows if r["type"] == "fault" and r.get("status") == "fired"]
        launched = 0.0
        for op in ops:
            if op.get("op") not in ("launch", "relaunch"):
                continue
            later = [b for b in begins if b["t"] > op["t"]]
            if later:
                first.append(later[0]["t"] - op["t"])
            wait = next((o for o in ops if o.get("op") == "wait"
                         and o.get("label") == op["label"]), None)
            if wait is not None:
                total.append(wait["t"] - op["t"])
                launched += wait["t"] - op["t"]
        for kill in kills:
            later = [b for b in begins if b["t"] > kill["t"] and b["worker"] != kill["worker"]]
            if later:
                revive.append(later[0]["t"] - kill["t"])
        name = path.name.split(".history")[0]
        if name in seconds:
            inside.append(launched)
            rest.append(seconds[name] - launched)
    _show("launch -> first body begins", first)
    _show("kill -> first body of the retried run", revive)
    _show("launch -> terminal (wait returned)", total)
    _show("per scenario, inside launches", inside)
    _show("per scenario, outside launches", rest)


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1], "verdicts.jsonl").is_file():
        sys.exit("usage: python benchmarks/prefect_timing.py DIR  (a wfconform run --out DIR)")
    main(Path(sys.argv[1]))
