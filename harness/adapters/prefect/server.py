"""One local Prefect server and one Runner (served deployment) per harness process.

Why shared: the server takes about 7 s to answer and the Runner a few more, against
about 1 s per flow run; scenarios are kept apart by a namespace instead (a tag on every
run, and in every calculation's task identity; see ``flows``). Both are started on first
use, with all state in a temporary folder (``PREFECT_HOME``, the SQLite database, the
result files), analytics and UI off, nothing reaching the network; ``close_shared()``
(also at exit) stops them and removes the folder.

The Runner is ``python -m harness.adapters.prefect.serve``: it serves the deployment of
``flows.scenario_flow`` and starts one child process per flow run, which is the
"worker" the nemesis kills.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

__all__ = ["DEPLOYMENT", "LocalPrefect", "close_shared", "shared"]

DEPLOYMENT = "wfconform"
_STARTUP = 240.0
_SHARED: LocalPrefect | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalPrefect:
    """A throwaway Prefect server and Runner; ``client`` talks to the server."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="wfconform-prefect-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.server: subprocess.Popen[bytes] | None = None
        self.runner: subprocess.Popen[bytes] | None = None
        self.client: Any = None
        self.deployment_id: str | None = None
        self.started_in = 0.0

    @property
    def storage(self) -> str:
        """Where flow-run processes persist results (file name = cache key)."""
        return str(self.root / "storage")

    def env(self) -> dict[str, str]:
        """Settings for every Prefect process of the run (server, Runner, flow runs)."""
        home = self.root / "home"
        here = str(Path(__file__).resolve().parents[3])
        path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
        return {"PREFECT_HOME": str(home), "PREFECT_API_URL": self.url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_SERVER_UI_ENABLED": "false",
                "PREFECT_LOCAL_STORAGE_PATH": self.storage,
                "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
                "PREFECT_RUNNER_POLL_FREQUENCY": "1",
                "PREFECT_LOGGING_LEVEL": "WARNING",
                "PREFECT_LOGGING_TO_API_ENABLED": "false",
                "PYTHONPATH": path}

    def open(self) -> LocalPrefect:
        started = time.monotonic()
        env = {**os.environ, **self.env()}
        for name, value in self.env().items():  # this process reads results and the API
            if name.startswith("PREFECT_"):
                os.environ[name] = value
        log = open(self.root / "server.log", "wb")  # noqa: SIM115 - the child keeps it
        self.server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(self.port)], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self._wait_healthy()
        from prefect.client.orchestration import SyncPrefectClient

        self.client = SyncPrefectClient(self.url)
        self.client.__enter__()
        runner_log = open(self.root / "runner.log", "wb")  # noqa: SIM115
        self.runner = subprocess.Popen(
            [sys.executable, "-m", "harness.adapters.prefect.serve"], env=env,
            stdout=runner_log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_deployment()
        self.started_in = time.monotonic() - started
        return self

    def _wait_healthy(self) -> None:
        import httpx

        deadline = time.monotonic() + _STARTUP
        while time.monotonic() < deadline:
            if self.server is not None and self.server.poll() is not None:
                raise HarnessError(f"the Prefect server exited: {self._tail('server.log')}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise HarnessError(f"the Prefect server did not answer within {_STARTUP} s")

    def _wait_deployment(self) -> None:
        from harness.adapters.prefect.flows import FLOW_NAME

        deadline = time.monotonic() + _STARTUP
        while time.monotonic() < deadline:
            if self.runner is not None and self.runner.poll() is not None:
                raise HarnessError(f"the Prefect Runner exited: {self._tail('runner.log')}")
            try:
                deployment = self.client.read_deployment_by_name(f"{FLOW_NAME}/{DEPLOYMENT}")
                self.deployment_id = str(deployment.id)
                time.sleep(0.5)  # the Runner polls right after registering
                return
            except Exception:  # ObjectNotFound until the Runner registered it
                time.sleep(0.2)
        raise HarnessError(f"the Prefect Runner did not serve its deployment within {_STARTUP} s")

    def _tail(self, name: str) -> str:
        try:
            return (self.root / name).read_text(errors="replace")[-800:]
        except OSError:
            return "(no log)"

    def flow_run_pids(self) -> list[int]:
        """The Runner's child processes: one per flow run in progress."""
        if self.runner is None:
            return []
        return _children(self.runner.pid)

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.__exit__(None, None, None)
            self.client = None
        for proc in (self.runner, self.server):
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        self.runner = self.server = None
        shutil.rmtree(self.root, ignore_errors=True)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        found += [int(child) for child in text.split()]
    return found


def shared() -> LocalPrefect:
    """The server and Runner of this harness process, started on first use."""
    global _SHARED
    if _SHARED is None or _SHARED.server is None or _SHARED.server.poll() is not None \
            or _SHARED.runner is None or _SHARED.runner.poll() is not None:
        close_shared()
        instance = LocalPrefect()
        try:
            _SHARED = instance.open()
        except BaseException:
            instance.close()
            raise
    return _SHARED


def close_shared() -> None:
    """Stop this process's server and Runner and remove their folder (also at exit)."""
    global _SHARED
    instance, _SHARED = _SHARED, None
    if instance is not None:
        instance.close()


atexit.register(close_shared)
