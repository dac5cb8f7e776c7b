"""The body protocol for a `core.arithmetic.add` job, run by the job's own shell.

`python -m harness.adapters.aiida.jobbody`, from the code's prepend text, in the
job's working directory on the computer. The job cannot know its effect key (its inputs
and options are hashed, so nothing scenario-specific may be put there), but its working
directory is named after its node's UUID, and the WorkChain that submitted the job wrote
`UUID -> key` to `aiida_jobs.jsonl` in the session folder before the job could start.
The journal entry is written before the job's `echo $((x + y))` runs: the effect is
"the job ran on the computer"; its arithmetic cannot fail.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from harness.bodies import BodyRuntime
from harness.journal import read_records

__all__ = ["JOBS_FILE", "job_uuid", "main"]

JOBS_FILE = "aiida_jobs.jsonl"
LOOKUP_SECONDS = 10.0


def job_uuid(workdir: str) -> str:
    """The node UUID behind AiiDA's remote working directory `.../ab/cd/ef01-...`."""
    parts = Path(workdir).parts[-3:]
    uuid = "".join(parts)
    if len(uuid) != 36:
        raise ValueError(f"working directory {workdir!r}: expected AiiDA's "
                         "<scratch>/<uuid[:2]>/<uuid[2:4]>/<uuid[4:]> layout")
    return uuid


def main() -> int:
    runtime = BodyRuntime.current()
    uuid = job_uuid(os.getcwd())
    deadline = time.monotonic() + LOOKUP_SECONDS
    while True:
        for record in read_records(runtime.session.workdir / JOBS_FILE):
            if record["uuid"] == uuid:
                runtime.run(key=record["key"], target=record["target"],
                            process=record["process"], step=None, engine_attempt=None,
                            compute=lambda: None)
                return 0
        if time.monotonic() > deadline:
            print(f"job {uuid}: no entry in {JOBS_FILE} after {LOOKUP_SECONDS} s; the "
                  "submitting WorkChain writes it right after submit", file=sys.stderr)
            return 1
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
