"""Fault plans: what goes wrong, and exactly where, in a scenario run.

A fault is a drawn *choice* (which body, which attempt, which crashpoint, which effect),
never a random sleep, so failures replay and shrink (DESIGN.md section 4).

Targets name a body: `"Workflow.step"` for a step body (every instance of that step, in
every launch, loop iteration and sub-workflow call) and `"calc:Name"` for the body of
calculation type `Name`. `attempt` is 1-based and counts, from the start of the scenario
across all launches, the times a worker *begins* that target (claims the task that
runs it); a crash or exception consumes the attempt, so the retry is attempt n+1. This
is how "exception in add_xyz on attempt 1, then relaunch" models a bug fixed before the
relaunch. `attempt=None` means every attempt.

`effect_index` / `at_effect` are 1-based positions in the scenario's journal (all launches,
in journal order): the fault fires when that entry appears. It lands while the body that
wrote the entry waits between its entry and its checkpoint, before it can raise (the
harness holds it there until every fault at that entry, in plan order, has been applied).

Faults that meet in one body: a `KillOnEffect(k)` whose entry k is written by an attempt
that would raise (`RaiseIn`) pre-empts the raise: the worker dies first, the entry
counts, the exception never happens and the attempt is consumed, so the body runs again
as attempt n+1, which raises only if a fault names it too (`attempt=None` does). A
broker or database fault at that entry kills no one; it races the exception's commit,
so either outcome is correct there (the oracle leaves such a launch undecided).

`FailCommit` lands on the engine's own commit, not on a body: the database refuses the
transaction that saves the checkpoint, state and task completion after attempt n's
effect. A correct engine treats that as a failed attempt (nothing was saved): the task
is redelivered and the body runs again as attempt n+1, exactly as after a kill at
`after_effect_before_checkpoint` on attempt n, and the outputs are the fault-free ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios._checks import check_bool, check_int
from scenarios.errors import InvalidScenarioError

__all__ = [
    "CRASHPOINTS",
    "FAULT_KINDS",
    "OUTAGE_KINDS",
    "SERVICE_NAMES",
    "DropConnection",
    "DuplicateDelivery",
    "ExpireLease",
    "FailCommit",
    "Fault",
    "KillAtCrashpoint",
    "KillOnEffect",
    "PartitionService",
    "PauseService",
    "RaiseIn",
    "RestartBroker",
    "RestartDatabase",
    "fault_kind",
]

CRASHPOINTS: tuple[str, ...] = (
    "after_claim",
    "before_effect",
    "after_effect_before_checkpoint",
    "after_checkpoint_before_ack",
    "while_waiting",
)
"""Named places in engine code where a worker can be made to die (in execution order)."""


def _check_target(obj: object, target: object) -> None:
    ok = False
    if type(target) is str:
        if target.startswith("calc:"):
            ok = target[5:].isidentifier()
        else:
            workflow, dot, step = target.partition(".")
            ok = bool(dot) and workflow.isidentifier() and step.isidentifier()
    if not ok:
        raise InvalidScenarioError(
            f"{type(obj).__name__}.target", target, "'Workflow.step' or 'calc:Name'",
            "name a step body as Workflow.step or a calculation body as calc:Name",
        )


@dataclass(frozen=True)
class RaiseIn:
    """The target body raises on `attempt` (or on every attempt if None).

    The body writes its journal entry first, then raises: the effect counts as executed.
    A step that raises makes its workflow excepted; a calculation that raises is
    excepted (and its parent finishes with `CHILD_FAILED_EXIT_STATUS`). A worker kill
    at that entry (`KillOnEffect`) lands first and pre-empts the raise: the attempt is
    consumed and the retry, attempt n+1, raises only if `attempt` is None.
    """

    target: str
    attempt: int | None = 1

    def __post_init__(self) -> None:
        _check_target(self, self.target)
        check_int(self, "attempt", self.attempt, 1, optional=True)


@dataclass(frozen=True)
class KillAtCrashpoint:
    """The worker running the target SIGKILLs itself at `crashpoint` on `attempt`."""

    crashpoint: str
    target: str
    attempt: int = 1

    def __post_init__(self) -> None:
        if self.crashpoint not in CRASHPOINTS:
            raise InvalidScenarioError(
                "KillAtCrashpoint.crashpoint", self.crashpoint, f"one of {CRASHPOINTS}",
                "use a crashpoint name from CRASHPOINTS",
            )
        _check_target(self, self.target)
        check_int(self, "attempt", self.attempt, 1)


@dataclass(frozen=True)
class FailCommit:
    """The engine's commit of the target's checkpoint after `attempt`'s effect is refused.

    Nothing of that attempt is saved (see the module docstring); the worker lives. A
    body fault like `RaiseIn`: at most one body fault per target and attempt, and never
    every attempt (the process could never move on).
    """

    target: str
    attempt: int = 1

    def __post_init__(self) -> None:
        _check_target(self, self.target)
        check_int(self, "attempt", self.attempt, 1)


@dataclass(frozen=True)
class KillOnEffect:
    """External SIGKILL of the worker that wrote journal entry `effect_index`.

    It lands while that body waits between its entry and its checkpoint: the body runs
    again as its next attempt (it launched nothing), and a raise it was about to make on
    this attempt never happens (see the module docstring).
    """

    effect_index: int

    def __post_init__(self) -> None:
        check_int(self, "effect_index", self.effect_index, 1)


@dataclass(frozen=True)
class RestartBroker:
    """Restart the broker when journal entry `at_effect` appears (`hard`: SIGKILL it)."""

    at_effect: int
    hard: bool = False

    def __post_init__(self) -> None:
        check_int(self, "at_effect", self.at_effect, 1)
        check_bool(self, "hard", self.hard)


@dataclass(frozen=True)
class RestartDatabase:
    """Restart the database server when journal entry `at_effect` appears."""

    at_effect: int

    def __post_init__(self) -> None:
        check_int(self, "at_effect", self.at_effect, 1)


@dataclass(frozen=True)
class DropConnection:
    """Drop the workers' broker and database connections when entry `at_effect` appears."""

    at_effect: int

    def __post_init__(self) -> None:
        check_int(self, "at_effect", self.at_effect, 1)


@dataclass(frozen=True)
class ExpireLease:
    """The worker that wrote journal entry `at_effect` freezes past its lease, which runs
    out: another worker takes its task over while it still lives.

    A redelivery to a live worker. It lands while that body waits between its entry and
    its checkpoint; the body goes on only once another worker claimed its task (or none
    could), so its commit comes after the takeover and a correct engine refuses it (its
    fence: clause C5). Like a kill during it, the effect may run once more.
    """

    at_effect: int

    def __post_init__(self) -> None:
        check_int(self, "at_effect", self.at_effect, 1)


@dataclass(frozen=True)
class DuplicateDelivery:
    """The task of the body that wrote journal entry `at_effect` is delivered again, to
    another worker, while the first still runs it (at-least-once delivery).

    Lands and resumes as `ExpireLease`; the effect may run once more.
    """

    at_effect: int

    def __post_init__(self) -> None:
        check_int(self, "at_effect", self.at_effect, 1)


SERVICE_NAMES: tuple[str, ...] = ("broker", "database")
"""The services a `PauseService` or `PartitionService` can name."""
MAX_OUTAGE_SECONDS = 30.0


def _check_outage(obj: object, service: object, seconds: object) -> None:
    if service not in SERVICE_NAMES:
        raise InvalidScenarioError(f"{type(obj).__name__}.service", service,
                                   f"one of {SERVICE_NAMES}", "name the broker or the database")
    number = seconds if type(seconds) in (int, float) else None
    if number is None or not 0 < float(number) <= MAX_OUTAGE_SECONDS:  # type: ignore[arg-type]  # an int or float here
        raise InvalidScenarioError(
            f"{type(obj).__name__}.seconds", seconds,
            f"a number of seconds in (0, {MAX_OUTAGE_SECONDS:g}]", "pass e.g. seconds=2.0")


@dataclass(frozen=True)
class PauseService:
    """Freeze `service` (broker or database) when journal entry `at_effect` appears, and
    thaw it `seconds` later: the server keeps its connections but answers nothing, so
    clients hang instead of failing (a container's `docker pause`). The body that wrote
    the entry goes on at once; the fault ends, and is logged, when the server thaws.
    Like a restart, it may interrupt any work in flight meanwhile."""

    at_effect: int
    service: str = "broker"
    seconds: float = 2.0

    def __post_init__(self) -> None:
        check_int(self, "at_effect", self.at_effect, 1)
        _check_outage(self, self.service, self.seconds)


@dataclass(frozen=True)
class PartitionService:
    """Cut the network between the workers and `service` when journal entry `at_effect`
    appears, and heal it `seconds` later: the server lives on, with its sessions and
    unacknowledged deliveries, while nothing reaches it (a container disconnected from
    its network). Lands and is logged as `PauseService`."""

    at_effect: int
    service: str = "broker"
    seconds: float = 2.0

    def __post_init__(self) -> None:
        check_int(self, "at_effect", self.at_effect, 1)
        _check_outage(self, self.service, self.seconds)


Fault = (RaiseIn | KillAtCrashpoint | KillOnEffect | RestartBroker | RestartDatabase
         | DropConnection | FailCommit | ExpireLease | DuplicateDelivery | PauseService
         | PartitionService)
FAULT_TYPES = (RaiseIn, KillAtCrashpoint, KillOnEffect, RestartBroker, RestartDatabase,
               DropConnection, FailCommit, ExpireLease, DuplicateDelivery, PauseService,
               PartitionService)

FAULT_KINDS: tuple[str, ...] = (
    "raise_in",
    "kill_at_crashpoint",
    "kill_on_effect",
    "restart_broker",
    "restart_database",
    "drop_connection",
    "fail_commit",
    "expire_lease",
    "duplicate_delivery",
    "pause_service",
    "partition_service",
)
"""Kind names of faults, as used in JSON, generator knobs and statistics."""

OUTAGE_KINDS: tuple[str, ...] = ("pause_service", "partition_service")
"""Faults only servers in containers allow. The generator draws them only when asked
(`fault_kinds` names them, as the harness does for an adapter that offers them), so the
scenarios drawn from a seed elsewhere stay the same."""

_KIND_OF = dict(zip(FAULT_TYPES, FAULT_KINDS, strict=True))
TYPE_OF_KIND = dict(zip(FAULT_KINDS, FAULT_TYPES, strict=True))


def fault_kind(fault: Fault) -> str:
    """The kind name of a fault (`"raise_in"`, `"kill_at_crashpoint"`, ...)."""
    return _KIND_OF[type(fault)]
