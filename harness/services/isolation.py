"""One private database / vhost per test worker, so parallel workers never meet.

PostgreSQL: ``CREATE DATABASE`` and ``DROP DATABASE ... WITH (FORCE)`` (the force ends
sessions a killed test left behind). RabbitMQ: a vhost made with ``rabbitmqctl`` (when
the node is reachable by the CLI) or the management API (when its URL is given); if
neither is possible the worker shares the vhost and gets its own queue name instead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

from harness.services._proc import run
from harness.services.base import ServiceError

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(
            f"isolation name {name!r} is not a lowercase identifier of at most 63 "
            "characters; use letters, digits and underscores, starting with a letter"
        )
    return name


def with_database(url: str, database: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))


def with_vhost(url: str, vhost: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(vhost, "")))


def with_queue(url: str, queue: str, **arguments: str) -> str:
    """``url`` whose ``queue`` (and each of ``arguments``, e.g. ``queue_expires``) is set
    to the value given, replacing any it had; its other query arguments kept."""
    given = {"queue": queue, **arguments}
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k not in given]
    query.extend(given.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def redact(url: str) -> str:
    """The URL without its password, for error messages (they end up in CI logs)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    return urllib.parse.urlunsplit(
        parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


def _psycopg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


class PostgresDatabases:
    """Databases on one PostgreSQL server, made and dropped through its admin URL."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def _execute(self, sql: str) -> None:
        import psycopg  # the `real` extra; imported when a server is actually used

        try:
            with psycopg.connect(_psycopg_dsn(self.admin_url), autocommit=True,
                                 connect_timeout=10) as conn:
                conn.execute(sql)  # type: ignore[arg-type]  # names checked by check_name
        except psycopg.Error as exc:
            raise ServiceError(f"{sql!r} on {self.admin_url} failed: {exc}") from exc

    def create(self, name: str) -> str:
        self._execute(f'CREATE DATABASE "{check_name(name)}"')
        return with_database(self.admin_url, name)

    def names(self, prefix: str) -> list[str]:
        """The databases whose name starts with ``prefix``."""
        import psycopg

        try:
            with psycopg.connect(_psycopg_dsn(self.admin_url), autocommit=True,
                                 connect_timeout=10) as conn:
                rows = conn.execute("SELECT datname FROM pg_database WHERE "
                                    "starts_with(datname, %s)", (prefix,)).fetchall()
        except psycopg.Error as exc:
            raise ServiceError(f"listing databases on {self.admin_url} failed: {exc}") from exc
        return [row[0] for row in rows]

    def remove(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{check_name(name)}" WITH (FORCE)')


class CtlVhosts:
    """Vhosts made with ``rabbitmqctl -n NODE`` (local node, CLI cookie readable)."""

    def __init__(self, admin_url: str, ctl: Sequence[str]) -> None:
        self.admin_url = admin_url
        self.ctl = list(ctl)
        self.user = urllib.parse.unquote(urllib.parse.urlsplit(admin_url).username or "guest")

    def create(self, name: str) -> str:
        run([*self.ctl, "add_vhost", check_name(name)])
        run([*self.ctl, "set_permissions", "-p", name, self.user, ".*", ".*", ".*"])
        return with_vhost(self.admin_url, name)

    def names(self, prefix: str) -> list[str]:
        """The vhosts whose name starts with ``prefix``."""
        quiet = [] if "-q" in self.ctl else ["-q"]
        done = run([*self.ctl, *quiet, "list_vhosts", "name"])
        return [line.strip() for line in done.stdout.splitlines()
                if line.strip().startswith(prefix)]

    def remove(self, name: str) -> None:
        done = run([*self.ctl, "delete_vhost", check_name(name)], check=False)
        if done.returncode != 0 and "does not exist" not in done.stdout + done.stderr:
            raise ServiceError(f"rabbitmqctl delete_vhost {name} failed: {done.stderr[-400:]}")


class ManagementVhosts:
    """Vhosts made through the management HTTP API (``http://host:15672``)."""

    def __init__(self, admin_url: str, api_url: str) -> None:
        self.admin_url = admin_url
        self.api_url = api_url.rstrip("/")
        parts = urllib.parse.urlsplit(admin_url)
        self.user = urllib.parse.unquote(parts.username or "guest")
        password = urllib.parse.unquote(parts.password or "guest")
        self._auth = base64.b64encode(f"{self.user}:{password}".encode()).decode()

    def _call(self, method: str, path: str, body: object | None = None) -> bytes:
        request = urllib.request.Request(
            self.api_url + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Basic {self._auth}",
                     "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return bytes(response.read())
        except (urllib.error.URLError, OSError) as exc:
            if method == "DELETE" and getattr(exc, "code", None) == 404:
                return b""
            raise ServiceError(f"{method} {self.api_url}{path} failed: {exc}") from exc

    def names(self, prefix: str) -> list[str]:
        """The vhosts whose name starts with ``prefix`` (so the real tier's sweep reaches
        vhosts that killed runs left here too)."""
        data = self._call("GET", "/api/vhosts?columns=name")
        try:
            names = [entry["name"] for entry in json.loads(data)]
        except (ValueError, TypeError, KeyError) as exc:
            raise ServiceError(f"GET {self.api_url}/api/vhosts gave no list of vhosts: "
                               f"{data[:200]!r}") from exc
        return [name for name in names if isinstance(name, str) and name.startswith(prefix)]

    def create(self, name: str) -> str:
        vhost = urllib.parse.quote(check_name(name), "")
        self._call("PUT", f"/api/vhosts/{vhost}")
        self._call("PUT", f"/api/permissions/{vhost}/{urllib.parse.quote(self.user, '')}",
                   {"configure": ".*", "write": ".*", "read": ".*"})
        return with_vhost(self.admin_url, name)

    def remove(self, name: str) -> None:
        self._call("DELETE", f"/api/vhosts/{urllib.parse.quote(check_name(name), '')}")


class SharedVhostQueues:
    """No way to make vhosts: share the given vhost, isolate by queue name.

    Nothing can list a vhost's queues without the management API or ``rabbitmqctl`` (the
    reason this class is used), so a run killed by SIGKILL could not be swept like a
    vhost. Instead every queue made on these URLs expires (``queue_expires``, RabbitMQ's
    ``x-expires``): the broker deletes it ``EXPIRES_MS`` after its last consumer left.
    A normal end deletes each scenario's queue at once (``per_scenario_queues``)."""

    EXPIRES_MS = 600_000
    """Ten minutes without a consumer: far longer than any outage or worker restart of a
    scenario (a queue that expires mid-run would lose hints, which only delays it: the
    daemon's sweeper announces again), short enough that leftovers do not pile up."""

    per_scenario_queues = True
    """The real tier deletes a scenario's queue when the scenario ends (``remove``): with
    a vhost per run they went with the vhost."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def create(self, name: str) -> str:
        return with_queue(self.admin_url, check_name(name), queue_expires=str(self.EXPIRES_MS))

    def remove(self, name: str) -> None:
        import pika

        try:
            connection = pika.BlockingConnection(pika.URLParameters(self.admin_url))
        except pika.exceptions.AMQPError as exc:
            raise ServiceError(f"cannot reach {redact(self.admin_url)} to delete queue {name}: "
                               f"{exc!r}") from exc
        try:
            connection.channel().queue_delete(check_name(name))
        except pika.exceptions.AMQPError as exc:
            raise ServiceError(f"deleting queue {name} on {redact(self.admin_url)} failed: "
                               f"{exc!r}") from exc
        finally:
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.close()
