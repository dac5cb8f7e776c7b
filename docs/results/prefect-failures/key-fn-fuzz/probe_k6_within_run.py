"""K6/K7 probe, plain Prefect: one task called twice with equal inputs in ONE flow run.

One task per policy, each its own function (so ``TASK_SOURCE`` differs): nothing set,
persisted results (Prefect's default policy then applies), ``INPUTS + TASK_SOURCE +
RUN_ID`` written out (the adapter's "caching off"), ``NO_CACHE``. Values: ``1`` and the
K6 witness's nested constant. Run with ``PREFECT_HOME`` and ``PREFECT_LOCAL_STORAGE_PATH``
in a scratch folder and no ``PREFECT_API_URL`` (an ephemeral server).
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from prefect import flow, task
from prefect.cache_policies import INPUTS, NO_CACHE, RUN_ID, TASK_SOURCE

EXECUTED: list[str] = []


@task
def plain(x: Any) -> dict[str, Any]:
    EXECUTED.append("plain")
    return {"x": x}


@task(persist_result=True)
def default_persisted(x: Any) -> dict[str, Any]:
    EXECUTED.append("default_persisted")
    return {"x": x}


@task(cache_policy=INPUTS + TASK_SOURCE + RUN_ID, persist_result=True)
def run_scoped(x: Any) -> dict[str, Any]:
    EXECUTED.append("run_scoped")
    return {"x": x}


@task(cache_policy=NO_CACHE, persist_result=True)
def no_cache(x: Any) -> dict[str, Any]:
    EXECUTED.append("no_cache")
    return {"x": x}


NESTED = [(0.0, b"x"), {True: {8, 16}, "1": [decimal.Decimal("2.50"), None],
                        "cafe\u0301": frozenset({8, 16})}, "\u00c5",
          {(1, 2): datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)},
          -9223372036854775808, {}]


@flow
def probe() -> None:
    for made in (plain, default_persisted, run_scoped, no_cache):
        for label, value in (("int 1", 1), ("nested", NESTED)):
            before = len(EXECUTED)
            states = []
            for _ in range(2):  # two calls in sequence, like loop2#0 and loop2#1
                future = made.submit({"x": value})
                future.wait()
                states.append(future.state.name)
            print(f"{made.name:18} {label:7} calls: {states}  bodies run: "
                  f"{len(EXECUTED) - before} of 2", flush=True)


if __name__ == "__main__":
    probe()
