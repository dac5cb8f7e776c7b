"""Poison processes for the robustness tests (issue 12); importable by worker processes.

Each body appends one line per execution to the effect log (``workflows.record``), so a
test can count how often a poison body ran: once, never a crash loop.
"""

from __future__ import annotations

import os
import signal
import time

from reference_engine import WorkChain, calculation
from tests.engine.workflows import echo, record

__all__ = ["BadChildKey", "BadChildLabel", "SurrogateOut", "dies_every_time", "echo",
           "nested", "surrogate_result"]


def nested(depth: int) -> object:
    """A list nested ``depth`` deep, built without recursion."""
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


@calculation
def surrogate_result(value: object) -> dict[str, object]:
    record("calc", "surrogate_result", time.monotonic())
    return {"x": "\ud800"}


@calculation
def dies_every_time(value: object) -> dict[str, object]:
    """A body that kills its worker (as a segfault would): only the claim limit ends it."""
    record("calc", "dies_every_time", time.monotonic())
    os.kill(os.getpid(), signal.SIGKILL)
    return {}


class SurrogateOut(WorkChain):
    outline = ("only",)

    def only(self) -> None:
        record("step", "only", time.monotonic())
        self.out("x", "\udcff")


class BadChildKey(WorkChain):
    outline = ("launch_it",)

    def launch_it(self) -> None:
        record("step", "launch_it", time.monotonic())
        self.launch(echo, key="k" * 201, value=1)


class BadChildLabel(WorkChain):
    outline = ("launch_it",)

    def launch_it(self) -> None:
        record("step", "launch_it", time.monotonic())
        self.launch(echo, key="child", label="a\x00b", value=1)


class ImportsPoison(WorkChain):
    """Launches a child whose module fails at import in the workers (``poison_import``)."""

    outline = ("launch_it",)

    def launch_it(self) -> None:
        self.launch("tests.engine.poison_import:fine", key="child", value=1)
