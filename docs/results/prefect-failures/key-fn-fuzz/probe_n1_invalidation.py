"""N1 probe, plain Prefect: finished task runs whose shared result record is deleted
(the adapter's first invalidation), and whose record is expired instead (its fix).

Run like ``probe_k6_within_run.py`` (scratch ``PREFECT_HOME``, ephemeral server).
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from prefect import flow, task
from prefect.cache_policies import INPUTS, RUN_ID, TASK_SOURCE
from prefect.client.orchestration import get_client
from prefect.results import ResultStore


@task(cache_policy=INPUTS + TASK_SOURCE + RUN_ID, persist_result=True)
def digest_off(x: int) -> dict[str, str]:  # the adapter's "caching off"
    return {"digest": f"d{x}"}


@task(cache_policy=INPUTS + TASK_SOURCE, persist_result=True)
def digest_on(x: int) -> dict[str, str]:  # the adapter's "caching on"
    return {"digest": f"d{x}"}


@flow
def two_calls(made: Any) -> list[str]:
    futures = []
    for _ in range(2):
        future = made.submit(7)
        future.wait()
        futures.append(future)
    return [str(f.state.state_details.task_run_id) for f in futures]


def show(client: Any, ids: list[str], title: str) -> None:
    print(title)
    for run_id in ids:
        run = client.read_task_run(run_id)
        key = run.state.data.storage_key if run.state.data is not None else None
        try:
            value = run.state.result()
        except Exception as exc:  # what a user sees when the record is gone
            value = f"raises {type(exc).__name__}: {str(exc)[:90]}"
        print(f"  task run {run_id[:8]} {run.state.type.value} ({run.state.name}) "
              f"file {os.path.basename(key or '')[:8]} result: {value}")


def expire(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        record = json.load(handle)
    record["metadata"]["expiration"] = datetime.datetime.now(datetime.UTC).isoformat()
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(record, handle)


if __name__ == "__main__":
    with get_client(sync_client=True) as client:
        ids = two_calls(digest_off)
        show(client, ids, "1. caching off (run-scoped key), two equal calls in one flow run:")
        os.remove(client.read_task_run(ids[0]).state.data.storage_key)
        show(client, ids, "2. after deleting the one result file both share:")
        ids = two_calls(digest_on)
        key = client.read_task_run(ids[0]).state.data.storage_key
        expire(key)
        print("3. caching on; record expired instead: store.exists(key) =",
              ResultStore().exists(os.path.basename(key)))
        show(client, ids, "   the finished task runs still read:")
        show(client, two_calls(digest_on)[:1], "4. a new flow run's equal call after expiry:")
