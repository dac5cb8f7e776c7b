"""The Celery application of one run, built the same way by the adapter and its workers.

Settings that make Celery keep what it can of the clauses: ``task_acks_late`` (a message
is acknowledged after its task returned, so a task whose worker died is delivered again),
``task_reject_on_worker_lost`` (a prefork child killed mid-task requeues its message
instead of failing it), ``worker_prefetch_multiplier=1`` (a worker holds one message at a
time), ``worker_deduplicate_successful_tasks`` where the tier asks for it (a redelivered
message whose task the backend already holds as SUCCESS is not run again),
``result_extended`` (the backend keeps the task name and worker) and
``task_track_started`` (a running task is visible as STARTED). The result backend is
SQLAlchemy on SQLite in the run's folder (or the URL given); the broker is RabbitMQ, with
a queue and control exchange named for this run so runs never meet on a shared server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from celery import Celery

__all__ = ["CONFIG_FILE", "make_app", "read_config", "write_config"]

CONFIG_FILE = "celery.json"


def write_config(workdir: Path, config: dict[str, Any]) -> Path:
    path = workdir / CONFIG_FILE
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def read_config(workdir: Path) -> dict[str, Any]:
    return dict(json.loads((workdir / CONFIG_FILE).read_text(encoding="utf-8")))


def make_app(config: dict[str, Any]) -> Celery:
    """The run's Celery app (tasks are registered by ``harness.adapters.celery.tasks``)."""
    app = Celery("wfconform", broker=config["broker"], backend=config["backend"],
                 set_as_current=False)
    queue = config["queue"]
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        worker_deduplicate_successful_tasks=bool(config.get("deduplicate", False)),
        result_extended=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        task_default_exchange=queue,
        task_default_routing_key=queue,
        control_exchange=config["exchange"],
        event_exchange=config["exchange"] + "_ev",
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_chord_retry_interval=float(config.get("chord_interval", 0.1)),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        result_backend_always_retry=True,
        result_backend_max_retries=20,
        database_engine_options={"connect_args": {"timeout": 30}}
        if config["backend"].startswith("db+sqlite") else {},
        database_short_lived_sessions=True,
    )
    return app
