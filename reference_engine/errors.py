"""The reference engine's exceptions: one root, misuse errors also subclass builtins.

Every class keeps the data it complains about as attributes, so callers (the CLI, an
adapter) can print a precise message or react without parsing strings.
"""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error the reference engine raises on purpose."""


class CommitRefusedError(EngineError):
    """The store refused the transaction that commits a checkpoint; nothing was written.

    Raised inside the commit's transaction when an armed ``fail_commit`` fault point fires
    (``reference_engine.crashpoints``), so it rolls back exactly as a rejected COMMIT
    would. The executor catches it and treats the attempt as failed: it frees the task,
    which is redelivered and continues from the last committed checkpoint.
    """

    def __init__(self, process_id: int, name: str, attempt: int) -> None:
        self.process_id = process_id
        self.name = name
        self.attempt = attempt
        super().__init__(f"commit of {name} (process {process_id}, attempt {attempt}) was "
                         "refused by an armed fail_commit fault; nothing was written")


class UnknownProcessTypeError(EngineError, LookupError):
    """A process type string does not name an importable workflow or calculation.

    Fix: pass ``"package.module:Name"`` where ``Name`` is a ``WorkChain`` subclass or an
    object made by ``@calculation`` / ``ShellCalculation``, importable by the workers.
    """

    def __init__(self, type_string: str, reason: str) -> None:
        self.type_string = type_string
        self.reason = reason
        super().__init__(
            f"unknown process type {type_string!r}: {reason}; expected 'package.module:Name' "
            "naming a WorkChain subclass or a @calculation, importable by the workers"
        )


class InvalidInputsError(EngineError, ValueError):
    """Inputs do not match the process's declared inputs or are not JSON-like values."""

    def __init__(self, process_type: str, problem: str) -> None:
        self.process_type = process_type
        self.problem = problem
        super().__init__(f"invalid inputs for {process_type}: {problem}")


class NotSerialisableError(EngineError, TypeError):
    """A value that must be stored (input, output, context) is not a storable value.

    Allowed: None, bool, int, float, str, bytes, Decimal, datetime (naive or fixed
    offset), numeric NumPy arrays, and list, tuple, set, frozenset and dict, nested.
    """

    def __init__(self, where: str, value: object) -> None:
        self.where = where
        self.value = value
        super().__init__(
            f"{where} holds {type(value).__name__} value {value!r:.80}, which cannot be "
            "checkpointed; use None, bool, int, float, str, bytes, Decimal, datetime, a "
            "numeric NumPy array, or list, tuple, set, frozenset or dict of those"
        )


class CorruptCheckpointError(EngineError, ValueError):
    """A stored checkpoint cannot be decoded or does not fit the process's outline."""

    def __init__(self, process_id: int, problem: str) -> None:
        self.process_id = process_id
        self.problem = problem
        super().__init__(f"checkpoint of process {process_id} is corrupt: {problem}")


class StoreUnavailableError(EngineError, OSError):
    """The database URL cannot be opened (bad path, permissions, server down)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(
            f"cannot open the engine database {url!r}: {reason}; check the path or URL "
            "and that the directory exists and is writable"
        )


class NoSuchProcessError(EngineError, LookupError):
    """A process id does not exist in this engine's database."""

    def __init__(self, process_id: int) -> None:
        self.process_id = process_id
        super().__init__(f"no process with id {process_id}; `list` shows the existing ids")


class InvalidStateError(EngineError, RuntimeError):
    """An operation needs a process in another state (e.g. restart of an active one)."""

    def __init__(self, process_id: int, state: str, needed: str) -> None:
        self.process_id = process_id
        self.state = state
        self.needed = needed
        super().__init__(f"process {process_id} is {state}; this needs it to be {needed}")


class WaitTimeoutError(EngineError, TimeoutError):
    """A wait for a terminal state ran out of time; the process is still active."""

    def __init__(self, process_id: int, state: str, seconds: float) -> None:
        self.process_id = process_id
        self.state = state
        self.seconds = seconds
        super().__init__(
            f"process {process_id} still {state} after {seconds:.1f} s; is a daemon running?"
        )


class BrokerUnavailableError(EngineError, OSError):
    """The message broker cannot be reached or refused an operation (real runtime).

    The store stays the source of truth: work announced while the broker is down is
    announced again by the daemon's sweeper, so a caller may log this and go on.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(
            f"cannot use the message broker at {url}: {reason}; check that RabbitMQ is "
            "running there and that the user may use this vhost"
        )


class StorageLimitError(EngineError, ValueError):
    """A value or name breaks a storage limit that every tier enforces (``core.limits``).

    Raised at the boundary: by ``submit`` for inputs and labels, and at run time for a
    step's context, outputs and launches or a calculation's results (the process is then
    excepted with this message). Fix: what the message says; the limits are documented
    in ``docs/limits.md``.
    """

    def __init__(self, where: str, path: str, problem: str, fix: str) -> None:
        self.where = where
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(f"{where}{path} {problem}" + (f"; {fix}" if fix else ""))


class CorruptRecordError(EngineError, ValueError):
    """A stored process row cannot be decoded (e.g. written before the storage limits).

    A worker that meets one excepts that process with this message instead of dying on
    it; reading it with ``get`` raises this. Fix: relaunch with valid inputs.
    """

    def __init__(self, process_id: int, column: str, reason: str) -> None:
        self.process_id = process_id
        self.column = column
        self.reason = reason
        super().__init__(f"process {process_id}: its stored {column} cannot be decoded "
                         f"({reason:.200}); it cannot run, relaunch it with valid inputs")
