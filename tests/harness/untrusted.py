"""Adapters that fail in the ways a run must never read as a pass (loaded by dotted path).

Each wraps the correct sim-tier reference adapter and breaks one thing: ``open`` raises
(an engine that is unreachable), ``open`` raises one of two errors by scenario (two
distinct errors), ``close`` raises, or ``open`` declares the tier ``Unsupported`` (so no
scenario applies and nothing gets checked).
"""

from __future__ import annotations

from harness.adapters.reference_sim import SimReferenceAdapter
from harness.errors import Unsupported
from harness.session import Session


class UnreachableAdapter(SimReferenceAdapter):
    def open(self, session: Session) -> None:
        raise RuntimeError("engine unreachable at 127.0.0.1:9")


class TwoErrorsAdapter(SimReferenceAdapter):
    def open(self, session: Session) -> None:
        if session.scenario.name.startswith("k"):
            raise ValueError("cache backend refused the connection")
        raise RuntimeError("broker said no")


class FailingCloseAdapter(SimReferenceAdapter):
    def close(self) -> None:
        super().close()
        raise OSError("could not stop the workers")


class NothingAppliesAdapter(SimReferenceAdapter):
    def open(self, session: Session) -> None:
        raise Unsupported(self.name, self.tier, "run anything", "this tier is a stub")


def unreachable(tier: str | None = None) -> UnreachableAdapter:
    return UnreachableAdapter()


def two_errors(tier: str | None = None) -> TwoErrorsAdapter:
    return TwoErrorsAdapter()


def failing_close(tier: str | None = None) -> FailingCloseAdapter:
    return FailingCloseAdapter()


def nothing_applies(tier: str | None = None) -> NothingAppliesAdapter:
    return NothingAppliesAdapter()
