"""A warm worker (``runtime.warm``): import a worker module, then wait for the assignment.

``python -m reference_engine.runtime.warm_worker MODULE``: MODULE is the worker module to
become (its imports are what a cold worker pays at start). The assignment is one JSON
line on stdin: the worker's arguments and its whole environment. EOF instead (the pool
closed, or its owner died): exit quietly.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

from reference_engine.runtime.worker import exit_promptly


def main() -> int:
    module = importlib.import_module(sys.argv[1])  # the imports a cold worker pays at start
    warm_up = getattr(module, "warm_up", None)  # and those it pays on first use, if it says
    if warm_up is not None:
        warm_up()
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return 0
    job = json.loads(line)
    devnull = os.open(os.devnull, os.O_RDONLY)  # as a cold worker: nothing to read
    os.dup2(devnull, 0)
    os.close(devnull)
    os.environ.clear()
    os.environ.update(job["env"])
    for path in reversed(job["env"].get("PYTHONPATH", "").split(os.pathsep)):
        if path and path not in sys.path:
            sys.path.insert(0, path)
    return int(module.main(job["argv"]))


if __name__ == "__main__":
    exit_promptly(main())
