"""A worker prelude that leaves an atexit handler and unflushed output behind.

Used by test_worker_exit.py: a worker that stops skips the interpreter's teardown
(`exit_promptly`), and these must still happen.
"""

import atexit
import os

MARKS_ENV_VAR = "WFCONFORM_TEST_ATEXIT_MARKS"


def _mark() -> None:
    with open(os.environ[MARKS_ENV_VAR], "a") as marks:
        marks.write(f"atexit {os.getpid()}\n")


atexit.register(_mark)
print(f"unflushed line from {os.getpid()}", end="\n")  # stdout to a file: block-buffered
