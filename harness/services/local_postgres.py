"""A throwaway PostgreSQL cluster started from the local binaries (initdb, pg_ctl).

PostgreSQL refuses to run as root, so when we are root the cluster belongs to the
``postgres`` user and every command runs through ``runuser``. The data directory, the
socket and the log live in one folder that ``destroy`` deletes. The postmaster leads its
own process group (pg_ctl starts it with setsid); ``kill`` SIGKILLs that whole group,
because a postmaster killed alone leaves backends that keep the port and the shared
memory, and the next start then fails with "another server might be running". Every
process of the cluster carries a marker in its environment, found again by ``kill``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from harness.services._proc import (
    MARKER_ENV,
    as_user,
    chown_tree,
    find_binary,
    free_port,
    kill_marked,
    marked,
    run,
    user_exists,
)
from harness.services.base import ServiceError
from harness.services.reaper import Reaper

PG_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin",
            "/opt/homebrew/opt/postgresql*/bin")
OWNER = "postgres"


def postgres_unavailable() -> str | None:
    """Why a throwaway cluster cannot be started here, or None."""
    for name in ("initdb", "pg_ctl"):
        if find_binary(name, PG_GLOBS) is None:
            return f"{name} not found on PATH or in /usr/lib/postgresql/*/bin"
    if os.getuid() == 0 and not user_exists(OWNER):
        return "running as root but there is no 'postgres' user to own the cluster"
    if os.getuid() == 0 and shutil.which("runuser") is None:
        return "running as root but runuser (util-linux) is missing"
    return None


class LocalPostgres:
    """One throwaway cluster: ``start``, ``stop``, ``kill``, ``start`` again, ``destroy``."""

    def __init__(self, reaper: Reaper, name: str = "wfconform-pg",
                 base: Path | None = None) -> None:
        reason = postgres_unavailable()
        if reason is not None:
            raise ServiceError(f"cannot start a throwaway PostgreSQL: {reason}")
        self.name = name
        self.reaper = reaper
        self.initdb = find_binary("initdb", PG_GLOBS) or "initdb"
        self.pg_ctl = find_binary("pg_ctl", PG_GLOBS) or "pg_ctl"
        self.folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
        self.folder.chmod(0o755)  # the postgres user must reach its data dir
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._user = OWNER if os.getuid() == 0 else None
        self.marker = f"postgres-{self.folder.name}"
        self.reaper.add(self.name, directory=self.folder)
        self._initialised = False

    def _cmd(self, *argv: str) -> list[str]:
        return as_user(OWNER, argv) if self._user else list(argv)

    def start(self) -> None:
        if not self._initialised:
            self.data.mkdir()
            self.log.touch()
            if self._user:
                chown_tree(self.folder, OWNER)
                if run(as_user(OWNER, ["test", "-w", str(self.data)]), check=False).returncode:
                    raise ServiceError(
                        f"the postgres user cannot reach {self.data}: a parent folder is "
                        "not searchable by others (e.g. pytest's 0700 tmp_path); pass a "
                        "base folder under /tmp"
                    )
            run(self._cmd(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8"), timeout=120)
            self._initialised = True
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=on -c max_connections=100")
        deadline = time.monotonic() + 30
        while True:  # after a kill -9, the first start can race the old shared memory
            done = run(self._cmd(self.pg_ctl, "-D", str(self.data), "-o", options, "-l",
                                 str(self.log), "-w", "-t", "30", "start"),
                       timeout=60, check=False, env={**os.environ, MARKER_ENV: self.marker})
            if done.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"pg_ctl start of {self.name} on port {self.port} failed: "
                    f"{done.stderr.strip()[-400:]}; log tail: {self._log_tail()}"
                )
            time.sleep(0.2)
        self.reaper.add(self.name, marker=self.marker, directory=self.folder)

    def is_running(self) -> bool:
        return bool(marked(self.marker))

    def stop(self) -> None:
        if not self.is_running():
            return
        run(self._cmd(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"),
            timeout=60, check=False)
        self.kill()  # whatever did not stop

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend together (a crash, not a stop)."""
        kill_marked(self.marker)
        self.reaper.forget_processes(self.name)

    def restart(self, kill: bool = False) -> None:
        self.kill() if kill else self.stop()
        self.start()

    def destroy(self) -> None:
        try:
            if self._initialised:
                self.kill()  # nothing to keep: the fastest way down
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.reaper.forget(self.name)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text()[-400:]
        except OSError:
            return "(no log)"
