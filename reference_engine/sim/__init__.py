"""The reference engine's deterministic simulation tier (DESIGN.md §3, issue 5).

``Simulation(seed, workers, faults)`` runs the real executor in simulated workers over an
in-memory store, with a seeded scheduler choosing the interleaving and the faults; the
same seed gives the same ``history`` and ``digest``. Bodies journal their effects with
``record_effect``. Imports neither ``scenarios`` nor ``harness``; ``HARNESS.md`` in this
directory lists what an adapter calls to run scenarios on this tier.
"""

from reference_engine.sim.coverage import KillCoverage
from reference_engine.sim.faults import (
    FAULT_KINDS,
    FaultRates,
    InvalidSimulationArgumentError,
    SimulatedDatabaseError,
    SimulatedKill,
    SimulationError,
)
from reference_engine.sim.history import (
    current_simulation,
    digest,
    effect_counts,
    fencing_violations,
    in_simulation,
    record_effect,
)
from reference_engine.sim.simulation import Simulation, default_step_kind
from reference_engine.sim.store import SimStore

__all__ = [
    "FAULT_KINDS",
    "FaultRates",
    "InvalidSimulationArgumentError",
    "KillCoverage",
    "SimStore",
    "SimulatedDatabaseError",
    "SimulatedKill",
    "Simulation",
    "SimulationError",
    "current_simulation",
    "default_step_kind",
    "digest",
    "effect_counts",
    "fencing_violations",
    "in_simulation",
    "record_effect",
]
