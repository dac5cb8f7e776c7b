"""Resources an adapter keeps for one whole command (``wfconform run``, ``fuzz``, ...).

Why: some things an adapter needs are costly to make and the same for every scenario of
a run, such as the reference engine's pre-booted worker processes (0.5 s of every
embedded scenario was its workers' imports). The CLI opens one scope around each
command; an adapter asks for a resource with `shared` and gets the one made for this
command, entered once and exited when the command ends (after Ctrl-C too). Outside a
command (the pytest plugin, library use) and in other processes than the one that
opened the scope (forked fuzz workers), `shared` returns None and the adapter does
without, so nothing outlives the code that made it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, TypeVar

T = TypeVar("T")

_stack: contextlib.ExitStack | None = None
_owner_pid = 0
_made: dict[str, Any] = {}


@contextlib.contextmanager
def command_scope() -> Iterator[None]:
    """Make `shared` resources live until the block ends; nested scopes share the outer."""
    global _stack, _owner_pid
    if _stack is not None and _owner_pid == os.getpid():
        yield
        return
    previous = (_stack, _owner_pid, dict(_made))
    _made.clear()
    with contextlib.ExitStack() as stack:
        _stack, _owner_pid = stack, os.getpid()
        try:
            yield
        finally:
            _stack, _owner_pid = previous[0], previous[1]
            _made.clear()
            _made.update(previous[2])


def shared(key: str, make: Callable[[], AbstractContextManager[T]]) -> T | None:
    """The value of ``make()``, entered once per command under ``key``; None outside one."""
    if _stack is None or _owner_pid != os.getpid():
        return None
    if key not in _made:
        _made[key] = _stack.enter_context(make())
    return _made[key]  # type: ignore[no-any-return]
