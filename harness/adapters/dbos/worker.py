"""A DBOS worker process: ``python -m harness.adapters.dbos.worker CONFIG EXECUTOR VERSION``.

What a DBOS deployment runs: one process of the application, configured with the run's
system database, a pinned ``executor_id`` and ``application_version``, that calls
``DBOS.launch()`` (which recovers this executor's PENDING workflows of this version) and
then serves the run's queue until it is killed. The body runtime finds the run's files
through ``$WFCONFORM_SESSION``. The adapter restarts a killed worker with the same
executor id (and, on the ``version-change`` tier, another application version).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m harness.adapters.dbos.worker CONFIG EXECUTOR VERSION",
              file=sys.stderr)
        return 2
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    from dbos import DBOS

    DBOS(config={"name": config["name"], "system_database_url": config["url"],
                 "executor_id": argv[1], "application_version": argv[2],
                 "run_admin_server": False, "log_level": "WARNING",
                 "run_migrations": False})  # the adapter migrated the database
    from harness.adapters.dbos import workflows

    DBOS.launch()
    workflows.find_queue()  # registered by the adapter, in the database
    logging.getLogger("dbos").info("worker %s (version %s) serving", argv[1], argv[2])
    print("ready", flush=True)
    threading.Event().wait()  # serve until killed
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
