"""RabbitMQ through pika: "process X has work" messages, never the work itself.

The store is the source of truth; a message is only a hint that wakes a worker. Hence:
- durable queue, persistent messages and publisher confirms: a confirmed hint survives a
  broker restart (kill -9 included);
- manual acks and prefetch 1: a worker holds one hint at a time and acks it only after
  the checkpoint it led to is committed and what follows is announced;
- a lost, duplicated or stale hint is harmless: the worker claims the task row in the
  database under a lease and a version fence, drops a hint that finds nothing to do, and
  the daemon's sweeper announces again any task row left without a hint (L1).

URL: ``amqp://user:password@host:port/vhost?queue=NAME&queue_expires=MS`` (``queue`` is
ours and defaults to ``wfconform.tasks``; ``queue_expires``, also ours, declares the queue
with ``x-expires``: the broker deletes it once it has had no consumer for MS
milliseconds, which is how queues of a run killed on a shared vhost go away; every
other query argument is pika's).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from reference_engine.errors import BrokerUnavailableError

DEFAULT_QUEUE = "wfconform.tasks"
_PRECONDITION_FAILED = 406  # AMQP reply code: e.g. a redeclare with other arguments
BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)
log = logging.getLogger(__name__)


_OURS = ("queue", "queue_expires")
"""Query arguments the engine reads itself and does not pass on to pika."""


def split_url(url: str) -> tuple[str, str]:
    """(pika URL, queue name): take our arguments (``_OURS``) out of the query string."""
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(
            f"broker URL {redact(url)!r} has scheme {parts.scheme!r}; expected "
            "'amqp://user:password@host:port/vhost' (optionally '?queue=NAME&queue_expires=MS')"
        )
    query = parse_qsl(parts.query)
    queue = next((v for k, v in query if k == "queue"), DEFAULT_QUEUE)
    rest = urlencode([(k, v) for k, v in query if k not in _OURS])
    return urlunsplit(parts._replace(query=rest)), queue


def queue_arguments(url: str) -> dict[str, int]:
    """The queue's declare arguments the URL asks for: ``{"x-expires": MS}`` when it says
    ``queue_expires=MS``, else none. Every declare must pass the same arguments (RabbitMQ
    refuses a redeclare whose arguments differ), so all of them read them from here."""
    given = [v for k, v in parse_qsl(urlsplit(url).query) if k == "queue_expires"]
    if not given:
        return {}
    text = given[0]
    if len(given) > 1 or not (text.isascii() and text.isdigit()) \
            or not 1 <= int(text) <= MAX_EXPIRES_MS:
        raise ValueError(
            f"broker URL {redact(url)!r} has queue_expires={','.join(given)}; expected one "
            f"whole number of milliseconds from 1 to {MAX_EXPIRES_MS} (or leave it out: the "
            "queue stays)"
        )
    return {"x-expires": int(text)}


MAX_EXPIRES_MS = 2**32 - 1
"""The largest ``x-expires`` AMQP can carry here (pika refuses a larger int)."""


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Delivery:
    """One received hint. ``generation`` tells which connection its tag belongs to."""

    process_id: int
    tag: int
    redelivered: bool
    generation: int


class RabbitBroker:
    """One blocking AMQP connection used from one thread (pika is not thread-safe).

    ``name`` becomes the connection's ``connection_name`` client property, so an operator
    (or the harness's fault ``cut_connection``) can find and close one worker's connection.
    """

    def __init__(self, url: str, name: str = "wfconform") -> None:
        self.url = url
        self.pika_url, self.queue = split_url(url)
        self.queue_arguments = queue_arguments(url)
        try:  # refuse a malformed URL here, not later in some thread that publishes
            pika.URLParameters(self.pika_url)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"broker URL {redact(url)!r} is not valid ({exc}); expected "
                "'amqp://user:password@host:port/vhost' (optionally '?queue=NAME&queue_expires=MS')"
            ) from None
        self.name = name
        self.generation = 0
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._inbox: deque[Delivery] = deque()
        self._consuming = False

    # ----------------------------------------------------------------- connection
    @property
    def connected(self) -> bool:
        return (self._connection is not None and self._connection.is_open
                and self._channel is not None and self._channel.is_open)

    def connect(self) -> None:
        """(Re)open the connection and declare the durable queue; idempotent."""
        if self.connected:
            return
        self.close()
        params = pika.URLParameters(self.pika_url)
        params.client_properties = {"connection_name": self.name}
        params.connection_attempts = 1
        params.socket_timeout = 5
        params.blocked_connection_timeout = 30
        try:
            self._connection = pika.BlockingConnection(params)
            channel = self._connection.channel()
            channel.queue_declare(self.queue, durable=True,
                                  arguments=self.queue_arguments or None)
            channel.confirm_delivery()
            channel.basic_qos(prefetch_count=1)
        except pika.exceptions.ChannelClosedByBroker as exc:
            self.close()
            if exc.reply_code == _PRECONDITION_FAILED:  # not an outage: retrying cannot help
                raise ValueError(
                    f"queue {self.queue!r} of broker URL {redact(self.url)!r} exists with other "
                    f"arguments than this URL declares ({exc.reply_text}); delete the queue, "
                    "or give the queue_expires it was made with, or use another queue name"
                ) from None
            raise BrokerUnavailableError(redact(self.url), _reason(exc)) from None
        except BROKER_ERRORS as exc:
            self.close()
            raise BrokerUnavailableError(redact(self.url), _reason(exc)) from None
        self._channel = channel
        self.generation += 1
        self._consuming = False
        self._inbox.clear()  # tags of an old channel cannot be acked on the new one

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        self._consuming = False
        if connection is not None and connection.is_open:
            with contextlib.suppress(*BROKER_ERRORS):
                connection.close()

    # ----------------------------------------------------------------- publishing
    def publish(self, process_ids: list[int]) -> None:
        """Announce each id, persistent and confirmed; BrokerUnavailableError on failure."""
        self.connect()
        assert self._channel is not None
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent, content_type="application/json"
        )
        try:
            for pid in process_ids:
                self._channel.basic_publish(
                    "", self.queue, json.dumps({"process_id": pid}).encode(),
                    properties, mandatory=True,
                )
        except BROKER_ERRORS as exc:
            self.close()
            raise BrokerUnavailableError(redact(self.url), _reason(exc)) from None

    def depth(self) -> int:
        """Hints waiting in the queue (not counting those delivered and unacked)."""
        self.connect()
        assert self._channel is not None
        try:
            declared = self._channel.queue_declare(self.queue, durable=True, passive=True)
        except BROKER_ERRORS as exc:
            self.close()
            raise BrokerUnavailableError(redact(self.url), _reason(exc)) from None
        return int(declared.method.message_count)

    # ----------------------------------------------------------------- consuming
    def next(self, timeout: float) -> Delivery | None:
        """The next hint, waiting up to ``timeout`` seconds; None if none came."""
        self.connect()
        assert self._connection is not None and self._channel is not None
        try:
            if not self._consuming:
                self._channel.basic_consume(self.queue, self._on_message)
                self._consuming = True
            if not self._inbox:
                self._connection.process_data_events(time_limit=timeout)
        except BROKER_ERRORS as exc:
            self.close()
            raise BrokerUnavailableError(redact(self.url), _reason(exc)) from None
        return self._inbox.popleft() if self._inbox else None

    def _on_message(self, channel: BlockingChannel, method: object, properties: object,
                    body: bytes) -> None:
        tag = method.delivery_tag  # type: ignore[attr-defined]  # pika's Basic.Deliver
        try:
            pid = int(json.loads(body)["process_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("dropping a malformed message %r on queue %s", body[:80], self.queue)
            channel.basic_ack(tag)
            return
        redelivered = bool(method.redelivered)  # type: ignore[attr-defined]  # as above
        self._inbox.append(Delivery(pid, tag, redelivered, self.generation))

    def ack(self, delivery: Delivery) -> bool:
        """Acknowledge; False if its channel is gone (the broker then redelivers it)."""
        return self._settle(delivery, requeue=None)

    def requeue(self, delivery: Delivery) -> bool:
        """Give the hint back for another worker; False if its channel is gone."""
        return self._settle(delivery, requeue=True)

    def _settle(self, delivery: Delivery, requeue: bool | None) -> bool:
        if delivery.generation != self.generation or not self.connected:
            return False
        assert self._channel is not None
        try:
            if requeue is None:
                self._channel.basic_ack(delivery.tag)
            else:
                self._channel.basic_nack(delivery.tag, requeue=requeue)
        except BROKER_ERRORS:
            self.close()
            return False
        return True


class Announcer:
    """Publishes "has work" hints; keeps those it could not send and retries them.

    Used as ``Store.on_ready``: it must never raise into a transaction's caller, because
    the commit it reports has already happened. Hints still pending when the process
    dies are re-sent by the daemon's sweeper. Thread-safe (one lock around the broker),
    as an ``Engine`` may be shared by threads and pika's connection may not.
    """

    def __init__(self, broker: RabbitBroker) -> None:
        self.broker = broker
        self.pending: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, process_ids: list[int]) -> None:
        with self._lock:
            self.pending.extend(process_ids)
        self.flush()

    def flush(self) -> bool:
        """True when nothing is left to announce."""
        with self._lock:
            if not self.pending:
                return True
            try:
                self.broker.publish(list(dict.fromkeys(self.pending)))
            except BrokerUnavailableError as exc:
                log.warning("%d hint(s) not yet announced: %s", len(self.pending), exc)
                return False
            self.pending.clear()
            return True


def _reason(exc: BaseException) -> str:
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"
