"""What can go wrong in a simulation, how often, and the signals that carry it.

Fault kinds (the third axis of the kill-point coverage table):

- ``kill``: the worker dies at its current switch point (a crashpoint, a store call, or
  between tasks);
- ``armed_kill``: an armed crashpoint fires (``Simulation.arm``), as in a real worker;
- ``duplicate_delivery``: the worker's lease is released while it keeps running, so
  another worker may claim the same task;
- ``lease_expiry``: virtual time jumps past every lease; stale holders keep running;
- ``db_restart``: store calls in flight fail, before or after their commit; their
  workers die;
- ``broker_restart``: every unacknowledged delivery returns; holders keep running.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from reference_engine.errors import EngineError

KILL = "kill"
ARMED_KILL = "armed_kill"
DUPLICATE_DELIVERY = "duplicate_delivery"
LEASE_EXPIRY = "lease_expiry"
DB_RESTART = "db_restart"
BROKER_RESTART = "broker_restart"
FAULT_KINDS: tuple[str, ...] = (
    KILL, ARMED_KILL, DUPLICATE_DELIVERY, LEASE_EXPIRY, DB_RESTART, BROKER_RESTART,
)
RANDOM_FAULT_KINDS: tuple[str, ...] = (
    KILL, DUPLICATE_DELIVERY, LEASE_EXPIRY, DB_RESTART, BROKER_RESTART,
)


class SimulationError(EngineError):
    """Root of the errors the simulation tier raises on purpose."""


class InvalidSimulationArgumentError(SimulationError, ValueError):
    """A ``Simulation`` or ``FaultRates`` argument is out of range; the message says which."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        self.expected = expected
        super().__init__(f"{name}={value!r} is invalid: expected {expected}")


class SimulatedKill(BaseException):  # a signal, like GreenletExit, not an error
    """Unwinds a simulated worker exactly where it was killed.

    A ``BaseException`` on purpose: a kill must pass through the ``except Exception`` that
    turns user-code errors into an excepted process (the interpreter calls the
    ``before_effect`` crashpoint inside that block), as a real SIGKILL would.
    """

    def __init__(self, owner: str, point: str) -> None:
        self.owner = owner
        self.point = point
        super().__init__(f"worker {owner} killed at {point}")


class SimulatedDatabaseError(Exception):
    """A store call lost its connection (database restart); the worker will die of it.

    Deliberately not an ``EngineError``: a real ``OperationalError`` is none either, so it
    takes the same path through the executor (no handler catches it; the worker exits).
    ``committed`` says whether the transaction committed before the reply was lost.
    ``outage``: the executor lets it through, as it does a real connection failure
    (``runtime/failures.is_outage``), instead of excepting the process.
    """

    outage = True

    def __init__(self, owner: str, method: str, committed: bool) -> None:
        self.owner = owner
        self.method = method
        self.committed = committed
        state = "after its commit" if committed else "before its commit"
        super().__init__(f"database restarted during {method} of worker {owner} ({state})")


@dataclass(frozen=True)
class FaultRates:
    """Per-switch-point probability of each random fault, and a budget of faults per run.

    After ``max_faults`` random faults the run heals: no more random faults, so every
    process can reach a terminal state (liveness, L1). Armed crashpoints are not counted.
    """

    kill: float = 0.0
    duplicate_delivery: float = 0.0
    lease_expiry: float = 0.0
    db_restart: float = 0.0
    broker_restart: float = 0.0
    max_faults: int = 3

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "max_faults":
                if type(value) is not int or value < 0:
                    raise InvalidSimulationArgumentError(
                        "max_faults", value, "an int >= 0 (0 disables random faults)")
            elif not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise InvalidSimulationArgumentError(f.name, value, "a probability in [0, 1]")
        if self.total > 1.0:
            raise InvalidSimulationArgumentError(
                "sum of fault rates", self.total, "at most 1.0; lower some rates")

    @property
    def total(self) -> float:
        return (self.kill + self.duplicate_delivery + self.lease_expiry + self.db_restart
                + self.broker_restart)

    def pick(self, draw: float) -> str | None:
        """The fault kind a uniform draw in [0, 1) selects, or None for no fault."""
        for kind in RANDOM_FAULT_KINDS:
            rate = getattr(self, kind)
            if draw < rate:
                return kind
            draw -= rate
        return None

    @classmethod
    def none(cls) -> FaultRates:
        return cls(max_faults=0)

    @classmethod
    def chaos(cls, rate: float = 0.02, max_faults: int = 3) -> FaultRates:
        """Every random fault kind, ``rate`` each: the default of fuzzing."""
        return cls(rate, rate, rate, rate, rate, max_faults)
