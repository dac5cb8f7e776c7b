"""What ``run`` and ``fuzz`` share with pytest: ``-v``/``-q``, ``-x``/``--maxfail``,
``--junitxml``; and keeping third-party log lines off the user's terminal.

Why in one module: the commands stay about running and judging, and the options mean
what a pytest user expects wherever they appear (``-q`` quiet, ``-v`` detail, ``-x``
stop at the first failure, ``--junitxml PATH`` in the same run, no second ``report``
step). Verbosity is one integer, pytest's: ``-v`` adds one, ``-q`` takes one away.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["add_output_options", "hypothesis_home", "junit_results", "quiet_third_party_logs",
           "verbosity", "write_junit"]

NOISY_LOGGERS = ("reference_engine", "pika", "aio_pika", "aiormq", "kiwipy", "plumpy",
                 "aiida", "urllib3", "docker", "testcontainers", "psycopg", "sqlalchemy",
                 "asyncio")
"""Libraries that log through ``logging`` (pika logs every dropped connection, which a
broker-restart fault causes on purpose; the engine under test logs the hints it could
not announce then): not the user's business unless ``-vv``."""


def add_output_options(parser: argparse.ArgumentParser, stop: bool = True,
                       junit: bool = True) -> None:
    """``-v``/``-q``, and with ``stop`` ``-x``/``--maxfail``, with ``junit`` ``--junitxml``."""
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more detail: one line per scenario and each distinct error's "
                             "traceback (else in errors.txt); -vv also shows library logs")
    parser.add_argument("-q", "--quiet", action="count", default=0,
                        help="less output: no progress line and no matrix, only failures and "
                             "the summary")
    if stop:
        parser.add_argument("-x", "--exitfirst", action="store_const", const=1, default=0,
                            dest="maxfail", help="stop at the first failure (--maxfail 1)")
        parser.add_argument("--maxfail", type=int, default=0, metavar="N",
                            help="stop after N failures (default: never)")
    if junit:
        parser.add_argument("--junitxml", default=None, metavar="PATH",
                            help="also write a JUnit XML report to PATH (what `wfconform "
                                 "report` writes as junit.xml)")


def verbosity(args: argparse.Namespace) -> int:
    """pytest's: 0 by default, +1 per ``-v``, -1 per ``-q``."""
    return int(getattr(args, "verbose", 0) or 0) - int(getattr(args, "quiet", 0) or 0)


def quiet_third_party_logs(level: int) -> Callable[[], None]:
    """Library log records go nowhere unless ``-vv``; then to stderr, with their names.

    Without a handler, ``logging`` prints WARNING records through its last-resort
    handler: a broker restart (a fault we cause) would print pika's complaints. Levels
    alone are not enough: AiiDA reconfigures its loggers (``dictConfig``) each time it
    opens a profile's storage, and printed a daemon warning per scenario; the harness
    itself never logs (it prints), so below ``-vv`` logging is disabled outright.
    Returns what undoes that, for callers in a longer-lived process (``main``)."""
    if level >= 2:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s %(message)s")
        return lambda: None
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False
    before = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    return lambda: logging.disable(before)


def hypothesis_home() -> Path | None:
    """Point Hypothesis's storage (its cache of the constants in the source it scans, its
    example database) at ``$XDG_CACHE_HOME/wfconform/hypothesis`` (``~/.cache/...``),
    unless ``HYPOTHESIS_STORAGE_DIRECTORY`` chooses: the CLI must not leave a
    ``.hypothesis/`` folder in the user's current directory. The folder, or None."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return None
    from hypothesis.configuration import set_hypothesis_home_dir

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    home = Path(base) / "wfconform" / "hypothesis"
    set_hypothesis_home_dir(home)
    return home


@contextlib.contextmanager
def junit_results(out: str | None, junitxml: str | None) -> Iterator[str | None]:
    """The results directory to write: ``out`` if given, else a temporary one when only
    ``--junitxml`` needs it (removed afterwards), else None."""
    if out or not junitxml:
        yield out
        return
    with tempfile.TemporaryDirectory(prefix="wfconform-results-") as tmp:
        yield tmp


def write_junit(results: str, path: str) -> Path:
    """``junit.xml`` of results directory ``results``, written to ``path``."""
    from harness.reports import load_report, render_junit

    target = Path(path)
    if target.parent != Path():
        target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_junit(load_report(Path(results))), encoding="utf-8")
    return target
