"""A throwaway RabbitMQ node started from the local ``rabbitmq-server``, beside any other.

Isolation from the machine's own node: its own node name, AMQP and distribution ports,
and every file (mnesia, logs, pid, config, feature flags) inside one folder. Debian's
scripts run the node as the ``rabbitmq`` user, so the folder belongs to that user. The
node's processes (the shell wrapper, su, beam.smp, erl_child_setup and its shells) span
several sessions, so each carries a marker in its environment and ``kill`` SIGKILLs every
marked process at once. The first node on a machine also starts ``epmd``
(a daemon outside the group): if we caused that, ``destroy`` ends it too.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.services._proc import (
    MARKER_ENV,
    chown_tree,
    find_binary,
    free_port,
    kill_marked,
    marked,
    port_open,
    run,
    user_exists,
    wait_until,
)
from harness.services.base import ServiceError
from harness.services.reaper import Reaper

EPMD_PORT = 4369
RABBIT_GLOBS = ("/usr/lib/rabbitmq/bin",)


def rabbitmq_unavailable() -> str | None:
    """Why a throwaway node cannot be started here, or None."""
    for name in ("rabbitmq-server", "rabbitmqctl"):
        if find_binary(name, RABBIT_GLOBS) is None:
            return f"{name} not found on PATH"
    if os.getuid() == 0 and not user_exists("rabbitmq"):
        return "running as root but there is no 'rabbitmq' user to run the node"
    return None


class LocalRabbitMQ:
    """One throwaway node: ``start``, ``stop``, ``kill``, ``start`` again, ``destroy``."""

    def __init__(self, reaper: Reaper, name: str | None = None, base: Path | None = None,
                 consumer_timeout_ms: int | None = None, management: bool = False) -> None:
        """``management``: also serve the management HTTP API, on a free port of
        127.0.0.1 (``management_url``); it adds about two seconds to every start."""
        reason = rabbitmq_unavailable()
        if reason is not None:
            raise ServiceError(f"cannot start a throwaway RabbitMQ: {reason}")
        self.name = name or f"wfconform{secrets.token_hex(3)}"
        self.node = f"{self.name}@localhost"
        self.reaper = reaper
        self.server = find_binary("rabbitmq-server", RABBIT_GLOBS) or "rabbitmq-server"
        self.ctl = [find_binary("rabbitmqctl", RABBIT_GLOBS) or "rabbitmqctl", "-n", self.node]
        self.folder = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=base))
        self.folder.chmod(0o755)
        self.port = free_port()
        self.dist_port = free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"
        self.pid_file = self.folder / "node.pid"
        self.marker = f"rabbitmq-{self.name}-{secrets.token_hex(4)}"
        self.management_port = free_port() if management else None
        self.management_url = (None if self.management_port is None
                               else f"http://127.0.0.1:{self.management_port}")
        self._write_config(consumer_timeout_ms)
        self._proc: subprocess.Popen[bytes] | None = None
        self._epmd_was_running = port_open(EPMD_PORT)
        self.reaper.add(self.node, directory=self.folder)

    def _write_config(self, consumer_timeout_ms: int | None) -> None:
        plugins = "rabbitmq_management" if self.management_port is not None else ""
        (self.folder / "enabled_plugins").write_text(f"[{plugins}].")
        conf = ["loopback_users = none", "log.console = false"]
        if self.management_port is not None:
            conf += [f"management.tcp.port = {self.management_port}",
                     "management.tcp.ip = 127.0.0.1"]
        if consumer_timeout_ms is not None:
            conf.append(f"consumer_timeout = {consumer_timeout_ms}")
        (self.folder / "rabbitmq.conf").write_text("\n".join(conf) + "\n")
        # The consumer-timeout check runs on the channel's tick (60 s by default).
        tick = 500 if consumer_timeout_ms is not None else 60000
        (self.folder / "advanced.config").write_text(
            f"[{{rabbit, [{{channel_tick_interval, {tick}}}]}}]."
        )
        chown_tree(self.folder, "rabbitmq")

    def _env(self) -> dict[str, str]:
        d = self.folder
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(d / "feature_flags"),
            "RABBITMQ_QUORUM_DIR": str(d / "quorum"),
            MARKER_ENV: self.marker,
        }

    def start(self) -> None:
        if self.is_running():
            return
        self.pid_file.unlink(missing_ok=True)  # a stale one would fool `rabbitmqctl wait`
        # A fresh distribution port each time: after a kill -9 the old one sits in
        # TIME_WAIT for a minute and the node refuses it (dist_port_already_used). The
        # CLI finds the node through epmd; clients only need the AMQP port, which stays.
        self.dist_port = free_port()
        with open(self.folder / "console.log", "ab") as out:
            self._proc = subprocess.Popen(
                [self.server], env=self._env(), stdout=out, stderr=out,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.folder,
            )
        self.reaper.add(self.node, marker=self.marker, directory=self.folder)
        try:
            wait_until(self.pid_file.exists, 60, f"pid file of RabbitMQ node {self.node}")
            run([*self.ctl, "wait", str(self.pid_file), "--timeout", "60"], timeout=90)
        except ServiceError as exc:
            raise ServiceError(f"{exc}; see {self.folder / 'log'}") from exc

    def is_running(self) -> bool:
        return bool(marked(self.marker))

    def stop(self) -> None:
        if not self.is_running():
            return
        run([*self.ctl, "stop"], timeout=60, check=False)
        self._finish()

    def _finish(self) -> None:
        kill_marked(self.marker)  # after a clean stop: whatever is left (wrapper shells)
        if self._proc is not None:
            self._proc.wait(10)
        self.reaper.forget_processes(self.node)

    def kill(self) -> None:
        if self._proc is None:
            return
        self._finish()
        # epmd drops the name only when it notices the closed socket; a start before
        # that fails with duplicate_node_name.
        wait_until(lambda: not self._registered(), 15, f"epmd forgetting {self.node}")

    def _registered(self) -> bool:
        epmd = shutil.which("epmd") or find_binary("epmd", ("/usr/lib/erlang/erts-*/bin",))
        if epmd is None:
            return False
        names = run([epmd, "-names"], check=False).stdout
        return f"name {self.name} at" in names

    def restart(self, kill: bool = False) -> None:
        self.kill() if kill else self.stop()
        self.start()

    def set_consumer_timeout(self, milliseconds: int | None) -> None:
        """Configure the delivery-ack timeout (None: the default); applies at next start.

        Why at start: the check runs on each channel's tick, whose interval the node reads
        from its configuration when it boots; changing it at run time has no effect.
        """
        self._write_config(milliseconds)

    def rabbitmqctl(self, *args: str, timeout: float = 60) -> str:
        return run([*self.ctl, *args], timeout=timeout).stdout

    def destroy(self) -> None:
        try:
            self.kill()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.reaper.forget(self.node)
            if not self._epmd_was_running:
                stop_epmd_if_idle()


def stop_epmd_if_idle() -> None:
    """End the epmd our node started, unless another node still uses it."""
    epmd = shutil.which("epmd") or find_binary("epmd", ("/usr/lib/erlang/erts-*/bin",))
    if epmd is None or not port_open(EPMD_PORT):
        return
    names = run([epmd, "-names"], check=False).stdout
    if "name " not in names:
        run([epmd, "-kill"], check=False)
