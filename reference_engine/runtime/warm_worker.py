"""A warm worker (``runtime.warm``): import everything, then wait for the assignment.

The assignment is one JSON line on stdin: the worker's arguments and its whole
environment. EOF instead (the pool closed, or its owner died): exit quietly.
"""

from __future__ import annotations

import json
import os
import sys

from reference_engine.runtime import worker  # the imports a cold worker pays at start


def main() -> int:
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
    return worker.main(job["argv"])


if __name__ == "__main__":
    worker.exit_promptly(main())
