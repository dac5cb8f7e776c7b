"""The harness's exceptions: one root, misuse errors also subclass the matching builtin.

Each class keeps the data it complains about as attributes, so the CLI and the pytest
plugin can print one clear line (no traceback for a user's mistake) and callers can
react without parsing messages.
"""

from __future__ import annotations

__all__ = [
    "AdapterSpecError",
    "ContractError",
    "HarnessError",
    "ResultsDirError",
    "ScenarioFileError",
    "Unsupported",
    "UsageError",
]


class HarnessError(Exception):
    """Root of every error the harness raises on purpose; catch it to catch them all."""


class Unsupported(HarnessError, NotImplementedError):
    """An adapter cannot perform an operation on its tier (e.g. restart a broker it lacks).

    Raised by adapter methods; the harness records the operation as unsupported and the
    scenario that needed it as not applicable, so its clauses read "unknown", never
    "pass". Adapter authors: raise it rather than silently doing nothing.
    """

    def __init__(self, engine: str, tier: str, operation: str, reason: str = "") -> None:
        self.engine = engine
        self.tier = tier
        self.operation = operation
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"engine {engine!r} on tier {tier!r} cannot {operation}{detail}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.engine, self.tier, self.operation, self.reason))


class AdapterSpecError(HarnessError, ValueError):
    """``--engine`` / ``--tier`` do not name a loadable adapter.

    Fix: use ``reference``, ``aiida``, ``prefect`` or ``package.module:AdapterClass`` (importable, a
    class or factory taking ``tier=``), and a tier the adapter lists.
    """

    def __init__(self, spec: str, reason: str, fix: str) -> None:
        self.spec = spec
        self.reason = reason
        self.fix = fix
        super().__init__(f"engine {spec!r}: {reason}; {fix}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.spec, self.reason, self.fix))


class ScenarioFileError(HarnessError, ValueError):
    """A scenario file (``wfconform replay PATH``) is missing or does not hold a scenario.

    Fix: pass a file written by ``wfconform run --out`` or ``Scenario.to_json``.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"scenario file {path!r}: {reason}; pass a JSON file written by "
            "`wfconform run --out DIR` or Scenario.to_json()"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.reason))


class ResultsDirError(HarnessError, ValueError):
    """``wfconform report DIR``: DIR is missing or is not a results directory.

    Fix: pass a directory written by ``wfconform run --out DIR`` or ``fuzz --out DIR``.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"results directory {path!r}: {reason}; pass a directory written by "
            "`wfconform run --out DIR` or `wfconform fuzz --out DIR`"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.reason))


class ContractError(HarnessError, TypeError):
    """An adapter broke the ``EngineAdapter`` protocol (wrong return type or value).

    Raised by ``CheckedAdapter``; the message names the method, what it returned and
    what the protocol expects, so the adapter's author knows what to fix.
    """

    def __init__(self, method: str, value: object, expected: str) -> None:
        self.method = method
        self.value = value
        self.expected = expected
        shown = repr(value)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        super().__init__(f"adapter.{method} returned {shown}; expected {expected}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.method, self.value, self.expected))


class UsageError(HarnessError, ValueError):
    """A command-line option has a value the command cannot use (``--clause X9``).

    The CLI prints it as one line and exits 2; the message names the option, the value
    and what to pass instead.
    """

    def __init__(self, option: str, value: object, expected: str) -> None:
        self.option = option
        self.value = value
        self.expected = expected
        super().__init__(f"{option} {value!r}: expected {expected}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.option, self.value, self.expected))
