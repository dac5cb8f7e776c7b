"""`harness.command_scope`: a resource made once per CLI command, and only inside one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from harness import command_scope as scope_module
from harness.command_scope import command_scope, shared


def _resource(log: list[str]) -> contextlib.AbstractContextManager[str]:
    @contextlib.contextmanager
    def made() -> Iterator[str]:
        log.append("enter")
        try:
            yield f"resource {len(log)}"
        finally:
            log.append("exit")
    return made()


def test_outside_a_command_nothing_is_made() -> None:
    log: list[str] = []
    assert shared("k", lambda: _resource(log)) is None
    assert log == []


def test_inside_one_command_the_resource_is_made_once_and_exited_at_its_end() -> None:
    log: list[str] = []
    with command_scope():
        first = shared("k", lambda: _resource(log))
        with command_scope():  # a nested command (selftest runs run) shares it
            assert shared("k", lambda: _resource(log)) == first
        assert log == ["enter"]
    assert log == ["enter", "exit"]
    assert shared("k", lambda: _resource(log)) is None


def test_the_resource_is_exited_when_the_command_raises() -> None:
    log: list[str] = []
    with pytest.raises(KeyboardInterrupt), command_scope():
        shared("k", lambda: _resource(log))
        raise KeyboardInterrupt
    assert log == ["enter", "exit"]


def test_another_process_than_the_scope_s_own_gets_nothing() -> None:
    """A forked fuzz worker inherits the scope's state but not its resources' threads."""
    log: list[str] = []
    with command_scope():
        scope_module._owner_pid = os.getpid() + 1  # as a forked child sees it
        assert shared("k", lambda: _resource(log)) is None
    assert log == []
