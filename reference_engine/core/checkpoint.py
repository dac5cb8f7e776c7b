"""The durable snapshot of an active workflow, and its strict decoding.

A checkpoint is everything needed to continue in another worker: where in the program,
the context, outputs set so far, and which children are awaited under which ctx keys.
Decoding is strict so a damaged row gives CorruptCheckpointError, never a wrong resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference_engine.core.values import JsonValue, dumps, loads
from reference_engine.errors import CorruptCheckpointError

CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class Checkpoint:
    pc: int = 0
    ctx: dict[str, JsonValue] = field(default_factory=dict)
    outputs: dict[str, JsonValue] = field(default_factory=dict)
    awaiting: dict[str, int] = field(default_factory=dict)
    steps_done: int = 0

    def __init__(
        self,
        pc: int = 0,
        ctx: dict[str, JsonValue] | None = None,
        outputs: dict[str, JsonValue] | None = None,
        awaiting: dict[str, int] | None = None,
        steps_done: int = 0,
    ) -> None:
        """The generated frozen ``__init__``, at half the cost (None: a new empty dict).

        Why by hand: a frozen dataclass sets each field with ``object.__setattr__``, and
        every step builds two or three checkpoints; filling ``__dict__`` at once is twice
        as fast. ``dataclass`` keeps an ``__init__`` the class defines.
        """
        self.__dict__.update(
            pc=pc,
            ctx={} if ctx is None else ctx,
            outputs={} if outputs is None else outputs,
            awaiting={} if awaiting is None else awaiting,
            steps_done=steps_done,
        )

    def to_json(self) -> str:
        return dumps(
            {
                "format": CHECKPOINT_FORMAT,
                "pc": self.pc,
                "ctx": self.ctx,
                "outputs": self.outputs,
                "awaiting": self.awaiting,
                "steps_done": self.steps_done,
            }
        )

    @classmethod
    def from_json(cls, text: str | None, process_id: int, program_length: int) -> Checkpoint:
        if text is None or text == "":
            return cls()
        try:
            data = loads(text)
        except ValueError as exc:
            raise CorruptCheckpointError(process_id, f"not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise CorruptCheckpointError(process_id, f"unknown format in {text[:60]!r}")
        pc, ctx, outputs, awaiting = (
            data.get("pc"),
            data.get("ctx"),
            data.get("outputs"),
            data.get("awaiting"),
        )
        if not isinstance(pc, int) or not 0 <= pc < program_length:
            raise CorruptCheckpointError(process_id, f"pc {pc!r} outside 0..{program_length - 1}")
        if not isinstance(ctx, dict) or not isinstance(outputs, dict):
            raise CorruptCheckpointError(process_id, "ctx or outputs is not an object")
        if not isinstance(awaiting, dict) or not all(
            isinstance(v, int) for v in awaiting.values()
        ):
            raise CorruptCheckpointError(process_id, "awaiting is not a map of child ids")
        return cls(pc, ctx, outputs, awaiting, int(data.get("steps_done", 0)))
