"""wfconform's reference engine: checkpointed workflows, relaunch and caching.

Small and correct on purpose: it is the executable specification the harness first
checks its clauses against. It knows nothing of ``scenarios`` or ``harness``.
"""

from reference_engine.core.caching import CachingConfig
from reference_engine.core.outline import if_, while_
from reference_engine.core.process import (
    CalcResult,
    Calculation,
    ExitCode,
    ShellCalculation,
    WorkChain,
    calculation,
)
from reference_engine.crashpoints import CRASHPOINTS
from reference_engine.engine import Engine, RestartBuilder
from reference_engine.errors import (
    BrokerUnavailableError,
    CommitRefusedError,
    CorruptCheckpointError,
    CorruptRecordError,
    EngineError,
    InvalidInputsError,
    InvalidStateError,
    NoSuchProcessError,
    NotSerialisableError,
    StorageLimitError,
    StoreUnavailableError,
    UnknownProcessTypeError,
    WaitTimeoutError,
)
from reference_engine.runtime.context import ExecutionContext, current_execution
from reference_engine.runtime.daemon import Daemon
from reference_engine.storage.records import ProcessRecord

__all__ = [
    "CRASHPOINTS",
    "BrokerUnavailableError",
    "CachingConfig",
    "CalcResult",
    "Calculation",
    "CommitRefusedError",
    "CorruptCheckpointError",
    "CorruptRecordError",
    "Daemon",
    "Engine",
    "EngineError",
    "ExecutionContext",
    "ExitCode",
    "InvalidInputsError",
    "InvalidStateError",
    "NoSuchProcessError",
    "NotSerialisableError",
    "ProcessRecord",
    "RestartBuilder",
    "ShellCalculation",
    "StorageLimitError",
    "StoreUnavailableError",
    "UnknownProcessTypeError",
    "WaitTimeoutError",
    "WorkChain",
    "calculation",
    "current_execution",
    "if_",
    "while_",
]
