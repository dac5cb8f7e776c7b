"""K3 probe, plain Prefect: is a result persisted by a task run that never finished (its
process was SIGKILLed right after the result record was written, before its final state
reached the server) served as a cache hit to a later flow run?

One ephemeral server (``SubprocessASGIServer``, what Prefect starts when no
``PREFECT_API_URL`` is set), two flow-run processes of the same file, one after the other:

1. ``kill``: a flow run calls ``echo.submit(x)`` (``INPUTS + TASK_SOURCE``, persisted);
   ``ResultStore.persist_result_record`` is wrapped so that the process SIGKILLs itself
   right after the record is written (the window deviation 7 leaves open). Prefect sends
   the final state as an event *before* it writes the record, so whether that event left
   the process first is a race; ``kill-unsent`` also holds the final state's event back
   (``emit_task_run_state_change_event``), as when the kill wins the race;
2. ``again``: a new flow run makes the same call.

Each body appends a line to ``bodies.txt`` beside the results and sleeps 3 s (so that
the task run's ``Running`` event reaches the server before the kill). Run with ``PREFECT_HOME``
and ``PREFECT_LOCAL_STORAGE_PATH`` in a scratch folder and no ``PREFECT_API_URL``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from prefect import flow, task
from prefect.cache_policies import INPUTS, TASK_SOURCE

STORAGE = os.environ.get("PREFECT_LOCAL_STORAGE_PATH", ".")


@task(cache_policy=INPUTS + TASK_SOURCE, persist_result=True, task_run_name="echo-{x}")
def echo(x: int) -> dict[str, int]:
    with open(os.path.join(STORAGE, "bodies.txt"), "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()} echo({x})\n")
    time.sleep(3)  # time for the Running state's event to reach the server
    return {"x": x}


@flow
def once(x: int) -> Any:
    future = echo.submit(x)
    state = future.wait() or future.state
    return state


def child(mode: str, x: int) -> None:
    if mode == "kill-unsent":
        import prefect.task_engine as engine

        emit = engine.emit_task_run_state_change_event

        def hold_final(**kwargs: Any) -> Any:
            if kwargs["validated_state"].is_final():
                return kwargs.get("follows")  # never sent: the kill comes first
            return emit(**kwargs)

        engine.emit_task_run_state_change_event = hold_final
    if mode.startswith("kill"):
        from prefect.results import ResultStore

        original = ResultStore.persist_result_record

        def persist_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
            done = original(self, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)  # written; the final state may not be sent
            return done

        ResultStore.persist_result_record = persist_then_die  # type: ignore[method-assign]
    state = once(x, return_state=True)
    task_state = state.result()
    print(f"  child {mode}: echo task run {task_state.name}, result {task_state.result()}")


def show(client: Any, title: str, x: int) -> None:
    from prefect.client.schemas.sorting import TaskRunSort

    print(title)
    for run in reversed(client.read_task_runs(sort=TaskRunSort.ID_DESC)):
        if run.name != f"echo-{x}":
            continue
        data = run.state.data if run.state else None
        key = getattr(data, "storage_key", None) or (data or {}).get("storage_key") \
            if isinstance(data, dict) or data is not None else None
        flow_run = client.read_flow_run(run.flow_run_id)
        print(f"  task run {str(run.id)[:8]} {run.state.type.value} ({run.state.name}) "
              f"stored key {os.path.basename(str(key)) if key else None} "
              f"of flow run {str(run.flow_run_id)[:8]} ({flow_run.state.name})")


def main() -> None:
    from prefect.client.orchestration import get_client
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = SubprocessASGIServer()
    server.start(timeout=120)
    env = {**os.environ, "PREFECT_API_URL": server.api_url}
    with temporary_settings({PREFECT_API_URL: server.api_url}), \
            get_client(sync_client=True) as client:
        for mode, x in (("kill", 7), ("kill-unsent", 8)):
            done = subprocess.run([sys.executable, __file__, mode, str(x)], env=env,
                                  check=False)
            print(f"{mode} (x={x}): flow-run process 1 ended with {done.returncode} "
                  "(-9: SIGKILL)")
            time.sleep(5)  # let the server take whatever events arrived
            files = sorted(f for f in os.listdir(STORAGE) if f != "bodies.txt")
            print(f"   result records on disk: {[f[:12] for f in files]}")
            show(client, "   the server's view 5 s later:", x)
            subprocess.run([sys.executable, __file__, "again", str(x)], env=env, check=True)
            time.sleep(2)
            show(client, "   after a new flow run's equal call:", x)
            with open(os.path.join(STORAGE, "bodies.txt"), encoding="utf-8") as handle:
                bodies = [b for b in handle.read().splitlines() if b.endswith(f"({x})")]
            print(f"   bodies run for x={x}: {len(bodies)} ({bodies})")
    server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child(sys.argv[1], int(sys.argv[2]))
    else:
        main()
